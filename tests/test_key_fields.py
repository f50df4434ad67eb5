"""Issue 16: the plan's two lists of key fields, kept as it gives them (task 5: the national
technology innovation centers; task 6: the eight technology leap projects), each read from the
plan's text and acting where its task acts."""

from __future__ import annotations

import numpy as np

from sim.inputs.paths import ROOT
from sim.model import InnovationModel
from sim.model.agents.firm import FirmPopulation
from sim.model.agents.region import BEIJING
from sim.model.sectors import (
    INNOVATION_CENTER_SECTORS,
    LEAP_SECTORS,
    N_SECTORS,
    SECTORS,
    TASK5_INNOVATION_CENTER_FIELDS,
    TASK6_LEAP_FIELDS,
)

PLAN = (ROOT / "seeds" / "beijing_sti_center_plan_2016.zh.txt").read_text(encoding="utf-8")


def _task_text(n: int) -> str:
    start = PLAN.index(f"{n}.")
    return PLAN[start : PLAN.index(f"{n + 1}.", start)]


def test_both_lists_are_the_plans_own():
    t5, t6 = _task_text(5), _task_text(6)
    assert len(TASK5_INNOVATION_CENTER_FIELDS) == 8 and len(TASK6_LEAP_FIELDS) == 8
    assert all(zh in t5 for zh, _, _ in TASK5_INNOVATION_CENTER_FIELDS)
    assert all(zh in t6 for zh, _, _ in TASK6_LEAP_FIELDS)
    assert "八大技术跨越工程" in t6
    for _, _, sector in TASK5_INNOVATION_CENTER_FIELDS + TASK6_LEAP_FIELDS:
        assert sector is None or sector in SECTORS


def test_the_lists_differ_as_in_the_plan():
    names = lambda idx: {SECTORS[i] for i in idx}  # noqa: E731
    only5 = names(INNOVATION_CENTER_SECTORS) - names(LEAP_SECTORS)
    only6 = names(LEAP_SECTORS) - names(INNOVATION_CENTER_SECTORS)
    assert only5 == {"integrated_circuits", "aerospace"}
    assert only6 == {"new_energy_vehicles", "new_materials"}
    assert SECTORS.index("modern_services") not in set(INNOVATION_CENTER_SECTORS) | set(
        LEAP_SECTORS
    )


def test_leap_grants_go_to_task_6_fields_only():
    f = FirmPopulation(N_SECTORS)
    idx = f.add(N_SECTORS, sector=np.arange(N_SECTORS), region=BEIJING[0], revenue=1.0)
    f.rd_pref[idx] = 0.05
    m = InnovationModel("baseline", scale=0.02, rng=1)
    grant = f.receive_leap_grants(idx, annual=10.0, scale=1.0, dt=0.25, money=m.money)
    assert set(np.flatnonzero(grant > 0)) == set(LEAP_SECTORS)


def test_innovation_centers_help_only_task_5_fields_absorb_bought_technology():
    m = InnovationModel("baseline", scale=0.02, rng=1)
    f, p = m.firms, m.p
    idx = f.add(N_SECTORS, sector=np.arange(N_SECTORS), region=BEIJING[0], revenue=1.0)
    f.purchases_q[idx] = 0.1
    without = f._rd_investment(idx, p, 0.0)
    with_centers = f._rd_investment(idx, p, 1.0)
    assert set(np.flatnonzero(with_centers > without)) == set(INNOVATION_CENTER_SECTORS)
