"""The house plan (issue 17, DESIGN.md): no import cycles, floors that only go down (data -> models ->
inference -> reports, with the front door ``hccbayes/`` above them and ``hccbayes.errors`` /
``hccbayes.atomic`` / ``hccbayes.memo`` as the shared base below), imports at module top, no module over 400 lines.

The graph is read from the source with ``ast`` (every ``import`` anywhere in a module, also inside
functions), with the package-dir mapping of pyproject.toml, so it sees what Python would import.
"""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {"data": 1, "models": 2, "inference": 3, "reports": 4}
BASE = {"hccbayes.errors", "hccbayes.atomic", "hccbayes.memo"}  # below every floor: anyone may import them
# Imports inside functions are for heavy optional or slow-to-import third-party libraries only (the CLI and
# `import hccbayes` stay light): PyMC and its compiler stack, ArviZ, plotting, Dask, statsmodels, NetCDF.
HEAVY = ("pymc", "pytensor", "nutpie", "arviz", "arviz_base", "arviz_stats", "arviz_plots", "matplotlib",
         "distributed", "dask", "statsmodels", "h5netcdf", "h5py", "netCDF4", "xarray", "tqdm", "scipy", "concurrent")
# where a function-level import of hccbayes itself is the point: the front door imports a command's
# machinery (and pandas) only when that command runs; the report builder starts its figure helpers before the heavy
# section modules are imported, so their start-up overlaps it, and a figure helper process selects
# matplotlib's headless backend before it imports the figure modules (reports/figure_writer.py)
LOCAL_INTERNAL_OK = ("hccbayes/commands/", "hccbayes/cli.py", "hccbayes/__init__.py", "reports/build.py",
                     "reports/figure_writer.py")


def modules() -> dict[str, Path]:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    out = {}
    for package, folder in conf["package-dir"].items():
        for f in (ROOT / folder).rglob("*.py"):
            parts = [p for p in f.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            out[".".join([package, *parts])] = f
    return out


def imports(mods: dict[str, Path]) -> dict[str, set[tuple[str, bool]]]:
    """module -> {(imported hccbayes module, imported inside a function)}."""
    graph: dict[str, set[tuple[str, bool]]] = {m: set() for m in mods}
    for m, f in mods.items():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != m:
                    graph[m].add((t, node.col_offset > 0))
    return graph


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def floor(module: str) -> int | None:
    parts = module.split(".")
    return FLOORS.get(parts[1]) if len(parts) > 1 else None


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    graph = imports(modules())
    assert cycles({m: {t for t, _ in ts} for m, ts in graph.items()}) == []


def test_floors_only_go_down():
    mods = modules()
    up = [(m, t) for m, ts in imports(mods).items() for t, _ in ts
          if floor(m) is not None and floor(t) is not None and floor(t) > floor(m)]
    assert up == []
    # the shared base imports nothing of the package but itself
    assert all(t in BASE for b in BASE for t, _ in imports(mods)[b])


def test_imports_at_module_top():
    mods = modules()
    rel = {m: f.relative_to(ROOT).as_posix() for m, f in mods.items()}
    local_internal = sorted(f"{rel[m]} -> {t}" for m, ts in imports(mods).items() for t, inside in ts
                            if inside and not rel[m].startswith(LOCAL_INTERNAL_OK))
    assert local_internal == []
    local_other = []
    for m, f in mods.items():
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset > 0:
                name = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                if (name and not name.startswith("hccbayes") and name.split(".")[0] not in HEAVY
                        and not rel[m].startswith(LOCAL_INTERNAL_OK)):
                    local_other.append(f"{rel[m]}: {name}")
    assert local_other == []


def test_no_module_over_400_lines():
    sizes = {m: len(f.read_text(encoding="utf-8").splitlines()) for m, f in modules().items()}
    assert {m: n for m, n in sizes.items() if n > 400} == {}
