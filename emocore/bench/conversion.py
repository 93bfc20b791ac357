"""``emocore-bench conversion``: how fast conversion is, per F0 tracker and per worker count, with quality next to it.

Three measurements, each printed as a table:

1. :func:`tracker_agreement`: every F0 tracker of :data:`emocore.config.F0_METHODS` against harvest (the original
   system's, and the one the models were trained with) on real TESS and RAVDESS speech: F0 RMSE on the frames both
   call voiced, gross errors, voicing decision errors, and the tracker's own cost.
2. :func:`conversion_speed`: the real-time factor (compute seconds per second of audio) of
   :func:`emocore.conversion.convert_files` on TESS words held out of every model, for each tracker and worker count,
   against a baseline run in the same process: harvest, one process, networks called eagerly (conversion before
   issue 16). Process start (Python, TensorFlow, the model) is measured apart, in a fresh process
   (:func:`process_start`).
3. :func:`tracker_quality` (``--judges``, about half an hour): the multi-speaker evaluation's judges, speaker
   verifier and DNSMOS on conversions whose inputs were analysed with each tracker
   (:func:`emocore.evaluation.multispeaker.evaluate_streams`).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from emocore.config import F0_METHODS, FeatureConfig
from emocore.data import datasets

DEFAULT_MODEL = "emostargan-tess-ravdess"
#: a tracker's frame is a gross error when its F0 is more than this far (relative) from harvest's
GROSS_ERROR = 0.2


def _spread(items: list, n: int) -> list:
    """``n`` items spread evenly over ``items`` (all of them when there are fewer)."""
    if len(items) <= n:
        return list(items)
    return [items[int(i * len(items) / n)] for i in range(n)]


def held_out_sources(n_files: int = 40, *, root=None) -> list[Path]:
    """Neutral TESS words of both speakers that every model held out (:func:`~emocore.evaluation.judge.corpus_held_out_text_ids`),
    the speakers alternating, at most ``n_files``."""
    from emocore.evaluation.judge import corpus_held_out_text_ids

    held_out = corpus_held_out_text_ids("tess", root=root)
    by_speaker = [[u.path for u in datasets.list_utterances("tess", speaker=s, emotion="neutral", root=root)
                   if u.text_id in held_out] for s in ("OAF", "YAF")]
    paths = [p for pair in zip(*by_speaker) for p in pair]
    return paths[:n_files]


def tracker_agreement(trackers=F0_METHODS, n_files: int = 20, *, root=None) -> list[dict]:
    """Each F0 tracker against harvest on ``n_files`` real recordings of each corpus (all speakers and emotions).

    Returns:
        list[dict]: one row per corpus and tracker: ``corpus, tracker, f0_rmse_hz`` (on frames both trackers call
        voiced), ``gross_error_pct`` (of those frames, off by more than :data:`GROSS_ERROR`), ``voicing_error_pct``
        (frames whose voiced/unvoiced decision differs from harvest's), ``tracker_rtf`` (the tracker's seconds per
        second of audio, one core) and ``x_harvest`` (its speed against harvest's).
    """
    from emocore.dsp import audio, features

    cfg = FeatureConfig()
    rows = []
    for corpus in ("tess", "ravdess"):
        utts = _spread(datasets.list_utterances(corpus, root=root), n_files)
        wavs = [audio.load_wav(u.path, cfg.sr) for u in utts]
        audio_s = sum(len(w) for w in wavs) / cfg.sr
        tracks, cost = {}, {}
        for tracker in ("harvest", *[t for t in trackers if t != "harvest"]):
            tracker_cfg = replace(cfg, f0_method=tracker)
            start = time.perf_counter()
            tracks[tracker] = [features.extract_f0(w, tracker_cfg)[0] for w in wavs]
            cost[tracker] = time.perf_counter() - start
        reference = np.concatenate(tracks["harvest"])
        for tracker in trackers:
            f0 = np.concatenate(tracks[tracker])
            both = (reference > 0) & (f0 > 0)
            error = f0[both] - reference[both]
            rows.append({"corpus": corpus, "tracker": tracker, "files": len(wavs),
                         "f0_rmse_hz": float(np.sqrt(np.mean(error ** 2))) if both.any() else float("nan"),
                         "gross_error_pct": 100 * float(np.mean(np.abs(error) > GROSS_ERROR * reference[both])),
                         "voicing_error_pct": 100 * float(np.mean((reference > 0) != (f0 > 0))),
                         "tracker_rtf": cost[tracker] / audio_s, "x_harvest": cost["harvest"] / cost[tracker]})
    print(f"F0 trackers against harvest: {n_files} files per corpus (every speaker and emotion), one core")
    print(f"{'corpus':<9}{'tracker':<9}{'F0 RMSE (Hz)':>13}{'gross err %':>12}{'voicing err %':>14}"
          f"{'RTF':>8}{'x harvest':>10}")
    for r in rows:
        print(f"{r['corpus']:<9}{r['tracker']:<9}{r['f0_rmse_hz']:>13.1f}{r['gross_error_pct']:>12.1f}"
              f"{r['voicing_error_pct']:>14.1f}{r['tracker_rtf']:>8.3f}{r['x_harvest']:>10.1f}")
    return rows


def process_start(model: str = DEFAULT_MODEL) -> dict:
    """What a fresh ``emocore-convert`` pays before its first file, measured in a new Python process.

    Returns:
        dict: ``python_s`` (the interpreter and emocore's light modules), ``import_s`` (importing
        :mod:`emocore.conversion`: TensorFlow and Keras), ``load_s`` (:meth:`~emocore.conversion.ConversionModel.load`)
        and ``first_call_s`` (the first conversion of a 1 s tone: tracing the compiled networks).
    """
    from emocore import pretrained

    model_dir = Path(model) if Path(model).is_dir() else pretrained.resolve(model)
    code = ("import time, json, sys; t0 = time.perf_counter(); import numpy as np; import emocore.stages; "
            "t1 = time.perf_counter(); from emocore.conversion import ConversionModel; t2 = time.perf_counter(); "
            "m = ConversionModel.load(sys.argv[1]); t3 = time.perf_counter(); "
            "x = np.sin(2 * np.pi * 150 * np.arange(16000) / 16000) * 0.3; "
            "m.convert_wav(x, (0, 1)); t4 = time.perf_counter(); "
            "print(json.dumps({'python_s': t1 - t0, 'import_s': t2 - t1, 'load_s': t3 - t2, 'first_call_s': t4 - t3}))")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(model_dir)], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def conversion_speed(model: str = DEFAULT_MODEL, trackers=F0_METHODS, workers=None, *, n_files: int = 40,
                     target: str = "angry", root=None) -> list[dict]:
    """Real-time factor of :func:`emocore.conversion.convert_files` per tracker and worker count, in this process.

    The held-out words (:func:`held_out_sources`) are converted from neutral to ``target`` into a temporary folder,
    the whole batch timed: reading, analysis, the model, synthesis, writing, and the workers' start. The model is
    loaded, and its networks traced, once before (:func:`process_start` measures that apart).

    Args:
        workers: worker counts (default 1 and every core).

    Returns:
        list[dict]: one row per run: ``tracker, workers, networks`` (``"eager"`` for the baseline, else
        ``"compiled"``), ``wall_s``, ``audio_s``, ``rtf`` and ``x_baseline`` (the baseline's RTF over this one's).
    """
    from emocore import pretrained
    from emocore.conversion import ConversionModel, convert_files
    from emocore.models import base as model_base

    model_dir = Path(model) if Path(model).is_dir() else pretrained.resolve(model)
    paths = held_out_sources(n_files, root=root)
    import soundfile as sf

    audio_s = sum(sf.info(str(p)).duration for p in paths)
    converter = ConversionModel.load(model_dir)
    direction = (converter.emotion_index("neutral"), converter.emotion_index(target))
    workers = tuple(workers or sorted({1, os.cpu_count() or 1}))
    converter.convert_path(paths[0], direction)  # traces the compiled networks: not counted
    runs = [("harvest", 1, False)] + [(t, w, True) for t in trackers for w in workers]
    rows = []
    logger = logging.getLogger("emocore.conversion")
    level = logger.level
    logger.setLevel(logging.ERROR)  # not the loud words' "scaled to 0.99" in every run
    try:
        for tracker, n_workers, compiled in runs:
            converter.f0_tracker = tracker
            model_base.COMPILE_INFERENCE = compiled
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                report = convert_files(converter, paths, direction, out, jobs=n_workers, progress=False)
                wall = time.perf_counter() - start
            if not report.ok:
                raise RuntimeError(f"benchmark files failed: {report.failed}")
            rows.append({"tracker": tracker, "workers": n_workers, "networks": "compiled" if compiled else "eager",
                         "wall_s": wall, "audio_s": audio_s, "rtf": wall / audio_s,
                         "x_baseline": (rows[0]["wall_s"] if rows else wall) / wall})
    finally:
        model_base.COMPILE_INFERENCE = True
        logger.setLevel(level)
    print(f"convert_files: {len(paths)} held-out TESS words ({audio_s:.1f} s of audio), neutral -> {target}, "
          f"{model_dir.name}, {os.cpu_count()} cores; first row: the baseline (before issue 16)")
    print(f"{'tracker':<9}{'workers':>8}{'networks':>10}{'wall (s)':>10}{'RTF':>8}{'x baseline':>12}")
    for r in rows:
        print(f"{r['tracker']:<9}{r['workers']:>8}{r['networks']:>10}{r['wall_s']:>10.2f}{r['rtf']:>8.3f}"
              f"{r['x_baseline']:>12.2f}")
    return rows


def tracker_quality(model: str = DEFAULT_MODEL, trackers=F0_METHODS, out_dir: str | Path | None = None, *,
                    max_utterances: int | None = None, with_dnsmos: bool = True, root=None):
    """The multi-speaker evaluation of the model's default streams, its inputs analysed by each tracker in turn.

    Returns:
        DataFrame: one row per tracker: both judges' accuracy per group (mean over the target emotions), the nearest
        speaker's and DNSMOS (when ``with_dnsmos``), from :func:`~emocore.evaluation.multispeaker.evaluate_streams`'s
        ``summary.csv`` (written with everything else into ``out_dir``, default a temporary folder).
    """
    import pandas as pd

    from emocore import pretrained
    from emocore.evaluation.multispeaker import evaluate_streams

    model_dir = Path(model) if Path(model).is_dir() else pretrained.resolve(model)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(out_dir or tmp)
        evaluate_streams(model_dir, out, ["f0+power+mcep"], trackers=tuple(trackers), max_utterances=max_utterances,
                         with_dnsmos=with_dnsmos, root=root, progress=False)
        summary = pd.read_csv(out / "summary.csv")
    rows = []
    for tracker in trackers:
        mine = summary[summary["system"] == f"f0+power+mcep @{tracker}"]
        row = {"tracker": tracker}
        for group in ("tess", "unseen"):
            part = mine[mine["group"] == group]
            row[f"{group}_egemaps_pct"] = float(part["emotion_accuracy_pct"].mean())
            row[f"{group}_logmel_pct"] = float(part["emotion_accuracy_logmel_pct"].mean())
            row[f"{group}_nearest_speaker_pct"] = float(part["nearest_speaker_correct_pct"].mean())
        row["dnsmos"] = float(mine["dnsmos_ovrl"].mean()) if with_dnsmos and "dnsmos_ovrl" in mine else float("nan")
        rows.append(row)
    table = pd.DataFrame(rows)
    print("conversions analysed by each tracker, judged (mean over angry, happy, sad; % heard as the target):")
    print(table.round(2).to_string(index=False))
    return table


def summary_table(agreement: list[dict], speed: list[dict], quality=None) -> list[dict]:
    """One row per tracker: its RTF per worker count next to its agreement with harvest (and the judges')."""
    rows = []
    for tracker in dict.fromkeys(r["tracker"] for r in speed if r["networks"] == "compiled"):
        row = {"tracker": tracker}
        for r in speed:
            if r["tracker"] == tracker and r["networks"] == "compiled":
                row[f"rtf_{r['workers']}w"] = r["rtf"]
        for r in agreement:
            if r["tracker"] == tracker:
                row[f"{r['corpus']}_f0_rmse_hz"] = r["f0_rmse_hz"]
                row[f"{r['corpus']}_voicing_error_pct"] = r["voicing_error_pct"]
        if quality is not None:
            mine = quality[quality["tracker"] == tracker]
            for column in mine.columns.drop("tracker"):
                row[column] = float(mine[column].iloc[0]) if len(mine) else float("nan")
        rows.append(row)
    print("per tracker: real-time factor by worker count, agreement with harvest"
          + (", judges" if quality is not None else " (judges: --judges)"))
    columns = list(dict.fromkeys(k for row in rows for k in row))
    print("  ".join(f"{c:>{max(len(c), 7)}}" for c in columns))
    for row in rows:
        print("  ".join(f"{row.get(c, float('nan')):>{max(len(c), 7)}.3f}" if c != "tracker" else f"{row[c]:>7}"
                        for c in columns))
    return rows
