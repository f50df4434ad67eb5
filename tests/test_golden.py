"""Golden results: the restructure of issue 14 (and any change meant to preserve behaviour) must
leave `innosim run`'s indicators.csv byte-identical.

The digests were recorded on main before anything moved (commit 7bbce82), with
`innosim run scenarios/NAME.yaml --seed 7 --scale S --replicates 2`. A change that is meant to
alter the model's behaviour updates them in the same commit and says why.

Updated for issue 15 (the economics rebuilt: R&D capital and growth, valuation and the capital
market, the technology market's matching, wages and talent, HTE rules and operating leverage,
and the recalibration): every indicator is meant to change. Updated again when the technology
offer's diminishing returns moved from each seller to each kind of seller as a whole (ODD 7.8).

The digest is taken over the values rounded to 10 significant digits: a new numpy or pandas
release moves the last bit of a sum (measured: fresh installs differ by one ulp, 2e-16 relative,
in a handful of cells), which is not a change of behaviour; any change of the model's behaviour
moves far more than 1e-10.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from sim.app.cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

GOLDEN = {
    ("baseline", 0.05): "d676d55214fa5c8d38855b26b053a7a0b2d26734f9acbeb8ba86da60972473e0",
    ("baseline", 0.2): "3fb6f722ebcd11d80e1f531928a96b20ae79dff4dffee4aa63b9b77de7be2325",
    ("plan", 0.05): "7b94826f81eb32c54db72053b907889ea832f17468b82f02b28c62a6e38eaf45",
    ("plan", 0.2): "2fdb515acfe2e281cd5a678b76686253f23ab99ac58bf5fe6685008c74b74315",
    ("historical", 0.05): "b29e0448471ed8dfd8cd8b8b62a907367c7c2878679a18f095b6f42d0c3eeebd",
    ("historical", 0.2): "098cac183305df5e0658cce79346870777103afcec3cf8352a0adb413f2c34ec",
}


def digest_of(path: Path) -> str:
    """sha256 of the table with every number written to 10 significant digits."""
    df = pd.read_csv(path)
    text = df.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = digest_of(out / "indicators.csv")
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
