"""Benchmarks that print measured numbers: ``emocore-bench extraction|training|conversion|memory`` (``make bench``).

Ratios are taken against a baseline run in the same process, so they hold on any machine; absolute
numbers describe the machine they ran on. One module per command:

- :mod:`emocore.bench.extraction`: WORLD feature extraction throughput;
- :mod:`emocore.bench.training`: training iterations per second and the first step;
- :mod:`emocore.bench.conversion`: conversion real-time factor per F0 tracker and worker count, with quality;
- :mod:`emocore.bench.memory`: peak memory of converting long inputs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emocore.bench import conversion, extraction, memory, training
from emocore.bench.extraction import extraction_throughput
from emocore.bench.memory import _difference, long_input_memory, memory_child, speech_like_input
from emocore.bench.training import training_speed
from emocore.cli.common import _add_debug_flag, guarded, nonnegative_int, positive_float, positive_int
from emocore.config import F0_METHODS, PARALLEL_OPS, PRECISIONS

__all__ = ["main", "extraction_throughput", "training_speed", "long_input_memory", "memory_child",
           "speech_like_input", "_difference"]


@guarded("emocore-bench")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emocore-bench", description=__doc__.splitlines()[0])
    _add_debug_flag(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    extract_cmd = commands.add_parser("extraction", help="WORLD feature extraction throughput on real TESS files")
    extract_cmd.add_argument("--n-files", type=positive_int, default=40)
    extract_cmd.add_argument("--speaker", default="OAF")
    train_cmd = commands.add_parser("training", help="training iterations/s and first-step time of every registered "
                                                     "model per width, against EmoCycleGAN at width 1.0")
    train_cmd.add_argument("--models", nargs="+", default=None,
                           help="registry names, each optionally with options as NAME:OPTION=VALUE[,...] "
                                "(emostargan:discriminator=1d); default: every registered model")
    train_cmd.add_argument("--widths", type=positive_float, nargs="+", default=[0.35, 0.5, 1.0])
    train_cmd.add_argument("--xla", action="store_true", help="also measure each configuration compiled with XLA")
    train_cmd.add_argument("--precision", choices=PRECISIONS, nargs="+", default=["float32"],
                           help="what the convolutions compute in, a row each (emocore-train --precision)")
    train_cmd.add_argument("--steps", type=positive_int, default=10, help="timed iterations")
    train_cmd.add_argument("--warmup", type=nonnegative_int, default=2)
    train_cmd.add_argument("--n-frames", type=positive_int, default=128)
    train_cmd.add_argument("--batch-size", type=positive_int, default=2, help="crops per emotion")
    train_cmd.add_argument("--repeats", type=positive_int, default=1,
                           help="fresh builds per configuration: each row gives the medians and the first step's range")
    train_cmd.add_argument("--threads", type=positive_int, default=None,
                           help="CPU threads for TensorFlow's ops, as emocore-train's (default: all cores)")
    train_cmd.add_argument("--parallel-ops", type=nonnegative_int, default=None, metavar="N",
                           help=f"ops at once, as emocore-train's (default {PARALLEL_OPS}); 0: TensorFlow's own "
                                "defaults (how training without --threads ran before)")
    convert = commands.add_parser("conversion", help="conversion real-time factor per F0 tracker and worker count, "
                                                     "with each tracker's agreement with harvest (and --judges)")
    convert.add_argument("--model", default=conversion.DEFAULT_MODEL, help="pretrained model name or model folder")
    convert.add_argument("--trackers", nargs="+", choices=F0_METHODS, default=list(F0_METHODS))
    convert.add_argument("--workers", type=positive_int, nargs="+", default=None,
                         help="worker counts (default 1 and every core)")
    convert.add_argument("--n-files", type=positive_int, default=40, help="held-out TESS words converted")
    convert.add_argument("--agreement-files", type=positive_int, default=20,
                         help="files per corpus for the trackers' agreement with harvest")
    convert.add_argument("--judges", action="store_true",
                         help="also judge conversions made with each tracker (both judges, speaker, DNSMOS; "
                              "about half an hour)")
    convert.add_argument("--judges-out", type=Path, default=None, help="keep --judges' audio and tables here")
    convert.add_argument("--max-utterances", type=positive_int, default=None,
                         help="--judges: at most this many files per speaker and emotion")
    mem = commands.add_parser("memory", help="peak memory and RTF of converting long inputs (fresh process each)")
    mem.add_argument("--lengths", type=positive_float, nargs="+", default=[10.0, 60.0, 600.0],
                        help="input lengths in seconds, converted in segments")
    mem.add_argument("--whole", type=positive_float, nargs="*", default=[150.0],
                        help="input lengths also converted unsegmented (the behaviour before segmenting)")
    mem.add_argument("--compare", type=positive_float, default=60.0,
                        help="the length whose segmented output is compared with its segments converted alone")
    mem.add_argument("--model", default=memory.MEMORY_MODEL, help="pretrained model name or model folder")
    mem.add_argument("--threads", type=nonnegative_int, default=1, help="TensorFlow threads per process; 0: all cores")
    args = parser.parse_args(argv)
    if args.command == "extraction":
        extraction.extraction_throughput(args.n_files, args.speaker)
    elif args.command == "training":
        if args.parallel_ops == 0 and args.threads is not None:
            parser.error("--threads needs --parallel-ops of at least 1")
        if args.parallel_ops != 0:  # as emocore-train
            from emocore.training import limit_cpu_threads

            limit_cpu_threads(args.threads, args.parallel_ops)
        training.training_speed(args.models, tuple(args.widths), xla=args.xla, steps=args.steps, warmup=args.warmup,
                                n_frames=args.n_frames, batch_size=args.batch_size, repeats=args.repeats,
                                precisions=tuple(args.precision))
    elif args.command == "conversion":
        agreement = conversion.tracker_agreement(tuple(args.trackers), args.agreement_files)
        quality = (conversion.tracker_quality(args.model, tuple(args.trackers), args.judges_out,
                                              max_utterances=args.max_utterances) if args.judges else None)  # before
        start = conversion.process_start(args.model)  # TensorFlow: openSMILE must load first (the judges)
        print(f"process start (fresh process): python {start['python_s']:.2f} s, import TensorFlow/emocore.conversion "
              f"{start['import_s']:.2f} s, model load {start['load_s']:.2f} s, first conversion (tracing) "
              f"{start['first_call_s']:.2f} s; whole process {start['process_s']:.2f} s")
        speed = conversion.conversion_speed(args.model, tuple(args.trackers), args.workers, n_files=args.n_files)
        conversion.summary_table(agreement, speed, quality)
    elif args.command == "memory":
        memory.long_input_memory(tuple(args.lengths), model=args.model, whole_s=tuple(args.whole), compare_s=args.compare,
                          threads=args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
