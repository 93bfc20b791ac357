"""``emocore-bench training``: training iterations per second and the first (tracing) step, per model and width."""

from __future__ import annotations

import os
import time

#: the row every other is compared with: EmoCycleGAN at the published sizes, compiled without XLA
REFERENCE = ("cyclegan", 1.0, False)


def step_gflop(model) -> float:
    """Floating-point work of ``model``'s last compiled training step, in GFLOP: TensorFlow's profiler adds up the
    ``flops`` statistic of every op of the traced graph (:meth:`~emocore.models.base.GAN.traced_step`) that registers
    one: convolutions and their two backward passes, matrix products, and the element-wise arithmetic TensorFlow
    registers (not activations such as the gates' sigmoid, nor the fused Adam update). A count of work, not a
    timing; under a strategy of several replicas, the work of this worker's replicas.

    Raises:
        ParameterError: the step was traced for inputs of unknown sizes (a retraced, relaxed step), whose
            operations the profiler cannot count.
    """
    import tensorflow as tf

    from emocore.exceptions import ParameterError

    traced = model.traced_step()
    if not all(t.shape.is_fully_defined() for t in traced.inputs):
        raise ParameterError("the training step was traced for inputs of unknown sizes: its work cannot be counted; "
                             "count it on a model that has run one batch shape")
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # the v1 profiler's deprecation notice, printed once per process
    try:
        return tf.compat.v1.profiler.profile(traced.graph, options=options).total_float_ops / 1e9
    finally:
        logger.setLevel(level)


def model_variant(text: str) -> tuple[str, dict]:
    """A bench row's model: a registry name, optionally with options, ``"emostargan:discriminator=1d"``
    (``NAME:OPTION=VALUE[,OPTION=VALUE...]``, each option read as ``emocore-train --option`` reads it:
    :func:`emocore.cli.common.assignment`). A text given twice is one row.

    Returns:
        tuple: ``(name, options)``.

    Raises:
        ParameterError: an option that is not ``OPTION=VALUE``.
    """
    import argparse

    from emocore.cli.common import assignment
    from emocore.exceptions import ParameterError

    name, _, rest = text.partition(":")
    options = {}
    for item in filter(None, rest.split(",")):
        try:
            key, value = assignment(item)
        except argparse.ArgumentTypeError as error:
            raise ParameterError(f"a model's options in {text!r}: {error}") from None
        options[key] = value
    return name.strip(), options


def matmul_gflops(n: int = 2048, repeats: int = 5, products: int = 2) -> float:
    """This process's float32 matrix-product throughput in GFLOP/s (the best of ``repeats`` runs of ``products``
    independent products of two ``n x n`` matrices, on the threads TensorFlow was given): about the most a training
    step of dense convolutions can reach on this machine. Independent products, so that the rate counts every thread
    however they are split (two ops at once on one thread each reach it as one op on two threads does)."""
    import tensorflow as tf

    pairs = [(tf.random.normal((n, n), seed=2 * i + 1), tf.random.normal((n, n), seed=2 * i + 2))
             for i in range(products)]
    product = tf.function(lambda: tf.add_n([tf.reduce_sum(tf.matmul(a, b)) for a, b in pairs]), autograph=False)
    product().numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product().numpy()
        best = min(best, time.perf_counter() - start)
    return products * 2 * n ** 3 / best / 1e9


def training_speed(model_types=None, widths=(0.35, 0.5, 1.0), *, xla: bool = False, steps: int = 10,
                   warmup: int = 2, n_frames: int = 128, batch_size: int = 2, seed: int = 0,
                   repeats: int = 1, precisions=("float32",)) -> list[dict]:
    """Iterations per second of every registered model's compiled training step, on random crops.

    Each configuration is built afresh (``keras.utils.set_random_seed(seed)``); the first call (tracing the step, and
    compiling it with XLA for the ``xla`` rows, plus the step itself) is timed on its own, then ``warmup`` steps, then
    ``steps`` timed ones, the identity loss on (as in the first ``identity_switch_off_step`` iterations of a run).
    Every row is compared with :data:`REFERENCE`, measured in the same process. A model of many emotions gets 4
    (``batch_size`` crops each, as the shipped EmoStarGAN); a two-emotion model 2. With ``repeats`` above 1 every
    configuration is built and measured that many times, one after the other, and a row gives the median of each
    figure and the first step's range: on a shared machine one build's figures vary by a third.

    Args:
        model_types: registry names (default: all of :data:`emocore.models.MODELS`), each optionally with
            options (:func:`model_variant`: ``"emostargan:discriminator=1d"``); an unknown name or option raises
            :class:`~emocore.exceptions.ParameterError` before any measurement.
        widths: channel multipliers.
        xla: also measure each configuration compiled with XLA (``jit_compile``).
        precisions: what the convolutions compute in (:data:`~emocore.config.PRECISIONS`, ``TrainConfig.precision``):
            a row per model, width and precision; the reference is float32.
        repeats: fresh builds per configuration.

    Each row also counts the step's floating-point work (:func:`step_gflop`) and the rate at which it is done
    (``gflop_per_s``), next to this process's matrix-product throughput (:func:`matmul_gflops`, measured once
    after the builds): a step near that rate is bound by arithmetic, and only less work (or other hardware) makes it faster.

    Returns:
        list[dict]: ``model, width, xla, precision, gen_params, first_step_s, first_step_min_s, first_step_max_s, it_per_s,
        x_reference, gflop_per_step, gflop_per_s, pct_of_matmul``, the reference first (medians over the repeats).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from emocore import models
    from emocore.config import ModelConfig, TrainConfig
    from emocore.exceptions import ParameterError
    from emocore.models.base import build_training_model

    if repeats < 1:
        raise ParameterError(f"repeats must be at least 1, got {repeats}")
    for precision in precisions:
        TrainConfig(precision=precision)  # an unknown precision fails before anything is measured
    variants = {text: model_variant(text) for text in (model_types or models.MODELS)}
    for name, overrides in variants.values():  # an unknown name or option fails before anything is measured
        models.get(name).default_options(**overrides)
    reference = (*REFERENCE, "float32")
    runs = [reference] + [(m, w, x, p) for m in variants for w in widths for x in ((False, True) if xla else (False,))
                          for p in dict.fromkeys(precisions) if (m, w, x, p) != reference]
    variants.setdefault(REFERENCE[0], (REFERENCE[0], {}))
    rows = []
    for label, width, jit, precision in runs:
        name, overrides = variants[label]
        spec = models.get(name)
        options = spec.default_options(**overrides)
        n_emotions = spec.n_emotions or 4
        model_cfg = ModelConfig(width=width, n_emotions=n_emotions)
        train_cfg = TrainConfig(iterations=10 ** 6, batch_size=batch_size, n_frames=n_frames, seed=seed,
                                identity_switch_off_step=10 ** 6, precision=precision)
        firsts, rates = [], []
        for _ in range(repeats):
            keras.utils.set_random_seed(seed)
            model = build_training_model(spec, model_cfg, train_cfg, options, jit_compile=jit)
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
            gflop = step_gflop(model)
            del model
            keras.backend.clear_session()
        first, rate = float(np.median(firsts)), float(np.median(rates))
        rows.append({"model": label, "width": width, "xla": jit, "precision": precision, "gen_params": gen_params, "first_step_s": first,
                     "first_step_min_s": min(firsts), "first_step_max_s": max(firsts),
                     "it_per_s": rate, "x_reference": rate / rows[0]["it_per_s"] if rows else 1.0,
                     "gflop_per_step": gflop, "gflop_per_s": gflop * rate})
        spread = f" (range {min(firsts):.1f}-{max(firsts):.1f} s over {repeats} builds)" if repeats > 1 else ""
        print(f"  {label} width {width:g}{' XLA' if jit else ''} {precision}: first step {first:.1f} s{spread}, {rate:.2f} it/s, "
              f"{gflop:.1f} GFLOP per step", flush=True)
    peak = matmul_gflops()  # after the builds: the reference's first step is timed in a fresh runtime, as before
    intra, inter = (tf.config.threading.get_intra_op_parallelism_threads(),
                    tf.config.threading.get_inter_op_parallelism_threads())
    threads = (f"{inter} ops at once, each split over {intra} thread(s)" if intra and inter
               else "TensorFlow's default threads")
    for r in rows:
        r["pct_of_matmul"] = 100.0 * r["gflop_per_s"] / peak
    medians = f"; medians of {repeats} fresh builds each" if repeats > 1 else ""
    print(f"{batch_size} crops x {n_frames} frames per emotion, {steps} timed steps after {warmup}, identity loss on, "
          f"{os.cpu_count()} cores, {threads}; x reference: against EmoCycleGAN at width 1.0 without XLA (first row){medians}; "
          f"% matmul: the step's GFLOP/s against a {peak:.0f} GFLOP/s float32 matrix product in this process")
    wide = max(12, *(len(r["model"]) + 1 for r in rows))
    print(f"{'model':<{wide}}{'width':>6}{'XLA':>5}{'precision':>10}{'gen params':>12}{'first step (s)':>16}{'range (s)':>12}{'it/s':>8}"
          f"{'x reference':>13}{'GFLOP/step':>12}{'GFLOP/s':>9}{'% matmul':>10}")
    for r in rows:
        print(f"{r['model']:<{wide}}{r['width']:>6g}{'yes' if r['xla'] else 'no':>5}{r['precision']:>10}{r['gen_params']:>12,}"
              f"{r['first_step_s']:>16.1f}{r['first_step_min_s']:>6.1f}-{r['first_step_max_s']:<5.1f}"
              f"{r['it_per_s']:>8.2f}{r['x_reference']:>13.2f}{r['gflop_per_step']:>12.1f}{r['gflop_per_s']:>9.0f}"
              f"{r['pct_of_matmul']:>10.0f}")
    return rows
