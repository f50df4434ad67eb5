"""Firm entry: spin-offs, incubator start-ups, returnee start-ups, foreign R&D centers.

Who enters, each quarter (Poisson counts, stream "entry"):
- spin-offs from universities and institutes, at their `spin_off_rate` (applied research x
  transfer effort x mobile posts);
- technology start-ups: the smaller of incubators' places and would-be founders' applications,
  plus part of those turned away (`incubated`); returnee start-ups, with overseas talent bases,
  visa easing and the talent-inflow shock; foreign R&D centers, Beijing's share of China's new
  centres by a location logit (`foreign_rd`);
  business registration reform raises every domestic source; spin-offs, incubator and returnee
  start-ups rise with the high-end talent of the zone relative to 2015
  (TalentMarket.founding_talent_factor).
Entrants take the sector and zone of their parent (spin-offs) or of the 2015 mix weighted by the
zones' attractiveness, the technology of their sector (with premiums for spin-offs and foreign
centers), small revenue and seed capital from their founders. A founder is one person: returnees
come from overseas talent, the others from the zone's researcher pool.
"""

from __future__ import annotations

import numpy as np

from sim.model.agents.firm import FOREIGN_RD, INCUBATOR, RETURNEE, SPIN_OFF
from sim.model.agents.region import (
    ABROAD,
    BEIJING,
    CORE,
    FSC,
    GREEN,
    HUAIROU,
    INDUSTRY,
    N_REGIONS,
    NO_PLACE,
    REST_OF_CHINA,
    ZGC,
)
from sim.model.markets.talent import HIGH_END, RESEARCHERS
from sim.model.sectors import N_SECTORS

# Beijing zone -> its science city (entrants of a zone may locate in it); other regions: none
_PLACE_OF_ZONE = np.full(N_REGIONS, NO_PLACE, dtype=np.int64)
_PLACE_OF_ZONE[[CORE, INDUSTRY, GREEN]] = [ZGC, FSC, HUAIROU]

# Entrants in a year at most this multiple of the simulated 2015 firm count (a safety bound for
# parameter corners; see FirmEntry.enter).
MAX_ENTRY_PER_YEAR = 1.0


class FirmEntry:
    """New firms each step, added to `firms`; founders' money and talent go through the ledgers."""

    def __init__(
        self,
        p,
        clock,
        firms,
        universities,
        regions,
        talent_market,
        money,
        talent,
        scale_firms: float,
        scale_universities: float,
    ):
        self.p, self.clock = p, clock
        self.firms, self.universities, self.regions = firms, universities, regions
        self.talent_market, self.money, self.talent = talent_market, money, talent
        self.scale_firms, self.scale_universities = scale_firms, scale_universities
        att = regions.attractiveness  # the base year's (setup.populate)
        self.gap_2015 = float(att[BEIJING].mean() - att[REST_OF_CHINA])

    def foreign_rd(self, incentives: float) -> float:
        """Foreign R&D centres per year per 2015 firm. Multinationals (who decide) open R&D
        centres in China at the rate that Beijing's 2015 share `foreign_rd_beijing_share_2015`
        implies, and each chooses Beijing or the rest of China by a logit: Beijing's odds are
        its 2015 odds times its incentives (the lever, x 2015, task 11) times
        exp(migration_attractiveness x the change of Beijing's attractiveness gap to the rest
        of China since 2015). At 2015 this is `foreign_rd_entry_rate`; incentives raise it less
        than in proportion, up to all of China's new centres."""
        p, att = self.p, self.regions.attractiveness
        s0 = p.foreign_rd_beijing_share_2015
        gap = float(att[BEIJING].mean() - att[REST_OF_CHINA])
        odds = (
            s0
            / (1.0 - s0)
            * incentives
            * np.exp(p.migration_attractiveness * (gap - self.gap_2015))
        )
        return p.foreign_rd_entry_rate / s0 * odds / (1.0 + odds)

    def incubated(self, capacity: float, registration: float, founding: float) -> float:
        """Technology start-ups per year per 2015 firm (incubator start-ups and those turned
        away). Incubators (who offer) have places, `capacity` times their 2015 number (the
        places built); would-be founders (who demand) apply at `incubator_excess_demand_2015`
        times the 2015 places, more with registration reform (task 14) and with the high-end
        talent of Beijing's zones. Places are rationed: the smaller of places and applicants
        enter through incubators, and the share `unplaced_founding_share` of those turned away
        found without one. The 2015 places are set so that 2015 entry is
        `incubator_entry_rate`. More places raise entry until applicants run out; more
        applicants raise it at the full rate where places are free and at the unplaced share
        where they bind."""
        p = self.p
        x, share = p.incubator_excess_demand_2015, p.unplaced_founding_share
        places_2015 = p.incubator_entry_rate / (1.0 + share * (x - 1.0))
        places = places_2015 * capacity
        applicants = places_2015 * x * registration * founding
        return min(places, applicants) + share * max(applicants - places, 0.0)

    def enter(self, levers: dict, talent_inflow: float) -> np.ndarray:
        """This step's entrants; returns their slots (Mesa agents are the caller's)."""
        p, f, u, r = self.p, self.firms, self.universities, self.regions
        rng, dt = self.clock.streams["entry"], self.clock.dt
        base = p.n_firms_2015 * self.scale_firms * dt
        # Registration reform (task 14) lowers the threshold for every domestic start-up.
        registration = 1.0 + p.registration_effect * levers["business_registration_reform"]
        # High-end talent founds firms: each source rises with the high-end talent of the zone
        # (spin-offs: the parent's zone; start-ups: Beijing's zones, founders' zone unknown until
        # placed) relative to 2015 (Zucker, Darby and Brewer 1998).
        founding, founding_bj = self.talent_market.founding_factors()
        spin = rng.poisson(
            registration
            * founding[u.region]
            * u.spin_off_rate(p, levers["mobile_posts_share"])
            * self.scale_firms
            / self.scale_universities
        )
        n_spin = int(spin.sum())
        n_inc = int(
            rng.poisson(
                base * self.incubated(levers["incubator_capacity"], registration, founding_bj)
            )
        )
        easing = 1.0 + p.visa_easing_effect * levers["overseas_talent_easing"]
        returnees = easing * levers["overseas_talent_bases"] * talent_inflow
        n_ret = int(rng.poisson(base * p.returnee_entry_rate * returnees * founding_bj))
        n_for = int(rng.poisson(base * self.foreign_rd(levers["foreign_rd_attraction"])))
        n = n_spin + n_inc + n_ret + n_for
        cap = int(np.ceil(MAX_ENTRY_PER_YEAR * base))
        if n > cap:
            # Far outside any calibrated state (entry feeding on itself through spin-offs and
            # technology sales) the population would grow without bound: every source is cut
            # pro rata to the cap. Never binds near the defaults (entry is ~8% of firms a year).
            keep = cap / n
            spin = np.floor(spin * keep).astype(spin.dtype)
            n_spin = int(spin.sum())
            n_inc, n_ret, n_for = (int(k * keep) for k in (n_inc, n_ret, n_for))
            n = n_spin + n_inc + n_ret + n_for
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        parent = np.repeat(np.arange(u.n), spin)
        zone_w = np.maximum(
            np.exp(r.attractiveness[BEIJING])
            * np.array([p.firm_share_core, p.firm_share_industry, p.firm_share_green]),
            1e-9,
        )
        other_zone = rng.choice(3, size=n - n_spin, p=zone_w / zone_w.sum())
        region = np.r_[u.region[parent], BEIJING[other_zone]].astype(np.int8)
        in_city = rng.random(n) < p.entrant_in_science_city
        place = _PLACE_OF_ZONE[region] * in_city
        place[:n_spin] = u.place[parent]
        sector = np.r_[
            u.field[parent], rng.choice(N_SECTORS, size=n - n_spin, p=_norm(p.sector_shares_2015))
        ]
        origin = np.r_[
            np.full(n_spin, SPIN_OFF),
            np.full(n_inc, INCUBATOR),
            np.full(n_ret, RETURNEE),
            np.full(n_for, FOREIGN_RD),
        ]
        live = f.live
        sector_tech = np.bincount(
            f.sector[live], weights=f.tech[live], minlength=N_SECTORS
        ) / np.maximum(np.bincount(f.sector[live], minlength=N_SECTORS), 1)
        tech = sector_tech[sector] * rng.lognormal(0.0, p.tech_dispersion, n)
        tech[:n_spin] *= 1.0 + p.spin_off_tech_premium
        tech[origin == FOREIGN_RD] *= 1.0 + p.foreign_rd_tech_premium
        revenue = (
            p.entrant_revenue
            * rng.lognormal(0.0, 1.0, n)
            * np.where(origin == FOREIGN_RD, 10.0, 1.0)
        )
        cash = (
            p.entrant_seed_capital
            * rng.lognormal(0.0, 0.5, n)
            * np.where(origin == FOREIGN_RD, 10.0, 1.0)
        )
        owner = np.where(origin == FOREIGN_RD, 2, 0)
        slots = f.add(
            n,
            sector=sector,
            region=region,
            place=place,
            ownership=owner,
            origin=origin,
            stage=0,
            age=0,
            employees=np.maximum(1.0, revenue / p.revenue_per_employee),
            revenue=revenue,
            margin_fe=rng.normal(0.0, p.margin_dispersion, n),
            cash=cash,
            rd_pref=p.entrant_rd_intensity * rng.lognormal(0.0, 0.5, n),
            tech=tech,
            last_funded=-1000,
            rev_year_start=revenue,
        )
        f.margin[slots] = p.operating_margin + f.margin_fe[slots] - p.young_firm_loss
        f.valuation[slots] = revenue * p.revenue_multiple
        self.money.transfer("founders", "firms", cash.sum())
        # Founders: one person each. Returnees come from the world's overseas talent (an external
        # talent account: the model's abroad reservoir only carries migration); the others from
        # the zone's researcher pool, as far as it has people.
        ret = slots[origin == RETURNEE]
        if ret.size:
            f.high_end[ret] += 1.0
            self.talent.transfer("overseas", "holders", float(ret.size))
            self.talent_market.net_inflow_beijing[HIGH_END] += ret.size
            self.talent_market.flow[HIGH_END, ABROAD] += np.bincount(
                f.region[ret], minlength=N_REGIONS
            )
        s = slots[origin != RETURNEE]
        if s.size:
            need = np.bincount(f.region[s], minlength=N_REGIONS).astype(float)
            got = np.minimum(need, r.pool[RESEARCHERS])
            r.pool[RESEARCHERS] -= got
            share = np.where(need > 0, got / np.maximum(need, 1), 0.0)
            f.researchers[s] += share[f.region[s]]
        return slots


def _norm(x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a / a.sum()
