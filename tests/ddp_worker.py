"""One rank of a real two-process torch.distributed (gloo, CPU) DDP run of the tiny GPT,
metered with `Meter.watch`; the rank named by SLOW_RANK sleeps SLOW_S in every forward
(a straggler on purpose). Run by tests/test_diagnose_ranks.py, one process per rank:

    python ddp_worker.py OUT.jsonl STEPS SLOW_RANK SLOW_S   (env RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)
"""

from __future__ import annotations

import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from flopgrid.examples.gpt import GPT, SIZES, ByteBatches, byte_corpus
from flopgrid.meter.meter import Meter


def main() -> None:
    out, steps, slow_rank, slow_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    cfg = SIZES["tiny"]
    torch.manual_seed(0)
    model = GPT(cfg)
    if rank == slow_rank:
        model.register_forward_pre_hook(lambda *_: time.sleep(slow_s))
    ddp = DDP(model)
    opt = torch.optim.AdamW(ddp.parameters(), lr=1e-3)
    meter = Meter(out, model_spec=cfg.model_spec(), dtype="fp32", device="cpu", truncate=True,
                  plan={"dp": dist.get_world_size()}, framework="ddp")
    meter.watch(ddp)
    batches = ByteBatches(byte_corpus(), 4, cfg.seq_len, seed=rank)
    for _, (x, y) in meter.steps(batches, stop=steps):
        ddp(x, y)[1].backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    meter.close()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
