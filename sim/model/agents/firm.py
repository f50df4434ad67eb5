"""Firm agents: technology-based firms of Beijing (and those that moved production out).

State (struct of arrays, one slot per firm): sector, region, place (science city or none),
ownership (private, state-owned, foreign), origin (incumbent, spin-off, incubator, returnee,
foreign R&D center), age, employees, revenue, operating margin, cash, debt, R&D spend,
researchers, high-end talent, technology level (in the firm's own field), patents (valid and
pending), funding stage, valuation, high-tech enterprise (HTE) certification.

Decisions (vectorised each quarter over all firms):
- R&D spend: a preferred R&D intensity times revenue, raised by IP protection, plus the R&D share
  of venture money burnt by funded start-ups; never more than the cash at hand.
- innovate: technology level grows stochastically with R&D per employee and access to public
  knowledge; patent applications are Poisson in R&D spend; the patent office decides them.
- grow: revenue grows with sector demand, relative technology gains and venture backing, with
  one Laplace shock a year (realised over its quarters) whose scale falls with size; employees
  follow revenue.
- operate: operating cash flow (margin x revenue); leap grants for key-field R&D (task 6).
- pay out: cash beyond the firm's needs goes to its owners.
- exit (closing, leave): closure hazard falling with age and size; insolvent firms close.
- relocate (yearly): manufacturing firms move production to Tianjin or Hebei.
- certify_hte (yearly): firms meeting the HTE criteria apply for certification.
Entry of new firms: agents.entry. Patent decisions: agents.patent_office.
Funding applications, technology purchases and hiring are decided in the markets.
"""

from __future__ import annotations

import numpy as np

from sim.inputs.levers import status_quo
from sim.model.agents.region import BEIJING, HEBEI, N_REGIONS, NO_PLACE, TIANJIN
from sim.model.agents.view import AgentView, slot_of
from sim.model.sectors import (
    INNOVATION_CENTER_SECTORS,
    LEAP_SECTORS,
    MANUFACTURING,
    N_SECTORS,
)

OWNERSHIP = ("private", "state_owned", "foreign")
ORIGINS = ("incumbent", "spin_off", "incubator", "returnee", "foreign_rd_center")
INCUMBENT, SPIN_OFF, INCUBATOR, RETURNEE, FOREIGN_RD = range(5)
STAGES = ("bootstrap", "angel", "series_a", "series_b", "series_c_plus", "listed")
LISTED = 5
MAX_LAPLACE_SCALE = 0.9  # a yearly Laplace shock needs scale < 1 for its centring term
MAX_EXPECTED_GROWTH = 1.0  # expected growth priced into valuations, log-points a year (judgement)
MAX_MARKET_GROWTH = 1.0  # trend growth of a sector's market, log-points a year (see grow)
MIN_FTE = 0.1  # smallest staff of a live firm, FTE (see grow)
HTE_VALIDITY_YEARS = 3  # a certificate is valid three years (Guokefahuo [2016] No. 32, art. 8)

_FIELDS = {
    "sector": np.int8,
    "region": np.int8,
    "place": np.int8,
    "ownership": np.int8,
    "origin": np.int8,
    "stage": np.int8,
    "hte": np.bool_,
    "alive": np.bool_,
    "age": np.int32,  # quarters
    "firm_id": np.int64,  # Mesa unique_id
    "employees": np.float64,
    "revenue": np.float64,  # 100m yuan per year (annualised)
    "margin": np.float64,  # operating cash margin before R&D, share of revenue
    "margin_fe": np.float64,  # firm fixed effect of the margin
    "cash": np.float64,  # 100m yuan
    "debt": np.float64,  # 100m yuan
    "rd_pref": np.float64,  # preferred R&D intensity (share of revenue)
    "rd_q": np.float64,  # R&D spend this quarter, 100m yuan
    "researchers": np.float64,  # FTE
    "high_end": np.float64,  # persons
    "tech": np.float64,  # technology level index (1 = 2015 sector mean)
    "dlog_tech": np.float64,  # technology gain this quarter
    "patents": np.int64,  # valid invention patents
    "pending": np.int64,  # applications awaiting decision
    "valuation": np.float64,  # 100m yuan
    "last_post": np.float64,  # post-money of the last round, 100m yuan
    "last_funded": np.int32,  # step of the last round (-1000 = never)
    "purchases_q": np.float64,  # technology bought this quarter, 100m yuan
    "grants_q": np.int64,  # patents granted this quarter
    "rev_year_start": np.float64,  # revenue at the start of the year (growth statistics)
    # growth (issue 15)
    "rd_stock": np.float64,  # knowledge (R&D) capital, 100m yuan (perpetual inventory)
    "log_access": np.float64,  # log knowledge access at the last step (spillover growth)
    # HTE (issue 15)
    "hte_since": np.int32,  # step at whose end the firm was last (re-)certified
    "rd_cur": np.float64,  # R&D spent so far this year, 100m yuan (certification window)
    "rd_y1": np.float64,  # R&D spent last year, 100m yuan
    "rd_y2": np.float64,  # R&D spent the year before last, 100m yuan
    "rev_cur": np.float64,  # revenue earned so far this year, 100m yuan
    "rev_y1": np.float64,  # revenue earned last year, 100m yuan
    "rev_y2": np.float64,  # revenue earned the year before last, 100m yuan
    # operating leverage (issue 15)
    "rev_plan": np.float64,  # revenue the short-run fixed costs are set for, 100m yuan/yr
    "log_rev_last": np.float64,  # log revenue at the last margin update (log 100m yuan/yr)
    "cost_growth_exp": np.float64,  # growth the firm plans its fixed costs for, log-points a year
    # capital market (issue 15)
    "vc_cash": np.float64,  # venture money raised and not yet spent (part of cash), 100m yuan
    "growth_exp": np.float64,  # expected revenue growth: smoothed log growth, per year
    "log_rev_trend": np.float64,  # smoothed log revenue (growth expectations)
    "rev_at_round": np.float64,  # revenue when the last round closed (step-up of pre-money)
}


STATUS_QUO_IP = status_quo("ip_protection")


def hte_rd_threshold(revenue) -> np.ndarray:
    """R&D intensity an HTE must report (Guokefahuo [2016] No. 32, art. 11(5)), by the latest
    year's revenue in 100m yuan: 5% below 50m yuan, 4% for 50m-200m, 3% above."""
    return np.where(revenue < 0.5, 0.05, np.where(revenue < 2.0, 0.04, 0.03))


def hte_notch(p, rd, revenue, researchers, employees) -> tuple[np.ndarray, np.ndarray]:
    """Who jumps to the HTE R&D threshold (the notch, `FirmPopulation.hte_bunching`): the actual
    intensity each firm needs, threshold / (1 + `hte_relabel_limit`), and whether it is short of
    it but spends at least `hte_bunching_reach` of it, with researchers (which follow R&D
    spending) that would then meet both staff criteria. Returns (within_reach, need)."""
    need = hte_rd_threshold(revenue) / (1.0 + p.hte_relabel_limit)
    staff = researchers * need / np.maximum(rd, 1e-12)
    within = (
        (rd < need)
        & (rd >= p.hte_bunching_reach * need)
        & (staff >= 0.10 * np.maximum(employees, 1.0))
        & (staff >= p.hte_staff_min_fte)
    )
    return within, need


_IN_BEIJING = np.isin(np.arange(N_REGIONS), BEIJING)  # region -> is a Beijing zone
# sector -> in a field of the technology leap projects (task 6) / of the national technology
# innovation centers (task 5); the plan's two lists differ (sim/model/sectors.py)
_IS_LEAP = np.isin(np.arange(N_SECTORS), LEAP_SECTORS)
_HAS_CENTER = np.isin(np.arange(N_SECTORS), INNOVATION_CENTER_SECTORS)


class FirmPopulation:
    """Struct-of-arrays state of all firms, with slots reused after yearly compaction."""

    def __init__(self, capacity: int):
        self.capacity = max(16, capacity)
        for name, dt in _FIELDS.items():
            setattr(self, name, np.zeros(self.capacity, dtype=dt))
        self.size = 0  # slots in use (alive or dead since the last compaction)
        # productivity growth of each sector from its R&D capital and spillovers, per year
        # (accumulate_rd_capital); it raises the sector's market in `grow`
        self.sector_gain = np.zeros(N_SECTORS)
        self._young_table = (None, np.empty(0))  # (key, exp(-age dt / T) by age): `young`

    # --- bookkeeping -----------------------------------------------------------------------
    def _grow(self, need: int) -> None:
        new_cap = self.capacity
        while new_cap < need:
            new_cap *= 2
        if new_cap == self.capacity:
            return
        for name, dt in _FIELDS.items():
            arr = np.zeros(new_cap, dtype=dt)
            arr[: self.capacity] = getattr(self, name)
            setattr(self, name, arr)
        self.capacity = new_cap

    def add(self, n: int, **cols) -> np.ndarray:
        """Append `n` firms with the given column values; returns their slots."""
        self._grow(self.size + n)
        sl = np.arange(self.size, self.size + n)
        for name in _FIELDS:
            getattr(self, name)[sl] = cols.get(name, 0)
        self.alive[sl] = True
        self.size += n
        return sl

    def compact(self) -> np.ndarray:
        """Drop dead slots; returns old slot -> new slot (-1 for dead) for external references."""
        keep = np.flatnonzero(self.alive[: self.size])
        remap = np.full(self.size, -1, dtype=np.int64)
        remap[keep] = np.arange(keep.size)
        for name in _FIELDS:
            arr = getattr(self, name)
            arr[: keep.size] = arr[keep]
            arr[keep.size : self.size] = 0
        self.size = keep.size
        return remap

    @property
    def live(self) -> np.ndarray:
        """Slots of living firms."""
        return np.flatnonzero(self.alive[: self.size])

    def in_beijing(self, idx: np.ndarray) -> np.ndarray:
        return _IN_BEIJING[self.region[idx]]

    # --- decisions ---------------------------------------------------------------------------
    def operate(self, idx, dt: float, money) -> None:
        """Operating cash flow of the step: margin x revenue (the margin includes the fixed costs
        of operating leverage, `update_margin`); a loss is paid from cash, as far as the cash
        goes (customers pay in, households are paid out). The step's revenue is booked into the
        firm's HTE certification window (`certify_hte`)."""
        cf = self.margin[idx] * self.revenue[idx] * dt
        gain = np.clip(cf, 0.0, None)
        loss = np.minimum(np.clip(-cf, 0.0, None), self.cash[idx])
        self.cash[idx] += gain - loss
        self.rev_cur[idx] += self.revenue[idx] * dt
        money.transfer("customers", "firms", gain.sum())
        money.transfer("firms", "households", loss.sum())

    def receive_leap_grants(self, idx, annual: float, scale: float, dt: float, money):
        """Technology leap projects (task 6): the year's fiscal co-funding, paid each quarter to
        Beijing firms in the fields of the eight leap projects (task 6's list, sectors.
        LEAP_SECTORS) in proportion to their planned R&D. Returns the
        grant of every firm in `idx` (added to its cash)."""
        grant = np.zeros(idx.size)
        if annual <= 0:
            return grant
        eligible = self.in_beijing(idx) & _IS_LEAP[self.sector[idx]]
        weight = np.where(eligible, self.rd_pref[idx] * self.revenue[idx], 0.0)
        if weight.sum() <= 0:
            return grant
        grant = annual * scale * dt * weight / weight.sum()
        self.cash[idx] += grant
        money.transfer("government", "firms", grant.sum())
        return grant

    def spend_rd(self, idx, p, ip_protection: float, subsidy, dt: float, money) -> np.ndarray:
        """Decide (`decide_rd`) and pay this step's R&D (to households: wages and purchases)."""
        rd = self.decide_rd(idx, p, ip_protection, subsidy, dt)
        self.rd_q[idx] = rd
        self.cash[idx] -= rd
        money.transfer("firms", "households", rd.sum())
        return rd

    def pay_out(self, idx, p, clock, money) -> None:
        """Firms holding cash beyond their needs pay it out to owners: the needs are working
        cash (`cash_cap_to_revenue` x revenue) and the venture money still earmarked for the
        runway (`vc_cash`)."""
        cap = p.cash_cap_to_revenue * self.revenue[idx] + self.vc_cash[idx]
        excess = np.clip(self.cash[idx] - cap, 0.0, None) * clock.per_step(0.5)
        self.cash[idx] -= excess
        money.transfer("firms", "households", excess.sum())

    def closing(self, idx, p, clock, step: int) -> np.ndarray:
        """Firms that close this step: the exit hazard (at least `insolvency_exit_prob` for
        insolvent loss-makers), one draw per firm keyed by its id (stream "exit"). A loss-maker
        is insolvent when its cash falls below `insolvency_cash` plus `insolvency_runway_years`
        of its current operating loss: it cannot show it will meet its obligations over the
        going-concern horizon, and owners and lenders stop funding it. The cash drained by
        earlier losses (`operate`) carries a shock forward."""
        h = 1.0 - (1.0 - self.exit_hazard(idx, p, clock.dt)) ** clock.dt
        loss = np.clip(-self.margin[idx] * self.revenue[idx], 0.0, None)  # 100m yuan a year
        broke = (self.cash[idx] < p.insolvency_cash + p.insolvency_runway_years * loss) & (
            self.margin[idx] < 0
        )
        h = np.where(broke, np.maximum(h, p.insolvency_exit_prob), h)
        return idx[clock.draws("exit", step, self.firm_id[idx]).random() < h]

    def leave(self, idx, reason: str, pool: np.ndarray, money) -> float:
        """Firms `idx` leave: talent returns to the zone's pool, cash to owners (or the acquirer:
        "markets"), debt is written off. Returns the debt written off (the banks' loss)."""
        reg = self.region[idx]
        for k, held in enumerate((self.researchers, self.high_end)):
            pool[k] += np.bincount(reg, weights=held[idx], minlength=N_REGIONS)
            held[idx] = 0.0
        dest = "markets" if reason == "acquired" else "households"
        money.transfer("firms", dest, self.cash[idx].sum())
        self.cash[idx] = 0.0
        lost = self.debt[idx].sum()
        self.debt[idx] = 0.0
        self.alive[idx] = False
        return lost

    def relocate(self, idx, p, rng, relocation_lever: float) -> int:
        """Yearly: manufacturing firms move production out (`relocation_candidates`); they leave
        their science city and lose HTE status. Returns how many moved."""
        moving, dest = self.relocation_candidates(idx, p, rng, relocation_lever)
        self.region[moving] = dest
        self.place[moving] = NO_PLACE
        self.hte[moving] = False
        return moving.size

    def certify_hte(self, idx, p, rng, step: int, steps_per_year: int) -> None:
        """Year end (the last step of the year, `step`): HTE certification under Guokefahuo
        [2016] No. 32. An uncertified firm meeting the criteria (`hte_eligible`) applies with
        probability `hte_application_rate` a year (awareness, preparing the audits) and is
        certified. A certificate is valid three years; then the firm re-applies (taken as
        certain: it knows the procedure and keeps its benefits) and is re-certified only if it
        is still eligible. Between reviews a firm keeps its certificate. The year's R&D and
        revenue then move into the firm's trailing three-year window."""
        elig = self.hte_eligible(idx, steps_per_year, p.hte_relabel_limit, p.hte_staff_min_fte)
        hte = self.hte[idx]
        due = hte & (step - self.hte_since[idx] >= HTE_VALIDITY_YEARS * steps_per_year)
        apply = ~hte & elig & (rng.random(idx.size) < p.hte_application_rate)
        renew = idx[(due & elig) | apply]
        self.hte[idx[due & ~elig]] = False
        self.hte[renew] = True
        self.hte_since[renew] = step
        # Firms short of the R&D threshold but within reach of it raise their R&D to it (the
        # notch; `hte_bunching`): certified firms to keep the certificate, others once they
        # set out to apply (as aware as applicants, `hte_application_rate`).
        aims = self.hte[idx] | (rng.random(idx.size) < p.hte_application_rate)
        self.rd_pref[idx] = self.hte_bunching(idx, p, aims)
        self._roll_hte_window(idx)

    def hte_bunching(self, idx, p, aims) -> np.ndarray:
        """R&D intensity chosen under the HTE notch (Chen, Liu, Suarez Serrato and Xu 2021): the
        15% rather than 25% income tax rate is a jump in the value of a firm whose R&D intensity
        reaches the threshold (art. 11; reported R&D may exceed actual by `hte_relabel_limit`),
        so firms just below it raise their R&D to the threshold and firms far below do not.
        A firm that `aims` at certification and already spends at least `hte_bunching_reach`
        of the actual intensity it needs, and whose researchers (which follow R&D spending)
        would then meet the staff criteria, sets its preferred intensity to that need. Returns
        the preferred intensities of `idx` (unchanged for the others; no firm lowers its R&D)."""
        rd = self.rd_pref[idx]
        within, need = hte_notch(
            p, rd, self.revenue[idx], self.researchers[idx], self.employees[idx]
        )
        return np.where(aims & within, need, rd)

    def _roll_hte_window(self, idx) -> None:
        """Start a new year in the trailing three-year R&D and revenue window."""
        for cur, y1, y2 in (
            (self.rd_cur, self.rd_y1, self.rd_y2),
            (self.rev_cur, self.rev_y1, self.rev_y2),
        ):
            y2[idx] = y1[idx]
            y1[idx] = cur[idx]
            cur[idx] = 0.0

    def decide_rd(self, idx: np.ndarray, p, ip_protection: float, subsidy, dt: float):
        """R&D spend this step: preferred intensity x revenue, IP-adjusted, plus venture burn
        and any subsidy; never more than the cash at hand."""
        rev_step = self.revenue[idx] * dt
        ip_factor = 1.0 + p.ip_rd_elasticity * (ip_protection - STATUS_QUO_IP)
        # Venture money is spent over a runway: a firm spends the share `vc_burn_rate` a year of
        # the venture money it still holds (exponential runway of 1 / vc_burn_rate years). For a
        # start-up (small, unlisted) the share `vc_burn_rd_share` of that spending is R&D; the
        # rest pays the operating losses of its margin. The burn is a flow tied to the money
        # raised, not to the cash a firm happens to hold.
        burn = np.zeros(idx.size)
        has = np.flatnonzero(self.vc_cash[idx] > 0)  # few firms hold venture money
        if has.size:
            j = idx[has]
            held = np.minimum(self.vc_cash[j], self.cash[j])
            spent = held * (1.0 - np.exp(-p.vc_burn_rate * dt))
            self.vc_cash[j] = np.maximum(held - spent, 0.0)
            startup = (
                (self.stage[j] >= 1) & (self.stage[j] < LISTED) & (self.revenue[j] < p.revenue_ref)
            )
            burn[has] = np.where(startup, p.vc_burn_rd_share * spent, 0.0)
        desired = self.rd_pref[idx] * rev_step * ip_factor + burn + subsidy
        return np.clip(np.minimum(desired, self.cash[idx]), 0.0, None)

    def innovate(
        self,
        idx,
        p,
        rng,
        access,
        ip_protection: float,
        patent_productivity: float,
        dt: float,
        platforms: float = 0.0,
        draws=None,
    ):
        """Stochastic technology gains, R&D capital and patent applications.

        Two levels (docs/ODD.md 7.7 and 7.10): the technology level is the firm's standing
        relative to its sector (1 = sector mean), which moves its market share; the sector's
        productivity grows with its R&D capital and the public knowledge it draws on
        (`accumulate_rd_capital`), which moves the sector's market.
        """
        luck = draws.exponential() if draws is not None else rng.exponential(1.0, idx.size)
        reach = access**p.knowledge_elasticity  # what public knowledge adds to R&D output
        gain = self._gain(idx, p, reach, dt, platforms, luck)
        sector = self.sector[idx]
        self.dlog_tech[idx] = gain - (self._sector_mean(sector, gain))[sector]
        self.tech[idx] *= np.exp(self.dlog_tech[idx])
        self.accumulate_rd_capital(idx, p, access, dt, platforms)
        ip_factor = 1.0 + p.ip_patent_elasticity * (ip_protection - STATUS_QUO_IP)
        lam = patent_productivity * self.rd_q[idx] * reach * ip_factor
        apps = rng.poisson(np.maximum(lam, 0.0))
        self.pending[idx] += apps
        return apps

    def _gain(self, idx, p, reach, dt: float, platforms: float, luck) -> np.ndarray:
        """Technology gain this step (log points) given the luck of each firm; `reach` is
        knowledge access to the power `knowledge_elasticity`."""
        rd_per_emp = self.rd_q[idx] / dt / np.maximum(self.employees[idx], 1.0)
        effort = np.minimum(
            (rd_per_emp / p.rd_per_employee_ref) ** p.tech_rd_elasticity, p.max_rd_effort
        )
        gain = p.tech_progress * dt * effort * reach * luck
        # Technology bought on the market last step adds to the gain; national technology
        # innovation centers (task 5) help firms in their fields absorb it.
        budget = np.maximum(self.revenue[idx] * dt + self.rd_q[idx], 1e-6)
        absorb = 1.0 + p.platform_effect * platforms * _HAS_CENTER[self.sector[idx]]
        gain += p.purchase_tech_effect * absorb * np.minimum(self.purchases_q[idx] / budget, 1.0)
        # Diminishing returns: firms far ahead of their sector advance more slowly.
        return np.minimum(gain * np.maximum(self.tech[idx], 1e-3) ** (-p.tech_catch_up), 0.5)

    @staticmethod
    def _sector_mean(sector, values) -> np.ndarray:
        counts = np.maximum(np.bincount(sector, minlength=N_SECTORS), 1)
        return np.bincount(sector, weights=values, minlength=N_SECTORS) / counts

    def _rd_investment(self, idx, p, platforms: float) -> np.ndarray:
        """This step's addition to R&D capital: own R&D plus technology bought on the market
        (capitalised as acquired R&D, as the 2008 SNA does; national technology innovation
        centers, task 5, raise what firms of their fields absorb of it)."""
        absorb = 1.0 + p.platform_effect * platforms * _HAS_CENTER[self.sector[idx]]
        return self.rd_q[idx] + p.purchase_capitalisation * absorb * self.purchases_q[idx]

    def accumulate_rd_capital(self, idx, p, access, dt: float, platforms: float) -> None:
        """Perpetual inventory of R&D capital (Griliches 1979): K <- (1 - delta)^dt K + I, and
        the sector's productivity growth, gamma x dlog K_s + psi x dlog access_s: a sector's
        output has elasticity gamma (`rd_output_elasticity`, prior from Hall, Mairesse and
        Mohnen 2010) to its R&D capital and psi (`spillover_output_elasticity`) to the public
        knowledge its firms reach. Entrants start with no R&D capital and no access history."""
        sector = self.sector[idx]
        k = self.rd_stock[idx]
        before = np.bincount(sector, weights=k, minlength=N_SECTORS)
        k = k * (1.0 - p.rd_depreciation) ** dt + self._rd_investment(idx, p, platforms)
        self.rd_stock[idx] = k
        after = np.bincount(sector, weights=k, minlength=N_SECTORS)
        ok = (before > 0) & (after > 0)
        dlog_k = np.where(ok, np.log(np.maximum(after, 1e-300) / np.maximum(before, 1e-300)), 0.0)
        log_a = np.log(np.maximum(access, 1e-12))
        new = self.log_access[idx] == 0.0  # never seen (entrants): no change counted
        change = np.where(new, 0.0, log_a - self.log_access[idx])
        self.log_access[idx] = np.where(log_a == 0.0, 1e-12, log_a)
        w = self.revenue[idx]
        wsum = np.bincount(sector, weights=w, minlength=N_SECTORS)
        dlog_access = np.bincount(sector, weights=w * change, minlength=N_SECTORS) / np.maximum(
            wsum, 1e-300
        )
        self.sector_gain = (
            p.rd_output_elasticity * dlog_k + p.spillover_output_elasticity * dlog_access
        ) / dt

    def init_rd_capital(self, idx, p, access, dt: float) -> None:
        """Base year: R&D capital at its steady state, K = I / (g + delta), where g is the
        growth the 2015 economy sustains, g = revenue_growth / (1 - gamma) (revenue, R&D and R&D
        capital grow together: g = revenue_growth + gamma g); knowledge access of 2015 recorded."""
        g = p.revenue_growth / max(1.0 - p.rd_output_elasticity, 1e-6)
        invest = self._rd_investment(idx, p, 0.0) / dt  # per year
        self.rd_stock[idx] = invest / max(g + p.rd_depreciation, 1e-6)
        log_a = np.log(np.maximum(access, 1e-12))
        self.log_access[idx] = np.where(log_a == 0.0, 1e-12, log_a)
        self.sector_gain = np.full(N_SECTORS, p.rd_output_elasticity * g)

    def grow(self, idx, p, rng, demand_growth: float, dt: float, draws=None):
        """Revenue and employment dynamics for one step; returns log revenue (floored at 1e-9, as
        `valuation_update` takes it).

        Each sector's market grows at the sector rate (revenue_growth + demand + the effect of the
        sector's technical progress); firms compete for shares of it. A firm's own shock, its
        technology relative to its sector and venture backing move its share, so they shift
        revenue between firms without changing the sector's total. This keeps aggregate growth
        tied to the sector rate however concentrated the sector becomes (with independent
        firm growth, the exits of small firms drag aggregate growth less and less as the largest
        firms take over, and aggregate growth accelerates)."""
        sector = self.sector[idx]
        rel_gain = self.dlog_tech[idx]
        rev = self.revenue[idx]
        # The year's growth shock of a firm is one Laplace draw (Bottazzi and Secchi 2006: a
        # firm's growth is the sum of a random number of opportunities, which gives a Laplace
        # law at the yearly horizon), realised evenly over the year's steps: independent draws
        # each quarter would add up to a near-normal yearly shock. `draws` must give the same
        # value to a firm at every step of a year. Its scale falls with size.
        b = p.growth_shock * (np.maximum(rev, 1e-4) / p.revenue_ref) ** (-p.growth_shock_size_slope)
        b = np.clip(b, 0.2 * p.growth_shock, min(6.0 * p.growth_shock, MAX_LAPLACE_SCALE))
        u = draws.laplace() if draws is not None else rng.laplace(0.0, 1.0, idx.size)
        # Centred so that the shock adds no drift to revenue: E[exp(b L)] = 1 / (1 - b^2) for a
        # standard Laplace L and b < 1.
        shock = (u * b + np.log1p(-(b**2))) * dt
        stage = self.stage[idx]
        startup = (stage >= 1) & (stage < LISTED) & (rev < p.revenue_ref)
        # A sector's market grows with demand (revenue_growth, and any demand shock) and with its
        # productivity (sector_gain: R&D capital and spillovers, accumulate_rd_capital). Its
        # trend is at most MAX_MARKET_GROWTH log-points a year either way (far from anything near
        # the defaults; a guard for parameter corners). Demand shocks (one-step jumps of the
        # level) are not bounded.
        trend = p.revenue_growth + self.sector_gain
        excess = trend - np.clip(trend, -MAX_MARKET_GROWTH, MAX_MARKET_GROWTH)  # 0 unless bound
        market = (trend + demand_growth - excess) * dt
        share = p.tech_to_growth * rel_gain + shock
        share += np.where(startup, p.venture_growth_premium * dt, 0.0)
        new = rev * np.exp(np.clip(share, -1.5, 1.5))
        before = np.bincount(sector, weights=rev, minlength=N_SECTORS)
        after = np.bincount(sector, weights=new, minlength=N_SECTORS)
        norm = np.where(after > 0, before * np.exp(market) / np.maximum(after, 1e-300), 1.0)
        revenue = self.revenue[idx] = new * norm[sector]
        # Staff in FTE follows what revenue pays for. A micro firm whose revenue pays for less
        # than one FTE shrinks toward it (founders part-time or unpaid), down to MIN_FTE: with a
        # floor of one, a third of firms (the micro entrants) sat at it and the smallest firms'
        # employment never moved, against the stylised fact that the smallest firms' growth is
        # the most volatile (Stanley et al. 1996; Haltiwanger, Jarmin and Miranda 2013).
        target_emp = revenue / p.revenue_per_employee
        emp = self.employees[idx]
        self.employees[idx] = np.maximum(
            MIN_FTE, emp * (target_emp / emp) ** min(1.0, p.employment_adjustment * dt)
        )
        log_rev = self.update_margin(idx, p, dt, revenue)
        self.age[idx] += 1
        return log_rev

    def update_margin(self, idx, p, dt: float, revenue=None) -> np.ndarray:
        """Operating margin (before R&D) after this step's growth, with operating leverage.

        The planned margin is the firm's normal margin: the default plus its fixed effect and
        technology premium, less start-up losses of young small firms. Part of operating cost
        (`fixed_cost_share` of revenue at plan: staff, premises, overheads) is fixed in the short
        run: it is set for the revenue the firm planned for, `rev_plan`, which grows at the
        firm's expected growth (adaptive: it moves towards the realised growth) and moves towards
        the actual revenue, both at the rate `fixed_cost_adjustment` a year when sales are
        below plan and `fixed_cost_adjustment_up` when above (costs are sticky: cut more slowly
        than raised, Anderson, Banker and Janakiraman 2003). The margin is the planned margin less
        `fixed_cost_share x (rev_plan / revenue - 1)`: a sales drop below plan turns low-margin
        firms into loss-makers until costs are cut; when revenue follows its trend the margin is
        the planned one (the
        2015 state is a steady state). The step's R&D is booked into the HTE certification window.
        `revenue` is `self.revenue[idx]` if the caller has it; returns log revenue (floored at
        1e-9)."""
        if revenue is None:
            revenue = self.revenue[idx]
        rev = np.maximum(revenue, 1e-9)
        log_rev = np.log(rev)
        plan = self.rev_plan[idx]
        first = np.flatnonzero(plan <= 0)  # base-year firms and entrants: few
        # costs are sticky: they are cut more slowly than they are raised
        a_down = 1.0 - np.exp(-p.fixed_cost_adjustment * dt)
        a_up = 1.0 - np.exp(-p.fixed_cost_adjustment_up * dt)
        adjust = np.where(rev < plan, a_down, a_up)
        # adaptive expectation of the firm's own growth (base-year firms and entrants start
        # from their growth of this, their first step); costs are planned along it and close
        # part of the gap to the actual revenue each step
        log_last = self.log_rev_last[idx]  # log revenue at the last update (kept: one log less)
        if first.size:
            log_last[first] = np.log(np.maximum(self.rev_year_start[idx[first]], 1e-9))
        growth = log_rev - log_last
        growth /= dt
        g_exp = self.cost_growth_exp[idx]
        g_exp += adjust * (growth - g_exp)
        if first.size:
            g_exp[first] = growth[first]
        self.cost_growth_exp[idx] = g_exp
        log_plan = np.log(np.maximum(plan, 1e-9))
        log_plan += g_exp * dt
        log_plan += adjust * (log_rev - log_plan)
        # base-year firms and entrants (no plan yet) plan for their current revenue
        if first.size:
            log_plan[first] = log_rev[first]
        self.rev_plan[idx] = np.exp(log_plan)
        self.log_rev_last[idx] = log_rev
        # Start-up losses: young firms that are still small.
        young = self.young(idx, p, dt) * (revenue < p.revenue_ref)
        tech_rel = np.clip(np.log(np.maximum(self.tech[idx], 1e-6)), -1.0, 1.0)
        planned = (
            p.operating_margin
            + self.margin_fe[idx]
            + p.tech_to_margin * tech_rel
            - p.young_firm_loss * young
        )
        # the fixed costs of the planned revenue over the actual, to first order in the gap
        self.margin[idx] = planned - p.fixed_cost_share * (log_plan - log_rev)
        self.rd_cur[idx] += self.rd_q[idx]
        return log_rev

    def valuation_update(self, idx, p, dt: float, log_rev=None) -> None:
        """Valuation from growth expectations: revenue x the sector's base multiple x
        exp(growth_valuation_k x expected growth) x a technology premium. Expected growth is the
        firm's recent revenue growth, smoothed: log revenue minus its exponentially smoothed
        level (weight `growth_expectation_weight` a year), scaled so that steady growth g gives
        g (`trend_gap`); a one-off jump fades at that weight a year. Venture-backed firms are worth
        at least their last post-money (no down rounds are modelled). `log_rev` is
        log(max(revenue, 1e-9)) of `idx` if the caller has it (`grow` returns it); `dt` is the
        step length in years."""
        gap = self.trend_gap(p, dt)  # log revenue above its trend per unit of steady growth
        a = 1.0 - (1.0 - min(p.growth_expectation_weight, 0.999)) ** dt
        if log_rev is None:
            log_rev = np.log(np.maximum(self.revenue[idx], 1e-9))
        trend = self.log_rev_trend[idx]
        # A new firm (both fields still 0) starts expecting the market's trend growth.
        new = (trend == 0.0) & (self.growth_exp[idx] == 0.0)
        if new.any():
            trend[new] = log_rev[new] - p.revenue_growth * gap
        trend += a * (log_rev - trend)
        self.log_rev_trend[idx] = trend
        ge = (log_rev - trend) / gap
        self.growth_exp[idx] = ge
        value = self._fundamental(idx, p, log_rev, ge)
        backed = np.flatnonzero(self.stage[idx] >= 1)  # venture-backed firms: few
        value[backed] = np.maximum(value[backed], self.last_post[idx[backed]])
        self.valuation[idx] = value

    @staticmethod
    def trend_gap(p, dt: float) -> float:
        """Log revenue minus its smoothed level (weight a a step) for a firm growing steadily
        at 1 a year: dt (1 - a) / a. Expected growth is the actual gap over this."""
        a = 1.0 - (1.0 - min(p.growth_expectation_weight, 0.999)) ** dt
        return dt * (1.0 - a) / a

    def fundamental_value(self, idx, p) -> np.ndarray:
        """Revenue x sector multiple x exp(k x expected growth) x tech premium, 100m yuan."""
        log_rev = np.log(np.maximum(self.revenue[idx], 1e-300))
        return self._fundamental(idx, p, log_rev, self.growth_exp[idx])

    def _fundamental(self, idx, p, log_rev, growth_exp) -> np.ndarray:
        log_base = np.log(p.revenue_multiple * np.asarray(p.sector_multiple_factors, dtype=float))
        ge = np.clip(growth_exp, -MAX_EXPECTED_GROWTH, MAX_EXPECTED_GROWTH)
        log_tech = np.log(np.maximum(self.tech[idx], 1e-3))
        return np.exp(
            log_rev
            + log_base[self.sector[idx]]
            + p.growth_valuation_k * ge
            + p.tech_valuation_elasticity * log_tech
        )

    def young(self, idx, p, dt: float) -> np.ndarray:
        """How young each firm is, exp(-age / `young_firm_years`) with age in years: start-up
        losses (`update_margin`) and the exit hazard (`exit_hazard`) fade with it. Age counts
        steps, so the factor is read from a table by age, each entry computed by the same
        expression as a firm's (the same bits as computing it per firm, without an exp each)."""
        age = self.age[idx]
        if not age.size or age.min() < 0:  # none, or an age set by hand below zero
            return np.exp(-age * dt / p.young_firm_years)
        key, table = self._young_table
        top = int(age.max()) + 1
        if key != (dt, p.young_firm_years):  # a new table for another step or time scale
            table = np.empty(0)
        if table.size < top:  # ages grow by one a step: double, to rebuild rarely
            ages = np.arange(max(top, 2 * table.size, 64), dtype=age.dtype)
            table = np.exp(-ages * dt / p.young_firm_years)
            self._young_table = ((dt, p.young_firm_years), table)
        return table[age]

    def exit_hazard(self, idx, p, dt: float) -> np.ndarray:
        """Annual closure probability: high for young and small firms."""
        young = self.young(idx, p, dt)
        size = np.clip(self.revenue[idx] / p.revenue_ref, 1e-3, 1e3)
        h = (
            p.exit_hazard_base
            * (1.0 + p.exit_young_multiplier * young)
            * size ** (-p.exit_size_slope)
        )
        return np.clip(h, 0.0, 0.9)

    def hte_eligible(
        self, idx, steps_per_year: int, relabel: float = 0.0, min_staff_fte: float = 0.0
    ) -> np.ndarray:
        """HTE criteria (Guokefahuo [2016] No. 32, art. 11, and its work guidelines), at the end
        of a year, over the current year and the two before (`rd_cur`, `rd_y1`, `rd_y2` and the
        same for revenue; a firm younger than three years counts the years since founding):
        - registered at least one year (`age`);
        - R&D intensity (all R&D spent, including what start-ups spend from venture money and
          grants, over revenue) of the window at least 5% if the latest year's revenue is below
          50m yuan, 4% for 50m-200m, 3% above; the R&D a firm reports can exceed what it spends
          by the share `relabel` (other expenses relabelled as R&D to pass the threshold, Chen,
          Liu, Suarez Serrato and Xu 2021; the model's R&D statistics are actual spending);
        - S&T staff (researchers) at least 10% of employees; S&T staff are people who worked at
          least 183 days in the year (Guokefahuo [2016] No. 195, the work guidelines): a firm has some
          only if its researchers add up to at least `min_staff_fte` (half an FTE: micro firms
          whose research is one founder's part-time work have none);
        - in Beijing (a firm that moved production out is certified elsewhere).
        Taken as met: owning IP for the main products (it accepts utility models and software
        copyrights, which the model does not track and nearly all such firms hold), high-tech
        products and services at least 60% of revenue (the model's firms are technology-based
        firms by construction and have no product mix) and the innovation-capability score."""
        rd = self.rd_cur[idx] + self.rd_y1[idx] + self.rd_y2[idx]
        rev_w = self.rev_cur[idx] + self.rev_y1[idx] + self.rev_y2[idx]
        rdint = (1.0 + relabel) * rd / np.maximum(rev_w, 1e-9)
        threshold = hte_rd_threshold(self.rev_cur[idx])  # by the revenue of the year just ended
        researchers = self.researchers[idx]
        staff = researchers / np.maximum(self.employees[idx], 1.0)
        registered = self.age[idx] >= steps_per_year
        return (
            registered
            & (rev_w > 0)
            & (rdint >= threshold)
            & (staff >= 0.10)
            & (researchers >= min_staff_fte)
            & self.in_beijing(idx)
        )

    def relocation_candidates(
        self, idx, p, rng, relocation_lever: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Manufacturing firms in Beijing that move production to Tianjin or Hebei this year."""
        cand = idx[
            MANUFACTURING[self.sector[idx]] & self.in_beijing(idx) & (self.stage[idx] < LISTED)
        ]
        prob = np.clip(p.relocation_hazard * relocation_lever, 0.0, 1.0)
        moving = cand[rng.random(cand.size) < prob]
        dest = np.where(rng.random(moving.size) < p.relocation_to_tianjin_share, TIANJIN, HEBEI)
        return moving, dest.astype(np.int8)


class Firm(AgentView):
    """A firm as a Mesa agent: a view on its slot in FirmPopulation (decisions are vectorised
    there; the agent exists for Mesa's AgentSet queries, visualisation and rare events). Made on
    demand (`view.LazyViews`): it holds only its Mesa id and finds its slot from it."""

    kind = "firms"
    fields = frozenset(_FIELDS)

    def __init__(self, model, slot: int):  # noqa: D107 - a view for a firm that has no id yet
        raise TypeError(
            "firm agents are made by the model (model.agents_by_type[Firm]); "
            "a firm enters through sim.model.agents.entry"
        )

    @property
    def slot(self) -> int:
        f = self.model.firms
        return slot_of(f.firm_id, f.size, self.unique_id, f.alive)
