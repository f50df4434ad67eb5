"""Big-science facilities (plan task 1: Huairou Science City's facility cluster): a capital stock
built with a lag and shared by every university and institute.

- Who decides: the government, each year, sets the construction budget (`huairou_facilities`,
  100m yuan per year; under a budget cap the scaled value).
- Time to build: a year's outlay becomes usable capacity `facility_build_years` later (the High
  Energy Photon Source took about six years from the start of construction); until then it is
  money spent and nothing gained.
- Operation: the completed stock costs `facility_operating_rate` of its construction value a
  year (both outlays are booked from `government`).
- Effect: the completed stock F, with the 2015 stock F0 (`facility_stock_2015`), enters every
  unit's knowledge production as an input, ((F0 + F) / F0) ** `facility_output_elasticity`
  (sim.model.knowledge.knowledge_flow): facilities are open to users from every unit, and the
  plan asks for their open sharing. At 2015 (no new stock) the factor is 1.
- Not modelled: facilities that fail or run late, users from outside Beijing, industrial users.
"""

from __future__ import annotations

from collections import defaultdict


class FacilityStock:
    """Outlays by year and the completed stock they become."""

    def __init__(self, p):
        self.p = p
        self.lag = max(1, int(round(p.facility_build_years)))
        self.outlay: dict[int, float] = defaultdict(float)  # construction budget by year

    def commit(self, year: int, budget: float) -> None:
        """The year's construction budget (100m yuan, full scale), spent over the year."""
        self.outlay[year] = float(budget)

    def completed(self, year: int) -> float:
        """Construction value in use during `year`: outlays of years at least `lag` before."""
        return sum(v for y, v in self.outlay.items() if y <= year - self.lag)

    def under_construction(self, year: int) -> float:
        return sum(v for y, v in self.outlay.items() if year - self.lag < y <= year)

    def operating_cost(self, year: int) -> float:
        """Operation of the completed stock in `year` (100m yuan)."""
        return self.p.facility_operating_rate * self.completed(year)

    def knowledge_factor(self, year: int) -> float:
        """The facility input of knowledge production, relative to 2015 (1 without new stock)."""
        p = self.p
        f0 = p.facility_stock_2015
        return ((f0 + self.completed(year)) / f0) ** p.facility_output_elasticity
