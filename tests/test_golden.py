"""Golden results: the restructure of issue 14 (and any change meant to preserve behaviour) must
leave `innosim run`'s indicators.csv byte-identical.

The digests were recorded on main before anything moved (commit 7bbce82), with
`innosim run scenarios/NAME.yaml --seed 7 --scale S --replicates 2`. A change that is meant to
alter the model's behaviour updates them in the same commit and says why.

Updated for issue 15 (the economics rebuilt: R&D capital and growth, valuation and the capital
market, the technology market's matching, wages and talent, HTE rules and operating leverage,
and the recalibration): every indicator is meant to change.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sim.app.cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

GOLDEN = {
    ("baseline", 0.05): "979c2413428ece623cab5b3bcf181575a54706078a923b5b76a956597386f420",
    ("baseline", 0.2): "2bc9e9a445d6184f31c90bcd5add9bf9ac5a58084c95a7eebb2726232290afa2",
    ("plan", 0.05): "d4ffb035c3b5dbaf8e58e79f4cd8179691feb5f966998c6ef2e7d8bdb771103a",
    ("plan", 0.2): "f3bf4a921580d6907f71f64774b64a713d89849fb4a376a549ec4300f17b056c",
    ("historical", 0.05): "163006abbacf2588e6511ef5075c5db26147b7b77859e4533cdc2bb83e3b0084",
    ("historical", 0.2): "27c1dbb84349f6f7f1ab8c5f5e37b6968f8d3af85a230cf577351a1667f2f7ab",
}


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = hashlib.sha256((out / "indicators.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
