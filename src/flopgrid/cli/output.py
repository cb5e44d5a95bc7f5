"""Shared CLI plumbing: JSON vs. human output, warnings, numbers with units."""

from __future__ import annotations

import json
import math
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return _jsonable(value.model_dump())
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return _jsonable(dataclasses.asdict(value))
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def compact_table(title: str, columns: list[str], caption: str | None = None) -> Table:
    """A borderless table that fits 80 columns: first column left-aligned, the rest right,
    no wrapping inside cells."""
    from rich import box

    t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, caption=caption)
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right", no_wrap=True)
    return t


def print_table(table: Table, out: Console | None = None) -> None:
    """Print `table` whole, never a cell cut short ("23.…"): when its natural width exceeds
    the console's (80 columns in a pipe), first without the outer edge, then as several
    tables of consecutive columns, each repeating the first (key) column; the title goes on
    the first part and the caption below the last, as a line of its own."""
    from rich.measure import Measurement

    out = out or console
    cols = table.columns

    def part(group: list[int], title: bool = True, caption: bool = True, edge: bool = True) -> Table:
        t = Table(title=table.title if title else None, caption=table.caption if caption else None, box=table.box,
                  pad_edge=table.pad_edge, show_edge=table.show_edge and edge, padding=table.padding,
                  collapse_padding=table.collapse_padding)
        for i in group:
            t.add_column(cols[i].header, justify=cols[i].justify, no_wrap=True)
        for r in range(len(cols[0]._cells)):
            t.add_row(*(cols[i]._cells[r] for i in group))
        return t

    def natural_width(t: Table) -> int:
        return Measurement.get(out, out.options.update(width=10**4), t).maximum

    everything = list(range(len(cols)))
    if natural_width(part(everything, caption=False)) <= out.width or len(cols) <= 2:
        out.print(table)
        return
    narrow = part(everything, caption=False, edge=False)
    if natural_width(narrow) <= out.width:
        out.print(part(everything, edge=False))
        return
    groups: list[list[int]] = [[0]]
    for i in range(1, len(cols)):
        if len(groups[-1]) > 1 and natural_width(part([*groups[-1], i], caption=False, edge=False)) > out.width:
            groups.append([0])
        groups[-1].append(i)
    for k, group in enumerate(groups):
        out.print(part(group, title=k == 0, caption=False, edge=False))
    if table.caption:
        out.print(table.caption, style="table.caption", justify="center")


def emit(result: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], None]) -> None:
    """Print `result` as JSON (stdout, the contract) or through `render` (human)."""
    if as_json:
        sys.stdout.write(json.dumps(_jsonable(result), indent=2) + "\n")
    else:
        render(result)


def warn(message: str) -> None:
    """One warning line on stderr."""
    err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)  # one line


def show_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        warn(str(w.message))


@contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Show every Python warning raised inside the block as one `warning:` line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    show_warnings(caught)


def load_model_cli(model: str, seq_len: int | None = None):
    """A model from a catalog name or spec file, its warnings shown as lines. A given
    `seq_len` (`--seq-len`) replaces the model's and silences the warning of a config.json
    that states no training length."""
    from flopgrid.catalog import load_model
    from flopgrid.catalog.model_loading import SeqLenWarning
    from flopgrid.errors import require_positive

    if seq_len is not None:
        require_positive(seq_len, "--seq-len")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = load_model(model)
    show_warnings([w for w in caught if seq_len is None or not issubclass(w.category, SeqLenWarning)])
    return spec if seq_len is None else spec.model_copy(update={"seq_len": seq_len})


def si(value: float, unit: str = "FLOP/s") -> str:
    """12.3 TFLOP/s style formatting."""
    if value is None or not math.isfinite(value):
        return "n/a"
    for factor, prefix in ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def pct(value: float) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def gap_pct(gap: float | None) -> str:
    """A MIP gap as a percentage; a solver's round-off (below 1e-6 %) reads as 0%."""
    if gap is None:
        return "n/a"
    return "0%" if abs(gap) < 1e-8 else f"{100 * gap:.3g}%"


def write_text_atomic(path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename (`flopgrid.files`)."""
    from flopgrid.files import write_text_atomic as write

    write(path, text)
