"""The rank worker: one Ray actor per rank of a gang. It joins the gang's torch.distributed
process group (gloo on CPU, NCCL where the bundle holds a GPU), attaches a live
`flopgrid.meter.Meter` to the job's training function and runs it; a background thread
writes the rank's heartbeat (time, step reached, last checkpoint, pid, node) into the
allocation's shared directory every `heartbeat_s`.

`run` never raises for the job's own errors: it returns an outcome (`ok`, or
`job_exception` with the traceback, or `peer_lost` when the error came out of a collective
after a partner vanished), so the dispatcher can tell the buyer's bug from the provider's
fault. The actor is threaded (`max_concurrency=2`) so `ping` answers while `run` trains.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from flopgrid.dispatch.job import JobSpec, RankContext, load_entry

# Errors out of torch.distributed after a peer died (gloo: "Connection closed by peer",
# "Connection reset", timeouts; torch: DistBackendError, DistNetworkError).
_PEER_MARKERS = ("connection closed by peer", "connection reset by peer", "gloo/transport", "[gloo",
                 "distbackenderror", "distnetworkerror", "nccl error")


def heartbeat_path(run_dir: Path, rank: int) -> Path:
    return Path(run_dir) / f"heartbeat.rank{rank}.json"


def read_heartbeat(run_dir: Path, rank: int) -> dict[str, Any] | None:
    try:
        return json.loads(heartbeat_path(run_dir, rank).read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def _is_peer_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return type(exc).__module__.startswith("torch.distributed") or any(m in text for m in _PEER_MARKERS)


class RankWorker:
    """Body of the rank actor (made remote by `flopgrid.dispatch.gang`)."""

    def __init__(self, rank: int, world_size: int, run_dir: str, attempt: int, heartbeat_s: float) -> None:
        self.rank, self.world_size, self.attempt = rank, world_size, attempt
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.heartbeat_s = heartbeat_s
        self.step = -1
        self.checkpoint_step = -1
        self.checkpoint_unix_s: float | None = None
        self._stop = threading.Event()
        self._beat_lock = threading.Lock()
        import ray

        self.node_id = ray.get_runtime_context().get_node_id()
        try:  # load torch before the first beat: its import holds the GIL for seconds (no beats meanwhile)
            import torch  # noqa: F401
        except ImportError:  # pragma: no cover - a job without torch
            pass
        self.ip = ray.util.get_node_ip_address()
        self._beat()
        self._thread = threading.Thread(target=self._beat_loop, daemon=True, name=f"heartbeat-rank{rank}")
        self._thread.start()

    # -- health ---------------------------------------------------------------------------
    def _beat(self) -> None:
        """Write the heartbeat; never raises (a beat that cannot be written is a missed beat,
        which the dispatcher sees, not an error of the job)."""
        try:
            with self._beat_lock:
                _write_json(heartbeat_path(self.run_dir, self.rank),
                            {"t": time.time(), "rank": self.rank, "attempt": self.attempt, "pid": os.getpid(),
                             "node_id": self.node_id, "step": self.step, "checkpoint_step": self.checkpoint_step,
                             "checkpoint_unix_s": self.checkpoint_unix_s})
        except OSError:
            pass

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            self._beat()

    def _progress(self, step: int, checkpoint_step: int | None) -> None:
        self.step = step
        if checkpoint_step is not None:
            self.checkpoint_step, self.checkpoint_unix_s = checkpoint_step, time.time()
        self._beat()  # a beat per step too: the dispatcher sees progress as it happens

    def ping(self) -> dict[str, Any]:
        return {"rank": self.rank, "pid": os.getpid(), "node_id": self.node_id, "step": self.step}

    def rendezvous(self) -> tuple[str, int]:
        """This rank's address and a free port (rank 0 hosts the process group's store)."""
        with socket.socket() as s:
            s.bind((self.ip, 0))
            return self.ip, s.getsockname()[1]

    # -- the job --------------------------------------------------------------------------
    def run(self, master_addr: str, master_port: int, spec: JobSpec, pg_timeout_s: float) -> dict[str, Any]:
        import datetime

        import torch
        import torch.distributed as dist

        from flopgrid.meter.meter import Meter

        torch.set_num_threads(spec.threads_per_rank)
        meter = None
        try:
            fn = load_entry(spec.entry)
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            if self.world_size > 1:
                dist.init_process_group(backend, init_method=f"tcp://{master_addr}:{master_port}", rank=self.rank,
                                        world_size=self.world_size,
                                        timeout=datetime.timedelta(seconds=pg_timeout_s))
            spec_of = getattr(__import__(fn.__module__, fromlist=["_"]), "model_spec", None)
            meter = Meter(self.run_dir / "run.jsonl", model_spec=spec_of(spec.params) if callable(spec_of) else None,
                          dtype=spec.params.get("dtype", "fp32"), hardware=spec.hardware,
                          peak_flops_per_chip=spec.peak_flops_per_chip, rank=self.rank, world_size=self.world_size,
                          count_flops=False, run=f"allocation-{self.run_dir.name}")
            ctx = RankContext(rank=self.rank, world_size=self.world_size, run_dir=self.run_dir, steps=spec.steps,
                              checkpoint_every=spec.checkpoint_every, params=dict(spec.params), meter=meter,
                              attempt=self.attempt, _progress=self._progress)
            result = fn(ctx)
            meter.close()
            return {"rank": self.rank, "kind": "ok", "result": result if isinstance(result, dict) else None,
                    "step": self.step}
        except BaseException as exc:  # noqa: BLE001 - every error becomes an outcome
            if meter is not None:
                meter.close()
            kind = "peer_lost" if _is_peer_error(exc) else "job_exception"
            return {"rank": self.rank, "kind": kind, "detail": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc()[-4000:], "step": self.step}
        finally:
            self._stop.set()
            self._beat()
            if dist.is_initialized():
                try:
                    dist.destroy_process_group()
                except Exception:  # noqa: BLE001
                    pass
