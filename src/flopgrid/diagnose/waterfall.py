"""`flopgrid diagnose --plot`: a waterfall from the chip's peak (100% MFU) to the measured
MFU: the model's own losses at the best plan (100% - ceiling) down to the ceiling, the
plan choice down to the declared plan's prediction, then each other gap part
(flopgrid.diagnose.gap), ending at the measured MFU. Self-contained Plotly HTML (the
plotly.js bundle embedded), returned as a string; the CLI writes it."""

from __future__ import annotations

from flopgrid.diagnose.gap import GAP_PARTS

LABELS: dict[str, str] = {
    "plan_choice": "plan choice", "step_time_excess": "step-time excess", "stragglers": "stragglers",
    "initialization": "initialisation", "data_loading": "data loading", "checkpoint_save": "checkpoint save",
    "checkpoint_restore": "checkpoint restore", "wasted_progress": "wasted progress",
    "disruption_recovery": "disruption", "other": "other badput",
}


def waterfall_html(result: dict, title: str) -> str:
    """The waterfall of a `Diagnosis.as_dict()` result, as a complete HTML page."""
    import plotly.graph_objects as go

    x = ["peak", "model losses at the best plan", "ceiling"]
    y = [100.0, 100.0 * (result["ceiling_mfu"] - 1.0), 0.0]  # a "total" bar's y is ignored: the running sum
    measure = ["absolute", "relative", "total"]
    for k in GAP_PARTS:
        if result["gap_parts"][k] != 0.0:
            x.append(LABELS[k])
            y.append(-100.0 * result["gap_parts"][k])
            measure.append("relative")
        if k == "plan_choice":
            x.append("predicted (declared plan)")
            y.append(0.0)
            measure.append("total")
    x.append("measured")
    y.append(100.0 * result["measured_mfu"])
    measure.append("total")
    totals = {"ceiling": result["ceiling_mfu"], "predicted (declared plan)": result["predicted_mfu"]}
    text = [f"{v:+.2f}" if m == "relative" else f"{100.0 * totals.get(lbl, v / 100.0):.2f}"
            for lbl, v, m in zip(x, y, measure)]
    fig = go.Figure(go.Waterfall(x=x, y=y, measure=measure, text=text, textposition="outside",
                                 connector={"line": {"color": "#888"}}))
    fig.update_layout(title=title, yaxis_title="MFU (%)", showlegend=False, template="plotly_white")
    return fig.to_html(include_plotlyjs=True, full_html=True)
