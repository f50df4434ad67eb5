"""Knowledge: basic research raises public knowledge by field; firms draw on it with spillovers that
decay with distance (power law) and grow with co-location in the science cities and academic mobility.

produce_knowledge: K_u <- (1 - delta) K_u + a * basic_u^0.8 * (1 + facility bonus for Huairou units)
firm_knowledge_access: access[f, r] = sum_r' K[f, r'] (1 + d(r, r') / d_ref) ** -gamma_K, relative to 2015,
times (1 + co-location bonus) for firms inside a science city.
"""

from __future__ import annotations

import numpy as np

from .agents.region import HUAIROU, N_REGIONS, NO_PLACE, distance_decay
from .sectors import N_SECTORS


def produce_knowledge(m, facility_investment: float) -> None:
    p, u = m.p, m.universities
    bonus = np.where(
        u.place == HUAIROU, p.facility_effect * np.sqrt(facility_investment / p.facility_ref), 0.0
    )
    u.knowledge = (1.0 - m._per_step(p.knowledge_depreciation)) * u.knowledge + knowledge_flow(
        m, u.basic_q
    ) * (1.0 + bonus)
    # Reputation follows knowledge slowly (it steers the share of funding and of recruits).
    u.reputation = (1 - m._per_step(p.reputation_adjustment)) * u.reputation + m._per_step(
        p.reputation_adjustment
    ) * u.knowledge / max(u.knowledge.mean(), 1e-12)


def knowledge_flow(m, basic_step) -> np.ndarray:
    """New knowledge per step from basic research spend (annualised, per full-scale unit)."""
    annual = basic_step / m.dt / max(m.scale_universities, 1e-12)
    return m.p.knowledge_productivity * annual**0.8 * m.dt


def public_knowledge(m) -> np.ndarray:
    u = m.universities
    k = np.zeros((N_SECTORS, N_REGIONS))
    np.add.at(k, (u.field, u.region), u.knowledge)
    return k


def firm_knowledge_access(m, mobile_share: float) -> np.ndarray:
    """Access index (1 = 2015 average) for every live firm."""
    p, f = m.p, m.firms
    k = public_knowledge(m)
    decay = distance_decay(m.regions.distance, p.distance_ref_km, p.knowledge_distance_decay)
    field_spill = p.field_spillover + (1 - p.field_spillover) * np.eye(N_SECTORS)
    access = field_spill @ k @ decay  # [field, region]
    if m.knowledge_access_ref is None:
        m.knowledge_access_ref = max(access[:, :3].mean(), 1e-12)
    access = access / m.knowledge_access_ref
    live = f.live
    a = access[f.sector[live], f.region[live]]
    coloc = np.where(f.place[live] != NO_PLACE, p.colocation_bonus, 0.0)
    return a * (1.0 + coloc) * (1.0 + p.mobility_spillover * mobile_share)
