"""Evaluation and adjustment (the plan's safeguard, section 四(三): "establish an evaluation
mechanism ... evaluate and adjust"): rules a scenario carries, checked at given years.

    evaluation:
      years: [2018, 2020, 2025]
      rules:
        - indicator: basic_research_share
          below: 16            # or above:
          lever: basic_research_priority
          change: 0.05         # added from the next year at each evaluation that misses

At the end of each evaluation year the run reads the year's indicator; a rule whose indicator is
below `below` (or above `above`) is triggered, and `change` is added to its lever from the next
year on, on top of the lever's schedule (`sim.model.evaluation.Evaluator`). Changes add up over
evaluations. A scenario whose lever could leave its range if every evaluation triggered is
refused: the check takes the worst case, so that no run is ever clipped silently.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.inputs.levers import Schedule, registry
from sim.inputs.reader import did_you_mean


class Rule(BaseModel):
    """One rule: a threshold on an annual indicator and the lever change when it is missed."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    indicator: str
    below: float | None = None
    above: float | None = None
    lever: str
    change: float

    @model_validator(mode="after")
    def _one_threshold(self):
        if (self.below is None) == (self.above is None):
            raise ValueError("give exactly one of below: or above: (the threshold the rule checks)")
        if self.change == 0:
            raise ValueError("change: must not be 0 (a rule that changes nothing)")
        return self

    def misses(self, value: float) -> bool:
        """True when the indicator's value misses the rule's threshold."""
        return value < self.below if self.below is not None else value > self.above

    def label(self) -> str:
        """`indicator < threshold -> lever +change`: how reports and evaluations.csv name it."""
        side = f"< {self.below:g}" if self.below is not None else f"> {self.above:g}"
        return f"{self.indicator} {side} -> {self.lever} {self.change:+g}"


class Evaluation(BaseModel):
    """Evaluation years (in increasing order, inside the horizon) and the rules checked at each."""

    model_config = ConfigDict(extra="forbid", strict=True)
    years: list[int] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)


def check_evaluation(ev: Evaluation, years: range, levers: dict) -> None:
    """Names, years and ranges (the scenario's validator calls this: errors name the field)."""
    # The indicator catalogue is the model's (light: numpy only); read lazily so that the inputs
    # package stands alone at import time.
    from sim.model.indicators import INDICATORS

    if ev.years != sorted(set(ev.years)):
        raise ValueError(
            f"evaluation.years: list each year once, in increasing order; got {ev.years}"
        )
    outside = [y for y in ev.years if y not in years]
    if outside:
        raise ValueError(
            f"evaluation.years: {outside} outside the horizon {years.start}-{years.stop - 1}"
        )
    reg = registry()
    for i, rule in enumerate(ev.rules):
        where = f"evaluation.rules.{i}"
        if rule.indicator not in INDICATORS:
            hint = did_you_mean(rule.indicator, INDICATORS)
            raise ValueError(f"{where}.indicator: unknown indicator {rule.indicator!r}{hint}")
        if rule.lever not in reg:
            hint = did_you_mean(rule.lever, reg)
            raise ValueError(f"{where}.lever: unknown lever {rule.lever!r}{hint}")
        worst = worst_case_excursion(ev, i, years, levers)
        if worst is not None:
            year, value = worst
            lv = reg[rule.lever]
            raise ValueError(
                f"{where}.change: {rule.change:+g} at each of the evaluations before {year} "
                f"would take {rule.lever} to {value:g} in {year}, outside its range "
                f"[{lv.low:g}, {lv.high:g}]"
            )


def worst_case_excursion(
    ev: Evaluation, i: int, years: range, levers: dict
) -> tuple[int, float] | None:
    """The first year in which rule i's lever would leave its range if every rule on that lever
    triggered at every evaluation (their changes added to the lever's schedule), or None."""
    reg = registry()
    lid = ev.rules[i].lever
    lv = reg[lid]
    sched = Schedule(lv.default, levers.get(lid))
    ups = sum(max(r.change, 0.0) for r in ev.rules if r.lever == lid)
    downs = sum(min(r.change, 0.0) for r in ev.rules if r.lever == lid)
    for year in years:
        n = sum(1 for y in ev.years if y < year)
        if n == 0:
            continue
        base = sched.at(year)
        for value in (base + n * ups, base + n * downs):
            if not lv.low - 1e-12 <= value <= lv.high + 1e-12:
                return year, value
    return None
