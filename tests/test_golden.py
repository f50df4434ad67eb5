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
    ("baseline", 0.05): "88a8004d9396bb7dfe187555f651e64f1717b363899ed8795a8d3ef06fe223f5",
    ("baseline", 0.2): "e6776c8edae29dc52d2459d2d264fff835ee3df8bdf17be93a193c2f1c62bec8",
    ("plan", 0.05): "552338c9a5659f908e86820c1518a75756125e0809fc5094e60ec103ed248446",
    ("plan", 0.2): "ce3c40f030cc2e28ac1cd1214d2f532e0069d905086211a0307752dfec487bb3",
    ("historical", 0.05): "4a003fac53e2d7bf0506eac8ea23e046e28f5918dcbbc5bbb427f4a1ba8fa470",
    ("historical", 0.2): "6260ae910370a848fc4bd56782083451a2381eba7326ed0bcfaa624b773dd944",
}


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = hashlib.sha256((out / "indicators.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
