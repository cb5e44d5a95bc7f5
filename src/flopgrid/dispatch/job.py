"""What a gang runs: the job's training function (`module:function`) and the context each
rank gets (its rank, the shared checkpoint directory, the live meter, a heartbeat).

A training function takes one `RankContext` and returns when its steps are done:

    def train(ctx):
        start = 0
        if ctx.checkpoint_path.exists():          # always resume when a checkpoint exists (ray#45516)
            with ctx.meter.restore():
                start = load(ctx.checkpoint_path) + 1
        for step, batch in ctx.meter.steps(batches, start=start, stop=ctx.steps):
            ...
            ctx.progress(step)                    # heartbeat payload: the step reached
            if ctx.due(step):
                with ctx.meter.checkpoint(step):  # rank 0 writes, everybody waits
                    save(...)
                ctx.checkpointed(step)

`flopgrid.examples.gang_gpt:train` (the bundled small GPT, DDP on gloo) is the example.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flopgrid.errors import UserInputError

DEFAULT_ENTRY = "flopgrid.examples.gang_gpt:train"


@dataclass(frozen=True)
class JobSpec:
    """The training job every allocation of a dispatch runs (the same for all ranks)."""

    entry: str = DEFAULT_ENTRY
    steps: int = 20
    checkpoint_every: int = 5
    params: dict[str, Any] = field(default_factory=dict)  # passed to the function as ctx.params
    threads_per_rank: int = 1
    hardware: str | None = None  # the meter's peak: a catalog name, or None for the device's own
    peak_flops_per_chip: float | None = None  # given peak (CPU runs: measured once by the dispatcher)


def load_entry(entry: str) -> Callable[[Any], Any]:
    """The function named by `module:function`; UserInputError naming it when it is not one."""
    mod_name, sep, fn_name = entry.partition(":")
    if not sep or not mod_name or not fn_name:
        raise UserInputError(f"job entry {entry!r}: use module:function (e.g. {DEFAULT_ENTRY})")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as exc:
        raise UserInputError(f"job entry {entry!r}: cannot import {mod_name!r} ({exc})") from None
    fn = getattr(mod, fn_name, None)
    if not callable(fn):
        raise UserInputError(f"job entry {entry!r}: {mod_name!r} has no function {fn_name!r}")
    return fn


@dataclass
class RankContext:
    """One rank's view of its gang (built by the worker actor)."""

    rank: int
    world_size: int
    run_dir: Path  # shared by all ranks and attempts of the allocation
    steps: int
    checkpoint_every: int
    params: dict[str, Any]
    meter: Any  # flopgrid.meter.Meter of this rank, attached by the worker
    attempt: int = 0
    _progress: Callable[[int, int | None], None] | None = None

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def due(self, step: int) -> bool:
        return self.checkpoint_every > 0 and (step + 1) % self.checkpoint_every == 0

    def progress(self, step: int) -> None:
        if self._progress:
            self._progress(step, None)

    def checkpointed(self, step: int) -> None:
        if self._progress:
            self._progress(step, step)
