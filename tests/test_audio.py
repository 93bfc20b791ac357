import numpy as np
import pytest
import soundfile as sf

from emocore.dsp import audio
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


# ---------------------------------------------------------------------- constant input, truncated files (issue 12)


@pytest.mark.parametrize("value", [0.3, -0.02])
def test_a_constant_input_is_no_signal(tmp_path, value):
    with pytest.raises(AudioError, match="no signal: the samples are constant"):
        audio.validate_wav(np.full(16000, value), 16000)
    path = write(tmp_path / "dc.wav", np.full(16000, value), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="no signal") as info:
        audio.load_wav(path)
    assert str(path) in str(info.value)
    audio.validate_wav(np.full(16000, value) + 1e-3 * np.sin(np.arange(16000)), 16000)  # a signal on an offset


def truncate(path, keep_s, sr=16000, bytes_per_sample=2):
    """Cut a WAV file to its header plus ``keep_s`` of audio; returns ``path``."""
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"data") + 8 + int(keep_s * sr) * bytes_per_sample])
    return path


@pytest.mark.parametrize("file_format", ["WAV", "RF64"])
def test_a_truncated_wav_is_noted_and_read_as_far_as_it_goes(tmp_path, tone, file_format):
    path = write(tmp_path / "cut.wav", np.tile(tone, 4)[:51200], 16000, format=file_format, subtype="PCM_16")
    assert audio.truncation_note(path) is None
    truncate(path, 1.1)
    assert audio.truncation_note(path) == "truncated: the header declares 3.20 s of audio but the file holds 1.10 s"
    assert len(audio.load_wav(path)) == 17600  # libsndfile reads the samples that are there, without an error


def test_truncation_note_walks_odd_sized_chunks_and_big_endian_headers(tmp_path):
    import struct

    def wav_bytes(endian, declared_bytes, present_bytes, extra=b"xyz"):
        riff = b"RIFX" if endian == ">" else b"RIFF"
        fmt = struct.pack(f"{endian}HHIIHH", 1, 1, 8000, 16000, 2, 16)
        body = (b"WAVE" + b"fmt " + struct.pack(f"{endian}I", 16) + fmt
                + b"LIST" + struct.pack(f"{endian}I", len(extra)) + extra + b"\0" * (len(extra) % 2)
                + b"data" + struct.pack(f"{endian}I", declared_bytes) + b"\0" * present_bytes)
        return riff + struct.pack(f"{endian}I", len(body)) + body

    path = tmp_path / "x.wav"
    for endian in "<>":
        path.write_bytes(wav_bytes(endian, 32000, 8000))
        assert audio.truncation_note(path) == "truncated: the header declares 2.00 s of audio but the file holds 0.50 s"
        path.write_bytes(wav_bytes(endian, 8000, 8000))
        assert audio.truncation_note(path) is None
    path.write_bytes(wav_bytes("<", 0xFFFFFFFF, 8000))  # a stream's unknown length
    assert audio.truncation_note(path) is None


def test_truncation_note_is_none_for_other_files(tmp_path, tone):
    assert audio.truncation_note(write(tmp_path / "x.flac", tone, 16000)) is None
    (tmp_path / "short").write_bytes(b"RIFF")
    assert audio.truncation_note(tmp_path / "short") is None
    assert audio.truncation_note(tmp_path / "missing.wav") is None


def test_a_damaged_mp3_is_one_clear_error_and_nothing_on_stderr(tmp_path, capfd):
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"junk that is not an MPEG stream\n" * 4)
    with pytest.raises(AudioError, match=r"fake.mp3: cannot decode it as MP3 \(unrecognised or damaged data\)"):
        audio.load_wav(fake)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""  # mpg123's 'Illegal Audio-MPEG-Header' notes are silenced
