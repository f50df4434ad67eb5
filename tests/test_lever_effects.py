"""Issue 16: `innosim levers --effects` measures each lever alone against the baseline on
paired seeds (sim.experiments.lever_effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.app.cli import main
from sim.experiments import lever_effects as le
from sim.inputs.levers import registry

SHORT = "name: short\nextends: baseline\ntime: {start_year: 2016, end_year: 2018}\n"


def test_settings_are_plan_and_range_ends_without_the_2015_value():
    reg = registry()
    got = le.settings(["ip_protection", "huairou_facilities"])
    lv = reg["ip_protection"]
    assert [(s.setting, s.value) for s in got if s.lever == "ip_protection"] == [
        ("plan", lv.plan),
        ("low", lv.low),
        ("high", lv.high),
    ]
    # huairou_facilities: 2015 value 0 = its low end, which is the baseline itself
    assert [s.setting for s in got if s.lever == "huairou_facilities"] == ["plan", "high"]


def test_t_interval_is_wider_than_the_standard_error_band():
    d = np.array([0.1, 0.2, 0.15, 0.05])
    lo, hi = le.t_interval(d)
    se = d.std(ddof=1) / 2
    assert lo < d.mean() - 1.96 * se and hi > d.mean() + 1.96 * se
    assert np.isnan(le.t_interval(d[:1])[0])


def test_strongest_is_the_surest_effect_and_inert_levers_are_named():
    rows = [
        # a large but noisy effect, a smaller sure one, and a lever with nothing beyond noise
        ["a", "high", 1.0, "unicorns", 2030, 5.0, 150.0, 5.0, 295.0, 4, 10.0],
        ["a", "high", 1.0, "gdp", 2030, 1.0, 20.0, 15.0, 25.0, 4, 10.0],
        ["b", "plan", 2.0, "gdp", 2030, 1.0, 3.0, -1.0, 7.0, 4, 0.0],
    ]
    df = pd.DataFrame(rows, columns=le.COLUMNS)
    top = le.strongest(df).set_index("lever")
    assert top.loc["a", "indicator"] == "gdp" and not top.loc["a", "inert"]
    assert top.loc["b", "inert"]


def test_cli_writes_the_table_and_report_on_paired_seeds(tmp_path):
    (tmp_path / "short.yaml").write_text(SHORT, encoding="utf-8")
    out = tmp_path / "effects"
    argv = [
        "levers", "--effects", "--base", str(tmp_path / "short.yaml"), "--lever",
        "public_rd_growth", "--lever", "talent_services", "--scale", "0.02", "--replicates",
        "3", "--out", str(out), "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    df = pd.read_csv(out / "lever_effects.csv")
    assert list(df.columns) == le.COLUMNS
    assert set(df.lever) == {"public_rd_growth", "talent_services"}
    # a seed whose baseline is 0 (no unicorn at this scale) has no relative difference
    assert set(df.year) == {2018} and df.pairs.max() == 3 and (df.pairs <= 3).all()
    # public R&D growth at the top of its range raises R&D intensity in every seed
    row = df[(df.lever == "public_rd_growth") & (df.setting == "high")]
    row = row[row.indicator == "rd_intensity"].iloc[0]
    assert row.ci_low_pct > 0
    report = (out / "lever_effects.md").read_text(encoding="utf-8")
    assert "`public_rd_growth`" in report and "`talent_services`" in report
    assert "Inert levers" in report
    # an existing result is not replaced without --force
    assert main(argv) == 2


def test_an_unknown_lever_is_an_input_error(tmp_path, capsys):
    (tmp_path / "short.yaml").write_text(SHORT, encoding="utf-8")
    argv = ["levers", "--effects", "--base", str(tmp_path / "short.yaml"), "--lever", "nope"]
    assert main([*argv, "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "unknown lever 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
