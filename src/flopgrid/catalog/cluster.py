"""Cluster: the fabric a job runs on (DESIGN.md "Cluster").

A cluster is an accelerator type, a chip count, a scale-up domain (chips joined by
NVLink/NVSwitch, Infinity Fabric or ICI) and a scale-out network (InfiniBand/RoCE/DCN) with
a per-chip bandwidth and latency. Named defaults follow the reference systems of each
accelerator; files (JSON/YAML) give the same fields.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flopgrid.catalog.accelerator import Accelerator
from flopgrid.catalog.accelerators import ACCELERATORS, ALIASES, get_accelerator
from flopgrid.catalog.spec_files import format_validation_error, read_mapping
from flopgrid.errors import UserInputError, did_you_mean

GBIT = 1e9 / 8  # bytes/s in one Gb/s


class Cluster(BaseModel):
    """A homogeneous cluster. Bandwidths are per chip, one direction, bytes/s."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    hardware: str
    chips: int = Field(gt=0)
    scale_up_domain: int = Field(gt=0, description="chips per NVLink/ICI domain")
    scale_up_bytes_per_s: float | None = Field(default=None, gt=0, description="default: the accelerator's")
    scale_out_bytes_per_s: float = Field(gt=0, description="per-chip scale-out NIC bandwidth")
    scale_up_latency_s: float = Field(default=5e-6, ge=0)
    scale_out_latency_s: float = Field(default=10e-6, ge=0)
    source: str = ""

    @property
    def accelerator(self) -> Accelerator:
        return get_accelerator(self.hardware)

    @property
    def scale_up_bw(self) -> float:
        return self.scale_up_bytes_per_s or self.accelerator.scale_up_bytes_per_s


def _c(name: str, hw: str, chips: int, domain: int, nic_gbit_per_chip: float, source: str, **kw: float) -> Cluster:
    return Cluster(name=name, hardware=hw, chips=chips, scale_up_domain=domain,
                   scale_out_bytes_per_s=nic_gbit_per_chip * GBIT, source=source, **kw)


CLUSTERS: dict[str, Cluster] = {
    c.name: c
    for c in [
        _c("selene-a100", "a100-80gb", 4480, 8, 200,
           "NVIDIA Selene / DGX A100 SuperPOD: 8 GPUs per node on NVSwitch, 8 x 200 Gb/s HDR InfiniBand per node"),
        _c("dgx-a100-40gb", "a100-40gb", 1024, 8, 200, "DGX A100 (40 GB): 8 x 200 Gb/s HDR per node"),
        _c("dgx-h100", "h100-sxm", 16384, 8, 400, "DGX H100 SuperPOD: 8 GPUs on NVSwitch, 8 x 400 Gb/s NDR per node"),
        _c("pcie-h100", "h100-pcie", 1024, 2, 200, "PCIe H100 servers: NVLink bridge pairs, 200 Gb/s per GPU"),
        _c("nvl-h100", "h100-nvl", 1024, 2, 400, "H100 NVL servers: NVLink bridge pairs, 400 Gb/s per GPU"),
        _c("dgx-h200", "h200", 16384, 8, 400, "DGX H200: 8 GPUs on NVSwitch, 8 x 400 Gb/s NDR per node"),
        _c("dgx-b200", "b200", 8192, 8, 400, "DGX B200: 8 GPUs on NVSwitch, 8 x 400 Gb/s ConnectX-7 per node"),
        _c("gb200-nvl72", "gb200", 9216, 72, 400, "GB200 NVL72 racks: 72-GPU NVLink domain, 400 Gb/s ConnectX-7 per GPU"),
        _c("dgx-1v", "v100-sxm", 1024, 8, 50, "DGX-1V: 8 V100 on NVLink hybrid cube mesh, 4 x 100 Gb/s EDR per node"),
        _c("l40s-ethernet", "l40s", 512, 8, 50, "8 x L40S PCIe servers, 2 x 200 GbE per node"),
        _c("frontier-mi250x", "mi250x", 4096, 4, 200,
           "Frontier node: 4 MI250X on Infinity Fabric, 4 x 200 Gb/s Slingshot-11"),
        _c("mi300x-platform", "mi300x", 4096, 8, 400, "AMD Instinct MI300X platform: 8 GPUs, 400 Gb/s NIC per GPU"),
        _c("mi325x-platform", "mi325x", 4096, 8, 400, "AMD Instinct MI325X platform: 8 GPUs, 400 Gb/s NIC per GPU"),
        _c("tpu-v3-pod", "tpu-v3", 1024, 1024, 100, "TPU v3 pod: whole 1,024-chip slice on ICI; DCN beyond"),
        _c("tpu-v4-pod", "tpu-v4", 4096, 4096, 100, "TPU v4 pod: 4,096 chips on ICI (3D torus); DCN beyond"),
        _c("tpu-v5e-pod", "tpu-v5e", 256, 256, 100, "TPU v5e pod: 256 chips on ICI (2D torus); DCN beyond"),
        _c("tpu-v5p-pod", "tpu-v5p", 8960, 8960, 100, "TPU v5p pod: 8,960 chips on ICI (3D torus); DCN beyond"),
        _c("tpu-v6e-pod", "tpu-v6e", 256, 256, 100, "TPU v6e pod: 256 chips on ICI; DCN beyond"),
        _c("gaudi2-hls", "gaudi2", 1024, 8, 300, "Gaudi 2 HLS-2 server: 8 chips, 3 x 100 GbE scale-out per chip"),
        _c("gaudi3-hls", "gaudi3", 1024, 8, 600, "Gaudi 3 server: 8 chips, 3 x 200 GbE scale-out per chip"),
    ]
}

DEFAULT_CLUSTER_FOR: dict[str, str] = {c.hardware: c.name for c in reversed(list(CLUSTERS.values()))}


def default_cluster(hardware: str, chips: int | None = None) -> Cluster:
    """The named default cluster of an accelerator (e.g. a100-80gb -> selene-a100)."""
    acc = get_accelerator(hardware)
    if acc.name == "cpu":
        base = Cluster(name="cpu-host", hardware="cpu", chips=1, scale_up_domain=1,
                       scale_up_bytes_per_s=1e9, scale_out_bytes_per_s=1e9, source="this machine")
    else:
        base = CLUSTERS[DEFAULT_CLUSTER_FOR[acc.name]]
    if chips is not None and chips > base.chips:
        base = base.model_copy(update={"chips": chips})
    return base


def load_cluster(name_or_path: str | None, hardware: str | None = None, chips: int | None = None) -> Cluster:
    """A cluster by name, from a JSON/YAML file, or the hardware's default when None."""
    if name_or_path is None:
        if hardware is None:
            raise UserInputError("give --cluster or --hardware")
        return default_cluster(hardware, chips)
    if name_or_path in CLUSTERS:
        return CLUSTERS[name_or_path]
    path = Path(name_or_path)
    if not path.exists():
        raise UserInputError(
            f"unknown cluster {name_or_path!r}{did_you_mean(name_or_path, CLUSTERS)}: give a name "
            f"({', '.join(CLUSTERS)}) or a JSON/YAML file"
        )
    data = read_mapping(path, "cluster file")
    data["hardware"] = ALIASES.get(str(data.get("hardware", "")), data.get("hardware"))
    if data.get("hardware") not in (*ACCELERATORS, "cpu"):
        get_accelerator(str(data.get("hardware")))  # raises with the list of names
    data.setdefault("name", path.stem)
    try:
        return Cluster(**data)
    except ValidationError as exc:
        raise UserInputError(f"{path}: {format_validation_error(exc)}") from None
