"""Step clocks: host wall time everywhere, plus CUDA events on GPU resolved lazily.

No per-step device synchronisation: on GPU each step records a start and an end CUDA
event; the meter asks `ready()` (a non-blocking `event.query()`) on later steps and only
synchronises at checkpoints and at close, where the training loop pauses anyway. Host
intervals are what the accounting sums (the host is held back by the device through the
loop's own sync points such as `loss.item()`), device times are recorded beside them.
"""

from __future__ import annotations

import time


class WallClock:
    """Unix seconds with perf_counter resolution: monotonic within a process."""

    def __init__(self) -> None:
        self._unix0 = time.time()
        self._perf0 = time.perf_counter()

    def now(self) -> float:
        return self._unix0 + (time.perf_counter() - self._perf0)


class CudaStepEvents:
    """Start/end CUDA events of one step (torch imported lazily: GPU runs only)."""

    def __init__(self) -> None:
        import torch

        self.start = torch.cuda.Event(enable_timing=True)
        self.end = torch.cuda.Event(enable_timing=True)
        self.start.record()

    def finish(self) -> None:
        self.end.record()

    def ready(self) -> bool:
        return bool(self.end.query())

    def seconds(self) -> float:
        self.end.synchronize()
        return self.start.elapsed_time(self.end) / 1e3
