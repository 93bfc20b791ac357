"""``emocore-bench memory``: peak memory and real-time factor of converting long inputs, each in a fresh process."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from emocore.data import datasets

MEMORY_MODEL = "tess-oaf-neutral-angry-munit"


def speech_like_input(duration_s: float, sr: int = 16000, *, speaker: str = "OAF", root=None,
                      seed: int = 0) -> tuple[np.ndarray, str]:
    """A long speech-like input: TESS words one after another with 0.1-0.6 s pauses between them.

    Cycles through the speaker's neutral words (the source domain of the TESS models). Without the corpora:
    a harmonic signal with a slowly varying F0 (100-250 Hz) in 0.3-1.5 s "words" and the same pauses.

    Args:
        duration_s: length of the result in seconds.
        sr: sample rate in Hz.
        speaker: TESS speaker whose neutral words are used.
        root: the corpora folder (default :func:`emocore.paths.corpora_dir`).
        seed: draws the pauses (and the synthetic words).

    Returns:
        tuple: the waveform ``(round(duration_s * sr),)`` in [-1, 1] and a description of what it is made of.
    """
    from emocore.dsp import audio
    from emocore.exceptions import DatasetError

    rng = np.random.default_rng(seed)
    n_samples = int(round(duration_s * sr))
    try:
        utts = datasets.list_utterances("tess", speaker=speaker, emotion="neutral", root=root)
    except DatasetError:
        utts = []
    parts, total, words = [], 0, {}
    while total < n_samples:
        if utts:
            utt = utts[len(parts) // 2 % len(utts)]
            if utt.path not in words:
                words[utt.path] = 0.5 * audio.peak_normalize(audio.load_wav(utt.path, sr))
            word = words[utt.path]
        else:
            t = np.arange(int(rng.uniform(0.3, 1.5) * sr)) / sr
            f0 = rng.uniform(100, 250) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
            phase = 2 * np.pi * np.cumsum(f0) / sr
            word = sum(np.sin(k * phase) / k for k in range(1, 11)) * np.hanning(len(t)) * 0.25
        pause = 1e-3 * rng.standard_normal(int(rng.uniform(0.1, 0.6) * sr))  # a quiet room, not digital zeros
        parts += [word, pause]
        total += len(word) + len(pause)
    what = f"TESS {speaker} neutral words" if utts else "synthetic harmonic words"
    return np.concatenate(parts)[:n_samples], f"{what} with 0.1-0.6 s pauses"


def memory_child(spec: dict) -> dict:
    """Run in a fresh process by :func:`long_input_memory`: convert one file and report time and peak memory.

    Args:
        spec: ``model`` (folder), ``input`` (wav path), ``result`` (JSON path written with the returned dict),
            ``threads`` (TensorFlow threads, 0 = its default), ``whole`` (convert without segmenting: the
            behaviour before segmenting existed), ``compare`` (afterwards, also convert each segment alone and
            the whole file unsegmented, and compare).

    Returns:
        dict: ``setup_s`` (TensorFlow import, model load, a 1 s warm-up conversion), ``setup_rss_mb``,
        ``convert_s`` (:meth:`~emocore.conversion.ConversionModel.convert_path`), ``peak_rss_mb`` (this
        process's peak resident memory after the conversion), ``audio_s``, ``n_segments`` and, with
        ``compare``, ``vs_alone`` and ``vs_whole``: ``max_abs``, ``snr_db`` (see :func:`_difference`).
    """
    import json
    import math
    import resource

    start = time.perf_counter()
    import tensorflow as tf

    if spec.get("threads"):
        tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
        tf.config.threading.set_inter_op_parallelism_threads(spec["threads"])
    from emocore.config import SegmentConfig
    from emocore.conversion import ConversionModel
    from emocore.dsp import audio, features, segments

    def peak_rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux

    model = ConversionModel.load(spec["model"])
    cfg = model.feature_cfg
    segmented_cfg = model.segment_cfg
    if spec.get("whole"):
        model.segment_cfg = SegmentConfig(max_segment_s=math.inf)
    wav = audio.load_wav(spec["input"], cfg.sr)
    model.convert_wav(wav[:cfg.sr])  # warm-up: the first call builds the networks' kernels
    result = {"setup_s": time.perf_counter() - start, "setup_rss_mb": peak_rss_mb(), "audio_s": len(wav) / cfg.sr}
    del wav
    start = time.perf_counter()
    converted = model.convert_path(spec["input"])
    result.update(convert_s=time.perf_counter() - start, peak_rss_mb=peak_rss_mb(), n_segments=converted.n_segments)
    if spec.get("compare"):
        wav = audio.load_wav(spec["input"], cfg.sr)
        plan = segments.plan_segments(wav, cfg.sr, segmented_cfg, align=cfg.hop_length)
        half = segments.crossfade_samples(cfg.sr, segmented_cfg)
        alone, mine = [], []
        for index, segment in enumerate(plan):  # each segment converted on its own, compared in its core
            lo = segment.core_start + (half if index else 0)
            hi = segment.core_stop - (half if index < len(plan) - 1 else 0)
            own = model.convert_analyzed(features.extract_features(wav[segment.start:segment.stop], cfg))
            alone.append(own[lo - segment.start: hi - segment.start])
            mine.append(converted.wav[lo:hi])
        result["vs_alone"] = _difference(np.concatenate(mine), np.concatenate(alone))
        model.segment_cfg = SegmentConfig(max_segment_s=math.inf)
        result["vs_whole"] = _difference(converted.wav, model.convert_wav(wav))
    with open(spec["result"], "w") as file:
        json.dump(result, file)
    return result


def _difference(test: np.ndarray, reference: np.ndarray, frame: int = 512) -> dict:
    """How far ``test`` is from ``reference`` (both ``(n_samples,)``), on the waveform and on its spectrogram.

    Returns:
        dict: ``max_abs`` (largest sample difference), ``snr_db`` (reference energy over difference energy)
        and ``spectral_snr_db`` (the same on STFT magnitudes, ``frame``-sample Hann frames, half overlap:
        blind to the phase of WORLD's pulse train, which restarts where each synthesis starts); inf when
        identical.
    """
    def snr_db(ref: np.ndarray, diff: np.ndarray) -> float:
        energy = float(np.sum(np.square(diff)))
        return float("inf") if energy == 0 else float(10 * np.log10(float(np.sum(np.square(ref))) / energy))

    def magnitudes(wav: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(wav, frame)[:: frame // 2]
        return np.abs(np.fft.rfft(frames * np.hanning(frame), axis=1))

    test, reference = np.asarray(test, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    spec_ref = magnitudes(reference)
    return {"max_abs": float(np.max(np.abs(test - reference))), "snr_db": snr_db(reference, test - reference),
            "spectral_snr_db": snr_db(spec_ref, magnitudes(test) - spec_ref)}


def long_input_memory(lengths_s=(10.0, 60.0, 600.0), *, model: str = MEMORY_MODEL, whole_s=(150.0,),
                      compare_s: float = 60.0, threads: int = 1, root=None) -> list[dict]:
    """Peak memory and real-time factor of converting long inputs, each in a fresh process.

    Every input (:func:`speech_like_input`, written as a 16 kHz WAV) is converted by
    :meth:`~emocore.conversion.ConversionModel.convert_path` in its own subprocess, so each peak resident
    memory is that length's alone. The RTF is conversion seconds per audio second; the process's setup
    (TensorFlow import, model load, a 1 s warm-up) is reported on its own. ``whole_s`` lengths are also
    converted without segmenting (the behaviour before segmenting), for comparison. For the ``compare_s``
    input the segmented output is compared with each segment converted alone (in the segments' cores, outside
    the crossfades: the same computation, so any difference is noise) and with the whole file converted
    unsegmented (for information: analysis and the networks see different context near the cuts).

    Args:
        lengths_s: input lengths in seconds, converted in segments.
        model: a pretrained model name (:func:`emocore.pretrained.resolve`) or a model folder.
        whole_s: input lengths converted unsegmented.
        compare_s: which of ``lengths_s`` gets the comparisons (none if it is not among them).
        threads: TensorFlow threads per process (0: its default, all cores).
        root: the corpora folder.

    Returns:
        list[dict]: one row per run, the :func:`memory_child` results plus ``mode`` (``"segmented"`` or
        ``"whole"``) and ``wall_s`` (the whole subprocess).
    """
    import json
    import subprocess

    from emocore import pretrained
    from emocore.dsp import audio
    from emocore.record import read_record

    model_dir = Path(model) if Path(model).is_dir() else pretrained.resolve(model)
    runs = [(s, False) for s in lengths_s] + [(s, True) for s in whole_s]
    sr = read_record(model_dir).feature.sr
    longest, what = speech_like_input(max(s for s, _ in runs), sr, root=root)
    print(f"model {model_dir.name}; input: {what}; TensorFlow threads: {threads or 'default'}; "
          f"{os.cpu_count()} cores")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seconds, whole in runs:
            path = audio.save_wav(Path(tmp) / f"input_{seconds:g}s.wav", longest[: int(seconds * sr)], sr)
            spec = {"model": str(model_dir), "input": str(path), "result": str(Path(tmp) / "result.json"),
                    "threads": threads, "whole": whole, "compare": seconds == compare_s and not whole}
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import json, sys; from emocore.bench import memory_child; "
                            "memory_child(json.loads(sys.argv[1]))", json.dumps(spec)], check=True)
            row = json.loads(Path(spec["result"]).read_text())
            rows.append({**row, "mode": "whole" if whole else "segmented", "wall_s": time.perf_counter() - start})
            print(f"  {rows[-1]['mode']} {seconds:g} s: peak {row['peak_rss_mb']:.0f} MB", flush=True)
    print(f"{'mode':<10}{'input (s)':>10}{'segments':>10}{'peak RSS (MB)':>15}{'setup RSS (MB)':>16}"
          f"{'setup (s)':>11}{'convert (s)':>13}{'RTF':>7}")
    for row in rows:
        print(f"{row['mode']:<10}{row['audio_s']:>10.1f}{row['n_segments']:>10}{row['peak_rss_mb']:>15.0f}"
              f"{row['setup_rss_mb']:>16.0f}{row['setup_s']:>11.1f}{row['convert_s']:>13.1f}"
              f"{row['convert_s'] / row['audio_s']:>7.3f}")
    for row in rows:
        for key, against in (("vs_alone", "each segment converted alone (in the cores)"),
                             ("vs_whole", "the whole file converted unsegmented")):
            if key in row:
                print(f"{row['audio_s']:.0f} s segmented vs {against}: max |diff| {row[key]['max_abs']:.2e}, "
                      f"SNR {row[key]['snr_db']:.1f} dB, spectral SNR {row[key]['spectral_snr_db']:.1f} dB")
    return rows
