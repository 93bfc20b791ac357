"""A batch of files to convert: which inputs, and where each output goes, decided before any conversion.

:func:`expand_inputs` turns files, folders and glob patterns into input files. :func:`plan_outputs` turns
the inputs and a destination (a folder, or one output file) into an :class:`OutputPlan`: one output path per
input, or the reason it is skipped. The rules protect the user's files:

- nothing is ever written over an input (the plan is refused, whatever ``overwrite`` says);
- an existing output is skipped with a message unless ``overwrite`` is given, so an interrupted batch
  re-run continues where it stopped;
- a destination that is a file, lies under a file, or cannot be written is refused before any work.

The files themselves are written by :func:`emocore.dsp.audio.save_wav`, through :func:`emocore.io.atomic_write`.
"""

from __future__ import annotations

import glob
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from emocore.dsp.audio import AUDIO_SUFFIXES, WRITABLE_SUFFIXES
from emocore.exceptions import OutputError, ParameterError

log = logging.getLogger(__name__)


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files from paths, folders (their audio files) and glob patterns, in order, without duplicates.

    A folder contributes its files with a suffix of :data:`emocore.dsp.audio.AUDIO_SUFFIXES` (not hidden, not
    recursive); other files there are named in a logged warning. A pattern that matches nothing and a path
    that does not exist are kept as they are, so that :func:`emocore.conversion.convert_files` reports them
    as failures instead of dropping them silently.

    Raises:
        ParameterError: a folder holds no audio file.
    """
    paths: list[Path] = []
    for item in inputs:
        text = str(item)
        if Path(text).is_dir():
            files = sorted(p for p in Path(text).iterdir() if p.is_file() and not p.name.startswith("."))
            found = [p for p in files if p.suffix.lower() in AUDIO_SUFFIXES]
            others = [p.name for p in files if p not in found]
            if not found:
                held = f"it holds {len(files)} other file(s), e.g. {', '.join(others[:3])}" if files else "it is empty"
                raise ParameterError(f"{text}: no audio files to convert ({held}); readable suffixes: "
                                     f"{', '.join(AUDIO_SUFFIXES)}")
            if others:
                log.warning("%s: ignoring %d file(s) that are not audio (%s)", text, len(others), ", ".join(others[:5]))
            paths.extend(found)
        elif glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            paths.extend(matches or [Path(text)])
        else:
            paths.append(Path(text))
    seen, unique = set(), []
    for path in paths:  # the same file under two spellings (./a/../a/x.wav, a symlink) is converted once
        key = str(path.resolve())
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique




@dataclass(frozen=True)
class OutputPlan:
    """What :func:`plan_outputs` decided.

    Attributes:
        jobs: ``(input, output)`` of each file to convert, in input order.
        skipped: ``(input, output, reason)`` of each input whose output exists and is kept.
        single_file: the destination names one output file rather than a folder.
    """

    jobs: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, Path, str]] = field(default_factory=list)
    single_file: bool = False


def names_a_file(destination: str | Path) -> bool:
    """True when ``destination`` names one output file (an audio suffix we write, e.g. ``out.wav``, ``out.flac``)
    rather than a folder. An existing folder, and a string ending in a path separator (``out.wav/``), name a
    folder."""
    if isinstance(destination, str) and destination.endswith(("/", os.sep)):
        return False
    destination = Path(destination)
    return destination.suffix.lower() in WRITABLE_SUFFIXES and not destination.is_dir()


def _identities(path: Path) -> set:
    """What makes two paths the same file: the resolved path and, for an existing file, (device, inode)."""
    ids = {str(path.resolve())}
    try:
        stat = path.stat()
        ids.add((stat.st_dev, stat.st_ino))
    except OSError:
        pass
    return ids


def check_writable_folder(folder: str | Path) -> Path:
    """Prove that files can be written in ``folder``, creating nothing: the folder itself when it exists, else
    its nearest existing parent (where it would be created). Returns ``folder``.

    Raises:
        OutputError: ``folder`` or one of its parents is a file, or nothing can be written there (read-only
            file system, permissions).
    """
    folder = Path(folder)
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            what = "is a file" if parent == folder else f"lies under {parent}, which is a file"
            raise OutputError(folder, f"{what}, not a folder; give a folder (or one .wav file for one input)")
    existing = next(p for p in (folder, *folder.parents, Path.cwd()) if p.is_dir())
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".emocore-write-test-"):
            pass
    except OSError as error:
        raise OutputError(folder, f"cannot write there ({error.strerror or error}); choose another "
                                  "output folder") from error
    return folder


def plan_outputs(inputs: list[str | Path], destination: str | Path, *, overwrite: bool = False,
                 suffix: str = ".wav") -> OutputPlan:
    """Name one output per input under ``destination`` and check it can be written, before any conversion.

    A folder destination gets ``<stem><suffix>`` per input; two inputs with the same stem get ``<stem>_1``,
    ``<stem>_2``, ... A destination with an audio suffix (:func:`names_a_file`) is that one output file and
    takes exactly one input. Nothing is created: the folder is made when the first output is written.

    Args:
        inputs: the input files, e.g. from :func:`expand_inputs`.
        destination: an output folder, or one output file (a string ending in ``/`` is always a folder).
        overwrite: replace existing outputs (never an input).
        suffix: the outputs' format in a folder destination (one of :data:`emocore.dsp.audio.WRITABLE_SUFFIXES`).

    Returns:
        OutputPlan: the files to convert and those skipped because their output exists.

    Raises:
        OutputError: no inputs, several inputs for one output file, an output that would replace an input,
            an output path that is a folder, or a destination that cannot be written.
    """
    inputs = [Path(p) for p in inputs]
    single = names_a_file(destination)
    as_folder = not single and (not Path(destination).suffix or str(destination).endswith(("/", os.sep)))
    destination = Path(destination)
    if not inputs:
        raise OutputError(destination, "no input files to convert")
    suffix_of_file = destination.suffix.lower()
    if suffix_of_file in AUDIO_SUFFIXES and not single and not as_folder and not destination.is_dir():
        raise OutputError(destination, f"cannot write {suffix_of_file} files; name a "
                                       f"{', '.join(WRITABLE_SUFFIXES)} file or a folder")
    if single:
        if len(inputs) != 1:
            raise OutputError(destination, f"names one output file, but {len(inputs)} inputs were given; "
                                           "give an output folder instead")
        check_writable_folder(destination.parent)
        outputs = [destination]
    else:
        check_writable_folder(destination)
        used: set[str] = set()
        outputs = []
        for path in inputs:
            stem, n = path.stem, 0
            name = stem
            while name.lower() in used:
                n += 1
                name = f"{stem}_{n}"
            used.add(name.lower())
            outputs.append(destination / f"{name}{suffix}")
    plan = OutputPlan(single_file=single)
    owner = {identity: path for path in inputs for identity in _identities(path)}  # one pass: linear in inputs
    for path, out in zip(inputs, outputs):
        clash = next((owner[i] for i in _identities(out) if i in owner), None)
        if clash is not None:
            raise OutputError(out, f"would replace the input {clash}; choose another output "
                                   f"{'file' if single else 'folder'} (inputs are never overwritten)")
        if out.is_dir():
            raise OutputError(out, "the output path is an existing folder; move it or choose another output")
        if out.exists() and not overwrite:
            plan.skipped.append((path, out, "exists (--overwrite replaces it)"))
        else:
            plan.jobs.append((path, out))
    return plan
