"""Readings of a lease for settlement, from its ranks' meter logs and its failures.

A reading is the service's `Reading` (the market's `MeteredAllocation`): `useful_eflop` =
the meter's useful FLOPs (tokens of the steps that count, re-done steps once, x model
FLOPs per token: PaLM App. B) / 1e18; `provider_outage_minutes` = the outage of every
provider-caused failure (lost work since the last checkpoint + downtime until the next
gang ran); `badput_s` by the meter's categories (Google ml-goodput-measurement taxonomy:
`wasted_progress` = re-done steps) and `productive_s`. Readings are cumulative: the
latest one of an allocation is what settles.

Sinks: `ClientSink` posts to `POST /v1/allocations/{id}/readings` as the `dispatcher`
role; `StoreSink` writes through the same service function in-process.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from flopgrid.dispatch.lease import Lease

log = logging.getLogger(__name__)


def rank_logs(run_dir: Path) -> list[Path]:
    return sorted(Path(run_dir).glob("run*.jsonl"))


def meter_figures(run_dir: Path) -> dict[str, Any]:
    """The meter report of a run directory (all ranks, all attempts), or zeros before any step."""
    from flopgrid.errors import UserInputError
    from flopgrid.meter import build_report, merge_logs

    logs = rank_logs(run_dir)
    try:
        report = build_report(merge_logs(logs)) if logs else None
    except UserInputError:
        report = None
    if report is None:
        return {"useful_flops": 0.0, "productive_s": 0.0, "badput_s": {}, "steps": 0, "wasted_steps": 0,
                "sessions": 0, "mfu": 0.0}
    return {"useful_flops": report.useful_flops, "productive_s": report.productive_s, "badput_s": report.badput_s,
            "steps": report.steps, "wasted_steps": report.wasted_steps, "sessions": report.sessions,
            "mfu": report.mfu}


def last_progress(run_dir: Path) -> dict[str, Any]:
    """From the ranks' logs: the last step executed, the last checkpoint (step, time) and the
    start of the last session (the work since max(checkpoint, session start) is lost on a crash)."""
    from flopgrid.meter import read_events

    last_step, ckpt_step, ckpt_t, session_t = -1, -1, None, None
    for p in rank_logs(run_dir):
        try:
            events = read_events(p).events
        except Exception:  # noqa: BLE001 - a log cut mid-line by a kill is read up to it
            continue
        for e in events:
            if e["event"] == "step":
                last_step = max(last_step, int(e["step"]))
            elif e["event"] == "checkpoint_save" and int(e["step"]) >= ckpt_step:
                ckpt_step, ckpt_t = int(e["step"]), float(e["t"])
            elif e["event"] == "start":
                session_t = max(session_t or 0.0, float(e["t"]))
    return {"last_step": last_step, "checkpoint_step": ckpt_step, "checkpoint_unix_s": ckpt_t,
            "session_start_unix_s": session_t}


def reading_for(lease: Lease, run_dir: Path) -> dict[str, Any]:
    m = meter_figures(run_dir)
    badput = {k: round(v, 6) for k, v in m["badput_s"].items()}
    badput["provider_outage"] = round(lease.provider_outage_s(), 6)
    return {"useful_eflop": m["useful_flops"] / 1e18, "provider_outage_minutes": lease.provider_outage_s() / 60.0,
            "badput_s": badput, "productive_s": m["productive_s"]}


class ReadingSink(Protocol):
    def post(self, allocation_id: int, reading: dict[str, Any]) -> None: ...


class ClientSink:
    """Readings to the service as the `dispatcher` role (`flopgrid.client.Client`)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def post(self, allocation_id: int, reading: dict[str, Any]) -> None:
        self.client.post_reading(allocation_id, reading)


class StoreSink:
    """Readings straight into a store (dispatcher in the service's process), through the
    same service function the endpoint uses."""

    def __init__(self, store: Any, caller: Any) -> None:
        self.store, self.caller = store, caller  # caller: flopgrid.api.auth.Caller of a dispatcher participant

    def post(self, allocation_id: int, reading: dict[str, Any]) -> None:
        from flopgrid.api.allocations.schemas import Reading
        from flopgrid.api.allocations.service import post_reading

        post_reading(self.store, self.caller, allocation_id, Reading.model_validate(reading))


class NullSink:
    def post(self, allocation_id: int, reading: dict[str, Any]) -> None:
        log.debug("reading for allocation %s not sent: %s", allocation_id, reading)
