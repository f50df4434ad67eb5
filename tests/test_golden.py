"""Golden results: the restructure of issue 14 (and any change meant to preserve behaviour) must
leave `innosim run`'s indicators.csv byte-identical.

The digests were recorded on main before anything moved (commit 7bbce82), with
`innosim run scenarios/NAME.yaml --seed 7 --scale S --replicates 2`. A change that is meant to
alter the model's behaviour updates them in the same commit and says why.

Updated for issue 15 (the economics rebuilt: R&D capital and growth, valuation and the capital
market, the technology market's matching, wages and talent, HTE rules and operating leverage,
and the recalibration): every indicator is meant to change. Updated again when the technology
offer's diminishing returns moved from each seller to each kind of seller as a whole (ODD 7.8).
Updated for issue 17: runs draw replicate r's parameters from the posterior by default
(`seeds/posterior.parquet`), and the 2015 basic share follows the run's firm_rd_share_2015.
Updated for issue 18: a research unit's reputation and technology offer follow its knowledge per
researcher, not its knowledge stock (which grew with its size and concentrated the researchers
in a few units; ODD 7.2).

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
    ("baseline", 0.05): "a36c2cdec5e6c63c2620710b9feb21eb06ab3a0a0095aecc9748a4a16c2246a4",
    ("baseline", 0.2): "e322586906240ff2c9b7a0844d12fae788bff1f791088348556e700ff0d09e02",
    ("plan", 0.05): "143536cda22512bf9d6191f4ef6810a6898e56f10837805843f806646382ae6a",
    ("plan", 0.2): "93748440be8fb6aface32bf250d2b961783f4dc74c834854fa270676c3adb41d",
    ("historical", 0.05): "6626527b7d819b777ae5f00d96051f7e71fd06fb5151be0fbf4eae14dd559a1c",
    ("historical", 0.2): "3e5221f11f5201d9cf069cfcc9052d4b9fb5cfe0c5da966e4b7f273106f9b32d",
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
