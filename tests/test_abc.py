"""`innosim calibrate` (ABC-SMC, sim.experiments.abc) end to end on a tiny budget: the posterior
and its record are written, seeds/ is untouched unless --install is given, a calibration resumes where it
stopped, and a holdout fit is scored against the naive forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.app.cli import main
from sim.experiments import calibration
from sim.experiments.posterior import POSTERIOR, read_posterior

TINY = ["--population", "6", "--scale", "0.02", "--replicates", "1", "--workers", "1"]


def _seeds_files():
    return [p.read_bytes() if p.exists() else None for p in (POSTERIOR, calibration.CALIBRATED)]


def test_calibrate_writes_a_posterior_and_resumes(tmp_path, capsys):
    before = _seeds_files()
    out = tmp_path / "cal"
    argv = ["calibrate", "--out", str(out), *TINY, "--quiet"]  # seeds/ untouched by default
    assert main([*argv, "--generations", "2"]) == 0
    text = capsys.readouterr().out
    assert "effective sample size" in text and "seeds/ unchanged" in text
    search = out / "search"
    post = read_posterior(search / "posterior.parquet")
    assert len(post.weights) == 6 and np.isclose(post.weights.sum(), 1.0)
    setup = calibration.load_setup()
    assert set(post.names) == set(setup.free)
    rec = yaml.safe_load((search / "calibration.yaml").read_text())
    assert rec["posterior"]["generations_run"] == 2
    assert rec["posterior"]["exact"] is True  # the temperature reaches 1 at the last generation
    for name, e in rec["parameters"].items():
        lo, hi = setup.free[name]
        assert lo <= e["posterior"]["q10"] <= e["value"] <= e["posterior"]["q90"] <= hi
    gens = pd.read_csv(search / "generations.csv")
    assert gens.generation.tolist() == [0, 1] and gens.temperature.iloc[-1] == 1.0
    assert _seeds_files() == before
    # resumed with one more generation: the stored two are kept, a third is added
    assert main([*argv, "--generations", "1", "--resume"]) == 0
    gens = pd.read_csv(search / "generations.csv")
    assert gens.generation.tolist() == [0, 1, 2]
    assert _seeds_files() == before


def test_resume_without_an_earlier_calibration_is_an_input_error(tmp_path, capsys):
    code = main(["calibrate", "--out", str(tmp_path / "c"), *TINY, "--resume", "--quiet"])
    assert code == 2
    assert "nothing to resume" in capsys.readouterr().err


@pytest.mark.slow
def test_holdout_fit_is_scored_against_naive_forecasts(tmp_path, capsys):
    before = _seeds_files()
    out = tmp_path / "cal"
    argv = ["calibrate", "--out", str(out), *TINY, "--generations", "2", "--holdout", "2020"]
    assert main([*argv, "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "holdout 2020" in text and "trend" in text and "CRPS" in text
    summary = pd.read_csv(out / "holdout_2020" / "summary.csv")
    assert set(summary.forecast) == {"model", "trend", "log_linear", "last_value"}
    assert summary.points.min() > 0
    rec = yaml.safe_load((out / "holdout_2020" / "calibration.yaml").read_text())
    assert rec["settings"]["last_year"] == 2019
    assert _seeds_files() == before


@pytest.mark.slow
def test_calibrate_on_a_dask_cluster(tmp_path, capsys):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        argv = ["calibrate", "--out", str(tmp_path / "cal"), *TINY, "--generations", "1"]
        argv += ["--scheduler", cluster.scheduler_address, "--quiet"]
        assert main(argv) == 0
    rec = yaml.safe_load((tmp_path / "cal" / "search" / "calibration.yaml").read_text())
    assert rec["settings"]["workers"].startswith("tcp://")
    assert len(read_posterior(tmp_path / "cal" / "search" / "posterior.parquet").weights) == 6


def test_calibrate_with_an_unreachable_scheduler_writes_nothing(tmp_path, capsys):
    out = tmp_path / "cal"
    argv = ["calibrate", "--out", str(out), *TINY, "--scheduler", "tcp://127.0.0.1:9", "--quiet"]
    assert main(argv) == 2
    assert "--scheduler" in capsys.readouterr().err
    assert not (out / "search" / "posterior.parquet").exists()
