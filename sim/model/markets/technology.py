"""Technology market: licences and technology contracts.

Who offers: universities and institutes (researchers in applied research x knowledge quality x TTO
capacity x transfer effort) and technologically leading firms (researchers x technology quality),
with the same diminishing returns to the research input. Offers are values (100m yuan): a seller
sells at most what it offers.
Who demands: firms (a share of their R&D budget, more for better absorptive capacity) and buyers
outside the modelled firm population (government and other buyers in Beijing, Tianjin, Hebei, the
rest of China and abroad), whose demand grows exogenously and is set at the base year so that
2015 turnover and the flow to Tianjin and Hebei match the record.
How it clears (each quarter): offers and demands are summed into (field, region) cells, O(n).
Buyers split their demand between firms' and universities' technology (two varieties, CES). Search
is directed on both sides with weights field-fit x distance decay x border friction (the unified
Jing-Jin-Ji market lever removes part of the border friction): buyers direct demand to seller
cells by supply x weight, sellers direct capacity to buyer cells by demand x weight, and each pair
of cells matches by a den Haan-Ramey-Watson matching function, bounded by both sides, so supply
binds (O(cells^2), no pairs of agents). Sales are split across the agents of each cell and kind
pro rata. Price per contract rises with seller quality and IP protection. Innovation vouchers pay
part of small and micro firms' purchases from universities and institutes, and raise their demand. Every flow is recorded by seller region and buyer region.
"""

from __future__ import annotations

import numpy as np

from sim.inputs.levers import status_quo
from sim.model.agents.region import (
    BEIJING,
    JJJ_NEIGHBOURS,
    N_REGIONS,
    border_matrix,
    distance_decay,
)
from sim.model.sectors import FIELD_FIT, N_SECTORS, SECTORS

NF, NR = N_SECTORS, N_REGIONS
# sectors classified as software and IT services or services in the national size classes
_SOFTWARE_OR_SERVICES = np.isin(SECTORS, ("new_generation_it", "modern_services"))


def _diminishing(inputs: np.ndarray, p) -> np.ndarray:
    """Each seller's share of its kind's offer X^e, X the sum of the kind's inputs."""
    total = inputs.sum()
    if total <= 0:
        return inputs
    return inputs * total ** (p.applied_offer_elasticity - 1.0)


STATUS_QUO_IP = status_quo("ip_protection")
STATUS_QUO_VOUCHER = status_quo("innovation_voucher_rate")
STATUS_QUO_BASES = status_quo("jjj_transfer_bases")


class TechnologyMarket:
    """Clears technology offers of firms and universities against firm and outside demand.

    Works on the populations and money ledger it is given at construction."""

    def __init__(self, p, clock, regions, firms, universities, money, scale_firms):
        self.p, self.clock = p, clock
        self.firms, self.universities, self.money = firms, universities, money
        self.scale_firms = scale_firms
        self.decay = distance_decay(regions.distance, p.distance_ref_km, p.tech_distance_decay)
        self.uni_offer_scale = None
        self.external_demand = None  # [field, region], 100m yuan per quarter (simulated scale)
        self.firm_demand_scale = None
        self.supply_ref = None
        self.offer_value_scale = 1.0  # 100m yuan per offer unit, set at the base year
        self.variety_weight = None  # a_k of the two kinds of technology, set at the base year
        # vouchers: universities' share of each buyer cell's purchases and the vouchers paid,
        # in the last clearing
        self.uni_purchase_share = None
        self.vouchers_paid = 0.0
        self.voucher_base = (
            0.0  # eligible purchases from universities this step (the voucher's base)
        )
        # Flows of the current year: value and contract counts by seller region x buyer region.
        self.flow = np.zeros((NR, NR))
        self.contracts = np.zeros((NR, NR))
        self.uni_flow = np.zeros(NR)  # of which sold by universities and institutes, by region

    def new_year(self) -> None:
        """Start the year's flow records afresh."""
        self.flow[:] = 0.0
        self.contracts[:] = 0.0
        self.uni_flow[:] = 0.0

    def weights(self, p, levers: dict) -> np.ndarray:
        """W[fs, rs, fb, rb]: how easily a buyer cell reaches a seller cell."""
        border = border_matrix(
            p,
            levers["jjj_unified_tech_market"],
            levers["national_cooperation"],
            levers["international_technology_transfer"],
        )
        geo = self.decay * border
        return FIELD_FIT[:, None, :, None] * geo[None, :, None, :]

    def offers(self, levers: dict, cost_index: float):
        """Offered value of every live firm and university (cost_index: research cost vs 2015),
        in 100m yuan per quarter (simulated scale) once the base year has set the value scale.

        Both kinds of seller turn a real research input into technology they can offer with a
        quality relative to their own population's mean: firms above the median technology
        researchers x sqrt(tech / mean tech), units applied researchers x sqrt(quality) x TTO x
        effort (UniversityPopulation.technology_offer). Returns diminish in each kind's input as
        a whole: a kind whose sellers' inputs sum to X offers X^e (e = `applied_offer_elasticity`),
        each seller its share of X. With diminishing returns per seller instead, splitting the
        same researchers over more sellers raised the offer: micro entrants with less than one
        researcher made a third of the firms' offer by 2030 with a tenth of their researchers."""
        f, u, p = self.firms, self.universities, self.p
        live = f.live
        tech = f.tech[live]
        median_tech = np.median(tech) if live.size else 1.0
        leader = tech > median_tech
        quality = np.sqrt(tech / max(tech.mean(), 1e-12)) if live.size else tech
        firm_offer = _diminishing(
            np.where(leader, np.maximum(f.researchers[live], 0.0) * quality, 0.0), p
        )
        uni_offer = _diminishing(
            u.technology_offer(
                p,
                levers["researcher_burden_reduction"],
                cost_index,
                levers["central_unit_coverage"],
            ),
            p,
        )
        if self.uni_offer_scale is None:
            # Base year: universities' share of the offered value is the 2015 seller share; the
            # value scale is set by the calibration (offer_value_scale).
            s = p.university_seller_share_2015
            self.uni_offer_scale = s / (1 - s) * firm_offer.sum() / max(uni_offer.sum(), 1e-12)
        k = self.offer_value_scale
        return live, k * firm_offer, k * uni_offer * self.uni_offer_scale

    def firm_demand(self, live):
        f, p = self.firms, self.p
        absorb = np.maximum(f.tech[live], 1e-6) ** p.absorptive_elasticity
        return f.rd_q[live] * absorb

    def calibrate(
        self, targets_by_region: np.ndarray, firm_share_bj: float, levers: dict, cost_index: float
    ) -> None:
        """Base-year calibration: the value of sellers' offers is set so that they sell
        `tech_capacity_utilisation_2015` of it in 2015, and the demand levels so that, with the
        2015 state, matched demand by buyer region equals the record (targets are 100m yuan per
        quarter, simulated scale). Demand and matches are solved by fixed-point iteration."""
        f, p = self.firms, self.p
        self.offer_value_scale = 1.0
        live, firm_offer, uni_offer = self.offers(levers, cost_index)
        raw = firm_offer.sum() + uni_offer.sum()
        self.offer_value_scale = targets_by_region.sum() / (
            p.tech_capacity_utilisation_2015 * max(raw, 1e-12)
        )
        live, firm_offer, uni_offer = self.offers(levers, cost_index)
        S = self._supply(live, firm_offer, uni_offer)
        self.supply_ref = S.sum()
        W = self.weights(p, levers)
        firm_cells = self._cells(f.sector[live], f.region[live], self.firm_demand(live))
        sector_share = np.bincount(f.sector[live], weights=f.revenue[live], minlength=NF)
        sector_share = sector_share / sector_share.sum()
        # Firms buy firm_share_bj of Beijing's buying; the rest is other Beijing buyers.
        bj_target = targets_by_region[BEIJING].sum()
        ext_target = np.zeros((NF, NR))
        for r in range(NR):
            t = targets_by_region[r] * ((1 - firm_share_bj) if r in BEIJING else 1.0)
            ext_target[:, r] = t * sector_share
        fill = np.full((NF, NR), p.tech_capacity_utilisation_2015)
        for _ in range(200):
            scale = firm_share_bj * bj_target / max((firm_cells * fill).sum(), 1e-12)
            ext = ext_target / np.maximum(fill, 1e-12)
            D = scale * firm_cells + ext
            flow5 = self._match(S, D, W, p)
            matched = flow5.sum(axis=(0, 1, 2))
            new = np.where(D > 0, matched / np.maximum(D, 1e-300), fill)
            if np.abs(new - fill).max() < 1e-10:
                break
            fill = new
        self.firm_demand_scale = scale
        self.external_demand = ext
        self._fill_2015 = fill

    def base_year_purchases(self, live) -> np.ndarray:
        """Each firm's quarterly purchases in the base year (what the calibrated market fills),
        so that the first step starts with the technology firms were buying in 2015."""
        f = self.firms
        d_f = self.firm_demand(live) * self.firm_demand_scale
        return d_f * self._fill_2015[f.sector[live], f.region[live]]

    def clear(
        self,
        levers: dict,
        external_growth_factor: float,
        demand_shock: float,
        price_level: float,
        inventor_share: np.ndarray,
        cost_index: float,
    ) -> tuple[float, float]:
        """One quarter's trade; returns (public procurement, universities' licence income)."""
        f, u, p = self.firms, self.universities, self.p
        dt = self.clock.dt
        live, firm_offer, uni_offer = self.offers(levers, cost_index)
        fs, fr = f.sector[live], f.region[live]
        S = self._supply(live, firm_offer, uni_offer)
        if S.sum() <= 0:
            return 0.0, 0.0
        W = self.weights(p, levers)
        # A firm asks for at most all the money it has this step: its cash, revenue and R&D
        # budget (at the defaults demand stays below 0.8 of that). Unbounded, demand growing with
        # R&D x technology^absorptive_elasticity could feed itself through sales in parameter
        # corners (the unpaid part of a sale is bought by outside customers).
        rate = levers["innovation_voucher_rate"]
        eligible = self.voucher_eligible(live)  # sizes do not change within the clearing
        wanted = self.firm_demand(live) * self.firm_demand_scale
        wanted *= self.university_demand_factor(live, rate, eligible)
        d_f = np.minimum(
            wanted, np.maximum(f.cash[live], 0.0) + f.revenue[live] * dt + f.rd_q[live]
        )
        D_f = self._cells(fs, fr, d_f)
        D_ext = self.external_demand * external_growth_factor * demand_shock
        # Transfer bases raise Tianjin's and Hebei's demand for Beijing's technology (task 9).
        D_ext[:, JJJ_NEIGHBOURS] *= levers["jjj_transfer_bases"] / STATUS_QUO_BASES
        # Public procurement (tasks 7, 16): the government buys new technology in Beijing's zones,
        # spread over fields like the outside Beijing demand it adds to.
        D_gov = self._government_demand(levers["public_procurement_innovation"])
        D = D_f + D_ext + D_gov
        flow5 = self._match(S, D, W, p)  # value from seller cell to buyer cell, by kind
        matched = flow5.sum(axis=(0, 1, 2))  # [fb, rb]
        sales = flow5.sum(axis=(3, 4))  # [k, fs, rs], at most S
        flow4 = flow5.sum(axis=0)
        # Record flows by region pair, and contracts at the cell's price.
        ip = levers["ip_protection"]
        S_all = S.sum(axis=0)
        quality = np.sqrt(np.maximum(S_all / max(self.supply_ref, 1e-12) * S_all.size, 1e-6))
        price = p.contract_price * price_level * (1.0 + p.ip_price_effect * (ip - STATUS_QUO_IP))
        price_cell = price * np.clip(quality, 0.5, 2.0)
        self.flow += flow4.sum(axis=(0, 2))
        self.contracts += (flow4 / price_cell[:, :, None, None]).sum(axis=(0, 2))
        # Sellers are paid pro rata within their cell and kind.
        ratio = np.where(S > 0, sales / np.maximum(S, 1e-300), 0.0)
        firm_sales = firm_offer * ratio[0, fs, fr]
        uni_sales = uni_offer * ratio[1, u.field, u.region]
        self.uni_flow += np.bincount(u.region, weights=uni_sales, minlength=NR)
        # Buyers: firms get their share of the cell's matched demand.
        fill = np.where(D > 0, matched / np.maximum(D, 1e-300), 0.0)
        bought = d_f * fill[fs, fr]
        voucher = self.vouchers(live, rate, bought, flow5, eligible)
        pay = np.minimum(bought - voucher, f.cash[live])
        bought = pay + voucher  # a firm cannot buy more than its cash allows
        f.cash[live] -= pay
        f.purchases_q[live] = bought  # raises the buyer's technology next step (Firm.innovate)
        # Money: firm buyers, government (vouchers) and external buyers pay into a clearing
        # account; sellers are paid out of it. Firms short of cash buy less; the part of the
        # seller's offer they left is taken by outside buyers, so every sale has a payer.
        f.cash[live] += firm_sales
        inventor = inventor_share * uni_sales
        u.cash += uni_sales - inventor
        total = firm_sales.sum() + uni_sales.sum()
        led = self.money
        gov = min((D_gov * fill).sum(), max(total - pay.sum() - voucher.sum(), 0.0))
        led.transfer("firms", "tech_clearing", pay.sum())
        led.transfer("government", "tech_clearing", voucher.sum() + gov)
        led.transfer(
            "customers", "tech_clearing", max(total - pay.sum() - voucher.sum() - gov, 0.0)
        )
        led.transfer("tech_clearing", "firms", firm_sales.sum())
        led.transfer("tech_clearing", "universities", uni_sales.sum())
        led.transfer("universities", "households", inventor.sum())
        return gov, uni_sales.sum()

    def _government_demand(self, annual: float) -> np.ndarray:
        """Procurement demand per quarter (simulated scale), in the Beijing cells, by the field
        mix of the calibrated outside Beijing demand."""
        out = np.zeros((NF, NR))
        if annual <= 0:
            return out
        bj = self.external_demand[:, BEIJING]
        out[:, BEIJING] = annual * self.scale_firms * self.clock.dt * bj / max(bj.sum(), 1e-12)
        return out

    def voucher_eligible(self, live) -> np.ndarray:
        """Small and micro firms (the voucher's target, task 14) by the national size
        classification (Gongxinbulianqiye [2011] No. 300): a firm is medium or large only if it
        reaches both the employee and the revenue floor of its industry (industry: 300 employees
        and 20m yuan; software and IT services, and services, 100 employees and 10m yuan)."""
        f, p = self.firms, self.p
        it = _SOFTWARE_OR_SERVICES[f.sector[live]]
        max_emp = np.where(it, p.small_firm_employees_services, p.small_firm_employees_industry)
        max_rev = np.where(it, p.small_firm_revenue_services, p.small_firm_revenue_industry)
        return (f.employees[live] < max_emp) | (f.revenue[live] < max_rev)

    def vouchers(
        self, live, rate: float, bought: np.ndarray, flow5: np.ndarray, eligible=None
    ) -> np.ndarray:
        """Innovation vouchers this step (the Capital S&T innovation voucher): the government pays
        the share `rate` of what a small or micro firm buys from universities and institutes (the
        voucher pays for the services of open labs, not for technology bought from other firms).
        A buyer's purchases from universities are its purchases times its cell's share of
        matches with universities this step. The vouchers also lower the price those firms pay
        for university technology, so they ask for more (`university_demand_factor`, next step).
        `eligible` is `voucher_eligible(live)` if the caller has it."""
        f = self.firms
        matched = flow5.sum(axis=(1, 2))  # [k, fb, rb]
        total = matched.sum(axis=0)
        uni_share = np.where(total > 0, matched[1] / np.maximum(total, 1e-300), 0.0)
        self.uni_purchase_share = uni_share
        if eligible is None:
            eligible = self.voucher_eligible(live)
        base = np.where(eligible, bought, 0.0) * uni_share[f.sector[live], f.region[live]]
        self.voucher_base = float(base.sum())
        v = rate * base
        self.vouchers_paid = float(v.sum())
        return v

    def university_demand_factor(self, live, rate: float, eligible=None) -> np.ndarray:
        """How much more technology a voucher-eligible firm asks for than at the 2015 voucher
        rate (the base-year demand is calibrated with it): the voucher lowers the price of the
        share of its purchases that comes from universities (last step's share in its cell), and
        demand follows the average price with elasticity `tech_demand_price_elasticity` (about
        1: Hall and Van Reenen 2000, the user-cost elasticity of R&D). 1 for firms that are not
        eligible, and for every firm at the 2015 rate. `eligible` as in `vouchers`."""
        if rate == STATUS_QUO_VOUCHER or self.uni_purchase_share is None:
            return np.ones(live.size)
        f, p = self.firms, self.p
        share = self.uni_purchase_share[f.sector[live], f.region[live]]
        price = (1.0 - rate * share) / (1.0 - STATUS_QUO_VOUCHER * share)  # relative to 2015
        factor = price ** (-p.tech_demand_price_elasticity)
        if eligible is None:
            eligible = self.voucher_eligible(live)
        return np.where(eligible, factor, 1.0)

    def _supply(self, live, firm_offer, uni_offer) -> np.ndarray:
        """Offered value by seller kind (0 firms, 1 universities and institutes) and cell."""
        f, u = self.firms, self.universities
        return np.stack(
            [
                self._cells(f.sector[live], f.region[live], firm_offer),
                self._cells(u.field, u.region, uni_offer),
            ]
        )

    def _match(self, S, D, W, p) -> np.ndarray:
        """Flows [kind, fs, rs, fb, rb] from seller cells to buyer cells, O(cells^2).

        Buyers treat firms' and universities' technology as two varieties, imperfect substitutes
        (Dixit and Stiglitz 1977): a buyer cell b splits its demand D_b between the kinds k in
        proportion to a_k X_kb^(1 - 1/sigma), X_kb = sum_s S_ks W_sb being the supply of kind k it
        reaches (sigma = tech_variety_substitution; a_k is set at the base year so that the split
        follows supply there). Search is directed on both sides: within a kind the buyer directs
        its demand to seller cells in proportion to S_s W_sb (d), a seller cell directs its
        capacity S_s to buyer cells in proportion to their demand for its kind x W_sb (x). Each
        pair matches m(d, x) = d x / (d^l + x^l)^(1/l), the matching function of den Haan, Ramey
        and Watson (2000), l = 1 / tech_matching_friction: m <= min(d, x), so a seller cell
        sells at most its offer and a buyer cell buys at most its demand, and when supply is short
        more demand raises matches less than proportionally."""
        SW = S[:, :, :, None, None] * W[None]  # [k, fs, rs, fb, rb]
        X = SW.sum(axis=(1, 2))  # [k, fb, rb]
        rho = 1.0 - 1.0 / p.tech_variety_substitution
        if self.variety_weight is None:
            self.variety_weight = X.sum(axis=(1, 2)) ** (1.0 - rho)
        pull = self.variety_weight[:, None, None] * np.maximum(X, 0.0) ** rho
        Dk = D[None] * pull / np.maximum(pull.sum(axis=0), 1e-300)[None]  # [k, fb, rb]
        DW = Dk[:, None, None] * W[None]
        d = Dk[:, None, None] * SW / np.maximum(X, 1e-300)[:, None, None]
        x = (
            S[:, :, :, None, None]
            * DW
            / np.maximum(DW.sum(axis=(3, 4)), 1e-300)[:, :, :, None, None]
        )
        lo, hi = np.minimum(d, x), np.maximum(d, x)
        lam = 1.0 / p.tech_matching_friction
        ratio = lo / np.maximum(hi, 1e-300)
        return lo / (1.0 + ratio**lam) ** (1.0 / lam)

    @staticmethod
    def _cells(field, region, value) -> np.ndarray:
        out = np.zeros(NF * NR)
        np.add.at(out, field.astype(np.int64) * NR + region.astype(np.int64), value)
        return out.reshape(NF, NR)

    def beijing_turnover(self) -> float:
        return float(self.flow[BEIJING].sum())

    def university_share(self) -> float:
        """Percent of the year's turnover of Beijing sellers sold by universities and institutes."""
        total = self.beijing_turnover()
        return 100.0 * float(self.uni_flow[BEIJING].sum()) / total if total > 0 else 0.0

    def flow_to_tianjin_hebei(self) -> float:
        return float(self.flow[np.ix_(BEIJING, JJJ_NEIGHBOURS)].sum())
