"""Invariants the speed-ups of agent registration rely on (sim.model.agents.view)."""

from __future__ import annotations

import gc

from helpers import SHORT

from sim.model import InnovationModel
from sim.model.agents.firm import Firm


def _model():
    m = InnovationModel(SHORT, scale=0.02, rng=11)
    m.agents  # noqa: B018 - firm agents made at once, then kept in step
    for _ in range(m.steps_per_year + 1):  # entries, exits and one compaction
        m.step()
    return m


def test_registries_count_exactly_the_live_firms():
    """Batch registration (shared weak references without callbacks) and batch deregistration
    keep every registry's length, membership and order right."""
    m = _model()
    f = m.firms
    of_type = m.agents_by_type[Firm]
    live = [m.firm_views.agent(s) for s in f.live.tolist()]
    assert len(of_type) == len(live) == sum(isinstance(a, Firm) for a in m.agents)
    assert list(of_type) == live  # registration order is slot order (compaction keeps it)
    assert all(a in of_type and a in m.agents for a in live)
    assert [a.unique_id for a in live] == f.firm_id[f.live].tolist()


def test_mesa_remove_works_on_batch_registered_agents():
    m = _model()
    agent = m.firm_views.agent(int(m.firms.live[-1]))
    n, n_all = len(m.agents_by_type[Firm]), len(m.agents)
    agent.remove()
    assert agent not in m.agents_by_type[Firm] and agent not in m.agents
    assert len(m.agents_by_type[Firm]) == n - 1 and len(m.agents) == n_all - 1


def test_registering_agents_leaves_the_garbage_collector_as_it_was():
    was = gc.isenabled()
    try:
        gc.enable()
        _model()
        assert gc.isenabled()
        gc.disable()
        _model()
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()
