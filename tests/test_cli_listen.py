"""``emocore-listen``: the trials and the page's notebook are made, or the command stops naming what is wrong.

Serving the page in a browser is tested in ``test_browser.py``."""

from __future__ import annotations

import nbformat
import pytest

from emocore.cli import listen_main
from emocore.evaluation import listening


def test_dry_run_writes_the_keys_and_the_page_and_prints_the_voila_command(tmp_path, capsys):
    assert listen_main(["--smoke", "--data-dir", str(tmp_path / "data"), "--n-trials", "2", "--seed", "4",
                        "--port", "9001", "--dry-run"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "data" / "results" / "06_listening"
    assert "2 A/B and 2 MOS trials of source, target (seed 4)" in out
    assert f"-m voila {folder / 'page' / 'listening_test.ipynb'}" in out and "--port=9001" in out
    assert "--Voila.ip=127.0.0.1" in out and "--no-browser" in out
    assert len(set(listening.load_key(folder / "key_ab.csv")["trial_id"])) == 2
    code = nbformat.read(str(folder / "page" / "listening_test.ipynb"), as_version=4).cells[0].source
    assert "'seed': 4" in code and "'smoke': True" in code


def test_a_missing_manifest_stops_before_serving_and_names_the_folder(tmp_path, capsys):
    assert listen_main(["--manifest-dir", str(tmp_path / "nowhere"), "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("emocore-listen: error:") and "nowhere" in err
    assert not (tmp_path / "data" / "results" / "06_listening" / "page").exists()


def test_a_system_not_in_the_manifest_is_named(tmp_path, capsys):
    from emocore.evaluation import write_manifest

    write_manifest(listening.demo_items(tmp_path / "clips"), tmp_path / "manifest")
    assert listen_main(["--manifest-dir", str(tmp_path / "manifest"), "--systems", "source", "nosuchsystem",
                        "--data-dir", str(tmp_path / "data"), "--dry-run"]) == 1
    assert "nosuchsystem" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--port", "0"], ["--seed", "-1"], ["--n-trials", "x"]])
def test_bad_flags_are_argparse_errors(argv, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        listen_main([*argv, "--data-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert not any(tmp_path.iterdir())


def test_smoke_refuses_systems_and_the_default_systems_are_notebook_06s(tmp_path, capsys):
    import papermill.inspection

    from emocore import paths
    from emocore.cli.listen import DEFAULT_SYSTEMS

    assert listen_main(["--smoke", "--systems", "a", "b", "--data-dir", str(tmp_path), "--dry-run"]) == 1
    assert "leave out --systems" in capsys.readouterr().err
    notebook = paths.repo_root() / "notebooks" / "06_listening_test.ipynb"
    default = papermill.inspection.inspect_notebook(str(notebook))["SYSTEMS"]["default"]
    assert list(DEFAULT_SYSTEMS) == eval(default)  # noqa: S307 - the notebook's own literal
