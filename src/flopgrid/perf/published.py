"""Published training runs as calibration / validation cases for the performance model.

A row (a mapping, e.g. one line of ../shared/reference/perf_measured.csv) gives the model
shape, hardware, chips, the parallel plan fields the authors published, and one measured
figure: `measured_step_time_s`, `measured_tflops_per_chip` (hardware FLOP/s per chip,
recompute counted, as Megatron-LM SC21 eq. 3; equal to model FLOP/s without recompute),
`measured_model_tflops_per_chip` (model FLOP/s per chip, recompute not counted: what an
MFU figure times the peak gives, e.g. Llama 3 Table 4) or `measured_tokens_per_s_per_chip`
(trained tokens per second per chip: free of any FLOP-counting convention).
Blank plan fields are searched by the planner with the published ones pinned. Optional
columns: `cp`, `ep`, `zero`, `dtype`, `cluster`, `flash_attention`, `moe_*`.

`flash_attention` when absent: runs published before 2023 used Megatron-LM's unfused
attention (FlashAttention appeared in May 2022, Dao et al., and entered Megatron-LM and
NeMo in 2023); later runs use it. The year is the first 4-digit year in `source`.

`framework` when absent: `megatron-lm` for runs published before 2023, else
`megatron-core` (a shipped profile name, flopgrid.catalog.framework).

`zero` when absent: the framework's stages below 3 are searched (plain data parallelism
or ZeRO-1/2 optimizer and gradient sharding, as in the SC21 and Korthikanti runs and
Megatron's distributed optimizer), unless no plan fits without parameter sharding; then
every stage the framework offers is searched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flopgrid.catalog.cluster import Cluster, load_cluster
from flopgrid.catalog.model_spec import ModelSpec, MoESpec
from flopgrid.perf.constants import CALIBRATION, Calibration
from flopgrid.perf.plan import PLAN_INT_FIELDS, Plan

_TRUE = {"true", "1", "yes", "y", "t"}


@dataclass(frozen=True)
class PublishedRun:
    """One published run: what to predict and what was measured."""

    id: str
    source: str
    model: ModelSpec
    cluster: Cluster
    chips: int
    global_batch_tokens: int
    pins: dict
    dtype: str
    flash_attention: bool
    measured_step_time_s: float | None
    measured_tflops_per_chip: float | None
    measured_model_tflops_per_chip: float | None = None
    measured_tokens_per_s_per_chip: float | None = None
    framework: str = "megatron-core"

    @property
    def fully_pinned(self) -> bool:
        return all(k in self.pins for k in ("tp", "pp", "dp", "micro_batch", "recompute"))


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _int(row: Mapping, key: str) -> int | None:
    v = row.get(key)
    return None if _blank(v) else int(float(v))  # type: ignore[arg-type]


def _float(row: Mapping, key: str) -> float | None:
    v = row.get(key)
    return None if _blank(v) else float(v)  # type: ignore[arg-type]


def _bool(row: Mapping, key: str) -> bool | None:
    v = row.get(key)
    return None if _blank(v) else str(v).strip().lower() in _TRUE


def run_from_row(row: Mapping, base_dir=None) -> PublishedRun:
    """Parse one published-run row (strings or numbers). A `cluster` that names a file is
    read relative to `base_dir` (the CSV's folder) when given."""
    moe = None
    if _int(row, "moe_n_experts"):
        moe = MoESpec(n_experts=_int(row, "moe_n_experts"), top_k=_int(row, "moe_top_k") or 1,
                      d_ff_expert=_int(row, "moe_d_ff_expert") or _int(row, "d_ff"),
                      n_shared_experts=_int(row, "moe_n_shared_experts") or 0,
                      n_dense_layers=_int(row, "moe_n_dense_layers") or 0)
    fields = {k: _int(row, k) for k in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "d_ff",
                                        "vocab_size", "seq_len")}
    model = ModelSpec(name=str(row.get("id", "run")), ffn=str(row.get("ffn") or "gelu"),
                      tied_embeddings=_bool(row, "tied_embeddings") is not False, moe=moe,
                      **{k: v for k, v in fields.items() if v is not None})
    chips = _int(row, "chips")
    cluster_ref = None if _blank(row.get("cluster")) else str(row["cluster"]).strip()
    if cluster_ref and base_dir is not None and cluster_ref.endswith((".yaml", ".yml", ".json")):
        from pathlib import Path

        cluster_ref = str(Path(base_dir) / cluster_ref)
    cluster = load_cluster(cluster_ref, str(row["hardware"]), chips)
    pins: dict = {}
    for key in PLAN_INT_FIELDS:
        value = _int(row, key)
        if value is not None:
            pins[key] = value
    if not _blank(row.get("recompute")):
        pins["recompute"] = str(row["recompute"]).strip()
    if _bool(row, "sequence_parallel") is not None:
        pins["sequence_parallel"] = bool(_bool(row, "sequence_parallel"))
    years = re.findall(r"(?<!\d)(19\d\d|20\d\d)(?!\d)", str(row.get("source", "")))
    recent = bool(years) and int(years[0]) >= 2023
    flash = _bool(row, "flash_attention")
    if flash is None:
        flash = recent
    framework = str(row.get("framework") or "").strip() or ("megatron-core" if recent else "megatron-lm")
    seqs = _int(row, "global_batch_seqs")
    tokens = _int(row, "global_batch_tokens") or (seqs * model.seq_len if seqs else None)
    if tokens is None:
        raise ValueError(f"row {row.get('id')}: give global_batch_seqs or global_batch_tokens")
    return PublishedRun(
        id=str(row.get("id", "")), source=str(row.get("source", "")), model=model, cluster=cluster,
        chips=chips or 0, global_batch_tokens=tokens, pins=pins,
        dtype=str(row.get("dtype") or "bf16").strip(), flash_attention=flash,
        measured_step_time_s=_float(row, "measured_step_time_s"),
        measured_tflops_per_chip=_float(row, "measured_tflops_per_chip"),
        measured_model_tflops_per_chip=_float(row, "measured_model_tflops_per_chip"),
        measured_tokens_per_s_per_chip=_float(row, "measured_tokens_per_s_per_chip"),
        framework=framework,
    )


@dataclass(frozen=True)
class RunCheck:
    """Predicted vs measured for one published run (`metric` names what is compared)."""

    run: PublishedRun
    plan: Plan
    metric: str  # "step_time_s" | "tflops_per_chip" | "model_tflops_per_chip" | "tokens_per_s_per_chip"
    predicted: float
    measured: float

    @property
    def error(self) -> float:
        """Signed relative error (predicted / measured - 1)."""
        return self.predicted / self.measured - 1.0


def check_run(run: PublishedRun, calibration: Calibration = CALIBRATION) -> RunCheck:
    """Predict `run` (searching its blank plan fields) and compare with its measurement."""
    from flopgrid.errors import NoSolutionError
    from flopgrid.perf.search import search_plans

    def search(pins: dict):
        return search_plans(run.model, run.cluster, run.chips, run.global_batch_tokens, pins=pins, top_k=1,
                            dtype=run.dtype, flash_attention=run.flash_attention, calibration=calibration,
                            framework=run.framework, ceiling=False)

    from flopgrid.catalog.framework import get_framework

    unsharded = [z for z in get_framework(run.framework).zero_stages if z < 3]
    try:
        if "zero" in run.pins or not unsharded:
            best = search(run.pins).best
        else:
            found = []
            for z in unsharded:
                try:
                    found.append(search({**run.pins, "zero": z}).best)
                except NoSolutionError:
                    pass
            if not found:
                raise NoSolutionError("no unsharded plan fits")
            best = min(found, key=lambda p: p.step_time_s)
    except NoSolutionError:
        try:
            best = search(run.pins).best
        except NoSolutionError:
            # the run was measured, so it fitted: a fully published plan is predicted even
            # where the stated memory allowance puts it a little over HBM
            if not all(k in run.pins for k in ("tp", "pp", "dp", "micro_batch", "recompute", "zero")):
                raise
            from flopgrid.perf.predict import predict

            best = predict(run.model, run.cluster, run.chips, Plan(**run.pins), run.global_batch_tokens,
                           dtype=run.dtype, flash_attention=run.flash_attention, calibration=calibration,
                           framework=run.framework, ceiling=False)
    if run.measured_step_time_s is not None:
        return RunCheck(run, best.plan, "step_time_s", best.step_time_s, run.measured_step_time_s)
    peak = run.cluster.accelerator.peak(run.dtype)
    if run.measured_tflops_per_chip is not None:
        return RunCheck(run, best.plan, "tflops_per_chip", best.hfu * peak / 1e12, run.measured_tflops_per_chip)
    if run.measured_model_tflops_per_chip is not None:
        return RunCheck(run, best.plan, "model_tflops_per_chip", best.mfu * peak / 1e12,
                        run.measured_model_tflops_per_chip)
    if run.measured_tokens_per_s_per_chip is not None:
        return RunCheck(run, best.plan, "tokens_per_s_per_chip", best.tokens_per_second / run.chips,
                        run.measured_tokens_per_s_per_chip)
    raise ValueError(f"row {run.id}: no measured_step_time_s, measured_tflops_per_chip, "
                     "measured_model_tflops_per_chip or measured_tokens_per_s_per_chip")
