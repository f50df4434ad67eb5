"""Sweeps: spec validation, designs, common random numbers, results store, resume after kill -9,
the same results on 1 or 2 workers and on a Dask LocalCluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim.api as api
from sim.app.cli import main
from sim.experiments.design import DUMMY, design, load_spec, n_points
from sim.experiments.store import Store
from sim.experiments.sweep import run_sweep
from sim.inputs.errors import InputError
from sim.inputs.paths import ROOT

SWEEPS = ROOT / "scenarios" / "sweeps"
RANGE_ONLY = {"jjj_unified_tech_market": {"low": 0.0, "high": 1.0}}
GRID = {
    "jjj_unified_tech_market": {"values": [0.0, 0.5, 1.0]},
    "basic_research_priority": {"values": [0.3, 0.45]},
}


@pytest.fixture(scope="module")
def short_base(tmp_path_factory):
    """A baseline cut to 2016-2018 so that sweep tests run in seconds."""
    d = tmp_path_factory.mktemp("base")
    path = d / "short.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "short",
                "extends": str(ROOT / "scenarios" / "baseline.yaml"),
                "time": {"start_year": 2016, "end_year": 2018},
            }
        )
    )
    return path


def write_spec(folder: Path, base_file: Path, **over) -> Path:
    spec = {
        "base": str(base_file),
        "levers": {
            "jjj_unified_tech_market": {"low": 0.0, "high": 1.0},
            "basic_research_priority": {"values": [0.3, 0.45]},
        },
        "sampler": "lhs",
        "samples": 3,
        "replicates": 2,
        "seed": 11,
        "scale": 0.02,
    }
    spec.update(over)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


# ------------------------------------------------------------------------------------------------
# specs and designs
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec_file", sorted(SWEEPS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_sweeps_are_valid(spec_file):
    spec = load_spec(spec_file)
    assert spec.description and len(spec.description.split()) > 10
    assert len(design(spec)) == n_points(spec) >= 16


def test_at_least_three_sweeps_ship_including_sobol():
    samplers = [load_spec(p).sampler for p in SWEEPS.glob("*.yaml")]
    assert len(samplers) >= 3 and "sobol" in samplers


@pytest.mark.parametrize(
    ("over", "where", "text"),
    [
        ({"levers": {"jjj_unified_tech_markt": {"low": 0, "high": 1}}}, "levers.", "did you mean"),
        ({"levers": {"jjj_unified_tech_market": {"low": 0, "high": 3}}}, "levers.", "outside"),
        ({"levers": {"jjj_unified_tech_market": {"low": 1, "high": 0}}}, "levers", "below"),
        ({"sampler": "sobol", "samples": 10, "levers": RANGE_ONLY}, "samples", "power of 2"),
        ({"sampler": "sobol", "samples": 8}, "levers.basic_research_priority", "range"),
        ({"sampler": "random"}, "sampler", ""),
        ({"replicates": 0}, "replicates", ""),
        ({"base": "nowhere.yaml"}, "base", "not found"),
        ({"samples": "many"}, "samples", ""),
        ({"seeds": 3}, "seeds", "unknown key"),
    ],
)
def test_bad_spec_names_file_and_field(tmp_path, short_base, over, where, text):
    path = write_spec(tmp_path, short_base, **over)
    with pytest.raises(InputError) as e:
        load_spec(path)
    assert e.value.file == str(path)
    assert where in (e.value.path or "")
    assert text in e.value.message


def test_bad_spec_exit_code_2_and_nothing_written(tmp_path, short_base, capsys):
    path = write_spec(tmp_path, short_base, sampler="sobol", samples=10, levers=RANGE_ONLY)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 2
    assert "power of 2" in capsys.readouterr().err
    assert not out.exists()


def test_designs(tmp_path, short_base):
    lhs = load_spec(write_spec(tmp_path, short_base, samples=20))
    d = design(lhs)
    assert list(d.columns) == ["point", "jjj_unified_tech_market", "basic_research_priority"]
    assert d.jjj_unified_tech_market.between(0, 1).all()
    assert set(d.basic_research_priority) <= {0.3, 0.45}
    # Latin hypercube: each of the 20 strata of the range holds exactly one point.
    strata = np.floor(d.jjj_unified_tech_market * 20).astype(int)
    assert sorted(strata) == list(range(20))
    pd.testing.assert_frame_equal(d, design(lhs))  # deterministic

    grid = load_spec(write_spec(tmp_path, short_base, sampler="grid", levels=3))
    g = design(grid)
    assert len(g) == 3 * 2
    assert sorted(set(g.jjj_unified_tech_market)) == [0.0, 0.5, 1.0]

    rng_levers = {"jjj_unified_tech_market": {"low": 0.0, "high": 1.0}}
    sob = load_spec(write_spec(tmp_path, short_base, sampler="sobol", samples=8, levers=rng_levers))
    s = design(sob)
    assert len(s) == 8 * (2 + 2) and DUMMY in s.columns
    mor = load_spec(
        write_spec(tmp_path, short_base, sampler="morris", samples=3, levers=rng_levers)
    )
    assert len(design(mor)) == 3 * (2 + 1)


# ------------------------------------------------------------------------------------------------
# running and the store
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def one_worker(tmp_path_factory, short_base):
    d = tmp_path_factory.mktemp("sweep1")
    spec = write_spec(d, short_base, sampler="grid", levers=GRID)
    summary = run_sweep(spec, d / "out", workers=1, progress=False)
    return spec, d / "out", summary


def test_sweep_store_and_load(one_worker):
    spec, out, summary = one_worker
    assert summary.total == summary.ran == 6 * 2 and summary.skipped == 0
    df = api.load_sweep(out)
    assert list(df.columns) == [
        "point",
        "replicate",
        "seed",
        "jjj_unified_tech_market",
        "basic_research_priority",
        "year",
        "indicator",
        "value",
    ]
    assert df.groupby(["point", "replicate"]).ngroups == 12
    assert sorted(df.year.unique()) == [2016, 2017, 2018]
    # Common random numbers: replicate r has the same seed at every point.
    seeds = df.groupby(["replicate"]).seed.nunique()
    assert (seeds == 1).all()
    assert df.groupby("point").seed.unique().map(tuple).nunique() == 1
    # The stored spec records the resolved base scenario and the model version.
    stored = Store(out).spec()
    assert stored["base_scenario"]["levers"]["jjj_unified_tech_market"] == 0.0
    assert "innosim_version" in stored


def test_points_differ_by_their_levers(one_worker):
    _, out, _ = one_worker
    df = api.load_sweep(out)
    flow = df[(df.indicator == "tech_flow_to_tianjin_hebei") & (df.year == 2018)]
    by_point = flow.groupby("point").agg(
        jjj=("jjj_unified_tech_market", "first"),
        basic=("basic_research_priority", "first"),
        v=("value", "mean"),
    )
    # At either basic-research priority, more integration gives more flow to Tianjin and Hebei
    # (same seeds at every point).
    for _, group in by_point.groupby("basic"):
        assert group.sort_values("jjj").v.is_monotonic_increasing
        assert group.v.nunique() == 3


def test_two_workers_give_identical_results(one_worker, tmp_path):
    spec, out, _ = one_worker
    run_sweep(spec, tmp_path / "two", workers=2, progress=False)
    pd.testing.assert_frame_equal(api.load_sweep(out), api.load_sweep(tmp_path / "two"))


def test_existing_folder_needs_resume_or_force(one_worker, tmp_path, short_base):
    spec, out, _ = one_worker
    with pytest.raises(InputError, match="--resume"):
        run_sweep(spec, out, workers=1, progress=False)
    again = run_sweep(spec, out, workers=1, resume=True, progress=False)
    assert again.ran == 0 and again.skipped == 12
    other = write_spec(tmp_path, short_base, seed=12)
    with pytest.raises(InputError, match="different sweep"):
        run_sweep(other, out, workers=1, resume=True, progress=False)


def test_load_sweep_of_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        api.load_sweep(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a sweep folder"):
        api.load_sweep(tmp_path / "empty")


def test_resume_after_kill_9_gives_the_uninterrupted_results(tmp_path, short_base):
    spec = write_spec(tmp_path, short_base, samples=6, replicates=2)
    whole = tmp_path / "whole"
    run_sweep(spec, whole, workers=1, progress=False)
    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "sweep", str(spec), "--out", str(cut), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    deadline = time.time() + 60
    while time.time() < deadline and len(Store(cut).done()) < 3:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(Store(cut).done())
    assert 3 <= done < 12, "the sweep was not interrupted mid-way"
    summary = run_sweep(spec, cut, workers=1, resume=True, progress=False)
    assert summary.skipped == done and summary.ran == 12 - done
    assert not list((cut / "parts").glob(".*"))  # no temporary file left
    pd.testing.assert_frame_equal(api.load_sweep(whole), api.load_sweep(cut))


def test_dask_local_cluster_gives_identical_results(one_worker, tmp_path):
    distributed = pytest.importorskip("distributed")
    spec, out, _ = one_worker
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        summary = run_sweep(
            spec, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False
        )
    assert "dask" in str(summary.workers)
    pd.testing.assert_frame_equal(api.load_sweep(out), api.load_sweep(tmp_path / "dask"))


def test_cli_sweep_end_to_end(tmp_path, short_base, capsys):
    spec = write_spec(tmp_path, short_base, samples=2, replicates=1)
    out = tmp_path / "cli"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "2 design point(s) x 1 replicate(s) = 2 runs" in text
    assert len(Store(out).done()) == 2


def test_sobol_dummy_selects_the_seeds_and_levers_keep_common_seeds(tmp_path, short_base):
    from sim.experiments.sweep import plan_runs

    spec = load_spec(
        write_spec(tmp_path, short_base, sampler="sobol", samples=4, levers=RANGE_ONLY)
    )
    pts, runs, tasks, _, _ = plan_runs(spec)
    seeds = runs.groupby("point").seed.apply(tuple)
    by_dummy = pts.set_index("point")[DUMMY]
    for a in pts.point:
        for b in pts.point:
            same_dummy = by_dummy[a] == by_dummy[b]
            assert (seeds[a] == seeds[b]) == same_dummy
    # Every run is computed once even if two points repeat each other.
    assert len({t.key for t in tasks}) == len(tasks)


def test_a_failing_run_is_reported_and_the_rest_continues(
    tmp_path, short_base, monkeypatch, capsys
):
    import sim.experiments.executors as ex

    real = ex.compute
    spec = write_spec(tmp_path, short_base, samples=3, replicates=2)
    from sim.experiments.sweep import plan_runs

    _, runs, _, _, _ = plan_runs(load_spec(spec))
    bad = runs.iloc[3]
    bad_seed, bad_point = int(bad.seed), int(bad.point)

    def flaky(task):
        if task.point == bad_point and task.seed == bad_seed:
            raise FloatingPointError("boom")
        return real(task)

    monkeypatch.setattr(ex, "compute", flaky)
    out = tmp_path / "flaky"
    code = main(["sweep", str(spec), "--out", str(out), "--workers", "1", "--quiet"])
    text = capsys.readouterr().out
    assert code == 1
    assert "1 run(s) FAILED" in text
    assert f"point {bad_point} replicate {int(bad.replicate)} seed {bad_seed}" in text
    assert "FloatingPointError: boom" in text and "jjj_unified_tech_market=" in text
    assert len(Store(out).done()) == 5
    # Once the cause is gone, --resume runs just the failed run.
    monkeypatch.setattr(ex, "compute", real)
    summary = run_sweep(spec, out, workers=1, resume=True, progress=False)
    assert summary.ran == 1 and summary.skipped == 5 and not summary.failures


def test_resume_is_refused_when_the_model_code_changed(one_worker, monkeypatch):
    import sim.experiments.sweep as sweep_mod

    spec, out, _ = one_worker
    assert Store(out).spec()["model_fingerprint"]
    monkeypatch.setattr(sweep_mod, "fingerprint", lambda: "0123456789abcdef")
    with pytest.raises(InputError, match="model code or data changed"):
        run_sweep(spec, out, workers=1, resume=True, progress=False)


def test_fingerprint_changes_with_the_code(tmp_path, monkeypatch):
    import shutil

    import sim.experiments.fingerprint as fp

    root = tmp_path / "tree"
    shutil.copytree(
        ROOT / "sim",
        root / "sim",
        ignore=shutil.ignore_patterns("__pycache__", "seeds", "scenarios"),
    )
    shutil.copytree(ROOT / "seeds", root / "seeds")
    monkeypatch.setattr(fp, "PACKAGE", root / "sim")
    monkeypatch.setattr(fp, "SEEDS", root / "seeds")
    fp.fingerprint.cache_clear()
    try:
        a = fp.fingerprint()
        (root / "sim" / "model" / "knowledge.py").write_text(
            (root / "sim" / "model" / "knowledge.py").read_text() + "\n# changed\n"
        )
        fp.fingerprint.cache_clear()
        b = fp.fingerprint()
        (root / "seeds" / "parameters.yaml").write_text(
            (root / "seeds" / "parameters.yaml").read_text() + "\n"
        )
        fp.fingerprint.cache_clear()
        c = fp.fingerprint()
    finally:
        fp.fingerprint.cache_clear()
    assert len({a, b, c}) == 3


def test_sweep_varies_model_parameters(tmp_path, short_base):
    spec = write_spec(
        tmp_path,
        short_base,
        sampler="grid",
        levers={},
        parameters={"revenue_growth": {"values": [0.06, 0.18]}},
        replicates=1,
    )
    run_sweep(spec, tmp_path / "par", workers=1, progress=False)
    df = api.load_sweep(tmp_path / "par")
    assert "revenue_growth" in df.columns
    zgc = df[(df.indicator == "zgc_total_revenue") & (df.year == 2018)]
    low, high = zgc.sort_values("revenue_growth").value.tolist()
    assert high > low * 1.1


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"revenue_growt": {"low": 0.1, "high": 0.2}}, "did you mean"),
        ({"revenue_growth": {"low": 0.1, "high": 0.9}}, "outside the parameter's range"),
        ({"sector_shares_2015": {"low": 0.1, "high": 0.2}}, "list-valued"),
    ],
)
def test_bad_swept_parameter(tmp_path, short_base, params, text):
    path = write_spec(tmp_path, short_base, parameters=params)
    with pytest.raises(InputError) as e:
        load_spec(path)
    assert e.value.path.startswith("parameters.") and text in e.value.message


def test_lhs_over_levers_and_parameters_fills_every_column(tmp_path, short_base):
    spec = load_spec(
        write_spec(
            tmp_path,
            short_base,
            samples=10,
            levers=RANGE_ONLY,
            parameters={"revenue_growth": {"low": 0.05, "high": 0.2}},
        )
    )
    d = design(spec)
    assert d.revenue_growth.between(0.05, 0.2).all()
    assert sorted(np.floor((d.revenue_growth - 0.05) / 0.15 * 10).astype(int)) == list(range(10))
