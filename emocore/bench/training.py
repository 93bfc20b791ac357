"""``emocore-bench training``: training iterations per second and the first (tracing) step."""

from __future__ import annotations

import os
import time


def training_speed(widths=(1.0, 0.5), steps: int = 20, warmup: int = 2, n_frames: int = 128,
                   batch_size: int = 1, seed: int = 0) -> list[dict]:
    """Training iterations per second of the compiled (``tf.function``) EmoCycleGAN step, on random data.

    For each width: the first call (tracing and compiling the step, plus the step itself), then ``steps`` timed
    iterations with the identity loss on (the first ``identity_switch_off_step`` iterations of a run) and
    ``steps`` with it switched off (the rest of a run: two fewer generator passes). Ratios are against the
    first width. Returns one dict per width: ``width, gen_params, first_step_s, it_per_s_identity,
    it_per_s_no_identity, x_first``.
    """
    import numpy as np

    from emocore.config import ModelConfig, TrainConfig
    from emocore.models.cyclegan import build_cyclegan

    rng = np.random.default_rng(seed)
    rows = []
    for width in widths:
        model_cfg = ModelConfig(width=width)
        train_cfg = TrainConfig(iterations=10 ** 6, batch_size=batch_size, n_frames=n_frames, seed=seed,
                                identity_switch_off_step=1 + warmup + steps)
        model = build_cyclegan(model_cfg, train_cfg, run_eagerly=False)
        shape = (batch_size, n_frames)
        batch = [(rng.standard_normal((*shape, model_cfg.mcep_dim)).astype("float32"),
                  rng.standard_normal(shape).astype("float32")) for _emotion in range(2)]
        start = time.perf_counter()
        model.train_on_segments(batch)
        first = time.perf_counter() - start
        for _ in range(warmup):
            model.train_on_segments(batch)
        rates = []
        for _phase in ("identity", "no_identity"):
            model.reset_metrics()  # the logs are means since the last reset
            start = time.perf_counter()
            for _ in range(steps):
                logs = model.train_on_segments(batch)
            rates.append(steps / (time.perf_counter() - start))
        assert logs["identity_weight"] == 0.0  # the second phase really ran without the identity mappings
        gen_params = model.gen_a2b.count_params()
        rows.append({"width": width, "gen_params": gen_params, "first_step_s": first,
                     "it_per_s_identity": rates[0], "it_per_s_no_identity": rates[1],
                     "x_first": rates[0] / rows[0]["it_per_s_identity"] if rows else 1.0})
    print(f"batch {batch_size} x {n_frames} frames, {steps} timed iterations per phase, tf.function, "
          f"{os.cpu_count()} cores")
    print(f"{'width':>6}{'gen params':>12}{'first step (s)':>16}{'it/s identity':>15}{'it/s after':>12}"
          f"{'x width ' + str(widths[0]):>14}")
    for row in rows:
        print(f"{row['width']:>6}{row['gen_params']:>12,}{row['first_step_s']:>16.2f}{row['it_per_s_identity']:>15.2f}"
              f"{row['it_per_s_no_identity']:>12.2f}{row['x_first']:>14.2f}")
    return rows
