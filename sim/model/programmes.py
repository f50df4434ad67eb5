"""Programme capacity: levers whose budget buys capacity (incubator places, technology innovation
centres, science-city infrastructure and services, transfer bases, overseas talent bases, new
research institutions, services for high-level talent) act through the capacity built, not
through the budget itself.

- Who decides: the government sets each programme's scale (the lever; its cost follows the
  scale, sim.model.fiscal).
- Time to build: space, staff and services reach a new scale over a few years. Each year the
  capacity closes the share 1 / `programme_build_years` of its gap to the lever's value (partial
  adjustment; a cut closes the same way), starting from the 2015 value.
- The mechanisms (markets, entry, knowledge) read the built capacity; the fiscal rules and the
  budget cap read the lever.
"""

from __future__ import annotations

from sim.inputs.levers import registry


def capacity_levers() -> tuple[str, ...]:
    """The levers marked `builds: true` in seeds/levers.yaml."""
    return tuple(lid for lid, lv in registry().items() if lv.builds)


class ProgrammeCapacity:
    """The capacity built of each capacity lever, relative to its unit (the 2015 value at the
    start)."""

    def __init__(self, p):
        self.share = 1.0 / max(1.0, p.programme_build_years)
        self.built = {lid: registry()[lid].default for lid in capacity_levers()}

    def build(self, levers: dict) -> None:
        """One year of building toward this year's lever values (first step of the year)."""
        for lid, b in self.built.items():
            self.built[lid] = b + self.share * (levers[lid] - b)

    def apply(self, levers: dict) -> dict:
        """The levers as the mechanisms see them: capacity levers at their built capacity."""
        return {**levers, **self.built}
