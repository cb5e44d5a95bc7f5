"""`trace synth --like llm-market`: LLM training demand for a named fleet at a given load.

Jobs are drawn class by class (our mix, stated here; the gang and duration shapes come from
the Philly fit of `synth.py`):

| class | share of jobs | gang = Philly GPU count x | models (catalog) | value markup (median) |
| --- | --- | --- | --- | --- |
| pretraining | 3% | 256 | llama3-70b, mpt-30b, llama3-8b | 1.3 |
| continued-pretraining | 7% | 64 | llama3-8b, mpt-7b, megatron-7.5b | 1.5 |
| fine-tune | 40% | 8 | llama3-8b, mpt-7b, mpt-3b | 1.8 |
| experiment | 50% | 1 | mpt-1b, megatron-1.7b, gpt2-124m | 2.2 |

- Gang: a Philly GPU count (the trace's histogram, `PHILLY_GPU_COUNTS`) times the class's
  factor, capped at the fleet's largest fabric island. Philly's sizes (1-128 GPUs of 2017
  jobs) set the shape; LLM jobs are larger by the factor. AcmeTrace's LLM clusters (Hu et
  al., NSDI'24; ../shared/data/traces/acme_cluster_summary.csv) run gangs up to 1,024 GPUs.
- Run time on the reference hardware (DGX H100 on NDR, the catalog's `dgx-h100`): the
  Philly log-normal of that GPU count (`PHILLY_LOG_DURATION`), clipped to [`MIN_RUN_S`,
  `MAX_RUN_S`]. The work written out is tokens = run time x the perf model's useful FLOP/s
  there / model FLOPs per token, so the trace carries work in useful FLOPs, not time.
- Value, USD per useful EFLOP: `REFERENCE_USD_PER_EFLOP` (an H100 at the middle of its
  published price range, flopgrid.market.prices, delivering 40% MFU: $3.10 / 1.42 EFLOP
  per hour = $2.18 per EFLOP) x a log-normal markup of the class median, sd `VALUE_SD` in ln.
- Load: the jobs' total useful FLOPs / (fleet capacity at its best MFU x days): the capacity
  of a pool is chips x dense peak x the best MFU of the mix's models on one node of it.
  Jobs are drawn until the offered work reaches `load` x capacity; arrivals are a Poisson
  process over the `days` (uniform order statistics).
"""

from __future__ import annotations

import numpy as np

from flopgrid.catalog import get_accelerator
from flopgrid.errors import UserInputError
from flopgrid.sim.fleet import FleetSpec
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.throughput import RateTable
from flopgrid.sim.traces.synth import PHILLY_GPU_COUNTS, PHILLY_LOG_DURATION

CLASSES: tuple[tuple[str, float, int, tuple[str, ...], float], ...] = (
    ("pretraining", 0.03, 256, ("llama3-70b", "mpt-30b", "llama3-8b"), 1.3),
    ("continued-pretraining", 0.07, 64, ("llama3-8b", "mpt-7b", "megatron-7.5b"), 1.5),
    ("fine-tune", 0.40, 8, ("llama3-8b", "mpt-7b", "mpt-3b"), 1.8),
    ("experiment", 0.50, 1, ("mpt-1b", "megatron-1.7b", "gpt2-124m"), 2.2),
)
REFERENCE_HARDWARE = "h100-sxm"
REFERENCE_MFU = 0.40
MIN_RUN_S = 300.0
MAX_RUN_S = 7 * 86400.0
VALUE_SD = 0.35
MAX_JOBS = 2_000_000


def reference_usd_per_eflop() -> float:
    """H100 mid list price / useful EFLOP per hour at 40% MFU (see the module docstring)."""
    from flopgrid.market.prices import PRICE_RANGE_PER_CHIP_HOUR

    lo, hi = PRICE_RANGE_PER_CHIP_HOUR[REFERENCE_HARDWARE]
    peak = float(get_accelerator(REFERENCE_HARDWARE).peak_flops["bf16"])
    return 0.5 * (lo + hi) / (REFERENCE_MFU * peak * 3600.0 / 1e18)


def capacity_flop_s(fleet: FleetSpec, rates: RateTable) -> float:
    """Useful FLOP/s of the fleet at its best MFU (the best model of the mix on one node of each pool)."""
    models = sorted({m for c in CLASSES for m in c[3]})
    total = 0.0
    for p, spec in enumerate(fleet.pools):
        g = min(spec.node_chips, spec.chips)
        best = max(rates.mfu(m, p, g) for m in models)
        total += spec.chips * spec.peak_flops_per_chip * best
    return total


def llm_market_jobs(fleet: FleetSpec, load: float, days: float, seed: int = 0,
                    rates: RateTable | None = None) -> list[JobSpec]:
    if not load > 0:
        raise UserInputError(f"--load must be > 0, got {load}")
    if not days > 0:
        raise UserInputError(f"--days must be > 0, got {days}")
    rates = rates or RateTable(fleet)
    target = load * capacity_flop_s(fleet, rates) * days * 86400.0
    max_island = max(p.nodes_per_island * p.node_chips for p in fleet.pools)
    rng = np.random.default_rng(seed)
    sizes = np.array(list(PHILLY_GPU_COUNTS))
    size_p = np.array(list(PHILLY_GPU_COUNTS.values()), dtype=float)
    size_p /= size_p.sum()
    shares = np.array([c[1] for c in CLASSES])
    ref_usd = reference_usd_per_eflop()
    rows: list[tuple[str, int, str, float, float]] = []
    work = 0.0
    while work < target:
        if len(rows) >= MAX_JOBS:
            raise UserInputError(f"--load {load} x --days {days} needs more than {MAX_JOBS:,} jobs on this fleet")
        name, _, factor, models, markup = CLASSES[int(rng.choice(len(CLASSES), p=shares))]
        pg = int(rng.choice(sizes, p=size_p))
        gang = min(pg * factor, max_island)
        model = models[int(rng.integers(len(models)))]
        mu, sd = PHILLY_LOG_DURATION[pg]
        run_s = float(np.clip(np.exp(rng.normal(mu, sd)), MIN_RUN_S, MAX_RUN_S))
        value = ref_usd * markup * float(np.exp(rng.normal(0.0, VALUE_SD)))
        rate = rates.reference_rate_flop_s(model, REFERENCE_HARDWARE, gang)
        if rate <= 0:  # the model does not fit that gang on the reference hardware: draw again
            continue
        flop = run_s * rate
        tokens = flop / rates.flops_per_token(model)
        rows.append((name, gang, model, tokens, value))
        work += flop
    submit = np.sort(rng.uniform(0.0, days * 86400.0, size=len(rows)))
    return [JobSpec(id=f"llm-{i}", submit_s=float(t), chips=g, model=m, tokens=tok, value_usd_per_eflop=v, job_class=c)
            for i, (t, (c, g, m, tok, v)) in enumerate(zip(submit.tolist(), rows))]
