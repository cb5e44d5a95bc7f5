"""Accelerator type and lookup.

Peaks are *dense* FLOP/s for the dtype (datasheets also print 2x "with sparsity" figures;
flopgrid never uses those). Bandwidths are bytes/s; `scale_up_bytes_per_s` is the per-chip
one-direction injection bandwidth into the scale-up fabric (NVLink, Infinity Fabric, ICI),
i.e. half the bidirectional aggregate that datasheets print.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from flopgrid.errors import UserInputError

DTYPES: tuple[str, ...] = ("bf16", "fp16", "fp8", "tf32", "fp32")


class Accelerator(BaseModel):
    """One accelerator chip with its datasheet figures and their sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    vendor: str
    peak_flops: dict[str, float] = Field(description="dense peak FLOP/s per dtype")
    hbm_bytes: float
    hbm_bytes_per_s: float
    scale_up_bytes_per_s: float
    sources: dict[str, str] = Field(default_factory=dict, description="field -> citation")
    notes: str = ""

    @property
    def training_dtype(self) -> str:
        """The dtype mixed-precision training computes in on this chip: bf16 where the chip
        has it, else fp16 (V100), else fp32 (a measured CPU)."""
        return next((d for d in ("bf16", "fp16", "fp32") if d in self.peak_flops), "bf16")

    def peak(self, dtype: str = "bf16") -> float:
        """Dense peak FLOP/s for `dtype`; a clear error when the chip lacks it."""
        if dtype not in DTYPES:
            raise UserInputError(f"dtype {dtype!r} is not one of: {', '.join(DTYPES)}")
        if dtype not in self.peak_flops:
            have = ", ".join(self.peak_flops) or "none"
            raise UserInputError(f"{self.name} has no {dtype} peak (it has: {have}); choose one with --dtype")
        return self.peak_flops[dtype]
