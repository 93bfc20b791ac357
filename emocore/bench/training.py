"""``emocore-bench training``: training iterations per second and the first (tracing) step, per model and width."""

from __future__ import annotations

import os
import time

#: the row every other is compared with: EmoCycleGAN at the published sizes, compiled without XLA
REFERENCE = ("cyclegan", 1.0, False)


def training_speed(model_types=None, widths=(0.35, 0.5, 1.0), *, xla: bool = False, steps: int = 10,
                   warmup: int = 2, n_frames: int = 128, batch_size: int = 2, seed: int = 0,
                   repeats: int = 1) -> list[dict]:
    """Iterations per second of every registered model's compiled training step, on random crops.

    Each configuration is built afresh (``keras.utils.set_random_seed(seed)``); the first call (tracing the step, and
    compiling it with XLA for the ``xla`` rows, plus the step itself) is timed on its own, then ``warmup`` steps, then
    ``steps`` timed ones, the identity loss on (as in the first ``identity_switch_off_step`` iterations of a run).
    Every row is compared with :data:`REFERENCE`, measured in the same process. A model of many emotions gets 4
    (``batch_size`` crops each, as the shipped EmoStarGAN); a two-emotion model 2. With ``repeats`` above 1 every
    configuration is built and measured that many times, one after the other, and a row gives the median of each
    figure and the first step's range: on a shared machine one build's figures vary by a third.

    Args:
        model_types: registry names (default: all of :data:`emocore.models.MODELS`); an unknown one raises
            :class:`~emocore.exceptions.ParameterError` before any measurement.
        widths: channel multipliers.
        xla: also measure each configuration compiled with XLA (``jit_compile``).
        repeats: fresh builds per configuration.

    Returns:
        list[dict]: ``model, width, xla, gen_params, first_step_s, first_step_min_s, first_step_max_s, it_per_s,
        x_reference``, the reference first (medians over the repeats).
    """
    import keras
    import numpy as np

    from emocore import models
    from emocore.config import ModelConfig, TrainConfig
    from emocore.exceptions import ParameterError
    from emocore.models.base import build_training_model

    if repeats < 1:
        raise ParameterError(f"repeats must be at least 1, got {repeats}")
    names = list(model_types or models.MODELS)
    for name in names:  # an unknown name fails before anything is measured
        models.get(name)
    runs = [REFERENCE] + [(m, w, x) for m in names for w in widths for x in ((False, True) if xla else (False,))
                          if (m, w, x) != REFERENCE]
    rows = []
    for name, width, jit in runs:
        spec = models.get(name)
        n_emotions = spec.n_emotions or 4
        model_cfg = ModelConfig(width=width, n_emotions=n_emotions)
        train_cfg = TrainConfig(iterations=10 ** 6, batch_size=batch_size, n_frames=n_frames, seed=seed,
                                identity_switch_off_step=10 ** 6)
        firsts, rates = [], []
        for _ in range(repeats):
            keras.utils.set_random_seed(seed)
            model = build_training_model(spec, model_cfg, train_cfg, jit_compile=jit)
            rng = np.random.default_rng(seed)
            crops = [(rng.standard_normal((batch_size, n_frames, model_cfg.mcep_dim)).astype("float32"),
                      rng.standard_normal((batch_size, n_frames)).astype("float32")) for _ in range(n_emotions)]
            start = time.perf_counter()
            model.train_on_segments(crops)
            firsts.append(time.perf_counter() - start)
            for _ in range(warmup):
                model.train_on_segments(crops)
            start = time.perf_counter()
            for _ in range(steps):
                model.train_on_segments(crops)
            rates.append(steps / (time.perf_counter() - start))
            gen_params = sum(int(np.prod(v.shape)) for v in model.generator_variables)
            del model
            keras.backend.clear_session()
        first, rate = float(np.median(firsts)), float(np.median(rates))
        rows.append({"model": name, "width": width, "xla": jit, "gen_params": gen_params, "first_step_s": first,
                     "first_step_min_s": min(firsts), "first_step_max_s": max(firsts),
                     "it_per_s": rate, "x_reference": rate / rows[0]["it_per_s"] if rows else 1.0})
        spread = f" (range {min(firsts):.1f}-{max(firsts):.1f} s over {repeats} builds)" if repeats > 1 else ""
        print(f"  {name} width {width:g}{' XLA' if jit else ''}: first step {first:.1f} s{spread}, {rate:.2f} it/s",
              flush=True)
    medians = f"; medians of {repeats} fresh builds each" if repeats > 1 else ""
    print(f"{batch_size} crops x {n_frames} frames per emotion, {steps} timed steps after {warmup}, identity loss on, "
          f"{os.cpu_count()} cores; x reference: against EmoCycleGAN at width 1.0 without XLA (first row){medians}")
    print(f"{'model':<12}{'width':>6}{'XLA':>5}{'gen params':>12}{'first step (s)':>16}{'range (s)':>12}{'it/s':>8}"
          f"{'x reference':>13}")
    for r in rows:
        print(f"{r['model']:<12}{r['width']:>6g}{'yes' if r['xla'] else 'no':>5}{r['gen_params']:>12,}"
              f"{r['first_step_s']:>16.1f}{r['first_step_min_s']:>6.1f}-{r['first_step_max_s']:<5.1f}"
              f"{r['it_per_s']:>8.2f}{r['x_reference']:>13.2f}")
    return rows
