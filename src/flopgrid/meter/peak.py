"""Measure a device's achievable matmul FLOP/s with torch (the `cpu` peak).

A square n x n @ n x n matmul costs 2·n³ FLOPs. The timing budget is split into
`repeats` rounds after a warm-up; each round's fastest matmul gives one figure, the peak is
the best round and the spread (best - worst) / best says how steady the machine was (a
busy machine gives a large spread and a low peak). MFU of CPU runs is then measured against
what this machine's BLAS actually reaches, the CPU analogue of a datasheet peak.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class PeakMeasurement:
    flops_per_s: float
    dtype: str
    size: int
    threads: int
    device: str
    repeats: int = 1
    spread: float = 0.0  # (best - worst round) / best
    rounds_flops_per_s: tuple[float, ...] = ()


def measure_matmul_peak(dtype: str = "fp32", size: int = 2048, seconds: float = 3.0, device: str | None = None,
                        repeats: int = 5) -> PeakMeasurement:
    """Best-of-`repeats` rounds of matmul throughput in FLOP/s on `device` (default: cuda if
    present, else cpu), with the spread of the rounds."""
    import torch

    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    a = torch.randn(size, size, device=dev, dtype=torch_dtype)
    b = torch.randn(size, size, device=dev, dtype=torch_dtype)
    sync = torch.cuda.synchronize if dev.startswith("cuda") else (lambda: None)
    for _ in range(2):
        torch.mm(a, b)
    sync()
    repeats = max(1, int(repeats))
    rounds: list[float] = []
    for _ in range(repeats):
        best = float("inf")
        deadline = time.perf_counter() + seconds / repeats
        while best == float("inf") or time.perf_counter() < deadline:
            t0 = time.perf_counter()
            torch.mm(a, b)
            sync()
            best = min(best, time.perf_counter() - t0)
        rounds.append(2.0 * size**3 / best)
    top = max(rounds)
    return PeakMeasurement(top, dtype, size, torch.get_num_threads(), dev, repeats, (top - min(rounds)) / top,
                           tuple(rounds))


def measure_memory_bandwidth(size_bytes: int = 64 * 2**20, seconds: float = 0.2) -> float:
    """Best-of-N host memory bandwidth in bytes/s: a `size_bytes` tensor copy reads and
    writes it once (2 x size bytes moved), the STREAM "copy" kernel (McCalpin 1995)."""
    import torch

    n = size_bytes // 4
    src = torch.ones(n, dtype=torch.float32)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        dst.copy_(src)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n * 4 / best
