"""``make demo``: hear a conversion within a minute or two, with no corpus and no training.

1. Gather examples: two sentences spoken by espeak-ng (voices in neither corpus); when the corpora are present,
   also a held-out neutral TESS word of each speaker and a neutral sentence of two RAVDESS actors no model heard
   (corpus audio goes only to the git-ignored ``build/``); and any files given on the command line (only read; a
   file inside ``build/demo/`` is refused, since the demo rewrites that folder).
2. Convert each with the default pretrained model (:data:`emocore.pretrained.DEFAULT_PRETRAINED`) from its first
   emotion (neutral) to every other one, on every core (:func:`emocore.conversion.convert_files`), into
   ``build/demo/converted/<emotion>/``.
3. Write ``build/demo/index.html``: one row per input with players for the source (resampled copies in
   ``build/demo/sources/``) and each conversion side by side,
   where the input comes from, its duration and what happened to it; print the page's path.

The full evaluation behind the README's tables is ``make results`` (:mod:`emocore.results`, about 40 minutes).
Run this as ``make demo [FILES="my.wav other.wav"]`` or ``python -m emocore.demo [FILES...]``.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from emocore import paths, pretrained

#: what espeak-ng says, and in which voice (a male and a female variant of its English voice)
ESPEAK_EXAMPLES = (("Please bring the books back to the library.", "en"),
                   ("Good morning, how are you today?", "en+f3"))
#: RAVDESS actors held out of every model's training (a man and a woman), one neutral sentence each
DEMO_ACTORS = ("Actor_13", "Actor_14")


@dataclass(frozen=True)
class Example:
    """One input of the demo: its file and, for the page, where it comes from."""

    path: Path
    origin: str


@dataclass
class DemoRow:
    """One input on the page: its source copy, its conversion per target emotion (``None``: failed) and notes."""

    example: Example
    duration_s: float | None = None
    source: Path | None = None
    converted: dict[str, Path | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def espeak_examples(folder: Path) -> list[Example]:
    """:data:`ESPEAK_EXAMPLES` spoken into ``folder``; none (with a printed reason) without espeak-ng."""
    from emocore.data import espeak
    from emocore.exceptions import EmocoreError

    if not espeak.available():
        print("espeak-ng is not installed (pip install espeakng-loader): no synthetic examples")
        return []
    folder.mkdir(parents=True, exist_ok=True)
    examples = []
    for k, (text, voice) in enumerate(ESPEAK_EXAMPLES, start=1):
        path = folder / f"espeak{k}_{voice.replace('+', '_')}.wav"
        try:
            espeak.synthesize(text, path, voice)
        except EmocoreError as error:
            print(f"espeak-ng example {k} left out: {error}")
            continue
        examples.append(Example(path, f'espeak-ng voice "{voice}" (in neither corpus): "{text}"'))
    return examples


def corpus_examples(root: Path | None = None) -> list[Example]:
    """A held-out neutral TESS word of each speaker and a neutral sentence of each of :data:`DEMO_ACTORS`, where
    the corpora are present (none otherwise)."""
    from emocore.data import datasets
    from emocore.exceptions import DatasetError

    root = Path(root) if root is not None else paths.corpora_dir()
    examples = []
    if (root / "tess").is_dir():
        from emocore.evaluation.judge import corpus_held_out_text_ids

        try:
            held_out = corpus_held_out_text_ids("tess", root=root)
            for k, speaker in enumerate(("OAF", "YAF")):
                words = [u for u in datasets.list_utterances("tess", speaker=speaker, emotion="neutral", root=root)
                         if u.text_id in held_out]
                if words:  # a different word per speaker
                    examples.append(Example(words[k % len(words)].path,
                                            f"TESS {speaker}, neutral, a word no model trained on"))
        except DatasetError as error:
            print(f"TESS examples left out: {error}")
    if (root / "ravdess").is_dir():
        for actor in DEMO_ACTORS:
            try:
                sentences = datasets.list_utterances("ravdess", speaker=actor, emotion="neutral", root=root)
            except DatasetError as error:
                print(f"RAVDESS {actor} left out: {error}")
                continue
            if sentences:
                examples.append(Example(sentences[0].path, f"RAVDESS {actor}, neutral, an actor no model heard"))
    return examples


def targets(model) -> list[tuple[object, str]]:
    """``(direction, target emotion)`` per conversion: a two-emotion model converts its first emotion to its second;
    one of more emotions converts its first (neutral) to each of the others."""
    emotions = model.record.emotions
    if len(emotions) == 2:
        return [("A2B", emotions[1].emotion)]
    return [((0, k), emotions[k].emotion) for k in range(1, len(emotions))]


def convert_examples(model, examples: list[Example], out_dir: Path, *, jobs: int | None = None) -> list[DemoRow]:
    """Convert every example to every target of ``model`` into ``out_dir/converted/<emotion>/``; copy each source, as
    read, into ``out_dir/sources/``. Returns one :class:`DemoRow` per example, in order."""
    from emocore.conversion import convert_files
    from emocore.dsp import audio

    sr = model.feature_cfg.sr
    rows = {str(e.path): DemoRow(e) for e in examples}
    for direction, emotion in targets(model):
        report = convert_files(model, [e.path for e in examples], direction, out_dir / "converted" / emotion,
                               overwrite=True, jobs=jobs, progress=True)
        for source, output in report.converted:
            rows[source].converted[emotion] = Path(output)
        for source, reason in report.failed:
            rows[source].converted[emotion] = None
            rows[source].notes.append(f"{emotion}: failed: {reason}")
        for source in report.not_attempted:
            rows[source].converted[emotion] = None
            rows[source].notes.append(f"{emotion}: not tried ({report.stopped})")
        for source, note in report.unfamiliar + report.notes:
            if not any(note in n for n in rows[source].notes):
                rows[source].notes.append(note)
    (out_dir / "sources").mkdir(parents=True, exist_ok=True)
    for row in rows.values():
        done = next((p for p in row.converted.values() if p is not None), None)
        if done is None:
            continue
        wav = audio.load_wav(row.example.path, sr)
        row.duration_s = len(wav) / sr
        row.source = audio.save_wav(out_dir / "sources" / done.name, wav, sr)
    return list(rows.values())


def _player(path: Path | None, page_dir: Path, missing: str = "failed") -> str:
    if path is None:
        return f"<td>{missing}</td>"
    src = quote(os.fsencode(Path(path).resolve().relative_to(page_dir.resolve()).as_posix()))  # any file name
    return f'<td><audio controls preload="metadata" src="{src}"></audio></td>'


def write_page(rows: list[DemoRow], page: Path, *, title: str, summary: str) -> Path:
    """A static HTML page: one row per input, players for the source and each conversion side by side.

    Audio is linked by relative path, so the page works from disk (``file://``) and from any web server that serves
    its folder.
    """
    emotions = list(dict.fromkeys(e for row in rows for e in row.converted))
    head = "".join(f"<th>{html.escape(e)}</th>" for e in emotions)
    lines = []
    for row in rows:
        shown = row.example.path.name if row.example.origin != "your file" else str(row.example.path)
        name = html.escape(shown)
        cells = "".join(_player(row.converted.get(e), page.parent) for e in emotions)
        notes = "<br>".join(html.escape(n) for n in row.notes) or ""
        lines.append(f"<tr><td>{name}</td><td>{html.escape(row.example.origin)}</td>"
                     f"<td>{'—' if row.duration_s is None else f'{row.duration_s:.1f} s'}</td>"
                     f"{_player(row.source, page.parent, '—')}{cells}<td>{notes}</td></tr>")
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 0.3em 0.5em; vertical-align: middle; text-align: left; }}
audio {{ width: 14em; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(summary)}</p>
<table>
<tr><th>input</th><th>where it comes from</th><th>duration</th><th>source</th>{head}<th>notes</th></tr>
{chr(10).join(lines)}
</table>
</body></html>
""", encoding="utf-8", errors="replace")  # a file name that is not UTF-8 is shown with a replacement mark
    return page


def _given_files(files: list[str], out_dir: Path) -> list[Example]:
    """The user's files as examples.

    Raises:
        ParameterError: a file does not exist, or lies in the demo's own folder (its outputs, sources or examples
            would be written over it).
    """
    from emocore.batch import expand_inputs
    from emocore.exceptions import ParameterError

    given = [Example(p, "your file") for p in expand_inputs(files)] if files else []
    missing = [str(e.path) for e in given if not e.path.is_file()]
    if missing:
        raise ParameterError(f"no such file: {', '.join(missing)}")
    inside = [str(e.path) for e in given if e.path.resolve().is_relative_to(out_dir.resolve())]
    if inside:
        raise ParameterError(f"{', '.join(inside)}: in the demo's own folder {out_dir}, which it rewrites; copy it "
                             "elsewhere first")
    return given


def main(argv: list[str] | None = None) -> int:
    from emocore.cli.common import import_tensorflow, positive_int

    parser = argparse.ArgumentParser(prog="python -m emocore.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="your own audio files (or folders) to convert as well")
    parser.add_argument("--model", default=pretrained.DEFAULT_PRETRAINED,
                        help="the pretrained model (default %(default)s; see emocore-convert --list-pretrained)")
    parser.add_argument("--build-dir", type=Path, default=None, help="default build/ in the checkout")
    parser.add_argument("--no-examples", action="store_true", help="convert only the files given")
    parser.add_argument("--jobs", type=positive_int, default=None, help="worker processes (default: every core)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    from emocore.exceptions import EmocoreError

    out_dir = (args.build_dir or paths.repo_root() / "build") / "demo"
    try:
        model_dir = pretrained.resolve(args.model)
        given = _given_files(args.files, out_dir)
        examples = [] if args.no_examples else espeak_examples(out_dir / "examples") + corpus_examples()
        known = {e.path.resolve() for e in examples}
        examples += [e for e in given if e.path.resolve() not in known]  # a corpus example given again: once
        if not examples:
            print("nothing to convert: give audio files (make demo FILES=...) or install espeak-ng", file=sys.stderr)
            return 1
        print(f"loading the pretrained model {args.model} ...", flush=True)
        import_tensorflow()  # its C++ start-up lines are not for a listener (emocore.cli.common sets the log level)
        from emocore.conversion import ConversionModel

        model = ConversionModel.load(model_dir)
        rows = convert_examples(model, examples, out_dir, jobs=args.jobs)
    except EmocoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    audio_s = sum(row.duration_s or 0.0 for row in rows)
    n_targets = len(targets(model))
    elapsed = time.perf_counter() - started
    summary = (f"{args.model}: {len(rows)} inputs ({audio_s:.0f} s of audio) converted to {n_targets} "
               f"emotion{'s' if n_targets > 1 else ''} in {elapsed:.0f} s on this machine, process start included.")
    page = write_page(rows, out_dir / "index.html", title=f"emocore demo: {model.describe(targets(model)[0][0])}"
                      if n_targets == 1 else f"emocore demo: {args.model}, from {model.record.emotions[0].emotion}",
                      summary=summary)
    failed = sum(1 for row in rows for p in row.converted.values() if p is None)
    print(f"\n{summary}" + (f" {failed} conversions failed (see the page's notes)." if failed else ""))
    for row in rows:
        for note in row.notes:
            print(f"  {row.example.path}: {note}")
    print(f"\nlisten: {page}\n(open it in a browser; the full evaluation is `make results`)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
