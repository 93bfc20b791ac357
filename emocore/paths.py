"""Where things are: the repository root, the corpora and the derived-data folders."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "EMOCORE_DATA_DIR"


def repo_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the cwd) holding ``pyproject.toml``.

    Falls back to the folder this package was installed from, so notebooks run from anywhere
    inside the checkout find the same root.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "emocore").is_dir():
            return folder
    return Path(__file__).resolve().parent.parent


def corpora_dir() -> Path:
    """The folder holding ``tess/`` and ``ravdess/``.

    ``$EMOCORE_DATA_DIR`` when set; else ``../shared/data`` beside the checkout when it exists;
    else ``data/raw`` inside the repository (where the downloader puts the corpora).
    """
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    shared = repo_root().parent / "shared" / "data"
    if shared.is_dir():
        return shared.resolve()
    return repo_root() / "data" / "raw"


def processed_dir() -> Path:
    """Feature cache and per-domain statistics (git-ignored)."""
    return repo_root() / "data" / "processed"


def models_dir() -> Path:
    """Trained models (git-ignored unless shipped as pretrained)."""
    return repo_root() / "data" / "models"


def results_dir() -> Path:
    """Metrics JSON/CSV written by notebooks and CLIs (git-ignored)."""
    return repo_root() / "data" / "results"


def repo_paths(values: str | Path | list | tuple) -> list[Path]:
    """Folders given as a notebook parameter, resolved against the repository root (an absolute path wins).

    ``papermill -y "MODEL_DIRS: [a, b]"`` passes a list; ``papermill -p MODEL_DIRS a`` passes a string,
    taken as one folder or a comma-separated list of them (not as a sequence of characters).
    """
    if isinstance(values, str | Path):
        values = [v for v in str(values).split(",") if v.strip()]
    return [repo_root() / str(v).strip() for v in values]
