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
    ("baseline", 0.05): "34b03e473c8e926b8cee4231422ada8ef5285705599861816beef8c2e58b965d",
    ("baseline", 0.2): "009c348af29c9cd5f1349a62dd9e425bb671c31b3702a59f14656ce3c565cac1",
    ("plan", 0.05): "19c1892646afe2836501dde2772ba03e2e3976b594a63a1a662629915c9024ea",
    ("plan", 0.2): "36636aa1c760315d09df6710a26a8e9df17c9873a29221771eb9a6a8e23de16e",
    ("historical", 0.05): "852af18a65eeb3c56bbf2d13570f37544325110acf4705d7f00b3403e300a218",
    ("historical", 0.2): "f484dbc09881f9bdb40ca2070a2d20ecc96424c93fb6b24dff524b40f7dc06c2",
}


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = hashlib.sha256((out / "indicators.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
