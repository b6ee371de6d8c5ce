"""The house is layered: models < data_modules < trainables < analysis < sweeps < benchmarks.
Every import, including those inside functions, points down or within its own package, and no
modules import each other in a cycle. There is no list of exceptions."""
from __future__ import annotations

import ast
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("models", "data_modules", "trainables", "analysis", "sweeps", "benchmarks")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(f): f for layer in LAYERS for f in (PROJECT_ROOT / layer).rglob("*.py")}


def imported(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `module` imports anywhere in its body (functions included)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            targets.add(base)
            targets |= {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known}
    found = set()
    for target in targets:
        while target and target not in known:  # an attribute of a module -> the module
            target = target.rpartition(".")[0]
        if target and target != module:
            found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    known = project_modules()
    return {module: imported(module, path, known) for module, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_every_import_points_down_the_layers():
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    upward = sorted(f"{a} -> {b}" for a, targets in import_graph().items() for b in targets
                    if rank[b.split(".")[0]] > rank[a.split(".")[0]])
    assert upward == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_walk_sees_imports_inside_functions_and_relative_ones(tmp_path):
    """The checker itself: an upward import hidden in a function, and a cycle, are both found."""
    known = {"models.a": tmp_path / "a.py", "models.b": tmp_path / "b.py", "sweeps.c": tmp_path / "c.py"}
    known["models.a"].write_text("def f():\n    from sweeps.c import x\n")
    known["models.b"].write_text("from . import a\n")
    assert imported("models.a", known["models.a"], known) == {"sweeps.c"}
    assert imported("models.b", known["models.b"], known) == {"models.a"}
    assert cycles({"models.a": {"models.b"}, "models.b": {"models.a"}}) == [["models.a", "models.b"]]


def test_the_results_pipeline_imports_no_study_command():
    """analysis/results is what the study commands share: it names them only in its registry."""
    graph = import_graph()
    commands = {m for m in graph if m.startswith("analysis.") and m.count(".") == 1}
    assert sorted(f"{a} -> {b}" for a in graph if a.startswith("analysis.results") for b in graph[a] & commands) == []


def test_a_sweep_module_imports_no_heavy_library():
    """`python -m sweeps.NAME` handles Ctrl-C from its first moment (sweeps.runner.entry): the
    declarations and what they import load no torch, pandas or Ray; the run imports them later."""
    import subprocess
    import sys

    from sweeps.runner.catalog import all_sweeps

    names = sorted(all_sweeps())
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module('sweeps.' + name)\n"
            "print(sorted(m for m in ('torch', 'pandas', 'ray', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout
