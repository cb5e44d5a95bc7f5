"""One rank of a real two-process Hugging Face Trainer DDP run (gloo, CPU) of a tiny GPT-2
built from a config, metered by `FlopgridCallback`; the rank named by SLOW_RANK sleeps
SLOW_S in every forward. Run by tests/test_diagnose_ranks.py, one process per rank:

    python hf_ddp_worker.py OUT.jsonl STEPS SLOW_RANK SLOW_S   (env RANK, LOCAL_RANK, WORLD_SIZE, MASTER_*)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

from flopgrid.meter.hf import FlopgridCallback


def main() -> None:
    out, steps, slow_rank, slow_s = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=64, n_head=2, n_positions=64, vocab_size=256))
    args = TrainingArguments(output_dir=str(out.parent / "hf-out"), per_device_train_batch_size=4, max_steps=steps,
                             report_to=[], save_strategy="no", use_cpu=True, ddp_backend="gloo", disable_tqdm=True,
                             logging_steps=1000, ddp_find_unused_parameters=False)
    if args.process_index == slow_rank:
        model.register_forward_pre_hook(lambda *_: time.sleep(slow_s))
    ids = torch.randint(0, 256, (8 * steps, 64), generator=torch.Generator().manual_seed(0))
    data = [{"input_ids": t, "labels": t} for t in ids]
    callback = FlopgridCallback(out, dtype="fp32", device="cpu", truncate=True, framework="hf-trainer")
    Trainer(model=model, args=args, train_dataset=data, callbacks=[callback]).train()


if __name__ == "__main__":
    main()
