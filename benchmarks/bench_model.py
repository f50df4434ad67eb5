"""Model benchmarks: the full-scale baseline against two Boltzmann-wealth models and a numpy
floor, and how the cost per agent grows with the size of the system.

Each measurement of innosim runs in a fresh Python process (`python bench_model.py --one SCALE
SEED`), so its peak memory is its own and it runs on one core. The full-scale comparison
(`--pair`) runs, in one process one after the other so that all see the same machine state:
1. innosim at full scale (build, run; the live firms of every step are recorded);
2. the numpy floor: for each of the run's steps, one read-modify-write elementwise pass over every
   array field of the firm population (`sim.model.agents.firm._FIELDS`), over as many slots as
   firms were live in that step: what numpy alone costs to touch the firms' state once a step
   (best of 3 passes over the whole run);
3. the bare Boltzmann model (benchmarks/money_model.py: Mesa's tutorial MoneyModel, no space, no
   data collection; 20,000 agents, 20 steps), the target's baseline;
4. Boltzmann with grid (mesa.examples' BoltzmannWealth: a Moore grid, moves, a DataCollector with
   an agent reporter; 10,000 agents, 20 steps), kept for comparison with earlier figures.

Figures (`measure_model`, each the median of `repeats` processes):
- full-scale baseline (scale 1.0, 2016Q1-2030Q4 = 60 steps): build time, run time, peak memory
  (max RSS of the process), firm-agent steps per second (live firms summed over steps / run time);
- the numpy floor (seconds) and full scale's (build + run) over it;
- bare and grid Boltzmann agent steps per second, and innosim's firm-agent steps/s over each
  (issue 19's target: >= 5x the bare model);
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
sys.path.insert(0, str(ROOT / "benchmarks"))

BARE_AGENTS, BARE_STEPS = 20_000, 20  # the bare Boltzmann model (benchmarks/money_model.py)
GRID_AGENTS, GRID_STEPS = 10_000, 20  # Boltzmann with grid (mesa.examples)
FLOOR_PASSES = 3  # the numpy floor is the best of this many passes over the run's steps


def bench_innosim(scale: float, seed: int, floor: bool = False) -> dict:
    """Build and run the baseline once; in this process. With `floor`, also time the numpy floor
    of the run (`numpy_floor`) on the model's firm arrays after it."""
    import mesa

    from sim.model import InnovationModel

    t0 = time.perf_counter()
    m = InnovationModel(scale=scale, rng=seed)
    build = time.perf_counter() - t0
    live_per_step = []
    t0 = time.perf_counter()
    while m.running:
        m.step()
        live_per_step.append(int(m.firms.alive[: m.firms.size].sum()))
    run = time.perf_counter() - t0
    firm_steps = sum(live_per_step)
    out = {
        "scale": scale,
        "build_s": build,
        "run_s": run,
        "steps": m.steps,
        "firm_steps": firm_steps,
        "firm_steps_per_s": firm_steps / run,
        "us_per_firm_step": run / firm_steps * 1e6,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if floor:
        out["numpy_floor"] = numpy_floor(m.firms, live_per_step)
        from arithmetic_floor import arithmetic_floor  # benchmarks/arithmetic_floor.py

        out["arithmetic_floor"] = arithmetic_floor(m)
    mesa.Agent._ids.pop(m, None)
    return out


def firm_arrays(firms) -> dict:
    """The firm population's state arrays, name -> array: the fields of
    `sim.model.agents.firm._FIELDS` (name -> dtype); without that table, every 1-d numpy array
    attribute as long as the population's capacity."""
    import numpy as np

    try:
        from sim.model.agents.firm import _FIELDS

        names = [n for n in _FIELDS if isinstance(getattr(firms, n, None), np.ndarray)]
    except ImportError:
        cap = max((len(v) for v in vars(firms).values() if isinstance(v, np.ndarray)), default=0)
        names = [
            n
            for n, v in vars(firms).items()
            if isinstance(v, np.ndarray) and v.ndim == 1 and len(v) == cap
        ]
    return {n: getattr(firms, n) for n in names}


def numpy_floor(firms, live_per_step: list[int], passes: int = FLOOR_PASSES) -> dict:
    """What numpy costs to touch the firms' state once a step: for each step, one in-place
    elementwise pass over the first n slots of every field (n = that step's live firms): floats
    `*= 1.0`, integers `+= 0`, booleans `|= False` (values unchanged). Best of `passes`."""
    import numpy as np

    arrays = firm_arrays(firms)
    ops = []
    for a in arrays.values():
        if a.dtype == np.bool_:
            ops.append((a, np.logical_or, False))
        elif np.issubdtype(a.dtype, np.integer):
            ops.append((a, np.add, 0))
        else:
            ops.append((a, np.multiply, 1.0))
    best = float("inf")
    for _ in range(passes):
        t0 = time.perf_counter()
        for n in live_per_step:
            for a, op, x in ops:
                v = a[:n]
                op(v, x, out=v)
        best = min(best, time.perf_counter() - t0)
    return {
        "floor_s": best,
        "fields": len(arrays),
        "bytes_per_firm": int(sum(a.itemsize for a in arrays.values())),
        "steps": len(live_per_step),
        "firm_steps": sum(live_per_step),
        "passes": passes,
    }


def bench_grid(n: int = GRID_AGENTS, steps: int = GRID_STEPS, seed: int = 1) -> dict:
    """Boltzmann with grid: mesa.examples' BoltzmannWealth (a Moore grid with moves and a
    DataCollector with a model and an agent reporter); in this process."""
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


def bench_pair(scale: float, seed: int) -> dict:
    """The full-scale comparison of the module docstring, in this process: innosim (with its numpy
    floor), then the bare Boltzmann model, then Boltzmann with grid."""
    from money_model import bench_bare

    inno = bench_innosim(scale, seed, floor=True)
    bare = bench_bare(BARE_AGENTS, BARE_STEPS, seed)
    grid = bench_grid(GRID_AGENTS, GRID_STEPS, seed)
    floor = inno.pop("numpy_floor")
    arith = inno.pop("arithmetic_floor")
    return {
        "innosim": inno,
        "numpy_floor": floor,
        "arithmetic_floor": arith,
        "ratio_at_floor": 1e6 / arith["us_per_firm_step"] / bare["agent_steps_per_s"],
        "full_over_floor": (inno["build_s"] + inno["run_s"]) / floor["floor_s"],
        "bare": bare,
        "grid": grid,
        "ratio_vs_bare": inno["firm_steps_per_s"] / bare["agent_steps_per_s"],
        "ratio_vs_grid": inno["firm_steps_per_s"] / grid["agent_steps_per_s"],
    }


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
    progress=print,
) -> dict:
    """All model figures, each the median of `repeats` fresh processes."""
    pairs = []
    for seed in range(1, repeats + 1):
        p = _child(["--pair", "1.0", str(seed)])
        pairs.append(p)
        progress(
            f"  full scale, seed {seed}: build {p['innosim']['build_s']:.2f} s, run "
            f"{p['innosim']['run_s']:.2f} s, numpy floor {p['numpy_floor']['floor_s']:.3f} s; "
            f"{p['ratio_vs_bare']:.2f}x bare Boltzmann (at most {p['ratio_at_floor']:.1f}x at the "
            f"arithmetic floor), {p['ratio_vs_grid']:.1f}x with grid"
        )
    full = [p["innosim"] for p in pairs]

    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    out = {
        "full_scale": {
            k: med(full, k)
            for k in ("build_s", "run_s", "firm_steps_per_s", "peak_memory_mb", "firm_steps")
        },
        "numpy_floor_s": med([p["numpy_floor"] for p in pairs], "floor_s"),
        "full_over_floor": med(pairs, "full_over_floor"),
        "boltzmann_bare_agent_steps_per_s": med([p["bare"] for p in pairs], "agent_steps_per_s"),
        "boltzmann_grid_agent_steps_per_s": med([p["grid"] for p in pairs], "agent_steps_per_s"),
        "ratio_vs_bare": med(pairs, "ratio_vs_bare"),
        "ratio_vs_grid": med(pairs, "ratio_vs_grid"),
        "arith_floor_us": med([p["arithmetic_floor"] for p in pairs], "us_per_firm_step"),
        "ratio_at_floor": med(pairs, "ratio_at_floor"),
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
    ap.add_argument("--pair", nargs=2, metavar=("SCALE", "SEED"))
    args = ap.parse_args()
    if args.one:
        print(json.dumps(bench_innosim(float(args.one[0]), int(args.one[1]))))
    elif args.pair:
        print(json.dumps(bench_pair(float(args.pair[0]), int(args.pair[1]))))
    else:
        print(json.dumps(measure_model(), indent=2))


if __name__ == "__main__":
    _main()
