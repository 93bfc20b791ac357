"""Command-line entry points. Each parses flags into the same dataclasses the notebooks use.

Every entry point behaves the same way on bad input: a flag out of range is an argparse error (exit status 2,
before anything is read or written); one of emocore's own errors, or a file the operating system refuses,
is one line naming the file and what to do (exit status 1). ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import math
import os
import sys
from pathlib import Path

# TensorFlow is imported lazily by the commands that need it; these keep its C++ start-up lines (oneDNN
# notices, absl's pre-initialization warning, CPU feature advice) off every command's terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")

from emocore import paths  # noqa: E402
from emocore.config import FeatureConfig  # noqa: E402

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
    group.add_argument("--f0-method", choices=("harvest", "dio"), default=defaults.f0_method)
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


@guarded("emocore-download")
def download_main(argv: list[str] | None = None) -> int:
    """``emocore-download tess ravdess``: fetch corpora from their official hosts into the data folder."""
    from emocore.data.corpora import CORPORA
    from emocore.data.download import download_corpus

    parser = argparse.ArgumentParser(
        prog="emocore-download", description=(
            "Download emotional speech corpora from their official hosts and lay them out as "
            "<corpus>/<speaker>/<emotion>/<file> with a manifest.csv. Both corpora are licensed for "
            "NON-COMMERCIAL use only (TESS: CC BY-NC-ND 4.0, RAVDESS: CC BY-NC-SA 4.0)."))
    parser.add_argument("corpora", nargs="+", choices=sorted(CORPORA), help="which corpora")
    parser.add_argument("--root", type=Path, default=None,
                        help=f"destination (default: ${paths.DATA_ENV_VAR}, else data/raw)")
    _add_debug_flag(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in args.corpora:
        spec = CORPORA[name]
        print(f"{spec.title}: {spec.license} (non-commercial). Cite: {spec.citation}")
        print(f"downloaded to {download_corpus(name, args.root)}")
    return 0


@guarded("emocore-extract")
def extract_main(argv: list[str] | None = None) -> int:
    """``emocore-extract``: WORLD features, splits and per-domain statistics for conversion domains."""
    from emocore.data.datasets import parse_domain
    from emocore.data.extraction import config_key, prepare_domains

    parser = argparse.ArgumentParser(
        prog="emocore-extract",
        description="Extract and cache WORLD features for domains; fit log-F0/power/MCEP statistics on "
                    "their training split (held-out words are chosen once for all domains).")
    parser.add_argument("domains", nargs="+",
                        help="'corpus:speaker:emotion' (e.g. tess:OAF:neutral), 'dir:<folder>' or a folder")
    parser.add_argument("--out", type=Path, default=None, help="processed-data folder (default data/processed)")
    parser.add_argument("--jobs", type=positive_int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--val-fraction", type=fraction, default=0.1)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.add_argument("--max-utterances", type=positive_int, default=None, help="per domain and split (smoke runs)")
    _feature_args(parser)
    _add_debug_flag(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    with _flag_errors(parser):
        cfg = _feature_config(args)
        domains = [parse_domain(d) for d in args.domains]
    out = args.out or paths.processed_dir()
    prepared = prepare_domains(domains, cfg, out, val_fraction=args.val_fraction, seed=args.seed,
                               max_utterances=args.max_utterances, n_jobs=args.jobs)
    print(f"\n{'domain':<28}{'train':>6}{'val':>5}{'failed':>7}{'F0 (Hz)':>9}{'log-F0 std':>11}{'log-power':>10}")
    n_failed = 0
    for name, data in prepared.items():
        n_failed += len(data.failures)
        print(f"{name:<28}{len(data.train):>6}{len(data.validation):>5}{len(data.failures):>7}"
              f"{math.exp(data.stats.log_f0.mean):>9.1f}{data.stats.log_f0.std:>11.3f}{data.stats.log_power.mean:>10.2f}")
    print(f"\nstatistics and splits: {out / config_key(cfg)}")
    return 1 if n_failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(extract_main())


def _directory_pairs(folder: Path, cfg: FeatureConfig, processed_dir: Path, n_jobs: int | None):
    """``(Utterance, WorldFeatures)`` pairs of every usable audio file in a flat folder (bad files skipped)."""
    from emocore.data.datasets import list_directory
    from emocore.data.extraction import extract_many

    utts = list_directory(folder)
    feats, _failures = extract_many(utts, cfg, processed_dir, n_jobs=n_jobs, desc=folder.name)
    return [(u, feats[str(u.path)]) for u in utts if str(u.path) in feats]


@guarded("emocore-train")
def train_main(argv: list[str] | None = None) -> int:
    """``emocore-train``: train a model between emotions and write a model folder for ``emocore-convert``."""
    from dataclasses import replace

    from emocore.config import ModelConfig, TrainConfig
    from emocore.data.datasets import Domain, parse_domain
    from emocore.exceptions import TrainingDivergedError

    parser = argparse.ArgumentParser(
        prog="emocore-train",
        description="Train EmoCycleGAN (CycleGAN-VC on MCEPs, log-Gaussian F0 and power, a frozen emotion "
                    "classifier), or another registered model type (--model), from non-parallel recordings of "
                    "emotions. Give the emotions as --domains (corpus:speaker:emotion or folders, in order), or "
                    "each of two as --domain-a/--domain-b or as a folder (--train_A_dir/--train_B_dir).")
    data = parser.add_argument_group("data")
    data.add_argument("--domains", nargs="+", default=None, metavar="DOMAIN",
                      help="the model's emotions in order, e.g. tess:OAF:neutral tess:OAF:angry (instead of "
                           "--domain-a/--domain-b)")
    data.add_argument("--domain-a", help="domain A, e.g. tess:OAF:neutral, dir:<folder> or a folder")
    data.add_argument("--domain-b", help="domain B, e.g. tess:OAF:angry")
    data.add_argument("--train_A_dir", type=Path, help="flat folder of domain-A audio (instead of --domain-a)")
    data.add_argument("--train_B_dir", type=Path, help="flat folder of domain-B audio (instead of --domain-b)")
    data.add_argument("--validation_A_dir", type=Path,
                      help="domain-A audio to convert during validation (default: the held-out texts of A)")
    data.add_argument("--validation_B_dir", type=Path, help="likewise for B")
    data.add_argument("--contrast-domains", nargs="+", default=[], metavar="DOMAIN",
                      help="further emotions of the speaker the emotion classifier also learns (e.g. "
                           "tess:OAF:angry tess:OAF:sad for neutral -> happy), so conversions are asked to sound "
                           "like B rather than like any other emotion")
    data.add_argument("--processed-dir", type=Path, default=None, help="feature cache (default data/processed)")
    data.add_argument("--val-fraction", type=fraction, default=0.1,
                      help="share of texts held out (0 when both validation folders are given)")
    data.add_argument("--split-seed", type=nonnegative_int, default=0,
                      help="which texts are held out (as emocore-extract --seed; independent of --random_seed)")
    data.add_argument("--max-utterances", type=positive_int, default=None, help="per domain and split (smoke runs)")
    data.add_argument("--jobs", type=positive_int, default=None, help="feature-extraction processes (default: all cores)")
    out = parser.add_argument_group("outputs")
    out.add_argument("--model_dir", type=Path, default=None,
                     help="the model folder (default data/models/<model_name or A_to_B>); --resume continues it")
    out.add_argument("--model_name", default=None,
                     help="the model's name, recorded in config.json (the original flag named a TF checkpoint "
                          "file inside --model_dir; here everything lives in --model_dir)")
    out.add_argument("--output_dir", type=Path, default=None, help="validation conversions are written here")
    out.add_argument("--tensorboard_log_dir", type=Path, default=None, help="TensorBoard event folder")
    run = parser.add_argument_group("training")
    run.add_argument("--model", default="cyclegan",
                     help="a model type of the registry: cyclegan (EmoCycleGAN, default) or munit (the "
                          "style-transfer autoencoder EmoMUNIT)")
    run.add_argument("--random_seed", type=nonnegative_int, default=None, help="seed of weights and data sampling")
    run.add_argument("--iterations", type=positive_int, default=None)
    run.add_argument("--batch-size", type=positive_int, default=None)
    run.add_argument("--width", type=positive_float, default=None, help="channel multiplier (1.0 = published sizes)")
    run.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --model_dir")
    run.add_argument("--init-from", type=Path, default=None, metavar="FOLDER",
                     help="fine-tune: start a new run from this run's (or checkpoint's) networks, with a fresh "
                          "emotion classifier, optimizers and learning-rate schedule")
    run.add_argument("--time-budget", type=positive_float, default=None, metavar="MINUTES",
                     help="stop once this much training time is spent (the model is saved as at the end; the "
                          "learning-rate schedule stays that of --iterations): equal-wall-clock comparisons")
    run.add_argument("--threads", type=positive_int, default=None,
                     help="CPU threads for TensorFlow's ops (default: all cores)")
    run.add_argument("--smoke", action="store_true", help="tiny CI sizes (the configs' smoke() variants)")
    run.add_argument("--eager", action="store_true", help="run the training step eagerly (debugging)")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    _feature_args(parser)
    _add_debug_flag(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

    sides = []
    with _flag_errors(parser):
        if args.domains is not None:
            given = [f for f in ("domain_a", "domain_b", "train_A_dir", "train_B_dir") if getattr(args, f) is not None]
            if given:
                parser.error(f"give the emotions by --domains or by --domain-a/--domain-b, not both "
                             f"(--{given[0].replace('_', '-') if given[0].startswith('domain') else given[0]})")
            sides = [parse_domain(spec) for spec in args.domains]
        for name, spec, folder in (("A", args.domain_a, args.train_A_dir), ("B", args.domain_b, args.train_B_dir)):
            if args.domains is not None:
                break
            if (spec is None) == (folder is None):
                parser.error(f"give domain {name} by exactly one of --domain-{name.lower()} and --train_{name}_dir")
            sides.append(parse_domain(spec) if spec is not None else Domain(directory=folder))
        contrast = [parse_domain(spec) for spec in args.contrast_domains]
        feature_cfg = _feature_config(args)
        model_cfg, train_cfg = ModelConfig(mcep_dim=feature_cfg.mcep_dim), TrainConfig()
        if args.smoke:
            feature_cfg, model_cfg, train_cfg = feature_cfg.smoke(), model_cfg.smoke(), train_cfg.smoke()
        if args.width is not None:
            model_cfg = replace(model_cfg, width=args.width)
        model_cfg = replace(model_cfg, n_emotions=len(sides) + len(contrast))
        overrides = {"iterations": args.iterations, "batch_size": args.batch_size, "seed": args.random_seed}
        train_cfg = replace(train_cfg, **{k: v for k, v in overrides.items() if v is not None})
        from emocore import models  # loads TensorFlow

        spec = models.get(args.model)
        if len(sides) != spec.n_emotions:
            parser.error(f"--model {args.model} converts between {spec.n_emotions} emotions; {len(sides)} given")
        options = spec.parse_options(None)
        if args.smoke and hasattr(options, "smoke"):
            options = options.smoke()

    from emocore.data.extraction import prepare_domains
    from emocore.training import limit_cpu_threads, train

    if args.threads is not None:
        limit_cpu_threads(args.threads)
    processed = args.processed_dir or paths.processed_dir()
    both_val_dirs = args.validation_A_dir is not None and args.validation_B_dir is not None
    try:
        prepared = prepare_domains(sides + contrast, feature_cfg, processed, val_fraction=0.0 if both_val_dirs else args.val_fraction,
                                   seed=args.split_seed, max_utterances=args.max_utterances, n_jobs=args.jobs,
                                   progress=not args.quiet)
        emotions = [prepared[d.name] for d in sides]
        for data, folder in zip(emotions, (args.validation_A_dir, args.validation_B_dir)):
            if folder is not None:
                data.validation = _directory_pairs(folder, feature_cfg, processed, args.jobs)
        model_dir = args.model_dir or paths.models_dir() / (args.model_name or "_to_".join(d.name for d in emotions))
        history = train(emotions, feature_cfg, model_cfg, train_cfg, model_dir, resume=args.resume,
                        tensorboard_log_dir=args.tensorboard_log_dir, output_dir=args.output_dir,
                        progress=not args.quiet, run_eagerly=args.eager, model_name=args.model_name,
                        model_type=args.model, options=options,
                        max_wall_time_s=None if args.time_budget is None else 60.0 * args.time_budget,
                        contrast_domains=[prepared[d.name] for d in contrast], init_from=args.init_from)
    except TrainingDivergedError as error:
        print(f"emocore-train: {error}", file=sys.stderr)
        return 1
    last = history[-1] if history else {}
    print(f"trained {' <-> '.join(d.name for d in emotions)} for {last.get('iteration', 0)} iterations "
          f"(generator loss {last.get('gen_total', float('nan')):.4f}); model: {model_dir}")
    return 0


@guarded("emocore-convert")
def convert_main(argv: list[str] | None = None) -> int:
    """``emocore-convert``: convert audio files with a trained model; exit status 1 if any file failed."""
    from emocore.exceptions import AudioError, EmocoreError

    parser = argparse.ArgumentParser(
        prog="emocore-convert",
        description="Convert the emotion of audio files with a model trained by emocore-train. Every output "
                    "is named and the destination checked before anything is converted; inputs are never "
                    "overwritten, and existing outputs are kept (skipped) unless --overwrite. Files that "
                    "cannot be read are reported and skipped; the exit status is 1 if any failed.")
    parser.add_argument("inputs", nargs="*", help="audio files, folders or glob patterns (quote the patterns)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model_dir", type=Path, default=None, help="model folder written by emocore-train")
    which.add_argument("--pretrained", metavar="NAME", default=None,
                       help="a model shipped in data/pretrained (see --list-pretrained)")
    which.add_argument("--list-pretrained", action="store_true", help="list the pretrained models and exit")
    parser.add_argument("--model_name", default=None,
                        help="expected model name (checked against the one recorded at training; a mismatch warns)")
    parser.add_argument("--data_dir", type=Path, action="append", default=[],
                        help="a folder whose audio files are converted (repeatable)")
    parser.add_argument("--source-emotion", default=None, metavar="EMOTION",
                        help="the emotion of the inputs: a label (neutral) or a domain name (tess-OAF-neutral) of the "
                             "model (default: the model's first emotion, or the one --target-emotion leaves)")
    parser.add_argument("--target-emotion", default=None, metavar="EMOTION",
                        help="the emotion to convert to (default: the model's other emotion)")
    parser.add_argument("--conversion_direction", type=str.upper, choices=("A2B", "B2A"), default=None,
                        help="the original system's flag: A2B (default) converts the model's first emotion to its "
                             "second, B2A back")
    parser.add_argument("--output_dir", "-o", default="converted_voices",  # a string: keeps a trailing "/"
                        help="where <stem>.wav files are written (default %(default)s); a path ending in .wav, "
                             ".flac, .ogg or .aiff names the output of a single input file")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace outputs that already exist (default: keep them and skip their inputs, so "
                             "a re-run continues an interrupted batch); inputs are never replaced")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="take the generators from this checkpoint folder instead (while training runs)")
    parser.add_argument("--no-f0", action="store_true", help="keep the source F0 (ablation)")
    parser.add_argument("--no-power", action="store_true", help="keep the source power envelope (ablation)")
    parser.add_argument("--no-mcep", action="store_true", help="keep the source MCEPs (ablation)")
    styles = parser.add_argument_group("EmoMUNIT style (MUNIT models only)")
    styles.add_argument("--style", choices=("mean", "reference", "random"), default=None,
                        help="target style: the target emotion's mean style code (default), a reference "
                             "recording's (--reference), or a random draw (--seed)")
    styles.add_argument("--reference", type=Path, default=None,
                        help="a recording of the target emotion: convert 'like this' (implies --style reference)")
    styles.add_argument("--seed", type=nonnegative_int, default=None, help="seed of --style random (default 0)")
    styles.add_argument("--intensity", type=float, default=None,
                        help="emotion intensity in [0, 1]: 0 keeps the source style, 1 (default) the target's")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_debug_flag(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    from emocore import pretrained
    from emocore.batch import expand_inputs, plan_outputs

    if args.list_pretrained:
        models = pretrained.list_pretrained()
        for entry in models:
            print(entry.describe())
        if not models:
            print(f"no pretrained models in {pretrained.pretrained_dir()}")
        return 0
    if args.model_dir is None and args.pretrained is None:
        parser.error("give --model_dir or --pretrained (names: --list-pretrained)")
    if not args.inputs and not args.data_dir:
        parser.error("nothing to convert: give files, folders or globs, or --data_dir")
    style = _style_options(parser, args)
    # Everything that can be refused without the model is refused before TensorFlow loads (seconds):
    # the model name, the inputs and the destination.
    if args.pretrained is not None:
        args.model_dir = pretrained.resolve(args.pretrained)
    direction = _direction(parser, args)
    files = expand_inputs([*args.inputs, *args.data_dir])
    if not any(path.is_file() for path in files):  # else the missing ones are reported among the batch's failures
        raise AudioError(files[0], "no such file" + (f" (nor any of the other {len(files) - 1} inputs)"
                                                     if len(files) > 1 else ""))
    if style.get("reference") is not None and not Path(style["reference"]).is_file():
        raise AudioError(style["reference"], "no such file (the --reference recording)")
    if not plan_outputs(files, args.output_dir, overwrite=args.overwrite).jobs:
        print(f"nothing to convert: the outputs of all {len(files)} inputs exist in {args.output_dir} "
              "(--overwrite replaces them)")
        return 0
    from emocore.conversion import ConversionModel, convert_files  # loads TensorFlow

    model = ConversionModel.load(args.model_dir, checkpoint=args.checkpoint)
    trained_name = model.record.model_name
    if args.model_name is not None and trained_name is not None and args.model_name != trained_name:
        print(f"emocore-convert: note: --model_name {args.model_name!r} differs from the name recorded at "
              f"training ({trained_name!r}); converting with the model in {args.model_dir}", file=sys.stderr)
    try:
        model.converter.check_options(style)
    except EmocoreError:
        raise EmocoreError(f"--style/--reference/--seed/--intensity apply to MUNIT models; {args.model_dir} "
                           f"holds a {model.model_type!r} model") from None
    source, target = model.emotion_pair(direction)
    report = convert_files(model, files, direction, args.output_dir, overwrite=args.overwrite,
                           f0=not args.no_f0, power=not args.no_power, mcep=not args.no_mcep,
                           progress=not args.quiet, **style)
    for path, out, reason in report.skipped:
        print(f"  skipped: {path}: its output {out} {reason}", file=sys.stderr)
    kept = f"; kept {len(report.skipped)} existing output(s)" if report.skipped else ""
    print(f"{source.name} -> {target.name}: converted {len(report.converted)} of {len(files)} files "
          f"into {args.output_dir}{kept}")
    for path, note in report.unfamiliar:
        print(f"  note: {path} is {note}; converted anyway, expect lower quality", file=sys.stderr)
    for path, note in report.notes:
        print(f"  note: {path}: {note}", file=sys.stderr)
    for path, reason in report.failed:
        print(f"  failed: {path}: {reason}", file=sys.stderr)
    if report.stopped:
        print(f"emocore-convert: stopped: {report.stopped}", file=sys.stderr)
        for path in report.not_attempted:
            print(f"  not tried: {path}", file=sys.stderr)
    return 0 if report.ok else 1


@guarded("emocore-export")
def export_main(argv: list[str] | None = None) -> int:
    """``emocore-export``: write a trained model folder as a small pretrained model (float16 conversion networks)."""
    parser = argparse.ArgumentParser(
        prog="emocore-export",
        description="Copy what conversion needs from a trained model folder into data/pretrained/<name>/, "
                    "with the conversion networks' weights as float16 (discriminators, classifier and "
                    "checkpoints stay behind). emocore-convert --pretrained <name> then uses it.")
    parser.add_argument("model_dir", type=Path, help="model folder written by emocore-train")
    parser.add_argument("name", help="pretrained model name, e.g. tess-oaf-neutral-angry")
    parser.add_argument("--root", type=Path, default=None, help="default data/pretrained ($EMOCORE_PRETRAINED_DIR)")
    parser.add_argument("--trained-with", default=None, help="the training command, recorded in config.json")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model of that name")
    _add_debug_flag(parser)
    args = parser.parse_args(argv)
    from emocore import pretrained

    out = pretrained.export_pretrained(args.model_dir, args.name, args.root, overwrite=args.overwrite,
                                       trained_with=args.trained_with)
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(f"{args.model_dir} -> {out} ({size:.1f} MB)")
    return 0


def _direction(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The conversion's direction from ``emocore-convert``'s flags: ``(source, target)`` or ``"A2B"``/``"B2A"``.

    The emotion names are checked against the model folder's run record (JSON only: before TensorFlow loads).
    """
    from emocore.exceptions import ParameterError
    from emocore.record import CONFIG_NAME, read_record

    if args.source_emotion is None and args.target_emotion is None:
        return args.conversion_direction or "A2B"
    if args.conversion_direction is not None:
        parser.error("give --conversion_direction or --source-emotion/--target-emotion, not both")
    record = read_record(Path(args.model_dir) / CONFIG_NAME)
    try:
        source = None if args.source_emotion is None else record.emotion_index(args.source_emotion)
        target = None if args.target_emotion is None else record.emotion_index(args.target_emotion)
    except ParameterError as error:
        parser.error(str(error))
    others = lambda i: [j for j in range(len(record.emotions)) if j != i]  # noqa: E731
    if source is None:
        source = others(target)[0] if len(record.emotions) == 2 else parser.error(
            "--source-emotion is needed: this model has more than two emotions")
    if target is None:
        target = others(source)[0] if len(record.emotions) == 2 else parser.error(
            "--target-emotion is needed: this model has more than two emotions")
    if source == target:
        parser.error(f"--source-emotion and --target-emotion name the same emotion ({record.emotions[source].name})")
    return (source, target)


def _style_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict:
    """The MUNIT style keyword arguments of ``emocore-convert``'s flags (empty when none was given)."""
    style = args.style
    if args.reference is not None:
        if style not in (None, "reference"):
            parser.error(f"--reference goes with --style reference, not --style {style}")
        style = "reference"
    if style == "reference" and args.reference is None:
        parser.error("--style reference needs --reference <target-emotion recording>")
    if args.seed is not None and style != "random":
        parser.error("--seed goes with --style random")
    if args.intensity is not None and not 0.0 <= args.intensity <= 1.0:
        parser.error(f"--intensity must be in [0, 1], got {args.intensity}")
    options = {"style": style, "reference": args.reference, "seed": args.seed, "intensity": args.intensity}
    return {k: v for k, v in options.items() if v is not None}


@guarded("emocore-evaluate")
def evaluate_main(argv: list[str] | None = None) -> int:
    """``emocore-evaluate``: score conversions (a folder with a manifest) and reference systems; CSV + JSON summaries.

    Exit status: 0 when every file was scored, 1 when some could not be or on a missing manifest, 2 on bad arguments.
    """
    from emocore import evaluation as ev
    from emocore.exceptions import ParameterError

    parser = argparse.ArgumentParser(
        prog="emocore-evaluate",
        description="Objective evaluation of emotional voice conversion: emotion accuracy by an eGeMAPS judge trained "
                    "on real speech (reported with its held-out ceiling), speaker similarity (resemblyzer), DNSMOS, "
                    "and MCD / F0 RMSE / log-F0 r against the real target recording of the same text. Writes "
                    "<out>/evaluation.csv, summary.csv and summary.json, and prints the summary.")
    parser.add_argument("folder", nargs="?", type=Path,
                        help=f"folder of conversions with a {ev.MANIFEST_NAME} (columns: {', '.join(ev.MANIFEST_COLUMNS)})")
    parser.add_argument("--manifest", default=ev.MANIFEST_NAME, help="manifest file name inside the folder")
    parser.add_argument("--reference", action="append", default=[], metavar="CORPUS:SPEAKER:SOURCE:TARGET[,TARGET]",
                        help="add the 'source' and 'target' reference rows for the held-out words of this pair "
                             "(repeatable), e.g. tess:OAF:neutral:angry,happy,sad")
    parser.add_argument("--with-prosody", action="store_true",
                        help="with --reference: also convert the held-out words by the log-Gaussian F0 ('f0-only') "
                             "and F0 + power ('f0+power') transforms, written under <out>/prosody/")
    parser.add_argument("--jobs", type=positive_int, default=None,
                        help="feature-extraction processes for --with-prosody (default: all cores)")
    parser.add_argument("--model", action="append", default=[], type=Path, metavar="MODEL_DIR[/checkpoints/step-N]",
                        help="a trained model folder (or one of its checkpoints): convert its held-out words and "
                             "score them (repeatable); files go under <out>/<system>/")
    parser.add_argument("--out", type=Path, default=None,
                        help="where the reports go (default: the folder, else data/results/evaluation)")
    judge = parser.add_argument_group("emotion judge")
    judge.add_argument("--judge", type=Path, default=None,
                       help="a saved judge; trained on --corpus and saved there when the file does not exist "
                            "(default data/models/judges/<corpus>-<emotions>-val<f>-seed<s>.joblib)")
    judge.add_argument("--corpus", default="tess", help="corpus the judge is trained on (default %(default)s)")
    judge.add_argument("--emotions", default=",".join(ev.DEFAULT_EMOTIONS), help="the judge's classes (default %(default)s)")
    speaker = parser.add_argument_group("speaker verifier")
    speaker.add_argument("--verifier", type=Path, default=None,
                         help="a saved verifier; built and saved there when the file does not exist "
                              "(default data/models/verifiers/<corpora>-...joblib)")
    speaker.add_argument("--verifier-corpora", default="tess,ravdess", help="speakers to enroll (default %(default)s)")
    speaker.add_argument("--max-per-speaker", type=positive_int, default=30, help="enrollment recordings per speaker")
    parser.add_argument("--val-fraction", type=fraction, default=0.1, help="share of words held out (as emocore-extract)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="which words are held out (as emocore-extract --seed)")
    parser.add_argument("--no-dnsmos", action="store_true", help="skip DNSMOS (about a second per file)")
    parser.add_argument("--no-reference", action="store_true", help="skip the metrics against the real target")
    parser.add_argument("--cache-dir", type=Path, default=None, help="feature cache (default data/processed)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    _feature_args(parser)
    _add_debug_flag(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    if args.folder is None and not args.reference and not args.model:
        parser.error("nothing to evaluate: give a folder with a manifest, --reference and/or --model")
    if args.with_prosody and not args.reference:
        parser.error("--with-prosody needs --reference")
    with _flag_errors(parser):
        feature_cfg = _feature_config(args)
    emotions = [e for e in args.emotions.split(",") if e]
    corpora = [c for c in args.verifier_corpora.split(",") if c]
    out = args.out or args.folder or paths.results_dir() / "evaluation"
    cache = args.cache_dir or paths.processed_dir()
    progress = not args.quiet
    split = dict(val_fraction=args.val_fraction, seed=args.seed)
    items = ev.read_manifest(args.folder, args.manifest) if args.folder is not None else []
    for spec in args.reference:
        for corpus, speaker, source, target in ev.parse_reference_spec(spec):
            refs = ev.reference_items(corpus, speaker, source, target, **split)
            if args.with_prosody:
                refs += ev.write_prosody_references(corpus, speaker, source, target, Path(out) / "prosody",
                                                    cfg=feature_cfg, processed_dir=cache,
                                                    n_jobs=args.jobs, progress=progress, **split)
            items += refs
    for model in args.model:
        is_checkpoint = model.parent.name == "checkpoints"
        items += ev.write_model_conversions(model.parent.parent if is_checkpoint else model, out,
                                            checkpoint=model if is_checkpoint else None, processed_dir=cache,
                                            progress=progress)
    if not items:
        raise ParameterError("no items to evaluate: the manifest and references list no files")
    judge_path = args.judge or ev.default_judge_path(args.corpus, emotions, **split)
    judge_model = ev.load_or_train_judge(judge_path, args.corpus, emotions, cache_dir=cache, progress=progress,
                                         **split)
    verifier_path = args.verifier or ev.default_verifier_path(corpora, max_per_speaker=args.max_per_speaker,
                                                              **split)
    verifier = ev.load_or_build_verifier(verifier_path, corpora, max_per_speaker=args.max_per_speaker,
                                         cache_dir=cache, progress=progress, **split)
    table = ev.evaluate_pairs(items, judge_model, verifier, with_dnsmos=not args.no_dnsmos,
                              with_reference=not args.no_reference, cache_dir=cache, progress=progress)
    written = ev.write_report(table, out, judge=judge_model, verifier=verifier,
                              extra={"judge_path": str(judge_path), "verifier_path": str(verifier_path),
                                     "references": args.reference, "models": [str(m) for m in args.model]})
    print(ev.format_summary(ev.summarize(table)))
    ceiling = judge_model.ceiling
    if ceiling is not None:
        print(f"\njudge: {judge_model.metadata.get('model')} on eGeMAPS, {len(judge_model.emotions)} classes, trained on "
              f"{', '.join(judge_model.metadata.get('speakers', []))}; accuracy on held-out real speech "
              f"{100 * ceiling['accuracy']:.1f}% (n={ceiling['n']})")
    heard = int((table["judge_heard_text"] == 1.0).sum())
    if heard:
        print(f"note: the judge trained on the words of {heard} item(s); their emotion accuracy is optimistic",
              file=sys.stderr)
    failed = table[ev.failed_rows(table)]
    for _, row in failed.iterrows():
        print(f"  failed: {row['path']}: {row['error']}", file=sys.stderr)
    print(f"\n{len(table)} items, {len(failed)} failed; wrote {written['evaluation']}, {written['summary_json']}")
    return 1 if len(failed) else 0
