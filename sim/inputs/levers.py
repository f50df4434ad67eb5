"""Policy levers: the registry loaded from `seeds/levers.yaml`, and time schedules.

A lever's value in a scenario is either a constant or a schedule `{year: value}` whose value holds
from that year until the next listed year (a step function). Before the first listed year the
lever keeps its status-quo default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import yaml

from sim.inputs.paths import SEEDS


@dataclass(frozen=True)
class Lever:
    """One policy lever, traceable to a clause of the plan."""

    id: str
    name: str
    plan_task: tuple
    clause_zh: str
    clause_en: str
    unit: str
    default: float
    plan: float
    low: float
    high: float
    mechanism: str
    basis: str
    # the fiscal cost rule (sim/model/fiscal.py): {rule: measured, programme or none, ...}
    cost: dict = field(default_factory=dict, compare=False, hash=False)
    # the lever buys capacity that takes years to build (sim.model.programmes)
    builds: bool = False

    def check(self, value: float) -> str | None:
        """Return an error message when `value` is not allowed, else None."""
        if not (self.low <= value <= self.high):
            return f"must be within [{self.low:g}, {self.high:g}] {self.unit}, got {value:g}"
        return None


@lru_cache(maxsize=1)
def registry() -> dict[str, Lever]:
    """All levers by id, in file order."""
    with open(SEEDS / "levers.yaml", encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    out: dict[str, Lever] = {}
    for item in raw["levers"]:
        task = item["plan_task"]
        task = tuple(task) if isinstance(task, list) else (task,)
        lever = Lever(
            id=item["id"],
            name=item["name"],
            plan_task=task,
            clause_zh=item["clause_zh"],
            clause_en=item["clause_en"],
            unit=item["unit"],
            default=float(item["default"]),
            plan=float(item["plan"]),
            low=float(item["low"]),
            high=float(item["high"]),
            mechanism=item["mechanism"],
            basis=item["basis"],
            cost=dict(item["cost"]),
            builds=bool(item.get("builds", False)),
        )
        if lever.id in out:
            raise ValueError(f"lever {lever.id!r} defined twice in levers.yaml")
        if not (lever.low <= lever.default <= lever.high and lever.low <= lever.plan <= lever.high):
            raise ValueError(f"lever {lever.id!r}: default/plan outside [low, high]")
        out[lever.id] = lever
    return out


def status_quo(lever_id: str) -> float:
    """A lever's 2015 (status-quo) value: the reference point of the mechanisms it enters."""
    return registry()[lever_id].default


class Schedule:
    """A step function of calendar year: constant, or `{year: value}` holding until the next year."""

    __slots__ = ("default", "points")

    def __init__(self, default: float, spec: float | Mapping[int, float] | None = None):
        self.default = float(default)
        if spec is None:
            self.points: tuple[tuple[int, float], ...] = ()
        elif isinstance(spec, Mapping):
            self.points = tuple(sorted((int(y), float(v)) for y, v in spec.items()))
        else:
            self.points = ((-(10**9), float(spec)),)

    def at(self, year: int) -> float:
        value = self.default
        for y, v in self.points:
            if year >= y:
                value = v
            else:
                break
        return value

    def as_spec(self) -> float | dict[int, float]:
        """The schedule as it would be written in a scenario (used for resolved scenarios)."""
        if not self.points:
            return self.default
        if len(self.points) == 1 and self.points[0][0] < -(10**8):
            return self.points[0][1]
        return {y: v for y, v in self.points}


class LeverSettings:
    """The levers of one run: every registered lever with its schedule."""

    def __init__(self, specs: Mapping[str, float | Mapping[int, float]] | None = None):
        reg = registry()
        specs = dict(specs or {})
        unknown = set(specs) - set(reg)
        if unknown:
            raise KeyError(f"unknown lever(s): {sorted(unknown)}")
        self.schedules = {lid: Schedule(lv.default, specs.get(lid)) for lid, lv in reg.items()}

    def at(self, year: int) -> dict[str, float]:
        """Every lever's value in `year`."""
        return {lid: s.at(year) for lid, s in self.schedules.items()}

    def as_spec(self) -> dict[str, float | dict[int, float]]:
        return {lid: s.as_spec() for lid, s in self.schedules.items()}
