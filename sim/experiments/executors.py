"""Executors: where the runs of a sweep are computed.

- Local (default): a process pool with the `spawn` start method (importing Mesa forces spawn
  anyway), one worker per core unless told otherwise.
- Dask: `--scheduler ADDRESS` (or the DASK_SCHEDULER_ADDRESS environment variable) sends the same
  tasks to a `dask.distributed` cluster. Start one with `dask scheduler` and, on each machine,
  `dask worker tcp://SCHEDULER:8786` (all with this package installed); on SLURM use
  dask-jobqueue's SLURMCluster and pass its scheduler address.

Both yield (task, result) pairs as runs finish, in any order; the caller writes results. A task
is self-contained (resolved scenario, seed, scale), so any worker computes the same result. A run
that raises yields a RunFailure instead of a frame, and the other runs go on; so does a run whose
worker process dies (local: re-run alone to find the culprit; Dask: rescheduled by Dask, and
reported once Dask gives up on it).
"""

from __future__ import annotations

import functools
import multiprocessing.util
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only in annotations: the command line's --help imports this module
    import pandas as pd


@dataclass(frozen=True)
class Task:
    key: str
    point: int
    replicate: int
    seed: int
    scale: float
    scenario: dict  # the resolved scenario of the design point (run key, messages)
    model: object = None  # the same as a Scenario object, validated once when the sweep was planned


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
    from sim.experiments.runs import run_one
    from sim.inputs.scenario import Scenario

    sc = task.model
    if sc is None:  # a task made outside the package: its scenario is validated here
        sc = Scenario.model_validate(
            {k: v for k, v in task.scenario.items() if k in Scenario.model_fields}
        )
    return run_one(sc, task.seed, task.scale)


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (a container's, a batch job's or
    `taskset`'s limit), not the machine's count, which may be far larger."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # no affinity on this platform (macOS, Windows)
        return os.cpu_count() or 1


def default_workers(runs: int | None = None) -> int:
    """The one default of `--workers` for every command (run, levers --effects, sweep,
    calibrate): all usable cores, at most one per run to do (a process with nothing to run only
    costs its start-up). Results do not depend on it: every run's randomness comes from its own
    seed (tests/test_determinism.py)."""
    cores = usable_cores()
    return max(1, min(cores, runs)) if runs is not None else cores


# ------------------------------------------------------------------------------------------------
# worker processes that never outlive the run
# ------------------------------------------------------------------------------------------------
class WorkerPool(ProcessPoolExecutor):
    """A spawn process pool whose workers leave with their parent and never take a Ctrl-C.

    - Ctrl-C in a terminal reaches every process of the foreground group: workers are started
      with SIGINT blocked (inherited through exec), so only the parent reacts (one line, no
      worker tracebacks) and stops them (`stop`).
    - A parent killed outright (SIGKILL, or SIGTERM outside the CLI) cannot stop them: each
      worker watches its parent and exits within WATCH_S seconds of losing it.
    """

    def __init__(self, workers: int):
        super().__init__(
            max_workers=workers,
            mp_context=get_context("spawn"),
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        )

    def _spawn_process(self):  # called by the executor whenever it starts a worker
        with _SPAWNING:  # one thread at a time swaps the module's function
            real = multiprocessing.util.spawnv_passfds
            multiprocessing.util.spawnv_passfds = functools.partial(_spawn_deaf_to_sigint, real)
            try:
                return super()._spawn_process()
            finally:
                multiprocessing.util.spawnv_passfds = real

    def stop(self) -> None:
        """End at once: pending runs cancelled, running ones killed (their results are lost,
        and they were never written)."""
        for proc in list((getattr(self, "_processes", None) or {}).values()):
            if proc.is_alive():
                proc.terminate()
        self.shutdown(wait=False, cancel_futures=True)


_SPAWNING = threading.Lock()


def _spawn_deaf_to_sigint(real, *args):
    """Start a process (fork and exec) with SIGINT blocked, which it inherits and keeps, so that
    Ctrl-C reaches only the parent. Blocked, not ignored, in this thread for the milliseconds of
    the call: a Ctrl-C meanwhile is taken by another thread or kept pending, never discarded."""
    path, argv, passfds = args
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return real(path, _quiet_bootstrap(argv), passfds)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _quiet_bootstrap(argv: list[str]) -> list[str]:
    """The worker's command line with its bootstrap (`-c 'from multiprocessing.spawn import
    spawn_main; spawn_main(...)'`) wrapped so that a parent interrupted while it was still
    sending the worker its start-up data (the pipe closes early: EOFError) ends the worker
    quietly with status 1, instead of a traceback under the parent's one-line message."""
    if "-c" not in argv:
        return argv  # a frozen executable: no bootstrap code to wrap
    i = argv.index("-c") + 1
    wrapped = list(argv)
    wrapped[i] = f"try:\n    {argv[i]}\nexcept EOFError:\n    raise SystemExit(1)"
    return wrapped


WATCH_S = 0.5


def _watch_parent(parent: int) -> None:
    """In a worker: exit as soon as the parent process is gone (its pid no longer our parent)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_S)
        os._exit(1)

    threading.Thread(target=watch, name="innosim-parent-watch", daemon=True).start()


def _worker_failed(e: Exception) -> RunFailure:
    """A run lost outside the model: the task could not be sent, or its worker was lost."""
    return RunFailure(f"worker failed: {type(e).__name__}: {e}")


WORKER_DIED = (
    "its worker process died (killed, out of memory, or a crash in native code); "
    "the run was retried alone and died again"
)


def run_local(
    tasks: Iterable[Task], workers: int, fn: Callable[[Task], object] | None = None
) -> Iterator[tuple[Task, pd.DataFrame | RunFailure]]:
    """Run tasks in-process (workers == 1) or in a spawn process pool, a bounded window at a time
    so that memory stays flat and an interruption loses at most the runs in flight.

    A worker process that dies (a crash in native code, the out-of-memory killer) breaks the
    whole pool: every run then in flight is re-run alone in a fresh process, so that only the
    run that brings its process down again is reported as failed, and the sweep goes on with a
    new pool. `fn` computes one task (default: the model run, errors caught per run).
    """
    fn = fn or compute_safely
    tasks = list(tasks)
    if workers <= 1:
        for t in tasks:
            yield t, fn(t)
        return
    todo = deque(tasks)
    while todo:
        suspects: list[Task] = []
        yield from _pool_until_broken(todo, workers, fn, suspects)
        for t in suspects:  # in flight when a worker died: each alone, in a fresh process
            yield t, _alone(t, fn)


def _pool_until_broken(todo: deque, workers: int, fn, suspects: list) -> Iterator:
    """Run tasks from `todo` in one pool until it is done or broken (the runs in flight when it
    broke go to `suspects`)."""
    window = workers * 2
    ex = WorkerPool(workers)
    pending: dict = {}
    broken = finished = False
    try:
        while todo and len(pending) < window:
            t = todo.popleft()
            pending[ex.submit(fn, t)] = t
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                t = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    broken = True
                    suspects.append(t)
                    continue
                except Exception as e:  # the task could not be sent or its result returned
                    result = _worker_failed(e)
                yield t, result
                if todo and not broken:
                    nxt = todo.popleft()
                    try:
                        pending[ex.submit(fn, nxt)] = nxt
                    except BrokenProcessPool:
                        broken = True
                        todo.appendleft(nxt)
        finished = True
    finally:
        if finished or broken:
            ex.shutdown(wait=not broken, cancel_futures=True)
        else:  # interrupted, or the caller stopped reading: no run goes on behind its back
            ex.stop()


def _alone(task: Task, fn) -> pd.DataFrame | RunFailure:
    ex = WorkerPool(1)
    try:
        return ex.submit(fn, task).result()
    except BrokenProcessPool:
        return RunFailure(WORKER_DIED)
    except Exception as e:
        return _worker_failed(e)
    finally:
        ex.stop()


def run_dask(
    tasks: Iterable[Task], address, fn: Callable[[Task], object] | None = None
) -> Iterator[tuple[Task, pd.DataFrame | RunFailure]]:
    """Run tasks on a dask.distributed cluster (address string, or a Client/cluster object).
    A worker lost mid-run makes Dask run the task elsewhere; a task that kills every worker it
    is given (Dask's allowed-failures, 3 by default) is reported as failed (KilledWorker)."""
    from distributed import Client, as_completed

    client = address if isinstance(address, Client) else Client(address)
    own = client is not address
    try:
        tasks = list(tasks)
        futures = client.map(fn or compute_safely, tasks, pure=False)
        index = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        for fut in as_completed(futures):
            try:
                result = fut.result()
            except Exception as e:  # a worker lost, or the task could not be run
                result = _worker_failed(e)
            yield index[fut.key], result
            fut.release()
    finally:
        if own:
            client.close()
