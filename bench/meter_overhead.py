"""Meter overhead on the bundled CPU GPT: median step time with and without the meter.

    python bench/meter_overhead.py [--rounds 8] [--steps 10] [--size small] [--threads 1] [--watch]

Runs are interleaved (each round runs an unmetered and a metered run of `--steps` steps,
alternating which goes first) so machine load hits both arms alike. Each step is timed
from one loop iteration to the next (data fetch + train step + whatever the meter adds).
Also prints the meter's own cost per step with an empty loop body (no training), the
noise-free figure, as a fraction of the unmetered median step. Target: overhead <= 1%.
`--watch` meters with `Meter.watch(model)` (one gradient hook per parameter: the
straggler probe of multi-rank runs).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from itertools import islice
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--size", default="small")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--watch", action="store_true", help="also time each step's arrival at the gradient sync")
    args = ap.parse_args()

    import torch

    from flopgrid.examples.gpt import SIZES, GPT, ByteBatches, byte_corpus
    from flopgrid.meter.meter import Meter

    torch.set_num_threads(args.threads)
    cfg = SIZES[args.size]
    torch.manual_seed(0)
    model = GPT(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batches = ByteBatches(byte_corpus(), args.batch_size, cfg.seq_len)
    tmp = Path(tempfile.mkdtemp(prefix="flopgrid-bench-"))

    def train(x, y):
        _, loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    def run(metered: bool, body=train) -> list[float]:
        meter = Meter(tmp / "run.jsonl", model_spec=cfg.model_spec(), device="cpu", truncate=True) if metered else None
        if meter and args.watch:
            meter.watch(model)
        loop = meter.steps(batches, stop=args.steps) if meter else enumerate(islice(batches, args.steps))
        times, t_prev = [], time.perf_counter()
        for _, (x, y) in loop:
            body(x, y)
            t = time.perf_counter()
            times.append(t - t_prev)
            t_prev = t
        if meter:
            meter.close()
        return times

    run(False)  # warm-up
    off: list[float] = []
    on: list[float] = []
    for r in range(args.rounds):
        for metered in ((False, True) if r % 2 == 0 else (True, False)):
            (on if metered else off).extend(run(metered))
    med_off, med_on = statistics.median(off), statistics.median(on)

    # the meter's own cost per step: empty body, many steps, minus the bare loop
    n = 2000
    fast = [(torch.zeros(1, dtype=torch.long), None)] * n
    meter = Meter(tmp / "cost.jsonl", model_spec=cfg.model_spec(), device="cpu", truncate=True)
    t0 = time.perf_counter()
    for _ in meter.steps(fast):
        pass
    metered_s = time.perf_counter() - t0
    meter.close()
    t0 = time.perf_counter()
    for _ in enumerate(fast):
        pass
    bare_s = time.perf_counter() - t0
    cost_s = (metered_s - bare_s) / n

    print(f"model {args.size} ({cfg.n_layers}L d={cfg.d_model} T={cfg.seq_len}), batch {args.batch_size}, "
          f"{args.threads} thread(s), {args.rounds} rounds x {args.steps} steps per arm"
          + (", metered arm watches the model's gradients" if args.watch else ""))
    print(f"median step without meter: {1e3 * med_off:.2f} ms  (n={len(off)})")
    print(f"median step with meter:    {1e3 * med_on:.2f} ms  (n={len(on)})")
    print(f"overhead (medians):        {100 * (med_on / med_off - 1):+.3f} %  (ratio {med_on / med_off:.4f})")
    print(f"meter cost per step:       {1e6 * cost_s:.1f} us = {100 * cost_s / med_off:.3f} % of the unmetered step")


if __name__ == "__main__":
    main()
