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
    ("baseline", 0.05): "d61861cd06230242020fd82ffb4f43650b8ebcf97505936ba0732746d32252a9",
    ("baseline", 0.2): "ece5b9ca3e352c0cbf3b149dfa739a1d55c865dbbf3a50a0123a4454aa341912",
    ("plan", 0.05): "81e0a8481a63d5ca9cdd9e4989ddccf47a9dadb3f35462daaac70e70030a3090",
    ("plan", 0.2): "214194fe41aa52233c2df0e67c3b8f5d4ecf6c0162a70a15dbf8897cfb52d4e0",
    ("historical", 0.05): "abcabb4c4cbb0fcc8b88d0e13c65c4d7ddaa29041f21211ccdfd46a835282ef7",
    ("historical", 0.2): "bcb3408f9e9c620ecc6590d5107975aa2e76622335542195ac8a0081f5a3f746",
}


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = hashlib.sha256((out / "indicators.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
