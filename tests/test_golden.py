"""Golden results: the restructure of issue 14 (and any change meant to preserve behaviour) must
leave `innosim run`'s indicators.csv byte-identical.

The digests were recorded on main before anything moved (commit 7bbce82), with
`innosim run scenarios/NAME.yaml --seed 7 --scale S --replicates 2`. A change that is meant to
alter the model's behaviour updates them in the same commit and says why.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sim.app.cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

GOLDEN = {
    ("baseline", 0.05): "48456db59a32c286b134d4e3e70a579545df7b13fa93342b91fab6d7cbb54955",
    ("baseline", 0.2): "14d46745322c067a09c17425ca1b6f9f847f27b04aec99dd174c58efc2fcbbc1",
    ("plan", 0.05): "e35c215be96fc349839529265b6e2f22bf22422e30da57ab4d8480198d336a05",
    ("plan", 0.2): "c1bff152ef74d2ba1fd155c9e2e4d8d3631406195c858dd5a6bdf898d7044c7a",
    ("historical", 0.05): "15cb4c375456abbac22ec524277eab053fbcd5bb46987c83b293a0944cb77bd1",
    ("historical", 0.2): "b672b1494932df5d0874db05af139e07d1f67dfb3a33b7689e631cfae907d731",
}


@pytest.mark.parametrize(("name", "scale"), sorted(GOLDEN))
def test_indicators_are_byte_identical(tmp_path, name, scale):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / f"{name}.yaml"), "--seed", "7", "--scale", str(scale)]
    assert main([*argv, "--replicates", "2", "--out", str(out), "--quiet"]) == 0
    digest = hashlib.sha256((out / "indicators.csv").read_bytes()).hexdigest()
    assert digest == GOLDEN[name, scale], f"{name} at scale {scale}: indicators.csv changed"
