"""Exogenous shocks a scenario may impose: multipliers (1 = none) by calendar year.

- venture_capital: new money raised by angels and venture funds (e.g. a 'capital winter');
- talent_inflow: inflow of talent from abroad (e.g. travel or visa restrictions);
- demand: outside demand for Beijing's technology (level x m) and firms' sales (level x
  m ** `demand_shock_sensitivity` while it holds; back when it ends), e.g. a pandemic.
"""

from __future__ import annotations

from collections.abc import Mapping

from sim.inputs.levers import Schedule

SHOCKS = ("venture_capital", "talent_inflow", "demand")
# Allowed multipliers: from a collapse to 20% of normal up to double.
SHOCK_RANGE = (0.2, 2.0)


class ShockSettings:
    def __init__(self, specs: Mapping[str, float | Mapping[int, float]] | None = None):
        specs = dict(specs or {})
        unknown = set(specs) - set(SHOCKS)
        if unknown:
            raise KeyError(f"unknown shock(s): {sorted(unknown)}")
        self.schedules = {k: Schedule(1.0, specs.get(k)) for k in SHOCKS}
        self.venture_capital = self.talent_inflow = self.demand = 1.0

    def update(self, year: int) -> None:
        for k, s in self.schedules.items():
            setattr(self, k, s.at(year))

    def as_spec(self) -> dict:
        return {k: s.as_spec() for k, s in self.schedules.items()}
