"""Executors: where the runs of a sweep are computed.

- Local (default): a process pool with the `spawn` start method (importing Mesa forces spawn
  anyway), one worker per core unless told otherwise.
- Dask: `--scheduler ADDRESS` (or the DASK_SCHEDULER_ADDRESS environment variable) sends the same
  tasks to a `dask.distributed` cluster. Start one with `dask scheduler` and, on each machine,
  `dask worker tcp://SCHEDULER:8786` (all with this package installed); on SLURM use
  dask-jobqueue's SLURMCluster and pass its scheduler address.

Both yield (task, result) pairs as runs finish, in any order; the caller writes results. A task
is self-contained (resolved scenario, seed, scale), so any worker computes the same result. A run
that raises yields a RunFailure instead of a frame, and the other runs go on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context

import pandas as pd


@dataclass(frozen=True)
class Task:
    key: str
    point: int
    replicate: int
    seed: int
    scale: float
    scenario: dict  # the resolved scenario of the design point


@dataclass(frozen=True)
class RunFailure:
    """A run that raised: what and where, for the summary (the traceback's last line)."""

    error: str


def compute_safely(task: Task) -> pd.DataFrame | RunFailure:
    try:
        return compute(task)
    except Exception as e:  # reported per run; the sweep goes on
        return RunFailure(f"{type(e).__name__}: {e}")


def compute(task: Task) -> pd.DataFrame:
    """One run: the model from the task's scenario, seed and scale; year, indicator, value."""
    from ..scenario import Scenario
    from .runs import run_one

    sc = Scenario.model_validate(
        {k: v for k, v in task.scenario.items() if k in Scenario.model_fields}
    )
    return run_one(sc, task.seed, task.scale)


def default_workers() -> int:
    return os.cpu_count() or 1


def run_local(tasks: Iterable[Task], workers: int) -> Iterator[tuple[Task, pd.DataFrame]]:
    """Run tasks in-process (workers == 1) or in a spawn process pool, a bounded window at a time
    so that memory stays flat and an interruption loses at most the runs in flight."""
    tasks = list(tasks)
    if workers <= 1:
        for t in tasks:
            yield t, compute_safely(t)
        return
    window = workers * 2
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as ex:
        pending = {}
        it = iter(tasks)
        for t in it:
            pending[ex.submit(compute_safely, t)] = t
            if len(pending) >= window:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                t = pending.pop(fut)
                try:
                    result = fut.result()
                except Exception as e:  # the worker process itself died
                    result = RunFailure(f"worker failed: {type(e).__name__}: {e}")
                yield t, result
                nxt = next(it, None)
                if nxt is not None:
                    pending[ex.submit(compute_safely, nxt)] = nxt


def run_dask(tasks: Iterable[Task], address) -> Iterator[tuple[Task, pd.DataFrame]]:
    """Run tasks on a dask.distributed cluster (address string, or a Client/cluster object)."""
    from distributed import Client, as_completed

    client = address if isinstance(address, Client) else Client(address)
    own = client is not address
    try:
        tasks = list(tasks)
        futures = client.map(compute_safely, tasks, pure=False)
        index = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        for fut in as_completed(futures):
            try:
                result = fut.result()
            except Exception as e:  # a worker lost, or the task could not be run
                result = RunFailure(f"worker failed: {type(e).__name__}: {e}")
            yield index[fut.key], result
            fut.release()
    finally:
        if own:
            client.close()
