"""Parameter uncertainty in every output: which posterior draw each replicate runs with.

Replicate r must use the same draw and seed in every scenario and design point (common random
numbers), a parameter the scenario sets itself must win over the draw, and `--uncertainty seed`
must give the calibrated point values (seed noise only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.app.cli import main
from sim.experiments import posterior as P
from sim.experiments.runs import replicate_scenarios, run_replicates_detailed
from sim.inputs.errors import InputError
from sim.inputs.params import Params
from sim.inputs.scenario import load_scenario

SHORT = {
    "name": "short",
    "description": "baseline to 2017",
    "time": {"start_year": 2016, "end_year": 2017},
}


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A made-up posterior installed as seeds/posterior.parquet would be."""
    post = _posterior()
    path = tmp_path / "posterior.parquet"
    frame = post.draws.copy()
    frame.insert(0, "weight", post.weights)
    frame.insert(0, "draw", range(len(frame)))
    frame.to_parquet(path)
    monkeypatch.setattr(P, "POSTERIOR", path)
    P.load_posterior.cache_clear()
    yield P.load_posterior()
    P.load_posterior.cache_clear()


def _posterior(n=50, seed=0) -> P.Posterior:
    """A made-up posterior over two free parameters, uneven weights."""
    rng = np.random.default_rng(seed)
    draws = pd.DataFrame(
        {
            "revenue_growth": rng.uniform(0.06, 0.18, n),
            "patent_lapse_rate": rng.uniform(0.01, 0.12, n),
        }
    )
    w = rng.random(n) ** 2
    return P.Posterior(draws, w / w.sum())


def test_draw_indices_do_not_depend_on_how_many_replicates():
    post = _posterior()
    assert list(post.indices(7, 5)) == list(post.indices(7, 40)[:5])
    assert list(post.indices(7, 40)) != list(post.indices(8, 40))


def test_heavier_draws_are_drawn_more_often():
    post = _posterior(n=20)
    idx = post.indices(1, 20_000)
    freq = np.bincount(idx, minlength=20) / idx.size
    assert np.abs(freq - post.weights).max() < 0.02


def test_replicate_r_has_the_same_draw_in_every_scenario():
    post = _posterior()
    a = load_scenario(SHORT)
    b = a.with_levers({"top_talent_recruitment": 3.0})
    pa = replicate_scenarios(a, 11, 6, post)
    pb = replicate_scenarios(b, 11, 6, post)
    for x, y in zip(pa, pb, strict=True):
        assert x.parameters == y.parameters
    assert len({sc.parameters["revenue_growth"] for sc in pa}) > 1


def test_a_parameter_the_scenario_sets_wins_over_the_draw():
    post = _posterior()
    sc = load_scenario({**SHORT, "parameters": {"revenue_growth": 0.1}})
    for r in replicate_scenarios(sc, 3, 5, post):
        assert r.parameters["revenue_growth"] == 0.1
        assert "patent_lapse_rate" in r.parameters


def test_seed_uncertainty_keeps_the_scenario():
    sc = load_scenario(SHORT)
    assert all(r is sc for r in replicate_scenarios(sc, 3, 4, "seed"))


def test_parameters_frame_records_what_each_replicate_ran_with():
    post = _posterior()
    out = run_replicates_detailed(SHORT, 3, seed=5, scale=0.02, uncertainty=post)
    p = out.parameters
    assert list(p.columns) == ["scenario", "replicate", "parameter", "value"]
    free = set(P.free_parameter_names())
    assert set(p.parameter) == free
    sets = post.parameter_sets(5, 3)
    for r in range(3):
        row = p[(p.replicate == r) & (p.parameter == "revenue_growth")].value.item()
        assert row == pytest.approx(sets[r]["revenue_growth"])
    seed_only = run_replicates_detailed(SHORT, 2, seed=5, scale=0.02, uncertainty="seed")
    point = Params({})
    for r in seed_only.parameters.itertuples():
        assert r.value == pytest.approx(getattr(point, r.parameter))
    assert seed_only.draws == 1


def test_draws_change_results_and_seed_mode_does_not():
    post = _posterior()
    a = run_replicates_detailed(SHORT, 2, seed=5, scale=0.02, uncertainty=post).indicators
    b = run_replicates_detailed(SHORT, 2, seed=5, scale=0.02, uncertainty="seed").indicators
    c = run_replicates_detailed(SHORT, 2, seed=5, scale=0.02, uncertainty=post).indicators
    pd.testing.assert_frame_equal(a, c)  # reproducible
    gdp = lambda df: df[df.indicator == "zgc_total_revenue"].value.to_numpy()  # noqa: E731
    assert not np.allclose(gdp(a), gdp(b))


def test_prior_draws_respect_the_bounds_and_the_literature_prior():
    from sim.experiments.calibration import load_setup

    setup = load_setup()
    prior = P.prior_draws(4000, 1)
    for name, (lo, hi) in setup.free.items():
        x = prior.draws[name].to_numpy()
        assert x.min() >= lo and x.max() <= hi
    mu, sd = setup.priors["rd_output_elasticity"]
    assert prior.draws["rd_output_elasticity"].mean() == pytest.approx(mu, abs=0.01)
    assert prior.ess == pytest.approx(4000)


def test_a_bad_posterior_file_is_an_input_error(tmp_path):
    path = tmp_path / "p.parquet"
    pd.DataFrame({"draw": [0], "weight": [1.0], "no_such_parameter": [0.1]}).to_parquet(path)
    with pytest.raises(InputError, match="unknown parameter"):
        P.read_posterior(path)
    pd.DataFrame({"draw": [0], "weight": [-1.0], "revenue_growth": [0.1]}).to_parquet(path)
    with pytest.raises(InputError, match="weight"):
        P.read_posterior(path)
    pd.DataFrame({"draw": [0], "weight": [1.0], "revenue_growth": [9.0]}).to_parquet(path)
    with pytest.raises(InputError, match="revenue_growth"):
        P.read_posterior(path)
    path.write_text("not parquet")
    with pytest.raises(InputError, match="not a readable posterior"):
        P.read_posterior(path)


def test_the_committed_posterior_is_valid():
    from sim.inputs.paths import ROOT

    post = P.read_posterior(ROOT / "docs" / "calibration" / "search" / "posterior.parquet")
    assert set(post.names) == set(P.free_parameter_names())
    assert np.isclose(post.weights.sum(), 1.0) and post.ess > 20


def test_run_writes_parameters_csv_and_says_how_many_draws(tmp_path, capsys, installed):
    sc = tmp_path / "short.yaml"
    sc.write_text(yaml.safe_dump(SHORT))
    out = tmp_path / "out"
    argv = ["run", str(sc), "--scale", "0.02", "--replicates", "3", "--out", str(out)]
    argv += ["--uncertainty", "posterior", "--quiet"]
    assert main(argv) == 0
    p = pd.read_csv(out / "parameters.csv")
    assert set(p.replicate) == {0, 1, 2}
    report = (out / "report.md").read_text()
    assert "distinct draw(s) stand behind" in report and "Too few draws" in report
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert resolved["uncertainty"] == "posterior"
    assert (
        main(
            [
                "run",
                str(sc),
                "--scale",
                "0.02",
                "--replicates",
                "2",
                "--out",
                str(tmp_path / "default"),
                "--quiet",
            ]
        )
        == 0
    )
    # posterior by default: the two replicates run with draws 0 and 1 of the installed posterior
    default = pd.read_csv(tmp_path / "default" / "parameters.csv")
    drawn = installed.parameter_sets(SHORT.get("seed", 2016), 2)
    for r, values in enumerate(drawn):
        got = default[default.replicate == r].set_index("parameter").value
        assert {k: got[k] for k in values} == pytest.approx(values, rel=1e-12)
    resolved = yaml.safe_load((tmp_path / "default" / "scenario.resolved.yaml").read_text())
    assert resolved["uncertainty"] == "posterior"
    assert main([*argv[:-3], "--uncertainty", "seed", "--force", "--quiet"]) == 0
    assert "seed noise only" in (out / "report.md").read_text()
    p2 = pd.read_csv(out / "parameters.csv")
    assert p2.groupby("parameter").value.nunique().max() == 1


def test_compare_warns_when_parameters_are_not_paired(tmp_path, capsys, installed):
    sc = tmp_path / "short.yaml"
    sc.write_text(yaml.safe_dump({**SHORT, "uncertainty": "posterior"}))
    base = ["run", str(sc), "--scale", "0.02", "--replicates", "2", "--quiet"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert main([*base, "--out", str(tmp_path / "b")]) == 0
    assert main([*base, "--out", str(tmp_path / "c"), "--uncertainty", "seed"]) == 0
    capsys.readouterr()
    assert (
        main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "ab")])
        == 0
    )
    assert "Paired on seeds and parameters" in capsys.readouterr().out
    assert (
        main(["compare", str(tmp_path / "a"), str(tmp_path / "c"), "--out", str(tmp_path / "ac")])
        == 0
    )
    captured = capsys.readouterr()
    assert "not on parameters" in captured.out
    assert "innosim: warning: the folders differ in uncertainty" in captured.err


def test_uncertainty_posterior_without_a_posterior_is_an_input_error(monkeypatch, tmp_path):
    monkeypatch.setattr(P, "POSTERIOR", tmp_path / "none.parquet")
    P.load_posterior.cache_clear()
    try:
        with pytest.raises(InputError, match="no posterior"):
            P.check_uncertainty("posterior")
        assert P.check_uncertainty("seed") == "seed"
    finally:
        P.load_posterior.cache_clear()


def test_sweep_points_share_replicate_r_draw_and_seed_mode_can_be_asked(monkeypatch):
    from sim.experiments.design import Sweep
    from sim.experiments.sweep import plan_runs

    post = _posterior()
    monkeypatch.setattr(P, "load_posterior", lambda: post)
    spec = Sweep(
        load_scenario(SHORT),
        {"top_talent_recruitment": [1.0, 3.0]},
        sampler="grid",
        replicates=3,
        seed=4,
        scale=0.02,
        uncertainty="posterior",
    )
    _, runs, tasks, _, _ = plan_runs(spec)
    by = {(t.point, t.replicate): t.scenario["parameters"] for t in tasks}
    for r in range(3):
        assert by[0, r] == by[1, r]
        assert by[0, r]["revenue_growth"] == pytest.approx(
            post.parameter_sets(4, 3)[r]["revenue_growth"]
        )
    assert len({by[0, r]["revenue_growth"] for r in range(3)}) > 1
    seed_only = spec.model_copy(update={"uncertainty": "seed"})
    _, _, tasks, _, _ = plan_runs(seed_only)
    assert len({t.scenario["parameters"]["revenue_growth"] for t in tasks}) == 1
