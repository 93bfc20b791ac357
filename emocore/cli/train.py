"""``emocore-train``: train a model between emotions and write a model folder for ``emocore-convert``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from emocore import paths
from emocore.cli.common import (
    _add_debug_flag,
    _feature_args,
    _feature_config,
    _flag_errors,
    assignment,
    fraction,
    guarded,
    import_tensorflow,
    nonnegative_int,
    positive_float,
    positive_int,
)
from emocore.config import BALANCES, PARALLEL_OPS, PRECISIONS, STRATEGIES, FeatureConfig

#: the model type ``--speakers`` trains unless ``--model`` names another
MULTI_SPEAKER_MODEL = "emostargan"


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
    data.add_argument("--speakers", nargs="+", default=None, metavar="SPEAKER",
                      help="train one model of many speakers (EmoStarGAN): corpus:name speakers, e.g. tess:OAF "
                           "ravdess:Actor_01, or 'default' (TESS OAF and YAF and RAVDESS actors 01-12; 13-16 are "
                           "held out for evaluation); with --emotions")
    data.add_argument("--emotions", nargs="+", default=None, metavar="EMOTION",
                      help="with --speakers: the model's emotions in order, neutral among them (default: neutral "
                           "angry happy sad)")
    data.add_argument("--balance", choices=BALANCES, default=None,
                      help="with --speakers: what training crops are balanced over: speaker (default; each speaker "
                           "equally often) or corpus (each corpus equally often, its speakers equally within it)")
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
    data.add_argument("--val-fraction", type=fraction, default=None,
                      help="share of texts held out (default 0.1; 0 when both validation folders are given)")
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
    run.add_argument("--model", default=None,
                     help="a model type of the registry: cyclegan (EmoCycleGAN, default) or munit (the "
                          "style-transfer autoencoder EmoMUNIT)")
    run.add_argument("--option", action="append", default=[], type=assignment, metavar="NAME=VALUE", dest="options",
                     help="one of the model type's own settings, as JSON (repeatable): e.g. --option f0_contour=true "
                          "(emostargan: convert the F0 contour with the generator), --option style_dim=16 (munit)")
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
    run.add_argument("--parallel-ops", type=positive_int, default=None, metavar="N",
                     help=f"TensorFlow ops run at once, each split over --threads // N threads (default "
                          f"{PARALLEL_OPS}: on 2 cores two ops at once, neither split, the fastest measured here; "
                          "1: one op at a time, split over every thread)")
    run.add_argument("--strategy", choices=STRATEGIES, default="none",
                     help="tf.distribute: none (one device), mirrored (every local GPU; without GPUs the CPU devices of "
                          "--cpu-replicas) or multi-worker (several machines, each with its TF_CONFIG); the global "
                          "batch (--batch-size crops per emotion) is split over the replicas, checkpoints and --resume "
                          "are unchanged")
    run.add_argument("--cpu-replicas", type=positive_int, default=None, metavar="N",
                     help="with --strategy mirrored and no GPU: split the CPU into N devices, one replica each")
    run.add_argument("--xla", action="store_true",
                     help="compile the training step with XLA (slower on CPU here: emocore-bench training --xla)")
    run.add_argument("--precision", choices=PRECISIONS, default=None,
                     help="what the training step's convolutions compute in; bfloat16 keeps float32 weights and is "
                          "faster only on bfloat16 hardware, e.g. a CPU with AMX (emocore-bench training --precision "
                          "float32 bfloat16 tells); --resume keeps the run's own unless given")
    run.add_argument("--smoke", action="store_true", help="tiny CI sizes (the configs' smoke() variants)")
    run.add_argument("--eager", action="store_true", help="run the training step eagerly (debugging)")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    _feature_args(parser)
    _add_debug_flag(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

    sides, speakers = [], None
    if args.cpu_replicas is not None and args.strategy != "mirrored":
        parser.error(f"--cpu-replicas splits the CPU for --strategy mirrored, not --strategy {args.strategy}")
    with _flag_errors(parser):
        if args.speakers is not None:
            from emocore.data.speakers import DEFAULT_EMOTIONS, parse_speakers, pooled_domain

            given = [f for f in ("domains", "domain_a", "domain_b", "train_A_dir", "train_B_dir", "contrast_domains",
                                 "validation_A_dir", "validation_B_dir", "val_fraction") if getattr(args, f) not in (None, [])]
            if given:
                flag = given[0] if given[0].endswith("_dir") else given[0].replace("_", "-")
                parser.error(f"--speakers trains on speakers' emotions; it takes no --{flag} "
                             "(it holds out TESS's words as the per-pair models do and trains on all of RAVDESS's)")
            speakers = parse_speakers(args.speakers)
            emotions = list(args.emotions or DEFAULT_EMOTIONS)
            sides = [pooled_domain(speakers, emotion) for emotion in emotions]
        elif args.emotions is not None or args.balance is not None:
            parser.error(f"{'--emotions' if args.emotions is not None else '--balance'} goes with --speakers")
        if args.domains is not None:
            given = [f for f in ("domain_a", "domain_b", "train_A_dir", "train_B_dir") if getattr(args, f) is not None]
            if given:
                parser.error(f"give the emotions by --domains or by --domain-a/--domain-b, not both "
                             f"(--{given[0].replace('_', '-') if given[0].startswith('domain') else given[0]})")
            sides = [parse_domain(spec) for spec in args.domains]
        for name, spec, folder in (("A", args.domain_a, args.train_A_dir), ("B", args.domain_b, args.train_B_dir)):
            if args.domains is not None or speakers is not None:
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
        overrides = {"iterations": args.iterations, "batch_size": args.batch_size, "seed": args.random_seed,
                     "precision": args.precision}
        train_cfg = replace(train_cfg, **{k: v for k, v in overrides.items() if v is not None})
        import_tensorflow()
        from emocore import models  # loads TensorFlow

        spec = models.get(args.model or (MULTI_SPEAKER_MODEL if speakers is not None else models.DEFAULT_MODEL_TYPE))
        if (speakers is not None) != (spec.n_emotions is None):
            parser.error(f"--model {spec.name} trains on " + ("--speakers" if spec.n_emotions is None else
                         "one speaker's emotions (--domains, --domain-a/--domain-b), not --speakers"))
        if spec.n_emotions is not None and len(sides) != spec.n_emotions:
            parser.error(f"--model {spec.name} converts between {spec.n_emotions} emotions; {len(sides)} given")
        options = spec.default_options(smoke=args.smoke, **dict(args.options))

    from emocore.data.extraction import prepare_domains
    from emocore.training import limit_cpu_threads, train

    limit_cpu_threads(args.threads, args.parallel_ops)  # defaults are kept if TensorFlow runs already (a test)
    if args.cpu_replicas is not None:
        from emocore.training.distribute import split_cpu

        split_cpu(args.cpu_replicas)
    processed = args.processed_dir or paths.processed_dir()
    both_val_dirs = args.validation_A_dir is not None and args.validation_B_dir is not None
    try:
        if speakers is not None:  # one model of many speakers: each emotion pooled over them
            from emocore.data.speakers import prepare_speakers

            emotions = prepare_speakers(speakers, [d.emotion for d in sides], feature_cfg, processed,
                                        seed=args.split_seed, max_utterances=args.max_utterances, n_jobs=args.jobs,
                                        balance=args.balance or "speaker", progress=not args.quiet).emotions
            prepared = {}
        else:
            val_fraction = 0.0 if both_val_dirs else (0.1 if args.val_fraction is None else args.val_fraction)
            prepared = prepare_domains(sides + contrast, feature_cfg, processed, val_fraction=val_fraction,
                                       seed=args.split_seed,
                                       max_utterances=args.max_utterances, n_jobs=args.jobs, progress=not args.quiet)
            emotions = [prepared[d.name] for d in sides]
        for data, folder in zip(emotions, (args.validation_A_dir, args.validation_B_dir)):
            if folder is not None:
                data.validation = _directory_pairs(folder, feature_cfg, processed, args.jobs)
        model_dir = args.model_dir or paths.models_dir() / (args.model_name or "_to_".join(d.name for d in emotions))
        if args.resume and args.precision is None:  # a resumed run keeps the precision it was started with
            train_cfg = replace(train_cfg, precision=_recorded_precision(model_dir, train_cfg.precision))
        history = train(emotions, feature_cfg, model_cfg, train_cfg, model_dir, resume=args.resume,
                        tensorboard_log_dir=args.tensorboard_log_dir, output_dir=args.output_dir,
                        progress=not args.quiet, run_eagerly=args.eager, model_name=args.model_name,
                        model_type=spec.name, options=options,
                        max_wall_time_s=None if args.time_budget is None else 60.0 * args.time_budget,
                        contrast_domains=[prepared[d.name] for d in contrast], init_from=args.init_from,
                        strategy=args.strategy, jit_compile=args.xla)
    except TrainingDivergedError as error:
        print(f"emocore-train: {error}", file=sys.stderr)
        return 1
    last = history[-1] if history else {}
    print(f"trained {' <-> '.join(d.name for d in emotions)} for {last.get('iteration', 0)} iterations "
          f"(generator loss {last.get('gen_total', float('nan')):.4f}); model: {model_dir}")
    return 0


def _recorded_precision(model_dir: Path, default: str) -> str:
    """The precision the run in ``model_dir`` was trained with (its ``config.json``), or ``default`` when the folder
    holds no readable record yet (``train`` then says what is wrong with it)."""
    from emocore.exceptions import ModelFolderError
    from emocore.record import CONFIG_NAME, read_record

    try:
        record = read_record(Path(model_dir) / CONFIG_NAME)
    except (ModelFolderError, OSError):
        return default
    return default if record.train is None else record.train.precision
