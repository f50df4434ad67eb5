"""Scoring forecasts of the record: the model's predictive distribution against naive forecasts.

The model's predictive distribution of a record point (indicator, year) is what the
observation model of the calibration says the record would show: each replicate's simulated
value (its own posterior draw and seed) times exp(e), e ~ N(0, sigma^2 / w) with sigma the
calibration's `observation_log_sd` and w the weight of the datum's stated confidence
(`sim.experiments.abc`). The naive forecasts use only the record before the forecast origin:

- `trend`: a straight line through the record's points of 2015..origin-1,
- `log_linear`: constant growth, a straight line through their logarithms,
- `last_value`: the last point before the origin carried forward.

Scores, each relative to the observed value so that indicators of any unit can be averaged:
absolute percentage error of the median (MAPE when averaged), CRPS / |y| (the continuous ranked
probability score; for a point forecast it equals the absolute error) and whether the central
80% interval covers the observation (the model only: the naive forecasts give no interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NAIVE = ("trend", "log_linear", "last_value")
LEVEL = 0.8  # the central interval whose coverage is scored
NOISE_DRAWS = 64  # observation-noise draws per replicate in the predictive distribution


def naive_forecast(past: pd.DataFrame, year: int, method: str) -> float:
    """One naive forecast of `year` from the record points in `past` (columns year, value)."""
    x, y = past.year.to_numpy(float), past.value.to_numpy(float)
    if method == "last_value":
        return float(y[np.argmax(x)])
    if method == "trend":
        slope, icept = np.polyfit(x, y, 1)
        return float(slope * year + icept)
    if method == "log_linear":
        slope, icept = np.polyfit(x, np.log(y), 1)
        return float(np.exp(slope * year + icept))
    raise ValueError(method)


def crps(samples: np.ndarray, y: float) -> float:
    """CRPS of an empirical distribution: E|X - y| - E|X - X'| / 2 (sorted, O(n log n))."""
    x = np.sort(np.asarray(samples, dtype=float))
    n = x.size
    i = np.arange(1, n + 1)
    pair = 2.0 * np.sum((2 * i - n - 1) * x) / n**2  # E|X - X'|
    return float(np.mean(np.abs(x - y)) - 0.5 * pair)


def predictive_samples(
    runs: pd.DataFrame, points: pd.DataFrame, log_sd: float, seed: int = 0
) -> dict[tuple[str, int], np.ndarray]:
    """The observation model's predictive samples at each point (indicator, year, weight) from
    the replicates in `runs` (indicator, year, value)."""
    rng = np.random.default_rng(seed)
    sims = runs.groupby(["indicator", "year"]).value.apply(lambda s: s.to_numpy(float))
    out = {}
    for r in points.itertuples():
        key = (r.indicator, int(r.year))
        if key not in sims.index:
            continue
        x = sims[key]
        sd = log_sd / np.sqrt(max(float(r.weight), 1e-12))
        noise = rng.normal(0.0, sd, size=(x.size, NOISE_DRAWS))
        out[key] = (x[:, None] * np.exp(noise)).ravel()
    return out


def score_points(
    samples: dict[tuple[str, int], np.ndarray],
    record: pd.DataFrame,
    points: pd.DataFrame,
    origin: int | None,
) -> pd.DataFrame:
    """One row per scored point: observed, the model's median and 80% interval, whether it
    covers, and each forecast's absolute percentage error and relative CRPS. With `origin`,
    the naive forecasts from the record before it (points with fewer than two earlier record
    points are skipped); without, in-sample rows of the model only."""
    lo_q, hi_q = (1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2
    rows = []
    for r in points.itertuples():
        key = (r.indicator, int(r.year))
        if key not in samples:
            continue
        y = float(r.observed)
        s = samples[key]
        row = {
            "indicator": r.indicator,
            "year": int(r.year),
            "observed": y,
            "model_median": float(np.median(s)),
            "model_lo": float(np.quantile(s, lo_q)),
            "model_hi": float(np.quantile(s, hi_q)),
        }
        row["covered"] = bool(row["model_lo"] <= y <= row["model_hi"])
        row["model_ape"] = abs(row["model_median"] / y - 1)
        row["model_crps"] = crps(s, y) / abs(y)
        if origin is not None:
            g = record[record.indicator == r.indicator]
            past = g[(g.year >= 2015) & (g.year < origin)]
            if len(past) < 2:
                continue
            for m in NAIVE:
                f = naive_forecast(past, int(r.year), m)
                row[f"{m}_forecast"] = f
                row[f"{m}_ape"] = abs(f / y - 1)
                row[f"{m}_crps"] = abs(f - y) / abs(y)  # CRPS of a point forecast
        rows.append(row)
    return pd.DataFrame(rows)


def summary(scores: pd.DataFrame, label: str) -> pd.DataFrame:
    """One row per forecast (the model, each naive one): points, MAPE %, mean relative CRPS
    and the 80% interval's coverage (the model only)."""
    out = [
        {
            "validation": label,
            "forecast": "model",
            "points": len(scores),
            "mape_pct": 100 * float(scores.model_ape.mean()),
            "crps_rel": float(scores.model_crps.mean()),
            "coverage_80": float(scores.covered.mean()),
        }
    ]
    for m in NAIVE:
        if f"{m}_ape" in scores:
            out.append(
                {
                    "validation": label,
                    "forecast": m,
                    "points": len(scores),
                    "mape_pct": 100 * float(scores[f"{m}_ape"].mean()),
                    "crps_rel": float(scores[f"{m}_crps"].mean()),
                    "coverage_80": float("nan"),
                }
            )
    return pd.DataFrame(out)
