"""The package's import graph: no module imports another that (directly or not) imports it back.

Imports inside functions count too: a cycle dodged by a local import is still a cycle of responsibilities.
"""

from __future__ import annotations

import ast
from pathlib import Path

import emocore

PACKAGE = Path(emocore.__file__).parent


def package_imports(root: Path = PACKAGE) -> dict[str, set[str]]:
    """``{module: {modules of the package it imports}}`` for every ``.py`` file under ``root`` (any depth)."""
    modules = {".".join(p.relative_to(root).with_suffix("").parts): p for p in root.rglob("*.py")}
    modules = {name.removesuffix(".__init__") if name != "__init__" else "": path for name, path in modules.items()}
    graph = {}
    for name, path in modules.items():
        package = name.rsplit(".", 1)[0] if path.name != "__init__.py" and "." in name else (
            name if path.name == "__init__.py" else "")
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name.removeprefix("emocore.") for a in node.names if a.name.startswith("emocore.")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".") if package else []
                    base = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                    stem = ".".join([*base, *(node.module.split(".") if node.module else [])])
                elif (node.module or "").startswith("emocore"):
                    stem = node.module.removeprefix("emocore").lstrip(".")
                else:
                    continue
                targets.add(stem)  # `from pkg import x` runs pkg/__init__.py: an edge to the package too
                for alias in node.names:  # `from . import x` names a module; `from .x import y` names x
                    candidate = f"{stem}.{alias.name}" if stem else alias.name
                    targets.add(candidate if candidate in modules else stem)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or ``None``."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_finder_sees_cycles_through_imports_inside_functions(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import thing\n")
    (pkg / "c.py").write_text("from . import a\n")
    graph = package_imports(pkg)
    assert graph["a"] == {"sub", "sub.b"} and graph["sub.b"] == {"a"} and graph["c"] == {"", "a"}
    assert find_cycle(graph) == ["a", "sub.b", "a"]
    (pkg / "sub" / "b.py").write_text("import os\n")
    assert find_cycle(package_imports(pkg)) is None


def test_the_package_has_no_import_cycle():
    graph = package_imports()
    assert {"conversion", "training.loop", "models.munit", "models.base", "models"} <= set(graph)
    assert "conversion" in graph["training.loop"] and "models.base" in graph["models.munit"]  # the reader sees real edges
    assert "models.munit" in graph["models"] and "models" in graph["conversion"]  # the registry is an edge too
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_signal_processing_and_data_need_no_neural_network_library():
    """``emocore.dsp`` and ``emocore.data`` work on arrays and files: none of their modules imports Keras or TensorFlow,
    and none imports a module of the package that does (the models, training, conversion)."""
    graph = package_imports()
    heavy = {"keras", "tensorflow", "torch", "jax"}
    lower = [name for name in graph if name.split(".")[0] in ("dsp", "data") or name == "stages"]  # stages: the workers
    assert len(lower) >= 8 and "stages" in lower
    for name in lower:
        path = PACKAGE.joinpath(*name.split(".")).with_suffix(".py")
        if not path.is_file():
            path = PACKAGE.joinpath(*name.split("."), "__init__.py")
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                imported.add(node.module.split(".")[0])
        assert not imported & heavy, f"{name} imports {imported & heavy}"
        assert not {t for t in graph[name] if t.split(".")[0] in ("models", "training", "conversion")}, (name, graph[name])
