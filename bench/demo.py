"""`flopgrid demo` over seeds: the useful-FLOP market against the GPU-hour market on the
demo's day (issue 13), each seed a full demo (service, clearing, simulated delivery,
settlement) in a temporary folder.

Prints per seed the two markets' useful EFLOP, buyer USD, useful EFLOP per buyer USD and
welfare, and the ratios flopgrid / GPU-hour (target: useful EFLOP per buyer USD > 1.0x),
then the ratios of the sums over seeds. `--release-early` credits jobs that finish early
for the whole intervals they did not use (the sensitivity docs/demo.md describes).

    python bench/demo.py [--seeds 0,1,2] [--hours 24] [--release-early]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from flopgrid.demo import run_demo


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--release-early", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    tot = {"flopgrid": [0.0, 0.0, 0.0], "gpuhour": [0.0, 0.0, 0.0]}
    print(f"{'seed':>4}  {'market':8} {'EFLOP':>10} {'buyer $':>11} {'EFLOP/$':>8} {'welfare $':>11}   wall s")
    for seed in (int(x) for x in args.seeds.split(",")):
        with tempfile.TemporaryDirectory(prefix="flopgrid-bench-demo-") as tmp:
            r, _ = run_demo(Path(tmp), seed=seed, hours=args.hours, release_early=args.release_early)
        rows = {"flopgrid": r.figures, "gpuhour": r.baseline}
        for name, f in rows.items():
            tot[name][0] += f["useful_eflop"]
            tot[name][1] += f["buyer_usd"]
            tot[name][2] += f["welfare_usd"]
            print(f"{seed:>4}  {name:8} {f['useful_eflop']:>10,.1f} {f['buyer_usd']:>11,.2f} "
                  f"{f['useful_eflop'] / f['buyer_usd']:>8.4f} {f['welfare_usd']:>11,.2f}   {r.wall_seconds:6.1f}")
        a, b = r.figures, r.baseline
        print(f"{seed:>4}  ratio    {a['useful_eflop'] / b['useful_eflop']:>9.3f}x {a['buyer_usd'] / b['buyer_usd']:>10.3f}x "
              f"{(a['useful_eflop'] / a['buyer_usd']) / (b['useful_eflop'] / b['buyer_usd']):>7.3f}x "
              f"{a['welfare_usd'] / b['welfare_usd']:>10.3f}x")
    (fe, fu, fw), (ge, gu, gw) = tot["flopgrid"], tot["gpuhour"]
    print(f"all seeds: useful EFLOP {fe / ge:.3f}x, useful EFLOP per buyer USD {(fe / fu) / (ge / gu):.3f}x "
          f"(target > 1.0x), welfare {fw / gw:.3f}x; {time.perf_counter() - t0:.0f} s, "
          f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
