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
    ("baseline", 0.05): "d261bde75e89283e6112799ead4e233b231c8c4c637cbf20382d39ffbfee9c3e",
    ("baseline", 0.2): "9b2c54c1f3e4e57b510106c26d42c1becb04db0bd1f7980d2e9840d89066fd5c",
    ("plan", 0.05): "8bc08c219eae5fc7e4a4dfc01c616e506fbe4cd799ab4b47f2f448b1a52ddc28",
    ("plan", 0.2): "f4cab0f0b406753dc62ebb388d8bcfe698935d7f07cf53c5ebc88a6fcff62e60",
    ("historical", 0.05): "7371aef680e71c3d3dbc2bec7c28dc6edf573b7ba6940905b75cc645f56a5107",
    ("historical", 0.2): "0aa6dd417390f3e8a7ea36c7a740d860d7d0bc755367da90b0e217f7da6ededf",
}


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = hashlib.sha256((out / "indicators.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
