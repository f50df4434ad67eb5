"""Exploratory modelling with the EMA Workbench (`ema_workbench`) over InnovationModel.

    from ema_workbench import perform_experiments
    from sim.ema import ema_model

    model = ema_model("plan", scale=0.05, replicates=2, outcomes=["rd_intensity@2030"])
    experiments, outcomes = perform_experiments(model, scenarios=20, policies=4)

`ema_model` builds an `ema_workbench.Model` whose
- levers are the plan's policy levers (`sim.inputs.levers.registry`: ids and ranges). A lever
  in a policy holds its value over the whole horizon, replacing the scenario's schedule for it;
  the levers a policy leaves out keep the scenario's schedules;
- uncertainties are the free parameters of the calibration (`seeds/calibration.yaml`) that the
  scenario does not pin, on ranges chosen by `ranges`:
  "posterior" (default): the posterior's weighted 5%-95% quantiles, the values the 2016-2020
  record leaves plausible (for the parameters the record does not identify that is about the
  prior's range); "bounds": the whole range of seeds/parameters.yaml the model accepts, for
  stress tests beyond what the record supports. A box loses the posterior's correlations
  between parameters: `posterior_scenarios(model, n)` gives EMA scenarios that are posterior
  draws themselves (weighted resampling, as the replicates of `innosim run` draw them). The
  parameters EMA does not vary keep the scenario's values (the calibrated point values);
- outcomes are `indicator@year` (the replicates' mean of the indicator in that calendar year)
  and, for each of those with a target of the plan (`sim.analysis.targets`),
  `indicator@year:met`, the share of replicates meeting it (0 or 1 with one replicate).

Every experiment runs the same `replicates` seeds (those of `innosim run --seed SEED`), so
experiments differ only by their lever and parameter values: two policies are compared on
common random numbers. A run stops after the last year an outcome needs (outcomes in 2020 take
about 40% of the time of a run to 2030), with the values a full run gives for those years.

The model function is a picklable object of this module, so `MultiprocessingEvaluator` works
(Mesa makes "spawn" the start method: call perform_experiments under `if __name__ ==
"__main__":` in a script). Install with `pip install 'innosim[ema]'`; docs/ema.md has an example.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    with warnings.catch_warnings():  # it announces that the optional ipyparallel is missing
        warnings.filterwarnings("ignore", "ipyparallel not installed", UserWarning)
        import ema_workbench
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sim.ema needs the EMA Workbench: pip install 'innosim[ema]' (ema-workbench 2.5)"
    ) from e

from sim.inputs.errors import InputError
from sim.inputs.levers import registry
from sim.inputs.params import definitions
from sim.inputs.reader import did_you_mean
from sim.inputs.scenario import (
    MAX_REPLICATES,
    SEED_END,
    ScaleWarning,
    Scenario,
    load_scenario,
    scale_error,
    scale_warning,
    split_values,
)

RANGES = ("posterior", "bounds")
# the posterior's weighted quantiles that bound an uncertainty with ranges="posterior"
POSTERIOR_RANGE = (0.05, 0.95)
MET = ":met"  # suffix of an attainment outcome


@dataclass(frozen=True)
class Outcome:
    """One EMA outcome: an indicator's value in a calendar year (the replicates' mean), or with
    `met` the share of replicates meeting the plan's target for it that year."""

    name: str
    indicator: str
    year: int
    met: bool = False


@dataclass(frozen=True)
class InnovationRuns:
    """The function EMA calls for one experiment: lever and parameter values as keywords, a
    dict of outcome values back. Module-level and made of plain data, so that it pickles to
    the processes of MultiprocessingEvaluator."""

    scenario: Scenario
    scale: float
    seeds: tuple[int, ...]
    outcomes: tuple[Outcome, ...]

    def __call__(self, **values: Any) -> dict[str, float]:

        from sim.model.model import InnovationModel

        levers, params, unknown = split_values({k: float(v) for k, v in values.items()})
        if unknown:
            raise TypeError(f"not a lever id or a parameter name: {sorted(unknown)}")
        sc = self.scenario.with_values(levers, params)
        last = max(o.year for o in self.outcomes)
        per_seed = []
        for seed in self.seeds:
            model = InnovationModel(sc, scale=self.scale, rng=seed)
            try:
                while last not in model.annual and model.running:
                    model.step()
                per_seed.append(model.annual)
            finally:
                model.release()  # freed now, not at the next cyclic collection
        return _outcome_values(self.outcomes, per_seed)


def _outcome_values(outcomes: tuple[Outcome, ...], per_seed: list[dict]) -> dict[str, float]:
    """The outcomes from each replicate's annual indicators: means, and the share of replicates
    meeting a target by the rule of `innosim run`'s attainment.csv (`sim.analysis.targets`)."""
    import pandas as pd

    from sim.analysis.targets import attainment

    cells = list(dict.fromkeys((o.indicator, o.year) for o in outcomes))
    frame = pd.DataFrame(
        [(r, y, ind, annual[y][ind]) for r, annual in enumerate(per_seed) for ind, y in cells],
        columns=["replicate", "year", "indicator", "value"],
    )
    mean = frame.groupby(["indicator", "year"]).value.mean()
    met = None
    if any(o.met for o in outcomes):
        met = attainment(frame).set_index(["indicator", "target_year"]).probability
    return {
        o.name: float(met[o.indicator, o.year] if o.met else mean[o.indicator, o.year])
        for o in outcomes
    }


def ema_model(
    scenario: str | Path | dict | Scenario | None = "baseline",
    *,
    scale: float | None = None,
    seed: int | None = None,
    replicates: int = 1,
    levers: Iterable[str] | Mapping[str, tuple[float, float]] | None = None,
    uncertainties: Iterable[str] | Mapping[str, tuple[float, float]] | None = None,
    ranges: str = "posterior",
    outcomes: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    attainment: bool = True,
    name: str = "innosim",
) -> ema_workbench.Model:
    """An EMA Workbench model of `scenario` (a shipped name, a file, a dict or a Scenario).

    scale: share of Beijing's 2015 agents simulated (at least 0.01); default the scenario's.
    seed, replicates: every experiment runs replicates 0..n-1 of root seed `seed` (default: the
        scenario's), the seeds of `innosim run --seed SEED`; outcomes average over them. One
        replicate by default: EMA's scenarios already spread the runs over the parameters.
    levers: lever ids (ranges of seeds/levers.yaml) or {id: (low, high)} inside those ranges;
        None: all levers; () none.
    uncertainties: parameter names or {name: (low, high)}; None: the calibration's free
        parameters the scenario does not set. A name without a range gets one from `ranges`.
    ranges: "posterior" (the posterior's weighted 5%-95% quantiles) or "bounds" (the parameter's
        range in seeds/parameters.yaml).
    outcomes: "indicator@year", "indicator@year:met" (share of replicates meeting the plan's
        target), or an indicator alone for each of `years`; None: every indicator with a
        target of the plan. years: default the plan's target years inside the horizon.
    attainment: add "indicator@year:met" for each outcome with a target of the plan that year.
    name: the EMA model's name (letters and digits).

    Bad input raises an InputError naming the argument and what was expected.
    """
    sc = load_scenario(scenario)
    horizon = range(sc.time.start_year, sc.time.end_year + 1)
    scale = sc.scale if scale is None else scale
    number = isinstance(scale, int | float) and not isinstance(scale, bool)
    err = scale_error(scale) if number else f"expected a number, got {scale!r}"
    if err:
        raise InputError(None, "scale", err)
    if note := scale_warning(scale):  # once, where the model is made (docs/scale.md)
        warnings.warn(note, ScaleWarning, stacklevel=2)
    seed = sc.seed if seed is None else seed
    if not (_whole(seed) and 0 <= seed < SEED_END):
        raise InputError(None, "seed", f"expected a whole number in [0, 2^63), got {seed!r}")
    if not (_whole(replicates) and 1 <= replicates <= MAX_REPLICATES):
        raise InputError(
            None, "replicates", f"expected a whole number 1-{MAX_REPLICATES}, got {replicates!r}"
        )
    if ranges not in RANGES:
        raise InputError(None, "ranges", f"one of {', '.join(RANGES)}, got {ranges!r}")
    if not (isinstance(name, str) and name.isalnum()):
        raise InputError(None, "name", f"letters and digits only (EMA's rule), got {name!r}")

    from sim.experiments.runs import replicate_seeds

    wanted = _outcomes(outcomes, years, attainment, horizon)
    runs = InnovationRuns(sc, float(scale), tuple(replicate_seeds(seed, replicates)), wanted)
    model = ema_workbench.Model(name, function=runs)
    model.levers = _levers(levers)
    model.uncertainties = _uncertainties(uncertainties, ranges, sc)
    model.outcomes = [_ema_outcome(o) for o in wanted]
    return model


def posterior_scenarios(
    model: ema_workbench.Model, n: int, seed: int = 2016
) -> list[ema_workbench.Scenario]:
    """n EMA scenarios drawn from the posterior (weighted, with replacement; the draws replicates
    0..n-1 of `innosim run --seed SEED` get), over the model's uncertainties: unlike a box of
    ranges they keep the posterior's correlations between parameters.

        perform_experiments(model, scenarios=posterior_scenarios(model, 50), policies=4)
    """
    from sim.experiments.posterior import load_posterior

    post = load_posterior()
    if post is None:
        raise InputError(None, "posterior_scenarios", "no posterior: run `innosim calibrate`")
    if not (_whole(n) and 1 <= n <= MAX_REPLICATES):
        raise InputError(None, "n", f"expected a whole number 1-{MAX_REPLICATES}, got {n!r}")
    names = [u.name for u in model.uncertainties]
    if not names:
        raise InputError(None, "posterior_scenarios", "the model has no uncertainties to draw")
    missing = [u for u in names if u not in post.names]
    if missing:
        raise InputError(
            None,
            "posterior_scenarios",
            f"the posterior has no draws of {missing}: drop them from the model's uncertainties",
        )
    return [
        ema_workbench.Scenario(f"posterior_{i}", **{k: draw[k] for k in names})
        for i, draw in enumerate(post.parameter_sets(seed, n))
    ]


# ------------------------------------------------------------------------------------------------
# levers, uncertainties and outcomes from the project's registries
# ------------------------------------------------------------------------------------------------
def _whole(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _ranged(
    given: Iterable[str] | Mapping[str, tuple[float, float]] | None,
    default: list[str],
    known: Mapping[str, Any],
    what: str,
) -> dict[str, tuple[float, float] | None]:
    """name -> explicit (low, high) or None (the default range), names checked."""
    if given is None:
        return dict.fromkeys(default)
    if isinstance(given, str):
        raise InputError(None, what, f"expected a list of names or a mapping, got {given!r}")
    items = dict(given) if isinstance(given, Mapping) else dict.fromkeys(given)
    for k, bounds in items.items():
        if k not in known:
            raise InputError(None, f"{what}.{k}", f"unknown name{did_you_mean(k, known)}")
        if bounds is not None:
            ok = isinstance(bounds, tuple | list) and len(bounds) == 2
            if not ok or not all(isinstance(x, int | float) and math.isfinite(x) for x in bounds):
                raise InputError(None, f"{what}.{k}", f"expected (low, high), got {bounds!r}")
            if not bounds[0] < bounds[1]:
                raise InputError(None, f"{what}.{k}", f"expected low < high, got {bounds!r}")
    return items


def _levers(given) -> list:
    reg = registry()
    out = []
    for lid, bounds in _ranged(given, list(reg), reg, "levers").items():
        lv = reg[lid]
        out.append(_real_parameter(lv, "levers", lid, *(bounds or (lv.low, lv.high))))
    return out


def _real_parameter(spec, what: str, name: str, low, high):
    """An EMA RealParameter over [low, high], both ends checked against `spec` (a lever or a
    parameter definition) with a scenario file's message."""
    for x in (low, high):
        if err := spec.check(x):
            raise InputError(None, f"{what}.{name}", err)
    return ema_workbench.RealParameter(name, float(low), float(high))


def _uncertainties(given, ranges: str, sc: Scenario) -> list:
    from sim.experiments.posterior import free_parameter_names

    defs = definitions()
    free = [p for p in free_parameter_names() if p not in sc.parameters]
    chosen = _ranged(given, free, defs, "uncertainties")
    posterior_bounds = _posterior_bounds() if ranges == "posterior" else {}
    out = []
    for name, bounds in chosen.items():
        d = defs[name]
        if isinstance(d.value, tuple):
            raise InputError(
                None, f"uncertainties.{name}", "a list-valued parameter cannot be an uncertainty"
            )
        if bounds is None and ranges == "posterior":
            if name not in posterior_bounds:
                raise InputError(
                    None,
                    f"uncertainties.{name}",
                    "not in the posterior: give its (low, high) or use ranges='bounds'",
                )
            bounds = posterior_bounds[name]
        out.append(_real_parameter(d, "uncertainties", name, *(bounds or (d.low, d.high))))
    return out


def _posterior_bounds() -> dict[str, tuple[float, float]]:
    from sim.experiments.abc import weighted_quantile
    from sim.experiments.posterior import load_posterior

    post = load_posterior()
    if post is None:
        raise InputError(None, "ranges", "no posterior (`innosim calibrate`): use ranges='bounds'")
    lo, hi = POSTERIOR_RANGE
    return {
        name: (
            weighted_quantile(post.draws[name].to_numpy(float), post.weights, lo),
            weighted_quantile(post.draws[name].to_numpy(float), post.weights, hi),
        )
        for name in post.names
    }


def _outcomes(outcomes, years, attainment: bool, horizon: range) -> tuple[Outcome, ...]:
    from sim.analysis.targets import target_table
    from sim.model.indicators import INDICATORS

    targets = target_table()
    goals = {(r.indicator, int(r.target_year)) for r in targets.itertuples()}
    span = f"{horizon.start}-{horizon.stop - 1}"
    if years is None:
        years = sorted({int(y) for y in targets.target_year if y in horizon})
    years = list(years)
    for y in years:
        if not (isinstance(y, numbers.Integral) and int(y) in horizon):
            raise InputError(None, "years", f"years inside the horizon {span}, got {y!r}")
    if outcomes is None:
        outcomes = list(dict.fromkeys(targets.indicator))
    if isinstance(outcomes, str):
        raise InputError(None, "outcomes", f"expected a list of outcomes, got {outcomes!r}")
    found: list[Outcome] = []
    for item in outcomes:
        text = str(item)
        met = text.endswith(MET)
        ind, _, year = text.removesuffix(MET).partition("@")
        if ind not in INDICATORS:
            raise InputError(
                None, f"outcomes.{text}", f"unknown indicator{did_you_mean(ind, INDICATORS)}"
            )
        if year and not (year.isdigit() and int(year) in horizon):
            raise InputError(
                None, f"outcomes.{text}", f"expected indicator@year with a year in {span}"
            )
        for y in [int(year)] if year else [int(y) for y in years]:
            if met and (ind, y) not in goals:
                raise InputError(None, f"outcomes.{text}", f"the plan has no target for {ind}@{y}")
            found.append(Outcome(f"{ind}@{y}{MET if met else ''}", ind, y, met))
            if attainment and not met and (ind, y) in goals:
                found.append(Outcome(f"{ind}@{y}{MET}", ind, y, True))
    out = tuple({o.name: o for o in found}.values())
    if not out:
        raise InputError(None, "outcomes", "no outcome: give indicators and years")
    return out


def _ema_outcome(o: Outcome):
    """An attainment share is to be maximised (for EMA's optimize); an indicator is INFO, since
    whether more is better depends on the question."""
    if o.met:
        kind = ema_workbench.ScalarOutcome.MAXIMIZE
        return ema_workbench.ScalarOutcome(o.name, kind=kind, expected_range=(0.0, 1.0))
    return ema_workbench.ScalarOutcome(o.name, kind=ema_workbench.ScalarOutcome.INFO)


__all__ = ["ema_model", "posterior_scenarios", "InnovationRuns", "Outcome", "RANGES"]
