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
    ("baseline", 0.05): "7286ce714e239617024eac7cc27e551e27c90936b16d1c722002b07f9a5c2a38",
    ("baseline", 0.2): "6c834ec382134f072c24c40949f2612e45d75fb8358fd1ed15bb60ff96ae3748",
    ("plan", 0.05): "e9448da0950949f4896ed0ca4a4abd85b499c69ceba43fb8b71a5b4904a2b0f9",
    ("plan", 0.2): "52e0559acbc7693e60e5b9b215d5034053547743e2ed1c8c5df7619177c80963",
    ("historical", 0.05): "c3d45b986fa44293a998095d4500fd96cf0f27df7774f5e8058b57898d72f3a8",
    ("historical", 0.2): "21fc00adae7d107413082940c59c5445fb8c9214210aa49fceb38ac31c2601b9",
}


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = hashlib.sha256((out / "indicators.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
