"""Real metered CPU runs shared by the integration and diagnose tests: the bundled tiny
GPT under the plain-loop Meter (optionally with an injected data stall or a declared
plan), with the test's own clocks around the data wait, the steps and the whole loop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import pytest
import torch

from flopgrid.catalog.cpu_peak import save_cpu_peak
from flopgrid.examples.gpt import GPT, SIZES, ByteBatches, byte_corpus
from flopgrid.meter.meter import Meter
from flopgrid.meter.peak import measure_matmul_peak

CFG = SIZES["tiny"]


@contextmanager
def isolated_cache(tmp_path_factory) -> Iterator[None]:
    """The cache dir conftest's autouse fixture gives every test, for module-scoped
    fixtures (they run before it): the measured peak never lands in the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLOPGRID_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "flopgrid-cache"))
        yield


@lru_cache(maxsize=1)
def corpus() -> torch.Tensor:
    return byte_corpus()


def measure_and_cache_peak() -> float:
    """This machine's 1-thread fp32 matmul peak, measured now and cached for the meter."""
    torch.set_num_threads(1)
    peak = measure_matmul_peak("fp32", size=512, seconds=0.5, device="cpu").flops_per_s
    save_cpu_peak({"fp32": peak}, {"threads": 1})
    from flopgrid.meter.peak_source import cpu_memory

    cpu_memory()  # measured once here, not inside a timed run
    return peak


def hand_flops_per_token(model: torch.nn.Module, n_layers: int, d_model: int, seq_len: int) -> float:
    """6 x (weights of every matmul: nn.Linear and HF Conv1D, a tied head once) + 12·L·d·T
    (PaLM App. B), counted from the module itself."""
    seen: set[int] = set()
    params = 0
    for m in model.modules():
        w = getattr(m, "weight", None)
        if w is None or w.dim() != 2 or isinstance(m, (torch.nn.Embedding,)) or id(w) in seen:
            continue
        seen.add(id(w))
        params += w.numel()
    return 6.0 * params + 12.0 * n_layers * d_model * seq_len


def loop_run(out: Path, steps: int = 20, batch_size: int = 8, stall_s: float = 0.0, plan: dict | None = None,
             framework: str | None = None, checkpoint_every: int = 0, checkpoint_sleep_s: float = 0.0) -> dict:
    """Train the tiny GPT under the plain-loop Meter; return the test's own figures (its
    wall clock runs from just before the Meter is built to just after it is closed)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    own = {"data_s": 0.0, "tokens": 0}
    model = GPT(CFG)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = ByteBatches(corpus(), batch_size, CFG.seq_len, stall_s=stall_s)
    t0 = time.perf_counter()
    meter = Meter(out, model_spec=CFG.model_spec(), dtype="fp32", device="cpu", truncate=True, plan=plan,
                  framework=framework)

    def batches():
        while True:
            t = time.perf_counter()
            batch = next(loader)
            own["data_s"] += time.perf_counter() - t
            yield batch

    for step, (x, y) in meter.steps(batches(), stop=steps):
        model(x, y)[1].backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        own["tokens"] += x.numel()
        if checkpoint_every and (step + 1) % checkpoint_every == 0:
            with meter.checkpoint(step):
                torch.save(model.state_dict(), out.with_suffix(".pt"))
                time.sleep(checkpoint_sleep_s)  # slow storage
    meter.close()
    own["wall_s"] = time.perf_counter() - t0
    own["injected_stall_s"] = steps * stall_s
    return own
