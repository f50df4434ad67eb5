"""Experiment (not part of `make bench`): what would single-precision math buy a firm step?

numpy evaluates float32 exp and log with SIMD code on this CPU (AVX2) and float64 exp, log and
pow with the C library, one element at a time. This runs the baseline, takes the arithmetic
floor's inventory (benchmarks/arithmetic_floor.py: every transcendental function a live firm
needs a step) in double precision, and times each of its functions again in single precision the
fastest way numpy offers: exp and log as they are, a power as exp(y log x), log1p(x) as log(1 + x);
each with the conversion of its input to float32 and of its result back (the state stays
float64), or the double-precision time where that is less (numpy's own fast powers, such as
x**0.5). Random variates are unchanged (numpy draws them in double precision either way).

    python benchmarks/experiments/single_precision.py [--scale 1.0] [--seed 1]

It prints the floor's math part both ways and what the difference is worth against the run: an
estimate of what evaluating the model's math in single precision, with its state kept in double
precision, would save. It is not a bound: state held in float32 would pay no conversions and
halve the memory traffic of the rest of the step (a rewrite of the model, not measured here); on
the other side some double-precision rows also time a little other arithmetic (the division in
(rev / ref) ** y), every single-precision power is timed as one exponent on revenue, and the
smaller of two noisy timings is kept per row. Results would change from about the seventh
significant digit (more for powers as exp(y log x), and log(1 + x) for small x), and with the
model's thresholds and draws every trajectory would diverge from its double-precision one: the
numerics decision of docs/performance.md, not taken.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from arithmetic_floor import arithmetic_floor, best_time  # noqa: E402

from sim.model import InnovationModel  # noqa: E402


def _single(op: str, x: np.ndarray, y: float = 0.37):
    """The float32 version of `op` on float64 `x`, converted in and out."""
    a = x.astype(np.float32)
    if op == "exp":
        r = np.exp(a)
    elif op == "log":
        r = np.log(a)
    elif op == "log1p":
        r = np.log(np.float32(1.0) + a)
    elif op == "pow":
        r = np.exp(np.float32(y) * np.log(a))
    elif op == "sqrt":
        r = np.sqrt(a)
    else:
        raise ValueError(op)
    return r.astype(np.float64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    m = InnovationModel(scale=args.scale, rng=args.seed)
    t0 = time.process_time()
    firm_steps = 0
    while m.running:
        m.step()
        firm_steps += int(m.firms.alive[: m.firms.size].sum())
    run = time.process_time() - t0
    floor = arithmetic_floor(m, repeats=args.repeats)
    live = m.firms.live
    # inputs of the right kind: positive values for log and pow, small ones for exp and log1p
    x = np.maximum(m.firms.revenue[live], 1e-9)
    small = np.random.default_rng(0).random(live.size) * 0.1
    print(f"{'function':28s} {'where':30s} {'float64 ns':>10s} {'float32 ns':>10s}")
    math64 = math32 = 0.0
    for row in floor["rows"]:
        if row["kind"] != "math":
            continue
        op = row["op"].split()[0]
        arg = small if op in ("exp", "log1p") else x
        ns32 = best_time(lambda op=op, arg=arg: _single(op, arg), args.repeats) / live.size * 1e9
        ns32 = min(ns32 * row["count"], row["ns"])  # numpy's fast powers (x**0.5) stay
        math64 += row["ns"]
        math32 += ns32
        print(f"{row['op']:28s} {row['where']:30s} {row['ns']:10.1f} {ns32:10.1f}")
    us_step = run / firm_steps * 1e6
    saved = (math64 - math32) / 1000
    print(
        f"\nlive firms {live.size}, firm-agent steps {firm_steps}, run {run:.2f} s (process time), "
        f"{us_step:.3f} us a firm step"
    )
    print(
        f"math per firm step: float64 {math64 / 1000:.3f} us, float32 {math32 / 1000:.3f} us; "
        f"draws {floor['draws_us']:.3f} us (unchanged)"
    )
    print(
        f"single precision would save about {saved:.3f} us a firm step: {saved / us_step:.0%} of the "
        f"run ({us_step:.3f} -> {us_step - saved:.3f} us)"
    )


if __name__ == "__main__":
    main()
