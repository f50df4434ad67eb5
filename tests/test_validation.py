"""Forecast scores (sim.experiments.validation) and the ABC observation model
(sim.experiments.abc): each checked against a case whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiments import validation as V
from sim.experiments.abc import ObservationModel, weighted_quantile


def test_crps_of_a_normal_sample_matches_the_closed_form():
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, 200_000)
    for y in (0.0, 0.7, -2.0):
        # Gneiting and Raftery (2007): CRPS(N(0,1), y) = y(2Phi(y)-1) + 2phi(y) - 1/sqrt(pi)
        exact = y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / np.sqrt(np.pi)
        assert V.crps(x, y) == pytest.approx(exact, abs=5e-3)


def test_crps_of_a_point_is_the_absolute_error():
    assert V.crps(np.full(10, 3.0), 5.0) == pytest.approx(2.0)


def test_naive_forecasts_are_exact_on_their_own_kind_of_series():
    years = pd.DataFrame({"year": [2015, 2016, 2017, 2018]})
    line = years.assign(value=10 + 2.0 * (years.year - 2015))
    growth = years.assign(value=10 * 1.1 ** (years.year - 2015))
    assert V.naive_forecast(line, 2020, "trend") == pytest.approx(20.0)
    assert V.naive_forecast(growth, 2020, "log_linear") == pytest.approx(10 * 1.1**5)
    assert V.naive_forecast(line, 2020, "last_value") == pytest.approx(16.0)


def test_coverage_of_a_calibrated_forecast_is_about_nominal():
    rng = np.random.default_rng(1)
    n = 3000
    truth = rng.normal(0, 0.1, n)
    points = pd.DataFrame(
        {"indicator": [f"i{k}" for k in range(n)], "year": 2019, "observed": 100 * np.exp(truth)}
    )
    samples = {(f"i{k}", 2019): 100 * np.exp(rng.normal(0, 0.1, 500)) for k in range(n)}
    sc = V.score_points(samples, pd.DataFrame(columns=["indicator", "year", "value"]), points, None)
    assert sc.covered.mean() == pytest.approx(0.8, abs=0.03)  # binomial sd 0.007
    s = V.summary(sc, "test")
    assert s.forecast.tolist() == ["model"] and s.points.item() == n


def test_naive_forecasts_are_scored_only_with_two_earlier_points():
    record = pd.DataFrame(
        {
            "indicator": ["a"] * 4 + ["b"],
            "year": [2015, 2016, 2017, 2018, 2018],
            "value": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    points = pd.DataFrame({"indicator": ["a", "b"], "year": [2019, 2019], "observed": [5.0, 5.0]})
    samples = {("a", 2019): np.full(10, 5.0), ("b", 2019): np.full(10, 5.0)}
    sc = V.score_points(samples, record, points, 2019)
    assert sc.indicator.tolist() == ["a"]
    assert sc.trend_ape.item() == pytest.approx(0.0)
    assert sc.last_value_ape.item() == pytest.approx(0.2)
    s = V.summary(sc, "x").set_index("forecast")
    assert set(s.index) == {"model", "trend", "log_linear", "last_value"}
    assert np.isnan(s.loc["trend", "coverage_80"])


def test_predictive_samples_widen_with_lower_confidence():
    runs = pd.DataFrame({"indicator": "a", "year": 2019, "value": np.full(8, 100.0)})
    hi = V.predictive_samples(
        runs, pd.DataFrame({"indicator": ["a"], "year": [2019], "weight": [1.0]}), 0.1
    )
    lo = V.predictive_samples(
        runs, pd.DataFrame({"indicator": ["a"], "year": [2019], "weight": [0.25]}), 0.1
    )
    sd_hi = np.log(hi[("a", 2019)]).std()
    sd_lo = np.log(lo[("a", 2019)]).std()
    assert sd_hi == pytest.approx(0.1, rel=0.1) and sd_lo == pytest.approx(0.2, rel=0.1)


def test_observation_model_is_the_normal_log_density_of_the_replicates_mean():
    obs = np.log(np.array([100.0, 50.0]))
    var = np.array([0.01, 0.04])
    m = ObservationModel(obs, var)
    one = np.log(np.array([[110.0, 45.0]]))
    expect = stats.norm.logpdf(one[0], obs, np.sqrt(var)).sum()
    assert m({"log": one}, {}) == pytest.approx(expect)
    assert m({"log": obs[None, :]}, {}) == pytest.approx(m.pdf_max)
    two = np.vstack([one, 2 * obs[None, :] - one])  # replicates either side: the mean is exact
    assert m({"log": two}, {}) == pytest.approx(m.pdf_max)


def test_observation_variance_adds_the_seed_noise_of_the_world_and_of_the_mean():
    from sim.experiments.abc import observation_model
    from sim.experiments.calibration import load_setup

    setup = load_setup()
    moments = pd.DataFrame({"observed": [10.0, 10.0], "weight": [1.0, 0.25]})
    m = observation_model(setup, moments, np.array([0.0, 0.1]), replicates=2)
    sd = setup.observation_log_sd
    assert m.var == pytest.approx([sd**2, sd**2 / 0.25 + 0.01 * 1.5])


def test_weighted_quantile():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert weighted_quantile(x, np.ones(4), 0.5) == pytest.approx(2.5)
    assert weighted_quantile(x, np.array([0, 0, 0, 1.0]), 0.5) == pytest.approx(4.0)
