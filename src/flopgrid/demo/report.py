"""DIR/report.html of `flopgrid demo`: the summary (flopgrid vs the GPU-hour baseline, with
the ratio) and the charts: prices per pool and interval, allocations over time, useful work
per buyer dollar, where each class of job ran, the ledger's totals. Built with the simulate
report's pieces (`flopgrid.sim.report`: page, colours, charts; `report_money`: the
placement heat map), so the two markets have the colours of `market` and `gpuhour` there.
Self-contained (plotly.js embedded), written atomically."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from flopgrid.demo.figures import ratio
from flopgrid.demo.world import Day

POLICY = {"flopgrid": "market", "gpuhour": "gpuhour"}  # the sched names of the two markets (colours, panels)
ROWS: tuple[tuple[str, str, str], ...] = (
    ("useful_eflop", "useful EFLOP", "{:,.1f}"), ("fleet_mfu", "fleet MFU", "{:.1%}"),
    ("buyer_usd", "buyer USD", "{:,.2f}"), ("usd_per_useful_eflop", "buyer USD per useful EFLOP", "{:,.4f}"),
    ("eflop_per_usd", "useful EFLOP per buyer USD", "{:,.4f}"),
    ("provider_revenue_usd", "provider revenue USD", "{:,.2f}"), ("welfare_usd", "welfare USD", "{:,.2f}"),
    ("unserved_value_usd", "unserved value USD", "{:,.2f}"), ("cleared", "allocations cleared", "{:,}"),
    ("allocations_completed", "allocations completed", "{:,}"), ("failures", "failures", "{:,}"),
    ("restarts", "restarts from checkpoint", "{:,}"), ("ledger_balanced", "ledger balanced", "{}"),
)


def flat(fig: dict[str, Any]) -> dict[str, Any]:
    """One market's figures with the extras beside them (and useful EFLOP per buyer USD)."""
    out = {**{k: v for k, v in fig.items() if k != "extra"}, **fig["extra"]}
    out["eflop_per_usd"] = ratio(fig["useful_eflop"], fig["buyer_usd"])
    return out


def summary_rows(figs: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(label, flopgrid, gpuhour, ratio) per row; the ratio of numbers is flopgrid / gpuhour."""
    a, b = flat(figs[0]), flat(figs[1])
    rows = []
    for key, label, fmt in ROWS:
        x, y = a.get(key), b.get(key)
        r = ratio(x, y) if not isinstance(x, bool) and key != "ledger_balanced" else None
        rows.append((label, "-" if x is None else fmt.format(x), "-" if y is None else fmt.format(y),
                     "" if r is None else f"{r:.3f}x"))
    return rows


def _summary_html(figs: list[dict[str, Any]]) -> str:
    head = "<tr><th>figure</th><th>flopgrid (useful-FLOP market)</th><th>GPU-hour market</th><th>ratio</th></tr>"
    body = "".join(f"<tr><th scope=\"row\">{html.escape(r[0])}</th>" + "".join(f"<td>{html.escape(c)}</td>" for c in r[1:])
                   + "</tr>" for r in summary_rows(figs))
    return f'<table class="summary"><thead>{head}</thead><tbody>{body}</tbody></table>'


def _price_chart(days: list[Any], pools: list[str]):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from flopgrid.sim.report import Chart

    fig = make_subplots(rows=1, cols=len(days), shared_yaxes=True,
                        subplot_titles=[f"{d.label} ({d.market['id']})" for d in days])
    top = max((p["price_per_chip_hour"] for d in days for p in d.prices), default=1.0) or 1.0
    for k, d in enumerate(days, start=1):
        n = max((p["interval"] for p in d.prices), default=-1) + 1
        z = [[None] * n for _ in pools]
        text = [[""] * n for _ in pools]
        for p in d.prices:
            i = pools.index(p["pool"])
            z[i][p["interval"]] = p["price_per_chip_hour"]
            text[i][p["interval"]] = f"{p['pool']} h{p['interval']}: ${p['price_per_chip_hour']:.2f}, {p['cleared_chips']} chips"
        fig.add_trace(go.Heatmap(z=z, x=list(range(n)), y=pools, hovertext=text, hoverinfo="text", zmin=0, zmax=top,
                                 colorscale="Viridis", showscale=k == len(days), name=d.label,
                                 colorbar=dict(title="$/chip-h")), 1, k)
        fig.update_xaxes(title_text="interval (hour of the day)", row=1, col=k)
    fig.update_yaxes(title_text="pool", row=1, col=1)
    fig.update_layout(title="Prices per pool and interval", height=420, template="plotly_white", showlegend=False)
    return Chart(fig, "The uniform price of each pool in each hour, USD per chip-hour (the capacity rows' duals of "
                      "the day-ahead clearing), in the useful-FLOP market and in the GPU-hour market.")


def _allocation_chart(days: list[Any], intervals: int, colors: dict[str, str]):
    from flopgrid.sim.report import Series, line_chart

    series = []
    for d in days:
        chips = [0] * intervals
        for a in d.allocations:
            for t in range(a["start"], min(intervals, a["start"] + a["intervals"])):
                chips[t] += a["chips"]
        series.append(Series(POLICY[d.label], list(range(intervals)), chips))
    return line_chart(series, colors, "Allocations over time", "interval (hour of the day)", "chips allocated",
                      "Chips held by cleared allocations in each hour of the day, per market.")


def _ledger_chart(figs: list[dict[str, Any]], days: list[Any], colors: dict[str, str]):
    import plotly.graph_objects as go

    from flopgrid.sim.report import Chart, _layout

    accounts = sorted({a for f in figs for a in f["extra"]["ledger_totals_usd"]})
    fig = go.Figure([go.Bar(x=accounts, y=[f["extra"]["ledger_totals_usd"].get(a, 0.0) for a in accounts],
                            name=POLICY[d.label], marker=dict(color=colors[POLICY[d.label]])) for f, d in zip(figs, days)])
    fig.update_layout(barmode="group")
    return Chart(_layout(fig, "The ledger's totals", "account", "net USD (+ receives, - pays)"),
                 "Net of every account over the settled day: buyers pay, providers receive, the ISO's day-ahead "
                 "and real-time accounts hold what is left; each market's entries sum to zero.")


def charts(day: Day, days: list[Any], figs: list[dict[str, Any]]) -> list[Any]:
    from flopgrid.sim.report import bar_chart, policy_colors
    from flopgrid.sim.report_money import money_charts

    colors = policy_colors(list(POLICY.values()))
    runs = [({"policy": POLICY[d.label], "useful_eflop": f["useful_eflop"], "buyer_usd": f["buyer_usd"]},
             d.delivery["sim"].sim) for d, f in zip(days, figs)]
    per_usd = bar_chart({POLICY[d.label]: ratio(f["useful_eflop"], f["buyer_usd"]) or 0.0 for d, f in zip(days, figs)},
                        colors, "Useful work per buyer dollar", "useful work (EFLOP per USD)",
                        "Metered useful EFLOP divided by what the buyers paid in the settled ledger (day-ahead "
                        "positions, net of real-time credits for the providers' outages). Higher is better.")
    placement = money_charts(runs, colors)[1:]  # the simulate report's "where each class of job ran"
    return [_price_chart(days, [p.id for p in day.fleet.pools]), _allocation_chart(days, day.intervals, colors),
            per_usd, *placement, _ledger_chart(figs, days, colors)]


def write_report(out_dir: Path, day: Day, days: list[Any], figs: list[dict[str, Any]]) -> Path:
    from flopgrid.files import write_text_atomic
    from flopgrid.sim.report import render_html

    title = f"flopgrid demo: {len(day.jobs):,} buyers' jobs on {day.fleet.name}, {day.hours} h"
    subtitle = (f"{day.fleet.chips:,} chips in {len(day.fleet.pools)} pools (grid-mixed scaled down); seed {day.seed}; "
                f"markets {', '.join(d.label + ' ' + d.market['id'] for d in days)}. In the charts 'market' is flopgrid's "
                "useful-FLOP market and 'gpuhour' the GPU-hour baseline.")
    path = out_dir / "report.html"
    write_text_atomic(path, render_html(title, subtitle, _summary_html(figs), charts(day, days, figs)), "report")
    return path
