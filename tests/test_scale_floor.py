"""The scale floor (issue 13): below MIN_SCALE results are meaningless, so it is refused with
exit 2 naming the field, in scenario files, sweep specs and the CLI's --scale; at the floor the
model runs with finite indicators."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from helpers import SCALE, SHORT, ledger_problems, negative_stocks, run_model
from test_cli import BASELINE, EXIT_BAD_INPUT, assert_one_line_error, innosim

from sim.experiments.design import load_spec
from sim.inputs.errors import InputError
from sim.inputs.scenario import MIN_SCALE, load_scenario
from sim.model.sectors import N_SECTORS

BELOW = MIN_SCALE / 100  # 0.0001


def test_floor_is_below_what_the_tests_use():
    assert 0 < MIN_SCALE <= SCALE


def test_cli_refuses_a_scale_below_the_floor(tmp_path):
    out = tmp_path / "out"
    result = innosim("run", BASELINE, "--scale", BELOW, "--out", out, cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    # argparse prints its usage; the error itself is one line naming the option and the floor.
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, result.stderr
    assert "--scale" in errors[0] and f"at least {MIN_SCALE:g}" in errors[0], errors[0]
    assert "meaningless" in errors[0]
    assert list(tmp_path.iterdir()) == []


def test_yaml_scale_below_the_floor_names_the_field(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(f"name: tiny\nscale: {BELOW}\n", encoding="utf-8")
    result = innosim("run", path, "--out", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, "tiny.yaml", "scale", f"at least {MIN_SCALE:g}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]
    with pytest.raises(InputError) as e:
        load_scenario(path)
    assert e.value.path == "scale"


def test_sweep_spec_scale_below_the_floor_names_the_field(tmp_path):
    spec = tmp_path / "spec.yaml"
    body = {"base": str(BASELINE), "levers": {"ip_protection": {"low": 0.3, "high": 0.7}}}
    spec.write_text(yaml.safe_dump({**body, "samples": 2, "scale": BELOW}), encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_spec(spec)
    assert e.value.path == "scale" and f"at least {MIN_SCALE:g}" in e.value.message


@pytest.mark.parametrize("seed", [1, 2])
def test_model_at_the_floor(seed):
    """At the floor every sector has firms and every kind of unit and fund has agents; the
    indicators are finite and the ledgers balance."""
    m = run_model(SHORT, seed=seed, scale=MIN_SCALE)
    df = m.indicator_frame()
    assert np.isfinite(df.value).all()
    assert not ledger_problems(m) and not negative_stocks(m)
    fresh = run_model({"time": {"start_year": 2016, "end_year": 2016}}, seed=seed, scale=MIN_SCALE)
    f = fresh.firms
    assert (np.bincount(f.sector[f.live], minlength=N_SECTORS) > 0).all()
    assert (np.bincount(fresh.funds.kind) > 0).all()
    assert fresh.universities.n >= 4
