"""A Hugging Face `TrainerCallback` that meters a `Trainer` run (extra `hf`).

    from flopgrid.meter.hf import FlopgridCallback
    trainer = Trainer(model, args, train_dataset=ds,
                      callbacks=[FlopgridCallback("run.jsonl", plan={"tp": 1, "dp": 8}, framework="hf-trainer")])

One log per rank (rank = `args.process_index`, world = `args.world_size`; rank r > 0 writes
`run.rank<r>.jsonl`). Timing from the Trainer's hooks (transformers >= 4.46 loop, which
fetches the micro-batches of an optimizer step before `on_step_begin`):

- data loading: from the end of the previous step (or of its logging, evaluation and
  save) to `on_step_begin`;
- compute: `on_step_begin` to `on_step_end` (forward, backward and optimizer of every
  gradient-accumulation micro-batch);
- checkpoint save: from the last hook before the save (`on_step_end`, `on_log`,
  `on_evaluate`) to `on_save`, which the Trainer calls right after `_save_checkpoint`;
- logging and evaluation fall in the report's `other` badput.

Tokens per step on this rank: `tokens_per_step` when given; else the growth of
`state.num_input_tokens_seen` (`include_num_input_tokens_seen`, summed over ranks by the
Trainer) / world size; else per-device batch x gradient accumulation x seq_len. The model
spec defaults to the model's `config` (a Hugging Face config is a flopgrid model spec).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from flopgrid.meter.integration import MeterOwner


class FlopgridCallback(TrainerCallback):
    """Meters a `transformers.Trainer` run into `out` (see the module docstring)."""

    def __init__(self, out: str | Path, *, model_spec: Any = None, seq_len: int | None = None,
                 plan: dict | None = None, framework: str | None = None, tokens_per_step: int | None = None,
                 watch: bool = True, **meter_kwargs: Any) -> None:
        self.owner = MeterOwner(out, "hf", model_spec=model_spec, seq_len=seq_len, plan=plan, framework=framework,
                                watch=watch, **meter_kwargs)
        self.tokens_per_step = tokens_per_step
        self._seen = 0
        self._last_hook_t: float | None = None

    @property
    def meter(self):
        return self.owner.meter

    def _tokens(self, args, state) -> int:
        if self.tokens_per_step is not None:
            return int(self.tokens_per_step)
        seen = int(getattr(state, "num_input_tokens_seen", 0) or 0)
        if seen > self._seen:
            delta, self._seen = seen - self._seen, seen
            return delta // max(1, int(args.world_size))
        seq_len = self.meter.spec.seq_len if self.meter.spec is not None else 0
        return int(args.per_device_train_batch_size * args.gradient_accumulation_steps * seq_len)

    def _mark(self) -> None:
        self._last_hook_t = self.meter.clock.now()
        self.meter.begin_wait(self._last_hook_t)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.owner.open(model, int(args.process_index), int(args.world_size))
        self._seen = int(getattr(state, "num_input_tokens_seen", 0) or 0)
        self._mark()
        return control

    def on_step_begin(self, args, state, control, **kwargs):
        if self.meter is not None:
            self.meter.begin_step(int(state.global_step))
        return control

    def on_step_end(self, args, state, control, **kwargs):
        if self.meter is not None:
            self.meter.end_step(self._tokens(args, state))
            self._mark()
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.meter is not None:
            self._mark()
        return control

    def on_evaluate(self, args, state, control, **kwargs):
        if self.meter is not None:
            self._mark()
        return control

    def on_save(self, args, state, control, **kwargs):
        if self.meter is not None and self._last_hook_t is not None:
            self.meter.record_checkpoint(int(state.global_step), self._last_hook_t, self.meter.clock.now())
            self._mark()
        return control

    def on_train_end(self, args, state, control, **kwargs):
        self.owner.close()
        return control
