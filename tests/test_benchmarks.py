"""Performance against the committed reference (marker `benchmark`, not in the default suite):

    .venv/bin/pytest -m benchmark

Re-measures the model figures of benchmarks/bench.py in fresh processes (the full-scale baseline
with its numpy floor and the bare and grid Boltzmann models in the same process, cost per agent
at scales 0.1, 0.3 and 1.0; the sweep, the posterior ensemble and the profile are left to
`make bench`) and fails when one is more than 20% worse than benchmarks/results/reference.json or
misses a wide-margin target. The table helpers, the bare Boltzmann model, the numpy floor, the
profile's wrapping, the arithmetic floor's inventory and the single-precision experiment are
checked in the default suite (fast: the last two run the model at scale 0.01).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402


def test_regressions_flag_only_figures_worse_than_the_tolerance():
    ref = {"full_total_s": 10.0, "ratio_vs_bare": 6.0, "cost_growth_pct": 5.0}
    ok = {"full_total_s": 11.9, "ratio_vs_bare": 4.9, "cost_growth_pct": 50.0}
    assert bench.regressions(ok, ref) == []
    bad = {"full_total_s": 12.1, "ratio_vs_bare": 4.7, "cost_growth_pct": 50.0}
    found = bench.regressions(bad, ref)
    assert len(found) == 2
    assert found[0].startswith("full scale: build + run") and "bare Boltzmann" in found[1]


def test_a_slower_machine_relaxes_times_and_rates_but_not_ratios_or_memory():
    """The bare Boltzmann model measures the machine: when it ran slower than at the reference,
    times and rates get that allowance on top of the tolerance; ratios and memory do not."""
    ref = {
        "boltzmann_bare_steps_per_s": 1000.0,
        "full_total_s": 10.0,
        "firm_steps_per_s": 100.0,
        "ratio_vs_bare": 6.0,
        "full_peak_mb": 200.0,
    }
    slow = {  # the machine at 0.8x: 1.25x allowance
        "boltzmann_bare_steps_per_s": 800.0,
        "full_total_s": 14.9,  # within 10 x 1.2 x 1.25 = 15: not a regression
        "firm_steps_per_s": 60.0,  # below 100 x 0.8 / 1.25 = 64: a regression
        "ratio_vs_bare": 4.7,  # below 6 x 0.8 = 4.8 (no allowance): a regression
        "full_peak_mb": 250.0,  # above 200 x 1.2 = 240 (no allowance): a regression
    }
    assert bench.machine_slowdown(slow, ref) == pytest.approx(1.25)
    found = bench.regressions(slow, ref)
    labels = (
        "full scale: peak memory:",
        "firm-agent steps / s:",
        "ratio innosim / bare Boltzmann:",
    )
    assert len(found) == 3
    assert all(f.startswith(label) for f, label in zip(found, labels, strict=True))
    assert "allowing 1.25x" in found[1] and "allowing" not in found[0] + found[2]
    # the same figures on the reference's machine: the total time is a regression too
    same = dict(slow, boltzmann_bare_steps_per_s=1000.0)
    assert bench.machine_slowdown(same, ref) == 1.0
    assert "full scale: build + run" in bench.regressions(same, ref)[0]
    # a faster machine tightens nothing
    fast = dict(slow, boltzmann_bare_steps_per_s=2000.0, firm_steps_per_s=81.0)  # >= 80
    assert bench.machine_slowdown(fast, ref) == 1.0
    assert not any("firm-agent" in f for f in bench.regressions(fast, ref))


def test_a_figure_missing_from_the_reference_is_new_not_a_regression():
    ref = {"full_total_s": 10.0}
    flat = {"full_total_s": 10.0, "ratio_vs_bare": 0.1, "ensemble_64_s": 500.0}
    assert bench.regressions(flat, ref) == []
    assert bench.new_figures(flat, ref) == ["ratio_vs_bare", "ensemble_64_s"]
    text = bench.table(flat, ref)
    assert text.count(" new") == 2


def test_table_marks_targets_and_change():
    flat = {"full_total_s": 0.8, "ratio_vs_bare": 4.0, "ratio_vs_grid": 9.0, "ensemble_64_s": 70}
    text = bench.table(flat, {"full_total_s": 1.0, "ratio_vs_bare": 4.0, "ratio_vs_grid": 9.0})
    assert "<= 1 s: met" in text and ">= 5 x: MISSED" in text and "-20%" in text
    assert "<= 60 s: MISSED" in text
    grid = next(line for line in text.splitlines() if "with grid" in line)
    assert "met" not in grid and "MISSED" not in grid  # no target for the grid model


def test_flatten_names_the_bare_and_grid_figures():
    model = {
        "full_scale": {
            "build_s": 0.3,
            "run_s": 0.7,
            "build_plus_run_s": 1.0,
            "peak_memory_mb": 200.0,
            "firm_steps_per_s": 4e6,
        },
        "numpy_floor_s": 0.05,
        "full_over_floor": 20.0,
        "boltzmann_bare_agent_steps_per_s": 8e5,
        "boltzmann_grid_agent_steps_per_s": 1.5e5,
        "ratio_vs_bare": 5.0,
        "ratio_vs_grid": 26.7,
        "cost_per_agent": {"0.1": {"us_per_firm_step": 0.3}, "1": {"us_per_firm_step": 0.25}},
        "cost_growth_pct": -10.0,
    }
    ensemble = {"wall_s": 40.0, "worker_peak_mb": 180.0}
    flat = bench.flatten(model, None, ensemble)
    assert flat["ratio_vs_bare"] == 5.0 and flat["boltzmann_bare_steps_per_s"] == 8e5
    assert flat["ratio_vs_grid"] == 26.7 and flat["boltzmann_grid_steps_per_s"] == 1.5e5
    assert flat["numpy_floor_s"] == 0.05 and flat["full_over_floor"] == 20.0
    assert flat["ensemble_64_s"] == 40.0 and "cost_growth_pct" not in flat  # no scale 3.0
    assert set(flat) <= {k for k, *_ in bench.FIGURES}
    assert "ensemble_64_s" not in bench.flatten(model, None)


def test_bare_boltzmann_model_conserves_wealth_and_draws_from_a_list():
    from money_model import MoneyModel, bench_bare

    m = MoneyModel(200, seed=3)
    assert isinstance(m.agent_list, list) and len(m.agent_list) == 200
    for _ in range(5):
        m.step()
    assert sum(a.wealth for a in m.agent_list) == 200
    assert max(a.wealth for a in m.agent_list) > 1  # wealth moved
    out = bench_bare(200, 3, seed=1)
    assert out["agent_steps_per_s"] > 0 and out["agents"] * out["steps"] == 600


def test_numpy_floor_touches_every_field_up_to_the_live_firms():
    import types

    import numpy as np
    from bench_model import numpy_floor

    from sim.model.agents.firm import _FIELDS

    rng = np.random.default_rng(1)  # a stand-in population: one array per field
    firms = types.SimpleNamespace(
        **{n: (rng.random(64) * 10).astype(dt) for n, dt in _FIELDS.items()}, size=40
    )
    before = {n: getattr(firms, n).copy() for n in _FIELDS}
    out = numpy_floor(firms, [40, 30, 35], passes=2)
    assert out["fields"] == len(_FIELDS) and out["firm_steps"] == 105 and out["floor_s"] > 0
    assert all(np.array_equal(getattr(firms, n), before[n]) for n in _FIELDS)  # values kept


def test_profile_wraps_what_exists_and_reports_the_rest_absent():
    import types

    import profile_model

    calls = []

    class Market:
        def clear(self, x):
            calls.append("clear")
            return x

    class Model:
        def _public_research(self, lev):
            calls.append("research")
            return self._innovation(lev)  # a part inside a part counts once

        def _innovation(self, lev):
            calls.append("innovation")
            return lev

    m = Model()
    m.talent_market = Market()
    m.firms = types.SimpleNamespace()
    timers = profile_model.Timers()
    found = profile_model.instrument(m, timers)
    assert found["_public_research"] and found["talent_market.clear"]
    assert not found["capital_market.clear"] and not found["_firms_grow"]
    assert m._public_research(1) == 1 and m.talent_market.clear(2) == 2
    assert calls == ["research", "innovation", "clear"]
    assert timers.calls["_public_research"] == 1 and timers.calls["_innovation"] == 0
    prof = {
        "scale": 0.1,
        "seed": 1,
        "build_s": 0.1,
        "run_s": 1.0,
        "steps": 60,
        "parts": [
            {"part": "_innovation", "calls": 60, "seconds": 0.5, "share": 0.5, "ms_per_step": 8.3},
            {"part": "_firms_grow", "absent": True},
        ],
        "within": [{"part": "remove_views", "absent": True}],
    }
    text = profile_model.format_profile(prof)
    assert "(absent)" in text and "50.0%" in text and "Mesa agent lifecycle" in text


def test_reference_is_committed_with_every_figure():
    ref = json.loads(bench.REFERENCE.read_text())
    keys = {k for k, *_ in bench.FIGURES}
    missing = keys - set(ref["figures"])
    assert not missing, (
        f"figures missing from the reference: {sorted(missing)}; re-record it on the benchmark "
        "machine with `python benchmarks/bench.py --save-reference` (not --quick)"
    )
    assert ref["machine"]["cores"] >= 1


@pytest.mark.benchmark
def test_model_performance_against_the_reference():
    from bench_model import measure_model

    model = measure_model(repeats=3, scales=(0.1, 0.3, 1.0), progress=lambda s: None)
    flat = bench.flatten(model, None)
    ref = json.loads(bench.REFERENCE.read_text())["figures"]
    assert not bench.regressions(flat, ref), bench.table(flat, ref)
    # Targets with a wide margin here (the are in the table of `make bench`); the ratio
    # to the bare Boltzmann model (target 5x) is left to the regression check, as single
    # measurements of it vary by +-10%.
    assert flat["full_total_s"] <= 15.0 and flat["full_peak_mb"] <= 2048.0


def test_arithmetic_floor_lists_operations_of_functions_that_exist():
    """Every operation of the arithmetic floor's inventory names the model function it is in,
    whose code has at least as many operations of that kind as the inventory lists there, and
    the floor is a positive sum of math and draws."""
    import ast
    import inspect
    import textwrap
    from collections import Counter

    from arithmetic_floor import arithmetic_floor

    from sim.model import InnovationModel
    from sim.model.agents import patent_office
    from sim.model.agents.firm import FirmPopulation
    from sim.model.markets.capital import CapitalMarket
    from sim.model.markets.technology import TechnologyMarket

    owners = {
        "firm": FirmPopulation,
        "patent_office": patent_office,
        "capital": CapitalMarket,
        "technology": TechnologyMarket,
    }
    m = InnovationModel(scale=0.01, rng=1)
    m.step()
    out = arithmetic_floor(m, repeats=1)
    assert out["math_ops"] == 19 and out["us_per_firm_step"] > 0
    assert out["us_per_firm_step"] == pytest.approx(out["math_us"] + out["draws_us"])

    def operations(fn) -> Counter:
        """np.exp/log/log1p/sqrt calls and powers in `fn`'s code (not its docstring)."""
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        found = Counter()
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
                found["pow"] += 1
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                func = node.func
                if isinstance(func.value, ast.Name) and func.value.id == "np":
                    found[func.attr] += 1
        return found

    listed: dict[str, Counter] = {}
    for row in out["rows"]:
        for place in row["where"].split(", "):
            owner, name = place.split(".")
            assert hasattr(owners[owner], name), place
            if row["kind"] == "math":
                listed.setdefault(place, Counter())[row["op"].split()[0]] += 1
    for place, kinds in listed.items():
        owner, name = place.split(".")
        have = operations(getattr(owners[owner], name))
        for kind, n in kinds.items():
            assert have[kind] >= n, (place, kind, n, have[kind])
    m.release()


def test_single_precision_experiment_times_every_math_operation_of_the_floor(monkeypatch):
    """benchmarks/experiments/single_precision.py runs (tiny scale) and prints a float32 time for
    each of the floor's math operations, and single-precision results close to double's."""
    import subprocess

    import numpy as np

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks" / "experiments"))
    import single_precision

    rng = np.random.default_rng(0)
    x, small = rng.random(1000) * 100 + 1e-3, rng.random(1000) * 0.1  # as the experiment uses
    for op, arg, want in (
        ("exp", small, np.exp(small)),
        ("log", x, np.log(x)),
        ("log1p", small, np.log1p(small)),
        ("pow", x, x**0.37),
        ("sqrt", x, np.sqrt(x)),
    ):
        got = single_precision._single(op, arg)
        assert got.dtype == np.float64 and np.allclose(got, want, rtol=1e-6, atol=1e-6)
    script = ROOT / "benchmarks" / "experiments" / "single_precision.py"
    cmd = [sys.executable, str(script), "--scale", "0.01", "--repeats", "1"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stdout
    lines = out.splitlines()
    rows = [ln for ln in lines if ln.startswith(("exp ", "log", "pow ", "sqrt "))]
    assert len(rows) == 19
    assert "single precision would save about" in out
