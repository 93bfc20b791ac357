"""Benchmarks that print measured numbers: ``emocore-bench extraction|training|conversion`` (``make bench``).

Ratios are taken against a baseline run in the same process, so they hold on any machine; absolute
numbers describe the machine they ran on.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace

import soundfile as sf

from . import datasets, extraction
from .config import FeatureConfig


def extraction_throughput(n_files: int = 40, speaker: str = "OAF", root=None) -> list[dict]:
    """Seconds of audio analysed per wall-clock second: harvest vs dio, one process vs all cores, cache hit.

    Runs on real TESS files without the cache (fresh computation), then re-reads through a warm cache.
    Returns one dict per run: ``f0_method, workers, wall_s, audio_s_per_s, x_baseline`` (baseline: harvest
    in one process).
    """
    all_utts = datasets.list_utterances("tess", speaker=speaker, root=root)
    utts = all_utts[:: max(1, len(all_utts) // n_files)][:n_files]
    audio_s = sum(sf.info(str(u.path)).duration for u in utts)
    n_cores = os.cpu_count() or 1
    print(f"{len(utts)} TESS {speaker} files, {audio_s:.1f} s of audio, {n_cores} cores")
    rows = []

    def record(label, workers, wall):
        rows.append({"f0_method": label, "workers": workers, "wall_s": wall, "audio_s_per_s": audio_s / wall,
                     "x_baseline": (audio_s / wall) / rows[0]["audio_s_per_s"] if rows else 1.0})

    for method in ("harvest", "dio"):
        cfg = replace(FeatureConfig(), f0_method=method)
        for n_jobs in sorted({1, n_cores}):
            start = time.perf_counter()
            _, failures = extraction.extract_many(utts, cfg, None, n_jobs=n_jobs, progress=False)
            if failures:
                raise RuntimeError(f"benchmark files failed: {failures}")
            record(method, n_jobs, time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as cache:
        cfg = replace(FeatureConfig(), f0_method="dio")
        extraction.extract_many(utts, cfg, cache, n_jobs=n_cores, progress=False)
        start = time.perf_counter()
        extraction.extract_many(utts, cfg, cache, n_jobs=1, progress=False)
        record("cache hit", 1, time.perf_counter() - start)
    print(f"{'f0 method':<10}{'workers':>8}{'wall (s)':>10}{'audio s / s':>13}{'x harvest serial':>18}")
    for row in rows:
        print(f"{row['f0_method']:<10}{row['workers']:>8}{row['wall_s']:>10.2f}{row['audio_s_per_s']:>13.1f}"
              f"{row['x_baseline']:>18.2f}")
    return rows


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

    from .config import ModelConfig, TrainConfig
    from .training import build_cyclegan

    rng = np.random.default_rng(seed)
    rows = []
    for width in widths:
        model_cfg = ModelConfig(width=width)
        train_cfg = TrainConfig(iterations=10 ** 6, batch_size=batch_size, n_frames=n_frames, seed=seed,
                                identity_switch_off_step=1 + warmup + steps)
        model = build_cyclegan(model_cfg, train_cfg, run_eagerly=False)
        shape = (batch_size, n_frames)
        batch = (rng.standard_normal((*shape, model_cfg.mcep_dim)).astype("float32"),
                 rng.standard_normal((*shape, model_cfg.mcep_dim)).astype("float32"),
                 rng.standard_normal(shape).astype("float32"), rng.standard_normal(shape).astype("float32"))
        start = time.perf_counter()
        model.train_on_segments(*batch)
        first = time.perf_counter() - start
        for _ in range(warmup):
            model.train_on_segments(*batch)
        rates = []
        for _phase in ("identity", "no_identity"):
            model.reset_metrics()  # the logs are means since the last reset
            start = time.perf_counter()
            for _ in range(steps):
                logs = model.train_on_segments(*batch)
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


def conversion_rtf(width: float = 1.0, n_files: int = 5, speaker: str = "OAF", root=None) -> dict:
    """Conversion real-time factor: seconds of compute per second of audio, by stage, on real TESS files.

    Uses the default (harvest) :class:`FeatureConfig` and an untrained generator of the given width (the
    weights do not change the cost). Reading the files is excluded; analysis, both prosody transforms, the
    generator and WORLD synthesis are included. Returns ``audio_s`` and the RTF of each stage and in total.
    """
    from . import audio, features, models, prosody
    from .config import ModelConfig
    from .conversion import ConversionModel

    cfg = FeatureConfig()
    all_utts = datasets.list_utterances("tess", speaker=speaker, root=root)
    utts = all_utts[:: max(1, len(all_utts) // n_files)][:n_files]
    wavs = [audio.load_wav(u.path, cfg.sr) for u in utts]
    times = dict(analysis=0.0, prosody=0.0, generator=0.0, synthesis=0.0)
    feats = []
    for wav in wavs:
        start = time.perf_counter()
        feats.append(features.extract_features(wav, cfg))
        times["analysis"] += time.perf_counter() - start
    stats = prosody.DomainStats.fit("bench", feats)
    model_cfg = ModelConfig(width=width)
    model = ConversionModel(cfg, stats, stats, models.build_generator(model_cfg), models.build_generator(model_cfg))
    model.convert_mcep(feats[0].mcep)  # the first call builds the eager kernels; not counted
    for f in feats:
        start = time.perf_counter()
        converted = model.convert_features(f, "A2B", mcep=False)
        times["prosody"] += time.perf_counter() - start
        start = time.perf_counter()
        converted = converted.replace(mcep=model.convert_mcep(f.mcep, "A2B"))
        times["generator"] += time.perf_counter() - start
        start = time.perf_counter()
        model.synthesize(converted, power=True)
        times["synthesis"] += time.perf_counter() - start
    audio_s = sum(len(w) for w in wavs) / cfg.sr
    result = {"audio_s": audio_s, "width": width, **{f"rtf_{k}": v / audio_s for k, v in times.items()},
              "rtf_total": sum(times.values()) / audio_s}
    print(f"{len(wavs)} TESS {speaker} files, {audio_s:.1f} s of audio, generator width {width}, {cfg.f0_method}")
    print("  ".join(f"{k}: {result['rtf_' + k]:.3f}" for k in (*times, "total")) + "  (s compute / s audio)")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emocore-bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    extract = commands.add_parser("extraction", help="WORLD feature extraction throughput on real TESS files")
    extract.add_argument("--n-files", type=int, default=40)
    extract.add_argument("--speaker", default="OAF")
    train = commands.add_parser("training", help="EmoCycleGAN training iterations/s and first-step time")
    train.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.5])
    train.add_argument("--steps", type=int, default=20, help="timed iterations per phase")
    train.add_argument("--warmup", type=int, default=2)
    train.add_argument("--n-frames", type=int, default=128)
    train.add_argument("--batch-size", type=int, default=1)
    convert = commands.add_parser("conversion", help="conversion real-time factor on real TESS files")
    convert.add_argument("--width", type=float, default=1.0)
    convert.add_argument("--n-files", type=int, default=5)
    convert.add_argument("--speaker", default="OAF")
    args = parser.parse_args(argv)
    if args.command == "extraction":
        extraction_throughput(args.n_files, args.speaker)
    elif args.command == "training":
        training_speed(tuple(args.widths), args.steps, args.warmup, args.n_frames, args.batch_size)
    elif args.command == "conversion":
        conversion_rtf(args.width, args.n_files, args.speaker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
