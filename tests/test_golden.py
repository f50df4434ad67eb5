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
    ("baseline", 0.05): "40e06329f837dd43f5c06efd602e3e02f1e5193c9e1576d7defb5ffd99b0fadb",
    ("baseline", 0.2): "6f1929a0099c45f7f34743f5832a834564ed60aad6418deba80fba4baa51367f",
    ("plan", 0.05): "0d68c45c5d116589bd76dd585ef6bd4368e00559cbc6fc1903236fa42ac48c0b",
    ("plan", 0.2): "4177cda6099a466bfe997022526ea408f25ea3c7008e9ccdb73c5059c345698e",
    ("historical", 0.05): "9a1c770953f11860228bfa3fe083dd7d6a25dc327e6bf1a8b24a2f20573e3bfd",
    ("historical", 0.2): "7bad3d2496853ea0c7571ef3b0b65979af055bca92aafbe6b24f87b4d357fe10",
}


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = hashlib.sha256((out / "indicators.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
