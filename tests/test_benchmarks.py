"""Performance against the committed reference (marker `benchmark`, not in the default suite):

    .venv/bin/pytest -m benchmark

Re-measures the model figures of benchmarks/bench.py in fresh processes (the full-scale baseline
and Mesa's Boltzmann model, cost per agent at scales 0.1, 0.3 and 1.0; the sweep is left to
`make bench`) and fails when one is more than 20% worse than benchmarks/results/reference.json or
misses its target. The table helpers themselves are checked in the default suite.
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
    ref = {"full_total_s": 10.0, "ratio_vs_boltzmann": 6.0, "cost_growth_pct": 5.0}
    ok = {"full_total_s": 11.9, "ratio_vs_boltzmann": 4.9, "cost_growth_pct": 50.0}
    assert bench.regressions(ok, ref) == []
    bad = {"full_total_s": 12.1, "ratio_vs_boltzmann": 4.7, "cost_growth_pct": 50.0}
    found = bench.regressions(bad, ref)
    assert len(found) == 2
    assert found[0].startswith("full scale: build + run") and "ratio" in found[1]


def test_table_marks_targets_and_change():
    flat = {"full_total_s": 4.0, "ratio_vs_boltzmann": 4.0}
    text = bench.table(flat, {"full_total_s": 5.0})
    assert "<= 15 s: met" in text and ">= 5 x: MISSED" in text and "-20%" in text


def test_reference_is_committed_with_every_figure():
    ref = json.loads(bench.REFERENCE.read_text())
    keys = {k for k, *_ in bench.FIGURES}
    assert keys <= set(ref["figures"]), keys - set(ref["figures"])
    assert ref["machine"]["cores"] >= 1


@pytest.mark.benchmark
def test_model_performance_against_the_reference():
    from bench_model import measure_model

    model = measure_model(repeats=3, scales=(0.1, 0.3, 1.0), progress=lambda s: None)
    flat = bench.flatten(model, None)
    ref = json.loads(bench.REFERENCE.read_text())["figures"]
    assert not bench.regressions(flat, ref), bench.table(flat, ref)
    # Targets with a wide margin here; the ratio to Boltzmann (target 5x, about 5-6x measured)
    # is left to the regression check, as single measurements of it vary by +-10%.
    assert flat["full_total_s"] <= 15.0 and flat["full_peak_mb"] <= 2048.0
