"""The metered demo: train the bundled small GPT (flopgrid.examples.gpt) on its own
source bytes, with `flopgrid.meter.Meter` (the lines marked `# meter`).

Checkpoints go beside the log (`RUN.ckpt.pt`), written atomically (temp file, fsync,
rename); `resume=True` restarts from the last one and appends to the log, so a run that
was killed re-does the steps after its last checkpoint (wasted progress in the report).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flopgrid.examples.gpt import SIZES, GPT, ByteBatches, byte_corpus


@dataclass(frozen=True)
class DemoResult:
    log_path: str
    first_step: int
    last_step: int
    final_loss: float


def checkpoint_path(out: str | Path) -> Path:
    p = Path(out)
    return p.with_name(p.stem + ".ckpt.pt")


def _save(path: Path, state: dict) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def train(out: str | Path, steps: int = 30, size: str = "small", batch_size: int = 8, stall_s: float = 0.0,
          checkpoint_every: int = 0, resume: bool = False, threads: int | None = None, seed: int = 0,
          device: str | None = None, count_flops: bool = True, prometheus_port: int | None = None) -> DemoResult:
    """Train for `steps` optimizer steps (counted from 0; a resume continues the count)."""
    from flopgrid.meter.meter import Meter

    import torch

    if threads:
        torch.set_num_threads(threads)
    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    cfg = SIZES[size]
    ckpt = checkpoint_path(out)
    meter = Meter(out, model_spec=cfg.model_spec(), dtype="fp32", device=dev, count_flops=count_flops,  # meter
                  prometheus_port=prometheus_port, truncate=not resume)  # meter
    if not resume and ckpt.exists():  # after the meter: a bad port leaves the old run as it was
        ckpt.unlink()
    torch.manual_seed(seed)
    model = GPT(cfg).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    start = 0
    if resume and ckpt.exists():
        with meter.restore():  # meter
            state = torch.load(ckpt, map_location=dev)
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
            start = state["step"] + 1
    batches = ByteBatches(byte_corpus(), batch_size, cfg.seq_len, seed=seed + start, stall_s=stall_s)
    loss_value = float("nan")
    last = start - 1
    for step, (x, y) in meter.steps(batches, start=start, stop=steps):  # meter
        x, y = x.to(dev), y.to(dev)
        _, loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        last = step
        if checkpoint_every and (step + 1) % checkpoint_every == 0:
            with meter.checkpoint(step):  # meter
                _save(ckpt, {"model": model.state_dict(), "opt": opt.state_dict(), "step": step})
    loss_value = float(loss.item()) if last >= start else float("nan")
    meter.close()  # meter
    return DemoResult(str(meter.path), start, last, loss_value)
