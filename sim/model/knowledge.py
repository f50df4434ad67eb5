"""Knowledge: basic research raises public knowledge by field; firms draw on it with spillovers that
decay with distance (power law) and grow with co-location in the science cities and academic mobility.

produce_knowledge: K_u <- (1 - delta) K_u + a * basic_u^0.8 * ((F0 + F) / F0) ** e_F
* (h_u / h_2015) ** e_h, a raised by institutional reform and less administrative burden, F the
completed big-science facility stock (sim.model.facilities, F0 its 2015 level, e_F
`facility_output_elasticity`), h_u the unit's high-end talent per researcher (h_2015 its 2015
value, the same for every unit), e_h `knowledge_talent_elasticity`
firm_knowledge_access: access[f, r] = sum_r' K[f, r'] (1 + d(r, r') / d_ref) ** -gamma_K, relative to 2015,
times (1 + co-location bonus x science-city build-up) for firms inside a science city.
"""

from __future__ import annotations

import numpy as np

from sim.model.agents.region import N_REGIONS, NO_PLACE, distance_decay
from sim.model.sectors import N_SECTORS


def produce_knowledge(
    u, p, clock, levers: dict, cost_index: float, scale: float, facilities: float = 1.0
) -> None:
    """One step of the universities' (`u`) knowledge and reputation; `scale`: the share of
    universities simulated; `facilities`: the facility input relative to 2015
    (FacilityStock.knowledge_factor)."""
    per_step = clock.per_step
    u.knowledge = (1.0 - per_step(p.knowledge_depreciation)) * u.knowledge + knowledge_flow(
        u.basic_q, p, clock.dt, levers, cost_index, scale, star_ratio(u, p), facilities
    )
    # Reputation follows knowledge per researcher slowly (it steers the share of funding and of
    # recruits per researcher; UniversityPopulation.quality says why not the stock itself).
    u.reputation = (1 - per_step(p.reputation_adjustment)) * u.reputation + per_step(
        p.reputation_adjustment
    ) * u.quality()


def star_ratio(u, p) -> np.ndarray:
    """Each unit's high-end talent per researcher relative to 2015 (setup gives every unit
    `high_end_per_researcher_university`), bounded to [0.1, 10]."""
    ref = p.high_end_per_researcher_university
    if ref <= 0:  # no high-end talent per researcher in 2015: nothing to compare with
        return np.ones(u.n)
    with np.errstate(over="ignore"):  # a unit left without researchers: inf, clipped to 10
        ratio = u.high_end / np.maximum(u.researchers, 1e-9) / ref
    return np.clip(ratio, 0.1, 10.0)


def knowledge_flow(
    basic_step,
    p,
    dt: float,
    levers: dict,
    cost_index: float,
    scale: float,
    star_ratio: np.ndarray | float = 1.0,
    facilities: float = 1.0,
) -> np.ndarray:
    """New knowledge per step from basic research spend (annualised, per full-scale unit).

    Knowledge is made by research effort, not by money: spending is deflated by the research
    cost index (Beijing's wage level relative to 2015), so nominal budget growth that only keeps
    up with wages adds no knowledge. Institutional reform (task 4) and less administrative
    burden (task 17) raise what a unit of research effort yields; so does the unit's high-end
    talent per researcher relative to 2015 (`star_ratio`), with elasticity
    `knowledge_talent_elasticity` (star scientists raise their collaborators' output: Azoulay,
    Graff Zivin and Wang 2010). At 2015 ratios the factor is 1. The completed big-science
    facilities are an input shared by every unit (`facilities`, 1 at the 2015 stock)."""
    annual = basic_step / dt / max(scale, 1e-12) / cost_index
    productivity = p.knowledge_productivity * research_productivity(p, levers)
    stars = np.asarray(star_ratio, dtype=float) ** p.knowledge_talent_elasticity
    return productivity * facilities * stars * annual**0.8 * dt


def research_productivity(p, levers: dict) -> float:
    """Research output per unit of effort relative to 2015, from the institutions: reform of
    research institutions (task 4) and less administrative burden (task 17). Shared by
    knowledge (knowledge_flow) and universities' patent applications."""
    return (
        1.0
        + p.research_reform_effect * levers["research_institution_reform"]
        + p.admin_burden_effect * levers["researcher_burden_reduction"]
    )


def public_knowledge(u) -> np.ndarray:
    k = np.zeros((N_SECTORS, N_REGIONS))
    np.add.at(k, (u.field, u.region), u.knowledge)
    return k


def firm_knowledge_access(f, u, regions, p, levers: dict, reference: float | None):
    """Access index (1 = 2015 average) for every live firm of `f`, drawing on universities `u`;
    returns it and the reference level (`reference`, or the 2015 level if None: the first call).

    Firms inside a science city get the co-location bonus, scaled by the build-up of the science
    cities (task 1); mobile posts (task 13) carry knowledge from universities to firms."""
    mobile_share = levers["mobile_posts_share"]
    k = public_knowledge(u)
    decay = distance_decay(regions.distance, p.distance_ref_km, p.knowledge_distance_decay)
    field_spill = p.field_spillover + (1 - p.field_spillover) * np.eye(N_SECTORS)
    access = field_spill @ k @ decay  # [field, region]
    if reference is None:
        reference = max(access[:, :3].mean(), 1e-12)
    access = access / reference
    live = f.live
    a = access[f.sector[live], f.region[live]]
    coloc = np.where(
        f.place[live] != NO_PLACE, p.colocation_bonus * levers["science_city_support"], 0.0
    )
    return a * (1.0 + coloc) * (1.0 + p.mobility_spillover * mobile_share), reference
