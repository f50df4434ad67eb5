"""Golden results: the restructure of issue 14 (and any change meant to preserve behaviour) must
leave `innosim run`'s indicators.csv byte-identical.

The digests were recorded on main before anything moved (commit 7bbce82), with
`innosim run scenarios/NAME.yaml --seed 7 --scale S --replicates 2`. A change that is meant to
alter the model's behaviour updates them in the same commit and says why.

Updated for issue 15 (the economics rebuilt: R&D capital and growth, valuation and the capital
market, the technology market's matching, wages and talent, HTE rules and operating leverage,
and the recalibration): every indicator is meant to change. Updated again when the technology
offer's diminishing returns moved from each seller to each kind of seller as a whole (ODD 7.8).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sim.app.cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

GOLDEN = {
    ("baseline", 0.05): "2268fd67fd4a48d4c6ae4b2357b0c59edae7c68d06e6c5e71c21090addeca9ca",
    ("baseline", 0.2): "c177388cf1ce5b799c5531aa6fa73af5f2f46663417398e738a72d9cc93c780b",
    ("plan", 0.05): "35902daf7ca1f06390706018074d400c717ea4b7796dd047b52d4f2c2ba6f1e4",
    ("plan", 0.2): "0a0c419a554a849914f62fddeb78beea1359ffc92ae865d1c7cb2038211baa51",
    ("historical", 0.05): "b50154150c5bca3d5f42139de07a017a53979073a53eac3917bcfd00f5ecf32b",
    ("historical", 0.2): "c07ffe1995a831abb53ee4ccaf289cb5a28c85bc0880d452ce7f6cfad18488be",
}


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = hashlib.sha256((out / "indicators.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
