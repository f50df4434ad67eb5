"""Talent market: researchers and high-end talent as stocks held by employers and regional pools.

Who offers: the talent pool of each region (job seekers in Beijing's zones; movable talent in
Tianjin, Hebei, the rest of China and abroad), refilled by graduates, separations and migration.
Who demands: firms (researchers in proportion to their R&D budget at the zone's wage) and
universities/institutes (in proportion to their research funding).
How it clears (each quarter, per talent kind and zone): a share of the zone's pool is on offer;
if demand exceeds it, hires are rationed pro rata (O(n) with bincount); employers with more staff
than they can pay release the excess to the pool; zone wages rise with tightness.
Migration between regions follows attractiveness differences with distance and border frictions;
visa easing lowers the friction from abroad; top-talent recruitment brings high-end talent from
abroad to universities. Talent is conserved: graduates are the only births, retirement the only
deaths (accounts.Ledger "talent").
"""

from __future__ import annotations

import numpy as np

from sim.model.agents.region import (
    ABROAD,
    BEIJING,
    N_REGIONS,
    N_TALENT,
    border_matrix,
    distance_decay,
)

RESEARCHERS, HIGH_END = 0, 1


class TalentMarket:
    """Clears the regional talent pools against employers' demand; moves talent between regions.

    Works on the populations and ledger it is given at construction (the same objects all run)."""

    def __init__(self, p, clock, regions, firms, universities, talent, shocks, scale_universities):
        self.p, self.clock, self.shocks = p, clock, shocks
        self.regions, self.firms, self.universities = regions, firms, universities
        self.talent = talent  # the talent Ledger
        self.scale_universities = scale_universities
        self.dist_decay = distance_decay(
            regions.distance, p.distance_ref_km, p.talent_distance_decay
        )
        self.hires = np.zeros(N_TALENT)
        self.net_inflow_beijing = np.zeros(N_TALENT)  # per year (new_year resets)
        # Moves this year [talent kind, from region, to region], persons at simulated scale:
        # migration between regional pools and recruits from abroad (new_year resets).
        self.flow = np.zeros((N_TALENT, N_REGIONS, N_REGIONS))

    def new_year(self) -> None:
        """Start the year's flow records afresh."""
        self.net_inflow_beijing[:] = 0.0
        self.flow[:] = 0.0

    def clear(self, levers: dict, graduation: bool) -> None:
        """One quarter: retirement, promotion, graduates (once a year), academic mobility,
        top-talent recruitment, migration, hiring."""
        self.retire()
        self.promote(levers["young_scientist_support"])
        if graduation:
            self.graduate()
        self.academic_mobility(levers["mobile_posts_share"])
        self.recruit_high_end(levers)
        self.migrate(levers)
        self.match()

    # --- births and deaths --------------------------------------------------------------------
    def retire(self) -> None:
        q = self.clock.per_step(self.p.retirement_rate)
        f, u, r = self.firms, self.universities, self.regions
        live = f.live
        out = q * (f.researchers[live].sum() + f.high_end[live].sum())
        f.researchers[live] *= 1 - q
        f.high_end[live] *= 1 - q
        out += q * (u.researchers.sum() + u.high_end.sum())
        u.researchers *= 1 - q
        u.high_end *= 1 - q
        out += q * r.pool[:, BEIJING].sum()
        r.pool[:, BEIJING] *= 1 - q
        self.talent.transfer("holders", "retired", out)

    def promote(self, young_support: float = 1.0) -> None:
        """Careers: a share of employed researchers becomes high-end talent each year; support
        for young scientists (task 3) speeds promotion in universities and institutes."""
        p, per_step = self.p, self.clock.per_step
        q = per_step(p.promotion_rate)
        boost = max(0.0, 1.0 + p.young_scientist_effect * (young_support - 1.0))
        q_u = per_step(min(0.99, p.promotion_rate * boost))
        f, u = self.firms, self.universities
        live = f.live
        moved = f.researchers[live] * q
        f.researchers[live] -= moved
        f.high_end[live] += moved
        moved_u = u.researchers * q_u
        u.researchers -= moved_u
        u.high_end += moved_u

    def graduate(self) -> None:
        """Yearly cohort of graduates joins the pool of the university's zone."""
        u, r = self.universities, self.regions
        grads = u.graduates(self.p)
        add = np.bincount(u.region, weights=grads, minlength=N_REGIONS)
        r.pool[RESEARCHERS] += add
        self.talent.transfer("births", "holders", add.sum())

    # --- moves between regions ------------------------------------------------------------------
    def migration_rates(self, levers) -> np.ndarray:
        """Quarterly per-capita moving rates rate[k, from, to] (diagonal zero)."""
        p, r = self.p, self.regions
        border = border_matrix(p, 0.0)
        att = r.attractiveness
        pull = np.exp(p.migration_attractiveness * (att[None, :] - att[:, None]))
        base = pull * self.dist_decay * border
        np.fill_diagonal(base, 0.0)
        # Annual rates -> per step.
        rates = (
            np.stack([base * p.migration_rate_researchers, base * p.migration_rate_high_end])
            * self.clock.dt
        )
        easing = 1.0 + p.visa_easing_effect * levers["overseas_talent_easing"]
        rates[:, ABROAD, BEIJING] *= easing * self.shocks.talent_inflow
        return rates

    def migrate(self, levers: dict) -> None:
        """Talent moves between every pair of regions at this step's rates (migration_rates)."""
        r = self.regions
        rates = self.migration_rates(levers)
        out_share = rates.sum(axis=2)
        scale_out = np.minimum(1.0, 0.5 / np.maximum(out_share, 1e-12))
        flows = r.pool[:, :, None] * rates * scale_out[:, :, None]
        r.pool += flows.sum(axis=1) - flows.sum(axis=2)
        self.flow += flows
        bj_in = flows[:, :, BEIJING].sum(axis=(1, 2)) - flows[:, BEIJING][:, :, BEIJING].sum(
            axis=(1, 2)
        )
        bj_out = flows[:, BEIJING].sum(axis=(1, 2)) - flows[:, BEIJING][:, :, BEIJING].sum(
            axis=(1, 2)
        )
        self.net_inflow_beijing += bj_in - bj_out

    def recruit_high_end(self, levers: dict) -> None:
        """Top-talent recruitment: high-end talent from abroad to universities (by reputation)."""
        p, u = self.p, self.universities
        want = (
            p.top_talent_inflow_2015
            * self.scale_universities
            * self.clock.dt
            * levers["top_talent_recruitment"]
        )
        want *= self.shocks.talent_inflow
        if want <= 0:
            return
        # Recruits come from the world's overseas talent (external account), not from the abroad
        # reservoir that carries ordinary migration.
        recruits = want * u.reputation / u.reputation.sum()
        u.high_end += recruits
        self.flow[HIGH_END, ABROAD] += np.bincount(u.region, weights=recruits, minlength=N_REGIONS)
        self.talent.transfer("overseas", "holders", want)
        self.net_inflow_beijing[HIGH_END] += want

    def academic_mobility(self, mobile_share: float) -> None:
        """Mobile posts: a share of university researchers circulates to the zone's pool, where
        firms can hire them (plan task 13)."""
        p, u, r = self.p, self.universities, self.regions
        q = self.clock.per_step(p.academic_turnover + p.mobile_post_effect * mobile_share)
        out = u.researchers * q
        u.researchers -= out
        r.pool[RESEARCHERS] += np.bincount(u.region, weights=out, minlength=N_REGIONS)

    # --- hiring ---------------------------------------------------------------------------------
    def match(self) -> None:
        """Clear each zone's market for both talent kinds."""
        p, f, u, r = self.p, self.firms, self.universities, self.regions
        dt, per_step = self.clock.dt, self.clock.per_step
        live = f.live
        cost = p.rd_cost_per_fte * r.wage  # 100m yuan per FTE-year, by region
        f_reg = f.region[live]
        want_r_f = p.researcher_cost_share * f.rd_q[live] / dt / cost[f_reg]
        want_r_u = p.researcher_cost_share * (u.basic_q + u.applied_q) / dt / cost[u.region]
        demands = (
            (want_r_f, want_r_u),
            (
                p.high_end_per_researcher_firm * want_r_f,
                p.high_end_per_researcher_university * want_r_u,
            ),
        )
        holders = ((f.researchers, u.researchers), (f.high_end, u.high_end))
        tight = np.ones(N_REGIONS)
        for k in range(N_TALENT):
            (d_f, d_u), (h_f, h_u) = demands[k], holders[k]
            have_f, have_u = h_f[live], h_u
            # Release excess staff to the pool (partial adjustment).
            sep = per_step(p.separation_rate)
            rel_f = np.clip(have_f - d_f, 0.0, None) * sep
            rel_u = np.clip(have_u - d_u, 0.0, None) * sep
            h_f[live] = have_f - rel_f
            h_u -= rel_u
            r.pool[k] += np.bincount(f_reg, weights=rel_f, minlength=N_REGIONS)
            r.pool[k] += np.bincount(u.region, weights=rel_u, minlength=N_REGIONS)
            # Hire into open positions, rationed by the zone's available pool.
            gap_f = np.clip(d_f - h_f[live], 0.0, None)
            gap_u = np.clip(d_u - h_u, 0.0, None)
            demand_zone = np.bincount(f_reg, weights=gap_f, minlength=N_REGIONS) + np.bincount(
                u.region, weights=gap_u, minlength=N_REGIONS
            )
            offer = r.pool[k] * per_step(p.hire_share)
            fill = np.where(
                demand_zone > 0, np.minimum(1.0, offer / np.maximum(demand_zone, 1e-12)), 0.0
            )
            hire_f = gap_f * fill[f_reg]
            hire_u = gap_u * fill[u.region]
            h_f[live] += hire_f
            h_u += hire_u
            taken = np.bincount(f_reg, weights=hire_f, minlength=N_REGIONS) + np.bincount(
                u.region, weights=hire_u, minlength=N_REGIONS
            )
            r.pool[k] = np.maximum(r.pool[k] - taken, 0.0)
            self.hires[k] += taken.sum()
            if k == RESEARCHERS:
                tight = np.where(offer > 0, demand_zone / np.maximum(offer, 1e-12), 1.0)
        # Wages: drift plus a response to tightness (Beijing zones only).
        adj = np.clip(
            p.wage_tightness_response * np.log(np.maximum(tight[BEIJING], 1e-3)), -0.02, 0.02
        )
        r.wage[BEIJING] *= np.exp(p.wage_drift * dt + adj * dt * 4.0)
