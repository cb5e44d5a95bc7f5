"""`flopgrid demo`: a day of the grid in one command, against today's GPU-hour market
(`flopgrid.demo`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from flopgrid.cli.output import compact_table, console, emit, err_console, print_table


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("flopgrid-demo"), "--out", help="folder for demo.db, report.html, summary.json"),
        as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
        engine: str = typer.Option("sim", "--engine", help="sim (the fleet simulator) or ray (a slice as real PyTorch gangs)"),
        inject_failure: bool = typer.Option(False, "--inject-failure",
                                            help="--engine ray: kill a worker mid-run (restart from its checkpoint)"),
        serve: bool = typer.Option(False, "--serve", help="keep the service up on the demo's database afterwards"),
        seed: int = typer.Option(0, "--seed", help="seed of the buyers' day and of the failures"),
        hours: int = typer.Option(24, "--hours", help="hours in the day (1 to 48; hourly intervals)"),
    ) -> None:
        """A day of the grid: providers offer, buyers bid, the market clears, jobs run through failures, are
        metered and settled; then the same day under a GPU-hour market."""
        from flopgrid.demo.run import check_options, run_demo

        check_options(hours, engine, seed, inject_failure)
        logging.getLogger("flopgrid").setLevel(logging.WARNING)
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
                      transient=True) as bar:
            task = bar.add_task("starting", total=None)
            result, server = run_demo(out, seed=seed, hours=hours, engine=engine, inject_failure=inject_failure,
                                      step=lambda msg: bar.update(task, description=msg), keep_serving=serve)
        payload = result.as_json()
        from flopgrid.files import write_text_atomic

        write_text_atomic(out / "summary.json", json.dumps(payload, indent=2) + "\n", "summary")
        emit(payload, as_json, lambda _: _render(result))
        if server is not None:
            try:
                err_console.print(f"serving {server.url} (dashboard at {server.url}/) on {result.db}\n"
                                  f"operator key: {result.operator_key}\nCtrl-C stops it", highlight=False,
                                  soft_wrap=True)
                server.wait()
            finally:
                server.stop()


def _render(result) -> None:
    from flopgrid.demo.report import summary_rows

    rows = summary_rows([result.figures, result.baseline])
    d0, d1 = result.days
    t = compact_table(f"{result.hours} h of the grid: {result.jobs:,} buyers' jobs on {result.chips:,} chips",
                      ["figure", "flopgrid", "GPU-hour", "ratio"],
                      caption=f"markets {d0.market['id']} (flopgrid) and {d1.market['id']} (GPU-hour); USD; "
                              f"EFLOP: useful; ratio = flopgrid / GPU-hour; {result.wall_seconds:.1f} s")
    for r in rows:
        t.add_row(*r)
    print_table(t)
    ray = (d0.delivery or {}).get("ray")
    if ray:
        for lease in ray["leases"]:
            tries = f", resumed from its checkpoint after {len(lease['failures'])} failure(s)" if lease["failures"] else ""
            console.print(f"allocation {lease['allocation_id']} ({lease['bid']}) on Ray: {lease['state']}, "
                          f"{lease['attempts']} attempt(s){tries}", highlight=False, soft_wrap=True)
        console.print(f"Ray: {ray['completed']} of {len(ray['leases'])} allocations completed on {ray['cluster']}, "
                      f"{ray['restarts']} restart(s); run directory {result.db.parent / 'ray'}", highlight=False,
                      soft_wrap=True)
    console.print(f"report: {result.report}\ndatabase: {result.db}", highlight=False, soft_wrap=True)
