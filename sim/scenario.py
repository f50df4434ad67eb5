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

YAML is read with `yaml.safe_load` only; nothing in a scenario is evaluated.
"""

from __future__ import annotations

import copy
import difflib
import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import InputError
from .levers import registry
from .params import definitions
from .shocks import SHOCK_RANGE, SHOCKS

Value = float | dict[int, float]


class TimeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)
    start_year: int = Field(2016, ge=2016, le=2100)
    end_year: int = Field(2030, ge=2016, le=2100)
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
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = "baseline"
    description: str = "Status quo: every lever at its 2015 value, no plan."
    time: TimeSpec = Field(default_factory=TimeSpec)
    seed: int = Field(2016, ge=0, lt=2**63)
    replicates: int = Field(8, ge=1, le=10000)
    scale: float = Field(0.1, gt=0.0, le=4.0, allow_inf_nan=False)
    levers: dict[str, Value] = Field(default_factory=dict)
    shocks: dict[str, Value] = Field(default_factory=dict)
    parameters: dict[str, float | list[float]] = Field(default_factory=dict)
    innosim_version: str | None = Field(None, description="written by resolved(); informational")
    model_fingerprint: str | None = Field(
        None, description="written by resolved(): hash of the model's code and data"
    )
    source: str | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _check(self):
        years = range(self.time.start_year, self.time.end_year + 1)
        reg = registry()
        for lid, v in self.levers.items():
            if lid not in reg:
                raise _unknown("levers", lid, reg)
            for y, x in _points(v):
                _finite(x, f"levers.{lid}" + (f".{y}" if y is not None else ""))
                if y is not None and y not in years:
                    raise ValueError(
                        f"levers.{lid}.{y}: year outside the horizon {years.start}-{years.stop - 1}"
                    )
                err = reg[lid].check(x)
                if err:
                    raise ValueError(
                        f"levers.{lid}" + (f".{y}" if y is not None else "") + f": {err}"
                    )
        for sid, v in self.shocks.items():
            if sid not in SHOCKS:
                raise _unknown("shocks", sid, SHOCKS)
            for y, x in _points(v):
                where = f"shocks.{sid}" + (f".{y}" if y is not None else "")
                _finite(x, where)
                if y is not None and y not in years:
                    raise ValueError(
                        f"{where}: year outside the horizon {years.start}-{years.stop - 1}"
                    )
                if not SHOCK_RANGE[0] <= x <= SHOCK_RANGE[1]:
                    raise ValueError(
                        f"{where}: a shock is a multiplier within [{SHOCK_RANGE[0]:g}, {SHOCK_RANGE[1]:g}], got {x:g}"
                    )
        defs = definitions()
        for name, x in self.parameters.items():
            if name not in defs:
                raise _unknown("parameters", name, defs)
            for v in x if isinstance(x, list) else [x]:
                _finite(v, f"parameters.{name}")
            err = defs[name].check(x)
            if err:
                raise ValueError(f"parameters.{name}: {err}")
        return self

    def with_levers(self, overrides: dict[str, Any]) -> Scenario:
        data = self.model_dump()
        data["levers"] = {**data["levers"], **overrides}
        return Scenario.model_validate({**data, "source": self.source})

    def with_parameters(self, overrides: dict[str, Any]) -> Scenario:
        data = self.model_dump()
        data["parameters"] = {**data["parameters"], **overrides}
        return Scenario.model_validate({**data, "source": self.source})

    def resolved(self) -> dict[str, Any]:
        """The full scenario with every default filled in (written beside every result)."""
        from . import __version__
        from .fingerprint import fingerprint
        from .levers import LeverSettings
        from .params import Params
        from .shocks import ShockSettings

        out = self.model_dump(mode="python")
        out["levers"] = LeverSettings(self.levers).as_spec()
        out["shocks"] = ShockSettings(self.shocks).as_spec()
        out["parameters"] = Params(self.parameters).as_dict()
        out["innosim_version"] = __version__
        out["model_fingerprint"] = fingerprint()
        return out


def _points(v):
    if isinstance(v, dict):
        return list(v.items())
    return [(None, v)]


def _finite(x: float, where: str) -> None:
    if not math.isfinite(x):
        raise ValueError(f"{where}: must be a finite number, got {x}")


def _unknown(section: str, key: str, known) -> ValueError:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ValueError(f"{section}.{key}: unknown {section[:-1]}{hint}")


# --------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------
def read_yaml(path: Path) -> Any:
    """Read a YAML file safely, turning every failure into an InputError naming the file."""
    if not path.exists():
        raise InputError(str(path), None, "file not found")
    if path.is_dir():
        raise InputError(str(path), None, "is a directory, expected a YAML file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(str(path), None, "not a UTF-8 text file (binary content?)") from None
    except OSError as e:
        raise InputError(str(path), None, f"cannot read: {e.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise InputError(str(path), where, f"YAML syntax error: {e.problem or e}") from None
    except yaml.YAMLError as e:
        raise InputError(str(path), None, f"YAML error: {e}") from None


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if (
            k in ("levers", "shocks", "parameters", "time")
            and isinstance(v, dict)
            and isinstance(out.get(k), dict)
        ):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _raw_with_extends(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise InputError(str(path), "extends", f"inheritance cycle: {cycle}")
    raw = read_yaml(path)
    if raw is None:
        raise InputError(str(path), None, "empty file, expected a scenario mapping")
    if not isinstance(raw, dict):
        raise InputError(
            str(path), None, f"expected a mapping of scenario fields, got {type(raw).__name__}"
        )
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise InputError(str(path), "extends", "expected a file name (string)")
    target = path.parent / parent
    if not target.is_file():
        what = "is a directory" if target.is_dir() else "not found"
        raise InputError(str(path), "extends", f"{parent!r} {what} (looked for {target})")
    base = _raw_with_extends(target, (*chain, path))
    base.pop("name", None)
    base.pop("description", None)
    return _merge(base, raw)


def load_scenario(source: str | Path | dict | Scenario | None) -> Scenario:
    """A validated Scenario from a path, a dict, a Scenario, or None (the built-in baseline)."""
    if isinstance(source, Scenario):
        return source
    if source is None:
        return Scenario()
    if isinstance(source, dict):
        return validate(copy.deepcopy(source), None)
    path = Path(source)
    raw = _raw_with_extends(path)
    sc = validate(raw, str(path))
    return sc


def validate(raw: dict, file: str | None) -> Scenario:
    raw = dict(raw)
    if "extends" in raw:
        raise InputError(file, "extends", "only scenario files may extend another file")
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as e:
        # For a union (constant or schedule) the deepest error is the informative one.
        err = max(e.errors(), key=lambda x: len(x["loc"]))
        type_tags = {
            "float",
            "int",
            "str",
            "bool",
            "dict[int,float]",
            "function-after[_spy(), int]",
        }
        loc = ".".join(str(x) for x in err["loc"] if str(x) not in type_tags)
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
            if ": " in msg and msg.split(": ", 1)[0].replace(".", "").replace("_", "").isalnum():
                loc, msg = msg.split(": ", 1)
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(err["loc"][-1]), list(Scenario.model_fields), n=1)
            msg = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
        raise InputError(file, loc or None, msg) from None
    return sc.model_copy(update={"source": file})
