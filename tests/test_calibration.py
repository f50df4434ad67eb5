"""Calibration: observed moments, the distance, the shortened base scenario, calibrated defaults
and an end-to-end search on a tiny budget."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.app.cli import main
from sim.experiments import calibration
from sim.inputs.paths import ROOT
from sim.inputs.scenario import load_scenario


def test_moments_follow_the_record_and_the_exclusions():
    setup = calibration.load_setup()
    m = calibration.observed_moments(setup)
    assert m.year.between(2016, 2020).all()
    # Excluded: R&D levels after the census and the intensity on the new GDP basis.
    assert m[(m.indicator == "rd_expenditure")].year.tolist() == [2016, 2017]
    assert not ((m.indicator == "rd_intensity") & (m.year >= 2019)).any()
    # Weights follow the record's confidence.
    row = m[(m.indicator == "tech_contract_turnover") & (m.year == 2017)].iloc[0]
    assert row.weight == setup.weights["low"]
    assert set(m.weight) <= set(setup.weights.values())
    # Fitting to 2019 drops the 2020 points.
    assert calibration.observed_moments(setup, 2019).year.max() == 2019


def test_distance_is_zero_on_the_record_and_grows_with_error():
    setup = calibration.load_setup()
    m = calibration.observed_moments(setup)
    exact = m.rename(columns={"observed": "value"})[["indicator", "year", "value"]]
    assert calibration.distance(exact, m) == pytest.approx(0.0)
    off = exact.assign(value=exact.value * np.exp(0.1))
    assert calibration.distance(off, m) == pytest.approx(0.01)
    worse = exact.assign(value=exact.value * np.exp(0.2))
    assert calibration.distance(worse, m) > calibration.distance(off, m)


def test_base_scenario_is_history_cut_at_the_end_year(tmp_path):
    setup = calibration.load_setup()
    path = calibration._write_base(tmp_path, setup, 2019)
    sc = load_scenario(path)
    assert sc.time.end_year == 2019
    hist = load_scenario(setup.scenario)
    for lid, spec in sc.levers.items():
        if isinstance(spec, dict):
            assert max(spec) <= 2019
            assert all(hist.levers[lid][y] == v for y, v in spec.items())


def test_calibrated_values_replace_the_priors(tmp_path, monkeypatch):
    import sim.inputs.params as params

    seeds = tmp_path / "seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    (seeds / "calibrated.yaml").write_text(
        yaml.safe_dump({"parameters": {"revenue_growth": {"value": 0.1111}}})
    )
    monkeypatch.setattr(params, "SEEDS", seeds)
    params.definitions.cache_clear()
    try:
        d = params.definitions()["revenue_growth"]
        assert d.value == pytest.approx(0.1111) and d.prior is not None
        assert params.Params().revenue_growth == pytest.approx(0.1111)
        (seeds / "calibrated.yaml").write_text(
            yaml.safe_dump({"parameters": {"revenue_growth": {"value": 9.0}}})
        )
        params.definitions.cache_clear()
        with pytest.raises(ValueError, match="outside its range"):
            params.definitions()
    finally:
        params.definitions.cache_clear()


def test_budget_too_small_is_an_input_error(tmp_path, capsys):
    code = main(
        ["calibrate", "--method", "smd", "--out", str(tmp_path / "c"), "--budget", "4", "--quiet"]
    )
    assert code == 2
    assert "--budget" in capsys.readouterr().err


def test_calibrate_end_to_end_holdout(tmp_path, capsys, monkeypatch):
    before = (ROOT / "seeds").joinpath("calibrated.yaml")
    existed = before.read_text() if before.exists() else None
    monkeypatch.chdir(tmp_path)  # a relative --out must work
    code = main(
        [
            "calibrate",
            "--method",
            "smd",
            "--out",
            "cal",
            "--budget",
            "28",
            "--replicates",
            "1",
            "--scale",
            "0.02",
            "--workers",
            "2",
            "--holdout",
            "2020",
            "--quiet",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "prior" in text and "estimate" in text and "mean absolute log error" in text
    rec = yaml.safe_load((tmp_path / "cal" / "search" / "calibration.yaml").read_text())
    setup = calibration.load_setup()
    for name, e in rec["parameters"].items():
        lo, hi = setup.free[name]
        assert lo <= e["value"] <= hi
    d = rec["distance"]
    assert d["estimate_on_fresh_seeds"] == min(d["candidates_on_fresh_seeds"])
    # Profiled parameters are re-estimated on their grid given the others: the chosen point is
    # the grid's best, and it is the estimate.
    for name, pr in rec["profile"].items():
        assert len(pr["grid"]) == calibration.PROFILE_POINTS
        assert pr["chosen"] == pytest.approx(pr["grid"][int(np.argmin(pr["distance"]))])
        assert rec["parameters"][name]["value"] == pytest.approx(pr["chosen"], abs=1e-6)
    dist = pd.read_csv(tmp_path / "cal" / "search" / "design_distances.csv")
    assert len(dist) == 28 and (dist.distance > 0).all()
    # A holdout run never writes the model's defaults.
    after = before.read_text() if before.exists() else None
    assert after == existed


def test_identification_tells_a_pinned_parameter_from_a_free_one():
    rng = np.random.default_rng(0)
    design = pd.DataFrame({"pinned": rng.random(200), "free": rng.random(200)})
    dist = (design.pinned - 0.3) ** 2 + 0.001 * rng.random(200)
    ident = calibration.identification(design, dist)
    assert ident["near_best_points"] == 20
    pinned, free = ident["parameters"]["pinned"], ident["parameters"]["free"]
    lo, hi = pinned["near_best_range"]
    assert 0.2 < lo <= 0.3 <= hi < 0.4  # the best tenth sits around the minimum at 0.3
    lo, hi = free["near_best_range"]
    assert hi - lo > 0.8  # spread over (almost) the whole range
    assert abs(free["rank_correlation_with_distance"]) < 0.2


def test_fit_report_lists_the_calibrated_parameters_with_identification(tmp_path, monkeypatch):
    record = {
        "method": "m",
        "settings": {"budget": 8, "replicates": 1, "scale": 0.1, "last_year": 2020},
        "distance": {"prior": 0.03, "estimate_on_fresh_seeds": 0.01},
        "parameters": {"revenue_growth": {"value": 0.13, "prior": 0.12, "bounds": [0.05, 0.2]}},
        "identification": {
            "near_best_points": 4,
            "near_best_distance_max": 0.02,
            "parameters": {
                "revenue_growth": {
                    "near_best_range": [0.1, 0.15],
                    "rank_correlation_with_distance": 0.5,
                }
            },
        },
    }
    path = tmp_path / "calibrated.yaml"
    path.write_text(yaml.safe_dump(record))
    monkeypatch.setattr(calibration, "CALIBRATED", path)
    table = "\n".join(calibration._parameter_table())
    assert "| `revenue_growth` | 0.12 | 0.13 | 0.05-0.2 | 0.1-0.15 | 0.5 |" in table
    assert "prior 0.0300, estimate 0.0100" in table


def test_against_trend_scores_the_record_after_the_fit():
    setup = calibration.load_setup()
    rec = calibration._usable_record(setup)
    perfect = rec[["indicator", "year", "value"]]
    scores = calibration.against_trend(perfect, 2020)
    assert set(scores.year) == {2020} and len(scores) >= 5
    assert (scores.model_abs_log_error == 0).all()
    assert (scores.trend_abs_log_error > 0).all()
    # Patents per 10,000 residents 2015-2019 lie on a line within a few percent: the trend is
    # close, but not exact, for 2020.
    pat = scores.set_index("indicator").loc["invention_patents_per_10k"]
    assert 0.0 < pat.trend_abs_log_error < 0.1
    # Nothing after the record's last year: nothing to score (yet).
    assert calibration.against_trend(perfect, 2021).empty
    assert calibration.holdout_years()[-1] == int(rec.year.max())


def test_holdout_year_outside_the_record_is_an_input_error(tmp_path, capsys):
    code = main(["calibrate", "--out", str(tmp_path / "c"), "--holdout", "2031", "--quiet"])
    assert code == 2
    assert "--holdout" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_fit_report_from_the_command_line(tmp_path):
    out = tmp_path / "cal"
    code = main(["calibrate", "--report-only", "--out", str(out), "--scale", "0.02", "--quiet"])
    assert code == 0
    fit = pd.read_csv(out / "fit" / "fit.csv")
    moments = calibration.observed_moments(calibration.load_setup())
    assert len(fit) == len(moments) and fit["median"].notna().all()
    md = (out / "fit" / "fit.md").read_text()
    assert "## Out of sample" in md
    for ind in fit.indicator.unique():
        assert (out / "fit" / "plots" / f"{ind}.png").is_file()
    if calibration.CALIBRATED.is_file():
        for name in calibration.load_setup().free:
            assert f"| `{name}` |" in md
