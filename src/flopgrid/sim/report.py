"""HTML report of one or several simulation runs (Plotly charts): utilisation over time,
queue length, JCT CDF, MFU distribution, work lost to failures. An edge: writes files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from flopgrid.errors import UserInputError
from flopgrid.sim.engine import Simulation
from flopgrid.sim.jobs import COMPLETED

MAX_POINTS = 2000


def _thin(x: list[float], *ys: list[float]) -> tuple[np.ndarray, ...]:
    idx = np.unique(np.linspace(0, len(x) - 1, min(len(x), MAX_POINTS)).astype(int)) if x else np.zeros(0, int)
    return (np.asarray(x)[idx] / 3600.0, *(np.asarray(y)[idx] for y in ys))


def write_report(runs: list[tuple[dict[str, Any], Simulation]], out_dir: Path) -> Path:
    """Write `out_dir/report.html`; returns its path."""
    try:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots
    except ImportError:
        raise UserInputError("--report needs plotly: pip install 'flopgrid[sim]'") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    fig = make_subplots(rows=3, cols=2, subplot_titles=(
        "utilisation over time", "queue length", "JCT CDF (h)", "MFU of completed jobs",
        "useful EFLOP lost to failures (cumulative)", "summary"))
    for metrics, sim in runs:
        name = metrics["policy"]
        c = sim.c
        t, busy, q, lost = _thin(c.series_t, c.series_busy, c.series_queue, c.series_lost_flop)
        fig.add_trace(go.Scatter(x=t, y=busy / sim.fleet.chips, name=f"{name} util", mode="lines"), 1, 1)
        fig.add_trace(go.Scatter(x=t, y=q, name=f"{name} queue", mode="lines"), 1, 2)
        jct = np.sort([(j.end_s - j.spec.submit_s) / 3600 for j in sim.jobs if j.state == COMPLETED])
        if jct.size:
            k = np.unique(np.linspace(0, jct.size - 1, min(jct.size, MAX_POINTS)).astype(int))
            fig.add_trace(go.Scatter(x=jct[k], y=(k + 1) / jct.size, name=f"{name} JCT", mode="lines"), 2, 1)
        mfu = [sim.rates.mfu(j.spec.model, j.pool, j.gang) for j in sim.jobs if j.state == COMPLETED and j.pool >= 0]
        fig.add_trace(go.Histogram(x=mfu[:50000], name=f"{name} MFU", opacity=0.6), 2, 2)
        fig.add_trace(go.Scatter(x=t, y=lost / 1e18, name=f"{name} lost EFLOP", mode="lines"), 3, 1)
        fig.add_trace(go.Bar(x=[name], y=[metrics["useful_eflop"]], name=f"{name} useful EFLOP"), 3, 2)
    fig.update_layout(height=1100, title=f"flopgrid simulate: {runs[0][1].fleet.name}")
    path = out_dir / "report.html"
    fig.write_html(str(path), include_plotlyjs=True)  # self-contained: opens offline
    from flopgrid.sim.report_money import add_money_panels

    add_money_panels(runs, path)
    return path
