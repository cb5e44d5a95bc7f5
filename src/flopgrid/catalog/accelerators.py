"""The accelerator catalog (datasheet figures, dense peaks, each with its source).

Sources are vendor datasheets / product pages as cited per entry. Where a vendor gives a
bidirectional scale-up figure, the entry stores half of it (one direction per chip).
`cpu` has no fixed peak: it is measured with `flopgrid peak --measure` (see
`flopgrid.catalog.cpu_peak`).
"""

from __future__ import annotations

from flopgrid.catalog.accelerator import Accelerator
from flopgrid.errors import UserInputError, did_you_mean

T = 1e12
GB = 1e9

_NV_A100 = "NVIDIA A100 Tensor Core GPU datasheet (2021), SXM column, dense"
_NV_H100 = "NVIDIA H100 Tensor Core GPU datasheet (2023), dense (sparsity figures halved)"
_NV_H200 = "NVIDIA H200 Tensor Core GPU datasheet (2024), SXM, dense"
_NV_B200 = "NVIDIA HGX B200 datasheet (2024): 8-GPU totals / 8, sparsity figures halved"
_NV_GB200 = "NVIDIA GB200 NVL72 datasheet (2024): 72-GPU totals / 72, sparsity figures halved"
_NV_V100 = "NVIDIA V100 Tensor Core GPU datasheet (2020), SXM2 32GB"
_NV_L40S = "NVIDIA L40S datasheet (2023), dense (sparsity figures halved)"
_AMD_MI250X = "AMD Instinct MI250X datasheet (2021)"
_AMD_MI300X = "AMD Instinct MI300X datasheet (2023)"
_AMD_MI325X = "AMD Instinct MI325X datasheet (2024)"
_TPU = "Google Cloud TPU system architecture docs (cloud.google.com/tpu/docs/system-architecture-tpu-vm), per chip"
_GAUDI2 = "Intel Gaudi 2 AI accelerator white paper (2022)"
_GAUDI3 = "Intel Gaudi 3 AI accelerator white paper (2024)"
# NVIDIA's "80GB" / "40GB" parts carry 80 / 40 GiB of HBM (5 stacks of 16 / 8 GiB): nvidia-smi
# reports memory.total 81920 MiB (A100 80GB) and 81559 MiB (H100 80GB, after the driver's
# reserve); taking "80 GB" as 80e9 bytes under-states the chip by 7% (74.5 GiB) and made
# published FSDP runs "not fit".
_GIB_80_A100 = 81920 * 2**20 / 1e9
_GIB_80_H100 = 81559 * 2**20 / 1e9
_GIB_40_A100 = 40960 * 2**20 / 1e9


def _acc(name: str, vendor: str, src: str, peaks: dict[str, float], hbm_gb: float, hbm_tb_s: float,
         scale_up_gb_s: float, notes: str = "", scale_up_src: str | None = None) -> Accelerator:
    return Accelerator(
        name=name,
        vendor=vendor,
        peak_flops={k: v * T for k, v in peaks.items()},
        hbm_bytes=hbm_gb * GB,
        hbm_bytes_per_s=hbm_tb_s * 1e12,
        scale_up_bytes_per_s=scale_up_gb_s * GB,
        sources={"peak_flops": src, "hbm": src, "scale_up": scale_up_src or src},
        notes=notes,
    )


ACCELERATORS: dict[str, Accelerator] = {
    a.name: a
    for a in [
        _acc("a100-80gb", "nvidia", _NV_A100, {"bf16": 312, "fp16": 312, "tf32": 156, "fp32": 19.5}, _GIB_80_A100,
             2.039, 300,
             "NVLink 3: 600 GB/s bidirectional per GPU"),
        _acc("a100-40gb", "nvidia", _NV_A100, {"bf16": 312, "fp16": 312, "tf32": 156, "fp32": 19.5}, _GIB_40_A100,
             1.555, 300,
             "NVLink 3: 600 GB/s bidirectional per GPU"),
        _acc("h100-sxm", "nvidia", _NV_H100, {"bf16": 989.5, "fp16": 989.5, "fp8": 1979, "tf32": 494.7, "fp32": 66.9},
             _GIB_80_H100, 3.35, 450, "NVLink 4: 900 GB/s bidirectional per GPU"),
        _acc("h100-pcie", "nvidia", _NV_H100, {"bf16": 756.5, "fp16": 756.5, "fp8": 1513, "tf32": 378, "fp32": 51.2},
             _GIB_80_H100, 2.0, 300, "NVLink bridge pairs two GPUs at 600 GB/s bidirectional"),
        _acc("h100-nvl", "nvidia", _NV_H100, {"bf16": 835.5, "fp16": 835.5, "fp8": 1670.5, "tf32": 417.5, "fp32": 60},
             94, 3.9, 300, "NVLink bridge 600 GB/s bidirectional"),
        _acc("h200", "nvidia", _NV_H200, {"bf16": 989.5, "fp16": 989.5, "fp8": 1979, "tf32": 494.7, "fp32": 66.9},
             141, 4.8, 450, "NVLink 4: 900 GB/s bidirectional per GPU"),
        _acc("b200", "nvidia", _NV_B200, {"bf16": 2250, "fp16": 2250, "fp8": 4500, "tf32": 1100, "fp32": 75},
             180, 8.0, 900, "NVLink 5: 1.8 TB/s bidirectional per GPU"),
        _acc("gb200", "nvidia", _NV_GB200, {"bf16": 2500, "fp16": 2500, "fp8": 5000, "tf32": 1250, "fp32": 80},
             186, 8.0, 900, "Blackwell GPU of a GB200 superchip; NVLink 5, 72-GPU domain"),
        _acc("v100-sxm", "nvidia", _NV_V100, {"fp16": 125, "fp32": 15.7}, 32, 0.9, 150,
             "no bf16/tf32 tensor cores; NVLink 2: 300 GB/s bidirectional"),
        _acc("l40s", "nvidia", _NV_L40S, {"bf16": 362.05, "fp16": 362.05, "fp8": 733, "tf32": 183, "fp32": 91.6},
             48, 0.864, 32, "no NVLink: PCIe Gen4 x16 (64 GB/s bidirectional) as scale-up"),
        _acc("mi250x", "amd", _AMD_MI250X, {"bf16": 383, "fp16": 383, "fp32": 95.7}, 128, 3.2768, 400,
             "two GCDs per package, treated as one chip; 8 Infinity Fabric links, 800 GB/s aggregate"),
        _acc("mi300x", "amd", _AMD_MI300X, {"bf16": 1307.4, "fp16": 1307.4, "fp8": 2614.9, "tf32": 653.7, "fp32": 163.4},
             192, 5.3, 448, "7 Infinity Fabric links x 128 GB/s = 896 GB/s aggregate"),
        _acc("mi325x", "amd", _AMD_MI325X, {"bf16": 1307.4, "fp16": 1307.4, "fp8": 2614.9, "tf32": 653.7, "fp32": 163.4},
             256, 6.0, 448, "7 Infinity Fabric links x 128 GB/s = 896 GB/s aggregate"),
        _acc("tpu-v3", "google", _TPU, {"bf16": 123}, 32 * 1.073741824, 0.9, 328,
             "ICI per chip approximate (no official per-chip figure); HBM 32 GiB"),
        _acc("tpu-v4", "google", _TPU, {"bf16": 275}, 32 * 1.073741824, 1.2, 300,
             "ICI 4,800 Gbps bidirectional per chip; HBM 32 GiB"),
        _acc("tpu-v5e", "google", _TPU, {"bf16": 197}, 16 * 1.073741824, 0.819, 100,
             "ICI 1,600 Gbps bidirectional per chip; HBM 16 GiB"),
        _acc("tpu-v5p", "google", _TPU, {"bf16": 459}, 95 * 1.073741824, 2.765, 300,
             "ICI 4,800 Gbps bidirectional per chip; HBM 95 GiB"),
        _acc("tpu-v6e", "google", _TPU, {"bf16": 918}, 32 * 1.073741824, 1.64, 224,
             "Trillium; ICI 3,584 Gbps bidirectional per chip; HBM 32 GiB"),
        _acc("gaudi2", "intel", _GAUDI2, {"bf16": 432, "fp16": 432, "fp8": 865, "fp32": 108}, 96, 2.46, 262.5,
             "21 of 24 x 100 GbE RoCE ports form the in-node scale-up mesh"),
        _acc("gaudi3", "intel", _GAUDI3, {"bf16": 1835, "fp16": 1835, "fp8": 1835, "fp32": 229}, 128, 3.7, 525,
             "21 of 24 x 200 GbE RoCE ports form the in-node scale-up mesh; MME bf16 = fp8 peak"),
    ]
}

ALIASES: dict[str, str] = {"a100": "a100-80gb", "h100": "h100-sxm"}

HARDWARE_NAMES: tuple[str, ...] = (*ACCELERATORS, "cpu")


def get_accelerator(name: str) -> Accelerator:
    """Look up an accelerator by name or alias. `cpu` is built from the measured peak.

    Unknown names are an error listing the valid names: flopgrid never falls back to
    another chip's peak.
    """
    key = ALIASES.get(name.lower().strip(), name.lower().strip())
    if key in ACCELERATORS:
        return ACCELERATORS[key]
    if key == "cpu":
        from flopgrid.catalog.cpu_peak import cpu_accelerator

        return cpu_accelerator()
    raise UserInputError(
        f"unknown hardware {name!r}{did_you_mean(key, [*HARDWARE_NAMES, *ALIASES])}; valid: "
        + ", ".join(HARDWARE_NAMES)
        + " (aliases: a100, h100)"
    )
