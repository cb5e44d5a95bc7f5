"""Import layers (DESIGN.md "The layers"): every `flopgrid.*` import in the source tree,
read with `ast` (imports inside functions included), points down the layer order

    catalog -> flops -> perf / reliability -> meter, diagnose, market -> sched -> sim
    -> store -> api -> client -> dispatch -> cli

(a layer may skip layers, never import upward or sideways within its rank), and the market
imports only catalog, flops, perf and reliability. `flopgrid.errors` and the other top-level
modules are shared utilities every layer may use. A layer package that does not exist yet is
skipped.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "flopgrid"

RANKS: dict[str, int] = {
    "catalog": 0, "flops": 1, "perf": 2, "reliability": 2, "meter": 3, "diagnose": 3, "market": 3,
    "sched": 4, "sim": 5, "store": 6, "api": 7, "client": 8, "dispatch": 9, "demo": 9.7, "cli": 10,
}
# packages outside the layer table: runnable examples, which may use any layer but the cli
NON_LAYER_RANK = {"examples": 9.5}
ONLY_FROM = {"market": {"catalog", "flops", "perf", "reliability"}}
# sideways imports allowed by name: diagnose reads parsed meter logs through the meter's
# torch-free log reader (issue 15; tests/test_diagnose_cli.py runs diagnose with torch blocked)
SIDEWAYS_MODULES = {"diagnose": {"flopgrid.meter.events", "flopgrid.meter.badput", "flopgrid.meter.report",
                                 "flopgrid.meter.ranks", "flopgrid.meter.flop_count"}}


def _flopgrid_imports(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, imported module) for every flopgrid import in `path`, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    rel_parts = path.relative_to(SRC).with_suffix("").parts
    here = ["flopgrid", *rel_parts] if rel_parts[-1] != "__init__" else ["flopgrid", *rel_parts[:-1], "__init__"]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "flopgrid"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "flopgrid":
                continue
            if mod == "flopgrid":  # `from flopgrid import x`: x may be a package
                out += [(node.lineno, f"flopgrid.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, mod))
    return out


def _target(module: str) -> str | None:
    """The top-level package of a flopgrid module; None for shared top-level modules."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    name = parts[1]
    return name if (SRC / name).is_dir() or name in RANKS else None


def _violations(package: str) -> list[str]:
    rank = RANKS.get(package, NON_LAYER_RANK.get(package))
    bad = []
    for path in sorted((SRC / package).rglob("*.py")):
        for line, mod in _flopgrid_imports(path, package):
            target = _target(mod)
            if target is None or target == package or mod in SIDEWAYS_MODULES.get(package, set()):
                continue
            where = f"{path.relative_to(SRC.parent)}:{line} imports {mod}"
            if target in ONLY_FROM.get(package, {target}) and RANKS.get(target, NON_LAYER_RANK.get(target, 99)) < rank:
                continue
            if package in ONLY_FROM and target not in ONLY_FROM[package]:
                bad.append(f"{where} ({package} may import only {', '.join(sorted(ONLY_FROM[package]))})")
            else:
                bad.append(f"{where} ({target} is not below {package} in the layer order)")
    return bad


@pytest.mark.parametrize("package", [*RANKS, *NON_LAYER_RANK])
def test_imports_point_down_the_layers(package):
    if not (SRC / package).is_dir():
        pytest.skip(f"flopgrid.{package} does not exist yet")
    assert _violations(package) == []


def test_every_package_has_a_place_in_the_layers():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(RANKS) | set(NON_LAYER_RANK), "add the new package to DESIGN.md's layers and RANKS"


def test_the_checker_catches_an_upward_import_inside_a_function(tmp_path):
    """The checker itself: a market module importing the simulator inside a function, and a
    relative import of the cli, are both reported."""
    fake = tmp_path / "flopgrid"
    (fake / "market").mkdir(parents=True)
    (fake / "sim").mkdir()
    (fake / "cli").mkdir()
    (fake / "market" / "__init__.py").write_text("from flopgrid.errors import UserInputError\n")
    (fake / "market" / "bad.py").write_text("def f():\n    from flopgrid.sim import engine\n"
                                             "    from ..cli import main\n    import flopgrid.catalog\n")
    global SRC
    old, SRC = SRC, fake
    try:
        bad = _violations("market")
    finally:
        SRC = old
    assert len(bad) == 2
    assert "flopgrid.sim" in bad[0] and "may import only" in bad[0]
    assert "flopgrid.cli" in bad[1]
