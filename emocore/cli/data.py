"""``emocore-download`` and ``emocore-extract``: fetch the corpora, extract and cache their WORLD features."""

from __future__ import annotations

import argparse
import logging
import math
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
