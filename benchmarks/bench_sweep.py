"""Sweep throughput: runs per minute on 1 and N workers, speedup, and the harness overhead.

    python benchmarks/bench_sweep.py [--points 64] [--replicates 8] [--scale 0.1] [--workers 2]

- Throughput: the same 64-point x 8-replicate Latin-hypercube sweep (scenarios/sweeps/
  talent_x_finance.yaml) into a fresh folder with 1 worker and with N workers.
- Overhead: the first K runs of the design computed by calling the model directly in a loop
  (`sim.experiments.executors.compute`, no store, no pool) against the same K runs through
  `run_sweep` on 1 worker (design, hashing, Parquet parts, progress): overhead = sweep / direct - 1.
- Identity: the results on 1 and N workers are compared cell by cell.
Writes benchmarks/results/sweep_latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _spec(tmp: Path, points: int, replicates: int, scale: float) -> Path:
    spec = yaml.safe_load((ROOT / "scenarios/sweeps/talent_x_finance.yaml").read_text())
    spec.update(
        base=str(ROOT / "scenarios/baseline.yaml"),
        samples=points,
        replicates=replicates,
        scale=scale,
    )
    path = tmp / f"spec_{points}x{replicates}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=64)
    ap.add_argument("--replicates", type=int, default=8)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--overhead-runs", type=int, default=64)
    args = ap.parse_args()

    import pandas as pd

    import sim.api as api
    from sim.experiments.design import load_spec
    from sim.experiments.executors import compute
    from sim.experiments.sweep import plan_runs, run_sweep

    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    out: dict = {
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "points": args.points,
        "replicates": args.replicates,
        "scale": args.scale,
    }
    try:
        # Harness overhead on the first K runs, both ways in this process.
        k = args.overhead_runs
        small = _spec(tmp, k // args.replicates or 1, args.replicates, args.scale)
        _, _, tasks, _, _ = plan_runs(load_spec(small))
        compute(tasks[0])  # warm-up: imports and first-call costs are neither's overhead

        def direct_once() -> float:
            t0 = time.perf_counter()
            for t in tasks:
                compute(t)
            return time.perf_counter() - t0

        def sweep_once(i: int) -> float:
            t0 = time.perf_counter()
            run_sweep(small, tmp / f"overhead{i}", workers=1, progress=False)
            return time.perf_counter() - t0

        # Alternate (direct, sweep, sweep, direct) so that drift in machine speed cancels.
        direct = direct_once()
        harness = sweep_once(1) + sweep_once(2)
        direct += direct_once()
        direct, harness = direct / 2, harness / 2
        out["overhead_runs"] = len(tasks)
        out["direct_seconds"] = round(direct, 2)
        out["sweep_seconds_same_runs"] = round(harness, 2)
        out["harness_overhead_pct"] = round((harness / direct - 1) * 100, 2)
        print(
            f"overhead: {len(tasks)} runs direct {direct:.1f} s, via sweep {harness:.1f} s "
            f"-> {out['harness_overhead_pct']:+.1f}%",
            flush=True,
        )

        spec = _spec(tmp, args.points, args.replicates, args.scale)
        total = args.points * args.replicates
        for w in (1, args.workers):
            t0 = time.perf_counter()
            run_sweep(spec, tmp / f"w{w}", workers=w, progress=False)
            sec = time.perf_counter() - t0
            out[f"seconds_{w}w"] = round(sec, 1)
            out[f"runs_per_min_{w}w"] = round(total / sec * 60, 1)
            print(
                f"{w} worker(s): {total} runs in {sec:.1f} s = {total / sec * 60:.1f} runs/min",
                flush=True,
            )
        out["speedup"] = round(out["seconds_1w"] / out[f"seconds_{args.workers}w"], 2)
        a, b = api.load_sweep(tmp / "w1"), api.load_sweep(tmp / f"w{args.workers}")
        pd.testing.assert_frame_equal(a, b)
        out["identical_results"] = True
        print(f"speedup {out['speedup']}x on {args.workers} workers; results identical", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    dest = ROOT / "benchmarks" / "results"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "sweep_latest.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
