"""The evaluator of a scenario's evaluation rules (the plan's safeguard 四(三), evaluate and
adjust; rules validated in `sim.inputs.evaluation`).

Who: the municipal government, at the end of each evaluation year. What it reads: the year's
annual indicators, as the model reports them (the same figures a user sees). What it does: for
every rule whose indicator misses its threshold, it adds the rule's `change` to the lever from
the next year on, on top of the lever's schedule; changes add up over evaluations. Every check
is recorded (year, rule, indicator value, triggered, the lever's value from the next year).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Evaluator:
    rules: list = field(default_factory=list)  # sim.inputs.evaluation.Rule
    years: frozenset = frozenset()
    shift: dict[str, float] = field(default_factory=dict)  # lever -> total change so far
    records: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, evaluation) -> Evaluator:
        if evaluation is None:
            return cls()
        return cls(list(evaluation.rules), frozenset(evaluation.years))

    def adjust(self, lever_values: dict[str, float]) -> dict[str, float]:
        """The year's lever values with the changes decided at earlier evaluations."""
        if not self.shift:
            return lever_values
        out = dict(lever_values)
        for lid, d in self.shift.items():
            out[lid] += d
        return out

    def evaluate(self, year: int, annual: dict[str, float], levers) -> None:
        """End of `year`: check every rule if it is an evaluation year; `levers` are the run's
        schedules (`LeverSettings`). Every rule is checked first and the changes applied, so
        that each record's lever value from the next year includes all of this year's changes
        (two rules may act on one lever)."""
        if year not in self.years:
            return
        checks = []
        for i, rule in enumerate(self.rules):
            value = float(annual[rule.indicator])
            hit = rule.misses(value)
            if hit:
                self.shift[rule.lever] = self.shift.get(rule.lever, 0.0) + rule.change
            checks.append((i, rule, value, hit))
        scheduled_next = levers.at(year + 1)
        for i, rule, value, hit in checks:
            self.records.append(
                {
                    "year": year,
                    "rule": i,
                    "label": rule.label(),
                    "indicator": rule.indicator,
                    "indicator_value": value,
                    "triggered": hit,
                    "lever": rule.lever,
                    "new_lever_value": scheduled_next[rule.lever] + self.shift.get(rule.lever, 0.0),
                }
            )
