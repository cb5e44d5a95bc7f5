"""What the framework callbacks share: building the `Meter` once rank and world size are
known, the spec of a Hugging Face model, and tokens per step (torch imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flopgrid.catalog.model_spec import ModelSpec


def spec_of(model: Any, model_spec: ModelSpec | dict | str | None, seq_len: int | None) -> ModelSpec | None:
    """`model_spec` as given (a spec, a mapping, a catalog name or file), else the spec of
    `model.config` when it is a Hugging Face config (DESIGN.md: a config.json is accepted
    wherever a model spec is); `seq_len` replaces the spec's (the trained length)."""
    from flopgrid.catalog import load_model

    spec = None
    if model_spec is not None:
        spec = load_model(model_spec)
    else:
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_dict"):
            spec = load_model(config.to_dict())
    if spec is not None and seq_len is not None and seq_len != spec.seq_len:
        spec = ModelSpec(**{**spec.model_dump(), "seq_len": int(seq_len)})
    return spec


class MeterOwner:
    """Builds one `Meter` lazily (at train start, when the rank is known) from the
    callback's arguments, and closes it."""

    def __init__(self, out: str | Path, integration: str, *, model_spec: ModelSpec | dict | str | None = None,
                 seq_len: int | None = None, plan: dict | None = None, framework: str | None = None,
                 watch: bool = True, **meter_kwargs: Any) -> None:
        self.out = Path(out)
        self.integration = integration
        self.model_spec = model_spec
        self.seq_len = seq_len
        self.plan = plan
        self.framework = framework
        self.watch = watch
        self.meter_kwargs = meter_kwargs
        self.meter = None

    def open(self, model: Any, rank: int, world_size: int):
        from flopgrid.meter.meter import Meter

        if self.meter is None:
            spec = spec_of(model, self.model_spec, self.seq_len)
            self.meter = Meter(self.out, model_spec=spec, plan=self.plan, framework=self.framework,
                               integration=self.integration, rank=rank, world_size=world_size, **self.meter_kwargs)
            if self.watch and model is not None and hasattr(model, "parameters"):
                self.meter.watch(model)
        return self.meter

    def close(self) -> None:
        if self.meter is not None:
            self.meter.close()


def batch_tokens(batch: Any) -> int:
    """Tokens in a batch: `input_ids` of a mapping, else the first tensor's elements."""
    if isinstance(batch, dict):
        for key in ("input_ids", "inputs", "x"):
            if key in batch and hasattr(batch[key], "numel"):
                return int(batch[key].numel())
        first = next((v for v in batch.values() if hasattr(v, "numel")), None)
        return int(first.numel()) if first is not None else 0
    if isinstance(batch, (tuple, list)) and batch:
        return batch_tokens(batch[0])
    return int(batch.numel()) if hasattr(batch, "numel") else 0
