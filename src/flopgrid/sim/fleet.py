"""Fleets: pools of accelerators (hardware, chips, nodes, fabric islands, MTTF).

A fleet file (JSON or YAML) is `{"name": ..., "pools": [pool, ...]}` where each pool has
the DESIGN.md Pool fields the simulator uses: `id`, `hardware`, `chips`, `island_chips`
(largest gang on one fabric island), optional `node_chips` (default 8), optional `cluster`
(a catalog cluster name or an inline cluster mapping: the fabric the perf model uses;
default the hardware's named cluster), optional `mttf_chip_hours` (default Llama 3's),
optional `checkpoint_s`, `restart_s`, `repair_s`, optional `price_per_chip_hour` (USD, the
pool's offer under the `market` policy; default: see `flopgrid.sim.policies.market`).

Named fleets:
- `philly-like`: about 2,500 GPUs, 8 per node. Philly (Jeon et al., ATC'19) ran P100/P40
  GPUs, which the catalog does not carry; they are approximated by V100 in three pools of
  decreasing fabric quality (InfiniBand racks, Ethernet, PCIe pairs).
- `h100-campus`: 16,384 H100 SXM in 4 pools with different fabrics and MTTFs.
- `pollux-64`: the Pollux testbed size (OSDI'21: 16 nodes x 4 T4), approximated by
  64 V100 in nodes of 4.
- `grid-mixed`: 6,400 chips of a heterogeneous compute grid in 8 pools (`GRID_MIXED`
  below: hardware, fabric, posted price and MTTF of each, with the source of each figure).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flopgrid.catalog import CLUSTERS, Cluster, default_cluster, get_accelerator
from flopgrid.catalog.cluster import GBIT
from flopgrid.catalog.spec_files import format_validation_error, read_mapping
from flopgrid.errors import UserInputError, did_you_mean
from flopgrid.reliability import (
    DEFAULT_CHECKPOINT_S,
    DEFAULT_REPAIR_S,
    DEFAULT_RESTART_S,
    LLAMA3_MTTF_CHIP_HOURS,
)


class PoolSpec(BaseModel):
    """One homogeneous pool of a fleet. Times in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    hardware: str
    chips: int = Field(gt=0)
    node_chips: int = Field(default=8, gt=0)
    island_chips: int | None = Field(default=None, gt=0, description="default: the whole pool")
    cluster: str | dict[str, Any] | None = None
    mttf_chip_hours: float = Field(default=LLAMA3_MTTF_CHIP_HOURS, gt=0)
    checkpoint_s: float = Field(default=DEFAULT_CHECKPOINT_S, ge=0)
    restart_s: float = Field(default=DEFAULT_RESTART_S, ge=0)
    repair_s: float = Field(default=DEFAULT_REPAIR_S, ge=0)
    dtype: str | None = Field(default=None, description="default: bf16, else fp16 (V100)")
    price_per_chip_hour: float | None = Field(default=None, ge=0, description="offer under the market policy (USD)")

    @model_validator(mode="after")
    def _check(self) -> PoolSpec:
        acc = get_accelerator(self.hardware)
        if self.chips % self.node_chips:
            raise ValueError(f"pool {self.id}: chips ({self.chips}) must be a multiple of node_chips ({self.node_chips})")
        isl = self.island_chips or self.chips
        if isl % self.node_chips:
            raise ValueError(f"pool {self.id}: island_chips ({isl}) must be a multiple of node_chips")
        if self.peak_dtype(acc) is None:
            raise ValueError(f"pool {self.id}: {acc.name} has no dense peak for bf16/fp16")
        return self

    @staticmethod
    def peak_dtype(acc: Any) -> str | None:
        for d in ("bf16", "fp16"):
            if acc.peak_flops.get(d):
                return d
        return None

    @property
    def nodes(self) -> int:
        return self.chips // self.node_chips

    @property
    def nodes_per_island(self) -> int:
        return (self.island_chips or self.chips) // self.node_chips

    @property
    def compute_dtype(self) -> str:
        acc = get_accelerator(self.hardware)
        return self.dtype if self.dtype and acc.peak_flops.get(self.dtype) else str(self.peak_dtype(acc))

    @property
    def peak_flops_per_chip(self) -> float:
        return float(get_accelerator(self.hardware).peak_flops[self.compute_dtype])

    def fabric(self) -> Cluster:
        """The Cluster the perf model sees for this pool."""
        if self.cluster is None:
            base = default_cluster(self.hardware)
            return base.model_copy(update={"chips": max(self.chips, base.chips)})
        if isinstance(self.cluster, str):
            if self.cluster not in CLUSTERS:
                raise UserInputError(f"pool {self.id}: unknown cluster {self.cluster!r}{did_you_mean(self.cluster, CLUSTERS)}")
            return CLUSTERS[self.cluster]
        data = {"name": f"{self.id}-fabric", "hardware": self.hardware, "chips": self.chips, **self.cluster}
        try:
            return Cluster(**data)
        except ValidationError as exc:
            raise UserInputError(f"pool {self.id} cluster: {format_validation_error(exc)}") from None


class FleetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    pools: tuple[PoolSpec, ...] = Field(min_length=1)

    @property
    def chips(self) -> int:
        return sum(p.chips for p in self.pools)


def _fabric(domain: int, nic_gbit: float) -> dict[str, Any]:
    return {"scale_up_domain": domain, "scale_out_bytes_per_s": nic_gbit * GBIT}


_V100 = "v100-sxm"
_H100 = "h100-sxm"
FLEETS: dict[str, FleetSpec] = {
    f.name: f
    for f in [
        FleetSpec(name="philly-like", pools=(
            PoolSpec(id="philly-ib", hardware=_V100, chips=1536, island_chips=512, cluster=_fabric(8, 100)),
            PoolSpec(id="philly-eth", hardware=_V100, chips=640, island_chips=256, cluster=_fabric(8, 25)),
            PoolSpec(id="philly-pcie", hardware=_V100, chips=320, island_chips=64, cluster=_fabric(2, 25)),
        )),
        FleetSpec(name="h100-campus", pools=(
            PoolSpec(id="ndr-a", hardware=_H100, chips=8192, island_chips=4096, cluster=_fabric(8, 400)),
            PoolSpec(id="ndr-b", hardware=_H100, chips=4096, island_chips=2048, cluster=_fabric(8, 400),
                     mttf_chip_hours=LLAMA3_MTTF_CHIP_HOURS / 2),
            PoolSpec(id="hdr", hardware=_H100, chips=2048, island_chips=1024, cluster=_fabric(8, 200),
                     mttf_chip_hours=LLAMA3_MTTF_CHIP_HOURS * 1.5),
            PoolSpec(id="roce", hardware=_H100, chips=2048, island_chips=512, cluster=_fabric(8, 100),
                     mttf_chip_hours=LLAMA3_MTTF_CHIP_HOURS / 3),
        )),
        FleetSpec(name="pollux-64", pools=(
            PoolSpec(id="pollux", hardware=_V100, chips=64, node_chips=4, cluster=_fabric(4, 50),
                     restart_s=30.0),
        )),
    ]
}


# grid-mixed. Prices: each pool's posted offer is a position in the published 2024-2025
# range of its hardware (flopgrid.market.prices.PRICE_RANGE_PER_CHIP_HOUR): InfiniBand
# (NDR/HDR) and RoCE pools at the middle (`_MID`), small-island Ethernet and PCIe pools at
# the bottom (`_LOW`) of the range, as providers of weaker fabrics undercut (our rule).
# MTTF (chip-hours per unexpected interruption, ../shared/reference/reliability.md):
# - Llama 3 405B (Meta 2024, arXiv:2407.21783 §3.3.4): 419 unexpected interruptions on
#   16,384 H100 in 54 days -> 54 x 24 x 16,384 / 419 = 50,677 chip-hours (H100/H200 on
#   NDR, the production fabric it was measured on; also MI300X and L40S, which have no
#   published figure: our assumption);
# - OPT-175B logbook (metaseq): 992 A100, "~2 machines go down every day" -> 992 x 24 / 2
#   = 11,904 chip-hours (A100 pools);
# - Meta research clusters (Kokolis et al., HPCA'25, unverified): about 8 h MTTF at 1,024
#   GPUs -> 8,192 chip-hours (H100 on RoCE and Ethernet: commodity fabrics, more flaps).
OPT175B_MTTF_CHIP_HOURS = 992 * 24 / 2
KOKOLIS_MTTF_CHIP_HOURS = 8 * 1024
_MID, _LOW = 0.5, 0.0


def _price(hw: str, position: float) -> float:
    from flopgrid.market.prices import PRICE_RANGE_PER_CHIP_HOUR

    lo, hi = PRICE_RANGE_PER_CHIP_HOUR[hw]
    return round(lo + position * (hi - lo), 4)


GRID_MIXED = FleetSpec(name="grid-mixed", pools=(
    PoolSpec(id="h100-ndr", hardware=_H100, chips=2048, island_chips=2048, cluster=_fabric(8, 400),
             price_per_chip_hour=_price(_H100, _MID)),
    PoolSpec(id="h100-roce", hardware=_H100, chips=1024, island_chips=512, cluster=_fabric(8, 200),
             price_per_chip_hour=_price(_H100, _MID), mttf_chip_hours=KOKOLIS_MTTF_CHIP_HOURS),
    PoolSpec(id="h100-eth", hardware=_H100, chips=512, island_chips=16, cluster=_fabric(8, 25),
             price_per_chip_hour=_price(_H100, _LOW), mttf_chip_hours=KOKOLIS_MTTF_CHIP_HOURS),
    PoolSpec(id="h200-ndr", hardware="h200", chips=512, island_chips=512, cluster=_fabric(8, 400),
             price_per_chip_hour=_price("h200", _MID)),
    PoolSpec(id="a100-hdr", hardware="a100-80gb", chips=1024, island_chips=1024, cluster=_fabric(8, 200),
             price_per_chip_hour=_price("a100-80gb", _MID), mttf_chip_hours=OPT175B_MTTF_CHIP_HOURS),
    PoolSpec(id="a100-eth", hardware="a100-80gb", chips=512, island_chips=32, cluster=_fabric(8, 25),
             price_per_chip_hour=_price("a100-80gb", _LOW), mttf_chip_hours=OPT175B_MTTF_CHIP_HOURS),
    PoolSpec(id="l40s-eth", hardware="l40s", chips=256, island_chips=64, cluster="l40s-ethernet",
             price_per_chip_hour=_price("l40s", _LOW)),
    PoolSpec(id="mi300x-roce", hardware="mi300x", chips=512, island_chips=512, cluster="mi300x-platform",
             price_per_chip_hour=_price("mi300x", _MID)),
))
FLEETS[GRID_MIXED.name] = GRID_MIXED


def load_fleet(name_or_path: str) -> FleetSpec:
    """A named fleet or a JSON/YAML fleet file."""
    if name_or_path in FLEETS:
        return FLEETS[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise UserInputError(
            f"unknown fleet {name_or_path!r}{did_you_mean(name_or_path, FLEETS)}: give a name ({', '.join(FLEETS)}) "
            "or a JSON/YAML fleet file"
        )
    data = read_mapping(path)
    data.setdefault("name", path.stem)
    try:
        return FleetSpec(**data)
    except ValidationError as exc:
        raise UserInputError(f"{path}: {format_validation_error(exc)}") from None
