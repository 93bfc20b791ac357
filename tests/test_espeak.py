"""espeak-ng voices (:mod:`emocore.data.espeak`): speech in neither corpus, its errors, and the silence retry."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile as sf

from emocore.data import espeak
from emocore.exceptions import EspeakError, ParameterError

needs_espeak = pytest.mark.skipif(not espeak.available(), reason="espeak-ng is not installed (espeakng-loader)")


@needs_espeak
def test_synthesize_writes_speech_of_about_the_length_of_the_text(tmp_path):
    short = espeak.synthesize("Hello.", tmp_path / "short.wav")
    long = espeak.synthesize("Please bring the books back to the library tomorrow.", tmp_path / "long.wav", "en+f3")
    info = sf.info(str(tmp_path / "long.wav"))
    assert info.samplerate == 22050 and info.subtype == "PCM_16" and info.frames == len(long)
    assert 1.5 * len(short) < len(long) and 1.5 < len(long) / 22050 < 6
    assert np.abs(long.astype(np.int32)).max() > 1000


@needs_espeak
def test_an_unknown_voice_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="no voice 'xx-nonexistent'"):
        espeak.synthesize("Hello.", tmp_path / "x.wav", "xx-nonexistent")


def test_without_espeak_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(espeak, "available", lambda: False)
    with pytest.raises(EspeakError, match="pip install espeakng-loader"):
        espeak.synthesize("Hello.", tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def _fake_runs(outcomes, path):
    """A ``subprocess.run`` that writes the next outcome's samples to ``path`` (or returns its exit status)."""
    calls = []

    def run(command, **kwargs):
        outcome = outcomes[len(calls)]
        calls.append(command)
        if isinstance(outcome, int):
            return subprocess.CompletedProcess(command, outcome, "", "")
        sf.write(str(path), outcome, 22050, subtype="PCM_16")
        return subprocess.CompletedProcess(command, 0, "", "")

    return run, calls


def test_silence_is_tried_again_then_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(espeak, "available", lambda: True)
    path = tmp_path / "x.wav"
    speech = (0.5 * np.sin(np.arange(22050) / 5)).astype(np.float32)
    run, calls = _fake_runs([np.zeros(100, np.float32), espeak._NO_SAMPLES, speech], path)
    monkeypatch.setattr(espeak.subprocess, "run", run)
    assert np.abs(espeak.synthesize("Hello.", path).astype(np.int32)).max() > 10000 and len(calls) == 3
    run, calls = _fake_runs([np.zeros(100, np.float32)] * 3, path)
    monkeypatch.setattr(espeak.subprocess, "run", run)
    with pytest.raises(EspeakError, match="silence 3 times"):
        espeak.synthesize("Hello.", path)


def test_a_failure_or_a_hang_is_an_espeak_error(tmp_path, monkeypatch):
    monkeypatch.setattr(espeak, "available", lambda: True)
    run, _ = _fake_runs([1], tmp_path / "x.wav")
    monkeypatch.setattr(espeak.subprocess, "run", run)
    with pytest.raises(EspeakError, match="failed"):
        espeak.synthesize("Hello.", tmp_path / "x.wav")

    def hang(command, **kwargs):
        raise subprocess.TimeoutExpired(command, kwargs["timeout"])

    monkeypatch.setattr(espeak.subprocess, "run", hang)
    with pytest.raises(EspeakError, match="did not finish"):
        espeak.synthesize("Hello.", tmp_path / "x.wav")
