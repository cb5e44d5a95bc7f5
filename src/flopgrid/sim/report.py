"""HTML report of one or several simulation runs: a title, a summary table, and one chart
per question (utilisation over time, queue length, JCT CDF, MFU distribution, work lost
to failures, useful EFLOP per policy), each with labelled axes (units), a caption, and the
same colour for a policy in every chart (`policy_colors`). Self-contained: plotly.js is
embedded once, the file opens offline. An edge: writes a file, atomically.

Layout helpers for more charts: build a `Chart` (a Plotly figure and its caption) with
`line_chart` / `bar_chart` / `histogram_chart`, add it to the list `charts` returns, and it
gets the shared colours, legend (one entry per policy) and caption styling.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flopgrid.errors import UserInputError
from flopgrid.sim.engine import Simulation
from flopgrid.sim.jobs import COMPLETED

MAX_POINTS = 2000
# One colour per policy in every chart (Okabe-Ito colour-blind-safe palette); policies not
# listed take the remaining colours in order.
POLICY_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")
KNOWN_POLICIES = ("fifo", "backfill", "las", "goodput", "market", "gpuhour")


def policy_colors(policies: list[str]) -> dict[str, str]:
    """A fixed colour per policy name: known policies always get the same colour."""
    spare = itertools.cycle(POLICY_PALETTE[len(KNOWN_POLICIES):])
    return {p: POLICY_PALETTE[KNOWN_POLICIES.index(p)] if p in KNOWN_POLICIES else next(spare) for p in policies}


@dataclass
class Chart:
    """One chart of the report: a Plotly figure and the caption printed under it."""

    figure: Any
    caption: str


@dataclass
class Series:
    """One policy's data for a chart."""

    policy: str
    x: Any
    y: Any = None


def _layout(fig: Any, title: str, x_title: str, y_title: str) -> Any:
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=420, margin=dict(t=60, b=60),
                      legend_title_text="policy", template="plotly_white")
    return fig


def line_chart(series: list[Series], colors: dict[str, str], title: str, x_title: str, y_title: str,
               caption: str) -> Chart:
    import plotly.graph_objects as go

    fig = go.Figure([go.Scatter(x=s.x, y=s.y, name=s.policy, mode="lines", line=dict(color=colors[s.policy]))
                     for s in series])
    return Chart(_layout(fig, title, x_title, y_title), caption)


def histogram_chart(series: list[Series], colors: dict[str, str], title: str, x_title: str, y_title: str,
                    caption: str) -> Chart:
    import plotly.graph_objects as go

    fig = go.Figure([go.Histogram(x=s.x, name=s.policy, opacity=0.6, marker=dict(color=colors[s.policy]))
                     for s in series])
    fig.update_layout(barmode="overlay")
    return Chart(_layout(fig, title, x_title, y_title), caption)


def bar_chart(values: dict[str, float], colors: dict[str, str], title: str, y_title: str, caption: str) -> Chart:
    import plotly.graph_objects as go

    fig = go.Figure([go.Bar(x=[p], y=[v], name=p, marker=dict(color=colors[p])) for p, v in values.items()])
    return Chart(_layout(fig, title, "policy", y_title), caption)


def _thin(x: list[float], *ys: list[float]) -> tuple[np.ndarray, ...]:
    idx = np.unique(np.linspace(0, len(x) - 1, min(len(x), MAX_POINTS)).astype(int)) if x else np.zeros(0, int)
    return (np.asarray(x)[idx] / 3600.0, *(np.asarray(y)[idx] for y in ys))


def charts(runs: list[tuple[dict[str, Any], Simulation]], colors: dict[str, str]) -> list[Chart]:
    """The report's charts, in order."""
    from flopgrid.sim.report_money import money_charts

    util, queue, jct, mfu, lost = [], [], [], [], []
    for metrics, sim in runs:
        name, c = metrics["policy"], sim.c
        t, busy, q, lost_flop = _thin(c.series_t, c.series_busy, c.series_queue, c.series_lost_flop)
        util.append(Series(name, t, 100.0 * busy / sim.fleet.chips))
        queue.append(Series(name, t, q))
        lost.append(Series(name, t, lost_flop / 1e18))
        done = np.sort([(j.end_s - j.spec.submit_s) / 3600 for j in sim.jobs if j.state == COMPLETED])
        k = np.unique(np.linspace(0, done.size - 1, min(done.size, MAX_POINTS)).astype(int)) if done.size else []
        jct.append(Series(name, done[k] if done.size else [], (np.asarray(k) + 1) / max(done.size, 1)))
        mfu.append(Series(name, [100.0 * sim.rates.mfu(j.spec.model, j.pool, j.gang)
                                 for j in sim.jobs if j.state == COMPLETED and j.pool >= 0][:50000]))
    return [
        line_chart(util, colors, "Utilisation over time", "time since the first submission (hours)",
                   "busy chips (% of the fleet)", "Share of the fleet's chips running a job. Higher is better; "
                   "gaps mean idle capacity while jobs may still be waiting."),
        line_chart(queue, colors, "Queue length", "time since the first submission (hours)", "jobs waiting",
                   "Jobs submitted but not yet started."),
        line_chart(jct, colors, "Job completion time (CDF)", "job completion time, submit to end (hours)",
                   "fraction of completed jobs", "Curves further left and higher finish jobs sooner."),
        histogram_chart(mfu, colors, "MFU of completed jobs", "model FLOPs utilisation (%)", "jobs",
                        "Per-job MFU the performance model gives for the pool and gang each job ran on."),
        line_chart(lost, colors, "Work lost to failures", "time since the first submission (hours)",
                   "useful EFLOP lost (cumulative)", "Progress since the last checkpoint lost when a chip failed."),
        bar_chart({m["policy"]: m["useful_eflop"] for m, _ in runs}, colors, "Useful work delivered",
                  "useful EFLOP (1e18 FLOPs)", "Model FLOPs of finished training, per policy."),
        *money_charts(runs, colors),
    ]


SUMMARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("completed", "jobs done", "{:,}"), ("avg_jct_h", "mean JCT (h)", "{:.2f}"), ("p99_jct_h", "p99 JCT (h)", "{:.1f}"),
    ("makespan_h", "makespan (h)", "{:.1f}"), ("utilization", "utilisation", "{:.1%}"),
    ("fleet_mfu", "fleet MFU", "{:.1%}"), ("goodput_fraction", "goodput", "{:.1%}"),
    ("useful_eflop", "useful EFLOP", "{:,.0f}"), ("lost_eflop_failures", "EFLOP lost to failures", "{:,.1f}"),
    ("buyer_usd", "buyer USD", "{:,.0f}"), ("usd_per_useful_eflop", "USD per useful EFLOP", "{:,.3f}"),
    ("idle_chip_hours", "idle chip-hours", "{:,.0f}"),
)


def summary_table(results: list[dict[str, Any]], colors: dict[str, str]) -> str:
    """The summary as an HTML table: one row per policy, its colour swatch first."""
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in SUMMARY_COLUMNS)
    rows = []
    for m in results:
        cells = "".join(f"<td>{fmt.format(m[key])}</td>" if m.get(key) is not None else "<td>-</td>"
                        for key, _, fmt in SUMMARY_COLUMNS)
        swatch = f'<span class="swatch" style="background:{colors[m["policy"]]}"></span>'
        rows.append(f"<tr><th scope=\"row\">{swatch}{html.escape(m['policy'])}</th>{cells}</tr>")
    return (f'<table class="summary"><thead><tr><th>policy</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}.sub{color:#555}table.summary{border-collapse:collapse;margin:1em 0;font-size:.95em}
.summary th,.summary td{border-bottom:1px solid #ddd;padding:.35em .7em;text-align:right}
.summary th[scope=row],.summary thead th:first-child{text-align:left}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em;border-radius:2px}
figure{margin:1.5em 0}figcaption{color:#444;font-size:.95em;margin:.2em 0 0 1em}"""


def render_html(title: str, subtitle: str, summary_html: str, chart_list: list[Chart]) -> str:
    """One self-contained page: title, subtitle, summary table, charts with captions."""
    from plotly.offline import get_plotlyjs

    figures = []
    for i, ch in enumerate(chart_list, 1):
        div = ch.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{i}")
        figures.append(f"<figure>{div}<figcaption>Figure {i}. {html.escape(ch.caption)}</figcaption></figure>")
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style><script>{get_plotlyjs()}</script></head><body>"
            f"<h1>{html.escape(title)}</h1><p class=\"sub\">{html.escape(subtitle)}</p>"
            f"<h2>Summary</h2>{summary_html}<h2>Charts</h2>{''.join(figures)}</body></html>")


def write_report(runs: list[tuple[dict[str, Any], Simulation]], out_dir: Path) -> Path:
    """Write `out_dir/report.html` (atomically); returns its path."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        raise UserInputError("--report needs plotly: pip install 'flopgrid[sim]'") from None
    from flopgrid.files import write_text_atomic

    results = [m for m, _ in runs]
    colors = policy_colors([m["policy"] for m in results])
    fleet = runs[0][1].fleet
    first = results[0]
    title = f"flopgrid simulate: {first['jobs']:,} jobs on {fleet.name}"
    subtitle = (f"{fleet.chips:,} chips in {len(fleet.pools)} pool(s); policies: "
                f"{', '.join(m['policy'] for m in results)}. Times in hours from the first submission.")
    page = render_html(title, subtitle, summary_table(results, colors), charts(runs, colors))
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(f"cannot create the report folder {out_dir}: {exc.strerror or exc}") from None
    path = out_dir / "report.html"
    try:
        write_text_atomic(path, page, "report")
    except UserInputError:
        if created:
            out_dir.rmdir()
        raise
    return path
