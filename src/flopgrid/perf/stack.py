"""The software stack as the performance model sees it: a framework profile resolved on one chip.

`Stack.of(profile, accelerator, calibration)` turns a `flopgrid.catalog.FrameworkProfile`
into the numbers the engine uses:

- GEMM efficiency per chip generation at the same shapes: the calibration constants were
  fitted on A100 (Selene); another chip scales them by its measured maximum achievable
  matmul FLOPS (MAMF) fraction over the A100's. MAMF table: S. Bekman, *Machine Learning
  Engineering* (github.com/stas00/ml-engineering, compute/accelerator/README.md, "Maximum
  Achievable Matmul FLOPS comparison table", BF16): A100 SXM 267.9/312 = 85.9%, H100 SXM
  792.1/989 = 80.1% (H100/H200 794.5 = 80.3%), GH200 83.0%, A100 PCIe 82.2%, B200 77.6%,
  MI250X 76.7%, MI300X 781.9/1300 = 60.1%. Chips without a published MAMF keep factor 1.
- attention kernel: FlashAttention fwd+bwd throughput as a fraction of dense peak.
  FlashAttention-2 on A100: `Calibration.flash_eff` (Dao 2023, arXiv:2307.08691 §4.1).
  FlashAttention-2 on H100: 35% (Shah et al. 2024, FlashAttention-3, arXiv:2407.08608,
  abstract: "FlashAttention-2 achieves only 35% utilization on the H100"). FlashAttention-3
  (and cuDNN fused attention) on Hopper: forward 75% (740 TFLOP/s BF16, same abstract),
  backward 1.5-1.75x FlashAttention-2's, i.e. ~50%; fwd+bwd (backward 2.5x the forward's
  FLOPs) = 3.5 / (1/0.75 + 2.5/0.50) = 55%. Other chips: the A100 figure times the chip's
  GEMM factor; `flash3` off Hopper falls back to the chip's FlashAttention-2 figure.
  The Triton FlashAttention kernel (`triton`: Dao-AILab/flash-attention
  flash_attn/flash_attn_triton.py, the kernel MPT / llm-foundry ran as `attn_impl: triton`,
  the default of llm-foundry scripts/train/benchmarking/submit_benchmarks.py): its docstring
  says "Triton forward + backward is slightly slower than CUDA forward + backward", the CUDA
  kernel of the time being FlashAttention(-1), and FlashAttention-2 is "around 2x" faster
  than FlashAttention (Dao 2023, arXiv:2307.08691, abstract): `TRITON_OVER_FLASH2` = 1/2 of
  the chip's FlashAttention-2 figure. It pads the head dimension to the next power of two
  (`BLOCK_HEADDIM = max(triton.next_power_of_2(d), 16)` in `_flash_attn_forward` /
  `_flash_attn_backward`), so a head of 112 runs the FLOPs of 128 (`head_dim_pow2`).
- collectives on compute cores: NCCL / RCCL collectives are kernels on the GPU's SMs and
  compete with the GEMMs they overlap (`Calibration.overlap_slowdown`); a TPU's ICI
  transfers are driven by the chip's own DMA engines and routers, not its TensorCores
  (Jouppi et al., "TPU v4", ISCA'23 §2-3), so the slowdown is not applied there.
- element-wise ops: unfused stacks move each intermediate of a norm / activation through
  HBM once more (read + write per extra kernel): `UNFUSED_ELEMENTWISE_FACTOR` x the fused
  byte count (an allowance: torchtitan reports +16% tokens/s on Llama 3 8B from
  torch.compile fusing them, docs/performance.md Table 1; the factor 2 reproduces that
  order of effect on H100).
- FSDP parameters in fp32 (`fsdp_param_bytes` 4: PyTorch FSDP MixedPrecision with no
  param_dtype, e.g. Composer's mixed_precision 'DEFAULT' of the PyTorch 1.13 era,
  mosaicml/composer composer/trainer/dist_strategy.py: param_dtype None, reduce_dtype the
  autocast precision): every all-gather moves 4 bytes per parameter and autocast casts each
  gathered fp32 weight to bf16 at every forward use (torch.autocast casts the inputs of
  matmul-class ops to the lower precision; read 4 + write 2 bytes per weight at HBM
  bandwidth), once in the forward and once more in a full-recompute forward.
- context parallelism: Megatron-Core's ring passes each K/V block to the next cp rank while
  the attention of the current block runs (hidden up to the attention time); the
  all-gather form of Llama 3 (Grattafiori et al. 2024, arXiv:2407.21783 §3.3.2; PyTorch's
  context-parallel tutorial: "the all-gather based pass-KV algorithm is used in Llama3
  training") first all-gathers K and V over the cp ranks, then computes the local queries'
  attention, and reduce-scatters dK, dV in the backward: both collectives on the critical
  path (`cp_allgather`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flopgrid.catalog.accelerator import Accelerator
from flopgrid.catalog.framework import FrameworkProfile
from flopgrid.perf.constants import Calibration

MAMF_FRACTION: dict[str, float] = {
    "a100-80gb": 0.859, "a100-40gb": 0.859, "h100-sxm": 0.801, "h200": 0.803, "h100-pcie": 0.801 * 0.822 / 0.859,
    "h100-nvl": 0.801, "b200": 0.776, "gb200": 0.776, "mi250x": 0.767, "mi300x": 0.601, "mi325x": 0.601,
}
"""Measured maximum achievable BF16 matmul fraction of dense peak (Bekman, ml-engineering
MAMF table; H100 PCIe scaled by the A100 PCIe/SXM ratio; MI325X and GB200 take their
generation's figure)."""
REFERENCE_CHIP = "a100-80gb"  # the calibration runs' chip
HOPPER = ("h100-sxm", "h100-pcie", "h100-nvl", "h200")
FLASH2_HOPPER = 0.35
FLASH3_HOPPER = 0.55
TRITON_OVER_FLASH2 = 0.5
UNFUSED_ELEMENTWISE_FACTOR = 2.0


def gemm_generation_factor(accelerator_name: str) -> float:
    """MAMF fraction of the chip over the A100's (1.0 for chips without a published MAMF)."""
    frac = MAMF_FRACTION.get(accelerator_name)
    return 1.0 if frac is None else frac / MAMF_FRACTION[REFERENCE_CHIP]


def flash_fraction(kernel: str, accelerator_name: str, cal: Calibration) -> float:
    """FlashAttention fwd+bwd throughput as a fraction of dense peak on this chip (for
    `triton`, half the chip's FlashAttention-2 figure, before any head-dimension padding)."""
    if kernel == "triton":
        return TRITON_OVER_FLASH2 * flash_fraction("flash2", accelerator_name, cal)
    if accelerator_name in HOPPER:
        return FLASH3_HOPPER if kernel == "flash3" else FLASH2_HOPPER
    return cal.flash_eff * gemm_generation_factor(accelerator_name)


def padded_head_dim(head_dim: int) -> int:
    """The head dimension the Triton FlashAttention kernel computes with: the next power of
    two, at least 16 (flash_attn_triton.py BLOCK_HEADDIM). 112 -> 128, 128 -> 128, 80 -> 128."""
    return max(16, 1 << max(int(head_dim) - 1, 0).bit_length())


@dataclass(frozen=True)
class Stack:
    """What the engine needs of a framework on one chip (fractions unless named)."""

    name: str = "legacy"
    flash: bool = True
    flash_eff: float = 0.55
    gemm_factor: float = 1.0
    elementwise_factor: float = 1.0
    dp_overlap: float = 0.0
    tp_overlap: float = 0.0
    fsdp_prefetch: bool = True
    fsdp_reduce_bytes: float = 2.0
    fsdp_param_bytes: float = 2.0
    selective_gemm_recompute: float = 0.0
    comm_uses_compute: bool = True  # collectives run as kernels on the compute cores (GPUs)
    head_dim_pow2: bool = False  # the attention kernel pads the head dimension to a power of two
    cp_allgather: bool = False  # context parallelism all-gathers K/V (exposed) instead of a ring

    @staticmethod
    def of(profile: FrameworkProfile, accelerator: Accelerator, cal: Calibration,
           flash_attention: bool = True) -> "Stack":
        flash = flash_attention and profile.attention != "unfused"
        return Stack(
            name=profile.name,
            flash=flash,
            flash_eff=flash_fraction(profile.attention, accelerator.name, cal),
            gemm_factor=gemm_generation_factor(accelerator.name),
            elementwise_factor=1.0 if profile.fused_elementwise else UNFUSED_ELEMENTWISE_FACTOR,
            dp_overlap=max(profile.dp_overlap, cal.dp_overlap),
            tp_overlap=profile.tp_overlap,
            fsdp_prefetch=profile.fsdp_prefetch,
            fsdp_reduce_bytes=profile.fsdp_reduce_bytes,
            fsdp_param_bytes=profile.fsdp_param_bytes,
            selective_gemm_recompute=profile.selective_gemm_recompute,
            comm_uses_compute=not accelerator.name.startswith("tpu"),
            head_dim_pow2=profile.attention == "triton",
            cp_allgather=profile.cp_algorithm == "allgather",
        )


def resolve_framework(framework: "FrameworkProfile | str | None") -> FrameworkProfile:
    """A profile object, a shipped name or a file path (None: the default profile)."""
    from flopgrid.catalog.framework import load_framework

    if isinstance(framework, FrameworkProfile):
        return framework
    return load_framework(framework)


def framework_violation(profile: FrameworkProfile, plan) -> str | None:
    """Why `profile` cannot run `plan` (a flopgrid.perf.Plan), or None when it can."""
    name = profile.name
    if plan.tp > 1 and not profile.tensor_parallel:
        return f"framework {name} has no tensor parallelism (tp must be 1, got {plan.tp})"
    if profile.max_tp is not None and plan.tp > profile.max_tp:
        return f"framework {name} runs tp <= {profile.max_tp}, got {plan.tp}"
    if plan.pp > 1 and not profile.pipeline:
        return f"framework {name} has no pipeline parallelism (pp must be 1, got {plan.pp})"
    if plan.interleave > 1 and not profile.interleaved:
        return f"framework {name} has no interleaved pipeline schedule (interleave must be 1, got {plan.interleave})"
    if plan.cp > 1 and not profile.context_parallel:
        return f"framework {name} has no context parallelism (cp must be 1, got {plan.cp})"
    if plan.ep > 1 and not profile.expert_parallel:
        return f"framework {name} has no expert parallelism (ep must be 1, got {plan.ep})"
    if plan.sequence_parallel and not profile.sequence_parallel:
        return f"framework {name} has no sequence parallelism"
    if plan.zero not in profile.zero_stages:
        return f"framework {name} offers ZeRO stages {', '.join(map(str, profile.zero_stages))}, got {plan.zero}"
    if plan.recompute not in profile.recompute:
        return f"framework {name} offers recompute {', '.join(profile.recompute)}, got {plan.recompute!r}"
    return None
