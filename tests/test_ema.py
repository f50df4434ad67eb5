"""sim.ema: the EMA Workbench model over InnovationModel, driven through EMA's own API
(perform_experiments with the sequential and the multiprocessing evaluator).

Runs are small: scale 0.02, one replicate, outcomes in 2017 only, so each run stops after eight
quarterly steps (about half a second)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

ema_workbench = pytest.importorskip("ema_workbench")  # the `ema` extra (in `dev`)

from ema_workbench import (  # noqa: E402
    MultiprocessingEvaluator,
    Policy,
    SequentialEvaluator,
    perform_experiments,
)

import sim.api as api  # noqa: E402
from sim.ema import POSTERIOR_RANGE, ema_model, posterior_scenarios  # noqa: E402
from sim.experiments.posterior import free_parameter_names, replicate_parameters  # noqa: E402
from sim.experiments.runs import replicate_seeds  # noqa: E402
from sim.inputs.errors import InputError  # noqa: E402

SCALE = 0.02
OUTCOMES = ["basic_research_share", "rd_intensity", "vc_amount"]
POLICIES = [
    Policy("low", basic_research_priority=0.2),
    Policy("high", basic_research_priority=0.6),
]


@pytest.fixture(scope="module")
def model():
    return ema_model(
        "baseline",
        scale=SCALE,
        levers=["basic_research_priority", "public_rd_growth"],
        outcomes=OUTCOMES,
        years=[2017],
    )


# ------------------------------------------------------------------------------------------------
# the model's levers, uncertainties and outcomes
# ------------------------------------------------------------------------------------------------
def test_defaults_come_from_the_registries():
    m = ema_model("baseline")
    reg = api.lever_registry()
    assert [p.name for p in m.levers] == list(reg)
    for p in m.levers:
        assert (p.lower_bound, p.upper_bound) == (reg[p.name].low, reg[p.name].high)
    assert [u.name for u in m.uncertainties] == free_parameter_names()
    defs = api.parameter_definitions()
    for u in m.uncertainties:  # the posterior's 5-95% range: inside the parameter's range
        d = defs[u.name]
        assert d.low <= u.lower_bound < u.upper_bound <= d.high, u.name
    wide = ema_model("baseline", ranges="bounds")
    for u in wide.uncertainties:
        assert (u.lower_bound, u.upper_bound) == (defs[u.name].low, defs[u.name].high)
    # every indicator with a target, at every target year, and whether the target is met
    targets = api.target_table()
    expected = [f"{r.indicator}@{r.target_year}" for r in targets.itertuples()]
    names = [o.name for o in m.outcomes]
    assert sorted(names) == sorted(expected + [f"{x}:met" for x in expected])


def test_posterior_range_is_the_weighted_quantiles():
    post = api.read_posterior(api.POSTERIOR)
    m = ema_model("baseline", levers=(), uncertainties=["revenue_growth"])
    (u,) = m.uncertainties
    x, w = post.draws["revenue_growth"].to_numpy(), post.weights
    inside = w[(x >= u.lower_bound) & (x <= u.upper_bound)].sum()
    assert inside == pytest.approx(POSTERIOR_RANGE[1] - POSTERIOR_RANGE[0], abs=0.03)


def test_choices_of_levers_uncertainties_and_outcomes():
    m = ema_model(
        {"time": {"start_year": 2016, "end_year": 2020}, "parameters": {"revenue_growth": 0.12}},
        levers={"ip_protection": (0.4, 0.9)},
        uncertainties={"border_jjj": (0.2, 0.5), "tech_matching_friction": None},
        outcomes=["rd_intensity@2020", "vc_amount", "tech_contract_turnover@2020:met"],
        years=[2018, 2019],
        attainment=False,
    )
    assert [(p.name, p.lower_bound, p.upper_bound) for p in m.levers] == [
        ("ip_protection", 0.4, 0.9)
    ]
    got = {u.name: (u.lower_bound, u.upper_bound) for u in m.uncertainties}
    assert list(got) == ["border_jjj", "tech_matching_friction"]
    assert got["border_jjj"] == (0.2, 0.5)
    full = {u.name: (u.lower_bound, u.upper_bound) for u in ema_model("baseline").uncertainties}
    assert got["tech_matching_friction"] == full["tech_matching_friction"]  # from `ranges`
    assert [o.name for o in m.outcomes] == [
        "rd_intensity@2020",
        "vc_amount@2018",
        "vc_amount@2019",
        "tech_contract_turnover@2020:met",
    ]
    # a parameter the scenario pins is not an uncertainty by default
    pinned = ema_model({"parameters": {"revenue_growth": 0.12}}, levers=())
    assert "revenue_growth" not in [u.name for u in pinned.uncertainties]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"levers": ["basic_research_priorty"]}, "did you mean 'basic_research_priority'"),
        ({"levers": {"ip_protection": (0.0, 2.0)}}, r"levers.ip_protection: must be within"),
        ({"levers": {"ip_protection": (0.8, 0.2)}}, "low < high"),
        ({"levers": "ip_protection"}, "a list of names"),
        ({"uncertainties": ["sector_shares_2015"]}, "list-valued parameter"),
        ({"uncertainties": ["n_firms_2015"]}, "not in the posterior"),
        ({"uncertainties": {"revenue_growth": (0.0, 0.9)}}, "must be within"),
        ({"outcomes": ["rd_intensty@2030"]}, "did you mean 'rd_intensity'"),
        ({"outcomes": ["rd_intensity@2040"]}, "year in 2016-2030"),
        ({"outcomes": ["vc_amount@2030:met"]}, "no target for vc_amount@2030"),
        ({"years": [2040]}, "inside the horizon 2016-2030"),
        ({"scale": 0.001}, "scale of at least 0.01"),
        ({"replicates": 0}, "replicates"),
        ({"seed": -1}, "seed"),
        ({"ranges": "prior"}, "one of posterior, bounds"),
        ({"name": "inno sim"}, "letters and digits"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(InputError, match=message):
        ema_model("baseline", **kwargs)


def test_posterior_scenarios_are_the_draws_replicates_run_with(model):
    scenarios = posterior_scenarios(model, 3, seed=7)
    expected = replicate_parameters("posterior", 7, 3)
    names = [u.name for u in model.uncertainties]
    assert [{k: s[k] for k in names} for s in scenarios] == [
        {k: e[k] for k in names} for e in expected
    ]


# ------------------------------------------------------------------------------------------------
# perform_experiments
# ------------------------------------------------------------------------------------------------
def _check(experiments: pd.DataFrame, outcomes: dict, n: int, model) -> None:
    assert len(experiments) == n
    assert set(outcomes) == {o.name for o in model.outcomes}
    for name, values in outcomes.items():
        assert values.shape == (n,), name
        assert np.isfinite(values).all(), name
        if name.endswith(":met"):
            assert set(np.unique(values)) <= {0.0, 1.0}, name


def test_sequential_evaluator_sampled_scenarios_and_paired_policies(model):
    experiments, outcomes = perform_experiments(
        model, scenarios=2, policies=POLICIES, evaluator=SequentialEvaluator(model)
    )
    _check(experiments, outcomes, 4, model)
    assert {u.name for u in model.uncertainties} <= set(experiments.columns)
    # on the same seed and parameter draw, the higher basic-research priority raises the basic
    # share of R&D in every scenario
    share = pd.Series(outcomes["basic_research_share@2017"])
    by = experiments.assign(share=share).pivot(index="scenario", columns="policy", values="share")
    assert (by["high"] > by["low"] * 1.5).all(), by
    # the attainment outcome follows the target of the plan
    target = api.target_table().set_index(["indicator", "target_year"]).target
    met = outcomes["basic_research_share@2017:met"]
    assert (met == (share >= target["basic_research_share", 2017])).all()


def test_an_experiment_is_the_run_innosim_would_make(model):
    """One experiment's outcomes are those of api.run at its lever and parameter values (the
    full 2016-2030 run: the EMA run stops after 2017 with the same values), seed noise only."""
    (scenario,) = posterior_scenarios(model, 1, seed=11)
    experiments, outcomes = perform_experiments(model, scenarios=[scenario], policies=POLICIES[1:])
    df = api.run(
        "baseline",
        seed=2016,
        scale=SCALE,
        replicates=1,
        overrides={"basic_research_priority": 0.6},
        parameters={u.name: scenario[u.name] for u in model.uncertainties},
        uncertainty="seed",
    )
    assert df.seed.iloc[0] == replicate_seeds(2016, 1)[0]
    for ind in OUTCOMES:
        value = df[(df.indicator == ind) & (df.year == 2017)].value.item()
        assert outcomes[f"{ind}@2017"][0] == value, ind


def test_the_model_pickles_for_worker_processes(model):
    """What MultiprocessingEvaluator sends its spawned workers: the model, its function a
    module-level object of sim.ema, unpickled and called in the worker (the full path is the
    slow test below)."""
    import pickle

    again = pickle.loads(pickle.dumps(model))
    assert type(again.function).__module__ == "sim.ema"
    values = {"basic_research_priority": 0.6, "revenue_growth": 0.12}
    assert again.function(**values) == model.function(**values)


# Spawning two workers that import Mesa, the model and the EMA Workbench: 12-28 s on two
# shared cores (load 3.5 to 6, measured), too slow for the default suite.
@pytest.mark.slow
def test_multiprocessing_evaluator_gives_the_sequential_results(model):
    scenarios = posterior_scenarios(model, 2, seed=3)
    seq_exp, seq_out = perform_experiments(model, scenarios=scenarios, policies=POLICIES)
    with MultiprocessingEvaluator(model, n_processes=2) as evaluator:
        mp_exp, mp_out = evaluator.perform_experiments(scenarios=scenarios, policies=POLICIES)
    _check(mp_exp, mp_out, 4, model)
    key = ["scenario", "policy"]
    a = seq_exp[key].astype(str).assign(**{k: v for k, v in seq_out.items()})
    b = mp_exp[key].astype(str).assign(**{k: v for k, v in mp_out.items()})
    pd.testing.assert_frame_equal(
        a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    )


@pytest.mark.slow
def test_the_example_of_docs_ema_runs(tmp_path):
    """docs/ema.md's example, run as the file it tells the reader to save (about a minute)."""
    import re
    import subprocess
    import sys

    page = (api.ROOT / "docs" / "ema.md").read_text(encoding="utf-8")
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", page, re.S) if "__main__" in b]
    (tmp_path / "example.py").write_text(code, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    for outcome in ("rd_intensity@2025", "basic_research_share@2025:met", "vc_amount@2025"):
        assert f"{outcome} " in out.stdout, out.stdout
    assert "public_rd_growth" in out.stdout
