"""Capital market: staged equity rounds, bank loans, guidance co-investment, exits.

Who offers: angels (first round), venture funds, state-owned VC and guidance funds (later rounds;
guidance funds co-invest up to a cap), banks (loans).
Who demands: young unlisted firms in Beijing that apply for their next round; firms short of cash
that ask for loans (venture-backed firms without revenue qualify only under investment-loan
linkage).
How it clears (each quarter): applicants are ranked by a noisy signal of their quality (technology
level), sorted once (O(n log n)); only those above the screening threshold are considered. Money
chases deals: when equity investors hold more uninvested capital than in 2015 (the abundance A,
climate-adjusted, lower in a capital winter) they lower that threshold, approach more firms (the
application rate rises), and offer larger rounds at higher pre-money. The ranked rounds are filled
from the suppliers' offered capital laid out in random order (`allocation.syndicate_skipping`), so
a round may be syndicated across funds, no fund invests more than it offered, and a round the
remaining offer cannot cover is skipped for the next ones. Staged pre-money: the firm's valuation
(growth expectations, FirmPopulation.valuation_update) times A^valuation_chasing, at least the last
post-money stepped up by the firm's revenue growth since that round; earlier stakes are diluted.
The money raised is the firm's venture cash, spent over a runway (FirmPopulation.decide_rd).
Banks lend up to their remaining capacity; demand beyond it is rationed (loan_served_share).
Exits: listings of any firm meeting the listing rules (hazard scaled by `exit_market_depth`) and
acquisitions return stake x valuation to the funds; closures write stakes off. Money is conserved
through the ledger.
"""

from __future__ import annotations

import numpy as np

from sim.model.agents.firm import LISTED
from sim.model.agents.fund import ANGEL, BANK, GUIDANCE, STATE_VC, VENTURE
from sim.model.agents.region import N_REGIONS
from sim.model.markets.allocation import syndicate, syndicate_skipping


class CapitalMarket:
    """Holdings table (fund, firm slot, stake, cost) and the quarterly clearing.

    Works on the populations and money ledger it is given at construction."""

    def __init__(self, p, clock, firms, funds, money):
        self.p, self.clock, self.firms, self.funds, self.money = p, clock, firms, funds, money
        self.h_fund = np.zeros(0, dtype=np.int64)
        self.h_firm = np.zeros(0, dtype=np.int64)
        self.h_stake = np.zeros(0)
        self.h_cost = np.zeros(0)
        self.h_proceeds = np.zeros(0)
        self.h_open = np.zeros(0, dtype=bool)
        # Flows of the current year (new_year resets).
        self.vc_invested = 0.0
        self.deals = 0
        self.loans_issued = 0.0
        self.loan_demand = 0.0  # loans asked for this year (served or rationed)
        # Money this year from funds' region to firms' region (equity and loans), simulated units.
        self.flow = np.zeros((N_REGIONS, N_REGIONS))
        self.dry_powder_ref = 1.0  # equity investors' cash in 2015 (set_reference)

    def new_year(self) -> None:
        """Start the year's flow records afresh."""
        self.flow[:] = 0.0
        self.vc_invested = 0.0
        self.deals = 0
        self.loans_issued = 0.0
        self.loan_demand = 0.0

    def loan_served_share(self) -> float:
        """Share of this year's loan demand the banks served (the rest was rationed)."""
        if self.loan_demand <= 0:
            return 1.0
        return min(self.loans_issued / self.loan_demand, 1.0)  # 1 when all was served (rounding)

    def clear(self, levers: dict, step: int, climate: float) -> tuple[np.ndarray, np.ndarray]:
        """One quarter: debt service, loans, equity rounds, exits; returns (listed, acquired)."""
        self.service_debt()
        self.lend(levers["investment_loan_linkage"])
        self.rounds(step, climate)
        return self.exits(levers["exit_market_depth"])

    # --- equity rounds -------------------------------------------------------------------------
    def rounds(self, step: int, climate: float) -> None:
        """Equity rounds at Mesa step `step`; `climate`: the venture capital shock multiplier."""
        f, funds, p, rng = self.firms, self.funds, self.p, self.clock.streams["capital"]
        dt = self.clock.dt
        live = f.live
        stage = f.stage[live]
        eligible = (
            (stage < LISTED)
            & (f.age[live] * dt < p.venture_max_age_years)
            & ((step - f.last_funded[live]) * dt >= p.min_years_between_rounds)
            & f.in_beijing(live)
        )
        cand = live[eligible]
        short = f.cash[cand] < 2.0 * np.maximum(f.rd_q[cand], 0.002)
        # Investors holding more dry powder than in 2015 source more deals: they approach more
        # firms, so the yearly chance of an application rises with abundance.
        abundance = self.abundance(climate)
        rate = min(p.funding_apply_rate * abundance**p.deal_sourcing_elasticity, 0.95)
        apply = rng.random(cand.size) < self.clock.per_step(rate) * np.where(short, 2.0, 1.0)
        cand = cand[apply]
        if cand.size == 0:
            return
        signal = np.log(np.maximum(f.tech[cand], 1e-6)) + rng.normal(
            0.0, p.screening_noise, cand.size
        )
        keep = signal > self.screening_threshold(climate)
        cand, signal = cand[keep], signal[keep]
        sizes_by_stage = np.array(
            [p.round_size_angel, p.round_size_a, p.round_size_b, p.round_size_c, p.round_size_c]
        )
        # Money chasing deals: with more dry powder than in 2015 rounds are larger (and priced
        # higher, _fill), so extra capital is deployed rather than left idle.
        size = (
            sizes_by_stage[f.stage[cand]]
            * rng.lognormal(0.0, 0.5, cand.size)
            * abundance**p.valuation_chasing
        )
        order = np.argsort(-signal, kind="stable")
        cand, size = cand[order], size[order]
        first = f.stage[cand] == 0
        self._fill(step, climate, cand[first], size[first], funds.of_kind(ANGEL), guidance_cap=0.0)
        later = np.concatenate(
            [funds.of_kind(VENTURE), funds.of_kind(STATE_VC), funds.of_kind(GUIDANCE)]
        )
        self._fill(
            step, climate, cand[~first], size[~first], later, guidance_cap=p.guidance_coinvest_cap
        )

    @staticmethod
    def expected_flow(p, stage, age_years, tech, short, supply_first, supply_later) -> float:
        """Expected yearly venture investment in a state (used for the 2015 steady state): for
        first rounds (angels) and later rounds, the lesser of what investors offer and what the
        qualifying applicants ask for (eligible firms x yearly application rate x chance that
        their signal clears the 2015 screening threshold x mean round size)."""
        from scipy.special import ndtr

        eligible = (stage < LISTED) & (age_years < p.venture_max_age_years)
        apply = np.minimum(p.funding_apply_rate * np.where(short, 2.0, 1.0), 1.0)
        noise = max(p.screening_noise, 1e-9)
        clear = ndtr((np.log(np.maximum(tech, 1e-6)) - p.screening_threshold) / noise)
        sizes = np.array(
            [p.round_size_angel, p.round_size_a, p.round_size_b, p.round_size_c, p.round_size_c]
        )
        mean_size = sizes[np.clip(stage, 0, 4)] * np.exp(0.5**2 / 2.0)  # lognormal(0, 0.5)
        ask = np.where(eligible, apply * clear * mean_size, 0.0)
        first = stage == 0
        return float(min(supply_first, ask[first].sum()) + min(supply_later, ask[~first].sum()))

    @staticmethod
    def dry_powder(funds) -> float:
        """Uninvested capital of the equity investors (all funds but banks)."""
        return float(funds.cash[funds.kind != BANK].sum())

    def set_reference(self, funds) -> None:
        """Take the base year's (2015) dry powder as the level at which the bar is
        `screening_threshold`; it does not depend on any lever."""
        self.dry_powder_ref = max(self.dry_powder(funds), 1e-12)

    def abundance(self, climate: float) -> float:
        """Equity investors' dry powder (climate-adjusted) relative to 2015."""
        powder = self.dry_powder(self.funds) * climate
        return max(powder, 1e-12) / self.dry_powder_ref

    def screening_threshold(self, climate: float) -> float:
        """The bar an applicant's signal must clear: lower when equity investors hold more dry
        powder (climate-adjusted) than in 2015, higher when they hold less (money chasing
        deals)."""
        return self.p.screening_threshold - self.p.money_chasing_deals * float(
            np.log(self.abundance(climate))
        )

    def _fill(self, step, climate, firms_idx, size, suppliers, guidance_cap: float) -> None:
        f, funds, p, rng = self.firms, self.funds, self.p, self.clock.streams["capital"]
        if firms_idx.size == 0 or suppliers.size == 0:
            return
        offer = funds.deployable(suppliers, p, self.clock.dt)
        is_g = funds.kind[suppliers] == GUIDANCE
        # In a capital winter private investors also slow their pace of investing (and speed it
        # up in a boom, up to the cash they hold); public guidance funds keep theirs.
        offer = np.where(is_g, offer, np.minimum(offer * climate, funds.cash[suppliers]))
        if is_g.any():
            private = offer[~is_g].sum()
            cap = guidance_cap * private / max(1e-12, 1.0 - guidance_cap)
            g_total = offer[is_g].sum()
            if g_total > cap:
                offer[is_g] *= cap / g_total
        perm = rng.permutation(suppliers.size)
        suppliers, offer = suppliers[perm], offer[perm]
        d_idx, s_idx, amount, served_idx = syndicate_skipping(size, offer)
        served = served_idx.size
        if served == 0:
            return
        fund_of = suppliers[s_idx]
        firm_of = firms_idx[d_idx]
        # position of each participation's round among the served rounds
        seg = np.searchsorted(served_idx, d_idx)
        raised = np.bincount(seg, weights=amount, minlength=served)
        deal_firms = firms_idx[served_idx]
        # Staged pre-money: the firm's valuation, raised when dry powder is abundant (money
        # chasing deals, Gompers and Lerner 2000); for a backed firm that grew since its last
        # round, at least the last post-money stepped up by its revenue growth; at least the
        # round size times a floor multiple.
        chase = self.abundance(climate) ** p.valuation_chasing
        grew = np.where(
            f.rev_at_round[deal_firms] > 0,
            np.maximum(f.revenue[deal_firms] / np.maximum(f.rev_at_round[deal_firms], 1e-12), 1.0),
            1.0,
        )
        step_up = np.where(f.stage[deal_firms] >= 1, f.last_post[deal_firms] * grew, 0.0)
        pre = np.maximum(
            np.maximum(f.valuation[deal_firms] * chase, step_up), raised * p.min_premoney_multiple
        )
        post = pre + raised
        # Dilute earlier stakes in these firms.
        if self.h_firm.size:
            rank = np.full(f.capacity, -1, dtype=np.int64)  # firm slot -> its round (or -1)
            rank[deal_firms] = np.arange(served)
            round_of = rank[self.h_firm]  # gone firms (-1) are closed holdings: masked below
            hit = (round_of >= 0) & self.h_open
            self.h_stake[hit] *= (pre / post)[round_of[hit]]
        post_of_seg = post[seg]
        self._append(fund_of, firm_of, amount / post_of_seg, amount)
        # Money: funds -> firms.
        np.subtract.at(funds.cash, fund_of, amount)
        np.add.at(funds.invested_year, fund_of, amount)
        np.add.at(self.flow, (funds.region[fund_of], f.region[firm_of]), amount)
        funds.cash[funds.cash < 0] = 0.0  # guard against round-off only (syndicate never overdraws)
        f.cash[deal_firms] += raised
        f.vc_cash[deal_firms] += raised  # spent over the runway (FirmPopulation.decide_rd)
        f.rev_at_round[deal_firms] = f.revenue[deal_firms]
        self.money.transfer("funds", "firms", raised.sum())
        f.stage[deal_firms] = np.minimum(f.stage[deal_firms] + 1, LISTED - 1)
        f.last_funded[deal_firms] = step
        f.last_post[deal_firms] = post
        f.valuation[deal_firms] = post
        self.vc_invested += raised.sum()
        self.deals += served

    def _append(self, fund, firm, stake, cost) -> None:
        self.h_fund = np.concatenate([self.h_fund, fund])
        self.h_firm = np.concatenate([self.h_firm, firm])
        self.h_stake = np.concatenate([self.h_stake, stake])
        self.h_cost = np.concatenate([self.h_cost, cost])
        self.h_proceeds = np.concatenate([self.h_proceeds, np.zeros(fund.size)])
        self.h_open = np.concatenate([self.h_open, np.ones(fund.size, dtype=bool)])

    # --- loans -------------------------------------------------------------------------------
    def service_debt(self) -> None:
        """Firms pay interest and amortisation to banks, as far as their cash allows."""
        f, funds, p, dt = self.firms, self.funds, self.p, self.clock.dt
        live = f.live
        owing = live[f.debt[live] > 0]
        if owing.size == 0:
            return
        interest = f.debt[owing] * p.loan_rate * dt
        principal = f.debt[owing] * min(1.0, dt / p.loan_term_years)
        pay = np.minimum(f.cash[owing], interest + principal)
        f.cash[owing] -= pay
        f.debt[owing] -= np.clip(pay - interest, 0.0, None)
        f.debt[f.debt < 1e-12] = 0.0
        banks = funds.of_kind(BANK)
        funds.credit(banks, pay.sum(), None, None, weights=np.ones(banks.size))
        self.money.transfer("firms", "funds", pay.sum())

    def lend(self, linkage: float) -> None:
        """New loans to firms short of cash; venture-backed firms qualify under linkage."""
        f, funds, p, rng = self.firms, self.funds, self.p, self.clock.streams["capital"]
        live = f.live
        rev = f.revenue[live]
        bj = f.in_beijing(live)
        short = f.cash[live] < p.loan_trigger_years * rev
        collateral = (rev > p.loan_min_revenue) & (f.debt[live] < p.loan_to_revenue * rev)
        secured = short & collateral
        # Under investment-loan linkage a bank also lends to a venture-backed firm without that
        # collateral, against its last round, once it has spent most of the round.
        backed = (f.stage[live] >= 1) & (f.stage[live] < LISTED)
        runway_low = f.cash[live] < p.linkage_loan_share * f.last_post[live]
        linked = backed & runway_low & ~secured & (rng.random(live.size) < linkage)
        want = (
            bj
            & (secured | linked)
            & (rng.random(live.size) < self.clock.per_step(p.loan_apply_rate))
        )
        cand = live[want]
        if cand.size == 0:
            return
        amount = np.where(
            secured[want],
            np.maximum(p.loan_to_revenue * f.revenue[cand] - f.debt[cand], 0.0),
            np.maximum(p.linkage_loan_share * f.last_post[cand] - f.debt[cand], 0.0),
        )
        ok = amount > 0
        cand, amount = cand[ok], amount[ok]
        self.loan_demand += amount.sum()
        score = f.margin[cand] * f.revenue[cand] + rng.normal(0, 1e-3, cand.size)
        order = np.argsort(-score, kind="stable")
        cand, amount = cand[order], amount[order]
        # Banks lend up to their remaining lending capacity (their cash: topped up to
        # bank_lending_capacity_2015 each year, replenished by repayments); demand beyond it is
        # rationed, the least profitable borrowers first (syndicate serves in rank order).
        banks = funds.of_kind(BANK)
        offer = funds.cash[banks].copy()
        d_idx, s_idx, amt, served = syndicate(amount, offer)
        if served == 0:
            return
        np.subtract.at(funds.cash, banks[s_idx], amt)
        np.add.at(self.flow, (funds.region[banks[s_idx]], f.region[cand[d_idx]]), amt)
        funds.cash[funds.cash < 0] = 0.0
        lent = amount[:served]
        f.cash[cand[:served]] += lent
        f.debt[cand[:served]] += lent
        self.money.transfer("funds", "firms", lent.sum())
        self.loans_issued += lent.sum()

    # --- exits -------------------------------------------------------------------------------
    def exits(self, depth: float) -> tuple[np.ndarray, np.ndarray]:
        """Listings and acquisitions this quarter; returns (listed slots, acquired slots)."""
        f, p, rng = self.firms, self.p, self.clock.streams["capital"]
        per_step = self.clock.per_step
        live = f.live
        stage = f.stage[live]
        # Any unlisted firm that meets the listing rules (operating history, revenue, profit) and
        # is valued at ipo_min_valuation can list, venture-backed or not: the candidate pool is
        # not empty in 2015.
        ipo_cand = (
            (stage < LISTED)
            & (f.valuation[live] >= p.ipo_min_valuation)
            & (f.age[live] * self.clock.dt >= p.ipo_min_age_years)
            & (f.revenue[live] >= p.ipo_min_revenue)
            & (f.margin[live] > 0)
        )
        ipo = live[ipo_cand & (rng.random(live.size) < per_step(min(0.99, p.ipo_hazard * depth)))]
        acq_cand = (stage >= 1) & (stage < LISTED) & ~np.isin(live, ipo)
        acquired = live[acq_cand & (rng.random(live.size) < per_step(p.acquisition_hazard))]
        if ipo.size:
            self._pay_out(ipo, p.ipo_premium)
            primary = p.ipo_primary_share * f.valuation[ipo]
            f.cash[ipo] += primary
            self.money.transfer("markets", "firms", primary.sum())
            f.stage[ipo] = LISTED
        if acquired.size:
            self._pay_out(acquired, p.acquisition_multiple)
        return ipo, acquired

    def _pay_out(self, firms_idx, multiple) -> None:
        f, funds = self.firms, self.funds
        hit = self.h_open & self._held_in(firms_idx)
        if not hit.any():
            return
        val = f.valuation[self.h_firm[hit]] * multiple
        proceeds = self.h_stake[hit] * val
        self.h_proceeds[hit] += proceeds
        self.h_open[hit] = False
        np.add.at(funds.cash, self.h_fund[hit], proceeds)
        np.add.at(funds.proceeds_year, self.h_fund[hit], proceeds)
        self.money.transfer("markets", "funds", proceeds.sum())

    def write_off(self, firms_idx) -> None:
        """Closed firms: their holdings are worth nothing (the funds bear the loss)."""
        if firms_idx.size and self.h_firm.size:
            self.h_open &= ~self._held_in(firms_idx)

    def _held_in(self, firms_idx) -> np.ndarray:
        """Which holdings are stakes in the firms `firms_idx` (a lookup by slot, not a search;
        holdings of gone firms, slot -1, are closed and read an arbitrary slot: callers mask
        them with `h_open`)."""
        mark = np.zeros(self.firms.capacity, dtype=bool)
        mark[firms_idx] = True
        return mark[self.h_firm]

    def remap(self, remap: np.ndarray) -> None:
        """After firm-slot compaction: closed holdings are kept for return statistics only."""
        if self.h_firm.size:
            valid = (self.h_firm >= 0) & (self.h_firm < remap.size)
            if remap.size == 0:  # no firm left at all (a parameter corner): every holding is gone
                new = np.full_like(self.h_firm, -1)
            else:
                new = np.where(valid, remap[np.clip(self.h_firm, 0, remap.size - 1)], -1)
            self.h_open &= new >= 0
            self.h_firm = new  # -1 marks a firm that is gone

    def deal_returns(self) -> np.ndarray:
        """Multiple on invested capital of every closed holding (stylised fact: a few deals earn most)."""
        closed = ~self.h_open
        return self.h_proceeds[closed] / np.maximum(self.h_cost[closed], 1e-12)
