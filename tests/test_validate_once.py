"""A run is validated once: the scenario the user gives is validated in full once, and the
validated object flows on (to replicate workers, sweep points and the model); values added by
the package from user input (lever overrides, design points) are validated alone."""

from __future__ import annotations

import pickle

import pytest
import yaml

import sim.api as api
from sim.app.cli import main
from sim.experiments import runs, sweep
from sim.experiments.design import Sweep
from sim.experiments.executors import compute
from sim.inputs.paths import ROOT
from sim.inputs.scenario import Scenario


class Counter:
    """Stands in for Scenario's pydantic validator: counts full validations (model_validate,
    Scenario(...), model_validate_json all go through it) and delegates."""

    def __init__(self, real):
        self.real, self.calls = real, 0

    def __getattr__(self, name):
        attr = getattr(self.real, name)
        if name.startswith("validate_"):

            def counted(*a, **k):
                self.calls += 1
                return attr(*a, **k)

            return counted
        return attr


@pytest.fixture
def validations(monkeypatch):
    counter = Counter(Scenario.__pydantic_validator__)
    monkeypatch.setattr(Scenario, "__pydantic_validator__", counter)
    return counter


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    path = tmp_path_factory.mktemp("base") / "short.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "short",
                "extends": str(ROOT / "scenarios" / "baseline.yaml"),
                "time": {"start_year": 2016, "end_year": 2017},
            }
        )
    )
    return path


def test_the_counter_counts(validations):
    Scenario()
    Scenario.model_validate({"name": "x"})
    assert validations.calls == 2


@pytest.mark.parametrize("workers", [1, 2])
def test_innosim_run_validates_the_scenario_once(short, tmp_path, validations, workers):
    code = main(
        ["run", str(short), "--scale", "0.02", "--replicates", "2", "--workers", str(workers)]
        + ["--out", str(tmp_path / "out"), "--quiet"]
    )
    assert code == 0
    assert validations.calls == 1  # in this process: the scenario file, read once


def test_replicate_workers_get_the_validated_object(short, validations):
    """What a worker process receives is the Scenario object: unpickled, it is not validated."""
    sc = api.load_scenario(short)
    assert validations.calls == 1
    sent = []
    real = runs._task
    runs_task = lambda args: sent.append(pickle.loads(pickle.dumps(args))) or real(sent[-1])  # noqa: E731
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runs, "_task", runs_task)
        runs.run_replicates(sc, replicates=2, seed=1, scale=0.02)
    assert [type(a[0]) for a in sent] == [Scenario, Scenario]
    # the same scenario, with replicate r's posterior draw in the parameters it left open
    assert sent[0][0].model_copy(update={"parameters": sc.parameters}) == sc
    assert validations.calls == 1


def test_api_run_with_overrides_validates_once(short, validations):
    df = api.run(short, scale=0.02, replicates=1, overrides={"basic_research_priority": 0.4})
    assert not df.empty
    assert validations.calls == 1


def test_bad_override_still_names_the_field(short):
    with pytest.raises(ValueError, match="levers.basic_research_priority"):
        api.load_scenario(short).with_levers({"basic_research_priority": 99.0})
    with pytest.raises(ValueError, match="levers.no_such_lever"):
        api.load_scenario(short).with_levers({"no_such_lever": 1.0})


def test_with_levers_equals_a_full_validation(short):
    sc = api.load_scenario(short)
    over = {"basic_research_priority": 0.4, "public_rd_growth": {2016: 9, 2017: 10.0}}
    fast = sc.with_levers(over)
    full = Scenario.model_validate(
        {**sc.model_dump(), "levers": {**sc.levers, **over}, "source": sc.source}
    )
    assert fast.model_dump() == full.model_dump() and repr(fast) == repr(full)
    assert fast.source == sc.source
    p = {"revenue_growth": 0.1}
    assert (
        sc.with_parameters(p).model_dump()
        == Scenario.model_validate({**sc.model_dump(), "parameters": p}).model_dump()
    )


@pytest.mark.parametrize("given", ["file", "object"])
def test_a_sweep_validates_its_base_once_and_points_not_at_all(short, validations, given):
    before = validations.calls
    base = short if given == "file" else api.load_scenario(short)
    spec = Sweep(
        base,
        {"basic_research_priority": (0.3, 0.6)},
        parameters={"revenue_growth": [0.1, 0.12]},
        sampler="grid",
        levels=2,
        replicates=2,
        seed=3,
        scale=0.02,
    )
    _, _, tasks, _, _ = sweep.plan_runs(spec)
    assert len(tasks) == 4 * 2
    assert validations.calls - before == 1  # the base file or the user's Scenario(...) once
    # A point's run validates nothing, and gets what validating its resolved scenario would give.
    frame = compute(pickle.loads(pickle.dumps(tasks[0])))
    assert not frame.empty
    assert validations.calls - before == 1
    t = tasks[-1]
    again = Scenario.model_validate(
        {k: v for k, v in t.scenario.items() if k in Scenario.model_fields}
    )
    assert repr(again) == repr(t.model)
