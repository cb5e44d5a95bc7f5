"""A Lightning `Callback` that meters a `lightning.Trainer` fit (extra `lightning`).

    from flopgrid.meter.lightning import FlopgridLightningCallback
    trainer = L.Trainer(callbacks=[FlopgridLightningCallback("run.jsonl", model_spec=spec, plan={"dp": 8})])

One log per rank (`trainer.global_rank`, `trainer.world_size`). Timing from the hooks:
data loading from the end of the previous batch (or checkpoint) to `on_train_batch_start`
(Lightning's fetcher prefetches one batch, so the wait seen there is the fetch of the
next one: the total is the same); compute from `on_train_batch_start` to
`on_train_batch_end`; checkpoint saves by wrapping `trainer.save_checkpoint` (what
`ModelCheckpoint` calls), barrier included. Tokens per batch: `input_ids` of a mapping
batch, else the elements of its first tensor, unless `tokens_per_batch` is given.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback

from flopgrid.meter.integration import MeterOwner, batch_tokens


class FlopgridLightningCallback(Callback):
    """Meters a Lightning fit into `out` (see the module docstring)."""

    def __init__(self, out: str | Path, *, model_spec: Any = None, seq_len: int | None = None,
                 plan: dict | None = None, framework: str | None = None, tokens_per_batch: int | None = None,
                 watch: bool = True, **meter_kwargs: Any) -> None:
        self.owner = MeterOwner(out, "lightning", model_spec=model_spec, seq_len=seq_len, plan=plan,
                                framework=framework, watch=watch, **meter_kwargs)
        self.tokens_per_batch = tokens_per_batch
        self._trainer = None

    @property
    def meter(self):
        return self.owner.meter

    def _step_id(self, trainer, batch_idx: int) -> int:
        acc = int(getattr(trainer, "accumulate_grad_batches", 1) or 1)
        return int(trainer.global_step) if acc == 1 else int(trainer.global_step) * acc + batch_idx % acc

    def on_train_start(self, trainer, pl_module) -> None:
        meter = self.owner.open(pl_module, int(trainer.global_rank), int(trainer.world_size))
        original = trainer.save_checkpoint

        @functools.wraps(original)
        def timed_save(*args: Any, **kwargs: Any) -> Any:
            t0 = meter.clock.now()
            try:
                return original(*args, **kwargs)
            finally:
                meter.record_checkpoint(int(trainer.global_step), t0, meter.clock.now())

        trainer.save_checkpoint = timed_save
        self._trainer = trainer
        meter.begin_wait()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.meter is not None:
            self.meter.begin_step(self._step_id(trainer, batch_idx))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.meter is not None:
            tokens = self.tokens_per_batch if self.tokens_per_batch is not None else batch_tokens(batch)
            self.meter.end_step(tokens)
            self.meter.begin_wait()

    def on_train_end(self, trainer, pl_module) -> None:
        if self._trainer is not None and "save_checkpoint" in vars(self._trainer):
            del self._trainer.save_checkpoint
        self.owner.close()
