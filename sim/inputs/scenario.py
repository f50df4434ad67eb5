"""Scenarios: YAML files validated strictly (unknown keys, wrong types, out-of-range values, NaN,
schedules outside the horizon are errors naming the file and field path).

    name: plan
    description: every lever at its plan value
    extends: baseline.yaml        # optional, relative to this file
    time: {start_year: 2016, end_year: 2030, steps_per_year: 4}
    seed: 2016
    replicates: 8
    scale: 0.1
    levers: {basic_research_priority: 0.3, public_rd_growth: {2016: 9.0, 2021: 10.0}}
    shocks: {venture_capital: {2018: 0.5, 2020: 1.0}}
    parameters: {revenue_growth: 0.1}
    budget_cap: {2018: 1500}      # optional: 100m yuan a year for all levers (sim.model.fiscal)

YAML is read as plain data only (`sim.inputs.reader`: no tags, no duplicate keys); nothing in a scenario
is evaluated. Types are strict: a number where a number is expected (not `true`, not "0.5").
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.inputs.errors import InputError
from sim.inputs.evaluation import Evaluation, Rule, check_evaluation
from sim.inputs.levers import registry
from sim.inputs.params import definitions
from sim.inputs.paths import is_bare_name, shipped_scenario, shipped_scenarios
from sim.inputs.reader import (
    check_path,
    did_you_mean,
    explain,
    read_mapping,
    resolve_file,
    unknown,
)
from sim.inputs.shocks import SHOCK_RANGE, SHOCKS

Value = float | dict[int, float]

# Limits shared with the command line (sim/cli.py) and sweep specs (sim/experiments/design.py).
FIRST_YEAR, LAST_YEAR = 2016, 2100  # the years a scenario's horizon may span
MAX_REPLICATES = 10_000  # replicates of one scenario (or of one sweep design point)
SEED_END = 2**63  # seeds are whole numbers in [0, SEED_END): numpy's SeedSequence takes them

MIN_SCALE = 0.01
"""The smallest `scale` (share of Beijing's 2015 agents simulated) whose results mean anything.

With the default populations, scale 0.01 simulates 400 of the 40,000 firms, so the smallest
sector (3% of firms, seeds/parameters.yaml `sector_shares_2015`) still expects 12 firms and every
sector has firms in practice. Below it sectors are left with a handful of firms or none (at 0.001
a sector is often empty), the per-sector technology and market calculations average over almost
nothing, and below 0.0005 the firm count no longer follows the scale at all (it is held at the
20-firm minimum). Universities, institutes and each fund kind keep their minimum counts at any
scale (docs/ODD.md, 2.7), so they are not what sets the floor."""

SCALE_RULE = (
    f"expected a scale of at least {MIN_SCALE:g} (below it some sectors have no firms or only a "
    "few: results are meaningless) and at most 4"
)


MATCHING_SCALE = 0.25
"""The smallest scale whose headline results match full scale's (docs/scale.md, measured by
sim.experiments.scale: baseline and plan, 8 paired seeds, seed uncertainty): at 0.25 every one of
17 headline quantities (target indicators, GDP and high-tech firms in 2020 and 2030, the plan's
effects in 2030) has its mean inside full scale's 10-90% band; at 0.1 and 0.05, 14 and 15 do
(technology turnover runs 2-4% low, high-tech firms 4% low, the plan's effect on R&D intensity
16% high at 0.05). The page and the notebooks default to it; below it innosim warns."""


class ScaleWarning(UserWarning):
    """Results asked for below MATCHING_SCALE (sim.api.run warns with it; the CLI prints it)."""


def scale_warning(v: float) -> str | None:
    """What a user should know about results at scale `v` (None at or above MATCHING_SCALE)."""
    if v < MATCHING_SCALE:
        return (
            f"scale {v:g} is below {MATCHING_SCALE:g}, the smallest scale whose headline results "
            "match full scale (docs/scale.md): levels may be off by a few percent and the plan's "
            "effects by a sixth (0.05) to two fifths (0.01), beyond the bands shown"
        )
    return None


def scale_error(v: float) -> str | None:
    """Why `v` is not a usable scale (None if it is): the one rule for scenarios, sweep specs
    and the CLI's --scale."""
    if not (math.isfinite(v) and MIN_SCALE <= v <= 4.0):
        return f"{SCALE_RULE}, got {v:g}"
    return None


class TimeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    start_year: int = Field(2016, ge=FIRST_YEAR, le=LAST_YEAR)
    end_year: int = Field(2030, ge=FIRST_YEAR, le=LAST_YEAR)
    steps_per_year: int = Field(4, description="1 (years), 2, 4 (quarters) or 12 (months)")

    @field_validator("steps_per_year")
    @classmethod
    def _spy(cls, v: int) -> int:
        if v not in (1, 2, 4, 12):
            raise ValueError("must be one of 1, 2, 4, 12")
        return v

    @model_validator(mode="after")
    def _order(self):
        if self.end_year < self.start_year:
            raise ValueError("end_year must not be before start_year")
        return self


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    name: str = "baseline"
    description: str = "Status quo: every lever at its 2015 value, no plan."
    time: TimeSpec = Field(default_factory=TimeSpec)
    seed: int = Field(2016, ge=0, lt=SEED_END)
    replicates: int = Field(8, ge=1, le=MAX_REPLICATES)
    scale: float = Field(0.1, allow_inf_nan=False, description="at least MIN_SCALE, at most 4")
    uncertainty: Literal["posterior", "seed"] = Field(
        "posterior",
        description="posterior (default): replicate r runs with posterior draw d(r) of the free "
        "parameters the scenario leaves open (seeds/posterior.parquet, "
        "sim/experiments/posterior.py); seed: every replicate at the calibrated point values "
        "(the posterior medians), seed noise only",
    )
    levers: dict[str, Value] = Field(default_factory=dict)
    shocks: dict[str, Value] = Field(default_factory=dict)
    parameters: dict[str, float | list[float]] = Field(default_factory=dict)
    evaluation: Evaluation | None = Field(
        None,
        description="rules checked at given years that change levers (sim/inputs/evaluation.py)",
    )
    budget_cap: Value | None = Field(
        None,
        description="public outlay of all levers, 100m yuan a year, constant or {year: value}: "
        "levers above their 2015 values are scaled down to fit (sim/model/fiscal.py)",
    )
    innosim_version: str | None = Field(None, description="written by resolved(); informational")
    model_fingerprint: str | None = Field(
        None, description="written by resolved(): hash of the model's code and data"
    )
    source: str | None = Field(None, exclude=True)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        # The name is the default output folder (reports/NAME): it must not be a path.
        if (
            not v.strip()
            or len(v) > 100
            or not v.isprintable()
            or v.startswith(".")
            or any(c in v for c in "/\\:")
        ):
            raise ValueError(
                "expected a plain name (no '/', '\\' or ':', not starting with '.', "
                f"at most 100 characters), got {v[:40]!r}"
            )
        return v

    @field_validator("scale")
    @classmethod
    def _scale(cls, v: float) -> float:
        err = scale_error(v)
        if err:
            raise ValueError(err)
        return v

    @model_validator(mode="after")
    def _check(self):
        # Finite numbers are pydantic's part (allow_inf_nan=False); names, years and ranges ours.
        years = self.years
        _check_levers(self.levers, years)
        for sid, v in self.shocks.items():
            if sid not in SHOCKS:
                raise unknown("shocks", sid, SHOCKS)
            _check_schedule(f"shocks.{sid}", v, years, _shock_error)
        _check_parameters(self.parameters)
        if self.budget_cap is not None:
            _check_schedule("budget_cap", self.budget_cap, years, _cap_error)
        if self.evaluation is not None:
            check_evaluation(self.evaluation, years, self.levers)
        return self

    @property
    def years(self) -> range:
        return range(self.time.start_year, self.time.end_year + 1)

    # A Scenario made by the package from a validated one is trusted: only the new values (user
    # input) are validated, and the copy is made without validating the whole scenario again.
    # New values that fail are validated the full way, which raises the usual error (field path).
    def with_levers(self, overrides: dict[str, Any]) -> Scenario:
        try:
            new = _LEVER_VALUES.validate_python(dict(overrides))
            _check_levers(new, self.years)
            if self.evaluation is not None:  # the rules' worst case on the new schedules
                check_evaluation(self.evaluation, self.years, {**self.levers, **new})
        except ValueError:  # pydantic's ValidationError is a ValueError too
            data = self.model_dump()
            data["levers"] = {**data["levers"], **overrides}
            return Scenario.model_validate({**data, "source": self.source})
        return self.model_copy(update={"levers": {**self.levers, **new}})

    def with_parameters(self, overrides: dict[str, Any]) -> Scenario:
        try:
            new = _PARAMETER_VALUES.validate_python(dict(overrides))
            _check_parameters(new)
        except ValueError:
            data = self.model_dump()
            data["parameters"] = {**data["parameters"], **overrides}
            return Scenario.model_validate({**data, "source": self.source})
        return self.model_copy(update={"parameters": {**self.parameters, **new}})

    def with_values(
        self, levers: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None
    ) -> Scenario:
        """This scenario with lever and parameter values given in code or on the command line
        (InnovationModel's keywords, sim.api.run, sim.ema, `innosim --set`): only the new values
        are validated, and a bad one raises the InputError a scenario file gets for it (field
        path, range, wording), without a file name since the value did not come from one."""
        levers, parameters = dict(levers or {}), dict(parameters or {})
        try:
            out = self.with_levers(levers) if levers else self
            return out.with_parameters(parameters) if parameters else out
        except ValidationError:  # the full validation names the field as for a YAML file
            data = self.model_dump()
            data["levers"] = {**data["levers"], **levers}
            data["parameters"] = {**data["parameters"], **parameters}
            return validate(data, None)

    def resolved(self) -> dict[str, Any]:
        """The full scenario with every default filled in (written beside every result)."""
        from sim import __version__
        from sim.experiments.fingerprint import fingerprint
        from sim.inputs.levers import LeverSettings
        from sim.inputs.params import Params
        from sim.inputs.shocks import ShockSettings

        out = self.model_dump(mode="python")
        out["levers"] = LeverSettings(self.levers).as_spec()
        out["shocks"] = ShockSettings(self.shocks).as_spec()
        out["parameters"] = {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in Params(self.parameters).as_dict().items()
        }
        out["innosim_version"] = __version__
        out["model_fingerprint"] = fingerprint()
        return out


_VALUES = ConfigDict(strict=True, allow_inf_nan=False)
_LEVER_VALUES = TypeAdapter(dict[str, Value], config=_VALUES)  # as Scenario.levers
_PARAMETER_VALUES = TypeAdapter(dict[str, float | list[float]], config=_VALUES)


def split_values(values: dict[str, Any]) -> tuple[dict, dict, list[str]]:
    """Values keyed by lever id or parameter name -> (levers, parameters, names that are
    neither), for Scenario.with_values."""
    levers, params = registry(), definitions()
    unknown = [k for k in values if k not in levers and k not in params]
    return (
        {k: v for k, v in values.items() if k in levers},
        {k: v for k, v in values.items() if k in params},
        unknown,
    )


def _check_levers(levers: dict, years: range) -> None:
    reg = registry()
    for lid, v in levers.items():
        if lid not in reg:
            raise unknown("levers", lid, reg)
        _check_schedule(f"levers.{lid}", v, years, reg[lid].check)


def _check_parameters(parameters: dict) -> None:
    defs = definitions()
    for name, x in parameters.items():
        if name not in defs:
            raise unknown("parameters", name, defs)
        err = defs[name].check(x)
        if err:
            raise ValueError(f"parameters.{name}: {err}")


def _points(v, where: str) -> list[tuple[int | None, float]]:
    """(year, value) of a constant (year None) or a schedule, which must list its years in
    increasing order (a schedule read out of order is almost always a typo)."""
    if not isinstance(v, dict):
        return [(None, v)]
    if not v:
        raise ValueError(f"{where}: an empty schedule; give a value or {{year: value, ...}}")
    years = list(v)
    if years != sorted(years):
        raise ValueError(
            f"{where}: schedule years out of order ({', '.join(map(str, years))}); "
            "list them in increasing order"
        )
    return list(v.items())


def _check_schedule(where: str, v, years: range, check) -> None:
    """A constant or schedule: years inside the horizon, each value passing `check` (which
    returns an error text or None)."""
    for y, x in _points(v, where):
        at = where if y is None else f"{where}.{y}"
        if y is not None and y not in years:
            raise ValueError(f"{at}: year outside the horizon {years.start}-{years.stop - 1}")
        err = check(x)
        if err:
            raise ValueError(f"{at}: {err}")


def _cap_error(x: float) -> str | None:
    if x > 0:
        return None
    return f"a budget cap is a positive amount (100m yuan a year), got {x:g}"


def _shock_error(x: float) -> str | None:
    lo, hi = SHOCK_RANGE
    return None if lo <= x <= hi else f"a shock is a multiplier within [{lo:g}, {hi:g}], got {x:g}"


# --------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------
SECTIONS = ("levers", "shocks", "parameters", "time")  # merged key by key by `extends`


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k in SECTIONS and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _origins(raw: dict, file: str) -> dict[tuple, str]:
    """Which file gave each field: (key,) and, inside the merged sections, (section, key)."""
    out: dict[tuple, str] = {}
    for k, v in raw.items():
        out[(k,)] = file
        if k in SECTIONS and isinstance(v, dict):
            out.update({(k, sub): file for sub in v})
    return out


def _raw_with_extends(
    path: Path, shown: str, chain: tuple[Path, ...] = ()
) -> tuple[dict, dict[tuple, str]]:
    """The merged fields of a scenario file and its `extends` chain, and the file each came
    from (so that an error in an inherited value names the file that holds it)."""
    path = resolve_file(path, str(chain[-1]) if chain else None, "extends" if chain else None)
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise InputError(shown, "extends", f"inheritance cycle: {cycle}")
    raw = read_mapping(shown, "scenario fields")
    if "extends" not in raw:
        return raw, _origins(raw, shown)
    parent = raw.pop("extends")
    if not isinstance(parent, str) or not parent.strip():
        got = "nothing" if parent is None else repr(parent)
        raise InputError(shown, "extends", f"expected a file name (text), got {got}")
    target = check_path(path.parent / parent, shown, "extends")
    if not target.exists() and shipped_scenario(parent) is not None:
        target = shipped_scenario(parent)  # `extends: baseline`: a shipped scenario by name
    if target.is_symlink():
        resolve_file(target, shown, "extends")  # a symlink loop is named as such
    if not target.is_file():
        what = "is a directory" if target.is_dir() else "not found"
        raise InputError(shown, "extends", f"{parent!r} {what} (looked for {target})")
    base, origins = _raw_with_extends(target, str(target), (*chain, path))
    base.pop("name", None)
    base.pop("description", None)
    for k, v in raw.items():  # a field given here replaces what the parent said about it
        if not (k in SECTIONS and isinstance(v, dict)):
            origins = {loc: f for loc, f in origins.items() if loc[0] != k}
    return _merge(base, raw), {**origins, **_origins(raw, shown)}


def load_scenario(source: str | Path | dict | Scenario | None) -> Scenario:
    """A validated Scenario from a path, a dict, a Scenario, or None (the built-in baseline)."""
    if isinstance(source, Scenario):
        return source
    if source is None:
        return Scenario()
    if isinstance(source, dict):
        return validate(copy.deepcopy(source), None)
    source = _scenario_file(source)
    raw, origins = _raw_with_extends(Path(source), str(source))
    try:
        return validate(raw, str(source))
    except InputError as e:
        keys = tuple((e.path or "").split("."))
        file = origins.get(keys[:2]) or origins.get(keys[:1])
        if file is None or file == e.file:
            raise
        raise InputError(file, e.path, e.message) from None


def _scenario_file(source: str | Path) -> str | Path:
    """A scenario argument as a file: an existing path as given, else a bare name of a shipped
    scenario (`innosim run baseline`). A bare name that is neither is refused, listing the names."""
    if Path(source).exists() or not is_bare_name(source):
        return source
    found = shipped_scenario(str(source))
    if found is not None:
        return found
    names = shipped_scenarios()
    raise InputError(
        str(source),
        None,
        f"no such file, and not a shipped scenario{did_you_mean(str(source), names)} "
        f"(shipped: {', '.join(names)})",
    )


def validate(raw: dict, file: str | None) -> Scenario:
    raw = dict(raw)
    if "extends" in raw:
        raise InputError(file, "extends", "only scenario files may extend another file")
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as e:
        raise explain(e, file, _fields_at, raw) from None
    return sc.model_copy(update={"source": file})


def _fields_at(parent: tuple) -> list[str]:
    """Valid keys of the mapping at `parent` (for "did you mean")."""
    if parent == ("time",):
        return list(TimeSpec.model_fields)
    if parent == ("evaluation",):
        return list(Evaluation.model_fields)
    if len(parent) == 3 and parent[:2] == ("evaluation", "rules"):
        return list(Rule.model_fields)
    return [k for k in Scenario.model_fields if k != "source"]
