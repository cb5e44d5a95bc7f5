"""The demo's figures of one market day, from what the service answered (readings, ledger,
statements, allocations) and the buyers' own jobs; nothing here reads the database.

- useful_eflop: the metered useful EFLOP of every allocation (its latest reading);
- fleet_mfu: those useful FLOPs / (every pool's chips x dense peak x the day);
- buyer_usd: what the buyers paid, net of real-time credits (minus the sum of the ledger's
  `buyer:*` entries); provider_revenue_usd: the sum of its `provider:*` entries;
- usd_per_useful_eflop: buyer_usd / useful_eflop;
- welfare_usd: value delivered (each allocation's metered EFLOP x its buyer's value per
  EFLOP) minus the providers' cost (every allocated chip-hour at its pool's offer price);
- ledger_balanced: every transaction sums to zero and every statement says balanced;
- allocations_completed: allocations delivered to their end (the job finished or its gang
  ran until the allocation ended); restarts: gang restarts from a checkpoint after a
  provider failure; failures: allocations' gangs lost to a failure;
- unserved_value_usd: the buyers' value of the work that found no allocation (each job's
  work of the day on the reference hardware x its value per EFLOP).
"""

from __future__ import annotations

from typing import Any

from flopgrid.demo.world import Day, reference_intervals, work_flop
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.throughput import RateTable
from flopgrid.sim.traces.llm_market import REFERENCE_HARDWARE
from flopgrid.store.ledger import usd

CONTRACT_KEYS = ("useful_eflop", "fleet_mfu", "buyer_usd", "usd_per_useful_eflop", "provider_revenue_usd",
                 "welfare_usd", "ledger_balanced", "allocations_completed", "restarts")


def day_eflop(day: Day, job: JobSpec, rates: RateTable) -> float:
    """The job's work of the day: its work, capped at what its bid's hours deliver on the reference hardware."""
    rate = rates.reference_rate_flop_s(job.model, REFERENCE_HARDWARE, job.chips)
    return min(work_flop(job, rates), rate * reference_intervals(day, job, rates) * day.interval_s) / 1e18


def ledger_totals(ledger: list[dict[str, Any]]) -> dict[str, int]:
    """Net micro-USD per account over the transactions (+ receives, - pays)."""
    out: dict[str, int] = {}
    for t in ledger:
        for e in t["entries"]:
            out[e["account"]] = out.get(e["account"], 0) + int(e["amount_micro_usd"])
    return dict(sorted(out.items()))


def market_figures(day: Day, md: Any, jobs: dict[str, JobSpec], rates: RateTable,
                   outcome: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The contract figures (CONTRACT_KEYS) and the table's extras of one market day.
    `outcome`: allocation id -> {"completed": bool, "restarts": int, "failures": int}."""
    useful = sum(float(r.get("useful_eflop") or 0.0) for r in md.readings.values())
    totals = ledger_totals(md.ledger)
    buyer_micro = -sum(v for a, v in totals.items() if a.startswith("buyer:"))
    provider_micro = sum(v for a, v in totals.items() if a.startswith("provider:"))
    balanced = (all(int(t["total_micro_usd"]) == 0 for t in md.ledger) and sum(totals.values()) == 0
                and all(s["balanced"] for s in md.statements))
    asks = {p.id: float(p.price_per_chip_hour or 0.0) for p in day.fleet.pools}
    hours = day.interval_s / 3600.0
    value = sum(float(md.readings.get(a["id"], {}).get("useful_eflop") or 0.0) * float(jobs[a["bid"]].value_usd_per_eflop)
                for a in md.allocations)
    cost = sum(a["chips"] * a["intervals"] * hours * asks[a["pool"]] for a in md.allocations)
    served = {jobs[a["bid"]].id for a in md.allocations}
    unserved = sum(day_eflop(day, j, rates) * float(j.value_usd_per_eflop) for j in day.jobs if j.id not in served)
    peak = sum(p.chips * p.peak_flops_per_chip for p in day.fleet.pools) * day.hours * 3600.0
    buyer_usd = usd(buyer_micro)
    return {
        "useful_eflop": useful,
        "fleet_mfu": useful * 1e18 / peak if peak else 0.0,
        "buyer_usd": buyer_usd,
        "usd_per_useful_eflop": buyer_usd / useful if useful > 0 else None,
        "provider_revenue_usd": usd(provider_micro),
        "welfare_usd": value - cost,
        "ledger_balanced": balanced,
        "allocations_completed": sum(1 for o in outcome.values() if o["completed"]),
        "restarts": sum(int(o["restarts"]) for o in outcome.values()),
        # the table's and report's extras (not in the --json contract)
        "extra": {"market": md.market["id"], "bids": len(md.bids), "cleared": len(md.allocations),
                  "unserved_value_usd": unserved, "failures": sum(int(o["failures"]) for o in outcome.values()),
                  "value_delivered_usd": value, "ledger_totals_usd": {a: usd(v) for a, v in totals.items()}},
    }


def contract(fig: dict[str, Any]) -> dict[str, Any]:
    return {k: fig[k] for k in CONTRACT_KEYS}


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, None where either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b
