"""FLOP accounting: parameter counts, FLOPs per token, MFU / HFU."""

from flopgrid.flops.per_token import (
    ATTENTION_CONVENTIONS,
    PARAMS_CONVENTIONS,
    RECOMPUTE_MODES,
    attention_flops_per_token,
    hardware_flops_per_token,
    model_flops_per_token,
    params_for_flops,
    recompute_flops_per_token,
)
from flopgrid.flops.report import MfuReport, mfu_report
from flopgrid.flops.utilization import Throughput, flops_utilization
from flopgrid.flops.weights import ParamCounts, WeightMatrix, param_counts, weight_matrices

__all__ = [
    "ATTENTION_CONVENTIONS",
    "PARAMS_CONVENTIONS",
    "RECOMPUTE_MODES",
    "MfuReport",
    "ParamCounts",
    "Throughput",
    "WeightMatrix",
    "attention_flops_per_token",
    "flops_utilization",
    "hardware_flops_per_token",
    "mfu_report",
    "model_flops_per_token",
    "param_counts",
    "params_for_flops",
    "recompute_flops_per_token",
    "weight_matrices",
]
