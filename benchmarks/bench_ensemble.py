"""Posterior ensemble: wall time of a 64-run posterior ensemble of the baseline at scale 0.25 on 2
workers (issue 19's target: under 60 s), through the public API:

    sim.api.run("baseline", scale=0.25, replicates=64, workers=2, uncertainty="posterior", seed=...)

    python benchmarks/bench_ensemble.py [--replicates 64] [--scale 0.25] [--workers 2] [--seed 2016]

It must run in a fresh process, under `if __name__ == "__main__":`: the workers are started with
`spawn` (`import mesa` makes multiprocessing refuse to fork), and each re-imports the main module.
benchmarks/bench.py (`make bench`, not `--quick`) runs this file as a child process and reads the
JSON line it prints. The time is the call's wall time, from a process that has imported
`sim.api` but built no model: it includes starting the workers, the posterior draws, every run
and collecting the indicators. Peak memory is the max RSS of this process and of the largest
worker (Linux `ru_maxrss` of the process and of its waited-for children), not their sum.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def measure_ensemble(
    replicates: int = 64, scale: float = 0.25, workers: int = 2, seed: int = 2016
) -> dict:
    """Run the ensemble once in this process (call it under a `__main__` guard)."""
    import sim.api as api

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", api.ScaleWarning)
        t0 = time.perf_counter()
        df = api.run(
            "baseline",
            scale=scale,
            replicates=replicates,
            workers=workers,
            uncertainty="posterior",
            seed=seed,
        )
        wall = time.perf_counter() - t0
    done = int(df["replicate"].nunique())
    if done != replicates:
        raise RuntimeError(f"{done} of {replicates} replicates in the results")
    return {
        "replicates": replicates,
        "scale": scale,
        "workers": workers,
        "seed": seed,
        "uncertainty": "posterior",
        "wall_s": wall,
        "runs_per_min": replicates / wall * 60,
        "main_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicates", type=int, default=64)
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2016)
    a = ap.parse_args()
    print(json.dumps(measure_ensemble(a.replicates, a.scale, a.workers, a.seed)))


if __name__ == "__main__":
    main()
