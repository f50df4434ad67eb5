"""The arithmetic floor of a firm-agent step: what the transcendental functions and random
variates a live firm needs each step cost on this machine, with nothing else (no memory traffic
besides their own arrays, no bookkeeping, no markets' other work).

The inventory (`INVENTORY`) lists, per live firm and step, every elementwise exp, log, log1p,
power and square root and every random variate of the step's firm-level code, with where it is
(sim/model/...). Each is timed on the model's own state at the end of a run (arrays of the live
firms, exponents from the parameters), best of `repeats`, and the floor per firm-agent step is
their sum. Draws keyed by firm id (sim.model.clock.AgentDraws) are made for every id up to the
largest, so they count `ids / live` times.

This is a lower bound of any implementation of the current model in double precision that calls
the C library's functions (numpy on this CPU does: its SIMD exp/log for float64 need AVX-512,
and compiled loops call the same functions, with the same results): `ratio_at_floor` is the
ratio to the bare Boltzmann model that such an implementation could reach at best.
"""

from __future__ import annotations

import time

import numpy as np

from sim.model.agents.firm import LISTED

DRAWS = ("uniform,", "exponential,", "laplace,", "poisson", "binomial", "uniforms")


def best_time(fn, repeats: int, setup=None) -> float:
    """Fastest of `repeats` timed calls, in seconds: `fn()`, or `fn(setup())` with the setup
    (a fresh copy of the state, say) outside the timing. The minimum, because on a shared
    machine noise only ever adds time."""
    best = float("inf")
    for _ in range(repeats):
        arg = () if setup is None else (setup(),)
        t0 = time.perf_counter()
        fn(*arg)
        best = min(best, time.perf_counter() - t0)
    return best


def _inventory(model, live, rng):
    """(label, where, per live firm, function[, elements]) for every per-firm operation of a
    step: the function's cost per element (of `elements`, the live firms unless given) times
    how many a live firm takes a step. Operations on small subsets (the applicants of a funding
    round, entrants, relocating firms) are left out."""
    f, p, spy, dt = model.firms, model.p, model.steps_per_year, model.dt
    rev = np.maximum(f.revenue[live], 1e-9)
    log_rev = np.log(rev)
    tech = np.maximum(f.tech[live], 1e-3)
    age = f.age[live].astype(float)
    emp = np.maximum(f.employees[live], 1.0)
    access = np.clip(rng.lognormal(0.0, 0.3, live.size), 1e-6, None)
    small = rng.random(live.size) * 0.1
    ratio = rev / p.revenue_per_employee / emp
    lam = np.maximum(f.rd_q[live], 0.0) * 0.5
    # the patent office draws only for firms with something pending or held (patent_office)
    pending = f.pending[live][f.pending[live] > 0]
    patents = f.patents[live][f.patents[live] > 0]
    decided = rng.binomial(pending, min(1.0, dt / p.patent_pendency_years))
    decided = decided[decided > 0]
    share = {"pending": pending.size, "patents": patents.size, "decided": decided.size}
    share = {k: v / live.size for k, v in share.items()}
    ids = int(f.firm_id[live].max()) + 1
    keyed = ids / live.size
    # venture-eligible firms draw whether they apply (capital.rounds): young, unlisted, Beijing
    eligible = float(
        np.mean(
            (f.stage[live] < LISTED) & (age * dt < p.venture_max_age_years) & f.in_beijing(live)
        )
    )
    return [
        ("pow (1-h)^dt", "firm.closing", 1, lambda: (1.0 - small) ** dt),
        ("pow size", "firm.exit_hazard", 1, lambda: (rev / p.revenue_ref) ** (-p.exit_size_slope)),
        ("pow reach", "firm.innovate", 1, lambda: access**p.knowledge_elasticity),
        ("exp dlog_tech", "firm.innovate", 1, lambda: np.exp(small)),
        ("pow effort", "firm._gain", 1, lambda: (rev / emp) ** p.tech_rd_elasticity),
        ("pow catch-up", "firm._gain", 1, lambda: tech ** (-p.tech_catch_up)),
        ("log access", "firm.accumulate_rd_capital", 1, lambda: np.log(access)),
        ("pow shock scale", "firm.grow", 1, lambda: rev ** (-p.growth_shock_size_slope)),
        ("log1p centring", "firm.grow", 1, lambda: np.log1p(-small)),
        ("exp share", "firm.grow", 1, lambda: np.exp(small)),
        ("pow staff", "firm.grow", 1, lambda: ratio ** min(1.0, p.employment_adjustment * dt)),
        ("log revenue", "firm.update_margin", 1, lambda: np.log(rev)),
        ("log plan", "firm.update_margin", 1, lambda: np.log(rev)),
        ("exp plan", "firm.update_margin", 1, lambda: np.exp(small)),
        ("log tech", "firm.update_margin", 1, lambda: np.log(tech)),
        ("log tech", "firm._fundamental", 1, lambda: np.log(tech)),
        ("exp value", "firm._fundamental", 1, lambda: np.exp(log_rev)),
        ("pow absorb", "technology.firm_demand", 1, lambda: tech**p.absorptive_elasticity),
        ("sqrt quality", "technology.offers", 1, lambda: np.sqrt(tech)),
        ("uniform, keyed", "firm.closing", keyed, lambda: rng.random(live.size)),
        ("exponential, keyed", "firm.innovate", keyed, lambda: rng.exponential(1.0, live.size)),
        ("laplace, keyed, yearly", "firm.grow", keyed / spy, lambda: rng.laplace(0, 1, live.size)),
        ("poisson", "firm.innovate", 1, lambda: rng.poisson(lam)),
        (
            "binomial decided",
            "patent_office.decide",
            share["pending"],
            lambda: rng.binomial(pending, min(1.0, dt / p.patent_pendency_years)),
            pending.size,
        ),
        (
            "binomial granted",
            "patent_office.decide",
            share["decided"],
            lambda: rng.binomial(decided, p.patent_grant_rate),
            decided.size,
        ),
        (
            "binomial lapsed",
            "patent_office.decide",
            share["patents"],
            lambda: rng.binomial(patents, 1.0 - (1.0 - p.patent_lapse_rate) ** dt),
            patents.size,
        ),
        ("uniforms x4", "capital.lend, capital.exits", 4, lambda: rng.random(live.size)),
        ("uniform, applies", "capital.rounds", eligible, lambda: rng.random(live.size)),
        ("uniforms x2, yearly", "firm.certify_hte", 2 / spy, lambda: rng.random(live.size)),
    ]


def arithmetic_floor(model, repeats: int = 5) -> dict:
    """Per firm-agent step: the inventory's cost on the model's state (after a run)."""
    live = model.firms.live
    rng = np.random.default_rng(0)
    rows = []
    with np.errstate(all="ignore"):
        for label, where, mult, fn, *size in _inventory(model, live, rng):
            n = max(size[0] if size else live.size, 1)
            best = best_time(fn, repeats)
            kind = "draw" if label.split()[0] in DRAWS else "math"
            ns = best / n * 1e9 * mult  # per live firm
            rows.append({"op": label, "where": where, "kind": kind, "count": mult, "ns": ns})
    per_step_us = sum(r["ns"] for r in rows) / 1000
    math = [r for r in rows if r["kind"] == "math"]
    return {
        "us_per_firm_step": per_step_us,
        "math_ops": len(math),
        "math_us": sum(r["ns"] for r in math) / 1000,
        "draws_us": sum(r["ns"] for r in rows if r["kind"] == "draw") / 1000,
        "rows": rows,
        "live": int(live.size),
    }
