"""``emocore-listen``: serve the listening test to listeners as a web page (Voilà), one command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emocore.cli.common import _add_debug_flag, guarded, nonnegative_int, positive_int

#: notebook 06's default systems: the A/B pairs and the MOS systems
DEFAULT_SYSTEMS = ("emocyclegan", "f0-only")


@guarded("emocore-listen")
def listen_main(argv: list[str] | None = None) -> int:
    """``emocore-listen``: build the trials as notebook 06 does, write the page's notebook, and become the Voilà server
    that serves it (until Ctrl-C), or ``--dry-run``: stop after writing it."""
    from emocore import paths
    from emocore.evaluation.listening.page import page_trials, write_keys, write_page_notebook
    from emocore.exceptions import ParameterError

    root = paths.repo_root()
    parser = argparse.ArgumentParser(
        prog="emocore-listen",
        description="Serve notebook 06's listening test as a web page without code, for listeners who are not "
                    "researchers: each enters a name, answers the A/B trials, then rates clips 1-5. Answers go to "
                    "the same results CSVs as notebook 06 (DATA_DIR/results/06_listening/), which analyses them. "
                    "The same --manifest-dir, --systems and --seed give the same trials as the notebook.")
    parser.add_argument("--manifest-dir", type=Path, default=root / "data" / "results" / "04_evaluate",
                        help="folder with manifest.csv or notebook 04's evaluation.csv, written by `make results` "
                             "(default %(default)s)")
    parser.add_argument("--systems", nargs="+", default=None,
                        help="A/B compares every two of these; MOS rates these and the real recordings "
                             f"(default {' '.join(DEFAULT_SYSTEMS)}, as notebook 06)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="trial order and A/B sides (default 0)")
    parser.add_argument("--n-trials", type=nonnegative_int, default=0,
                        help="at most this many trials per part (default 0: all)")
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny test on real TESS words (tones without the corpus): the real source recording "
                             "against the real target (no --systems)")
    parser.add_argument("--data-dir", type=Path, default=root / "data",
                        help="answers and keys go to DATA_DIR/results/06_listening/ (default %(default)s)")
    parser.add_argument("--ip", default="127.0.0.1",
                        help="address to serve on (default %(default)s: this machine only; 0.0.0.0 for a network)")
    parser.add_argument("--port", type=positive_int, default=8866, help="port (default %(default)s)")
    parser.add_argument("--open-browser", action="store_true", help="open the page in this machine's browser")
    parser.add_argument("--dry-run", action="store_true", help="write the page's notebook, print the command, stop")
    _add_debug_flag(parser)
    args = parser.parse_args(argv)
    if args.smoke and args.systems:
        raise ParameterError("--smoke compares the real source and target recordings; leave out --systems")
    systems = ["source", "target"] if args.smoke else (args.systems or list(DEFAULT_SYSTEMS))
    # the trials are built here first, so a missing manifest or system fails now, not in a listener's browser
    ab, mos, out_dir = page_trials(args.manifest_dir, args.data_dir, systems, seed=args.seed, n_trials=args.n_trials,
                                   smoke=args.smoke)
    write_keys(ab, mos, out_dir)
    page = write_page_notebook(out_dir / "page" / "listening_test.ipynb", args.manifest_dir, args.data_dir,
                               systems, seed=args.seed, n_trials=args.n_trials, smoke=args.smoke)
    command = [sys.executable, "-m", "voila", str(page), f"--Voila.ip={args.ip}", f"--port={args.port}",
               "--Voila.port_retries=0", "--strip_sources=True", "--show_tracebacks=False",
               *([] if args.open_browser else ["--no-browser"])]
    print(f"{len(ab)} A/B and {len(mos)} MOS trials of {', '.join(systems)} (seed {args.seed}); answers go to "
          f"{out_dir}/results_ab.csv and results_mos.csv\npage: {page}")
    if args.dry_run:
        print("would run: " + " ".join(command))
        return 0
    print(f"serving at http://{args.ip}:{args.port}/ (Ctrl-C stops it)", flush=True)
    import os

    os.execv(sys.executable, command)  # Voila takes this process's place: Ctrl-C and kill reach it and its kernels
