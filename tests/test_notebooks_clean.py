"""Notebooks are committed without outputs, with a papermill ``parameters`` cell that nbmake can mock."""

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped_and_parameterized(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell["outputs"] and cell["execution_count"] is None, f"{path.name}: strip outputs"
    params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
    cell = params[0]
    source = "".join(cell["source"])
    tree = ast.parse(source)
    # papermill's --help-notebook and parameter parsing want only `NAME: type = literal  # comment`
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign) and node.target.id.isupper(), f"{path.name}: {ast.unparse(node)}"
        ast.literal_eval(node.value)
    names = {node.target.id for node in tree.body}
    assert {"SMOKE", "DATA_DIR", "FIG_DIR"} <= names
    import papermill.inspection  # papermill itself reads every one (a comment can confuse its parser: see 05)

    assert set(papermill.inspection.inspect_notebook(str(path))) == names
    mock = cell["metadata"]["nbmake"]["mock"]
    assert mock["SMOKE"] is True and set(mock) <= names
    # nbmake runs in the repo: its smoke outputs must not overwrite the committed figures
    for name, value in mock.items():
        if name.endswith("_DIR"):
            assert value.startswith("build/"), f"{path.name}: nbmake's {name} must point into build/"
