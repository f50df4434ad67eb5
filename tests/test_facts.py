"""Firm records (`innosim run --agents` -> firms.parquet) and stylized facts (`innosim facts`).

- the records: columns, dtypes, one row per firm and year, consistency with the model (live
  firms, exits, R&D of the year) and no effect on the model's indicators;
- each fact's statistic on synthetic data with a known answer;
- the facts on the model (baseline, scale 0.05, 2 replicates, the whole horizon: five-year
  survival needs it). A fact the model does not reproduce is a strict xfail with its statistic.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import facts as F
from sim.app.cli import main
from sim.experiments.atomic import STAMP
from sim.experiments.firm_records import CATEGORIES, COLUMNS, FirmRecorder
from sim.experiments.runs import replicate_seeds, run_one
from sim.inputs.paths import SCENARIOS
from sim.model import InnovationModel
from sim.model.agents.region import REGIONS

BASELINE = SCENARIOS / "baseline.yaml"
SCALE, REPLICATES, SEED = 0.05, 2, 2016
BEIJING = list(REGIONS[:3])


# ------------------------------------------------------------------------------------------------
# shared runs
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """`innosim run --agents` on two worker processes (records come back from the workers)."""
    out = tmp_path_factory.mktemp("facts") / "run"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("INNOSIM_DEBUG", None)
    res = subprocess.run(
        [sys.executable, "-m", "sim", "run", BASELINE, "--out", out, "--agents", "--quiet"]
        + ["--replicates", str(REPLICATES), "--scale", str(SCALE), "--seed", str(SEED)]
        + ["--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    return out


@pytest.fixture(scope="module")
def records(run_dir) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "firms.parquet")


@pytest.fixture(scope="module")
def recorded():
    """One model stepped by a FirmRecorder, with the model's own year-end numbers."""
    m = InnovationModel(BASELINE, scale=SCALE, rng=replicate_seeds(SEED, 1)[0])
    rec = FirmRecorder(m)
    acc, live = {}, {}
    while m.running:
        rec.step()
        if m.steps % m.steps_per_year == 0:
            acc[m.year] = dict(m.year_acc)
            live[m.year] = int(m.firms.alive[: m.firms.size].sum())
    return m, rec.frame(0), acc, live


# ------------------------------------------------------------------------------------------------
# firm records
# ------------------------------------------------------------------------------------------------
def test_records_columns_and_dtypes(records):
    assert list(records.columns) == COLUMNS
    assert records.replicate.dtype == np.int16 and records.year.dtype == np.int16
    assert records.firm_id.dtype == np.int32 and records.patents.dtype == np.int32
    for col, dtype in CATEGORIES.items():
        assert isinstance(records[col].dtype, pd.CategoricalDtype), col
        assert list(records[col].cat.categories) == list(dtype.categories), col
    for col in ("employees", "revenue", "rd_spend", "age", "valuation", "vc_raised"):
        assert records[col].dtype == np.float32, col
    assert records.alive.dtype == bool
    assert sorted(records.replicate.unique()) == list(range(REPLICATES))
    assert sorted(records.year.unique()) == list(range(2016, 2031))
    assert not records.isna().any().any()
    num = records[["employees", "revenue", "rd_spend", "patents", "age", "vc_raised"]]
    assert (num >= 0).all().all()
    assert (records.alive == (records.status == "alive")).all()
    # every region is named and the Beijing zones hold most firms
    assert records.region.isin(REGIONS).all() and records.region.isin(BEIJING).mean() > 0.8


def test_each_firm_once_a_year_until_it_leaves(records):
    assert not records.duplicated(["replicate", "year", "firm_id"]).any()
    g = records.sort_values("year").groupby(["replicate", "firm_id"], observed=True)
    span = g.year.agg(["min", "max", "size"])
    assert (span["max"] - span["min"] + 1 == span["size"]).all(), "years are consecutive"
    dead = records[~records.alive]
    assert not dead.duplicated(["replicate", "firm_id"]).any(), "a firm leaves once"
    last = g.year.transform("max")
    assert (dead.year.to_numpy() == last[dead.index].to_numpy()).all(), "nothing after leaving"
    # ages rise by a year between consecutive year ends of a living firm
    alive = records[records.alive].sort_values(["replicate", "firm_id", "year"])
    step = alive.groupby(["replicate", "firm_id"], observed=True).age.diff().dropna()
    assert np.allclose(step, 1.0)


def test_counts_and_exits_match_the_model(recorded):
    _, rec, acc, live = recorded
    by_year = rec.groupby("year")
    assert by_year.alive.sum().to_dict() == live  # live firms after the year end
    bj = rec[rec.region.isin(BEIJING)]
    left = bj[~bj.alive].groupby("year").status.value_counts().unstack(fill_value=0)
    for year, a in acc.items():
        closed = left.loc[year, "closed"] if year in left.index else 0
        acquired = left.loc[year, "acquired"] if year in left.index else 0
        assert (closed, acquired) == (a["closures"], a["acquisitions"]), year


def test_rd_spend_is_the_years_firm_rd_of_the_model(recorded):
    """The model books the R&D of firms in Beijing when spent; firms move out only at a year
    end, so a firm was in Beijing during year y unless it was outside at the end of y - 1."""
    _, rec, acc, _ = recorded
    prev = rec[["firm_id", "year", "region"]].assign(year=rec.year + 1)
    prev = prev.rename(columns={"region": "region_before"})
    r = rec.merge(prev, on=["firm_id", "year"], how="left")
    in_bj = r.region_before.isna() | r.region_before.isin(BEIJING)
    rd = r[in_bj].groupby("year").rd_spend.sum()
    for year, a in acc.items():
        assert rd[year] == pytest.approx(a["rd_firms"], rel=1e-5), year


def test_recording_does_not_change_the_model():
    seed = replicate_seeds(SEED, 1)[0]
    plain = run_one(BASELINE, seed, SCALE)
    ind, firms = run_one(BASELINE, seed, SCALE, agents=True)
    pd.testing.assert_frame_equal(plain, ind)
    assert len(firms) > 0 and list(firms.columns) == COLUMNS


# ------------------------------------------------------------------------------------------------
# statistics on data with known answers
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [1.0, 1.5])
def test_hill_estimator_recovers_the_pareto_exponent(alpha):
    x = np.random.default_rng(1).pareto(alpha, 40_000) + 1.0  # Pareto(alpha), x >= 1
    est, k = F.hill_alpha(x, tail=0.05)
    assert k == 2000
    assert est == pytest.approx(alpha, rel=0.08)


def test_hill_estimator_sees_a_thin_tail():
    est, _ = F.hill_alpha(np.random.default_rng(2).lognormal(0, 0.3, 40_000))
    assert est > 4


def test_excess_kurtosis_normal_and_laplace():
    rng = np.random.default_rng(3)
    assert F.excess_kurtosis(rng.normal(size=400_000)) == pytest.approx(0.0, abs=0.05)
    assert F.excess_kurtosis(rng.laplace(size=400_000)) == pytest.approx(3.0, abs=0.25)
    # the sum of four Laplace draws (a year of quarterly Laplace shocks): 3 / 4
    q = rng.laplace(size=(400_000, 4)).sum(axis=1)
    assert F.excess_kurtosis(q) == pytest.approx(0.75, abs=0.1)


def test_volatility_size_slope_recovers_beta():
    rng = np.random.default_rng(4)
    size = rng.lognormal(0, 2, 200_000)
    growth = rng.laplace(size=size.size) * size**-0.2
    slope, used = F.volatility_size_slope(size, growth)
    assert used == 10
    assert slope == pytest.approx(-0.2, abs=0.02)
    flat, _ = F.volatility_size_slope(size, rng.laplace(size=size.size))
    assert flat == pytest.approx(0.0, abs=0.02)


def test_exit_share_within_five_years():
    # entry 2016 left 2020 (5th year: gone), entry 2016 left 2021 (6th: survived), entry 2017
    # alive to 2030, entry 2027 (not followed five years: excluded)
    share, n = F.exit_share_within(
        entry_year=[2016, 2016, 2017, 2027],
        last_year=[2020, 2021, 2030, 2028],
        left=[True, True, False, True],
        horizon_end=2030,
    )
    assert (share, n) == (pytest.approx(1 / 3), 3)


def test_top_share_and_gini():
    assert F.top_share(np.ones(100)) == pytest.approx(0.10)
    v = np.r_[np.full(10, 9.0), np.ones(90)]  # top 10 hold 90 of 180
    assert F.top_share(v) == pytest.approx(0.5)
    assert F.gini(np.ones(5)) == pytest.approx(0.0)
    assert F.gini([0, 0, 0, 0, 1]) == pytest.approx(0.8)
    x = np.random.default_rng(5).pareto(2.0, 200_000) + 1  # Gini of Pareto(a) = 1 / (2a - 1)
    assert F.gini(x) == pytest.approx(1 / 3, abs=0.01)


def test_growth_table_and_histories_on_known_records():
    rows = [  # firm 1 doubles each year; firm 2 halves then closes; firm 3 enters in 2017
        (1, 2016, 1.0, True, 0.0),
        (1, 2017, 2.0, True, 0.0),
        (1, 2018, 4.0, True, 0.0),
        (2, 2016, 8.0, True, 1.0),
        (2, 2017, 4.0, True, 1.0),
        (2, 2018, 4.0, False, 1.0),
        (3, 2017, 1.0, True, 2.0),
        (3, 2018, 1.0, True, 2.0),
    ]
    df = pd.DataFrame(rows, columns=["firm_id", "year", "revenue", "alive", "vc_raised"])
    df = df.assign(replicate=0, sector="biomedicine", origin="incubator", vc_proceeds=0.0)
    df["vc_value"] = df.vc_raised * 3
    g = F.growth_table(df).set_index(["firm_id", "year"]).g
    expected = {(1, 2017): np.log(2), (1, 2018): np.log(2), (2, 2017): -np.log(2)}
    expected[(3, 2018)] = 0.0
    assert g.to_dict() == pytest.approx(expected)  # the closure year is not a growth year
    h = F.firm_histories(df).set_index("firm_id")
    assert h.entry_year.to_dict() == {1: 2016, 2: 2016, 3: 2017}
    assert h.left.to_dict() == {1: False, 2: True, 3: False}
    assert h.vc_value.to_dict() == {1: 0.0, 2: 3.0, 3: 6.0}


# ------------------------------------------------------------------------------------------------
# the facts on the model
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_facts(records) -> pd.DataFrame:
    return F.evaluate(records).set_index("fact")


# Facts the model does not reproduce (reported; the model, not the check, is to be fixed).
MODEL_FAILS = {
    "innovation_concentrated_in_space": "patents are spread across regions like employment "
    "within sectors (Gini difference about -0.05 at scale 0.05 to -0.02 at 0.1-0.25): firms' R&D "
    "spend barely rises with size (rd_intensity_size_slope 1), so patents follow firm counts, and "
    "zones differ little in knowledge access; firms have one location, so production cannot move "
    "out while R&D stays (docs/ODD.md, section 7)",
}


@pytest.mark.parametrize(
    "fact",
    [
        pytest.param(f.id, marks=pytest.mark.xfail(strict=True, reason=MODEL_FAILS[f.id]))
        if f.id in MODEL_FAILS
        else f.id
        for f in F.FACTS
    ],
)
def test_model_reproduces_fact(model_facts, fact):
    row = model_facts.loc[fact]
    assert math.isfinite(row.value) and row.n > 0, row.detail
    assert row.result == "pass", f"{fact}: {row.value:.3f} not in [{row.accepted_low}, " + (
        f"{row.accepted_high}]; {row.detail}"
    )


def test_every_fact_has_a_citation_and_a_range():
    for f in F.FACTS:
        assert f.citation and f.reference_value and f.range_note
        assert f.low < f.high
        assert any(ch.isdigit() for ch in f.citation), f.id  # a year at least


# ------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------
def test_cli_facts_writes_table_and_files(run_dir, capsys):
    assert main(["facts", str(run_dir)]) == 0
    out = capsys.readouterr().out
    for f in F.FACTS:
        assert f.id in out
    table = pd.read_csv(run_dir / "facts.csv")
    assert list(table.columns) == F.CSV_COLUMNS
    assert list(table.fact) == [f.id for f in F.FACTS]
    assert set(table.result) <= {"pass", "fail", "n/a"}
    md = (run_dir / "facts.md").read_text(encoding="utf-8")
    assert "Axtell" in md and "modelling judgement" in md
    temporary = [p for p in run_dir.iterdir() if p.name.startswith(".") and p.name != STAMP]
    assert not temporary, "no temporary files"
    assert "firms.parquet" in (run_dir / "report.md").read_text(encoding="utf-8")


def test_cli_facts_without_records_exits_2(tmp_path, capsys):
    (tmp_path / "indicators.csv").write_text("x\n")
    assert main(["facts", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "firms.parquet" in err[0] and "--agents" in err[0]
    assert not (tmp_path / "facts.md").exists()
    assert main(["facts", str(tmp_path / "missing")]) == 2


def test_cli_facts_with_bad_records_exits_2(tmp_path, capsys):
    pd.DataFrame({"year": [2016]}).to_parquet(tmp_path / "firms.parquet")
    assert main(["facts", str(tmp_path)]) == 2
    assert "missing column" in capsys.readouterr().err
    (tmp_path / "firms.parquet").write_text("not parquet")
    assert main(["facts", str(tmp_path)]) == 2


# ------------------------------------------------------------------------------------------------
# a verdict that differs across replicates is said, not hidden by the pooled one
# ------------------------------------------------------------------------------------------------
def _mean_fact(low: float, high: float) -> F.Fact:
    return F.Fact(
        id="mean_x",
        title="t",
        statistic="mean of x",
        reference_value="r",
        low=low,
        high=high,
        judgement=True,
        range_note="n",
        citation="c 2000",
        compute=lambda recs: F.Outcome(float(recs.x.mean()), len(recs)),
    )


def test_split_verdicts_say_in_how_many_replicates_a_fact_holds():
    recs = pd.DataFrame({"replicate": [0, 0, 1, 1, 2, 2, 3, 3], "x": [0.5] * 6 + [2.0] * 2})
    res = F.evaluate(recs, facts=[_mean_fact(0.0, 1.0)])
    row = res.iloc[0]
    assert row.result == "pass"  # pooled mean 0.875
    assert (row.replicates_holding, row.replicates_judged) == (3, 4)
    assert F.split_verdicts(res) == ["mean_x holds in 3 of 4 replicates (pooled: pass)"]
    text = F.format_facts(res)
    assert "3 of 4" in text and "Verdicts that differ across replicates" in text
    # every replicate one way: no such line, and the count says so
    same = F.evaluate(recs, facts=[_mean_fact(0.0, 3.0)])
    assert F.split_verdicts(same) == [] and F.holds_in(same.iloc[0]) == "4 of 4"
    assert "Verdicts that differ" not in F.format_facts(same)
    # the pooled statistic fails while one replicate passes
    fails = F.evaluate(recs, facts=[_mean_fact(1.5, 3.0)])
    assert F.split_verdicts(fails) == ["mean_x holds in 1 of 4 replicates (pooled: fail)"]
    # one replicate: nothing to count
    one = F.evaluate(recs[recs.replicate == 0], facts=[_mean_fact(0.0, 1.0)])
    assert F.holds_in(one.iloc[0]) == "" and F.split_verdicts(one) == []
