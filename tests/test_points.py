"""Comparing the design points of a sweep (sim.analysis.points): paired differences under
common random numbers, target probabilities per lever setting, and the comparison folder written
for `innosim compare SWEEPDIR`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import write_short_sweep
from test_analysis import BRP, JJJ, build_sweep

from sim.analysis.points import (
    default_points,
    is_sweep_folder,
    paired_differences,
    point_labels,
    target_probabilities,
    write_point_comparison,
)
from sim.analysis.targets import attainment, target_table
from sim.experiments.atomic import STAMP
from sim.experiments.store import open_store
from sim.experiments.sweep import run_sweep
from sim.inputs.errors import InputError

SEEDS = (11, 22, 33)


def tidy(values: dict[int, dict[int, float]], indicator="rd_intensity", year=2020) -> pd.DataFrame:
    """A load_sweep-like frame from {point: {seed: value}} (replicate = position of the seed)."""
    rows = [
        {
            "point": p,
            "replicate": SEEDS.index(seed),
            "seed": seed,
            JJJ: 0.1 * p,
            BRP: 0.2 + 0.05 * p,
            "year": year,
            "indicator": indicator,
            "value": v,
        }
        for p, by_seed in values.items()
        for seed, v in by_seed.items()
    ]
    return pd.DataFrame(rows)


# Point 2 lacks seed 11, point 3 has only seed 11, point 4 differs from point 0 by 0.1 everywhere.
VALUES = {
    0: {11: 6.0, 22: 6.5, 33: 7.01},
    1: {11: 6.3, 22: 6.4, 33: 7.5},
    2: {22: 7.2, 33: 7.3},
    3: {11: 6.9},
    4: {11: 6.1, 22: 6.6, 33: 7.11},
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = pd.concat(
        [
            tidy(VALUES),
            tidy({p: {s: 100 * v for s, v in d.items()} for p, d in VALUES.items()}, "gdp"),
        ],
        ignore_index=True,
    )
    return df.sample(frac=1.0, random_state=3).reset_index(drop=True)  # order must not matter


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory):
    """A real LHS sweep: 3 points x 2 replicates, scale 0.02, 2016-2017 (a couple of seconds)."""
    d = tmp_path_factory.mktemp("real")
    spec = write_short_sweep(
        d, {JJJ: {"low": 0.0, "high": 1.0}, BRP: {"low": 0.2, "high": 0.6}}, end_year=2017
    )
    out = d / "sweep"
    run_sweep(spec, out, workers=1, progress=False)
    return out


# ------------------------------------------------------------------------------------------------
# paired differences
# ------------------------------------------------------------------------------------------------
def test_paired_differences_are_mean_per_seed_differences(frame):
    d = paired_differences(frame, 0, [0, 1, 2, 3, 4], ["rd_intensity@2020", "gdp@2020"], seed=1)
    assert 0 not in set(d.point)  # the reference is not compared with itself
    got = d.set_index(["outcome", "point"])
    for p in (1, 2, 3, 4):
        common = sorted(set(VALUES[0]) & set(VALUES[p]))
        diffs = [VALUES[p][s] - VALUES[0][s] for s in common]
        r = got.loc[("rd_intensity@2020", p)]
        assert r.pairs == len(common)
        assert r.difference == pytest.approx(np.mean(diffs), abs=1e-12)
        assert r.reference_mean == pytest.approx(np.mean([VALUES[0][s] for s in common]))
        assert r.point_mean == pytest.approx(np.mean([VALUES[p][s] for s in common]))
        assert got.loc[("gdp@2020", p)].difference == pytest.approx(100 * np.mean(diffs))
    # by hand: point 1 (0.3, -0.1, 0.49) and point 2 (seeds 22, 33 only: 0.7, 0.29)
    assert got.loc[("rd_intensity@2020", 1)].difference == pytest.approx(0.23)
    assert got.loc[("rd_intensity@2020", 2)].difference == pytest.approx(0.495)


def test_bootstrap_interval(frame):
    d = paired_differences(frame, 0, [1, 2, 3, 4], ["rd_intensity@2020"], n_boot=999, seed=1)
    d = d.set_index("point")
    for p in (1, 2):
        r = d.loc[p]
        assert r.ci_low < r.difference < r.ci_high
        # the percentile interval of the mean lies within the range of the differences
        assert r.ci_low >= -0.1 - 1e-12 and r.ci_high <= 0.7 + 1e-12
    assert np.isnan(d.loc[3].ci_low) and np.isnan(d.loc[3].ci_high)  # one pair
    assert d.loc[3].difference == pytest.approx(0.9)
    assert d.loc[4].ci_low == pytest.approx(0.1) and d.loc[4].ci_high == pytest.approx(0.1)
    again = paired_differences(frame, 0, [1, 2, 3, 4], ["rd_intensity@2020"], n_boot=999, seed=1)
    pd.testing.assert_frame_equal(d.reset_index(), again)  # seeded


def test_paired_differences_refuse_bad_input(frame):
    with pytest.raises(InputError, match="point 9 has no runs"):
        paired_differences(frame, 0, [9], ["rd_intensity@2020"])
    with pytest.raises(InputError, match="year not in the sweep"):
        paired_differences(frame, 0, [1], ["rd_intensity@2030"])
    with pytest.raises(InputError, match="INDICATOR@YEAR"):
        paired_differences(frame, 0, [1], ["attain:rd_intensity@2020"])


# ------------------------------------------------------------------------------------------------
# target probabilities
# ------------------------------------------------------------------------------------------------
def test_target_probabilities_hand_count(frame):
    t = target_table().set_index(["indicator", "target_year"]).loc[("rd_intensity", 2020)]
    assert t.target == pytest.approx(7.0) and t.direction == "higher"
    tp = target_probabilities(frame)
    assert set(zip(tp.indicator, tp.target_year, strict=True)) == {("rd_intensity", 2020)}
    assert list(tp.columns[:6]) == [
        "indicator",
        "target_year",
        "target",
        "kind",
        "direction",
        "point",
    ]
    assert {JJJ, BRP} <= set(tp.columns)
    by = tp.set_index("point")
    # met: >= 7.0 -> point 0: 7.01 (1 of 3); 1: 7.5 (1/3); 2: both (2/2); 3: none; 4: 7.11 (1/3)
    assert by.probability.to_dict() == pytest.approx({0: 1 / 3, 1: 1 / 3, 2: 1.0, 3: 0.0, 4: 1 / 3})
    assert by.replicates.to_dict() == {0: 3, 1: 3, 2: 2, 3: 1, 4: 3}
    assert by.loc[1, JJJ] == pytest.approx(0.1)
    # best first; ties by the median's margin over the target (4: 6.6, 0: 6.5, 1: 6.4)
    assert tp.point.tolist() == [2, 4, 0, 1, 3]


def test_target_probabilities_agree_with_sim_targets_attainment(real_sweep):
    df = open_store(real_sweep).load()
    tp = target_probabilities(df)
    assert len(tp) == df.point.nunique() * len(tp.groupby(["indicator", "target_year"]))
    for p, g in df.groupby("point"):
        att = attainment(g).set_index(["indicator", "target_year"]).probability
        mine = tp[tp.point == p].set_index(["indicator", "target_year"]).probability
        pd.testing.assert_series_equal(mine.sort_index(), att.sort_index(), check_names=False)


# ------------------------------------------------------------------------------------------------
# choosing and labelling points
# ------------------------------------------------------------------------------------------------
def test_default_points_rank_by_rd_intensity_without_repeating_settings(tmp_path):
    d = build_sweep(tmp_path / "sobol", "sobol", 8, replicates=1)
    df = open_store(d).load()
    pts = default_points(df, reference=3)
    assert pts[0] == 3 and len(pts) == 6 and len(set(pts)) == 6
    settings = df.drop_duplicates("point").set_index("point")[[JJJ, BRP]]
    assert len({tuple(settings.loc[p]) for p in pts}) == 6  # dummy-only twins shown once
    means = df[(df.indicator == "rd_intensity") & (df.year == 2020)].groupby("point").value.mean()
    ranked = means.drop(3).sort_values(ascending=False)
    assert means[pts[1]] == ranked.iloc[0]
    assert list(means[pts[1:]]) == sorted(means[pts[1:]], reverse=True)


def test_point_labels_are_short(frame):
    labels = point_labels(frame, [0, 1])
    assert labels == {0: "point 0 (jutm=0, brp=0.2)", 1: "point 1 (jutm=0.1, brp=0.25)"}


# ------------------------------------------------------------------------------------------------
# the comparison folder
# ------------------------------------------------------------------------------------------------
def test_write_point_comparison(real_sweep, tmp_path):
    assert is_sweep_folder(real_sweep) and not is_sweep_folder(tmp_path)
    out = tmp_path / "cmp"
    text = write_point_comparison(real_sweep, out, indicators=["rd_intensity"], n_boot=200)
    assert text.rstrip().endswith(f"3 point(s) vs point 0 -> {out}/ (comparison.md)")
    assert "rd_intensity 2017" in text and "p2" in text
    names = sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != STAMP
    )
    assert names == [
        "comparison.md",
        "paired_differences.csv",
        "plots/rd_intensity.png",
        "points.csv",
        "target_probabilities.csv",
    ]
    diffs = pd.read_csv(out / "paired_differences.csv")
    assert set(diffs.point) == {1, 2} and (diffs.pairs == 2).all()
    df = open_store(real_sweep).load()
    sel = df[(df.indicator == "rd_intensity") & (df.year == 2017)]
    a = sel[sel.point == 1].set_index("seed").value
    b = sel[sel.point == 0].set_index("seed").value
    r = diffs[(diffs.point == 1) & (diffs.outcome == "rd_intensity@2017")].iloc[0]
    assert r.difference == pytest.approx((a - b).mean())
    md = (out / "comparison.md").read_text()
    assert "![rd_intensity](plots/rd_intensity.png)" in md and "point 0" in md
    assert len(pd.read_csv(out / "target_probabilities.csv")) == 3 * len(
        target_table().query("target_year == 2017")
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    with pytest.raises(InputError, match="--force"):
        write_point_comparison(real_sweep, out)
    text = write_point_comparison(
        real_sweep, out, points=[1], reference=2, force=True, indicators=[], n_boot=50
    )
    assert "2 point(s) vs point 2" in text
    assert pd.read_csv(out / "points.csv").point.tolist() == [2, 1]
    assert not (out / "plots").exists() or not list((out / "plots").iterdir())


def test_write_point_comparison_refusals(real_sweep, tmp_path):
    with pytest.raises(InputError, match=r"point 7 has no runs \(points with runs: 0-2\)"):
        write_point_comparison(real_sweep, tmp_path / "a", points=[7])
    with pytest.raises(InputError, match="not a point number"):
        write_point_comparison(real_sweep, tmp_path / "a", points=["x"])
    with pytest.raises(InputError, match="reference"):
        write_point_comparison(real_sweep, tmp_path / "a", reference=5)
    with pytest.raises(InputError, match="besides the reference"):
        write_point_comparison(real_sweep, tmp_path / "a", points=[0])
    with pytest.raises(InputError, match="overwrite the sweep"):
        write_point_comparison(real_sweep, real_sweep, force=True)
    with pytest.raises(InputError, match="not a sweep folder"):
        write_point_comparison(tmp_path, tmp_path / "a")
    assert not (tmp_path / "a").exists()
    assert open_store(real_sweep).done()  # untouched


def test_incomplete_sweep_is_compared_with_a_note(tmp_path):
    d = build_sweep(tmp_path / "partial", "lhs", 4, replicates=2, missing=1)
    text = write_point_comparison(d, tmp_path / "cmp", indicators=[], n_boot=50)
    assert "1 of 8 runs missing" in text
    assert "Incomplete: 1 of 8 runs missing" in (tmp_path / "cmp" / "comparison.md").read_text()
