"""Sweep throughput: runs per minute on 1 and N workers, speedup, and the harness overhead.

    python benchmarks/bench_sweep.py [--points 64] [--replicates 8] [--scale 0.1] [--workers 2]

- Throughput: the same 64-point x 8-replicate Latin-hypercube sweep (scenarios/sweeps/
  talent_x_finance.yaml) into a fresh folder with 1 worker and with N workers.
- Overhead: a K-run sweep on 1 worker (in this process), timing every call of the model
  (`sim.experiments.executors.compute`) inside it: overhead = sweep wall time / time spent in the
  model - 1, i.e. everything the harness adds (design, hashing, Parquet parts, progress). The
  same K runs are also timed as a plain loop before and after, to show the machine's drift.
- Identity: the results on 1 and N workers are compared cell by cell.
Writes benchmarks/results/sweep_latest.json when run alone; benchmarks/bench.py (`make bench`)
calls `measure_sweep`.
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


def measure_sweep(
    points: int = 64,
    replicates: int = 8,
    scale: float = 0.1,
    workers: int | None = None,
    overhead_runs: int = 64,
    overhead_only: bool = False,
    progress=print,
) -> dict:
    """Harness overhead, then the sweep on 1 and `workers` workers (see the module docstring)."""
    from types import SimpleNamespace

    args = SimpleNamespace(
        points=points,
        replicates=replicates,
        scale=scale,
        workers=workers or os.cpu_count() or 2,
        overhead_runs=overhead_runs,
        overhead_only=overhead_only,
    )
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

        import sim.experiments.executors as ex

        real, in_model = ex.compute, [0.0]

        def timed(task):
            t = time.perf_counter()
            try:
                return real(task)
            finally:
                in_model[0] += time.perf_counter() - t

        direct_before = direct_once()
        ex.compute = timed
        try:
            harness = sweep_once(1)
        finally:
            ex.compute = real
        direct_after = direct_once()
        out["overhead_runs"] = len(tasks)
        out["sweep_wall_seconds"] = round(harness, 2)
        out["model_seconds_inside_sweep"] = round(in_model[0], 2)
        out["harness_overhead_pct"] = round((harness / in_model[0] - 1) * 100, 2)
        out["plain_loop_seconds_before_after"] = [round(direct_before, 2), round(direct_after, 2)]
        progress(
            f"overhead: {len(tasks)} runs, sweep {harness:.2f} s of which model {in_model[0]:.2f} s"
            f" -> {out['harness_overhead_pct']:+.2f}% (plain loop before/after: "
            f"{direct_before:.1f} s / {direct_after:.1f} s)",
        )

        spec = _spec(tmp, args.points, args.replicates, args.scale)
        total = args.points * args.replicates
        for w in () if args.overhead_only else (1, args.workers):
            t0 = time.perf_counter()
            run_sweep(spec, tmp / f"w{w}", workers=w, progress=False)
            sec = time.perf_counter() - t0
            out[f"seconds_{w}w"] = round(sec, 1)
            out[f"runs_per_min_{w}w"] = round(total / sec * 60, 1)
            progress(
                f"{w} worker(s): {total} runs in {sec:.1f} s = {total / sec * 60:.1f} runs/min",
            )
        if not args.overhead_only:
            out["speedup"] = round(out["seconds_1w"] / out[f"seconds_{args.workers}w"], 2)
            a, b = api.load_sweep(tmp / "w1"), api.load_sweep(tmp / f"w{args.workers}")
            pd.testing.assert_frame_equal(a, b)
            out["identical_results"] = True
            progress(
                f"speedup {out['speedup']}x on {args.workers} workers; results identical",
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=64)
    ap.add_argument("--replicates", type=int, default=8)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--overhead-runs", type=int, default=64)
    ap.add_argument("--overhead-only", action="store_true", help="skip the throughput sweeps")
    a = ap.parse_args()
    out = measure_sweep(
        a.points, a.replicates, a.scale, a.workers, a.overhead_runs, a.overhead_only
    )
    dest = ROOT / "benchmarks" / "results"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "sweep_latest.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
