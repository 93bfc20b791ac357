"""What every command shares: the argparse types, the ``--debug`` flag, the one-line error handling
(:func:`guarded`) and the WORLD feature flags.

Every entry point behaves the same way on bad input: a flag out of range is an argparse error (exit status 2,
before anything is read or written); one of emocore's own errors, or a file the operating system refuses,
is one line naming the file and what to do (exit status 1). ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import sys

# TensorFlow is imported lazily by the commands that need it; these keep its C++ start-up lines (oneDNN
# notices, absl's pre-initialization warning, CPU feature advice) off every command's terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")

from emocore.config import F0_METHODS, FeatureConfig  # noqa: E402

#: TensorFlow's native start-up lines, written by C++ straight to file descriptor 2: some ignore
#: TF_CPP_MIN_LOG_LEVEL (the oneDNN notice on CPUs where oneDNN is on by default, e.g. with AVX-512)
TENSORFLOW_NOISE = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on",
                    "cpu_feature_guard", "This TensorFlow binary is optimized", "To enable the following instructions")


@contextlib.contextmanager
def filtered_native_stderr(noise: tuple[str, ...] = TENSORFLOW_NOISE):
    """Within the block, file descriptor 2 (where C and C++ code write) goes to a temporary file; on leaving, every
    line of it that contains none of ``noise`` is written to ``sys.stderr`` (a real error stays visible)."""
    import tempfile

    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if line.strip() and not any(text in line for text in noise):
                    print(line, file=sys.stderr)


def import_tensorflow() -> None:
    """Import TensorFlow with its native start-up notices (:data:`TENSORFLOW_NOISE`) kept off the terminal
    (:func:`filtered_native_stderr`). The commands call it just before their first import that loads TensorFlow;
    nothing happens when it is already imported."""
    if "tensorflow" in sys.modules:
        return
    with filtered_native_stderr():
        import tensorflow  # noqa: F401

# ---------------------------------------------------------------------- argument types (argparse errors, exit 2)


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    value = _parse(text, int, "an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    value = _parse(text, int, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (``nan`` and ``inf`` are refused)."""
    value = _parse(text, float, "a number")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def fraction(text: str) -> float:
    """An argparse type: a number in ``[0, 1)`` (a share of the data held out)."""
    value = _parse(text, float, "a number")
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def assignment(text: str) -> tuple[str, object]:
    """An argparse type: ``NAME=VALUE`` with a JSON value (``true``, ``16``, ``0.5``; anything else is a string)."""
    import json

    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"must be NAME=VALUE, got {text!r}")
    try:
        return name.strip(), json.loads(value)
    except ValueError:
        return name.strip(), value


def _parse(text: str, kind: type, what: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


# ---------------------------------------------------------------------- errors (one line, exit 1)


def _add_debug_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error")


def _describe_os_error(error: OSError) -> str:
    """``'<file>: <what the OS said>'`` for an OSError, naming both files of a failed rename."""
    what = error.strerror or str(error)
    files = [str(f) for f in (error.filename, getattr(error, "filename2", None)) if f]
    return f"{' -> '.join(files)}: {what}" if files else what


def guarded(prog: str):
    """Decorate an entry point ``main(argv) -> int`` so that emocore's errors and OS errors end in one line.

    :class:`~emocore.exceptions.EmocoreError` and :class:`OSError` print ``<prog>: error: <message>`` on
    stderr and return 1; Ctrl-C prints ``<prog>: interrupted`` and returns 130. With ``--debug`` among the
    arguments the exception propagates (traceback). Errors inside a batch are handled per file by the
    commands themselves; this catches what stops the whole command.
    """
    def decorate(main):
        @functools.wraps(main)
        def wrapper(argv: list[str] | None = None) -> int:
            from emocore.exceptions import EmocoreError

            args = sys.argv[1:] if argv is None else list(argv)
            if "--debug" in args:
                return main(argv)
            try:
                return main(argv)
            except EmocoreError as error:
                print(f"{prog}: error: {error}", file=sys.stderr)
            except OSError as error:
                print(f"{prog}: error: {_describe_os_error(error)}", file=sys.stderr)
            except KeyboardInterrupt:
                print(f"{prog}: interrupted", file=sys.stderr)
                return 130
            return 1
        return wrapper
    return decorate


def _feature_args(parser: argparse.ArgumentParser) -> None:
    defaults = FeatureConfig()
    group = parser.add_argument_group("features")
    group.add_argument("--sr", type=positive_int, default=defaults.sr, help="sample rate in Hz (default %(default)s)")
    group.add_argument("--frame-period-ms", type=positive_float, default=defaults.frame_period_ms)
    group.add_argument("--f0-method", choices=F0_METHODS, default=defaults.f0_method, help="F0 tracker (default %(default)s)")
    group.add_argument("--mcep-dim", type=positive_int, default=defaults.mcep_dim)
    group.add_argument("--mcep-method", choices=("world", "sptk"), default=defaults.mcep_method)


@contextlib.contextmanager
def _flag_errors(parser: argparse.ArgumentParser):
    """Turn a :class:`~emocore.exceptions.ParameterError` raised while the flags become objects (a config or
    domain refusing a value) into an argparse error: exit status 2, before anything is read or written."""
    from emocore.exceptions import ParameterError

    try:
        yield
    except ParameterError as error:
        parser.error(str(error))


def _feature_config(args: argparse.Namespace) -> FeatureConfig:
    return FeatureConfig(sr=args.sr, frame_period_ms=args.frame_period_ms, f0_method=args.f0_method,
                         mcep_dim=args.mcep_dim, mcep_method=args.mcep_method)
