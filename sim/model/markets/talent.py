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
    HEBEI,
    N_REGIONS,
    N_TALENT,
    REST_OF_CHINA,
    TIANJIN,
    border_matrix,
    distance_decay,
)

OUTSIDE = np.array([TIANJIN, HEBEI, REST_OF_CHINA, ABROAD])
DOMESTIC_OUTSIDE = np.array([TIANJIN, HEBEI, REST_OF_CHINA])

RESEARCHERS, HIGH_END = 0, 1
MAX_BALANCE = 1e6  # bound of the 2015 migration-balance factors (see TalentMarket.calibrate)


class TalentMarket:
    """Clears the regional talent pools against employers' demand; moves talent between regions.

    Works on the populations and ledger it is given at construction (the same objects all run)."""

    def __init__(self, p, clock, regions, firms, universities, talent, shocks, scale_universities):
        self.p, self.clock, self.shocks = p, clock, shocks
        self.regions, self.firms, self.universities = regions, firms, universities
        self.talent = talent  # the talent Ledger
        self.scale_universities = scale_universities
        self.scale_firms = 1.0  # the firms' simulated share (set by calibrate)
        self.dist_decay = distance_decay(
            regions.distance, p.distance_ref_km, p.talent_distance_decay
        )
        self.hires = np.zeros(N_TALENT)
        self.net_inflow_beijing = np.zeros(N_TALENT)  # per year (new_year resets)
        self.recruited_year = 0.0  # top talent recruited this year (new_year resets)
        self.awards: dict[int, float] = {}  # young-scientist awards by year (full scale)
        self.year = clock.start_year  # the calendar year (set by the model each step)
        # Moves this year [talent kind, from region, to region], persons at simulated scale:
        # migration between regional pools and recruits from abroad (new_year resets).
        self.flow = np.zeros((N_TALENT, N_REGIONS, N_REGIONS))
        # Set in setup.calibrate from the 2015 state (neutral until then):
        # migration balance factors [k, from, to] that make 2015 migration balanced,
        self.balance = np.ones((N_TALENT, N_REGIONS, N_REGIONS))
        # 2015 researcher-market tightness by zone, talent (both kinds) held in each zone and
        # high-end talent in each zone (full-scale persons).
        self.tightness_2015: np.ndarray | None = None
        self.talent_2015: np.ndarray | None = None
        self.high_end_2015: np.ndarray | None = None

    def new_year(self) -> None:
        """Start the year's flow records afresh."""
        self.net_inflow_beijing[:] = 0.0
        self.flow[:] = 0.0
        self.recruited_year = 0.0

    def clear(self, levers: dict, graduation: bool, offers: bool = False) -> None:
        """One quarter: retirement, promotion, graduates (once a year), academic mobility,
        top-talent offers and young-scientist awards (once a year, `offers`), top-talent
        arrivals, migration, hiring."""
        self.retire()
        if offers:
            self.award_young_scientists(self.year, levers)
        self.promote(self.year)
        if graduation:
            self.graduate()
        self.academic_mobility(levers["mobile_posts_share"])
        if offers:
            self.offer_top_talent(levers)
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

    def award_young_scientists(self, year: int, levers: dict) -> None:
        """The young-scientist programme's decision, once a year (task 3): awards (grants that
        let a young researcher run an independent group for `young_award_years`),
        `young_awards_2015` x L[young_scientist_support] a year (full scale)."""
        self.awards[year] = self.p.young_awards_2015 * levers["young_scientist_support"]

    def award_promotions(self, year: int) -> float:
        """Extra promotions a year (full scale) against 2015: the share
        `awardee_promotion_share` of the awardees whose award ended this year become high-end
        talent; 2015's awards are part of the 2015 promotion rate, so only awards above (or
        below) 2015's count."""
        p = self.p
        start = year - int(round(p.young_award_years))
        return p.awardee_promotion_share * (
            self.awards.get(start, p.young_awards_2015) - p.young_awards_2015
        )

    def promote(self, year: int | None = None) -> None:
        """Careers: a share of employed researchers becomes high-end talent each year; in
        universities and institutes the young-scientist awards that end this year add their
        promoted awardees (`award_promotions`), spread over the units by researchers and
        reputation."""
        p, per_step = self.p, self.clock.per_step
        q = per_step(p.promotion_rate)
        u = self.universities
        moved_u = u.researchers * q
        extra = self.award_promotions(year) if year is not None else 0.0
        if extra != 0.0:
            w = u.researchers * np.sqrt(u.reputation)
            w = w / max(w.sum(), 1e-12)
            step = extra * self.scale_universities * self.clock.dt
            # at most half a unit's researchers a step: in parameter corners (few researchers,
            # many awards) a unit left with none would get no share of the research budget
            moved_u = np.clip(moved_u + step * w, 0.0, 0.5 * u.researchers)
        f, u = self.firms, self.universities
        live = f.live
        moved = f.researchers[live] * q
        f.researchers[live] -= moved
        f.high_end[live] += moved
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
        # Hukou: moves from the rest of the country into Beijing are damped by the household-
        # registration friction (schooling, housing purchase, social insurance tied to hukou);
        # services for high-level talent (task 13: housing, schooling, spouses' jobs, health care)
        # remove part of it for high-end talent.
        hukou = self.hukou_factor(levers)
        rates[:, DOMESTIC_OUTSIDE[:, None], BEIJING[None, :]] *= hukou[:, None, None]
        return rates * self.balance

    def hukou_factor(self, levers: dict) -> np.ndarray:
        """Share of would-be domestic movers into Beijing not deterred by hukou, by talent kind."""
        p = self.p
        relief = np.clip(p.hukou_services_relief * levers["talent_services"], 0.0, 1.0)
        return np.array([1.0 - p.hukou_friction, 1.0 - p.hukou_friction * (1.0 - relief)]).clip(
            1e-6, 1.0
        )

    def calibrate(self, levers: dict, scale_firms: float) -> None:
        """2015 references: balance factors of migration (given the outside reservoirs already
        in the pools), the researcher market's tightness and the talent held by zone.

        Balance: Beijing's out-migration rates are the parameters; the inflow rate from each
        outside region into Beijing is scaled so that 2015 flows balance in total; between two
        outside regions both directions are scaled to their geometric mean. The stocks are
        data; the rates absorb the balance."""
        self.scale_firms = scale_firms
        self.balance[:] = 1.0
        pool = self.regions.pool
        rates = self.migration_rates(levers)
        for k in range(N_TALENT):
            for o in OUTSIDE:
                out_bj = (pool[k, BEIJING] * rates[k, BEIJING, o]).sum()
                in_bj = pool[k, o] * rates[k, o, BEIJING].sum()
                # balance factors are bounded (MAX_BALANCE either way): in parameter corners
                # with rates near zero the ratio overflowed to inf and the pools to nan
                b = out_bj / max(in_bj, 1e-12) if in_bj > 0 else 1.0
                self.balance[k, o, BEIJING] = float(np.clip(b, 1 / MAX_BALANCE, MAX_BALANCE))
                for o2 in OUTSIDE:
                    if o2 <= o:
                        continue
                    ab = pool[k, o] * rates[k, o, o2]
                    ba = pool[k, o2] * rates[k, o2, o]
                    if ab > 0 and ba > 0:
                        with np.errstate(over="ignore"):
                            c = float(np.clip(np.sqrt(ba / ab), 1 / MAX_BALANCE, MAX_BALANCE))
                        self.balance[k, o, o2], self.balance[k, o2, o] = c, 1.0 / c
        self.tightness_2015 = self.tightness(self._demands())
        att = self.regions.attractiveness
        self.gap_2015 = float(att[BEIJING].mean() - att[ABROAD])
        # the 2015 selection arrives in 2016 (recruitment takes a year)
        self.accepted_year = self.p.top_talent_inflow_2015
        self.arrivals_year = self.p.top_talent_inflow_2015
        self.talent_2015 = self.talent_by_zone()
        self.high_end_2015 = self.high_end_by_zone()

    # --- talent held by zone ---------------------------------------------------------------------
    def talent_by_zone(self, kind: int | None = None) -> np.ndarray:
        """Persons (full-scale) held by firms, universities and the pool of each region, of one
        talent kind or both."""
        f, u, r = self.firms, self.universities, self.regions
        live = f.live
        kinds = range(N_TALENT) if kind is None else (kind,)
        held = ((f.researchers, u.researchers), (f.high_end, u.high_end))
        sf = max(self.scale_universities, 1e-12)
        out = np.zeros(N_REGIONS)
        for k in kinds:
            h_f, h_u = held[k]
            out += np.bincount(f.region[live], weights=h_f[live], minlength=N_REGIONS) / max(
                self.scale_firms, 1e-12
            )
            out += np.bincount(u.region, weights=h_u, minlength=N_REGIONS) / sf
            out += r.pool[k] / max(r.scale, 1e-12)
        return out

    def high_end_by_zone(self) -> np.ndarray:
        return self.talent_by_zone(HIGH_END)

    def founding_talent_factor(self) -> np.ndarray:
        """Founding propensity by region from its high-end talent relative to 2015 (1 in 2015 and
        outside Beijing): (H_z / H_z,2015) ** founding_talent_elasticity."""
        return self.founding_factors()[0]

    def founding_factors(self) -> tuple[np.ndarray, float]:
        """(founding_talent_factor by region, the same factor for Beijing's total)."""
        out = np.ones(N_REGIONS)
        if self.high_end_2015 is None:
            return out, 1.0
        e = self.p.founding_talent_elasticity
        h = self.high_end_by_zone()[BEIJING]
        ref = self.high_end_2015[BEIJING]
        out[BEIJING] = np.clip(h / np.maximum(ref, 1e-12), 0.1, 10.0) ** e
        total = float(np.clip(h.sum() / max(ref.sum(), 1e-12), 0.1, 10.0)) ** e
        return out, total

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

    def acceptance(self, levers: dict) -> float:
        """Share of the programme's offers that top scientists abroad accept: the 2015 share
        `top_talent_acceptance_2015`, times Beijing's pull on high-end talent relative to abroad
        against 2015 (the migration pull of 7.5.2: exp(migration_attractiveness x change of the
        attractiveness gap)), visa easing and the talent-inflow shock; at most 1."""
        p, att = self.p, self.regions.attractiveness
        gap = float(att[BEIJING].mean() - att[ABROAD])
        pull = np.exp(p.migration_attractiveness * (gap - self.gap_2015))
        easing = 1.0 + p.visa_easing_effect * levers["overseas_talent_easing"]
        a = p.top_talent_acceptance_2015 * pull * easing * self.shocks.talent_inflow
        return float(min(1.0, a))

    def offer_top_talent(self, levers: dict) -> None:
        """The programme's decision, once a year (task 3): offers to top scientists abroad,
        `top_talent_inflow_2015 / top_talent_acceptance_2015` x L[top_talent_recruitment] (so
        that 2015's offers brought 2015's inflow); each candidate decides (`acceptance`), and
        those who accept arrive over the following year (selection, contracts and moves take a
        year)."""
        p = self.p
        offers = p.top_talent_inflow_2015 / p.top_talent_acceptance_2015
        self.arrivals_year = self.accepted_year  # last year's selection arrives this year
        self.accepted_year = offers * levers["top_talent_recruitment"] * self.acceptance(levers)

    def recruit_high_end(self, levers: dict) -> None:
        """Top-talent recruitment: this step's share of the year's arrivals (selected the year
        before, `offer_top_talent`), high-end talent from abroad to universities (by
        researchers x reputation)."""
        u = self.universities
        want = self.arrivals_year * self.scale_universities * self.clock.dt
        if want <= 0:
            return
        # Recruits come from the world's overseas talent (external account), not from the abroad
        # reservoir that carries ordinary migration.
        w = u.researchers * u.reputation  # reputation is per researcher (quality)
        recruits = want * w / max(w.sum(), 1e-300)
        u.high_end += recruits
        self.flow[HIGH_END, ABROAD] += np.bincount(u.region, weights=recruits, minlength=N_REGIONS)
        self.talent.transfer("overseas", "holders", want)
        self.net_inflow_beijing[HIGH_END] += want
        self.recruited_year += want  # the year's recruits (their packages: sim.model.fiscal)

    def academic_mobility(self, mobile_share: float) -> None:
        """Mobile posts: a share of university researchers circulates to the zone's pool, where
        firms can hire them (plan task 13)."""
        p, u, r = self.p, self.universities, self.regions
        q = self.clock.per_step(p.academic_turnover + p.mobile_post_effect * mobile_share)
        out = u.researchers * q
        u.researchers -= out
        r.pool[RESEARCHERS] += np.bincount(u.region, weights=out, minlength=N_REGIONS)

    # --- hiring ---------------------------------------------------------------------------------
    def _demands(self):
        """Positions wanted by firms and universities, per talent kind: ((firms, universities),
        ...) at the zones' current wages."""
        p, f, u, r = self.p, self.firms, self.universities, self.regions
        dt = self.clock.dt
        live = f.live
        cost = p.rd_cost_per_fte * r.wage  # 100m yuan per FTE-year, by region
        want_r_f = p.researcher_cost_share * f.rd_q[live] / dt / cost[f.region[live]]
        want_r_u = p.researcher_cost_share * (u.basic_q + u.applied_q) / dt / cost[u.region]
        return (
            (want_r_f, want_r_u),
            (
                p.high_end_per_researcher_firm * want_r_f,
                p.high_end_per_researcher_university * want_r_u,
            ),
        )

    def tightness(self, demands) -> np.ndarray:
        """Researcher-market tightness by region, bounded in [0, 1]: open positions / (open
        positions + job seekers on offer this step). 0 = slack, 1 = no one to hire."""
        f, u, r = self.firms, self.universities, self.regions
        live = f.live
        d_f, d_u = demands[RESEARCHERS]
        gap = np.bincount(
            f.region[live],
            weights=np.clip(d_f - f.researchers[live], 0.0, None),
            minlength=N_REGIONS,
        ) + np.bincount(
            u.region, weights=np.clip(d_u - u.researchers, 0.0, None), minlength=N_REGIONS
        )
        offer = r.pool[RESEARCHERS] * self.clock.per_step(self.p.hire_share)
        tot = gap + offer
        return np.where(tot > 0, gap / np.maximum(tot, 1e-300), 0.0)

    def match(self) -> None:
        """Clear each zone's market for both talent kinds; then wages and housing move."""
        p, f, u, r = self.p, self.firms, self.universities, self.regions
        dt, per_step = self.clock.dt, self.clock.per_step
        live = f.live
        f_reg = f.region[live]
        demands = self._demands()
        tight = self.tightness(demands)
        holders = ((f.researchers, u.researchers), (f.high_end, u.high_end))
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
        # Wages seek the zone's equilibrium: the relative wage's target rises with tightness
        # above its 2015 level (bounded: tightness lies in [0, 1]).
        ref = self.tightness_2015 if self.tightness_2015 is not None else tight
        target = p.wage_tightness_response * (tight[BEIJING] - ref[BEIJING])
        r.set_wages(p, target, dt)
        if self.talent_2015 is not None:
            ratio = self.talent_by_zone() / np.maximum(self.talent_2015, 1e-12)
            r.set_housing(p, ratio[BEIJING])
