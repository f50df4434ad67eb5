"""Region agents: Beijing's three functional zones, Tianjin, Hebei, rest of China, abroad.

State (per region): population, wage and housing-cost indices, talent services (a lever for the
Beijing zones), talent pools (job-seeking researchers and high-end talent), attractiveness.
Decision: each quarter a region sets its attractiveness from wages, housing, services and the
science cities it hosts (`attractiveness_for_talent`, `science_city_bonus`); talent moves between regions by attractiveness with distance and
border frictions (see markets.talent).

The three science cities are places inside the zones (plan task 1 and 8): Zhongguancun in the
core innovation zone (six urban districts), Future Science City in the high-end industry zone
(plain districts, Changping), Huairou Science City in the green development zone (mountain
districts).
"""

from __future__ import annotations

import numpy as np

from sim.model.agents.view import AgentView

REGIONS = ("core", "industry", "green", "tianjin", "hebei", "rest_of_china", "abroad")
CORE, INDUSTRY, GREEN, TIANJIN, HEBEI, REST_OF_CHINA, ABROAD = range(7)
BEIJING = np.array([CORE, INDUSTRY, GREEN])
JJJ_NEIGHBOURS = np.array([TIANJIN, HEBEI])
N_REGIONS = len(REGIONS)

PLACES = ("none", "zhongguancun", "future_science_city", "huairou")
NO_PLACE, ZGC, FSC, HUAIROU = range(4)
PLACE_REGION = np.array([-1, CORE, INDUSTRY, GREEN])

# Talent kinds held as stocks (not one agent per person).
TALENT = ("researchers", "high_end")
N_TALENT = len(TALENT)


def distance_decay(distance: np.ndarray, ref_km: float, exponent: float) -> np.ndarray:
    """Power-law decay of interaction with distance: (1 + d / d_ref) ** -exponent."""
    return (1.0 + distance / ref_km) ** (-exponent)


def distance_matrix(p) -> np.ndarray:
    """Stylised distances (km) between regions; zone-to-zone inside Beijing are centroid gaps."""
    d = np.zeros((N_REGIONS, N_REGIONS))
    pairs = {
        (CORE, INDUSTRY): p.dist_core_industry,
        (CORE, GREEN): p.dist_core_green,
        (INDUSTRY, GREEN): p.dist_industry_green,
        (TIANJIN, HEBEI): p.dist_tianjin_hebei,
    }
    for r in BEIJING:
        pairs[(r, TIANJIN)] = p.dist_beijing_tianjin
        pairs[(r, HEBEI)] = p.dist_beijing_hebei
    for r in range(ABROAD):
        if r != REST_OF_CHINA:
            pairs[(r, REST_OF_CHINA)] = p.dist_rest_of_china
    for r in range(ABROAD):
        pairs[(r, ABROAD)] = p.dist_abroad
    for (a, b), v in pairs.items():
        d[a, b] = d[b, a] = v
    return d


def _opened(friction: float, share_removed: float) -> float:
    return friction + (1.0 - friction) * share_removed


def border_matrix(
    p, jjj_integration: float, domestic_opening: float = 0.0, international_opening: float = 0.0
) -> np.ndarray:
    """Multiplicative friction of administrative borders (1 = none).

    Each argument is the share of a border's friction that policy removes: the unified Jing-Jin-Ji
    market (Beijing-Tianjin-Hebei), cooperation with the rest of China (task 10), and international
    technology transfer (tasks 11-12).
    """
    b = np.ones((N_REGIONS, N_REGIONS))
    jjj = _opened(p.border_jjj, jjj_integration)
    for r in BEIJING:
        for n in JJJ_NEIGHBOURS:
            b[r, n] = b[n, r] = jjj
    b[TIANJIN, HEBEI] = b[HEBEI, TIANJIN] = jjj
    for r in range(N_REGIONS):
        if r != REST_OF_CHINA:
            b[r, REST_OF_CHINA] = b[REST_OF_CHINA, r] = _opened(p.border_domestic, domestic_opening)
    for r in range(ABROAD):
        b[r, ABROAD] = b[ABROAD, r] = _opened(p.border_international, international_opening)
    np.fill_diagonal(b, 1.0)
    return b


class RegionPopulation:
    """Struct-of-arrays state of the seven regions."""

    def __init__(self, p, scale: float):
        self.n = N_REGIONS
        self.distance = distance_matrix(p)
        # Wage and housing indices (Beijing core = 1.0 in 2015).
        self.wage = np.array([1.0, 0.9, 0.8, 0.75, 0.6, 0.7, 1.4])
        self.housing = np.array([1.0, 0.75, 0.55, 0.45, 0.3, 0.4, 1.0])
        self.wage_2015 = self.wage.copy()
        self.housing_2015 = self.housing.copy()
        # Wage = 2015 level x common nominal trend x exp(relative deviation); the deviation moves
        # only for the Beijing zones (markets.talent.TalentMarket.set_wages).
        self.wage_trend = 1.0
        self.wage_dev = np.zeros(N_REGIONS)
        self.amenity = np.array(
            [
                p.amenity_core,
                p.amenity_industry,
                p.amenity_green,
                0.0,
                -0.1,
                -0.05,
                p.amenity_abroad,
            ]
        )
        self.services = np.zeros(N_REGIONS)
        # Talent pools (simulated units): job seekers in Beijing zones, movable reservoirs outside.
        self.pool = np.zeros((N_TALENT, N_REGIONS))
        self.attractiveness = np.zeros(N_REGIONS)
        self.scale = scale

    def set_wages(self, p, target_dev: np.ndarray, dt: float) -> None:
        """Equilibrium-seeking wages (each quarter, after hiring).

        log w_z = log w_z,2015 + g t + dev_z: every region shares the common nominal trend g
        (`wage_drift`); the Beijing zones' deviation dev_z moves toward its target (set by the
        zone's labour-market tightness, `target_dev`) at `wage_adjustment_rate` and toward the
        other zones' deviations by commuting arbitrage: a researcher can work in a zone 25-60 km
        from home, so zone wage gaps beyond the 2015 differentials close at
        `wage_arbitrage_rate` x exp(-distance / `commuting_km`)."""
        self.wage_trend *= np.exp(p.wage_drift * dt)
        dev = self.wage_dev[BEIJING]
        d = self.distance[np.ix_(BEIJING, BEIJING)]
        a = p.wage_arbitrage_rate * np.exp(-d / p.commuting_km)
        np.fill_diagonal(a, 0.0)
        total = a.sum(axis=1)
        # each zone moves toward the arbitrage-weighted mean of the others' deviations by the
        # share 1 - exp(-total x dt) (the exact step of the linear pull over dt, never more than
        # the whole gap: an explicit step overshot and diverged where zones are close together)
        others = np.where(total > 0, (a @ dev) / np.maximum(total, 1e-300), dev)
        pull = -np.expm1(-total * dt)
        step = min(1.0, p.wage_adjustment_rate * dt)
        moved = dev + step * (target_dev - dev)
        self.wage_dev[BEIJING] = moved + pull * (others - moved)
        self.wage = self.wage_2015 * self.wage_trend * np.exp(self.wage_dev)

    def set_housing(self, p, talent_ratio: np.ndarray) -> None:
        """Housing cost of the Beijing zones (relative to the common nominal trend) rises with the
        zone's R&D workforce relative to 2015 (`talent_ratio`), with elasticity
        `housing_talent_elasticity`; outside regions' housing is exogenous (2015 levels)."""
        ratio = np.clip(talent_ratio, 0.1, 10.0)
        self.housing[BEIJING] = self.housing_2015[BEIJING] * ratio**p.housing_talent_elasticity

    def science_city_bonus(self, p, science_city_support: float) -> np.ndarray:
        """Amenity of the zones that hold a science city, scaled by their build-up (task 1)."""
        bonus = np.zeros(N_REGIONS)
        bonus[[CORE, INDUSTRY, GREEN]] = p.science_city_amenity * science_city_support
        return bonus

    def attractiveness_for_talent(self, p, talent_services: float, science_city_bonus: np.ndarray):
        """Attractiveness of each region to researchers: pay, living cost, services, amenities."""
        self.services[BEIJING] = talent_services
        self.attractiveness = (
            p.attr_wage * np.log(self.wage / self.wage_trend)
            - p.attr_housing * np.log(self.housing + 0.1)
            + p.attr_services * self.services
            + self.amenity
            + science_city_bonus
        )
        return self.attractiveness


class Region(AgentView):
    """A region as a Mesa agent (a view on its slot in RegionPopulation)."""

    kind = "regions"

    @property
    def name(self) -> str:
        return REGIONS[self.slot]

    @property
    def idx(self) -> int:
        return self.slot

    @property
    def in_beijing(self) -> bool:
        return self.idx in BEIJING

    @property
    def talent_pool(self) -> dict[str, float]:
        pool = self.model.regions.pool[:, self.idx]
        return dict(zip(TALENT, pool.tolist(), strict=True))

    @property
    def attractiveness(self) -> float:
        return float(self.model.regions.attractiveness[self.idx])
