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


# ------------------------------------------------------------------------------------------------
# installing a fit into seeds/: only when asked (--install, --install-only), checked first
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def fake_seeds(tmp_path, monkeypatch):
    """seeds/posterior.parquet and seeds/calibrated.yaml redirected to a temporary folder (the
    real ones are never written by a test), holding an earlier installation."""
    from sim.experiments import posterior as P

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    monkeypatch.setattr(P, "POSTERIOR", seeds / "posterior.parquet")
    monkeypatch.setattr(calibration, "CALIBRATED", seeds / "calibrated.yaml")
    (seeds / "posterior.parquet").write_bytes(b"earlier posterior")
    (seeds / "calibrated.yaml").write_text("earlier: values\n")
    yield seeds
    P.load_posterior.cache_clear()  # the real posterior again for the tests that follow
    from sim.inputs.params import definitions

    definitions.cache_clear()


def _fit_folder(folder, *, holdout=None, value=0.1, posterior=True):
    """A finished ABC fit as `innosim calibrate` leaves it in OUT/search."""
    folder.mkdir(parents=True)
    record = {
        "method": "ABC-SMC",
        "settings": {"scale": 0.05, "holdout": holdout},
        "posterior": {"draws": 3},
        "parameters": {"revenue_growth": {"value": value, "prior": 0.12, "bounds": [0.05, 0.2]}},
    }
    (folder / "calibration.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    if posterior:
        pd.DataFrame(
            {"draw": [0, 1, 2], "weight": [0.2, 0.3, 0.5], "revenue_growth": [0.09, 0.1, 0.11]}
        ).to_parquet(folder / "posterior.parquet", index=False)
    return record


def test_install_copies_the_posterior_and_the_record_into_seeds(tmp_path, fake_seeds):
    search = tmp_path / "cal" / "search"
    record = _fit_folder(search)
    written = calibration.install_calibration(search)
    assert written == [fake_seeds / "posterior.parquet", fake_seeds / "calibrated.yaml"]
    assert (fake_seeds / "posterior.parquet").read_bytes() == (
        search / "posterior.parquet"
    ).read_bytes()
    text = (fake_seeds / "calibrated.yaml").read_text()
    assert text.startswith("# Written by `innosim calibrate`")
    assert yaml.safe_load(text) == record
    assert sorted(p.name for p in fake_seeds.iterdir()) == ["calibrated.yaml", "posterior.parquet"]


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("holdout", "never installed"),
        ("out of range", "parameters.revenue_growth"),
        ("no posterior", "posterior"),
        ("no fit", "no finished calibration"),
    ],
)
def test_install_refuses_what_the_model_could_not_use_and_writes_nothing(
    tmp_path, fake_seeds, kind, needle
):
    from sim.inputs.errors import InputError

    search = tmp_path / "cal" / "search"
    if kind == "holdout":
        _fit_folder(search, holdout=2020)
    elif kind == "out of range":
        _fit_folder(search, value=0.9)
    elif kind == "no posterior":
        _fit_folder(search, posterior=False)
    before = {p.name: p.read_bytes() for p in fake_seeds.iterdir()}
    with pytest.raises(InputError, match=needle):
        calibration.install_calibration(search)
    assert {p.name: p.read_bytes() for p in fake_seeds.iterdir()} == before


def test_install_only_installs_the_finished_fit_then_reports(tmp_path, fake_seeds, monkeypatch):
    search = tmp_path / "cal" / "search"
    _fit_folder(search)
    reports = []

    def report(out, **kw):  # the fit report itself is tested above (minutes of runs)
        reports.append((out, kw))
        return out / "fit.md"

    monkeypatch.setattr(calibration, "fit_report", report)
    argv = ["calibrate", "--install-only", "--out", str(tmp_path / "cal"), "--quiet"]
    assert main([*argv, "--scale", "0.02"]) == 0
    assert (fake_seeds / "posterior.parquet").read_bytes() == (
        search / "posterior.parquet"
    ).read_bytes()
    assert reports == [
        (tmp_path / "cal" / "fit", {"scale": 0.02, "workers": None, "progress": False})
    ]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--install", "--holdout", "2020"], "--install: a holdout fit"),
        (["--install-only", "--holdout", "2020"], "--install-only: a holdout fit"),
        (["--install-only", "--resume"], "--install-only"),
        (["--install", "--report-only"], "--install"),
        (["--no-write", "--install"], "--no-write"),
    ],
)
def test_install_options_that_contradict_are_refused_before_any_work(
    tmp_path, capsys, fake_seeds, extra, needle
):
    before = {p.name: p.read_bytes() for p in fake_seeds.iterdir()}
    assert main(["calibrate", "--out", str(tmp_path / "c"), *extra, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()
    assert {p.name: p.read_bytes() for p in fake_seeds.iterdir()} == before


def test_no_write_is_a_deprecated_no_op(tmp_path, capsys):
    assert main(["calibrate", "--no-write", "--out", str(tmp_path / "c"), "--holdout", "2031"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("innosim: note: --no-write is the default now")
    assert "--holdout" in err[1]  # and the command goes on as without it
