"""Python API: the one module notebooks and scripts import (`import sim.api as api`).

Running:
    df = api.run("baseline", seed=1, scale=0.05, replicates=4,
                 overrides={"basic_research_priority": 0.45}, parameters={"revenue_growth": 0.14})
    out = api.run_detailed("plan", agents=True)      # + firms, costs, evaluations, parameters
    model = api.InnovationModel("plan", scale=0.05, rng=1, revenue_growth=0.14)  # a Mesa model

Sweeps (the same fields and checks as a sweep spec file):
    spec = api.Sweep("scenarios/plan.yaml", {"top_talent_recruitment": (0.5, 3.0)},
                     sampler="lhs", samples=16, replicates=2, seed=1, scale=0.05)
    api.sweep(spec, "reports/talent_sweep")          # or a spec file: api.sweep("spec.yaml", ...)
    df = api.load_sweep("reports/talent_sweep")
    api.analyze("reports/talent_sweep", "sobol", ["rd_intensity@2030"])

Everything else a notebook needs is re-exported here from the module that owns it (the names
below, grouped as in `__all__`); those are imported on first use, so `import sim.api` stays as
light as running needs. Exploratory modelling with the EMA Workbench is in `sim.ema`
(docs/ema.md).
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.analysis.targets import attainment, target_table
from sim.experiments.design import Sweep, SweepSpec
from sim.experiments.runs import Replicates, run_replicates_detailed
from sim.inputs.scenario import (  # MATCHING_SCALE: docs/scale.md
    MATCHING_SCALE,
    ScaleWarning,
    Scenario,
    load_scenario,
    scale_warning,
)


def run(
    scenario: str | Path | dict | Scenario | None = None,
    *,
    seed: int | None = None,
    scale: float | None = None,
    replicates: int | None = None,
    overrides: dict | None = None,
    parameters: dict | None = None,
    workers: int = 1,
    progress: bool = False,
    uncertainty: str | None = None,
) -> pd.DataFrame:
    """Run a scenario's replicates; returns `scenario, replicate, seed, year, indicator, value`.

    Unset arguments take the scenario's own `seed`, `scale` and `replicates`.
    `overrides` maps lever ids to a constant or a `{year: value}` schedule; `parameters` maps
    parameter names (seeds/parameters.yaml) to values, as a scenario's `parameters:` does. A bad
    name or value raises the InputError a scenario file gets. `uncertainty`: "posterior"
    (default) gives replicate r posterior draw d(r) of the free parameters the scenario leaves
    open (a parameter set in `parameters` keeps its value in every replicate); "seed" runs every
    replicate with the calibrated point values; None takes the scenario's `uncertainty`.
    """
    kw = dict(seed=seed, scale=scale, replicates=replicates, overrides=overrides)
    out = run_detailed(
        scenario,
        **kw,
        parameters=parameters,
        workers=workers,
        progress=progress,
        uncertainty=uncertainty,
    )
    return out.indicators


def run_detailed(
    scenario: str | Path | dict | Scenario | None = None,
    *,
    seed: int | None = None,
    scale: float | None = None,
    replicates: int | None = None,
    overrides: dict | None = None,
    parameters: dict | None = None,
    workers: int = 1,
    progress: bool = False,
    agents: bool = False,
    uncertainty: str | None = None,
) -> Replicates:
    """As `run`, returning the indicators, the firms' yearly records (with `agents=True`), the
    checks of the scenario's evaluation rules, the levers' fiscal costs and the budget cap's
    records and the parameters each replicate ran with (`.indicators`, `.firms`, `.evaluations`,
    `.costs`, `.budget`, `.parameters`)."""
    from sim.experiments.posterior import check_uncertainty

    sc = load_scenario(scenario)
    uncertainty = sc.uncertainty if uncertainty is None else uncertainty
    if isinstance(uncertainty, str):
        check_uncertainty(uncertainty)
    if overrides or parameters:
        sc = sc.with_values(overrides, parameters)
    scale = sc.scale if scale is None else scale
    if note := scale_warning(scale):
        warnings.warn(note, ScaleWarning, stacklevel=3)
    return run_replicates_detailed(
        sc,
        replicates=sc.replicates if replicates is None else replicates,
        seed=sc.seed if seed is None else seed,
        scale=scale,
        workers=workers,
        progress=progress,
        agents=agents,
        uncertainty=uncertainty,
    )


def sweep(
    spec: SweepSpec | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    resume: bool = False,
    force: bool = False,
    scale: float | None = None,
    progress: bool = False,
):
    """Run (or resume) a sweep into the folder `out`; returns the run summary.

    `spec` is a sweep built in code with `Sweep(...)` or a sweep spec file:

        spec = Sweep(load_scenario("scenarios/plan.yaml"),
                     {"top_talent_recruitment": (0.5, 3.0), "guidance_fund_scale": [1, 2, 4]},
                     sampler="lhs", samples=32, replicates=4, seed=2016, scale=0.05)
        summary = sweep(spec, "reports/talent_x_finance", workers=2)
        df = load_sweep("reports/talent_x_finance")

    A bad field raises an InputError naming it; results equal those of the same spec in a file.
    """
    from sim.experiments.sweep import run_sweep

    return run_sweep(
        spec, out, workers=workers, resume=resume, force=force, scale=scale, progress=progress
    )


def load_sweep(directory: str | Path) -> pd.DataFrame:
    """A sweep's results as one tidy frame: point, replicate, seed, each varied lever, year,
    indicator, value (only the runs stored so far)."""
    from sim.experiments.store import open_store

    return open_store(directory).load()


# ------------------------------------------------------------------------------------------------
# re-exports: public name -> (owning module, name there), imported on first use
# ------------------------------------------------------------------------------------------------
_EXPORTS: dict[str, tuple[str, str]] = {
    # where things are
    "ROOT": ("sim.inputs.paths", "ROOT"),  # the repository (or installed package) root
    "SCENARIOS": ("sim.inputs.paths", "SCENARIOS"),  # the shipped scenarios
    "SEEDS": ("sim.inputs.paths", "SEEDS"),  # levers, parameters, targets, record, posterior
    # inputs: levers, parameters, indicators
    "lever_registry": ("sim.inputs.levers", "registry"),  # id -> Lever (range, 2015, plan)
    "parameter_definitions": ("sim.inputs.params", "definitions"),  # name -> ParamDef
    "INDICATORS": ("sim.model.indicators", "INDICATORS"),  # indicator id -> (unit, description)
    # the model
    "InnovationModel": ("sim.model.model", "InnovationModel"),
    # scenario comparison (`innosim compare`)
    "attainment_table": ("sim.analysis.compare", "attainment_table"),
    "format_attainment": ("sim.analysis.compare", "format_attainment"),
    "comparison_figure": ("sim.analysis.plots", "comparison_figure"),
    # sweeps: designs, points, sensitivity (`innosim sweep`, `compare`, `analyze`)
    "load_spec": ("sim.experiments.design", "load_spec"),
    "design": ("sim.experiments.design", "design"),
    "n_points": ("sim.experiments.design", "n_points"),
    "paired_differences": ("sim.analysis.points", "paired_differences"),
    "default_points": ("sim.analysis.points", "default_points"),
    "point_labels": ("sim.analysis.points", "point_labels"),
    "target_probabilities": ("sim.analysis.points", "target_probabilities"),
    "analyze": ("sim.analysis.sensitivity", "analyze"),
    "write_analysis": ("sim.analysis.sensitivity", "write_analysis"),
    "format_analysis": ("sim.analysis.sensitivity", "format_analysis"),
    "analysis_figure": ("sim.analysis.sensitivity", "analysis_figure"),
    # the posterior and the calibration (`innosim calibrate`, docs/calibration.md)
    "POSTERIOR": ("sim.experiments.posterior", "POSTERIOR"),
    "MIN_DRAWS": ("sim.experiments.posterior", "MIN_DRAWS"),
    "read_posterior": ("sim.experiments.posterior", "read_posterior"),
    "load_calibration_setup": ("sim.experiments.calibration", "load_setup"),
    "prior_distribution": ("sim.experiments.calibration", "prior_distribution"),
    "identification_verdict": ("sim.experiments.calibration", "identification_verdict"),
    "IDENTIFIED_SD_RATIO": ("sim.experiments.calibration", "IDENTIFIED_SD_RATIO"),
    "UNIDENTIFIED_SD_RATIO": ("sim.experiments.calibration", "UNIDENTIFIED_SD_RATIO"),
    "NAIVE_FORECASTS": ("sim.experiments.validation", "NAIVE"),
    # stylized facts of firm records (`innosim facts`)
    "write_facts": ("sim.analysis.facts", "write_facts"),
    "format_facts": ("sim.analysis.facts", "format_facts"),
    "growth_table": ("sim.analysis.facts", "growth_table"),
    "PARETO_TAIL": ("sim.analysis.facts", "PARETO_TAIL"),
}


def __getattr__(name: str) -> Any:
    """A re-exported name, imported from its module on first use and kept here after."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sim.api' has no attribute {name!r}")
    module, attr = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # what the re-exports are, for editors and type checkers
    from sim.analysis.compare import attainment_table, format_attainment
    from sim.analysis.facts import PARETO_TAIL, format_facts, growth_table, write_facts
    from sim.analysis.plots import comparison_figure
    from sim.analysis.points import (
        default_points,
        paired_differences,
        point_labels,
        target_probabilities,
    )
    from sim.analysis.sensitivity import (
        analysis_figure,
        analyze,
        format_analysis,
        write_analysis,
    )
    from sim.experiments.calibration import (
        IDENTIFIED_SD_RATIO,
        UNIDENTIFIED_SD_RATIO,
        identification_verdict,
        prior_distribution,
    )
    from sim.experiments.calibration import load_setup as load_calibration_setup
    from sim.experiments.design import design, load_spec, n_points
    from sim.experiments.posterior import MIN_DRAWS, POSTERIOR, read_posterior
    from sim.experiments.validation import NAIVE as NAIVE_FORECASTS
    from sim.inputs.levers import registry as lever_registry
    from sim.inputs.params import definitions as parameter_definitions
    from sim.inputs.paths import ROOT, SCENARIOS, SEEDS
    from sim.model.indicators import INDICATORS
    from sim.model.model import InnovationModel


__all__ = [
    # running
    "run",
    "run_detailed",
    "Replicates",
    "load_scenario",
    "Scenario",
    "InnovationModel",
    # sweeps
    "Sweep",
    "SweepSpec",
    "sweep",
    "load_sweep",
    "load_spec",
    "design",
    "n_points",
    # where things are; levers, parameters, indicators
    "ROOT",
    "SCENARIOS",
    "SEEDS",
    "MATCHING_SCALE",
    "ScaleWarning",
    "scale_warning",
    "lever_registry",
    "parameter_definitions",
    "INDICATORS",
    # targets, attainment and comparison
    "target_table",
    "attainment",
    "attainment_table",
    "format_attainment",
    "comparison_figure",
    "paired_differences",
    "default_points",
    "point_labels",
    "target_probabilities",
    # sensitivity analysis
    "analyze",
    "write_analysis",
    "format_analysis",
    "analysis_figure",
    # posterior, calibration, validation
    "POSTERIOR",
    "MIN_DRAWS",
    "read_posterior",
    "load_calibration_setup",
    "prior_distribution",
    "identification_verdict",
    "IDENTIFIED_SD_RATIO",
    "UNIDENTIFIED_SD_RATIO",
    "NAIVE_FORECASTS",
    # stylized facts
    "write_facts",
    "format_facts",
    "growth_table",
    "PARETO_TAIL",
]
