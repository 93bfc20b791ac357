"""``make demo``: examples (espeak-ng, held-out corpus audio) and the user's files converted by the default model
to every emotion, and the static page that plays them side by side."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import espeak_wav

from emocore import demo, pretrained
from emocore.dsp import audio


class _Page(HTMLParser):
    """The audio sources and table rows of a demo page."""

    def __init__(self):
        super().__init__()
        self.sources, self.rows, self._cells = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "audio":
            self.sources.append(dict(attrs)["src"])
        elif tag == "tr":
            self._cells = []
        elif tag == "td" and self._cells is not None:
            self._cells.append("")

    def handle_data(self, data):
        if self._cells:
            self._cells[-1] += data

    def handle_endtag(self, tag):
        if tag == "tr" and self._cells:
            self.rows.append(self._cells)
            self._cells = None


def _read_page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_demo_converts_espeak_examples_and_the_users_file_to_every_emotion_without_corpora(tmp_path, monkeypatch,
                                                                                            capsys):
    monkeypatch.setenv("EMOCORE_DATA_DIR", str(tmp_path / "no-corpora"))
    mine = tmp_path / "my recording.wav"
    espeak_wav("Hello there, this is my own recording.", mine, voice="en-us")
    before = mine.read_bytes()
    assert demo.main([str(mine), "--build-dir", str(tmp_path / "build"), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    page_path = tmp_path / "build" / "demo" / "index.html"
    assert f"listen: {page_path}" in out and "converted to 3 emotions" in out
    page = _read_page(page_path)
    # two espeak-ng examples and the user's file; source, angry, happy, sad per row
    assert [row[0] for row in page.rows] == ["espeak1_en.wav", "espeak2_en_f3.wav", str(mine)]  # yours: as given
    assert page.rows[2][1] == "your file" and re.fullmatch(r"\d+\.\d s", page.rows[2][2])
    assert len(page.sources) == 3 * 4 and "converted/happy/my%20recording.wav" in page.sources
    for src in page.sources:  # every player's file is there, relative to the page, and is audio
        wav = audio.load_wav(page_path.parent / src.replace("%20", " "), 16000)
        assert len(wav) > 8000 and np.isfinite(wav).all() and np.abs(wav).max() > 0.01
    assert mine.read_bytes() == before  # the user's file is only read


def test_demo_with_corpora_adds_held_out_words_and_unseen_actors(corpora_root):
    from emocore.data.speakers import HELD_OUT_ACTORS
    from emocore.evaluation.judge import corpus_held_out_text_ids

    examples = demo.corpus_examples(corpora_root)
    tess = [e for e in examples if e.origin.startswith("TESS")]
    ravdess = [e for e in examples if e.origin.startswith("RAVDESS")]
    held_out = corpus_held_out_text_ids("tess", root=corpora_root)
    assert [e.path.name.split("_")[0] for e in tess] == ["OAF", "YAF"]
    assert all(e.path.name.split("_")[1] in held_out and e.path.name.endswith("_neutral" + e.path.suffix)
               for e in tess)
    assert len({e.path.name.split("_")[1] for e in tess}) == 2  # a different word per speaker
    assert [e.path.parent.parent.name for e in ravdess] == list(demo.DEMO_ACTORS)
    assert set(demo.DEMO_ACTORS) <= set(HELD_OUT_ACTORS)
    assert all(e.path.parent.name == "neutral" and e.path.is_file() for e in ravdess)


def test_demo_reports_a_broken_file_on_the_page_and_converts_the_rest(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EMOCORE_DATA_DIR", str(tmp_path / "no-corpora"))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    assert demo.main([str(broken), "--build-dir", str(tmp_path / "build"), "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert "3 conversions failed" in out and "broken.wav" in out
    page = _read_page(tmp_path / "build" / "demo" / "index.html")
    row = next(r for r in page.rows if r[0] == str(broken))
    assert row[2:4] == ["—", "—"] and row.count("failed") == 3 and "cannot decode" in row[-1]  # three targets failed, the reason in the notes
    assert len(page.sources) == 2 * 4  # the espeak-ng examples still play
    assert broken.read_bytes().startswith(b"RIFF")


def test_demo_names_the_missing_file_and_the_unknown_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EMOCORE_DATA_DIR", str(tmp_path / "no-corpora"))
    assert demo.main([str(tmp_path / "nowhere.wav"), "--build-dir", str(tmp_path / "build")]) == 1
    assert "nowhere.wav" in capsys.readouterr().err
    assert demo.main(["--model", "no-such-model", "--build-dir", str(tmp_path / "build")]) == 1
    err = capsys.readouterr().err
    assert "no-such-model" in err and pretrained.DEFAULT_PRETRAINED in err
    assert not (tmp_path / "build").exists()  # nothing converted, nothing written


@pytest.mark.real_data
def test_demo_converts_with_a_two_emotion_model_to_its_second_emotion(smoke_model, tmp_path, monkeypatch, capsys):
    model_dir, _ = smoke_model
    monkeypatch.setenv(pretrained.PRETRAINED_ENV_VAR, str(tmp_path / "pretrained"))
    pretrained.export_pretrained(model_dir, "tess-oaf-neutral-angry")
    monkeypatch.setenv("EMOCORE_DATA_DIR", str(tmp_path / "no-corpora"))
    assert demo.main(["--model", "tess-oaf-neutral-angry", "--build-dir", str(tmp_path / "build"), "--jobs", "1"]) == 0
    page = _read_page(tmp_path / "build" / "demo" / "index.html")
    assert len(page.rows) == 2 and all(len(row) == 6 for row in page.rows)  # input, origin, duration, source, angry, notes
    assert {Path(src).parent.as_posix() for src in page.sources} == {"sources", "converted/angry"}
    assert "far from" in capsys.readouterr().out  # espeak-ng is far from a one-speaker model's speaker


def test_write_page_escapes_names_and_links_audio_relative_to_the_page(tmp_path):
    example = demo.Example(tmp_path / "a&b <x>.wav", 'a "quoted" origin')
    row = demo.DemoRow(example, duration_s=1.25, source=tmp_path / "out" / "sources" / "a&b <x>.wav",
                       converted={"angry": tmp_path / "out" / "converted" / "angry" / "a&b <x>.wav", "sad": None},
                       notes=["sad: failed: <bad>"])
    odd = demo.DemoRow(demo.Example(Path(os.fsdecode(b"caf\xe9.wav")), "your file"), 1.0,
                       source=tmp_path / "out" / "sources" / os.fsdecode(b"caf\xe9.wav"))
    page_path = demo.write_page([row, odd], tmp_path / "out" / "index.html", title="t <1>", summary="s & s")
    text = page_path.read_text()
    assert "<bad>" not in text and "&lt;bad&gt;" in text and "t &lt;1&gt;" in text
    page = _read_page(page_path)
    assert page.sources == ["sources/a%26b%20%3Cx%3E.wav", "converted/angry/a%26b%20%3Cx%3E.wav",
                            "sources/caf%E9.wav"]  # a name that is not UTF-8: its bytes, quoted
    assert page.rows[0][:3] == ["a&b <x>.wav", 'a "quoted" origin', "1.2 s"] and page.rows[0][5] == "failed"


def test_demo_refuses_a_file_in_its_own_folder_before_converting_anything(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EMOCORE_DATA_DIR", str(tmp_path / "no-corpora"))
    inside = tmp_path / "build" / "demo" / "sources" / "espeak1_en.wav"
    inside.parent.mkdir(parents=True)
    inside.write_bytes(b"RIFF mine")
    assert demo.main([str(inside), "--build-dir", str(tmp_path / "build")]) == 1
    err = capsys.readouterr().err
    assert str(inside) in err and "demo's own folder" in err
    assert inside.read_bytes() == b"RIFF mine" and not (tmp_path / "build" / "demo" / "examples").exists()


def test_demo_with_nothing_to_convert_says_what_to_give(tmp_path, capsys):
    assert demo.main(["--no-examples", "--build-dir", str(tmp_path / "build")]) == 1
    assert "FILES=" in capsys.readouterr().err
    assert not (tmp_path / "build").exists()
