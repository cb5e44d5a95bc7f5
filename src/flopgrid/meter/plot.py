"""`flopgrid meter report --plot OUT.html`: a step-time timeline with badput bands (Plotly).

x = seconds since the run's first event (rank 0, or the lowest rank read); markers =
each step's time (data wait + compute), re-done steps marked as wasted; shaded bands =
initialization, checkpoint save / restore, disruption recovery and wasted progress.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flopgrid.meter.badput import _sessions, account_rank

BAND_COLORS = {
    "initialization": "rgba(120,120,120,0.25)",
    "checkpoint_save": "rgba(31,119,180,0.30)",
    "checkpoint_restore": "rgba(44,160,44,0.30)",
    "disruption_recovery": "rgba(214,39,40,0.30)",
    "wasted_progress": "rgba(255,127,14,0.30)",
}


def badput_bands(events: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """(category, start, end) intervals in Unix seconds for one rank's events."""
    bands: list[tuple[str, float, float]] = []
    steps = [e for e in events if e["event"] == "step"]
    last_index = {int(e["step"]): i for i, e in enumerate(steps)}
    prev_end = None
    for session in _sessions(events):
        start = next((float(e["t"]) for e in session if e["event"] == "start"), None)
        s_steps = [e for e in session if e["event"] == "step"]
        if start is not None and s_steps:
            bands.append(("initialization", start, float(s_steps[0]["t0"])))
        if prev_end is not None and start is not None:
            bands.append(("disruption_recovery", prev_end, start))
        prev_end = max(float(e["t"]) for e in session)
        for e in session:
            if e["event"] in ("checkpoint_save", "checkpoint_restore"):
                bands.append((e["event"], float(e["t0"]), float(e["t"])))
    for i, e in enumerate(steps):
        if last_index[int(e["step"])] != i:
            bands.append(("wasted_progress", float(e["t0"]), float(e["t"])))
    return bands


def write_timeline(events: list[dict[str, Any]], out: str | Path) -> Path:
    """Write the HTML timeline of the lowest rank in `events`; returns the path."""
    import plotly.graph_objects as go

    rank = min(int(e.get("rank", 0)) for e in events)
    mine = [e for e in events if int(e.get("rank", 0)) == rank]
    acc = account_rank(mine, rank)
    t0 = acc.first_t
    steps = [e for e in mine if e["event"] == "step"]
    last_index = {int(e["step"]): i for i, e in enumerate(steps)}
    fig = go.Figure()
    for wasted in (False, True):
        sel = [e for i, e in enumerate(steps) if (last_index[int(e["step"])] != i) == wasted]
        if sel:
            fig.add_trace(go.Scatter(
                x=[float(e["t"]) - t0 for e in sel], y=[float(e["data_s"]) + float(e["compute_s"]) for e in sel],
                mode="markers+lines" if not wasted else "markers", name="wasted step" if wasted else "step time",
                text=[f"step {e['step']}: compute {e['compute_s']:.3f} s, data {e['data_s']:.3f} s" for e in sel],
                marker={"color": "#ff7f0e" if wasted else "#1f77b4", "size": 6}))
    fig.add_trace(go.Bar(x=[float(e["t0"]) - t0 for e in steps], y=[float(e["data_s"]) for e in steps],
                         name="data loading wait", marker_color="rgba(148,103,189,0.7)"))
    seen: set[str] = set()
    for category, a, b in badput_bands(mine):
        # label each category once (an annotation_text of None makes plotly print "new text")
        label = {} if category in seen else {"annotation_text": category, "annotation_position": "top left"}
        fig.add_vrect(x0=a - t0, x1=b - t0, fillcolor=BAND_COLORS[category], line_width=0, **label)
        seen.add(category)
    bad = ", ".join(f"{k} {v:.2f} s" for k, v in acc.badput_s.items() if abs(v) > 1e-9)
    fig.update_layout(title=f"rank {rank}: {acc.steps} steps, wall {acc.wall_s:.2f} s, productive "
                            f"{acc.productive_s:.2f} s<br><sup>badput: {bad}</sup>",
                      xaxis_title="seconds since start", yaxis_title="step time (s)", template="plotly_white")
    from flopgrid.files import write_text_atomic

    path = Path(out)
    write_text_atomic(path, fig.to_html(include_plotlyjs=True), "plot")  # self-contained, never half-written
    return path
