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
    ("baseline", 0.05): "229184ab73ce54a877f204fed019c3e4d72d801d3054c0525081dc9f121c2d6a",
    ("baseline", 0.2): "141d17efc0b7b46b99e485ca29584d77f75906b95875b7952df2cf1969181692",
    ("plan", 0.05): "de4f984e486269eab757ea1d4341405caeaa8bfc394075eb8c69c562053197bc",
    ("plan", 0.2): "b1db21a63c540fe7001b4f3078380a93f457e3049c69ed61203986963634b220",
    ("historical", 0.05): "e0da12e2aab09d556bb07183bd0241736d46e442c42679e6f7820615ee2eec06",
    ("historical", 0.2): "c5d88383ce9b3745fa24d3c0030af37729355bba81e802a3686dbc8ad6b84301",
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
