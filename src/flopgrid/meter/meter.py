"""`Meter`: MFU, HFU and goodput of a plain PyTorch training loop, about ten added lines.

    from flopgrid.meter import Meter

    meter = Meter("run.jsonl", model_spec=spec, dtype="fp32")    # peak from the catalog / cache
    with meter.restore():                                       # optional, on resume
        start = load_checkpoint()
    for step, (x, y) in meter.steps(loader, start=start):       # times data wait and compute
        loss = model(x, y)[1]; loss.backward(); opt.step(); opt.zero_grad()
        if step % 100 == 0:
            with meter.checkpoint(step):                        # checkpoint badput, fsync
                save_checkpoint(step)
    meter.close()

Events go to an append-only JSONL log (flopgrid.meter.events), one file per rank; the
report (`flopgrid meter report`) does the accounting. No per-step device sync: on GPU,
step times come from CUDA events resolved lazily (flopgrid.meter.timing).
"""

from __future__ import annotations

import os
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flopgrid.catalog.model_spec import ModelSpec
from flopgrid.flops import hardware_flops_per_token, model_flops_per_token
from flopgrid.meter import flop_count
from flopgrid.meter.events import EventLog, rank_path
from flopgrid.meter.peak_source import cpu_memory, resolve_peak
from flopgrid.meter.plan_record import plan_record
from flopgrid.meter.reading import MeterReading
from flopgrid.meter.timing import CudaStepEvents, WallClock


def _default_tokens(batch: Any) -> int:
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(first.numel())


def _rank_world() -> tuple[int, int]:
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
    except ImportError:  # pragma: no cover
        pass
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


class Meter:
    """Meters one rank of a training job into `out` (rank r > 0: `<stem>.rank<r>.jsonl`).

    `model_spec` gives analytic FLOPs per token (DESIGN.md convention: matmul params,
    full attention); `count_flops=True` also counts the first step with FlopCounterMode
    and cross-checks (warning above 10%); without a spec the counted figure is used.
    `truncate=True` starts a fresh log; the default appends (a restart adds a session).
    `plan` (tp/pp/dp/zero..., DESIGN.md "Plan") and `framework` (a profile name such as
    `megatron-core`, `torchtitan`) are recorded for `flopgrid diagnose`; `integration`
    names the caller (`loop`, `hf`, `lightning`).

    Two ways to drive it: `steps()` wraps a plain loop; `begin_wait()` / `begin_step()` /
    `end_step()` are the hooks the framework callbacks call (flopgrid.meter.hf,
    flopgrid.meter.lightning). `watch(model)` times each step's arrival at the gradient
    sync (the last parameter gradient accumulated on this rank), which is how the report
    finds a straggler: under synchronous data parallelism every rank's step time is the
    slowest rank's, only the arrival shows who was late.
    """

    def __init__(
        self,
        out: str | Path,
        *,
        model_spec: ModelSpec | None = None,
        dtype: str = "fp32",
        recompute: str = "none",
        hardware: str | None = None,
        peak_flops_per_chip: float | None = None,
        device: str | None = None,
        count_flops: bool = False,
        tokens_per_batch: int | Callable[[Any], int] | None = None,
        run: str | None = None,
        rank: int | None = None,
        world_size: int | None = None,
        prometheus_port: int | None = None,
        reading_every_s: float = 60.0,
        truncate: bool = False,
        plan: Mapping[str, Any] | None = None,
        framework: str | None = None,
        integration: str = "loop",
    ) -> None:
        self.clock = WallClock()
        t_start = self.clock.now()
        import torch

        r, w = _rank_world()
        self.rank = r if rank is None else rank
        self.world_size = w if world_size is None else world_size
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.cuda = self.device.startswith("cuda")
        self.run = run or Path(out).stem
        self.session = uuid.uuid4().hex[:12]
        self.spec = model_spec
        self.model_fpt = model_flops_per_token(model_spec) if model_spec else None
        self.hw_fpt = hardware_flops_per_token(model_spec, recompute) if model_spec else None  # type: ignore[arg-type]
        self.peak = resolve_peak(self.device, dtype, hardware, peak_flops_per_chip)
        self.dtype = dtype
        self._tokens_of = tokens_per_batch
        self._count_pending = count_flops or model_spec is None
        from flopgrid.meter.prometheus import PrometheusExporter

        # the port first: a port in use fails before the log is created or truncated
        self.exporter = PrometheusExporter(self.run, self.rank, prometheus_port) if prometheus_port is not None else None
        plan_dict = plan_record(plan, self.world_size)
        self.log = EventLog(rank_path(out, self.rank), truncate=truncate)
        self.path = self.log.path
        self._pending: deque[tuple[dict[str, Any], CudaStepEvents]] = deque()
        self._ckpt_in_step_s = 0.0
        self._restore_s = 0.0
        self._closed = False
        # live totals of this session (exporter, readings)
        self._tokens = 0
        self._productive_s = 0.0
        self._reading_every_s = reading_every_s
        self._reading = {"t": t_start, "steps": 0, "tokens": 0, "productive_s": 0.0, "last_step": -1,
                         "badput_s": {}}
        self._emit({"event": "start", "t": t_start, "run": self.run, "world_size": self.world_size,
                    "hardware": self.peak.hardware, "device": self.device, "dtype": dtype,
                    "peak_flops_per_chip": self.peak.peak_flops_per_chip, "peak_source": self.peak.source,
                    "model": model_spec.name if model_spec else None, "model_flops_per_token": self.model_fpt,
                    "hardware_flops_per_token": self.hw_fpt, "recompute": recompute,
                    "threads": torch.get_num_threads(),
                    "flops_source": "analytic" if model_spec else "flop_counter", "pid": os.getpid(),
                    "model_spec": model_spec.model_dump(mode="json") if model_spec else None,
                    "plan": plan_dict, "framework": framework, "integration": integration,
                    **(cpu_memory() if self.peak.hardware == "cpu" else {})})
        self._first_step = True
        self._wait_t0: float | None = None
        self._step_open: tuple[int, float, float] | None = None  # (step, t0, t1)
        self._counter = None
        self._cuda: CudaStepEvents | None = None
        self._grad_ready_t = 0.0
        self._hooks: list[Any] = []

    # -- writing -------------------------------------------------------------------------
    def _emit(self, event: dict[str, Any]) -> None:
        event.setdefault("t", self.clock.now())
        event["rank"] = self.rank
        event["session"] = self.session
        self.log.write(event)

    def _finish_step(self, event: dict[str, Any], cuda: CudaStepEvents | None) -> None:
        if cuda is not None:
            event["device_s"] = cuda.seconds()
        self._emit(event)
        self._tokens += event["tokens"]
        self._productive_s += event["compute_s"]
        r = self._reading
        r["steps"] += 1
        r["tokens"] += event["tokens"]
        r["productive_s"] += event["compute_s"]
        r["last_step"] = event["step"]
        self._add_badput("data_loading", event["data_s"])
        if self.exporter is not None and self.model_fpt is not None and self._productive_s > 0:
            tps = self._tokens / self._productive_s
            self.exporter.on_step(tps * self.model_fpt / self.peak.peak_flops_per_chip, tps,
                                  event["tokens"] * self.model_fpt)
        if event["t"] - r["t"] >= self._reading_every_s:
            self.emit_reading()

    def _add_badput(self, category: str, seconds: float) -> None:
        b = self._reading["badput_s"]
        b[category] = b.get(category, 0.0) + seconds
        if self.exporter is not None:
            self.exporter.add_badput(category, seconds)

    def _drain(self, block: bool) -> None:
        while self._pending and (block or self._pending[0][1].ready()):
            self._finish_step(*self._pending.popleft())

    # -- the training loop ---------------------------------------------------------------
    def begin_wait(self, t: float | None = None) -> None:
        """The loop starts waiting for the next batch (data loading begins)."""
        self._wait_t0 = self.clock.now() if t is None else t

    def begin_step(self, step: int) -> None:
        """The batch of `step` is here: compute begins (and data loading ends)."""
        now = self.clock.now()
        t0 = now if self._wait_t0 is None else self._wait_t0
        if self._first_step:
            self._add_badput("initialization", t0 - self._reading["t"] - self._restore_s)
        self._counter = flop_count.start_counter() if self._count_pending else None
        self._cuda = CudaStepEvents() if self.cuda else None
        self._ckpt_in_step_s = 0.0
        self._step_open = (step, t0, now)

    def end_step(self, tokens: int) -> None:
        """The step that `begin_step` opened is done; it processed `tokens` on this rank."""
        if self._step_open is None:
            return
        step, t0, t1 = self._step_open
        self._step_open = None
        if self._cuda is not None:
            self._cuda.finish()
        t2 = self.clock.now()
        if self._counter is not None:
            self._record_flop_count(flop_count.stop_counter(self._counter), tokens)
            self._counter = None
        event = {"event": "step", "step": step, "t0": t0, "data_s": t1 - t0,
                 "compute_s": t2 - t1 - self._ckpt_in_step_s, "tokens": int(tokens), "t": t2}
        if self._hooks and self._grad_ready_t >= t1:
            event["sync_s"] = self._grad_ready_t - t0
        self._first_step = False
        self._wait_t0 = t2
        if self._cuda is None:
            self._finish_step(event, None)
        else:
            self._pending.append((event, self._cuda))
            self._drain(block=False)
        self._cuda = None

    def watch(self, model: Any) -> None:
        """Record when this rank's backward has accumulated its last parameter gradient
        (its arrival at the data-parallel gradient sync) in each step's `sync_s`."""
        if self._hooks:
            return

        def ready(_param: Any) -> None:
            self._grad_ready_t = self.clock.now()

        self._hooks = [p.register_post_accumulate_grad_hook(ready)
                       for p in model.parameters() if p.requires_grad]

    def steps(self, batches: Iterable[Any], start: int = 0, stop: int | None = None) -> Iterator[tuple[int, Any]]:
        """Yield `(step, batch)` for step = start, start+1, ... (< `stop` if given) from
        `batches`, timing the wait for each batch (data loading) and the loop body
        (compute) of each step."""
        it = iter(batches)
        step = start
        while stop is None or step < stop:
            self.begin_wait()
            try:
                batch = next(it)
            except StopIteration:
                return
            self.begin_step(step)
            try:
                yield step, batch
            finally:
                tokens = self._tokens_of(batch) if callable(self._tokens_of) else (self._tokens_of or _default_tokens(batch))
                self.end_step(tokens)
            step += 1

    def _record_flop_count(self, total_flops: float, tokens: int) -> None:
        self._count_pending = False
        counted = total_flops / tokens
        rel = flop_count.cross_check(counted, self.model_fpt)
        if self.model_fpt is None:
            self.model_fpt = self.hw_fpt = counted
        self._emit({"event": "flop_count", "counted_flops_per_token": counted,
                    "analytic_flops_per_token": self.model_fpt, "rel_diff": rel})

    @contextmanager
    def checkpoint(self, step: int) -> Iterator[None]:
        """Time a checkpoint save (checkpoint_save badput); fsync the log after it."""
        self._drain(block=True)
        t0 = self.clock.now()
        yield
        self.record_checkpoint(step, t0, self.clock.now())

    def record_checkpoint(self, step: int, t0: float, t1: float) -> None:
        """A checkpoint save that ran from `t0` to `t1` (meter clock, `clock.now()`): inside
        an open step it is taken out of the step's compute time, between steps out of the
        next step's data wait."""
        if self._step_open is not None:
            self._ckpt_in_step_s += t1 - t0
        elif self._wait_t0 is not None and self._wait_t0 <= t0:
            self._wait_t0 = max(self._wait_t0, t1)
        self._emit({"event": "checkpoint_save", "t": t1, "t0": t0, "duration_s": t1 - t0, "step": step})
        self._add_badput("checkpoint_save", t1 - t0)
        self.log.fsync()

    @contextmanager
    def restore(self, step: int | None = None) -> Iterator[None]:
        """Time a checkpoint restore (checkpoint_restore badput)."""
        t0 = self.clock.now()
        yield
        t1 = self.clock.now()
        self._emit({"event": "checkpoint_restore", "t": t1, "t0": t0, "duration_s": t1 - t0, "step": step})
        self._restore_s += t1 - t0
        self._add_badput("checkpoint_restore", t1 - t0)
        self.log.fsync()

    # -- readings and close ----------------------------------------------------------------
    def reading(self) -> MeterReading:
        """What this rank delivered since the last reading (flopgrid.meter.reading)."""
        r, now = self._reading, self.clock.now()
        fpt = self.model_fpt or 0.0
        useful = r["tokens"] * fpt
        peak = self.peak.peak_flops_per_chip
        return MeterReading(run=self.run, rank=self.rank, world_size=self.world_size, hardware=self.peak.hardware,
                            dtype=self.dtype, interval_start_unix_s=r["t"], interval_end_unix_s=now,
                            steps=r["steps"], last_step=r["last_step"], tokens=r["tokens"],
                            model_flops_per_token=fpt, useful_flops=useful, productive_s=r["productive_s"],
                            badput_s=dict(r["badput_s"]), peak_flops_per_chip=peak,
                            mfu=useful / (r["productive_s"] * peak) if r["productive_s"] > 0 else 0.0)

    def emit_reading(self) -> MeterReading:
        reading = self.reading()
        self._emit(reading.as_event())
        self._reading = {"t": reading.interval_end_unix_s, "steps": 0, "tokens": 0, "productive_s": 0.0,
                         "last_step": reading.last_step, "badput_s": {}}
        return reading

    def close(self) -> None:
        """Resolve pending device timings, write a last reading and `end`, fsync."""
        if self._closed:
            return
        self._closed = True
        for h in self._hooks:
            h.remove()
        self._drain(block=True)
        if self._reading["steps"]:
            self.emit_reading()
        self._emit({"event": "end"})
        self.log.close()
        if self.exporter is not None:
            self.exporter.close()

    def __enter__(self) -> "Meter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
