"""Scenario comparison (sim/compare.py): tables, plots, files and bad input, on synthetic result
folders (known values, so every number can be checked) plus one small real run."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
import yaml

from sim.analysis import compare
from sim.analysis.plots import comparison_figure
from sim.experiments.atomic import STAMP
from sim.inputs.errors import InputError

YEARS = range(2016, 2031)
TARGETS = {  # (indicator, year) -> (target, kind)
    ("rd_intensity", 2017): (6.35, "derived"),
    ("rd_intensity", 2020): (7.0, "official"),
    ("rd_intensity", 2025): (6.0, "official"),
    ("rd_intensity", 2030): (6.0, "derived"),
    ("basic_research_share", 2020): (15.0, "official"),
}


def make_result(
    folder, name: str, probs: dict, replicates: int = 10, offset: float = 0.0, years=YEARS
):
    """A result folder like `innosim run` writes. Indicator values in replicate r are
    offset + r (so quantiles are known); attainment probabilities are `probs[(ind, year)]`."""
    folder.mkdir(parents=True)
    rows = [
        (name, r, 100 + r, y, ind, offset + r)
        for r in range(replicates)
        for y in years
        for ind in ("rd_intensity", "basic_research_share", "gdp")
    ]
    pd.DataFrame(
        rows, columns=["scenario", "replicate", "seed", "year", "indicator", "value"]
    ).to_csv(folder / "indicators.csv", index=False)
    att = [
        {
            "indicator": ind,
            "target_year": y,
            "target": TARGETS[(ind, y)][0],
            "kind": TARGETS[(ind, y)][1],
            "source": f"{TARGETS[(ind, y)][1]}: test",
            "median": offset + (replicates - 1) / 2,
            "probability": p,
            "replicates": replicates,
        }
        for (ind, y), p in probs.items()
    ]
    pd.DataFrame(att).to_csv(folder / "attainment.csv", index=False)
    (folder / "scenario.resolved.yaml").write_text(
        f"name: {name}\ndescription: synthetic {name}\nseed: 1\nreplicates: {replicates}\n"
        "scale: 0.02\n",
        encoding="utf-8",
    )
    return folder


P_A = {
    ("rd_intensity", 2017): 1.0,
    ("rd_intensity", 2020): 0.3,
    ("rd_intensity", 2025): 0.9,
    ("rd_intensity", 2030): 0.1,
    ("basic_research_share", 2020): 0.0,
}
P_B = {
    ("rd_intensity", 2017): 0.5,
    ("rd_intensity", 2020): 0.7,
    ("rd_intensity", 2025): 0.2,
    ("rd_intensity", 2030): 0.6,
    ("basic_research_share", 2020): 0.4,
}


@pytest.fixture
def two(tmp_path):
    a = make_result(tmp_path / "run_a", "alpha", P_A)
    b = make_result(tmp_path / "run_b", "beta", P_B, offset=100.0)
    return [a, b]


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------
def test_load_results_concatenates_by_scenario(two):
    ind, att = compare.load_results(two)
    assert list(pd.unique(ind.scenario)) == ["alpha", "beta"]
    assert len(ind) == 2 * 10 * len(YEARS) * 3
    assert list(pd.unique(att.scenario)) == ["alpha", "beta"]
    assert len(att) == len(P_A) + len(P_B)
    got = att.set_index(["scenario", "indicator", "target_year"]).probability
    assert got[("beta", "basic_research_share", 2020)] == pytest.approx(0.4)


def test_same_scenario_name_disambiguated_by_folder(tmp_path):
    a = make_result(tmp_path / "first", "plan", P_A)
    b = make_result(tmp_path / "second", "plan", P_B, offset=1.0)
    ind, att = compare.load_results([a, b])
    assert list(pd.unique(ind.scenario)) == ["plan [first]", "plan [second]"]
    table = compare.attainment_table(att)
    assert table.loc["rd_intensity", (2020, "plan [second]")] == pytest.approx(0.7)
    # The same folder names in different parents fall back to the full path.
    c = make_result(tmp_path / "x" / "out", "plan", P_A)
    d = make_result(tmp_path / "y" / "out", "plan", P_B)
    keys = list(pd.unique(compare.load_results([c, d])[0].scenario))
    assert len(set(keys)) == 2 and all(k.startswith("plan [") for k in keys)


def test_same_folder_twice_is_an_error(two):
    with pytest.raises(InputError, match="given twice"):
        compare.load_results([two[0], two[0]])


def _break(folder, how: str):
    if how == "missing folder":
        return folder.parent / "nowhere", None
    if how == "not a folder":
        path = folder.parent / "file.txt"
        path.write_text("x", encoding="utf-8")
        return path, None
    if how == "no indicators.csv":
        (folder / "indicators.csv").unlink()
        return folder, "indicators.csv"
    if how == "no attainment.csv":
        (folder / "attainment.csv").unlink()
        return folder, "attainment.csv"
    if how == "missing column":
        df = pd.read_csv(folder / "indicators.csv").drop(columns="value")
        df.to_csv(folder / "indicators.csv", index=False)
        return folder, "indicators.csv"
    if how == "text in numbers":
        df = pd.read_csv(folder / "attainment.csv")
        df["probability"] = df.probability.astype(object)
        df.loc[0, "probability"] = "high"
        df.to_csv(folder / "attainment.csv", index=False)
        return folder, "attainment.csv"
    if how == "probability out of range":
        df = pd.read_csv(folder / "attainment.csv")
        df.loc[0, "probability"] = 1.5
        df.to_csv(folder / "attainment.csv", index=False)
        return folder, "attainment.csv"
    if how == "empty indicators":
        (folder / "indicators.csv").write_text("", encoding="utf-8")
        return folder, "indicators.csv"
    if how == "ragged csv":
        (folder / "indicators.csv").write_text(
            "scenario,replicate,year,indicator,value\na,0,2016,gdp,1\na,0,2017,gdp,1,2,3,4\n",
            encoding="utf-8",
        )
        return folder, "indicators.csv"
    if how == "binary":
        (folder / "attainment.csv").write_bytes(b"\xff\xfe\x00\x81" * 50)
        return folder, "attainment.csv"
    if how == "bad yaml":
        (folder / "scenario.resolved.yaml").write_text("name: [unclosed\n", encoding="utf-8")
        return folder, "scenario.resolved.yaml"
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    [
        "missing folder",
        "not a folder",
        "no indicators.csv",
        "no attainment.csv",
        "missing column",
        "text in numbers",
        "probability out of range",
        "empty indicators",
        "ragged csv",
        "binary",
        "bad yaml",
    ],
)
def test_bad_folder_raises_input_error_naming_it(two, how):
    folder, filename = _break(two[1], how)
    with pytest.raises(InputError) as exc:
        compare.load_results([two[0], folder])
    msg = str(exc.value)
    assert str(folder) in msg, msg
    if filename:
        assert filename in msg, msg
    assert "\n" not in msg


def test_empty_attainment_is_not_an_error(tmp_path):
    # `innosim run` writes an empty attainment.csv when no target year is simulated.
    a = make_result(tmp_path / "a", "short", {}, years=range(2016, 2017))
    (a / "attainment.csv").write_text("\n", encoding="utf-8")
    b = make_result(tmp_path / "b", "beta", P_B)
    _, att = compare.load_results([a, b])
    table = compare.attainment_table(att)
    assert table[(2020, "short")].isna().all()
    assert table.loc["rd_intensity", (2020, "beta")] == pytest.approx(0.7)
    text = compare.format_attainment(table)
    assert "-" in text.splitlines()[1]


# ------------------------------------------------------------------------------------------------
# tables
# ------------------------------------------------------------------------------------------------
def test_attainment_table_shape_and_values(two):
    _, att = compare.load_results(two)
    table = compare.attainment_table(att)
    assert list(table.index) == ["rd_intensity", "basic_research_share"]
    assert list(table.columns) == [
        (y, c) for y in (2017, 2020, 2030) for c in ("target", "kind", "alpha", "beta")
    ]
    for (ind, y), p in P_A.items():
        if y == 2025:
            continue
        assert table.loc[ind, (y, "alpha")] == pytest.approx(p)
        assert table.loc[ind, (y, "beta")] == pytest.approx(P_B[(ind, y)])
        assert table.loc[ind, (y, "target")] == pytest.approx(TARGETS[(ind, y)][0])
        assert table.loc[ind, (y, "kind")] == TARGETS[(ind, y)][1]
    # No basic_research_share target in 2017 or 2030.
    assert np.isnan(table.loc["basic_research_share", (2017, "alpha")])
    assert pd.isna(table.loc["basic_research_share", (2030, "target")])


def test_kind_from_source_when_column_missing(two):
    df = pd.read_csv(two[0] / "attainment.csv").drop(columns="kind")
    df.to_csv(two[0] / "attainment.csv", index=False)
    _, att = compare.load_results(two)
    table = compare.attainment_table(att)
    assert table.loc["rd_intensity", (2017, "kind")] == "derived"
    assert table.loc["rd_intensity", (2020, "kind")] == "official"


def test_format_attainment(two):
    _, att = compare.load_results(two)
    text = compare.format_attainment(compare.attainment_table(att))
    header, rd = text.splitlines()[0], text.splitlines()[1]
    for col in ("2017 target", "2017 alpha", "2020 beta", "2030 beta"):
        assert col in header
    assert "2025" not in header
    assert rd.split()[:4] == ["rd_intensity", "6.35*", "1.00", "0.50"]
    assert "7.00 " in rd and "7.00*" not in rd  # official: no star
    assert "derived" in text.splitlines()[-1]


def test_trajectory_table_quantiles(two):
    ind, _ = compare.load_results(two)
    traj = compare.trajectory_table(ind)
    assert list(traj.columns) == [
        "indicator",
        "unit",
        "scenario",
        "year",
        "q10",
        "median",
        "q90",
        "replicates",
    ]
    assert len(traj) == 3 * 2 * 3  # indicators x scenarios x key years
    assert set(traj.year) == {2017, 2020, 2030}
    row = traj[(traj.indicator == "gdp") & (traj.scenario == "beta") & (traj.year == 2020)]
    assert len(row) == 1
    row = row.iloc[0]
    # Values 100..109 over ten replicates.
    assert row["median"] == pytest.approx(104.5)
    assert row.q10 == pytest.approx(100.9)
    assert row.q90 == pytest.approx(108.1)
    assert row.replicates == 10
    assert row.unit == "100m_yuan"


# ------------------------------------------------------------------------------------------------
# plots
# ------------------------------------------------------------------------------------------------
def test_comparison_figure_legend_names_every_scenario(tmp_path):
    names = ["alpha", "beta", "gamma"]
    dirs = [make_result(tmp_path / n, n, P_A, replicates=4, offset=i) for i, n in enumerate(names)]
    ind, _ = compare.load_results(dirs)
    fig = comparison_figure(ind, "rd_intensity")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for n in names:
        assert n in labels, labels
    assert "target (official)" in labels and "target (derived)" in labels
    # Each scenario's median line has its own colour, none of them a target colour.
    lines = {ln.get_label(): mcolors.to_hex(ln.get_color()) for ln in ax.get_lines()}
    colours = [lines[n] for n in names]
    assert len(set(colours)) == len(names)
    assert not {mcolors.to_hex("C1"), mcolors.to_hex("C3")} & set(colours)
    # The median line follows the data: replicate values offset + 0..3 -> median offset + 1.5.
    gamma = next(ln for ln in ax.get_lines() if ln.get_label() == "gamma")
    assert np.allclose(gamma.get_ydata(), 2 + 1.5)
    # One 10-90% band per scenario.
    assert len(ax.collections) == len(names)


# ------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------
def test_write_comparison_files(two, tmp_path):
    out = tmp_path / "cmp"
    md = compare.write_comparison(two, out)
    assert md == out / "comparison.md"
    names = {p.name for p in out.iterdir()} - {STAMP}
    assert {
        "attainment_comparison.csv",
        "trajectories_comparison.csv",
        "comparison.md",
        "plots",
    } == names
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    # One plot per indicator in the results (the synthetic runs hold these three).
    assert pngs == ["basic_research_share.png", "gdp.png", "rd_intensity.png"]
    for p in (out / "plots").glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    att = pd.read_csv(out / "attainment_comparison.csv").set_index("indicator")
    assert att.loc["rd_intensity", "2020 beta"] == pytest.approx(0.7)
    assert att.loc["rd_intensity", "2030 kind"] == "derived"
    traj = pd.read_csv(out / "trajectories_comparison.csv")
    assert len(traj) == 18
    text = md.read_text(encoding="utf-8")
    for needle in ("alpha", "beta", "synthetic beta", "| 2020 beta |", "6.35*"):
        assert needle in text, needle
    for png in pngs:
        assert f"(plots/{png})" in text
    # Atomic: nothing but the inputs and the output next to it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp", "run_a", "run_b"]


def test_existing_output_needs_force(two, tmp_path):
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="--force") as exc:
        compare.write_comparison(two, out)
    assert str(out) in str(exc.value)
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"
    # A folder innosim did not write is not replaced even with force ...
    with pytest.raises(InputError, match=r"innosim did not write \(keep.txt\)"):
        compare.write_comparison(two, out, force=True)
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"
    # ... nor is one that merely holds a file of the marker's name ...
    (out / "keep.txt").unlink()
    (out / "comparison.md").write_text("mine too", encoding="utf-8")
    with pytest.raises(InputError, match="innosim did not write"):
        compare.write_comparison(two, out, force=True)
    (out / "comparison.md").unlink()
    # ... an earlier comparison is.
    compare.write_comparison(two, out, force=True)
    earlier = (out / "comparison.md").read_text()
    compare.write_comparison(two[:1], out, force=True)
    assert (out / "comparison.md").read_text() != earlier


def test_output_may_not_overlap_an_input(two):
    for out in (two[0], two[0] / "cmp", two[0].parent):
        with pytest.raises(InputError, match="overlaps"):
            compare.write_comparison(two, out, force=True)
    assert (two[0] / "indicators.csv").is_file()


def test_bad_input_writes_nothing(two, tmp_path):
    (two[1] / "indicators.csv").unlink()
    out = tmp_path / "cmp"
    with pytest.raises(InputError):
        compare.write_comparison(two, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_a", "run_b"]


def test_run_comparison_text(two, tmp_path):
    out = tmp_path / "cmp"
    text = compare.run_comparison(two, out)
    assert text.splitlines()[0].split()[:3] == ["indicator", "2017", "target"]
    assert text.rstrip().endswith(f"2 scenario(s) -> {out}/ (comparison.md)")
    assert (out / "comparison.md").is_file()


# ------------------------------------------------------------------------------------------------
# a real run: the files `innosim run` writes are read as they are
# ------------------------------------------------------------------------------------------------
def test_real_run_folders(tmp_path):
    from sim import api

    dirs = []
    for name, levers in (("base", {}), ("more_basic", {"basic_research_priority": 0.6})):
        sc = {"name": name, "time": {"start_year": 2016, "end_year": 2020}, "levers": levers}
        df = api.run(sc, seed=5, scale=0.02, replicates=2)
        folder = tmp_path / name
        folder.mkdir()
        df.to_csv(folder / "indicators.csv", index=False)
        att = api.attainment(df)
        att.to_csv(folder / "attainment.csv", index=False)
        dirs.append((folder, att))
    ind, att = compare.load_results([d for d, _ in dirs])
    table = compare.attainment_table(att)
    assert [y for y in pd.unique(table.columns.get_level_values(0))] == [2017, 2020]
    for (_, a), name in zip(dirs, ("base", "more_basic"), strict=True):
        for row in a[a.target_year.isin([2017, 2020])].itertuples():
            assert table.loc[row.indicator, (row.target_year, name)] == row.probability
    md = compare.write_comparison([d for d, _ in dirs], tmp_path / "cmp")
    assert "more_basic" in md.read_text(encoding="utf-8")


def test_format_attainment_many_scenarios_one_block_per_year(tmp_path):
    names = ["s1", "s2", "s3", "s4", "s5"]
    dirs = [
        make_result(tmp_path / n, n, {k: v * i / 5 for k, v in P_B.items()})
        for i, n in enumerate(names, start=1)
    ]
    _, att = compare.load_results(dirs)
    text = compare.format_attainment(compare.attainment_table(att))
    blocks = text.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == ["2017", "2020", "2030"]
    block_2020 = blocks[1].splitlines()
    assert block_2020[1].split() == ["rd_intensity", "basic_research_share"]
    assert block_2020[2].split() == ["target", "7.00", "15.0"]
    # s5 holds P_B itself: 0.7 and 0.4 in 2020.
    assert block_2020[-1].split() == ["s5", "0.70", "0.40"]
    assert all(max(len(line) for line in b.splitlines()) < 100 for b in blocks)


# ------------------------------------------------------------------------------------------------
# comparability: folders that are not like for like are named, one warning line each
# ------------------------------------------------------------------------------------------------
def _record(folder, **fields):
    path = folder / "scenario.resolved.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(fields)
    path.write_text(yaml.safe_dump(data))


def test_comparability_warnings_name_each_difference(tmp_path):
    same = {"innosim_version": "1.0", "model_fingerprint": "abc", "uncertainty": "posterior"}
    a = make_result(tmp_path / "a", "alpha", P_A)
    b = make_result(tmp_path / "b", "beta", P_B)
    _record(a, **same)
    _record(b, **same)
    assert compare.comparability_warnings(compare._load_runs([a, b])) == []
    _record(b, scale=0.05, replicates=4, uncertainty="seed", model_fingerprint="def")
    lines = compare.comparability_warnings(compare._load_runs([a, b]))
    assert [w.split(" (")[0] for w in lines] == [
        "the folders differ in scale",
        "the folders differ in replicates",
        "the folders differ in uncertainty",
        "the folders differ in model fingerprint",
    ]
    assert "alpha: 0.02, beta: 0.05" in lines[0]
    (b / "scenario.resolved.yaml").unlink()
    lines = compare.comparability_warnings(compare._load_runs([a, b]))
    assert lines == [
        f"{b} has no scenario.resolved.yaml: its scale, seeds, uncertainty and model version "
        "are unknown, so nothing says it is comparable"
    ]


def test_compare_prints_warnings_on_stderr_and_in_the_report(tmp_path, capsys):
    from sim.app.cli import main

    a = make_result(tmp_path / "a", "alpha", P_A)
    b = make_result(tmp_path / "b", "beta", P_B, replicates=4)
    _record(a, innosim_version="1.0")
    _record(b, innosim_version="1.1", seed=2)
    out = tmp_path / "cmp"
    assert main(["compare", str(a), str(b), "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert [line.split(" (")[0] for line in err] == [
        "innosim: warning: the folders differ in replicates",
        "innosim: warning: the folders differ in root seed",
        "innosim: warning: the folders differ in innosim version",
    ]
    assert "Traceback" not in captured.err and "2 scenario(s)" in captured.out
    md = (out / "comparison.md").read_text()
    assert "## Comparability" in md and "differ in innosim version (alpha: 1.0, beta: 1.1)" in md


# ------------------------------------------------------------------------------------------------
# a sweep's points against its base scenario (--reference base)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    """A grid of two points whose first is the base scenario itself (ip_protection at its 2015
    value 0.4), 2 replicates: 4 runs."""
    from sim.experiments.sweep import run_sweep
    from sim.inputs.paths import SCENARIOS

    d = tmp_path_factory.mktemp("sweep")
    (d / "base.yaml").write_text(
        f"extends: {SCENARIOS / 'baseline.yaml'}\nname: short\n"
        "time: {start_year: 2016, end_year: 2017}\n"
    )
    (d / "spec.yaml").write_text(
        "base: base.yaml\nlevers: {ip_protection: {values: [0.4, 0.8]}}\nsampler: grid\n"
        "replicates: 2\nseed: 7\nscale: 0.02\n"
    )
    run_sweep(d / "spec.yaml", d / "sweep", workers=1, progress=False)
    return d / "sweep"


def test_reference_base_is_paired_exactly_like_a_point(small_sweep, tmp_path, capsys):
    from sim.app.cli import main

    out = tmp_path / "vs_base"
    argv = ["compare", str(small_sweep), "--reference", "base", "--out", str(out), "--quiet"]
    assert main([*argv, "--workers", "1"]) == 0
    assert "vs the base scenario" in capsys.readouterr().out
    diffs = pd.read_csv(out / "paired_differences.csv")
    assert set(diffs.reference) == {-1} and set(diffs.point) == {0, 1}
    assert diffs.common_seeds.all() and (diffs.pairs == 2).all()
    # point 0 is the base scenario's own settings: the same runs, so every difference is 0
    at_base = diffs[diffs.point == 0]
    assert (at_base.difference == 0).all() and (at_base.ci_low == 0).all()
    assert (diffs[diffs.point == 1].difference != 0).any()
    base = pd.read_csv(out / "base_runs.csv")
    assert set(base.point) == {-1} and (base.ip_protection == 0.4).all()
    md = (out / "comparison.md").read_text()
    assert "point - the base scenario" in md


def test_reference_base_refused_when_the_model_changed(small_sweep, tmp_path, capsys, monkeypatch):
    from sim.app.cli import main
    from sim.experiments import sweep

    monkeypatch.setattr(sweep, "model_id", lambda: "0.0+other")
    out = tmp_path / "vs_base"
    argv = ["compare", str(small_sweep), "--reference", "base", "--out", str(out), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--reference" in err and "0.0+other" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_reference_must_be_a_point_or_base(tmp_path):
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "sim", "compare", str(tmp_path), "--reference", "baseline"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "or 'base'" in r.stderr and "Traceback" not in r.stderr


def test_compare_progress_goes_to_stderr_unless_quiet(tmp_path, capsys, monkeypatch):
    """Bars show once the work has lasted PROGRESS_DELAY seconds (0 here), on stderr."""
    from sim.app.cli import main
    from sim.experiments import progress

    monkeypatch.setattr(progress, "PROGRESS_DELAY", 0.0)

    a = make_result(tmp_path / "a", "alpha", P_A)
    b = make_result(tmp_path / "b", "beta", P_B)
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "loud")]) == 0
    captured = capsys.readouterr()
    assert "plots: 100%" in captured.err and "plots" not in captured.out
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "quiet"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
