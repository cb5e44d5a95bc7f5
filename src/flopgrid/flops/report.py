"""One MFU/HFU report: the numbers behind `flopgrid mfu` (DESIGN.md contract keys)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from flopgrid.catalog.accelerator import Accelerator
from flopgrid.catalog.model_spec import ModelSpec
from flopgrid.flops.per_token import hardware_flops_per_token, model_flops_per_token
from flopgrid.flops.utilization import flops_utilization
from flopgrid.flops.weights import param_counts


@dataclass(frozen=True)
class MfuReport:
    """MFU / HFU of a measured run, with the convention that produced them."""

    model: str
    hardware: str
    dtype: str
    chips: int
    params_total: int
    params_matmul: int
    params_active: int
    model_flops_per_token: float
    hardware_flops_per_token: float
    peak_flops_per_chip: float
    tokens_per_second: float
    mfu: float
    hfu: float
    seq_len: int
    params_convention: str
    attention_convention: str
    recompute: str

    @property
    def convention(self) -> str:
        """The convention in words (printed under the table)."""
        n = "matmul parameters (input-embedding lookup excluded, tied embedding once, active experts only)" \
            if self.params_convention == "matmul" else "all parameters (active experts only)"
        att = {"full": "full T x T attention (PaLM App. B, no causal halving)",
               "causal": "causal attention (T x T term halved)",
               "none": "no attention term (6N)"}[self.attention_convention]
        rc = {"none": "no recomputation", "selective": "selective recompute of attention (Korthikanti et al. 2022)",
              "full": "full recompute of every layer's forward (Megatron-LM eq. 3)",
              "palm-partial": "PaLM partial remat (75% of non-attention forward + attention forward)"}[self.recompute]
        return (f"model FLOPs/token = 6·N + attention, N = {n}; {att}; HFU adds {rc}; "
                f"peak = dense {self.dtype} of {self.hardware}")

    def as_dict(self) -> dict:
        return {**asdict(self), "convention": self.convention}


def mfu_report(
    spec: ModelSpec,
    accelerator: Accelerator,
    chips: int,
    tokens_per_second: float,
    dtype: str = "bf16",
    seq_len: int | None = None,
    params: str = "matmul",
    attention: str = "full",
    recompute: str = "none",
) -> MfuReport:
    """Compute MFU and HFU of a run of `spec` on `chips` x `accelerator`."""
    counts = param_counts(spec)
    peak = accelerator.peak(dtype)
    model_fpt = model_flops_per_token(spec, params, attention, seq_len)  # type: ignore[arg-type]
    hw_fpt = hardware_flops_per_token(spec, recompute, params, attention, seq_len)  # type: ignore[arg-type]
    return MfuReport(
        model=spec.name,
        hardware=accelerator.name,
        dtype=dtype,
        chips=chips,
        params_total=counts.total,
        params_matmul=counts.matmul,
        params_active=counts.active,
        model_flops_per_token=model_fpt,
        hardware_flops_per_token=hw_fpt,
        peak_flops_per_chip=peak,
        tokens_per_second=tokens_per_second,
        mfu=flops_utilization(model_fpt, tokens_per_second, chips, peak),
        hfu=flops_utilization(hw_fpt, tokens_per_second, chips, peak),
        seq_len=seq_len or spec.seq_len,
        params_convention=params,
        attention_convention=attention,
        recompute=recompute,
    )
