"""`flopgrid dispatch`: run a cleared market's allocations as gangs on Ray, recover them from
failures, send their readings to the server (as the `dispatcher` role), report."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Optional

import typer

from flopgrid.cli.client_cmd import JSON, KEY, SERVER, _client
from flopgrid.cli.output import compact_table, console, emit
from flopgrid.errors import UserInputError

ENGINES = ("ray",)


def register(app: typer.Typer) -> None:
    @app.command("dispatch")
    def dispatch(
        market: str = typer.Option(..., "--market", help="id of a cleared market"),
        server: str = SERVER,
        key: Optional[str] = KEY,
        engine: str = typer.Option("ray", "--engine", help="execution engine: ray"),
        address: str = typer.Option("local", "--address",
                                    help="Ray cluster: auto (a running one), local (start one here), or host:port"),
        job: str = typer.Option("flopgrid.examples.gang_gpt:train", "--job", show_default=False,
                                help="the training function every rank runs, as module:function "
                                     "(default: the bundled small GPT, trained with DDP on gloo)"),
        params: Optional[str] = typer.Option(None, "--params", help="JSON object passed to the job as ctx.params"),
        steps: int = typer.Option(20, "--steps", min=1, help="training steps per allocation"),
        checkpoint_every: int = typer.Option(5, "--checkpoint-every", min=0, help="steps between checkpoints (0: none)"),
        run_dir: Optional[Path] = typer.Option(None, "--run-dir",
                                               help="directory all ranks share (checkpoints, meter logs, state.json)"),
        policy: str = typer.Option("fifo", "--policy", help="sched policy that orders the gangs (fifo, backfill, ...)"),
        max_retries: int = typer.Option(3, "--max-retries", min=0, help="failures tolerated per allocation"),
        heartbeat_s: float = typer.Option(1.0, "--heartbeat", min=0.05, help="seconds between rank heartbeats"),
        heartbeat_timeout_s: float = typer.Option(30.0, "--heartbeat-timeout", min=0.1,
                                                  help="a rank silent this long is lost (provider)"),
        timeout_s: Optional[float] = typer.Option(None, "--timeout", min=1, help="stop everything after this many seconds"),
        chips: Optional[int] = typer.Option(None, "--chips", min=1, help="--address local on CPU: chip slots (default: CPUs)"),
        as_json: bool = JSON,
    ) -> None:
        """Run a cleared market's allocations on Ray; readings go to the server."""
        if engine not in ENGINES:
            raise UserInputError(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
        try:
            job_params = json.loads(params) if params else {}
        except ValueError as exc:
            raise UserInputError(f"--params {params!r}: not JSON ({exc})") from None
        if not isinstance(job_params, dict):
            raise UserInputError(f"--params {params!r}: give a JSON object")
        from flopgrid.dispatch import JobSpec, load_entry
        from flopgrid.sched import make_policy

        load_entry(job)  # a bad entry is refused before anything starts
        pol = make_policy(policy)
        try:
            import ray  # noqa: F401
        except ImportError:
            raise UserInputError("--engine ray needs Ray: pip install 'flopgrid[ray]'") from None
        from flopgrid.dispatch.gang import GangTiming
        from flopgrid.dispatch.local import connect
        from flopgrid.dispatch.service import dispatch_market

        with _client(server, key) as client:
            from flopgrid.dispatch.service import market_orders

            market_orders(client, market)  # refused before Ray starts when the market is not cleared
            where = connect(address, chips=chips)
            root = run_dir or Path(tempfile.mkdtemp(prefix=f"flopgrid-dispatch-{market}-"))
            spec = JobSpec(entry=job, steps=steps, checkpoint_every=checkpoint_every, params=job_params)
            spec = _with_peak(spec)
            from flopgrid.dispatch.dispatcher import RetryPolicy

            try:
                result = dispatch_market(client, market, spec, root, policy=pol, timeout_s=timeout_s,
                                         timing=GangTiming(heartbeat_s=heartbeat_s, heartbeat_timeout_s=max(heartbeat_timeout_s, 2 * heartbeat_s)),
                                         retry=RetryPolicy(max_retries=max_retries))
            finally:
                import ray

                ray.shutdown()
        out = {"market": market, "engine": engine, "cluster": where, "run_dir": str(root), **result.as_dict()}
        emit(out, as_json, _render)


def _with_peak(spec):
    """On CPU, the meter's peak is measured once here (cached) rather than in every rank."""
    import dataclasses

    import ray

    if ray.cluster_resources().get("GPU", 0) > 0:
        return spec
    from flopgrid.meter.peak_source import cpu_peak

    peak = cpu_peak("fp32")
    return dataclasses.replace(spec, hardware="cpu", peak_flops_per_chip=peak.peak_flops_per_chip)


def _render(r: dict) -> None:
    t = compact_table(f"market {r['market']} on {r['cluster']}",
                      ["alloc", "bid", "chips", "state", "tries", "useful EFLOP", "wasted s", "outage min"])
    for lease in r["leases"]:
        rd = lease.get("reading") or {}
        t.add_row(str(lease["allocation_id"]), lease["bid"], str(lease["chips"]), lease["state"], str(lease["attempts"]),
                  f"{rd.get('useful_eflop', 0.0):.3g}", f"{rd.get('badput_s', {}).get('wasted_progress', 0.0):.1f}",
                  f"{rd.get('provider_outage_minutes', 0.0):.2f}")
    console.print(t)
    for lease in r["leases"]:
        for f in lease["failures"]:
            console.print(f"allocation {lease['allocation_id']} attempt {f['attempt']}: {f['party']} ({f['cause']}), "
                          f"{f['lost_steps']} step(s) re-done, {f['outage_s']:.1f} s out", highlight=False)
        if lease["state"] != "completed" and lease["reason"]:
            console.print(f"allocation {lease['allocation_id']} {lease['state']}: {lease['reason'].splitlines()[0]}",
                          highlight=False)
    console.print(f"{r['completed']} of {len(r['leases'])} completed, {r['restarts']} restart(s), "
                  f"{r['wall_seconds']:.1f} s; run directory {r['run_dir']}", highlight=False)
