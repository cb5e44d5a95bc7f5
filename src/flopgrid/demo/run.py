"""`run_demo`: a day of the grid, then the same day under the GPU-hour market.

1. A fresh SQLite database in the output folder; the service on it in this process
   (`server.InProcessServer`, real HTTP on 127.0.0.1); an operator key.
2. Through the API: the providers of the demo fleet and the buyers register (keys from the
   operator), each provider registers its pool.
3. The flopgrid market (`max_price_per_eflop` bids), then the GPU-hour market (the same
   buyers' `gpuhour` bids, `world.gpuhour_bids`) on the same pools and horizon: each runs
   `market_day.run_market_day` (bids, gate closure, clearing, publication, delivery,
   readings, settlement with real-time re-clearing, statements).
4. Delivery: the fleet simulator (`delivery.deliver`, failures from the reliability model,
   the same failure draws for both markets); with `engine="ray"` the first `RAY_SLICE`
   allocations of the flopgrid market run as real tiny PyTorch gangs on a local Ray cluster
   through the dispatcher (`ray_slice`), the rest and the baseline in the simulator.
5. Figures (`figures.market_figures`) and the HTML report (`report.write_report`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flopgrid.demo import world
from flopgrid.demo.delivery import deliver
from flopgrid.demo.figures import contract, market_figures
from flopgrid.demo.market_day import MarketDay, Participants, horizon_for, run_market_day
from flopgrid.errors import UserInputError

log = logging.getLogger("flopgrid.demo")
ENGINES = ("sim", "ray")
MAX_HOURS = 48
MAX_SEED = 2**32 - 1
CLEAR_TIME_LIMIT_S = 600.0  # the day-ahead clearing ends at optimality (~2-20 s), not at a clock: same seed, same day


@dataclass
class DemoResult:
    figures: dict[str, Any]  # flopgrid market
    baseline: dict[str, Any]  # GPU-hour market
    days: list[MarketDay]
    db: Path
    report: Path | None
    wall_seconds: float
    url: str = ""
    operator_key: str = ""
    hours: int = 0
    jobs: int = 0
    chips: int = 0

    def as_json(self) -> dict[str, Any]:
        """The `flopgrid demo --json` contract."""
        return {**contract(self.figures), "baseline": contract(self.baseline), "db": str(self.db),
                "wall_seconds": self.wall_seconds}


def check_options(hours: int, engine: str, seed: int, inject_failure: bool) -> None:
    """Bad input (one line, exit 2) before anything starts, missing extras included."""
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn", "sqlalchemy", "httpx", "highspy", "plotly")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise UserInputError(f"flopgrid demo needs {', '.join(missing)}: pip install 'flopgrid[demo]'")
    if engine not in ENGINES:
        raise UserInputError(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
    if not 1 <= hours <= MAX_HOURS:
        raise UserInputError(f"--hours must be between 1 and {MAX_HOURS}, got {hours}")
    if not 0 <= seed <= MAX_SEED:
        raise UserInputError(f"--seed must be between 0 and {MAX_SEED}, got {seed}")
    if inject_failure and engine != "ray":
        raise UserInputError("--inject-failure kills a Ray worker: give it with --engine ray")


def _fresh_db(out_dir: Path) -> Path:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(f"--out {out_dir}: cannot create the folder ({exc.strerror or exc})") from None
    db = out_dir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


def _register(url: str, op_key: str, day: world.Day) -> Participants:
    from flopgrid.client import Client

    op = Client(url, op_key, timeout_s=120)
    parts = Participants(op, op_key, Client(url, op.create_participant("grid-dispatcher", "dispatcher")["key"]))
    for p in day.fleet.pools:
        name = world.provider_name(p)
        parts.providers[name] = Client(url, op.create_participant(name, "provider")["key"])
        parts.providers[name].register_pool(world.pool_body(p))
    for name in sorted({world.buyer_name(j) for j in day.jobs}):
        parts.buyers[name] = Client(url, op.create_participant(name, "buyer")["key"])
    return parts


def _sim_delivery(day: world.Day, jobs: dict, rates, seed: int, release_early: bool = False):
    def run(allocations: list[dict[str, Any]]):
        d = deliver(day.fleet, allocations, jobs, day.interval_s, day.hours * 3600.0, seed, rates, release_early)
        outcome = {lease.allocation: {"completed": lease.completed, "restarts": lease.restarts,
                                      "failures": lease.interruptions} for lease in d.leases}
        return d.readings, {"sim": d, "outcome": outcome}
    return run


def _ray_then_sim(day: world.Day, jobs: dict, rates, seed: int, root: Path, inject_failure: bool,
                  step: Callable[[str], None]):
    from flopgrid.demo.ray_slice import RAY_SLICE, run_slice

    sim = _sim_delivery(day, jobs, rates, seed)

    def run(allocations: list[dict[str, Any]]):
        ordered = sorted(allocations, key=lambda a: a["id"])
        real, rest = ordered[:RAY_SLICE], ordered[RAY_SLICE:]
        step(f"running {len(real)} allocation(s) as real PyTorch gangs on a local Ray cluster")
        ray_readings, ray_outcome, ray_result = run_slice(real, day.interval_s, root, inject_failure)
        readings, extra = sim(rest)
        readings.update(ray_readings)
        extra["outcome"].update(ray_outcome)
        extra["ray"] = ray_result
        return readings, extra
    return run


def run_demo(out_dir: Path, seed: int = 0, hours: int = 24, engine: str = "sim", inject_failure: bool = False,
             step: Callable[[str], None] = lambda _: None, keep_serving: bool = False,
             release_early: bool = False) -> tuple[DemoResult, Any]:
    """Run the demo; returns (result, the server, still running when `keep_serving`, else None).
    `release_early`: the simulated readings report early releases (`delivery.deliver`; the
    sensitivity `bench/demo.py --release-early` measures), with the simulator only."""
    from flopgrid.api.participants.service import create_key
    from flopgrid.demo.server import InProcessServer
    from flopgrid.sim.throughput import RateTable
    from flopgrid.store import open_store

    check_options(hours, engine, seed, inject_failure)
    t0 = time.perf_counter()
    db = _fresh_db(out_dir)
    step("the day's fleet and buyers")
    fleet = world.demo_fleet()
    rates = RateTable(fleet)
    day = world.demo_day(hours, seed, rates, fleet)
    fg_bids = [world.flopgrid_bid(day, j, rates) for j in day.jobs]
    gh = world.gpuhour_bids(day, rates)
    gh_bids = [gh[j.id] for j in day.jobs if gh[j.id] is not None]
    by_id = {j.id: j for j in day.jobs}
    jobs = {b["id"]: by_id[b["id"].split("-", 1)[1]] for b in fg_bids + gh_bids}  # bid id -> the buyer's job
    store = open_store(f"sqlite:///{db}", upgrade=True)
    op_key = create_key(store, "iso", "operator").key
    server = InProcessServer(store, clear_time_limit_s=CLEAR_TIME_LIMIT_S).start()
    parts = None
    try:
        step(f"service on {server.url}: registering {len(day.fleet.pools)} providers and their pools")
        parts = _register(server.url, op_key, day)
        horizon = horizon_for(day.intervals, world.INTERVAL_MINUTES)
        fg_deliver = (_ray_then_sim(day, jobs, rates, seed, out_dir / "ray", inject_failure, step) if engine == "ray"
                      else _sim_delivery(day, jobs, rates, seed, release_early))
        days = [run_market_day(parts, "flopgrid", fg_bids, horizon, fg_deliver, step),
                run_market_day(parts, "gpuhour", gh_bids, horizon, _sim_delivery(day, jobs, rates, seed, release_early),
                               step)]
        figs = [market_figures(day, d, jobs, rates, d.delivery["outcome"]) for d in days]
        step("writing the report")
        from flopgrid.demo.report import write_report

        report = write_report(out_dir, day, days, figs)
        result = DemoResult(figs[0], figs[1], days, db, report, time.perf_counter() - t0, server.url, op_key,
                            hours, len(day.jobs), day.fleet.chips)
    except BaseException:
        server.stop()
        store.close()
        raise
    finally:
        if parts is not None:
            parts.close()
    if keep_serving:
        return result, server
    server.stop()
    store.close()
    return result, None
