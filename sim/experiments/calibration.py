"""Calibration by simulated minimum distance against the 2016-2020 record.

1. A Latin-hypercube sweep over the free parameters of `seeds/calibration.yaml` (the sweep
   machinery: parallel, resumable, common random numbers), each point run with the historical
   scenario to 2020.
2. The distance of a point: the weighted mean squared log error between the replicate mean of
   each observed indicator-year and the record, weights by the record's confidence, plus the
   penalty of the literature priors some parameters carry (`prior_penalty`: a normal prior on
   the output elasticity of R&D capital, say, so that the fit cannot set it to zero against the
   evidence the data do not contradict).
3. A radial-basis surrogate of the distance over the unit cube (scipy RBFInterpolator, smoothed
   because the distance is noisy), minimised with L-BFGS-B from the best design points.
4. The surrogate's optimum and the best design points are re-run with twice the replicates (new
   seeds, so the choice is not fitted to the design's noise); the best becomes the estimate.
5. The estimate is written to OUT/search/calibration.yaml; `innosim calibrate --install` (or
   `install_calibration`) copies it to `seeds/calibrated.yaml`, which the model loads as its
   defaults, and writes a fit report (each indicator's simulated band against the record).

Few free parameters, the whole 2016-2020 trajectories and confidence weights keep the fit from
chasing 2020 end points; `--holdout 2020` fits on 2016-2019 and scores 2020 against a straight
line through 2015-2019 (the out-of-sample check the record allows).
"""

from __future__ import annotations

import datetime as _dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.experiments.atomic import add_to_stamp, claim, staged_folder, write_file, write_text
from sim.experiments.executors import default_workers
from sim.inputs.errors import InputError
from sim.inputs.paths import SEEDS

CALIBRATED = SEEDS / "calibrated.yaml"


@dataclass
class Setup:
    scenario: Path
    end_year: int
    free: dict[str, tuple[float, float]]
    weights: dict[str, float]
    exclude: list[dict]
    priors: dict[str, tuple[float, float]]  # parameter -> (mean, sd) of a normal prior
    observation_log_sd: float  # the log error one weight-1 observation is expected to have
    profile: tuple[str, ...] = ()  # parameters re-estimated on a 1-D grid given the others


def prior_penalty(setup: Setup, params, total_weight: float) -> float:
    """The priors' share of the distance. With log errors of sd `observation_log_sd` on each
    weight-1 observation, the weighted mean squared log error plus this penalty is, up to a
    constant factor, minus the log posterior (normal errors, normal priors)."""
    if not setup.priors:
        return 0.0
    z2 = sum(((float(params[k]) - mu) / sd) ** 2 for k, (mu, sd) in setup.priors.items())
    return float(setup.observation_log_sd**2 * z2 / max(total_weight, 1e-12))


def prior_specs(setup: Setup) -> dict[str, tuple[str, tuple, dict]]:
    """Each free parameter's prior as a scipy.stats distribution (name, shape arguments, loc and
    scale): uniform on its bounds, or the literature's normal truncated to them. The one
    definition the ABC fit, the prior draws and the posterior's sd ratios use."""
    out = {}
    for name, (lo, hi) in setup.free.items():
        if name in setup.priors:
            mu, sd = setup.priors[name]
            out[name] = ("truncnorm", ((lo - mu) / sd, (hi - mu) / sd), {"loc": mu, "scale": sd})
        else:
            out[name] = ("uniform", (), {"loc": lo, "scale": hi - lo})
    return out


def prior_distribution(setup: Setup, name: str):
    """The frozen scipy.stats prior of one free parameter (`prior_specs`)."""
    import scipy.stats

    dist, args, kwds = prior_specs(setup)[name]
    return getattr(scipy.stats, dist)(*args, **kwds)


def load_setup() -> Setup:
    raw = yaml.safe_load((SEEDS / "calibration.yaml").read_text(encoding="utf-8"))
    free = {k: (float(v["low"]), float(v["high"])) for k, v in raw["free"].items()}
    priors = {
        k: (float(v["prior"]["mean"]), float(v["prior"]["sd"]))
        for k, v in raw["free"].items()
        if isinstance(v.get("prior"), dict)
    }
    return Setup(
        scenario=(SEEDS / raw["scenario"]).resolve(),
        end_year=int(raw["end_year"]),
        free=free,
        weights={k: float(v) for k, v in raw["weights"].items()},
        exclude=list(raw.get("exclude", [])),
        priors=priors,
        observation_log_sd=float(raw.get("observation_log_sd", 0.1)),
        profile=tuple(k for k, v in raw["free"].items() if v.get("profile")),
    )


PROFILE_POINTS = 9  # grid points of a profiled parameter


def profile_step(
    setup: Setup, base_sc, estimate: dict, moments, *, replicates, seed, scale, workers
):
    """Re-estimate each `profile: true` parameter on a grid over its bounds, the others fixed at
    `estimate`, on fresh seeds (`seed`). For a parameter that moves few outcomes (the growth of
    the non-technology economy moves GDP and R&D intensity only), a sparse design leaves it
    unidentified although the record pins it down given the rest: a 1-D profile finds it.
    Returns the updated estimate and, per parameter, the grid and its distances."""
    total_w = float(moments.weight.sum())
    est, details = dict(estimate), {}
    for name in setup.profile:
        lo, hi = setup.free[name]
        grid = [float(x) for x in np.linspace(lo, hi, PROFILE_POINTS)]
        cands = [{**est, name: g} for g in grid]
        frames = _run_candidates(base_sc, cands, replicates, seed, scale, workers)
        scores = []
        for f, params in zip(frames, cands, strict=True):
            means = f.groupby(["indicator", "year"], as_index=False).value.mean()
            scores.append(distance(means, moments) + prior_penalty(setup, params, total_w))
        j = int(np.argmin(scores))
        est[name] = grid[j]
        details[name] = {
            "grid": [round(g, 6) for g in grid],
            "distance": [float(x) for x in scores],
            "chosen": round(grid[j], 6),
        }
    return est, details


def _usable_record(setup: Setup) -> pd.DataFrame:
    """Observed values of model indicators, without the exclusions of seeds/calibration.yaml."""
    from sim.model.indicators import INDICATORS

    obs = pd.read_csv(SEEDS / "observed_indicators.csv")
    obs = obs[(obs.kind == "observed") & obs.indicator.isin(list(INDICATORS))]
    for ex in setup.exclude:
        obs = obs[~((obs.indicator == ex["indicator"]) & obs.year.isin(ex["years"]))]
    return obs


def observed_moments(setup: Setup, last_year: int | None = None) -> pd.DataFrame:
    """indicator, year, observed, weight: the record the fit is judged against."""
    last = setup.end_year if last_year is None else last_year
    obs = _usable_record(setup)
    obs = obs[obs.year.between(2016, last)]
    obs = obs.assign(weight=obs.confidence.map(setup.weights).fillna(0.0))
    return (
        obs[["indicator", "year", "value", "weight"]]
        .rename(columns={"value": "observed"})
        .reset_index(drop=True)
    )


def distance(sim_means: pd.DataFrame, moments: pd.DataFrame) -> float:
    """Weighted mean squared log error of simulated means (indicator, year, value) vs the record."""
    m = moments.merge(sim_means, on=["indicator", "year"], how="left")
    err = np.log(np.maximum(m.value.to_numpy(float), 1e-9) / m.observed.to_numpy(float))
    w = m.weight.to_numpy(float)
    return float(np.sum(w * err**2) / np.sum(w))


def point_distances(df: pd.DataFrame, moments: pd.DataFrame) -> pd.Series:
    """Distance of every design point of a load_sweep frame (replicate means)."""
    means = df.groupby(["point", "indicator", "year"], as_index=False).value.mean()
    return means.groupby("point").apply(
        lambda g: distance(g[["indicator", "year", "value"]], moments), include_groups=False
    )


def _write_base(out: Path, setup: Setup, end_year: int) -> Path:
    """The historical scenario cut at `end_year`: schedule steps after it are dropped (they
    would never apply), so the shortened scenario is valid."""
    from sim.inputs.scenario import load_scenario

    sc = load_scenario(setup.scenario)
    data = sc.model_dump(mode="json", exclude={"source"})

    def cut(section: dict) -> dict:
        kept = {}
        for k, v in section.items():
            if isinstance(v, dict):
                v = {int(y): x for y, x in v.items() if int(y) <= end_year}
                if not v:
                    continue
            kept[k] = v
        return kept

    data.update(
        name="calibration_base",
        description=f"The historical scenario to {end_year} (calibration).",
        time={"start_year": 2016, "end_year": end_year, "steps_per_year": 4},
        levers=cut(data["levers"]),
        shocks=cut(data["shocks"]),
    )
    data.pop("innosim_version", None)
    data.pop("model_fingerprint", None)
    base = out / "base.yaml"
    base.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return base


def _run_candidates(
    base, candidates: list[dict], replicates: int, seed: int, scale: float, workers: int
) -> list[pd.DataFrame]:
    from sim.experiments.runs import run_replicates
    from sim.inputs.scenario import load_scenario

    sc = load_scenario(base)  # a Scenario as it is, a file read and validated
    out = []
    for params in candidates:
        out.append(
            run_replicates(
                sc.with_parameters(params),
                replicates=replicates,
                seed=seed,
                scale=scale,
                workers=workers,
                uncertainty="seed",  # the candidate sets every free parameter itself
            )
        )
    return out


def calibrate(
    out: str | Path,
    *,
    budget: int = 64,
    replicates: int = 4,
    scale: float = 0.1,
    workers: int | None = None,
    seed: int = 2016,
    holdout: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> dict:
    """Run the calibration; returns the result record (also written to out/calibration.yaml;
    `install_calibration(out)` makes it the model's default).

    `out` is innosim's working folder: it may be written again by a later calibration, but one
    holding anything innosim did not write is refused (see `sim.experiments.atomic.claim`)."""
    with claim(out, True):
        return _calibrate(
            Path(out),
            budget=budget,
            replicates=replicates,
            scale=scale,
            workers=workers,
            seed=seed,
            holdout=holdout,
            resume=resume,
            progress=progress,
        )


def _calibrate(
    out: Path, *, budget, replicates, scale, workers, seed, holdout, resume, progress
) -> dict:
    from scipy.interpolate import RBFInterpolator
    from scipy.optimize import minimize

    from sim.experiments.fingerprint import fingerprint
    from sim.experiments.sweep import run_sweep
    from sim.inputs.params import definitions

    setup = load_setup()
    need = 2 * (len(setup.free) + 1)
    if budget < need:
        raise InputError(
            None, "--budget", f"at least {need} design points for {len(setup.free)} parameters"
        )
    from sim.experiments.design import MAX_RUNS

    if budget * replicates > MAX_RUNS:  # refused before anything is written
        raise InputError(
            None,
            "--budget",
            f"{budget:,} design points x {replicates} replicates = {budget * replicates:,} runs; "
            f"at most {MAX_RUNS:,} in one sweep",
        )
    last = setup.end_year if holdout is None else holdout - 1
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    workers = workers or default_workers()
    base = _write_base(out, setup, setup.end_year)  # simulated to 2020, fitted to `last`
    moments = observed_moments(setup, last)
    from sim.experiments.design import Sweep
    from sim.inputs.scenario import load_scenario

    base_sc = load_scenario(str(base.resolve()))  # validated once, for the sweep and the re-runs
    spec = Sweep(  # built in code: the spec of the record is the same as a file's
        base_sc,
        name="calibration",
        description="Latin hypercube over the free parameters of seeds/calibration.yaml",
        parameters={k: {"low": lo, "high": hi} for k, (lo, hi) in setup.free.items()},
        sampler="lhs",
        samples=budget,
        replicates=replicates,
        seed=seed,
        scale=scale,
        uncertainty="seed",  # the design sets every free parameter itself
    )
    add_to_stamp(out, [base.name], kind="calibration")
    summary = run_sweep(
        spec,
        out / "design",
        workers=workers,
        resume=resume,
        force=not resume,
        progress=progress,
    )
    if summary.failures:
        raise RuntimeError(f"{len(summary.failures)} calibration run(s) failed; see above")

    from sim.experiments.store import open_store

    df = open_store(out / "design").load()
    names = list(setup.free)
    lo = np.array([setup.free[k][0] for k in names])
    hi = np.array([setup.free[k][1] for k in names])
    design = df.groupby("point")[names].first().sort_index()
    data_dist = point_distances(df, moments).sort_index()
    total_w = float(moments.weight.sum())
    penalty = np.array(
        [prior_penalty(setup, row, total_w) for _, row in design.iterrows()], dtype=float
    )
    dist = data_dist + penalty
    X = (design.to_numpy(float) - lo) / (hi - lo)
    y = dist.to_numpy(float)

    # Surrogate of the (noisy) distance; minimised from the five best design points.
    surrogate = RBFInterpolator(X, y, kernel="thin_plate_spline", smoothing=float(np.var(y)) * 0.1)
    best_rows = np.argsort(y)[:5]
    optima = []
    for r in best_rows:
        res = minimize(
            lambda z: float(surrogate(z[None, :])[0]),
            X[r],
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * len(names),
        )
        optima.append((float(res.fun), res.x))
    optima.sort(key=lambda t: t[0])
    candidates = [lo + optima[0][1] * (hi - lo)] + [lo + X[r] * (hi - lo) for r in best_rows[:3]]
    cand_params = [{k: float(v) for k, v in zip(names, c, strict=True)} for c in candidates]

    # Re-run the candidates with more replicates and fresh seeds: choose on new noise.
    check_seed = seed + 1
    frames = _run_candidates(base_sc, cand_params, 2 * replicates, check_seed, scale, workers)
    scores, data_scores = [], []
    for f, params in zip(frames, cand_params, strict=True):
        means = f.groupby(["indicator", "year"], as_index=False).value.mean()
        data_scores.append(distance(means, moments))
        scores.append(data_scores[-1] + prior_penalty(setup, params, total_w))
    k = int(np.argmin(scores))
    estimate = cand_params[k]
    profiled = {}
    if setup.profile:
        estimate, profiled = profile_step(
            setup,
            base_sc,
            estimate,
            moments,
            replicates=2 * replicates,
            seed=check_seed,
            scale=scale,
            workers=workers,
        )
        scores[k] = min(min(v["distance"]) for v in profiled.values())
        data_scores[k] = scores[k] - prior_penalty(setup, estimate, total_w)
    defs = definitions()
    record = {
        "calibrated": _dt.date.today().isoformat(),
        "method": "simulated minimum distance: LHS sweep + RBF surrogate + L-BFGS-B, "
        "candidates re-run on fresh seeds"
        + (
            "; profiled parameters re-estimated on a 1-D grid given the others (profile_step)"
            if profiled
            else ""
        ),
        "settings": {
            "budget": budget,
            "replicates": replicates,
            "scale": scale,
            "seed": seed,
            "last_year": last,
            "holdout": holdout,
            "model_fingerprint_before": fingerprint(),
        },
        "distance": {
            "prior": None,
            "best_design_point": float(y.min()),
            "surrogate_optimum_predicted": optima[0][0],
            "estimate_on_fresh_seeds": float(scores[k]),
            "estimate_data_part": float(data_scores[k]),
            "estimate_prior_part": float(scores[k] - data_scores[k]),
            "candidates_on_fresh_seeds": [float(s) for s in scores],
        },
        "priors": {n: {"mean": mu, "sd": sd} for n, (mu, sd) in setup.priors.items()},
        "observation_log_sd": setup.observation_log_sd,
        "parameters": {
            n: {
                "value": round(estimate[n], 6),
                "prior": defs[n].prior if defs[n].prior is not None else defs[n].value,
                "bounds": [float(setup.free[n][0]), float(setup.free[n][1])],
            }
            for n in names
        },
    }
    # The prior's distance, on the same fresh seeds, for comparison.
    prior_params = {
        n: float(defs[n].prior if defs[n].prior is not None else defs[n].value) for n in names
    }
    prior = _run_candidates(base_sc, [prior_params], 2 * replicates, check_seed, scale, workers)[0]
    record["distance"]["prior"] = distance(
        prior.groupby(["indicator", "year"], as_index=False).value.mean(), moments
    ) + prior_penalty(setup, prior_params, total_w)
    record["identification"] = identification(design, y)
    if profiled:
        record["profile"] = profiled
    (out / "calibration.yaml").write_text(yaml.safe_dump(record, sort_keys=False), "utf-8")
    pd.DataFrame({"point": dist.index, "distance": y}).join(design.reset_index(drop=True)).to_csv(
        out / "design_distances.csv", index=False
    )
    add_to_stamp(out, ["calibration.yaml", "design_distances.csv"], kind="calibration")
    return record


def install_calibration(search: str | Path) -> list[Path]:
    """Make a finished calibration the model's default (`innosim calibrate --install`): the
    posterior of an ABC-SMC fit (`search/posterior.parquet`) to seeds/posterior.parquet and its
    record, whose values are the point estimates, to seeds/calibrated.yaml. Everything is
    checked before anything is written (a holdout fit, fitted on part of the record, is never
    installed; every value must be a known parameter inside its range, or the model could not
    load its defaults), then each file is replaced atomically (sim.experiments.atomic);
    returns the files written. `search` is the folder the fit was written to (OUT/search)."""
    import shutil

    from sim.experiments import posterior as P
    from sim.inputs.params import definitions

    search = Path(search)
    rec_path = search / "calibration.yaml"
    if not rec_path.is_file():
        raise InputError(
            str(search), None, "no finished calibration here (no calibration.yaml): fit one first"
        )
    try:
        record = yaml.safe_load(rec_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise InputError(str(rec_path), None, f"not a readable calibration record ({e})") from None
    if not isinstance(record, dict) or not isinstance(record.get("parameters"), dict):
        raise InputError(str(rec_path), "parameters", "missing: not a calibration record")
    holdout = (record.get("settings") or {}).get("holdout")
    if holdout is not None:
        raise InputError(
            str(search),
            None,
            f"a holdout fit (fitted to the record before {holdout}) is never installed",
        )
    defs = definitions()
    for name, e in record["parameters"].items():
        value = e.get("value") if isinstance(e, dict) else None
        problem = "unknown parameter" if name not in defs else None
        if problem is None:
            problem = defs[name].check(value) if isinstance(value, float | int) else "no value"
        if problem:
            raise InputError(str(rec_path), f"parameters.{name}", problem)
    post = search / "posterior.parquet"
    abc = "posterior" in record  # an ABC-SMC record; the point estimate (smd) has none
    if abc:
        if not post.is_file():
            raise InputError(str(post), None, "missing: the fit's posterior is not in this folder")
        P.read_posterior(post)  # checked: readable, weights, parameters inside their ranges
    written = []
    if abc:
        write_file(P.POSTERIOR, lambda p: shutil.copyfile(post, p))
        written.append(P.POSTERIOR)
    write_text(CALIBRATED, _calibrated_yaml(record))
    written.append(CALIBRATED)
    definitions.cache_clear()
    P.load_posterior.cache_clear()
    return written


NEAR_BEST = 0.10  # the best tenth of the design points form the near-best set


def identification(design: pd.DataFrame, dist) -> dict:
    """How well the record pins each free parameter down, read off the design sweep: the range of
    the parameter among the near-best design points (the best NEAR_BEST share, at least two per
    parameter; a range nearly as wide as the bounds means the record does not identify it) and the
    rank correlation of the parameter with the distance over all points (how much it matters on
    its own)."""
    from scipy.stats import spearmanr

    y = np.asarray(dist, dtype=float)
    k = min(y.size, max(2 * design.shape[1], int(round(NEAR_BEST * y.size))))
    near = np.zeros(y.size, dtype=bool)
    near[np.argsort(y, kind="stable")[:k]] = True
    out = {
        "near_best_points": k,
        "near_best_distance_max": round(float(y[near].max()), 6),
        "parameters": {},
    }
    for name in design.columns:
        x = design[name].to_numpy(float)
        rho = spearmanr(x, y).statistic if np.ptp(x) > 0 else float("nan")
        out["parameters"][name] = {
            "near_best_range": [round(float(x[near].min()), 6), round(float(x[near].max()), 6)],
            "rank_correlation_with_distance": round(float(rho), 3),
        }
    return out


def _calibrated_yaml(record: dict) -> str:
    head = (
        "# Written by `innosim calibrate` (sim/calibration.py): estimated values of the free\n"
        "# parameters of seeds/calibration.yaml. The model uses them as defaults in place of the\n"
        "# priors of seeds/parameters.yaml. Re-run `innosim calibrate` to re-estimate.\n"
    )
    return head + yaml.safe_dump(record, sort_keys=False)


def _calibrated_record() -> dict:
    """seeds/calibrated.yaml as written by `calibrate` (empty when the model is not calibrated)."""
    if not CALIBRATED.is_file():
        return {}
    return yaml.safe_load(CALIBRATED.read_text(encoding="utf-8")) or {}


def calibrated_values() -> dict[str, float]:
    """The calibrated parameter values (empty when the model has not been calibrated)."""
    raw = _calibrated_record()
    return {k: float(v["value"]) for k, v in (raw.get("parameters") or {}).items()}


# --------------------------------------------------------------------------------------------
# fit report
# --------------------------------------------------------------------------------------------
IDENTIFIED_SD_RATIO = 0.5  # posterior sd below half the prior's: the record identifies it
UNIDENTIFIED_SD_RATIO = 0.8  # above: the record barely moves the prior
PREDICTIVE_REPLICATES = 40  # replicates (posterior draws) of the fit report's runs


def fit_report(
    out: str | Path,
    *,
    replicates: int | None = None,
    scale: float | None = None,
    seed: int = 2016,
    workers=None,
    progress: bool = False,
) -> Path:
    """Run the historical scenario with the current defaults and posterior and report the fit to
    the record: fit.csv (indicator, year, observed, median, q10, q90, error %, inside the band,
    inside the posterior predictive 80% interval), the prior and posterior predictive checks,
    the posterior, the rolling-origin validation (sibling holdout_* folders), plots, fit.md.
    `progress`: a bar on stderr for each batch of runs (minutes of work at the default scale)."""
    from sim.analysis.plots import plot_indicator
    from sim.experiments.posterior import load_posterior, prior_draws
    from sim.experiments.runs import run_replicates
    from sim.experiments.validation import predictive_samples, score_points
    from sim.inputs.scenario import load_scenario

    setup = load_setup()
    out = Path(out)
    post = load_posterior()
    uncertainty = "posterior" if post is not None else "seed"
    settings = _calibrated_record().get("settings") or {}
    scale = scale or float(settings.get("scale") or 0.1)
    replicates = replicates or (PREDICTIVE_REPLICATES if post is not None else 8)
    workers = workers or default_workers()
    with claim(out, True), staged_folder(out, "fit.md", kind="fit") as tmp:  # checked first
        base = _write_base(tmp, setup, 2030)
        sc = load_scenario(base)
        df = run_replicates(
            sc,
            replicates=replicates,
            seed=seed,
            scale=scale,
            workers=workers,
            uncertainty=uncertainty,
            progress=progress,
        )
        moments = observed_moments(setup)
        q = (
            df.groupby(["indicator", "year"])
            .value.quantile([0.1, 0.5, 0.9])
            .unstack()
            .rename(columns={0.1: "q10", 0.5: "median", 0.9: "q90"})
            .reset_index()
        )
        fit = moments.merge(q, on=["indicator", "year"], how="left")
        fit["error_pct"] = (fit["median"] / fit.observed - 1) * 100
        fit["inside_band"] = (fit.observed >= fit.q10) & (fit.observed <= fit.q90)
        samples = predictive_samples(df, moments, setup.observation_log_sd, seed)
        scored = score_points(samples, _usable_record(setup), moments, None)
        fit = fit.merge(
            scored[["indicator", "year", "model_lo", "model_hi", "covered", "model_crps"]].rename(
                columns={
                    "model_lo": "predictive_q10",
                    "model_hi": "predictive_q90",
                    "covered": "inside_predictive_80",
                    "model_crps": "crps_rel",
                }
            ),
            on=["indicator", "year"],
            how="left",
        )
        fit.to_csv(tmp / "fit.csv", index=False)
        prior_lines = []
        if post is not None:
            (tmp / "prior").mkdir()
            prior_runs = run_replicates(
                # named apart so that its progress bar says what runs (the name enters no result)
                load_scenario(_write_base(tmp / "prior", setup, setup.end_year)).model_copy(
                    update={"name": "prior_draws"}
                ),
                replicates=replicates,
                seed=seed,
                scale=scale,
                workers=workers,
                uncertainty=prior_draws(10_000, seed),
                progress=progress,
            )
            prior_lines = _predictive_check(
                prior_runs, samples, setup, moments, seed, tmp / "predictive_checks.csv"
            )
        plots = []
        for ind in fit.indicator.unique():
            plots.append(plot_indicator(df, ind, tmp / "plots" / f"{ind}.png").name)
        per = fit.groupby("indicator").apply(
            lambda g: pd.Series(
                {
                    "points": len(g),
                    "mean_abs_error_pct": float(np.mean(np.abs(g.error_pct))),
                    "inside_10_90": int(g.inside_band.sum()),
                    "inside_predictive_80": int(g.inside_predictive_80.sum()),
                }
            ),
            include_groups=False,
        )
        per.to_csv(tmp / "fit_by_indicator.csv")
        cal = calibrated_values()
        cover = float(fit.inside_predictive_80.mean())
        lines = [
            "# Fit of the historical scenario to the 2016-2020 record",
            "",
            f"Historical scenario, {replicates} replicates at scale {scale:g}, seed {seed}; "
            + (
                f"each replicate with its own draw of the posterior (`seeds/posterior.parquet`, "
                f"{len(post.weights)} draws, effective sample size {post.ess:.0f}; "
                f"{df.replicate.nunique()} replicates)."
                if post is not None
                else (
                    "calibrated point values from `seeds/calibrated.yaml` (no posterior: seed "
                    "noise only)."
                    if cal
                    else "priors (no `seeds/calibrated.yaml`)."
                )
            ),
            "",
            f"Weighted distance (mean squared log error of the median): "
            f"{distance(q.rename(columns={'median': 'value'}), moments):.4f}. "
            f"Coverage in sample: the {'posterior ' if post is not None else ''}predictive 80% "
            f"interval (the model's replicates"
            f"{', each with its posterior draw,' if post is not None else ' (seed noise only)'} "
            f"and the record's observation error, `observation_log_sd` "
            f"{setup.observation_log_sd:g} over the square root of the datum's confidence "
            f"weight) covers "
            f"{int(fit.inside_predictive_80.sum())} of {len(fit)} points ({100 * cover:.0f}%); "
            f"the model's 10-90% band alone covers {int(fit.inside_band.sum())}.",
            "",
            "| indicator | observed points | mean abs. error % | inside 10-90% band | inside predictive 80% |",
            "|---|---|---|---|---|",
        ]
        for ind, r in per.iterrows():
            lines.append(
                f"| {ind} | {int(r.points)} | {r.mean_abs_error_pct:.1f} | "
                f"{int(r.inside_10_90)}/{int(r.points)} | {int(r.inside_predictive_80)}/{int(r.points)} |"
            )
        lines += [
            "",
            "| indicator | year | observed | median [10-90%] | predictive 80% | error % |",
            "|---|---|---|---|---|---|",
        ]
        for r in fit.itertuples():
            lines.append(
                f"| {r.indicator} | {r.year} | {r.observed:,.4g} | {r.median:,.4g} "
                f"[{r.q10:,.4g}-{r.q90:,.4g}] | {r.predictive_q10:,.4g}-{r.predictive_q90:,.4g} "
                f"| {r.error_pct:+.1f} |"
            )
        if prior_lines:
            lines += ["", *prior_lines]
        if cal:
            lines += ["", *_parameter_table()]
        lines += ["", *_rolling_origin(out.parent, tmp)]
        lines += ["", *_implied_elasticity(scale, progress)]
        lines += ["", *_out_of_sample(df, tmp)]
        lines += ["", *[f"![{p}](plots/{p})" for p in plots]]
        (tmp / "fit.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out / "fit.md"


def _predictive_check(prior_runs, post_samples, setup, moments, seed, path) -> list[str]:
    """Prior and posterior predictive checks: per indicator, the 80% interval's coverage and
    mean relative width under the prior and the posterior (predictive_checks.csv)."""
    from sim.experiments.validation import predictive_samples, score_points

    prior_samples = predictive_samples(prior_runs, moments, setup.observation_log_sd, seed)
    rec = _usable_record(setup)
    rows = []
    for label, smp in (("prior", prior_samples), ("posterior", post_samples)):
        sc = score_points(smp, rec, moments, None)
        sc["width_rel"] = (sc.model_hi - sc.model_lo) / sc.observed
        sc["check"] = label
        rows.append(sc)
    both = pd.concat(rows, ignore_index=True)
    both.to_csv(path, index=False)
    agg = both.groupby(["indicator", "check"]).agg(
        points=("covered", "size"), covered=("covered", "sum"), width=("width_rel", "mean")
    )
    lines = [
        "## Prior and posterior predictive checks",
        "",
        "Each indicator's record points against the 80% predictive interval of the historical "
        "scenario run with parameters drawn from the prior (uniform on the bounds, the "
        "literature's truncated normal where `seeds/calibration.yaml` gives one) and from the "
        "posterior, the same seeds, observation error included (`predictive_checks.csv`). Width: "
        "the interval's mean width relative to the observed value.",
        "",
        "| indicator | prior: covered | prior: width | posterior: covered | posterior: width |",
        "|---|---|---|---|---|",
    ]
    for ind in sorted(both.indicator.unique()):
        pr, po = agg.loc[(ind, "prior")], agg.loc[(ind, "posterior")]
        lines.append(
            f"| {ind} | {int(pr.covered)}/{int(pr.points)} | {pr.width:.2f} | "
            f"{int(po.covered)}/{int(po.points)} | {po.width:.2f} |"
        )
    tot = both.groupby("check").covered.mean()
    lines += [
        "",
        f"In all: prior {100 * tot['prior']:.0f}% covered, posterior "
        f"{100 * tot['posterior']:.0f}% (nominal 80%).",
    ]
    return lines


def _rolling_origin(folder: Path, tmp: Path) -> list[str]:
    """Fit report section: the rolling-origin validation written by `innosim calibrate
    --holdout YEAR --out FOLDER` (FOLDER/holdout_YEAR/summary.csv), model vs naive forecasts."""
    found = sorted(folder.glob("holdout_*/summary.csv"))
    head = ["## Rolling-origin validation", ""]
    if not found:
        return head + [
            "No rolling-origin fit next to this report. `innosim calibrate --holdout 2019 --out "
            f"{folder}` fits 2016-2018 and scores 2019-2020; `--holdout 2020` fits 2016-2019 and "
            "scores 2020 (each against a straight-line trend, log-linear growth and the last "
            "value)."
        ]
    tabs = pd.concat([pd.read_csv(f) for f in found], ignore_index=True)
    tabs.to_csv(tmp / "validation.csv", index=False)
    lines = head + [
        "Each fit uses only the record before its origin; its posterior predictive (posterior "
        "draws, seeds and observation error) is scored on the record from the origin on against "
        "three naive forecasts built from the record of 2015 to the year before the origin. "
        "MAPE: mean absolute percentage error of the median; CRPS: mean continuous ranked "
        "probability score relative to the observed value (a point forecast's CRPS is its "
        "absolute error); coverage: share of points inside the 80% interval (`validation.csv`).",
        "",
        "| validation | forecast | points | MAPE % | CRPS (relative) | 80% coverage |",
        "|---|---|---|---|---|---|",
    ]
    for r in tabs.itertuples():
        cov = "" if pd.isna(r.coverage_80) else f"{100 * r.coverage_80:.0f}%"
        lines.append(
            f"| {r.validation} | {r.forecast} | {r.points} | {r.mape_pct:.1f} | "
            f"{r.crps_rel:.3f} | {cov} |"
        )
    return lines


def holdout_validation(
    search: Path, year: int, workers: int | None = None, progress: bool = False
) -> str:
    """Score a holdout fit (the posterior in `search`, fitted on the record before `year`):
    its posterior predictive from `year` on against the naive forecasts (scores.csv,
    summary.csv in `search`), and its in-sample coverage; returns the printed table."""
    from sim.experiments.posterior import read_posterior
    from sim.experiments.runs import run_replicates
    from sim.experiments.validation import predictive_samples, score_points, summary
    from sim.inputs.scenario import load_scenario

    setup = load_setup()
    rec = yaml.safe_load((search / "calibration.yaml").read_text(encoding="utf-8"))
    post = read_posterior(search / "posterior.parquet")
    s = rec["settings"]
    record = _usable_record(setup)
    last_record = int(record.year.max())
    with tempfile.TemporaryDirectory() as d:
        base = _write_base(Path(d), setup, max(setup.end_year, last_record))
        runs = run_replicates(
            load_scenario(base),
            replicates=PREDICTIVE_REPLICATES,
            seed=int(s["seed"]) + 2,
            scale=float(s["scale"]),
            workers=workers or default_workers(),
            uncertainty=post,
            progress=progress,
        )
    everything = observed_moments(setup, last_record)
    samples = predictive_samples(runs, everything, setup.observation_log_sd, int(s["seed"]))
    fitted = everything[everything.year < year]
    ahead = everything[everything.year >= year]
    out_scores = score_points(samples, record, ahead, year)
    in_scores = score_points(samples, record, fitted, None)
    out_scores.to_csv(search / "scores.csv", index=False)
    label = f"fit 2016-{year - 1}, score {year}-{last_record}"
    tab = pd.concat(
        [
            summary(out_scores, label),
            summary(in_scores, f"fit 2016-{year - 1}, in sample").iloc[:1],
        ],
        ignore_index=True,
    )
    tab.to_csv(search / "summary.csv", index=False)
    add_to_stamp(search, ["scores.csv", "summary.csv"], kind="calibration")
    lines = [f"holdout {year}: {label}"]
    for r in tab.itertuples():
        cov = "" if pd.isna(r.coverage_80) else f"  80% coverage {100 * r.coverage_80:.0f}%"
        lines.append(
            f"  {r.validation:34s} {r.forecast:11s} {r.points:3d} points  MAPE {r.mape_pct:6.1f}%"
            f"  CRPS {r.crps_rel:.3f}{cov}"
        )
    return "\n".join(lines)


def _implied_elasticity(scale: float, progress: bool = False) -> list[str]:
    """Fit report section: the output elasticity to R&D capital the calibrated model implies."""
    from sim.experiments.elasticity import implied_output_elasticity
    from sim.inputs.params import Params

    gamma = Params({}).rd_output_elasticity
    e = implied_output_elasticity(
        "baseline", seeds=(1, 2, 3, 4), scale=scale, boost=1.0, year=2020, progress=progress
    )
    se = e["sd_across_seeds"] / np.sqrt(len(e["seeds"]))
    return [
        "## Innovation and growth: the implied output elasticity to R&D capital",
        "",
        f"`rd_output_elasticity` (the sectors' elasticity to their R&D capital) is {gamma:.3g}. "
        "Implied by the whole model (paired seeds 1-4, baseline, every firm's preferred R&D "
        f"intensity doubled from 2016, scale {scale:g}, measured at the end of 2020: "
        "d ln revenue / d ln R&D capital of Beijing's technology firms): "
        f"**{e['elasticity']:.3f}** (s.e. {se:.3f}; per seed "
        + ", ".join(f"{x:.3f}" for x in e["per_seed"])
        + "). Published range (Hall, Mairesse and Mohnen 2010): about 0.05-0.2.",
    ]


def _out_of_sample(df: pd.DataFrame, folder: Path) -> list[str]:
    """Fit report section: the record after the calibration's last year, model vs trend."""
    last = int(
        (_calibrated_record().get("settings") or {}).get("last_year") or load_setup().end_year
    )
    med = df.groupby(["indicator", "year"], as_index=False).value.median()
    scores = against_trend(med, last + 1)
    scores.to_csv(folder / "out_of_sample.csv", index=False)
    head = [f"## Out of sample: the record after {last}", ""]
    if scores.empty:
        return head + [
            f"The record in `seeds/observed_indicators.csv` ends in {last}, the last year fitted. "
            f"Add later years (kind `observed`) and re-run `innosim calibrate --report-only`: "
            f"each is scored here against the median of this run and a straight line through "
            f"the record of 2015-{last} (`out_of_sample.csv`). `innosim calibrate --holdout "
            f"2020` does the same for 2020, fitting on 2016-2019 only."
        ]
    lines = head + [
        "| indicator | year | observed | model | trend | model abs. log error | trend |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in scores.itertuples():
        lines.append(
            f"| {r.indicator} | {r.year} | {r.observed:,.4g} | {r.model:,.4g} | {r.trend:,.4g} "
            f"| {r.model_abs_log_error:.3f} | {r.trend_abs_log_error:.3f} |"
        )
    lines += [
        "",
        f"Mean absolute log error: model {scores.model_abs_log_error.mean():.3f}, straight-line "
        f"trend {scores.trend_abs_log_error.mean():.3f}.",
    ]
    return lines


def identification_verdict(sd_ratio: float | None) -> str:
    """Whether the record identifies a parameter, from its posterior sd over its prior sd."""
    if sd_ratio is None:
        return ""
    if sd_ratio < IDENTIFIED_SD_RATIO:
        return "identified"
    if sd_ratio > UNIDENTIFIED_SD_RATIO:
        return "not identified"
    return "weakly"


def _posterior_table(raw: dict) -> list[str]:
    """Fit report: the posterior of each free parameter against its prior (ABC record)."""
    p, s = raw["posterior"], raw.get("settings") or {}
    lines = [
        "## The posterior",
        "",
        f"`seeds/posterior.parquet`: {p['draws']} weighted draws, effective sample size "
        f"{p['effective_sample_size']:.0f}, from {p['generations_run']} generations of "
        f"{s.get('population')} particles ({p['simulations']:,} particles simulated, "
        f"{s.get('replicates_per_particle')} seeds each, scale {s.get('scale')}, "
        f"{p['seconds'] / 60:.0f} min on {s.get('workers')} worker(s)), fitted to "
        f"{s.get('last_year')}; final temperature {p['final_temperature']:g}"
        + (
            " (the exact posterior of the observation model)."
            if p["exact"]
            else " (above 1: a tempered posterior, wider than the exact one)."
        )
        + f" Identified: posterior sd below {IDENTIFIED_SD_RATIO} of the prior sd; not "
        f"identified: above {UNIDENTIFIED_SD_RATIO}.",
        "",
        "| parameter | prior | bounds | posterior median [10-90%] | sd ratio | record |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in raw["parameters"].items():
        q = v["posterior"]
        prior = (raw.get("priors") or {}).get(name)
        shown = f"normal({prior['mean']:g}, {prior['sd']:g})" if prior else "uniform"
        lines.append(
            f"| `{name}` | {shown} | {v['bounds'][0]:.4g}-{v['bounds'][1]:.4g} | "
            f"{v['value']:.4g} [{q['q10']:.4g}-{q['q90']:.4g}] | {v['sd_ratio']} | "
            f"{identification_verdict(v['sd_ratio'])} |"
        )
    return lines


def _parameter_table() -> list[str]:
    """The calibrated parameters with their priors, bounds and identification (fit report)."""
    raw = _calibrated_record()
    if "posterior" in raw:
        return _posterior_table(raw)
    ident = (raw.get("identification") or {}).get("parameters", {})
    d = raw.get("distance") or {}
    s = raw.get("settings") or {}
    lines = [
        f"Calibrated parameters (`seeds/calibrated.yaml`, {raw.get('method', '')}; "
        f"{s.get('budget')} design points x {s.get('replicates')} seeds at scale {s.get('scale')}, "
        f"fitted to {s.get('last_year')}). Distance on fresh seeds: prior "
        f"{d.get('prior', float('nan')):.4f}, estimate {d.get('estimate_on_fresh_seeds', float('nan')):.4f}.",
        "",
    ]
    if ident:
        nb = raw["identification"]
        lines += [
            f"Near-best range: the parameter's range among the {nb['near_best_points']} best "
            f"design points (distance up to {nb['near_best_distance_max']:.4f}); nearly as wide "
            "as the bounds means the record does not identify the parameter. Rank correlation: "
            "of the parameter with the distance over all design points.",
            "",
        ]
    lines += [
        "| parameter | prior | estimate | bounds | near-best range | rank corr. |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in (raw.get("parameters") or {}).items():
        i = ident.get(name, {})
        rng = i.get("near_best_range")
        lines.append(
            f"| `{name}` | {v['prior']:.4g} | {v['value']:.4g} | "
            f"{v['bounds'][0]:.4g}-{v['bounds'][1]:.4g} | "
            + (f"{rng[0]:.4g}-{rng[1]:.4g}" if rng else "")
            + f" | {i.get('rank_correlation_with_distance', '')} |"
        )
    return lines


def check_setup() -> None:
    """Fail early with a clear message if seeds/calibration.yaml names unknown parameters."""
    from sim.inputs.params import definitions

    setup = load_setup()
    defs = definitions()
    for k, (lo, hi) in setup.free.items():
        if k not in defs:
            raise InputError(str(SEEDS / "calibration.yaml"), f"free.{k}", "unknown parameter")
        if not (defs[k].low <= lo < hi <= defs[k].high):
            raise InputError(
                str(SEEDS / "calibration.yaml"),
                f"free.{k}",
                f"bounds must lie inside [{defs[k].low:g}, {defs[k].high:g}]",
            )


def holdout_years() -> tuple[int, ...]:
    """Years a holdout can start at: 2019 (three years left to fit) to the record's last year."""
    last = int(_usable_record(load_setup()).year.max())
    return tuple(range(2019, last + 1))


def against_trend(sim_median: pd.DataFrame, first_year: int) -> pd.DataFrame:
    """Out-of-sample scores: every usable record point from `first_year` on, the model's median
    (indicator, year, value) and a straight line fitted to the record's 2015..first_year-1 points
    (indicators with at least two), each with its absolute log error. Empty when the record has
    nothing from `first_year` on (the record in seeds/ ends in 2020: add later years, kind
    observed, and they are scored here)."""
    from sim.experiments.validation import naive_forecast

    obs = _usable_record(load_setup())
    sim = sim_median.set_index(["indicator", "year"]).value
    rows = []
    for ind, g in obs.groupby("indicator"):
        past = g[(g.year >= 2015) & (g.year < first_year)]
        if len(past) < 2:
            continue
        for r in g[g.year >= first_year].itertuples():
            if (ind, r.year) not in sim.index:
                continue
            model, trend = float(sim[(ind, r.year)]), naive_forecast(past, r.year, "trend")
            rows.append(
                {
                    "indicator": ind,
                    "year": int(r.year),
                    "observed": float(r.value),
                    "model": model,
                    "trend": trend,
                    "model_abs_log_error": abs(np.log(max(model, 1e-9) / r.value)),
                    "trend_abs_log_error": abs(np.log(max(trend, 1e-9) / r.value)),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "indicator",
            "year",
            "observed",
            "model",
            "trend",
            "model_abs_log_error",
            "trend_abs_log_error",
        ],
    )


def holdout_score(record: dict, year: int, workers: int | None = None) -> str:
    """Out-of-sample check: the estimate fitted on the years before `year`, run on, scored on the
    record from `year` on against a straight line through the record's 2015..year-1 points."""
    setup = load_setup()
    s = record["settings"]
    est = {k: v["value"] for k, v in record["parameters"].items()}
    last_record = int(_usable_record(setup).year.max())
    with tempfile.TemporaryDirectory() as tmp:
        base = _write_base(Path(tmp), setup, max(setup.end_year, last_record))
        df = _run_candidates(
            base,
            [est],
            2 * s["replicates"],
            s["seed"] + 2,
            s["scale"],
            workers or default_workers(),
        )[0]
    med = df.groupby(["indicator", "year"], as_index=False).value.median()
    scores = against_trend(med, year)
    if scores.empty:
        return f"holdout {year}: no indicator with a record from {year} and two earlier points"
    lines = [f"holdout {year}: model (fitted on 2016-{year - 1}) vs straight-line trend"]
    for r in scores.itertuples():
        lines.append(
            f"  {r.indicator:28s} {r.year} observed {r.observed:>10.4g}  model {r.model:>10.4g} "
            f"({r.model_abs_log_error:.3f})  trend {r.trend:>10.4g} ({r.trend_abs_log_error:.3f})"
        )
    lines.append(
        f"  mean absolute log error: model {scores.model_abs_log_error.mean():.3f}, "
        f"trend {scores.trend_abs_log_error.mean():.3f}"
    )
    return "\n".join(lines)
