"""Tests of emocore.batch: which inputs a batch reads and where each output goes, decided before any work."""

from __future__ import annotations

import os

import pytest

from emocore import batch
from emocore.exceptions import OutputError, ParameterError


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_expand_inputs_reads_every_audio_suffix_and_keeps_unmatched_patterns(tmp_path, caplog):
    for name in ("b.wav", "a.flac", "c.mp3", "d.ogg", "notes.txt", ".hidden.wav"):
        _touch(tmp_path / name)
    assert [p.name for p in batch.expand_inputs([tmp_path])] == ["a.flac", "b.wav", "c.mp3", "d.ogg"]
    assert "notes.txt" in caplog.text  # a file that is not audio is named, not dropped silently
    assert batch.expand_inputs([tmp_path / "*.aiff"]) == [tmp_path / "*.aiff"]
    assert len(batch.expand_inputs([tmp_path / "b.wav", str(tmp_path / "b.wav")])) == 1


@pytest.mark.parametrize("contents", [[], ["notes.txt", "video.mp4"]])
def test_a_folder_without_audio_is_an_error_naming_it(tmp_path, contents):
    folder = tmp_path / "recordings"
    folder.mkdir()
    for name in contents:
        _touch(folder / name)
    with pytest.raises(ParameterError, match="recordings: no audio files") as info:
        batch.expand_inputs([folder])
    assert ("empty" in str(info.value)) == (not contents)


def test_plan_names_outputs_and_numbers_repeated_stems(tmp_path):
    inputs = [_touch(tmp_path / "a" / "x.wav"), _touch(tmp_path / "b" / "x.flac"), _touch(tmp_path / "y.wav")]
    plan = batch.plan_outputs(inputs, tmp_path / "out" / "deeper")
    assert [out.name for _, out in plan.jobs] == ["x.wav", "x_1.wav", "y.wav"]
    assert not (tmp_path / "out").exists() and not plan.skipped and not plan.single_file  # nothing made yet


@pytest.mark.parametrize("as_file", [False, True])
def test_an_input_is_never_an_output(tmp_path, as_file):
    recording = _touch(tmp_path / "same" / "rec.wav", b"the user's only take")
    destination = recording if as_file else recording.parent
    for overwrite in (False, True):
        with pytest.raises(OutputError, match="would replace the input"):
            batch.plan_outputs([recording], destination, overwrite=overwrite)
    assert recording.read_bytes() == b"the user's only take"


def test_an_output_that_is_another_input_is_refused(tmp_path):
    flac, wav = _touch(tmp_path / "take.flac"), _touch(tmp_path / "take.wav")
    with pytest.raises(OutputError, match="would replace the input"):
        batch.plan_outputs([flac, wav], tmp_path)


def test_existing_outputs_are_kept_unless_overwrite(tmp_path):
    inputs = [_touch(tmp_path / "in" / "a.wav"), _touch(tmp_path / "in" / "b.wav")]
    existing = _touch(tmp_path / "out" / "a.wav", b"not even audio")
    plan = batch.plan_outputs(inputs, tmp_path / "out")
    assert [(i.name, o, why.split()[0]) for i, o, why in plan.skipped] == [("a.wav", existing, "exists")]
    assert [i.name for i, _ in plan.jobs] == ["b.wav"]
    assert [i.name for i, _ in batch.plan_outputs(inputs, tmp_path / "out", overwrite=True).jobs] == ["a.wav", "b.wav"]


def test_one_output_file_takes_one_input_in_the_format_of_its_suffix(tmp_path):
    a, b = _touch(tmp_path / "a.wav"), _touch(tmp_path / "b.wav")
    plan = batch.plan_outputs([a], tmp_path / "new" / "out.flac")
    assert plan.single_file and plan.jobs == [(a, tmp_path / "new" / "out.flac")]
    assert not (tmp_path / "new" / "out.flac").exists()  # a file to be, not a folder
    with pytest.raises(OutputError, match="names one output file, but 2 inputs"):
        batch.plan_outputs([a, b], tmp_path / "out.wav")
    with pytest.raises(OutputError, match="cannot write .mp3"):
        batch.plan_outputs([a], tmp_path / "out.mp3")


def test_a_destination_that_is_a_file_or_under_one_is_refused_before_any_work(tmp_path):
    a = _touch(tmp_path / "a.wav")
    regular = _touch(tmp_path / "notes.txt", b"keep me")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        batch.plan_outputs([a], regular)
    with pytest.raises(OutputError, match="lies under .*notes.txt, which is a file"):
        batch.plan_outputs([a], regular / "sub")
    assert regular.read_bytes() == b"keep me"
    (tmp_path / "out" / "a.wav").mkdir(parents=True)
    with pytest.raises(OutputError, match="is an existing folder"):
        batch.plan_outputs([a], tmp_path / "out")
    with pytest.raises(OutputError, match="no input files"):
        batch.plan_outputs([], tmp_path / "out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the read-only mount test covers it")
def test_an_unwritable_folder_is_refused(tmp_path):
    a = _touch(tmp_path / "a.wav")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="cannot write there"):
            batch.plan_outputs([a], locked)
    finally:
        locked.chmod(0o700)


def test_a_read_only_file_system_is_refused(tmp_path, monkeypatch):
    """A read-only mount (what root meets, where permissions do not stop it) stands in as a failing temp file."""
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    a = _touch(tmp_path / "a.wav")
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", read_only)
    with pytest.raises(OutputError, match="cannot write there \\(Read-only file system\\)"):
        batch.plan_outputs([a], tmp_path / "out")


def test_a_trailing_slash_names_a_folder_even_with_an_audio_suffix(tmp_path):
    a, b = _touch(tmp_path / "a.wav"), _touch(tmp_path / "b.wav")
    plan = batch.plan_outputs([a, b], f"{tmp_path / 'out.wav'}/")
    assert not plan.single_file and [out for _, out in plan.jobs] == [tmp_path / "out.wav" / "a.wav",
                                                                      tmp_path / "out.wav" / "b.wav"]
    assert not batch.plan_outputs([a], f"{tmp_path / 'songs.mp3'}/").single_file


def test_the_same_file_under_two_spellings_is_one_input(tmp_path):
    recording = _touch(tmp_path / "same" / "rec.wav")
    (tmp_path / "link.wav").symlink_to(recording)
    spellings = [recording, tmp_path / "same" / ".." / "same" / "rec.wav", tmp_path / "link.wav"]
    assert batch.expand_inputs(spellings) == [recording]


def test_a_hard_link_to_an_input_is_that_input(tmp_path):
    import os

    recording = _touch(tmp_path / "in" / "rec.wav", b"take")
    (tmp_path / "out").mkdir()
    os.link(recording, tmp_path / "out" / "rec.wav")
    with pytest.raises(OutputError, match="would replace the input"):
        batch.plan_outputs([recording], tmp_path / "out", overwrite=True)
