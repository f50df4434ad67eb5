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
    ("baseline", 0.05): "ddd4247b11bc173231b54ed8843c87a96f566f38770ffe944b6231b2e3da8b08",
    ("baseline", 0.2): "a1ecd706f62bff9b2970af50daad599438b7dc62d960b0793398f8788dce3aeb",
    ("plan", 0.05): "955624b2a44eb5dfa5eb81649d915024103151a6f5e139220f8324e5f2368b81",
    ("plan", 0.2): "bb283e28e09fe4c801b802bcedb7b42757c1e4f4c298fabcb4f3021b9626e9a3",
    ("historical", 0.05): "a1cb62694427825a32621ffa4f902872d7c3d21a25374bc6ddaf58457d0a1a41",
    ("historical", 0.2): "b20178fc136c0d4a5225a3be29d129259a14fb2788423ac147caaf6e7d4dce3f",
}


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = hashlib.sha256((out / "indicators.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
