import numpy as np
import pytest
import soundfile as sf

from emocore import audio
from emocore.exceptions import AudioError, ParameterError


def write(path, data, sr, **kwargs):
    sf.write(str(path), data, sr, **kwargs)
    return path


@pytest.mark.parametrize("suffix,subtype", [(".wav", "PCM_16"), (".flac", "PCM_16"), (".aiff", "PCM_16"),
                                            (".ogg", "VORBIS")])
def test_load_formats_resample_and_mix_to_mono(tmp_path, tone, suffix, subtype):
    stereo_44k = np.stack([tone, tone], axis=1)
    stereo_44k = np.repeat(stereo_44k, 2, axis=0)[: 32000]  # crude 32 kHz version, 1 s
    path = write(tmp_path / f"x{suffix}", stereo_44k, 32000, subtype=subtype)
    wav = audio.load_wav(path, sr=16000)
    assert wav.ndim == 1 and wav.dtype == np.float64
    assert len(wav) == pytest.approx(16000, abs=2)
    assert 0.3 < np.max(np.abs(wav)) <= 1.0


def test_stereo_is_averaged(tmp_path, tone):
    path = write(tmp_path / "st.wav", np.stack([tone, np.zeros_like(tone)], axis=1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(audio.load_wav(path), tone / 2, atol=1e-6)


@pytest.mark.parametrize("make,reason", [
    (lambda p, t: p.write_bytes(b""), "empty"),
    (lambda p, t: p.write_bytes(b"RIFF....WAVEfmt garbage that is not audio"), "cannot decode"),
    (lambda p, t: write(p, np.zeros(16000), 16000), "silent"),
    (lambda p, t: write(p, t[:800], 16000), "too short"),
    (lambda p, t: write(p, np.where(np.arange(len(t)) == 5, np.nan, t), 16000, subtype="FLOAT"), "NaN"),
    (lambda p, t: write(p, np.zeros((0,)), 16000), "no samples"),
])
def test_bad_files_raise_audio_error_naming_the_file(tmp_path, tone, make, reason):
    path = tmp_path / "bad.wav"
    make(path, tone)
    with pytest.raises(AudioError) as info:
        audio.load_wav(path, min_duration_s=0.25)
    assert str(path) in str(info.value)
    assert reason in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        audio.load_wav(tmp_path / "nope.wav")


def test_real_tess_file_at_24414_hz_is_resampled(tess_file):
    assert sf.info(str(tess_file)).samplerate == 24414
    wav = audio.load_wav(tess_file, sr=16000)
    assert len(wav) == pytest.approx(sf.info(str(tess_file)).frames * 16000 / 24414, abs=2)


def test_save_roundtrip_and_errors(tmp_path, tone):
    path = audio.save_wav(tmp_path / "sub" / "out.wav", tone, 16000)
    np.testing.assert_allclose(audio.load_wav(path), tone, atol=1e-4)
    with pytest.raises(ParameterError):
        audio.save_wav(tmp_path / "x.wav", np.stack([tone, tone]), 16000)
    with pytest.raises(ParameterError):
        audio.save_wav(tmp_path / "x.wav", np.full(10, np.nan), 16000)


def test_peak_normalize(tone):
    assert np.max(np.abs(audio.peak_normalize(tone, 0.9))) == pytest.approx(0.9)
    assert not np.any(audio.peak_normalize(np.zeros(5)))
