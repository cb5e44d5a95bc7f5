"""The bundled gang job: the small GPT of `flopgrid.examples.gpt`, data-parallel over the
gang's ranks (torch DistributedDataParallel on the process group the worker set up; gloo
on CPU), metered by the worker's `Meter`, checkpointed by rank 0 into the allocation's
shared directory and resumed from it on every (re)start.

`ctx.params`: `size` ("tiny" | "small", default tiny), `batch_size` (4), `seed` (0),
`fail_at_step` (raise at that step: a bug in the buyer's code, for tests and demos),
`step_sleep_s` (pad each step: makes tiny runs long enough to kill mid-run).
"""

from __future__ import annotations

import time
from typing import Any

from flopgrid.examples.gpt import GPT, SIZES, ByteBatches, byte_corpus
from flopgrid.examples.train_demo import _save


class InjectedJobError(RuntimeError):
    """The buyer's code failing on purpose (`fail_at_step`)."""


def model_spec(params: dict[str, Any]):
    """The flopgrid model spec of the network `train` builds (the meter's analytic FLOPs)."""
    return SIZES[params.get("size", "tiny")].model_spec()


def train(ctx: Any) -> dict[str, Any]:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    p = ctx.params
    cfg = SIZES[p.get("size", "tiny")]
    torch.manual_seed(int(p.get("seed", 0)))
    model = GPT(cfg)
    ddp = DistributedDataParallel(model) if dist.is_initialized() else model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    start = 0
    if ctx.checkpoint_path.exists():
        with ctx.meter.restore():
            state = torch.load(ctx.checkpoint_path, map_location="cpu")
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
            start = int(state["step"]) + 1
    batches = ByteBatches(byte_corpus(), int(p.get("batch_size", 4)), cfg.seq_len,
                          seed=int(p.get("seed", 0)) + 1000 * ctx.rank + start)
    fail_at = p.get("fail_at_step")
    sleep_s = float(p.get("step_sleep_s", 0.0))
    loss = None
    for step, (x, y) in ctx.meter.steps(batches, start=start, stop=ctx.steps):
        if fail_at is not None and step == int(fail_at):
            raise InjectedJobError(f"injected failure in the job's code at step {step}")
        _, loss = ddp(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if sleep_s:
            time.sleep(sleep_s)
        ctx.progress(step)
        if ctx.due(step):
            with ctx.meter.checkpoint(step):
                if dist.is_initialized():
                    dist.barrier()  # every rank reached `step` before the checkpoint says so
                if ctx.rank == 0:
                    _save(ctx.checkpoint_path, {"model": model.state_dict(), "opt": opt.state_dict(), "step": step})
            ctx.checkpointed(step)
    return {"first_step": start, "final_loss": float(loss.item()) if loss is not None else None}
