"""Sensitivity analysis of sweep folders (sim.analysis.sensitivity).

The sweeps here are synthetic stores written with `Store`: their designs are the real Sobol',
Morris and LHS designs of `design()`, but each run's indicators come from a known function in which
basic_research_priority drives rd_intensity and basic_research_share, jjj_unified_tech_market
drives tech_contract_turnover, and the dummy enters nothing. Small independent noise per run makes
the dummy's index a real (non-zero) noise floor. This keeps the module fast and makes the expected
answer exact.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.sensitivity import (
    Outcome,
    analyze,
    default_outcomes,
    format_analysis,
    parse_outcome,
    point_means,
    write_analysis,
)
from sim.analysis.targets import target_table
from sim.experiments.atomic import STAMP, add_to_stamp
from sim.experiments.design import DUMMY, SweepSpec, design
from sim.experiments.runs import replicate_seeds
from sim.experiments.store import Store, open_store
from sim.inputs.errors import InputError

JJJ, BRP = "jjj_unified_tech_market", "basic_research_priority"
LEVERS = {JJJ: {"low": 0.0, "high": 1.0}, BRP: {"low": 0.2, "high": 0.6}}
YEARS = (2017, 2020)


def synthetic_values(jjj: float, brp: float, seed: int, point: int, year: int) -> dict:
    """Indicators of one synthetic run: known lever effects plus small independent noise."""
    e = np.random.default_rng([seed, point, year]).normal(0.0, 1.0, size=4)
    t = (year - 2016) / 4
    return {
        "rd_intensity": 5.5 + 2.0 * brp * t + 0.01 * e[0],
        "basic_research_share": 10.0 + 15.0 * brp * t + 0.05 * e[1],
        "tech_contract_turnover": 5000.0 + 1000.0 * jjj * t + 5.0 * e[2],
        "gdp": 25000.0 + 10.0 * e[3],  # no target
    }


def build_sweep(
    root: Path, sampler: str, samples: int, replicates: int = 2, missing: int = 0
) -> Path:
    """A sweep folder with the real design of `sampler`; the last `missing` runs have no part."""
    spec = SweepSpec.model_validate(
        {
            "base": "synthetic.yaml",
            "levers": LEVERS,
            "sampler": sampler,
            "samples": samples,
            "replicates": replicates,
            "seed": 7,
            "scale": 0.02,
        }
    )
    pts = design(spec)
    seeds = replicate_seeds(spec.seed, replicates)
    runs = pd.DataFrame(
        [
            {"point": p, "replicate": r, "seed": s, "key": f"p{p}r{r}"}
            for p in pts.point
            for r, s in enumerate(seeds)
        ]
    )
    store = Store(root)
    store.create({"name": f"synthetic-{sampler}", "spec": spec.as_dict(), "scale": 0.02}, pts, runs)
    settings = pts.set_index("point")
    keep = runs.iloc[: len(runs) - missing] if missing else runs
    for run in keep.itertuples():
        rows = [
            {"year": y, "indicator": k, "value": v}
            for y in YEARS
            for k, v in synthetic_values(
                settings.at[run.point, JJJ], settings.at[run.point, BRP], run.seed, run.point, y
            ).items()
        ]
        store.write_part(run.key, pd.DataFrame(rows))
    return root


@pytest.fixture(scope="module")
def sobol_dir(tmp_path_factory):
    return build_sweep(tmp_path_factory.mktemp("sobol") / "sweep", "sobol", 16)


@pytest.fixture(scope="module")
def morris_dir(tmp_path_factory):
    return build_sweep(tmp_path_factory.mktemp("morris") / "sweep", "morris", 8)


@pytest.fixture(scope="module")
def sobol_results(sobol_dir):
    return analyze(
        sobol_dir,
        "sobol",
        ["rd_intensity@2020", "tech_contract_turnover@2020", "attain:rd_intensity@2020"],
    )


def row(results: pd.DataFrame, outcome: str, factor: str) -> pd.Series:
    sel = results[(results.outcome == outcome) & (results.factor == factor)]
    assert len(sel) == 1, (outcome, factor)
    return sel.iloc[0]


# ------------------------------------------------------------------------------------------------
# outcomes and Y
# ------------------------------------------------------------------------------------------------
def test_parse_outcome():
    assert parse_outcome("rd_intensity@2030") == Outcome("rd_intensity", 2030)
    assert parse_outcome("attain:rd_intensity@2030") == Outcome("rd_intensity", 2030, True)
    assert parse_outcome("attain:rd_intensity@2030").label == "attain:rd_intensity@2030"
    for bad in ("rd_intensity", "rd_intensity@20", "attain:@2030", "x:rd_intensity@2030"):
        with pytest.raises(InputError, match="INDICATOR@YEAR"):
            parse_outcome(bad)


def test_y_is_the_replicate_mean_in_design_order(sobol_dir):
    store = open_store(sobol_dir)
    data, pts = store.load(), store.design()
    seeds = replicate_seeds(7, 2)
    order = pts.point.to_numpy()[::-1]  # any order asked for is honoured
    got = point_means(data, Outcome("rd_intensity", 2020), order)
    s = pts.set_index("point")
    expected = [
        np.mean(
            [
                synthetic_values(s.at[p, JJJ], s.at[p, BRP], seed, p, 2020)["rd_intensity"]
                for seed in seeds
            ]
        )
        for p in order
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_attainment_outcome_is_share_of_replicates_meeting_target(sobol_dir):
    """attain: counts replicates at or above the 2020 basic_research_share target (15)."""
    store = open_store(sobol_dir)
    data = store.load()
    target = (
        target_table().set_index(["indicator", "target_year"]).loc[("basic_research_share", 2020)]
    )
    assert target.direction == "higher"
    sel = data[(data.indicator == "basic_research_share") & (data.year == 2020)]
    by_point = sel.groupby("point").value.apply(lambda v: float((v >= target.target).mean()))
    got = point_means(data, Outcome("basic_research_share", 2020, True), by_point.index)
    np.testing.assert_array_equal(got, by_point.to_numpy())
    assert 0 < got.mean() < 1  # the design straddles the target


def test_default_outcomes_fall_back_to_last_target_year_in_horizon(sobol_dir):
    data = open_store(sobol_dir).load()
    labels = [o.label for o in default_outcomes(data)]
    assert "rd_intensity@2020" in labels
    assert "attain:rd_intensity@2020" in labels
    assert "attain:basic_research_share@2020" in labels
    assert "tech_contract_turnover@2020" in labels
    assert all(label.endswith("@2020") for label in labels)
    assert not any("gdp" in label for label in labels)


# ------------------------------------------------------------------------------------------------
# Sobol' and Morris
# ------------------------------------------------------------------------------------------------
def test_sobol_separates_the_lever_that_matters_from_the_dummy(sobol_results):
    r = sobol_results
    assert list(r.columns[:6]) == ["outcome", "factor", "S1", "S1_conf", "ST", "ST_conf"]
    assert list(pd.unique(r.factor)) == [JJJ, BRP, DUMMY]
    brp = row(r, "rd_intensity@2020", BRP)
    assert brp.above_noise and brp.ST > 0.8 and brp.S1 > 0.8
    assert not row(r, "rd_intensity@2020", JJJ).above_noise
    assert not row(r, "rd_intensity@2020", DUMMY).above_noise
    assert row(r, "rd_intensity@2020", DUMMY).ST < 0.05
    # the other outcome: the other lever
    assert row(r, "tech_contract_turnover@2020", JJJ).above_noise
    assert not row(r, "tech_contract_turnover@2020", BRP).above_noise
    assert r.above_noise.dtype == bool


def test_constant_outcome_gives_a_note_not_an_error(sobol_results):
    """rd_intensity never reaches its 2020 target (7) here: attainment is 0 at every point."""
    g = sobol_results[sobol_results.outcome == "attain:rd_intensity@2020"]
    assert len(g) == 3
    assert (g.ST == 0).all() and g.ST_conf.isna().all()
    assert not g.above_noise.any()
    assert g.note.str.contains("constant").all()
    assert (sobol_results[sobol_results.outcome == "rd_intensity@2020"].note == "").all()


def test_morris_separates_the_lever_that_matters_from_the_dummy(morris_dir):
    r = analyze(morris_dir, "morris", ["rd_intensity@2020", "tech_contract_turnover@2020"])
    assert list(r.columns[:6]) == ["outcome", "factor", "mu", "mu_star", "mu_star_conf", "sigma"]
    brp = row(r, "rd_intensity@2020", BRP)
    # elementary effect of brp on rd_intensity: 2.0 per unit over a range of 0.4 -> mu* ~ 0.8
    assert brp.above_noise and brp.mu_star == pytest.approx(0.8, rel=0.1)
    assert brp.mu == pytest.approx(brp.mu_star, rel=1e-6)
    assert not row(r, "rd_intensity@2020", JJJ).above_noise
    assert not row(r, "rd_intensity@2020", DUMMY).above_noise
    assert row(r, "tech_contract_turnover@2020", JJJ).above_noise
    assert not row(r, "tech_contract_turnover@2020", BRP).above_noise


# ------------------------------------------------------------------------------------------------
# refusals
# ------------------------------------------------------------------------------------------------
def test_method_must_match_the_design(sobol_dir, morris_dir, tmp_path):
    with pytest.raises(InputError, match="sampler: sobol.*--method sobol"):
        analyze(sobol_dir, "morris")
    with pytest.raises(InputError, match="sampler: morris"):
        analyze(morris_dir, "sobol")
    lhs = build_sweep(tmp_path / "lhs", "lhs", 4, replicates=1)
    with pytest.raises(InputError, match="sampler: lhs"):
        analyze(lhs, "sobol")
    with pytest.raises(InputError, match="sobol, morris"):
        analyze(sobol_dir, "fast")


def test_incomplete_sweep_is_refused(tmp_path):
    d = build_sweep(tmp_path / "partial", "morris", 2, replicates=2, missing=3)
    with pytest.raises(InputError, match=r"3 of 16 runs missing.*--resume"):
        analyze(d, "morris")


def test_not_a_sweep_folder(tmp_path):
    with pytest.raises(InputError, match="not found"):
        analyze(tmp_path / "nope", "sobol")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a sweep folder"):
        analyze(tmp_path / "empty", "sobol")


@pytest.mark.parametrize(
    "outcome, message",
    [
        ("unicorns@2020", "indicator not in the sweep.*rd_intensity"),
        ("rd_intensity@2030", "year not in the sweep.*2017-2020"),
        ("attain:gdp@2020", "no target for gdp.*attain:rd_intensity@2020"),
        ("rd_intensity", "INDICATOR@YEAR"),
    ],
)
def test_unknown_outcome_is_refused(morris_dir, outcome, message):
    with pytest.raises(InputError, match=message) as e:
        analyze(morris_dir, "morris", [outcome])
    assert outcome in str(e.value)


# ------------------------------------------------------------------------------------------------
# files and text
# ------------------------------------------------------------------------------------------------
def test_write_analysis_files(sobol_dir, sobol_results, tmp_path):
    d = tmp_path / "sweep"
    shutil.copytree(sobol_dir, d)
    out = d / "analysis"
    out.mkdir()
    (out / "sobol-old-outcome-2020.png").write_bytes(b"stale")  # of an earlier analysis
    add_to_stamp(out, ["sobol-old-outcome-2020.png"], kind="analysis")
    (out / "sobol-mine.png").write_bytes(b"the user's")  # never innosim's to remove
    md = write_analysis(d, "sobol", results=sobol_results)
    assert md == out / "sobol.md"
    assert (out / "sobol-mine.png").read_bytes() == b"the user's"
    (out / "sobol-mine.png").unlink()
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            STAMP,
            "sobol.csv",
            "sobol.md",
            "sobol-rd_intensity-2020.png",
            "sobol-tech_contract_turnover-2020.png",
            "sobol-attain-rd_intensity-2020.png",
        ]
    )
    for p in out.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = pd.read_csv(out / "sobol.csv", keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(
        csv.drop(columns="note"), sobol_results.drop(columns="note"), check_dtype=False
    )
    text = md.read_text()
    assert f"| rd_intensity@2020 | {BRP} |" in text
    assert f"| tech_contract_turnover@2020 | {JJJ} |" in text
    assert "| attain:rd_intensity@2020 | none (constant" in text
    assert "![rd_intensity@2020](sobol-rd_intensity-2020.png)" in text
    assert not list(out.glob(".tmp-*"))


def test_write_analysis_computes_when_not_given(morris_dir, tmp_path):
    md = write_analysis(morris_dir, "morris", ["rd_intensity@2020"], out=tmp_path / "a")
    assert md == tmp_path / "a" / "morris.md"
    assert (tmp_path / "a" / "morris-rd_intensity-2020.png").is_file()
    assert pd.read_csv(tmp_path / "a" / "morris.csv").factor.tolist() == [JJJ, BRP, DUMMY]


def test_format_analysis(sobol_results):
    text = format_analysis(sobol_results)
    lines = text.splitlines()
    assert lines[0].split() == ["factor", "ST", "±ST", "S1", "±S1"]
    brp = [ln for ln in lines if ln.strip().startswith(BRP)]
    assert brp[0].rstrip().endswith("*") and not brp[1].rstrip().endswith("*")
    assert any(ln.startswith("attain:rd_intensity@2020  (constant") for ln in lines)
    assert "noise floor" in lines[-1]


# ------------------------------------------------------------------------------------------------
# warnings: indices that cannot be trusted, and what to do
# ------------------------------------------------------------------------------------------------
def _sobol_frame(rows, samples=16, replicates=2) -> pd.DataFrame:
    """An analysis result of one outcome: rows of (factor, S1, S1_conf, ST, ST_conf)."""
    df = pd.DataFrame(rows, columns=["factor", "S1", "S1_conf", "ST", "ST_conf"])
    df.insert(0, "outcome", "rd_intensity@2030")
    df["above_noise"], df["note"] = False, ""
    df.attrs.update(samples=samples, replicates=replicates)
    return df


def test_quality_warnings_for_sobol_indices():
    from sim.analysis.sensitivity import quality_warnings

    sound = _sobol_frame(
        [("a", 0.6, 0.1, 0.7, 0.1), ("b", 0.2, 0.05, 0.25, 0.05), (DUMMY, 0, 0.01, 0.01, 0.01)]
    )
    assert quality_warnings(sound) == []
    above = _sobol_frame(
        [("a", 1.2, 0.3, 1.1, 0.2), ("b", 0.1, 0.05, 0.1, 0.05), (DUMMY, 0, 0.01, 0.01, 0.01)]
    )
    (w,) = quality_warnings(above)
    assert w.startswith("Sobol' indices above 1") and "S1 of a 1.20" in w and "ST of a 1.10" in w
    assert "more `samples` (now 16; a power of 2, e.g. 4x)" in w
    crossed = _sobol_frame(
        [("a", 0.6, 0.05, 0.3, 0.05), ("b", 0.2, 0.05, 0.25, 0.05), (DUMMY, 0, 0.01, 0.01, 0.01)]
    )
    (w,) = quality_warnings(crossed)
    assert w.startswith("total index below the first-order one") and "a (S1 0.60, ST 0.30)" in w
    wide = _sobol_frame(
        [("a", 0.5, 0.6, 0.5, 0.6), ("b", 0.3, 0.5, 0.3, 0.5), (DUMMY, 0, 0.01, 0.01, 0.01)]
    )
    (w,) = quality_warnings(wide)
    assert w.startswith("95% CIs wider than the index") and "rd_intensity@2030" in w
    # an inert lever's CI exceeds its index of about 0: that alone is not "too few samples"
    inert = _sobol_frame(
        [
            ("a", 0.6, 0.1, 0.7, 0.1),
            ("b", 0.0, 0.01, 0.001, 0.002),
            ("c", 0.0, 0.01, 0.001, 0.002),
            (DUMMY, 0, 0.01, 0.01, 0.01),
        ]
    )
    assert quality_warnings(inert) == []
    noisy = _sobol_frame(
        [("a", 0.6, 0.1, 0.7, 0.1), ("b", 0.2, 0.05, 0.25, 0.05), (DUMMY, 0.1, 0.05, 0.12, 0.03)]
    )
    (w,) = quality_warnings(noisy)
    assert w.startswith("large noise floor in rd_intensity@2030 (0.15)")
    assert "more `replicates` (now 2)" in w
    noted = noisy.assign(note="constant across design points (1): no sensitivity")
    assert quality_warnings(noted) == []


def test_analyze_prints_quality_warnings_on_stderr(tmp_path, capsys):
    from sim.app.cli import main

    small = build_sweep(tmp_path / "small", "sobol", 4)  # 4 base samples: far too few
    argv = [
        "analyze",
        str(small),
        "--method",
        "sobol",
        "--outcome",
        "tech_contract_turnover@2020",
        "gdp@2020",
        "--quiet",
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    warnings = captured.err.splitlines()
    assert warnings and all(w.startswith("innosim: warning: ") for w in warnings)
    text = " ".join(warnings)
    assert "Sobol' indices above 1" in text and "more `samples` (now 4" in text
    assert "large noise floor in gdp@2020" in text and "more `replicates` (now 2)" in text
    assert "ST" in captured.out  # the table is still printed and written
    assert "## Warnings" in (small / "analysis" / "sobol.md").read_text()
    # a clean outcome of a better sweep: no warning
    assert (
        main(
            [
                "analyze",
                str(build_sweep(tmp_path / "m", "morris", 8)),
                "--method",
                "morris",
                "--outcome",
                "rd_intensity@2020",
            ]
        )
        == 0
    )
    assert capsys.readouterr().err == ""
