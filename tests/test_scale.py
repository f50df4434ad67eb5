"""The scale study (sim.experiments.scale, docs/scale.md) and what it sets: MATCHING_SCALE is the
committed study's answer, the rule that finds it, and the warning below it."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import SHORT

import sim.api as api
from sim.experiments import scale as S
from sim.inputs.paths import ROOT
from sim.inputs.scenario import MATCHING_SCALE, MIN_SCALE, ScaleWarning, scale_warning

STUDY = ROOT / "docs" / "scale"


def test_matching_scale_is_the_committed_studys_answer():
    h = pd.read_csv(STUDY / "headline.csv")
    s = S.summary(h)
    assert S.matching_scale(s) == MATCHING_SCALE
    assert sorted(h.scale.unique()) == list(S.SCALES)
    assert h.groupby(["scale", "quantity"]).size().eq(8).all()  # 8 replicates everywhere
    committed = pd.read_csv(STUDY / "summary.csv")
    assert committed.matches.tolist() == s.matches.tolist()  # summary.csv is the rule's output


def _frame(means: dict[float, float], spread: float = 1.0, n: int = 8) -> pd.DataFrame:
    """One quantity: per scale, n replicates centred on its mean."""
    offsets = np.linspace(-spread, spread, n)
    rows = [
        dict(scale=sc, replicate=r, quantity="q", value=m + o)
        for sc, m in means.items()
        for r, o in enumerate(offsets)
    ]
    return pd.DataFrame(rows)


def test_a_scale_matches_inside_full_scales_band_and_not_outside():
    s = S.summary(_frame({0.05: 10.0, 0.1: 1.9, 0.25: 0.2, 1.0: 0.0}))
    verdict = dict(zip(s.scale, s.matches, strict=True))
    assert verdict == {0.05: False, 0.1: False, 0.25: True, 1.0: True}
    assert S.matching_scale(s) == 0.25


def test_the_matching_scale_must_match_every_quantity():
    a = _frame({0.1: 0.0, 0.25: 0.0, 1.0: 0.0})
    b = _frame({0.1: 5.0, 0.25: 0.0, 1.0: 0.0}).assign(quantity="other")
    assert S.matching_scale(S.summary(pd.concat([a, b]))) == 0.25


def test_scale_warning_below_the_matching_scale_only():
    assert scale_warning(MATCHING_SCALE) is None and scale_warning(1.0) is None
    note = scale_warning(MIN_SCALE)
    assert "below 0.25" in note and "docs/scale.md" in note


def test_api_run_warns_below_the_matching_scale():
    with pytest.warns(ScaleWarning, match="below 0.25"):
        api.run(SHORT, scale=0.02, replicates=1, uncertainty="seed")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScaleWarning)
        api.run(SHORT, scale=MATCHING_SCALE, replicates=1, uncertainty="seed")


def test_run_prints_the_scale_warning_after_its_results_and_reports_it(tmp_path, capsys):
    import yaml

    from sim.app.cli import main

    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump({"name": "short", **SHORT}), encoding="utf-8")
    argv = ["run", str(path), "--scale", "0.02", "--replicates", "1", "--workers", "1"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("innosim: warning: scale 0.02 is below 0.25"), err
    assert "below 0.25, the smallest scale" in (tmp_path / "a" / "report.md").read_text()
    assert main([*argv, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""  # --quiet: the report keeps it
    assert "below 0.25" in (tmp_path / "b" / "report.md").read_text()
