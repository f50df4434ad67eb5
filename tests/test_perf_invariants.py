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


def test_kept_draws_equal_fresh_draws():
    """A yearly draw kept by the clock (AgentDraws memo) gives every agent what a fresh draw of
    the same key gives, also when agents with larger ids appear later in the year and when a
    draw follows the kept one."""
    import numpy as np

    from sim.model.clock import AgentDraws

    memo: dict = {}
    early, late = np.array([0, 3, 7, 2]), np.array([1, 12, 5, 3, 40])
    for method in ("laplace", "random", "exponential"):
        first = getattr(AgentDraws(9, 2, 2020, early, memo), method)()
        assert np.array_equal(first, getattr(AgentDraws(9, 2, 2020, early), method)())
        kept, fresh = AgentDraws(9, 2, 2020, late, memo), AgentDraws(9, 2, 2020, late)
        assert np.array_equal(getattr(kept, method)(), getattr(fresh, method)())
        assert np.array_equal(kept.random(), fresh.random())  # the next draw continues alike
        again = getattr(AgentDraws(9, 2, 2020, early, memo), method)()
        assert np.array_equal(again, first)
    other = AgentDraws(9, 2, 2021, early, memo).laplace()  # a new key replaces the kept one
    assert not np.array_equal(other, AgentDraws(9, 2, 2020, early).laplace())


def test_patent_office_skips_only_draws_that_cannot_happen():
    """Deciding only applicants with something pending or held takes the same draws as
    deciding everyone (numpy's binomial draws nothing for n = 0)."""
    import numpy as np

    from sim.inputs.params import Params
    from sim.model.agents import patent_office
    from sim.model.clock import Clock

    rng = np.random.default_rng(4)
    pending = rng.poisson(0.8, 5000) * (rng.random(5000) < 0.5)
    patents = rng.poisson(3.0, 5000) * (rng.random(5000) < 0.4)
    idx = np.flatnonzero(rng.random(5000) < 0.9)
    p, a, b = Params(), Clock(2016, 2020, 4, 7), Clock(2016, 2020, 4, 7)
    pa, ta = pending.copy(), patents.copy()
    granted = patent_office.decide(pa, ta, idx, p, a)
    # all applicants, the way the office decided before it skipped anyone
    r = b.streams["innovation"]
    decided = r.binomial(pending[idx], min(1.0, b.dt / p.patent_pendency_years))
    want = r.binomial(decided, p.patent_grant_rate)
    lapsed = r.binomial(patents[idx], b.per_step(p.patent_lapse_rate))
    assert np.array_equal(granted, want)
    assert np.array_equal(pa[idx], pending[idx] - decided)
    assert np.array_equal(ta[idx], patents[idx] + want - lapsed)
    assert a.streams["innovation"].random() == r.random()  # both streams end in the same state


def test_young_factor_from_the_age_table_has_the_bits_of_the_formula():
    """`FirmPopulation.young` reads exp(-age dt / T) from a table by age: the same bits as the
    formula per firm, when the table grows, when T or dt change, and for ages set below zero."""
    import numpy as np

    from sim.inputs.params import Params
    from sim.model.agents.firm import FirmPopulation

    f = FirmPopulation(500)
    rng = np.random.default_rng(3)
    idx = f.add(500, age=rng.integers(0, 40, 500).astype(np.int32))
    for young_years, dt, top in (
        (3.0, 0.25, 40),
        (3.0, 0.25, 900),
        (5.5, 0.25, 900),
        (5.5, 1.0, 9),
    ):
        p = Params({"young_firm_years": young_years})
        f.age[idx] = rng.integers(0, top, idx.size)
        want = np.exp(-f.age[idx] * dt / p.young_firm_years)
        assert np.array_equal(f.young(idx, p, dt), want)
        # sized by the oldest firm (at least 64 ages), not grown by changes of key
        assert f._young_table[1].size == max(64, int(f.age[idx].max()) + 1)
    f.age[idx[:3]] = -2
    want = np.exp(-f.age[idx] * dt / p.young_firm_years)
    assert np.array_equal(f.young(idx, p, dt), want)
    assert f.young(idx[:0], p, dt).size == 0


def test_allocator_tuning_is_applied_once_and_yields_to_the_user():
    """The glibc settings are applied when a model is built, unless the user set glibc's own
    variables or INNOSIM_MALLOC_TUNING=0 (each case in a fresh process)."""
    import os
    import platform
    import subprocess
    import sys

    import pytest

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    code = (
        "import os\n"
        "from sim.model import allocator, InnovationModel\n"
        "InnovationModel(scale=0.005, rng=1)\n"
        "os.environ['INNOSIM_MALLOC_TUNING'] = '0'  # too late: applied once, kept\n"
        "print(allocator._state['applied'], allocator.tune())\n"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    base.pop("INNOSIM_MALLOC_TUNING", None)
    cases = (({}, "True True"), ({"INNOSIM_MALLOC_TUNING": "0"}, "False False"))
    cases += (({"MALLOC_TOP_PAD_": "1048576"}, "False False"),)
    cases += (({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"}, "False False"),)
    for extra, want in cases:
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**base, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip().splitlines()[-1] == want, (extra, out.stdout, out.stderr)


def test_a_released_model_is_freed_without_the_cyclic_collector():
    """`InnovationModel.release` frees a finished model's state at once (a worker running many
    models would otherwise hold several until Python's cyclic collector runs), and run_one
    releases each model it made."""
    import weakref

    import sim.model.model as model_module
    from sim.experiments import runs

    was = gc.isenabled()
    gc.disable()
    try:
        m = InnovationModel(SHORT, scale=0.01, rng=3)
        m.step()
        firms, model = weakref.ref(m.firms), weakref.ref(m)
        m.release()
        del m
        assert firms() is None  # freed by reference counting, no collection ran
        made = []

        original = model_module.InnovationModel

        class Watched(original):
            def __init__(self, *a, **k):
                super().__init__(*a, **k)
                made.append(weakref.ref(self.firms))

        model_module.InnovationModel = Watched
        try:
            runs.run_one(SHORT, seed=4, scale=0.01)
        finally:
            model_module.InnovationModel = original
        assert made and made[0]() is None
        del model
    finally:
        if was:
            gc.enable()
