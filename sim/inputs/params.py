"""Model parameters: one registry (`seeds/parameters.yaml`) with value, unit, range and source.

Every behavioural or structural number the model uses lives there, labelled by `kind`:
`observed` (a statistic, with its source), `derived` (computed from observed data by the stated
rule), `assumption` (a modelling judgement, with its reason) or `calibrate` (free parameter,
to be estimated against 2015-2020 data). Scenarios may override any of them within range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import yaml

from sim.inputs.paths import SEEDS


@dataclass(frozen=True)
class ParamDef:
    name: str
    value: float | tuple[float, ...]
    unit: str
    low: float
    high: float
    kind: str
    source: str
    prior: float | tuple[float, ...] | None = None  # the value in parameters.yaml if calibrated

    def check(self, value) -> str | None:
        values = value if isinstance(value, tuple | list) else (value,)
        if isinstance(self.value, tuple):
            if not isinstance(value, tuple | list) or len(value) != len(self.value):
                got = f"{len(value)} number(s)" if isinstance(value, tuple | list) else "one number"
                return f"expected a list of {len(self.value)} numbers ({self.unit}), got {got}"
            if self.unit.startswith("share") and not sum(value) > 0:
                return "shares must not all be zero (they are normalised to sum to 1)"
        elif isinstance(value, tuple | list):
            return f"expected one number ({self.unit}), got a list"
        for v in values:
            if not (self.low <= v <= self.high):
                return f"must be within [{self.low:g}, {self.high:g}] {self.unit}, got {v:g}"
        return None


KINDS = {"observed", "derived", "assumption", "calibrate"}


@lru_cache(maxsize=1)
def definitions() -> dict[str, ParamDef]:
    """All parameter definitions by name."""
    with open(SEEDS / "parameters.yaml", encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    out: dict[str, ParamDef] = {}
    for group in raw["groups"].values():
        for name, d in group.items():
            if name in out:
                raise ValueError(f"parameter {name!r} defined twice")
            low, high = d["range"]
            raw_value = d["value"]
            value = (
                tuple(float(x) for x in raw_value)
                if isinstance(raw_value, list)
                else float(raw_value)
            )
            pd = ParamDef(name, value, d["unit"], float(low), float(high), d["kind"], d["source"])
            if pd.kind not in KINDS:
                raise ValueError(f"parameter {name!r}: unknown kind {pd.kind!r}")
            if pd.check(pd.value):
                raise ValueError(f"parameter {name!r}: default outside its range")
            out[name] = pd
    # Calibrated values (seeds/calibrated.yaml, written by `innosim calibrate`) replace the priors.
    cal_path = SEEDS / "calibrated.yaml"
    if cal_path.is_file():
        cal = (yaml.safe_load(cal_path.read_text(encoding="utf-8")) or {}).get("parameters") or {}
        for name, entry in cal.items():
            if name not in out:
                raise ValueError(f"seeds/calibrated.yaml: unknown parameter {name!r}")
            old = out[name]
            value = float(entry["value"])
            if old.check(value):
                raise ValueError(f"seeds/calibrated.yaml: {name} outside its range")
            out[name] = ParamDef(
                name,
                value,
                old.unit,
                old.low,
                old.high,
                old.kind,
                f"{old.source}; calibrated (seeds/calibrated.yaml), prior {old.value:g}",
                prior=old.value,
            )
    return out


class Params:
    """Attribute access to parameter values, with scenario overrides applied."""

    def __init__(self, overrides: Mapping[str, float] | None = None):
        defs = definitions()
        values = {k: d.value for k, d in defs.items()}
        for k, v in (overrides or {}).items():
            if k not in defs:
                raise KeyError(f"unknown parameter {k!r}")
            err = defs[k].check(v)
            if err:
                raise ValueError(f"parameter {k!r}: {err}")
            values[k] = tuple(v) if isinstance(v, list | tuple) else float(v)
        self.__dict__.update(values)
        self._names = tuple(values)

    def as_dict(self) -> dict[str, float]:
        return {k: self.__dict__[k] for k in self._names}
