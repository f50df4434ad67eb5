"""The ODD description names every lever and every parameter the code uses."""

from __future__ import annotations

import re

import pytest

from sim.inputs.levers import registry
from sim.inputs.params import definitions
from sim.inputs.paths import ROOT

ODD = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("lid", list(registry()))
def test_every_lever_is_in_the_odd(lid):
    assert re.search(rf"`{lid}`", ODD), f"lever {lid} not described in docs/ODD.md"


@pytest.mark.parametrize("name", list(definitions()))
def test_every_parameter_is_in_the_odd(name):
    assert re.search(rf"`{name}`", ODD), f"parameter {name} not in docs/ODD.md"
