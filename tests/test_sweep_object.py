"""A sweep built in code (`Sweep`, `api.Sweep`) is the same sweep as the equivalent spec file:
the same schema, design and results; a bad field in code is an InputError naming it."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import sim.api as api
from sim.experiments.design import Sweep, SweepSpec, design, load_spec
from sim.experiments.sweep import check_spec, run_sweep
from sim.inputs.errors import InputError
from sim.inputs.paths import ROOT

SPEC = {
    "levers": {
        "jjj_unified_tech_market": {"low": 0.0, "high": 1.0},
        "basic_research_priority": {"values": [0.3, 0.45]},
    },
    "sampler": "lhs",
    "samples": 3,
    "replicates": 2,
    "seed": 11,
    "scale": 0.02,
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweepobj")
    base = d / "short.yaml"
    base.write_text(
        yaml.safe_dump(
            {
                "name": "short",
                "extends": str(ROOT / "scenarios" / "baseline.yaml"),
                "time": {"start_year": 2016, "end_year": 2017},
            }
        )
    )
    spec = d / "spec.yaml"
    spec.write_text(yaml.safe_dump({"base": str(base), **SPEC}, sort_keys=False))
    return base, spec


def in_code(base):
    return api.Sweep(
        base,
        {"jjj_unified_tech_market": (0.0, 1.0), "basic_research_priority": [0.3, 0.45]},
        sampler="lhs",
        samples=3,
        replicates=2,
        seed=11,
        scale=0.02,
    )


@pytest.mark.parametrize("sampler", ["grid", "lhs", "sobol", "morris"])
def test_object_and_file_give_the_same_design(files, tmp_path, sampler):
    base, _ = files
    levers = {"jjj_unified_tech_market": {"low": 0.0, "high": 1.0}}
    fields = {**SPEC, "levers": levers, "sampler": sampler, "samples": 4}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"base": str(base), **fields}))
    from_file = load_spec(path)
    obj = Sweep(base, **{k: v for k, v in fields.items()})
    assert isinstance(obj, SweepSpec)
    assert obj.as_dict() == from_file.as_dict()
    pd.testing.assert_frame_equal(design(obj), design(from_file))


def test_object_and_file_give_identical_results(files, tmp_path):
    base, spec = files
    a = run_sweep(spec, tmp_path / "file", workers=1, progress=False)
    b = api.sweep(in_code(api.load_scenario(base)), tmp_path / "code", workers=1)
    assert a.total == b.total == 3 * 2 and not a.failures and not b.failures
    pd.testing.assert_frame_equal(
        api.load_sweep(tmp_path / "file"), api.load_sweep(tmp_path / "code")
    )
    assert "ok (lhs, 2 factor(s)" in check_spec(in_code(base))


@pytest.mark.parametrize(
    ("over", "where"),
    [
        ({"samples": 0}, "samples"),
        ({"sampler": "halton"}, "sampler"),
        ({"replicates": 1.5}, "replicates"),
        ({"seed": -1}, "seed"),
        ({"scale": 0.0001}, "scale"),
        ({"levels": 3, "sampler": "morris"}, "levels"),
        ({"levers": {"no_such_lever": (0.0, 1.0)}}, "levers.no_such_lever"),
        ({"levers": {"jjj_unified_tech_market": (1.0, 0.0)}}, "levers.jjj_unified_tech_market"),
        (
            {"levers": {"jjj_unified_tech_market": {"low": 0, "hi": 1}}},
            "levers.jjj_unified_tech_market.hi",
        ),
        ({"levers": {}}, "levers"),
    ],
)
def test_bad_field_in_code_names_it(files, over, where):
    base, _ = files
    args = {"levers": {"jjj_unified_tech_market": (0.0, 1.0)}, **over}
    with pytest.raises(InputError) as e:
        Sweep(base, **args)
    assert e.value.path == where, str(e.value)


def test_missing_base_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        Sweep(tmp_path / "nothing.yaml", {"jjj_unified_tech_market": (0.0, 1.0)})
