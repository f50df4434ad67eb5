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
    ("baseline", 0.05): "a94b1fbaf81e9dcb77159d9ad38cd3c7259ad91c0a6599778c234b6773399e0e",
    ("baseline", 0.2): "2528b976549b17a539ec0f7c807fc7236387ac2d9f8d43bea2fd0c8d5ccfbebb",
    ("plan", 0.05): "83499b090c1d63188c4828724dd3b5235241fdc2455cc51ea1af538a6fdf49d6",
    ("plan", 0.2): "e347ea1c2fc06560e01271a157d30f8bbbe402519a337f691c2f6ef9fda52f69",
    ("historical", 0.05): "bf8fe1de2a48af5d497459aaac7dcc3130cfab198be6a999d6c09224f22f1d47",
    ("historical", 0.2): "8145b13a3dae1eb369958be3eb3918ba730b999a8c61c4948275607d1332a88c",
}


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = hashlib.sha256((out / "indicators.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
