"""Reproducibility: seeds, replicates, workers, overrides, and Mesa's batch_run."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest
from helpers import SCALE, SHORT, run_model

from sim import api
from sim.experiments.runs import COLUMNS, replicate_seeds
from sim.model import InnovationModel
from sim.model.indicators import INDICATORS


def test_same_seed_identical_frames(small_frame):
    again = run_model(SHORT, seed=2016).indicator_frame()
    pd.testing.assert_frame_equal(small_frame, again, check_exact=True)


def test_same_seed_identical_state(small_run):
    again = run_model(SHORT, seed=2016)
    f, g = small_run.firms, again.firms
    assert f.size == g.size
    for name in ("cash", "revenue", "tech", "researchers", "patents", "stage", "region"):
        assert np.array_equal(getattr(f, name)[: f.size], getattr(g, name)[: g.size]), name
    assert dict(small_run.money.balance) == dict(again.money.balance)
    assert dict(small_run.talent.balance) == dict(again.talent.balance)


def test_different_seed_differs(small_frame):
    other = run_model(SHORT, seed=2017).indicator_frame()
    assert list(other.columns) == list(small_frame.columns)
    assert not np.array_equal(other.value.to_numpy(), small_frame.value.to_numpy())


def test_lever_override_changes_results(small_frame):
    plan = run_model(SHORT, seed=2016, public_rd_growth=15.0).indicator_frame()
    rd = plan.set_index(["year", "indicator"]).value
    base = small_frame.set_index(["year", "indicator"]).value
    assert rd[(2016, "rd_expenditure")] > base[(2016, "rd_expenditure")]
    assert rd[(2018, "rd_expenditure")] > base[(2018, "rd_expenditure")]


def test_override_equals_scenario_lever():
    """A keyword override and the same lever in the scenario give the same run."""
    by_kw = run_model(SHORT, seed=5, ip_protection={2017: 0.8}).indicator_frame()
    sc = {**SHORT, "levers": {"ip_protection": {2017: 0.8}}}
    by_sc = run_model(sc, seed=5).indicator_frame()
    pd.testing.assert_frame_equal(by_kw, by_sc, check_exact=True)


def test_adding_a_lever_schedule_later_leaves_earlier_years_identical(small_frame):
    later = run_model(SHORT, seed=2016, public_rd_growth={2018: 15.0}).indicator_frame()
    a = small_frame[small_frame.year < 2018].reset_index(drop=True)
    b = later[later.year < 2018].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not later[later.year == 2018].value.equals(small_frame[small_frame.year == 2018].value)


# ------------------------------------------------------------------------------------------------
# api.run and replicates
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_replicates():
    return api.run(SHORT, seed=7, scale=SCALE, replicates=2, workers=1)


def test_api_run_columns_and_replicates(two_replicates):
    df = two_replicates
    assert list(df.columns) == COLUMNS
    assert sorted(df.replicate.unique()) == [0, 1]
    assert list(df.drop_duplicates("replicate").seed) == replicate_seeds(7, 2)
    assert set(df.indicator) == set(INDICATORS)
    assert sorted(df.year.unique()) == [2016, 2017, 2018]
    assert (df.scenario == "baseline").all()
    assert len(df) == 2 * 3 * len(INDICATORS)


def test_api_replicate_equals_direct_run(two_replicates):
    """Replicate 0 of api.run is a plain model run with replicate 0's seed and parameter set (its
    posterior draw, by default)."""
    from sim.experiments.posterior import replicate_parameters

    seed = int(two_replicates.seed.iloc[0])
    params = replicate_parameters(api.load_scenario(SHORT).uncertainty, 7, 1)[0]
    direct = run_model({**SHORT, "parameters": params}, seed=seed).indicator_frame()
    rep0 = two_replicates[two_replicates.replicate == 0][
        ["year", "indicator", "value"]
    ].reset_index(drop=True)
    pd.testing.assert_frame_equal(rep0, direct, check_exact=True)


def test_replicates_are_common_random_numbers(two_replicates):
    """Replicate r gets the same seed whatever the number of replicates."""
    one = api.run(SHORT, seed=7, scale=SCALE, replicates=1)
    first = two_replicates[two_replicates.replicate == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(one, first, check_exact=True)
    assert replicate_seeds(7, 5)[:2] == replicate_seeds(7, 2)
    assert len(set(replicate_seeds(7, 50))) == 50


def test_replicates_differ(two_replicates):
    a = two_replicates[two_replicates.replicate == 0].value.to_numpy()
    b = two_replicates[two_replicates.replicate == 1].value.to_numpy()
    assert not np.array_equal(a, b)


def test_workers_do_not_change_results(two_replicates):
    parallel = api.run(SHORT, seed=7, scale=SCALE, replicates=2, workers=2)
    pd.testing.assert_frame_equal(parallel, two_replicates, check_exact=True)


def test_api_overrides_change_results(two_replicates):
    plan = api.run(SHORT, seed=7, scale=SCALE, replicates=2, overrides={"public_rd_growth": 15.0})
    assert list(plan.columns) == COLUMNS
    merged = plan.merge(
        two_replicates, on=["replicate", "year", "indicator"], suffixes=("_plan", "_base")
    )
    rd = merged[merged.indicator == "rd_expenditure"]
    assert (rd.value_plan > rd.value_base).all()


def test_api_uses_scenario_defaults():
    sc = {**SHORT, "seed": 11, "replicates": 1, "scale": SCALE, "name": "tiny"}
    df = api.run(sc)
    assert (df.scenario == "tiny").all()
    assert df.seed.iloc[0] == replicate_seeds(11, 1)[0]


# ------------------------------------------------------------------------------------------------
# Mesa integration
# ------------------------------------------------------------------------------------------------
def test_mesa_batch_run():
    results = mesa.batch_run(
        InnovationModel,
        parameters={"scale": SCALE, "rng": [1, 2]},
        max_steps=4,
        number_processes=1,
        display_progress=False,
    )
    assert isinstance(results, list) and len(results) == 2
    assert all(isinstance(r, dict) for r in results)
    assert sorted(r["rng"] for r in results) == [1, 2]
    for r in results:
        assert r["Step"] == 4
        assert r["year"] == 2016
        assert r["firms"] > 0
        for ind in INDICATORS:
            assert ind in r and np.isfinite(r[ind]), ind
    # Different seeds, different runs.
    assert results[0]["rd_expenditure"] != results[1]["rd_expenditure"]


def test_mesa_batch_run_is_reproducible():
    kwargs = {
        "parameters": {"scale": SCALE, "rng": 3},
        "max_steps": 4,
        "number_processes": 1,
        "display_progress": False,
    }
    a = mesa.batch_run(InnovationModel, **kwargs)
    b = mesa.batch_run(InnovationModel, **kwargs)
    assert [r["rd_expenditure"] for r in a] == [r["rd_expenditure"] for r in b]


def test_datacollector_records_every_step():
    m = run_model(SHORT, seed=1)
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == m.horizon + 1  # the initial state and every step
    last = df.iloc[-1]
    assert last["year"] == 2018
    assert last["rd_expenditure"] == m.annual[2018]["rd_expenditure"]


# ------------------------------------------------------------------------------------------------
# result files: byte for byte
# ------------------------------------------------------------------------------------------------
RESULT_FILES = ("indicators.csv", "attainment.csv", "scenario.resolved.yaml", "firms.parquet")


def _run_files(tmp_path, name: str, *args: str) -> dict[str, bytes]:
    import yaml

    from sim.app.cli import main
    from sim.inputs.paths import SCENARIOS

    scenario = tmp_path / "short.yaml"
    if not scenario.exists():
        doc = {
            "extends": str(SCENARIOS / "baseline.yaml"),
            "time": {"end_year": 2018},
            "levers": {"ip_protection": 0.6, "public_rd_growth": {2016: 9.0, 2018: 11.0}},
        }
        scenario.write_text(yaml.safe_dump(doc))
    out = tmp_path / name
    common = ["--replicates", "3", "--scale", str(SCALE), "--agents", "--quiet"]
    assert main(["run", str(scenario), "--out", str(out), *common, *args]) == 0
    return {f: (out / f).read_bytes() for f in RESULT_FILES}


def test_run_files_are_byte_identical_on_any_number_of_workers(tmp_path):
    """`innosim run` (indicators, attainment, resolved scenario, firm records): one worker and
    two workers write the same bytes; another seed writes different indicators."""
    one = _run_files(tmp_path, "one", "--workers", "1")
    two = _run_files(tmp_path, "two", "--workers", "2")
    for name in RESULT_FILES:
        assert one[name] == two[name], f"{name} differs between 1 and 2 workers"
    other = _run_files(tmp_path, "other", "--workers", "1", "--seed", "7")
    assert other["indicators.csv"] != one["indicators.csv"]
    assert other["firms.parquet"] != one["firms.parquet"]
