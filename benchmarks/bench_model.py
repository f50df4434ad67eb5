"""Benchmark: the full-scale baseline against Mesa's own Boltzmann-wealth tutorial model.

Prints a table and writes benchmarks/results/latest.json. Figures:
- build and run time of the baseline at the given scale (default 1.0, 2016Q1-2030Q4 = 60 steps);
- firm-agent steps per second (live firms summed over steps / run time);
- Boltzmann wealth model (mesa.examples) agent steps per second, same process;
- their ratio (issue 2 asks >= 2; issue 7 asks >= 5).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import mesa
from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth

from sim.model import InnovationModel


def bench_innosim(scale: float, seed: int) -> dict:
    t0 = time.perf_counter()
    m = InnovationModel(scale=scale, rng=seed)
    build = time.perf_counter() - t0
    firm_steps = 0
    t0 = time.perf_counter()
    while m.running:
        m.step()
        firm_steps += int(m.firms.alive[: m.firms.size].sum())
    run = time.perf_counter() - t0
    mesa.Agent._ids.pop(m, None)
    return {
        "build_s": build,
        "run_s": run,
        "steps": m.steps,
        "firm_steps": firm_steps,
        "firm_steps_per_s": firm_steps / run,
    }


def bench_boltzmann(n: int, steps: int, seed: int) -> dict:
    side = max(10, int((n / 1.0) ** 0.5))
    m = BoltzmannWealth(n=n, width=side, height=side, seed=seed)
    t0 = time.perf_counter()
    for _ in range(steps):
        m.step()
    run = time.perf_counter() - t0
    mesa.Agent._ids.pop(m, None)
    return {"agents": n, "steps": steps, "run_s": run, "agent_steps_per_s": n * steps / run}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--boltzmann-agents", type=int, default=10000)
    ap.add_argument("--boltzmann-steps", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "latest.json")
    args = ap.parse_args()

    runs = [bench_innosim(args.scale, seed) for seed in range(1, args.repeats + 1)]
    boltz = [
        bench_boltzmann(args.boltzmann_agents, args.boltzmann_steps, seed)
        for seed in range(1, args.repeats + 1)
    ]
    med = {
        k: statistics.median(r[k] for r in runs) for k in ("build_s", "run_s", "firm_steps_per_s")
    }
    b_rate = statistics.median(b["agent_steps_per_s"] for b in boltz)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "mesa": mesa.__version__,
        },
        "scale": args.scale,
        "innosim": {"median": med, "runs": runs},
        "boltzmann": {"median_agent_steps_per_s": b_rate, "runs": boltz},
        "ratio_firm_steps_vs_boltzmann": med["firm_steps_per_s"] / b_rate,
        "peak_memory_mb": peak_mb,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    rows = [
        ("cores", f"{os.cpu_count()}"),
        (f"innosim build (scale {args.scale:g})", f"{med['build_s']:.2f} s"),
        ("innosim run (60 steps)", f"{med['run_s']:.2f} s"),
        ("innosim build + run", f"{med['build_s'] + med['run_s']:.2f} s"),
        ("firm-agent steps / s", f"{med['firm_steps_per_s']:,.0f}"),
        (f"Boltzmann agent steps / s ({args.boltzmann_agents} agents)", f"{b_rate:,.0f}"),
        ("ratio (innosim / Boltzmann)", f"{result['ratio_firm_steps_vs_boltzmann']:.1f}x"),
        ("peak memory (process)", f"{peak_mb:,.0f} MB"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"median of {args.repeats} runs")
    for k, v in rows:
        print(f"  {k:<{width}}  {v:>14}")
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
