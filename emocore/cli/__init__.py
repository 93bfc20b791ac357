"""Command-line entry points. Each parses flags into the same dataclasses the notebooks use.

Every entry point behaves the same way on bad input: a flag out of range is an argparse error (exit status 2,
before anything is read or written); one of emocore's own errors, or a file the operating system refuses,
is one line naming the file and what to do (exit status 1). ``--debug`` shows the traceback instead.

Modules, one topic each:

- :mod:`emocore.cli.common`: what every command shares: the argparse types (``positive_int``,
  ``nonnegative_int``, ``positive_float``, ``fraction``), ``--debug``, :func:`~emocore.cli.common.guarded`
  (one-line errors) and the WORLD feature flags; importing it keeps TensorFlow's C++ start-up lines quiet.
- :mod:`emocore.cli.data`: ``emocore-download`` (:func:`download_main`) and ``emocore-extract``
  (:func:`extract_main`, also ``python -m emocore.cli``).
- :mod:`emocore.cli.train`: ``emocore-train`` (:func:`train_main`).
- :mod:`emocore.cli.convert`: ``emocore-convert`` (:func:`convert_main`) and ``emocore-export``
  (:func:`export_main`).
- :mod:`emocore.cli.evaluate`: ``emocore-evaluate`` (:func:`evaluate_main`).
- :mod:`emocore.cli.listen`: ``emocore-listen`` (:func:`listen_main`), the listening test served by Voilà.

(``emocore-bench`` is :func:`emocore.bench.main`.) TensorFlow is imported only inside the commands that need
it, so ``--help`` and flag errors answer without loading it.
"""

from __future__ import annotations

# common first (as isort orders it too): it sets TensorFlow's logging environment before the rest loads.
from emocore.cli.common import (
    _add_debug_flag,
    _describe_os_error,
    _feature_args,
    _feature_config,
    _flag_errors,
    _parse,
    fraction,
    guarded,
    nonnegative_int,
    positive_float,
    positive_int,
)
from emocore.cli.convert import _direction, _style_options, convert_main, export_main
from emocore.cli.data import download_main, extract_main
from emocore.cli.evaluate import evaluate_main
from emocore.cli.listen import listen_main
from emocore.cli.train import _directory_pairs, train_main

__all__ = [
    # the console scripts (pyproject.toml's [project.scripts])
    "download_main", "extract_main", "train_main", "convert_main", "export_main", "evaluate_main",
    "listen_main",
    # argparse types and error handling (emocore.bench uses them from emocore.cli.common)
    "positive_int", "nonnegative_int", "positive_float", "fraction", "guarded",
    # the commands' helpers, importable here as before the split
    "_parse", "_add_debug_flag", "_describe_os_error", "_feature_args", "_flag_errors", "_feature_config",
    "_directory_pairs", "_direction", "_style_options",
]
