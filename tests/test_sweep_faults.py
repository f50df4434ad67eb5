"""Sweeps survive faults (issue 8): kill -9 at random moments, resumed, loses no finished run,
repeats none and ends byte-identical to an uninterrupted sweep; a worker process that dies takes
only its own run with it; results do not depend on the number of workers or the order of runs.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import write_short_sweep

from sim.experiments import executors
from sim.experiments import sweep as sweep_mod
from sim.experiments.executors import WORKER_DIED, RunFailure, Task
from sim.experiments.store import Store
from sim.experiments.sweep import run_sweep
from sim.inputs.paths import ROOT

pytestmark = pytest.mark.serial  # timing-sensitive: run alone (Makefile `test`)

SAMPLES, REPLICATES = 10, 3
TOTAL = SAMPLES * REPLICATES


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    levers = {
        "jjj_unified_tech_market": {"low": 0.0, "high": 1.0},
        "top_talent_recruitment": {"low": 0.5, "high": 3.0},
    }
    return write_short_sweep(
        tmp_path_factory.mktemp("faults"), levers, samples=SAMPLES, replicates=REPLICATES
    )


@pytest.fixture(scope="module")
def reference(spec, tmp_path_factory) -> Path:
    """The uninterrupted sweep, one worker, in design order."""
    out = tmp_path_factory.mktemp("ref") / "sweep"
    summary = run_sweep(spec, out, workers=1, progress=False)
    assert summary.ran == TOTAL and not summary.failures
    return out


def folder_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file of a sweep folder (spec, design, run table and each part)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def part_stamps(out: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every finished part: a part written again would change both."""
    return {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in (out / "parts").glob("*.parquet")
        if not p.name.startswith(".")
    }


# ------------------------------------------------------------------------------------------------
# determinism: workers and order
# ------------------------------------------------------------------------------------------------
def test_any_number_of_workers_and_any_order_give_byte_identical_folders(
    spec, reference, tmp_path, monkeypatch
):
    two = tmp_path / "two"
    run_sweep(spec, two, workers=2, progress=False)
    assert folder_digest(two) == folder_digest(reference)

    real = sweep_mod.plan_runs

    def shuffled(*args, **kwargs):
        pts, runs, tasks, base, scale = real(*args, **kwargs)
        tasks = list(tasks)
        random.Random(3).shuffle(tasks)
        return pts, runs, tasks, base, scale

    monkeypatch.setattr(sweep_mod, "plan_runs", shuffled)
    mixed = tmp_path / "shuffled"
    run_sweep(spec, mixed, workers=1, progress=False)
    assert folder_digest(mixed) == folder_digest(reference)


def test_different_seeds_give_different_results(spec, reference, tmp_path):
    other = tmp_path / "spec.yaml"
    doc = yaml.safe_load(spec.read_text())
    doc["seed"] = 6  # the design and the replicate seeds both come from it
    other.write_text(yaml.safe_dump(doc))
    out = tmp_path / "other"
    run_sweep(other, out, workers=1, progress=False)
    a, b = Store(reference).load(), Store(out).load()
    assert len(a) == len(b)
    assert not a.value.equals(b.value)
    assert set(a.seed).isdisjoint(set(b.seed))


# ------------------------------------------------------------------------------------------------
# kill -9 and resume
# ------------------------------------------------------------------------------------------------
def _start(spec: Path, out: Path, resume: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "sim", "sweep", str(spec), "--out", str(out), "--workers", "2"]
    args += ["--quiet"] + (["--resume"] if resume else [])
    return subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,  # its own process group: kill -9 reaches the workers too
    )


def _kill_9(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def test_kill_9_at_random_moments_then_resume_is_identical_with_no_repeats(
    spec, reference, tmp_path
):
    """Four kill -9s of the whole sweep (parent and workers) at random moments: the first a
    random time after start (often while the folder is being made or the pool starts), the
    others after a random number of further runs plus a random delay (mid-write of a part
    included). After each, --resume starts from the parts on disk and leaves them untouched."""
    rng = random.Random(int(os.environ.get("INNOSIM_KILL_SEED", "2016")))
    out = tmp_path / "cut"
    kills = []
    for attempt in range(4):
        before = part_stamps(out) if out.exists() else {}
        proc = _start(spec, out, resume=attempt > 0)
        if attempt == 0:  # a random moment, but before the sweep is a third done
            deadline = time.time() + rng.uniform(0.5, 4.0)
            target = rng.randint(1, TOTAL // 3)
            while time.time() < deadline and proc.poll() is None:
                if out.exists() and len(part_stamps(out)) >= target:
                    break
                time.sleep(0.02)
        else:
            target = min(TOTAL - 1, len(before) + rng.randint(1, 6))
            deadline = time.time() + 90
            while time.time() < deadline and proc.poll() is None:
                if out.exists() and len(part_stamps(out)) >= target:
                    break
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.3))
        finished = proc.poll() is not None
        if not finished:
            _kill_9(proc)
        after = part_stamps(out) if out.exists() else {}
        # Every part that existed before this attempt is still the same file, not rewritten.
        assert {k: after[k] for k in before} == before
        # No temporary file counts as a part; the folder is complete or absent.
        assert not out.exists() or Store(out).exists()
        kills.append((len(before), len(after), finished))
    print(f"(parts before, parts after, finished by itself) per kill: {kills}")
    assert any(0 < done < TOTAL for _, done, _ in kills), f"never cut mid-way: {kills}"

    before = part_stamps(out) if out.exists() else {}
    proc = _start(spec, out, resume=True)
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    after = part_stamps(out)
    assert {k: after[k] for k in before} == before
    assert f"ran {TOTAL - len(before)} in" in stdout
    if before:
        assert f"{len(before)} already done" in stdout
    assert not list((out / "parts").glob(".*"))  # temporary files of killed writers removed
    assert folder_digest(out) == folder_digest(reference)


def test_resume_of_a_sweep_killed_before_its_folder_existed(spec, reference, tmp_path):
    """Killed while starting: no folder, or a complete one; --resume then simply runs it all."""
    out = tmp_path / "early"
    proc = _start(spec, out, resume=False)
    time.sleep(0.3)
    _kill_9(proc)
    assert not out.exists() or Store(out).exists()
    summary = run_sweep(spec, out, workers=1, resume=True, progress=False)
    assert summary.ran + summary.skipped == TOTAL
    assert folder_digest(out) == folder_digest(reference)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder


# ------------------------------------------------------------------------------------------------
# a worker process that dies
# ------------------------------------------------------------------------------------------------
def _die_on(bad_point: int, task: Task):
    """Stands in for a run that takes its process down (a segfault, the OOM killer)."""
    if task.point == bad_point:
        os.kill(os.getpid(), signal.SIGKILL)
    return pd.DataFrame({"point": [task.point], "seed": [task.seed]})


def _tasks(n: int) -> list[Task]:
    return [Task(f"k{i}", i, 0, 100 + i, 0.02, {}) for i in range(n)]


def test_a_dying_worker_takes_only_its_own_run(monkeypatch):
    tasks = _tasks(12)
    results = list(executors.run_local(tasks, 2, functools.partial(_die_on, 5)))
    assert sorted(t.point for t, _ in results) == list(range(12))  # each run once
    failed = [(t.point, r.error) for t, r in results if isinstance(r, RunFailure)]
    assert failed == [(5, WORKER_DIED)]
    for t, r in results:
        if t.point != 5:
            assert r.seed.tolist() == [t.seed]


def test_a_dying_worker_is_reported_with_parameters_and_seed_and_the_sweep_goes_on(
    spec, tmp_path, monkeypatch, capsys
):
    from sim.app.cli import main

    real = executors.run_local
    monkeypatch.setattr(
        sweep_mod,
        "run_local",
        lambda tasks, workers: real(tasks, workers, _die_or_run),
    )
    out = tmp_path / "dying"
    code = main(["sweep", str(spec), "--out", str(out), "--workers", "2", "--quiet"])
    text = capsys.readouterr().out
    assert code == 1
    assert f"{REPLICATES} run(s) FAILED" in text
    assert "point 2 replicate 0 seed" in text and "jjj_unified_tech_market=" in text
    assert WORKER_DIED in text
    assert len(Store(out).done()) == TOTAL - REPLICATES


def _die_or_run(task: Task):
    if task.point == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return executors.compute_safely(task)


def test_on_dask_a_run_that_kills_its_workers_is_reported_and_the_rest_go_on():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        results = list(
            executors.run_dask(_tasks(8), cluster.scheduler_address, functools.partial(_die_on, 3))
        )
    assert sorted(t.point for t, _ in results) == list(range(8))
    failed = [(t.point, r.error) for t, r in results if isinstance(r, RunFailure)]
    assert len(failed) == 1 and failed[0][0] == 3 and "KilledWorker" in failed[0][1]
