"""``emocore-evaluate``: score conversions and reference systems; CSV + JSON summaries."""

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
    fraction,
    guarded,
    nonnegative_int,
    positive_int,
)


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
