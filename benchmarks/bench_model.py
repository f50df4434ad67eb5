"""Model benchmarks: the full-scale baseline, Mesa's Boltzmann-wealth tutorial model, and how the
cost per agent grows with the size of the system.

Each measurement of innosim runs in a fresh Python process (`python bench_model.py --one SCALE
SEED`), so its peak memory is its own and it runs on one core; Boltzmann runs in the same process
as the innosim comparison it is set against (`--pair`), so both see the same machine state.

Figures (`measure_model`):
- full-scale baseline (scale 1.0, 2016Q1-2030Q4 = 60 steps): build time, run time, peak memory
  (max RSS of the process), firm-agent steps per second (live firms summed over steps / run time);
- Boltzmann wealth (mesa.examples, 10,000 agents) agent steps per second, and the ratio;
- cost per firm-agent step (microseconds) at scales 0.1, 0.3, 1.0 and 3.0, and its growth from the
  smallest to the largest scale (an all-pairs step would grow with the number of agents).

Used by benchmarks/bench.py (`make bench`), which prints the table and compares with the reference.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bench_innosim(scale: float, seed: int) -> dict:
    """Build and run the baseline once; in this process."""
    import mesa

    from sim.model import InnovationModel

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
        "scale": scale,
        "build_s": build,
        "run_s": run,
        "steps": m.steps,
        "firm_steps": firm_steps,
        "firm_steps_per_s": firm_steps / run,
        "us_per_firm_step": run / firm_steps * 1e6,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def bench_boltzmann(n: int, steps: int, seed: int) -> dict:
    import mesa
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth

    side = max(10, int(n**0.5))
    m = BoltzmannWealth(n=n, width=side, height=side, seed=seed)
    t0 = time.perf_counter()
    for _ in range(steps):
        m.step()
    run = time.perf_counter() - t0
    mesa.Agent._ids.pop(m, None)
    return {"agents": n, "steps": steps, "run_s": run, "agent_steps_per_s": n * steps / run}


def _child(args: list[str]) -> dict:
    """Run this file with `args` in a fresh process (one core) and return its JSON line."""
    res = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        raise RuntimeError(f"benchmark child {args} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def measure_model(
    repeats: int = 3,
    scales: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0),
    boltzmann_agents: int = 10_000,
    boltzmann_steps: int = 20,
    progress=print,
) -> dict:
    """All model figures, each the median of `repeats` fresh processes."""
    pairs = []
    for seed in range(1, repeats + 1):
        pairs.append(
            _child(["--pair", "1.0", str(seed), str(boltzmann_agents), str(boltzmann_steps)])
        )
        progress(
            f"  full scale, seed {seed}: build {pairs[-1]['innosim']['build_s']:.2f} s, run "
            f"{pairs[-1]['innosim']['run_s']:.2f} s; ratio {pairs[-1]['ratio']:.1f}x"
        )
    full = [p["innosim"] for p in pairs]

    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    out = {
        "full_scale": {
            k: med(full, k)
            for k in ("build_s", "run_s", "firm_steps_per_s", "peak_memory_mb", "firm_steps")
        },
        "boltzmann_agent_steps_per_s": med([p["boltzmann"] for p in pairs], "agent_steps_per_s"),
        "ratio_vs_boltzmann": med(pairs, "ratio"),
        "cost_per_agent": {},
    }
    out["full_scale"]["build_plus_run_s"] = (
        out["full_scale"]["build_s"] + out["full_scale"]["run_s"]
    )
    for scale in scales:
        runs = (
            full
            if scale == 1.0
            else [_child(["--one", str(scale), str(s)]) for s in range(1, repeats + 1)]
        )
        out["cost_per_agent"][f"{scale:g}"] = {
            "us_per_firm_step": med(runs, "us_per_firm_step"),
            "firm_steps": med(runs, "firm_steps"),
            "run_s": med(runs, "run_s"),
            "peak_memory_mb": med(runs, "peak_memory_mb"),
        }
        progress(
            f"  scale {scale:g}: {out['cost_per_agent'][f'{scale:g}']['us_per_firm_step']:.3f} us per firm step"
        )
    cost = out["cost_per_agent"]
    lo, hi = f"{min(scales):g}", f"{max(scales):g}"
    out["cost_growth_pct"] = (cost[hi]["us_per_firm_step"] / cost[lo]["us_per_firm_step"] - 1) * 100
    out["runs"] = pairs
    return out


def _main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--one", nargs=2, metavar=("SCALE", "SEED"))
    ap.add_argument("--pair", nargs=4, metavar=("SCALE", "SEED", "AGENTS", "STEPS"))
    args = ap.parse_args()
    if args.one:
        print(json.dumps(bench_innosim(float(args.one[0]), int(args.one[1]))))
    elif args.pair:
        scale, seed, agents, steps = args.pair
        inno = bench_innosim(float(scale), int(seed))
        boltz = bench_boltzmann(int(agents), int(steps), int(seed))
        ratio = inno["firm_steps_per_s"] / boltz["agent_steps_per_s"]
        print(json.dumps({"innosim": inno, "boltzmann": boltz, "ratio": ratio}))
    else:
        print(json.dumps(measure_model(), indent=2))


if __name__ == "__main__":
    _main()
