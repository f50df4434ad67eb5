"""Sweep specifications and experimental designs.

A sweep spec (YAML) names a base scenario, the levers to vary (a range or a list of values), a
sampler and the number of design points and replicates:

    base: ../baseline.yaml          # relative to the spec file
    levers:
      top_talent_recruitment: {low: 0.5, high: 3.0}
      guidance_fund_scale: {values: [1, 2, 4]}
    sampler: lhs                    # grid | lhs | sobol | morris
    samples: 64
    replicates: 8
    seed: 2016

Designs come from `scipy.stats.qmc` (Latin hypercube) and SALib (Saltelli/Sobol', Morris); the
grid is the product of the listed values (ranges use `levels` evenly spaced values). Sobol' and
Morris designs carry a `dummy` factor that enters no mechanism: its sensitivity index is the noise
floor of the analysis.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.inputs.errors import InputError
from sim.inputs.levers import registry
from sim.inputs.params import definitions
from sim.inputs.reader import explain, field_name, read_mapping, resolve_file, unknown
from sim.inputs.scenario import MAX_REPLICATES, SEED_END, scale_error

if TYPE_CHECKING:
    from sim.inputs.scenario import Scenario

DUMMY = "dummy"
MAX_RUNS = 200_000  # one sweep's runs: its plan is held in memory (about 10 kB a run)
MAX_SAMPLES = 1_000_000  # `samples` of a spec (and `calibrate --budget`)
SAMPLERS = ("grid", "lhs", "sobol", "morris")


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self):
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        return self


class Values(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    values: list[float] = Field(min_length=1)


def _lever_kind(v) -> str:
    return "values-form" if isinstance(v, dict) and "values" in v else "range-form"


# A lever is varied over a range {low, high} or a list {values: [...]}; which one is decided by
# the keys, so that an error names the field of the form the user wrote.
LeverSpec = Annotated[
    Annotated[Range, Tag("range-form")] | Annotated[Values, Tag("values-form")],
    Discriminator(_lever_kind),
]


class SweepSpec(BaseModel):
    """A validated sweep spec; `base` is resolved against the spec file's folder."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    name: str | None = None
    description: str | None = None
    base: str
    levers: dict[str, LeverSpec] = Field(default_factory=dict)
    parameters: dict[str, LeverSpec] = Field(
        default_factory=dict, description="model parameters to vary (calibration, robustness)"
    )
    sampler: Literal["grid", "lhs", "sobol", "morris"] = "lhs"
    samples: int = Field(64, ge=1, le=MAX_SAMPLES)
    replicates: int = Field(8, ge=1, le=MAX_REPLICATES)
    seed: int = Field(2016, ge=0, lt=SEED_END)
    scale: float | None = Field(
        None, description="at least sim.inputs.scenario.MIN_SCALE, at most 4"
    )
    levels: int = Field(4, ge=2, le=100, description="grid values per range; Morris levels")
    uncertainty: Literal["posterior", "seed"] | None = Field(
        None,
        description="posterior: replicate r runs with posterior draw d(r) of the free parameters "
        "the point leaves open (sim.experiments.posterior); seed: the calibrated point values; "
        "default: the base scenario's",
    )
    source: str | None = Field(None, exclude=True)
    _base_scenario: Any = PrivateAttr(None)  # a base given as a Scenario object (in code)

    @field_validator("scale")
    @classmethod
    def _scale(cls, v: float | None) -> float | None:
        err = None if v is None else scale_error(v)
        if err:
            raise ValueError(err)
        return v

    @model_validator(mode="before")
    @classmethod
    def _one_form(cls, data):
        """A varied factor is a range or a list of values, not both."""
        if isinstance(data, dict):
            for section in ("levers", "parameters"):
                for k, v in (
                    (data.get(section) or {}).items() if isinstance(data.get(section), dict) else ()
                ):
                    if isinstance(v, dict) and "values" in v and ({"low", "high"} & set(v)):
                        raise ValueError(
                            f"{section}.{field_name(k)}: give either a range {{low, high}} or "
                            "{values: [...]}, not both"
                        )
        return data

    @model_validator(mode="after")
    def _check(self):
        for section, factors, defs in (
            ("levers", self.levers, registry()),
            ("parameters", self.parameters, definitions()),
        ):
            for name, spec in factors.items():
                if name not in defs:
                    raise unknown(section, name, defs)
                d = defs[name]
                if isinstance(getattr(d, "value", None), tuple):
                    raise ValueError(f"{section}.{name}: a list-valued parameter cannot be swept")
                for v in (spec.low, spec.high) if isinstance(spec, Range) else spec.values:
                    if not d.low <= v <= d.high:
                        raise ValueError(
                            f"{section}.{name}: {v:g} is outside the {section[:-1]}'s range "
                            f"[{d.low:g}, {d.high:g}] {d.unit}"
                        )
        both = set(self.levers) & set(self.parameters)
        if both:
            raise ValueError(f"parameters.{sorted(both)[0]}: also listed under levers")
        if not self.levers and not self.parameters:
            raise ValueError("levers: vary at least one lever or parameter")
        if self.sampler in ("sobol", "morris"):
            lists = [k for k, s in self.factors.items() if isinstance(s, Values)]
            if lists:
                section = "levers" if lists[0] in self.levers else "parameters"
                raise ValueError(
                    f"{section}.{lists[0]}: the {self.sampler} sampler needs a range "
                    "{low, high}, not a list of values"
                )
        if self.sampler == "morris" and self.levels % 2:
            raise ValueError(
                f"levels: Morris sampling needs an even number of levels (e.g. 4), got {self.levels}"
            )
        runs = n_points(self) * self.replicates
        if runs > MAX_RUNS:
            raise ValueError(
                f"samples: the sweep would have {runs:,} runs (design points x replicates); "
                f"at most {MAX_RUNS:,} in one sweep: split it or use fewer levels or samples"
            )
        if self.sampler == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(
                f"samples: Sobol' sampling needs a power of 2 (e.g. 64, 128), got {self.samples}"
            )
        return self

    @property
    def lever_ids(self) -> list[str]:
        return list(self.levers)

    @property
    def factors(self) -> dict:
        """Everything varied: the levers, then the parameters (design column order)."""
        return {**self.levers, **self.parameters}

    @property
    def factor_ids(self) -> list[str]:
        return list(self.factors)

    def as_dict(self) -> dict:
        """The spec as plain data (for the record kept beside the results)."""
        out = self.model_dump(mode="json", exclude={"levers", "parameters"})
        out["levers"] = {k: v.model_dump(mode="json") for k, v in self.levers.items()}
        out["parameters"] = {k: v.model_dump(mode="json") for k, v in self.parameters.items()}
        return out

    def base_path(self) -> Path:
        root = Path(self.source).parent if self.source else Path.cwd()
        return resolve_file(root / self.base, self.source, "base")

    def base_scenario(self) -> Scenario:
        """The validated base scenario: the object given in code, else read from `base`."""
        if self._base_scenario is not None:
            return self._base_scenario
        from sim.inputs.scenario import load_scenario

        return load_scenario(self.base_path())

    def with_base(self, scenario: Scenario) -> SweepSpec:
        """This spec with another base scenario object (`innosim sweep --set`: the base file's
        scenario with values set on the command line); the rest of the spec is unchanged."""
        spec = self.model_copy()
        spec._base_scenario = scenario
        return spec

    def inputs(self) -> list[Path]:
        """The files this sweep reads (an output folder must not hold them)."""
        files = [Path(self.source)] if self.source else []
        sc = self._base_scenario
        if sc is None:
            files.append(self.base_path())
        elif sc.source:
            files.append(Path(sc.source))
        return files


def Sweep(  # noqa: N802 - built like a class: the in-code form of a sweep spec file
    base: Scenario | str | Path,
    levers: dict | None = None,
    *,
    parameters: dict | None = None,
    sampler: str = "lhs",
    samples: int = 64,
    replicates: int = 8,
    seed: int = 2016,
    scale: float | None = None,
    levels: int = 4,
    name: str | None = None,
    description: str | None = None,
    uncertainty: str | None = None,
) -> SweepSpec:
    """A sweep built in code, with the fields and checks of a spec file (`load_spec`).

    `base` is a Scenario object (used as it is), or a scenario file (read and validated
    once). A varied lever or parameter is `{"low": a, "high": b}` or a pair `(a, b)` for a
    range, and `{"values": [...]}` or a list for given values. A bad field raises an
    InputError naming it (e.g. `samples: ...`).

        from sim.experiments.design import Sweep
        spec = Sweep("scenarios/plan.yaml", {"top_talent_recruitment": (0.5, 3.0)},
                     sampler="lhs", samples=16, replicates=2, seed=1, scale=0.05)
    """
    from sim.inputs.scenario import Scenario, load_scenario

    scenario = None
    if isinstance(base, Scenario):
        scenario, shown = base, base.source or base.name
    elif isinstance(base, str | Path) and str(base).strip():
        shown = str(base)
        if not Path(base).is_file():  # a directory, a missing file: load_scenario names it
            scenario = load_scenario(base)
    else:
        raise InputError(None, "base", f"expected a Scenario or a scenario file, got {base!r}")

    def form(v):
        if isinstance(v, tuple) and len(v) == 2:
            return {"low": v[0], "high": v[1]}
        return {"values": v} if isinstance(v, list) else v

    raw = {
        "name": name,
        "description": description,
        "base": shown,
        "levers": {k: form(v) for k, v in (levers or {}).items()},
        "parameters": {k: form(v) for k, v in (parameters or {}).items()},
        "sampler": sampler,
        "samples": samples,
        "replicates": replicates,
        "seed": seed,
        "scale": scale,
        "levels": levels,
        "uncertainty": uncertainty,
    }
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as e:
        raise explain(e, None, _fields_at, raw) from None
    spec._base_scenario = scenario
    return spec


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec; every problem is an InputError naming file and field."""
    path = Path(path)
    raw = read_mapping(path, "sweep fields")
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as e:
        raise explain(e, str(path), _fields_at, raw) from None
    spec = spec.model_copy(update={"source": str(path)})
    base = spec.base_path()
    if not base.is_file():
        what = "is a directory" if base.is_dir() else "not found"
        raise InputError(str(path), "base", f"scenario {spec.base!r} {what} (looked for {base})")
    return spec


def _fields_at(parent: tuple) -> list[str]:
    """Valid keys of the mapping at `parent` (for "did you mean")."""
    if len(parent) == 2 and parent[0] in ("levers", "parameters"):
        return [*Range.model_fields, *Values.model_fields]
    return [k for k in SweepSpec.model_fields if k != "source"]


def salib_problem(spec: SweepSpec) -> dict:
    """The SALib problem: the varied levers plus the dummy factor (noise floor)."""
    names = [*spec.factor_ids, DUMMY]
    bounds = [[s.low, s.high] for s in spec.factors.values()] + [[0.0, 1.0]]
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def design(spec: SweepSpec) -> pd.DataFrame:
    """Design points in design order: a `point` column and one column per varied lever (plus
    `dummy` for Sobol' and Morris). Deterministic given the spec (its seed drives the sampler)."""
    ids = spec.factor_ids
    if spec.sampler == "grid":
        axes = [
            s.values if isinstance(s, Values) else list(np.linspace(s.low, s.high, spec.levels))
            for s in spec.factors.values()
        ]
        X = np.array(list(itertools.product(*axes)), dtype=float)
        cols = ids
    elif spec.sampler == "lhs":
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(ids), seed=np.random.default_rng(spec.seed)).random(
            spec.samples
        )
        X = np.empty_like(u)
        for j, s in enumerate(spec.factors.values()):
            if isinstance(s, Range):
                X[:, j] = s.low + u[:, j] * (s.high - s.low)
            else:  # a list: each value gets an equal share of the unit interval
                k = np.minimum((u[:, j] * len(s.values)).astype(int), len(s.values) - 1)
                X[:, j] = np.asarray(s.values)[k]
        cols = ids
    elif spec.sampler == "sobol":
        from SALib.sample import sobol

        X = sobol.sample(salib_problem(spec), spec.samples, calc_second_order=False, seed=spec.seed)
        cols = [*ids, DUMMY]
    else:
        from SALib.sample import morris

        X = morris.sample(salib_problem(spec), spec.samples, num_levels=spec.levels, seed=spec.seed)
        cols = [*ids, DUMMY]
    df = pd.DataFrame(X, columns=cols)
    df.insert(0, "point", np.arange(len(df), dtype=np.int64))
    return df


def n_points(spec: SweepSpec) -> int:
    """Design size without building it (for messages)."""
    d = len(spec.factors)
    if spec.sampler == "grid":
        return math.prod(
            len(s.values) if isinstance(s, Values) else spec.levels for s in spec.factors.values()
        )
    if spec.sampler == "sobol":
        return spec.samples * (d + 1 + 2)
    if spec.sampler == "morris":
        return spec.samples * (d + 2)
    return spec.samples
