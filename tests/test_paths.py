"""Tests of emocore.paths: notebook folder parameters as papermill passes them."""

from __future__ import annotations

from pathlib import Path

from emocore import paths


def test_repo_paths_takes_a_list_one_folder_or_a_comma_separated_string(tmp_path):
    root = paths.repo_root()
    assert paths.repo_paths(["data/models/a", "data/models/b"]) == [root / "data/models/a", root / "data/models/b"]
    assert paths.repo_paths("data/models/a") == [root / "data/models/a"]  # papermill -p: a string, not characters
    assert paths.repo_paths("data/models/a, data/models/b") == [root / "data/models/a", root / "data/models/b"]
    assert paths.repo_paths(str(tmp_path)) == [tmp_path]  # an absolute path wins
    assert paths.repo_paths(Path("x")) == [root / "x"]
    assert paths.repo_paths([]) == paths.repo_paths("") == []
