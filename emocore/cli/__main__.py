"""``python -m emocore.cli``: the same as ``emocore-extract``."""

import sys

from emocore.cli.data import extract_main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(extract_main())
