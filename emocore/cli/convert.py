"""``emocore-convert`` (convert audio files with a trained or pretrained model) and ``emocore-export`` (a
trained model folder as a small pretrained model)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from emocore.cli.common import _add_debug_flag, guarded, import_tensorflow, nonnegative_int, positive_int
from emocore.config import CONVERSION_F0_TRACKER, F0_METHODS, MIN_FILES_FOR_WORKERS, PROSODY_METHODS


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
    parser.add_argument("--no-ap", action="store_true",
                        help="keep the source aperiodicity (ablation; only EmoStarGAN converts it, by the emotions' "
                             "measured change of breathiness)")
    parser.add_argument("--f0-method", choices=PROSODY_METHODS["f0"], default=None,
                        help="how F0 is converted (default: the model's own way). log-gaussian: mean and spread; "
                             "EmoStarGAN also cwt (the contour's shape, scale by scale), learned (the contour "
                             "predicted by its learned prosody network: the default from neutral of a model that has "
                             "one) and, trained with an F0 channel, contour (the generator's)")
    parser.add_argument("--power-method", choices=PROSODY_METHODS["power"], default=None,
                        help="how the power envelope is converted (default: the model's own way). log-gaussian: "
                             "mean and spread (the per-pair models'); EmoStarGAN also cwt (the energy contour's "
                             "shape, scale by scale; its default) and learned (its learned prosody network's)")
    parser.add_argument("--rhythm", action="store_true",
                        help="EmoStarGAN: also change the tempo by the emotions' measured ratio (the output's "
                             "length then differs from the input's; the summary says by how much)")
    speaker = parser.add_argument_group("the speaker (multi-speaker models: EmoStarGAN)")
    speaker.add_argument("--speaker-recordings", nargs="+", type=Path, default=None, metavar="FILE",
                         help="a few recordings of the input's speaker in the source emotion: their pitch, loudness "
                              "and spectrum statistics replace those of each input file alone (the learned F0, "
                              "the default from neutral, reads each input itself)")
    speaker.add_argument("--speaker", default=None, metavar="CORPUS:NAME",
                         help="the input is one of the model's training speakers (e.g. tess:OAF): move its prosody "
                              "and spectrum by that speaker's own measured emotion changes instead of the average "
                              "over speakers (the learned prosody, the default from neutral, reads the input alone)")
    styles = parser.add_argument_group("EmoMUNIT style (MUNIT models; --intensity also EmoStarGAN, --strength "
                                       "EmoStarGAN only)")
    styles.add_argument("--style", choices=("mean", "reference", "random"), default=None,
                        help="target style: the target emotion's mean style code (default), a reference "
                             "recording's (--reference), or a random draw (--seed)")
    styles.add_argument("--reference", type=Path, default=None,
                        help="a recording of the target emotion: convert 'like this' (implies --style reference)")
    styles.add_argument("--seed", type=nonnegative_int, default=None, help="seed of --style random (default 0)")
    styles.add_argument("--intensity", type=float, default=None,
                        help="emotion intensity in [0, 1]: 0 keeps the source style, 1 (default) the target's")
    styles.add_argument("--strength", type=float, default=None,
                        help="EmoStarGAN's learned F0 contour in the register of RAVDESS's labelled emotional "
                             "intensity, in [0, 1]: 0 (default) its normal takes', 1 its strong ones' (a higher, "
                             "louder voice); --intensity then moves from the source to that")
    speed = parser.add_argument_group("speed (emocore-bench conversion measures both)")
    speed.add_argument("--f0-tracker", choices=F0_METHODS, default=CONVERSION_F0_TRACKER,
                       help="the F0 tracker that analyses the inputs (default %(default)s; harvest is the slowest and "
                            "the one the models were trained with)")
    speed.add_argument("--jobs", type=positive_int, default=None,
                       help="processes that analyse and synthesize files in parallel (default: every core for a "
                            f"batch of at least {MIN_FILES_FOR_WORKERS} files; 1: this process only)")
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
        if pretrained.default_model() is None:
            parser.error(f"give --model_dir or --pretrained (names: --list-pretrained); the default model "
                         f"{pretrained.DEFAULT_PRETRAINED!r} is not in {pretrained.pretrained_dir()}")
        args.pretrained = pretrained.DEFAULT_PRETRAINED
    if not args.inputs and not args.data_dir:
        parser.error("nothing to convert: give files, folders or globs, or --data_dir")
    if args.no_f0 and args.f0_method:
        parser.error(f"--no-f0 keeps the source F0; it takes no --f0-method ({args.f0_method})")
    if args.no_power and args.power_method:
        parser.error(f"--no-power keeps the source power envelope; it takes no --power-method ({args.power_method})")
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
    for path in args.speaker_recordings or ():
        if not Path(path).is_file():
            raise AudioError(path, "no such file (a --speaker-recordings file)")
    if not plan_outputs(files, args.output_dir, overwrite=args.overwrite).jobs:
        print(f"nothing to convert: the outputs of all {len(files)} inputs exist in {args.output_dir} "
              "(--overwrite replaces them)")
        return 0
    import_tensorflow()
    from emocore.conversion import ConversionModel, convert_files  # loads TensorFlow

    model = ConversionModel.load(args.model_dir, checkpoint=args.checkpoint, f0_tracker=args.f0_tracker)
    trained_name = model.record.model_name
    if args.model_name is not None and trained_name is not None and args.model_name != trained_name:
        print(f"emocore-convert: note: --model_name {args.model_name!r} differs from the name recorded at "
              f"training ({trained_name!r}); converting with the model in {args.model_dir}", file=sys.stderr)
    if args.speaker_recordings:
        style["speaker_stats"] = _speaker_stats(args.speaker_recordings, model.feature_cfg)
    if args.speaker is not None:
        style["speaker"] = args.speaker
    if args.strength is not None:
        style["strength"] = args.strength
    try:
        model.converter.check_options(style)
    except EmocoreError as error:
        flags = ", ".join(FLAG_OF_OPTION.get(k, f"--{k}") for k in style)
        raise EmocoreError(f"{flags}: not for the {model.model_type!r} model in {args.model_dir}: {error}") from None
    source, target = model.emotion_pair(direction)
    report = convert_files(model, files, direction, args.output_dir, overwrite=args.overwrite,
                           f0=(args.f0_method or True) if not args.no_f0 else False,
                           power=(args.power_method or True) if not args.no_power else False,
                           mcep=not args.no_mcep, ap=not args.no_ap, rhythm=args.rhythm, jobs=args.jobs,
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
    if None in (source, target) and len(record.emotions) > 2:  # one of many emotions: the source is the first
        if source is None and target != 0:  # (neutral, for the shipped multi-speaker model)
            return (0, target)
        parser.error("give both --source-emotion and --target-emotion: with only --source-emotion, or with the "
                     f"first emotion ({record.emotions[0].emotion or record.emotions[0].name}) as the target, a model of "
                     "more than two emotions cannot tell which to convert to")
    if None in (source, target):  # one given: the other is the model's other emotion
        given = target if source is None else source
        other = 1 - given
        source, target = (other, given) if source is None else (given, other)
    if source == target:
        parser.error(f"--source-emotion and --target-emotion name the same emotion ({record.emotions[source].name})")
    return (source, target)


#: the flag that sets each conversion option
FLAG_OF_OPTION = {"style": "--style", "reference": "--reference", "seed": "--seed", "intensity": "--intensity",
                  "speaker_stats": "--speaker-recordings", "speaker": "--speaker", "strength": "--strength"}


def _speaker_stats(recordings: list[Path], cfg):
    """The statistics of a speaker's recordings (:class:`emocore.dsp.prosody.DomainStats`), for a multi-speaker model.

    Raises:
        AudioError: a recording cannot be used (named).
    """
    from emocore.dsp import audio, features
    from emocore.dsp.prosody import DomainStats

    feats = [features.extract_features(audio.load_wav(path, cfg.sr, min_duration_s=cfg.min_duration_s,
                                                      silence_peak=cfg.silence_peak), cfg) for path in recordings]
    return DomainStats.fit("speaker", feats)


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
    if args.strength is not None and not 0.0 <= args.strength <= 1.0:
        parser.error(f"--strength must be in [0, 1], got {args.strength}")
    options = {"style": style, "reference": args.reference, "seed": args.seed, "intensity": args.intensity}
    return {k: v for k, v in options.items() if v is not None}
