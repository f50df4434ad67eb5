"""Bayesian calibration of the free parameters by ABC-SMC (pyabc) against the 2016-2020 record.

Why pyabc: the model is a stochastic simulator without a likelihood. pyabc's ABC-SMC needs only
simulations, runs on a local process pool or on a Dask cluster (`DaskDistributedSampler`),
stores every generation in SQLite (an interrupted calibration resumes from its last generation),
and its stochastic acceptor with tempering gives the exact posterior under a stated observation
model once the temperature reaches 1 (Wilkinson 2013, "ABC gives exact results under the
assumption of model error"), not the posterior of an arbitrary tolerance. `sbi` would need
PyTorch and a neural density estimator trained on far more simulations than a 2-core hour
gives.

Observation model (`ObservationModel`): each usable record point i (indicator, year) is
    log y_i = mu_i(theta) + eta_i + e_i
with mu_i(theta) the model's expected log value, eta_i the world's own randomness (one draw of
the process the model's seeds stand for: variance s_i^2, the model's seed variance at the
prior's centre, measured on `PILOT_SEEDS` seeds before the fit, `seed_noise.csv`) and e_i the
datum's measurement error, N(0, sigma^2 / w_i) with sigma = `observation_log_sd` of
`seeds/calibration.yaml` and w_i the weight of its stated confidence (high 1, medium 0.5, low
0.25: a low-confidence datum is trusted half as closely as a high one). A particle is scored by
the mean of `replicates` seeds' log values, whose own error has variance s_i^2 / replicates, so
    log y_i - mean_r log x_ir(theta) ~ N(0, sigma^2 / w_i + s_i^2 (1 + 1/replicates)),
a Gaussian synthetic likelihood (Wood 2010) with the seed variance fixed: the model's noise is
in the posterior, not averaged away, and the likelihood of a particle does not hinge on one
lucky seed (an estimate that noisy collapses the importance weights; measured: effective sample
size 16 of 200 after three generations when one replicate's density was used).

Priors: uniform over the bounds of `seeds/calibration.yaml`, or a normal truncated to the bounds
where the file gives `prior: {mean, sd, source}` from the literature.

The posterior (the last generation's particles with their importance weights) goes to
`OUT/posterior.parquet`; `innosim calibrate --install` (`calibration.install_calibration`) copies
it to `seeds/posterior.parquet` and the weighted medians to `seeds/calibrated.yaml` (the point
values of `--uncertainty seed`).
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import signal
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.experiments.atomic import add_growing, add_to_stamp, claim
from sim.experiments.calibration import (
    Setup,
    _write_base,
    load_setup,
    observed_moments,
    prior_distribution,
    prior_specs,
)
from sim.experiments.executors import default_workers
from sim.inputs.errors import InputError, raise_if_signalled

DB = "smc/abc.db"  # pyabc's History: every generation, for resuming and inspection
PILOT_SEEDS = 12  # seeds of the pilot run measuring the model's seed variance
FLOOR_SHARE = 0.05  # a simulated zero (no unicorn at a small scale) counts as 5% of the record
MIN_SEED_SD = 0.005  # floor of a point's seed sd (log): a deterministic point is not exact


@dataclass
class ObservationModel:
    """log-density of the record given one particle's replicates (see the module docstring)."""

    observed_log: np.ndarray  # log y_i
    var: np.ndarray  # sigma^2 / w_i + s_i^2 (1 + 1/replicates)

    @property
    def pdf_max(self) -> float:
        """The log-density at a perfect fit (the replicates' mean equal to the record)."""
        return float(-0.5 * np.sum(np.log(2 * np.pi * self.var)))

    def __call__(self, x: dict, x_0: dict, t=None, par=None) -> float:
        sims = np.atleast_2d(np.asarray(x["log"], dtype=float))  # replicates x points
        d = sims.mean(axis=0) - self.observed_log
        return float(self.pdf_max - 0.5 * np.sum(d**2 / self.var))


@dataclass
class Simulator:
    """pyabc's model: a particle's parameters -> log simulated values at the record's points,
    one row per replicate. Seeds are a hash of the parameter values (a particle's runs are
    reproducible given the particle)."""

    base: object  # the validated calibration base scenario
    points: list[tuple[str, int]]  # (indicator, year) in the order of the record
    names: list[str]
    scale: float
    replicates: int
    floor: np.ndarray  # FLOOR_SHARE of each observed value: a zero is a large, finite miss
    parent: int = field(default_factory=os.getpid)  # the process that built it (innosim's)

    def __call__(self, par) -> dict:
        from sim.experiments.runs import replicate_seeds, run_one

        _quiet_signals_in_worker(self.parent)

        values = {k: float(par[k]) for k in self.names}
        key = np.array([values[k] for k in self.names], dtype=float).tobytes()
        sc = self.base.with_parameters(values)
        rows = []
        for seed in replicate_seeds(zlib.crc32(key), self.replicates):
            df = run_one(sc, seed, self.scale)
            s = df.set_index(["indicator", "year"]).value
            rows.append([s.get((i, y), np.nan) for i, y in self.points])
        return {"log": np.log(np.maximum(np.asarray(rows, dtype=float), self.floor))}


def _quiet_signals_in_worker(parent: int) -> None:
    """pyabc forks its local workers, which so inherit the command line's Ctrl-C and SIGTERM
    handlers: each printed a KeyboardInterrupt traceback under innosim's one line. A worker
    (any process but the one that built the simulator) takes the default action instead: it
    ends at once and quietly, and the command line reports the interrupt."""
    if os.getpid() != parent and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _pyabc():
    """pyabc, or an input error saying how to install it (an optional dependency)."""
    try:
        import pyabc
    except ImportError:
        raise InputError(
            None, "calibrate", "needs pyabc: pip install 'innosim[calibrate]' (or make test)"
        ) from None
    return pyabc


def priors(setup: Setup):
    """pyabc prior: uniform on the bounds, or a normal truncated to them (literature prior)."""
    pyabc = _pyabc()
    specs = prior_specs(setup).items()
    return pyabc.Distribution(**{n: pyabc.RV(d, *a, **k) for n, (d, a, k) in specs})


def observation_model(
    setup: Setup, moments: pd.DataFrame, seed_sd: np.ndarray, replicates: int
) -> ObservationModel:
    w = moments.weight.to_numpy(float)
    return ObservationModel(
        observed_log=np.log(moments.observed.to_numpy(float)),
        var=setup.observation_log_sd**2 / w + seed_sd**2 * (1.0 + 1.0 / replicates),
    )


def prior_centre(setup: Setup) -> dict[str, float]:
    """The literature prior's mean, else the middle of the bounds."""
    return {
        n: setup.priors[n][0] if n in setup.priors else 0.5 * (lo + hi)
        for n, (lo, hi) in setup.free.items()
    }


def seed_noise(sim: Simulator, centre: dict, seed: int, workers: int) -> np.ndarray:
    """Each point's seed sd of the log value at `centre`, over PILOT_SEEDS seeds."""
    from sim.experiments.runs import run_replicates

    df = run_replicates(
        sim.base.with_parameters(centre),
        replicates=PILOT_SEEDS,
        seed=seed + 7,
        scale=sim.scale,
        workers=workers,
        uncertainty="seed",
    )
    s = df.set_index(["indicator", "year"]).value
    out = []
    for (i, y), floor in zip(sim.points, sim.floor, strict=True):
        v = s.loc[(i, y)].to_numpy(float) if (i, y) in s.index else np.array([floor])
        out.append(max(float(np.std(np.log(np.maximum(v, floor)), ddof=1)), MIN_SEED_SD))
    return np.array(out, dtype=float)


def _unit_bandwidth(n: float, d: int) -> float:
    return 1.0


def transition():
    """The proposal: each particle of the last generation moved by a normal with twice the
    population's weighted covariance (Beaumont, Cornuet, Marin and Robert 2009, "Adaptive
    approximate Bayesian computation"). pyabc's default (Silverman's bandwidth, 0.44 times the
    covariance in 12 dimensions with 200 particles) is a mixture of narrow kernels whose density
    varies so much across the proposals that the importance weights collapsed (measured:
    effective sample size 1.8 of 200 in the second generation)."""
    pyabc = _pyabc()

    return pyabc.MultivariateNormalTransition(scaling=2.0, bandwidth_selector=_unit_bandwidth)


def _sampler(workers: int, scheduler: str | None):
    pyabc = _pyabc()

    if scheduler:
        from sim.experiments.sweep import connect

        return pyabc.sampler.DaskDistributedSampler(dask_client=connect(scheduler), batch_size=1)
    if workers <= 1:
        return pyabc.sampler.SingleCoreSampler()
    # innosim's processes start by spawning (mesa sets it): the sampler's closures are
    # cloudpickled (pickle=True) to reach them
    return pyabc.sampler.MulticoreEvalParallelSampler(
        n_procs=workers, pickle=True, check_max_eval=True
    )


def calibrate_abc(
    out: str | Path,
    *,
    population: int = 200,
    generations: int = 8,
    replicates: int = 1,
    scale: float = 0.05,
    workers: int | None = None,
    scheduler: str | None = None,
    seed: int = 2016,
    last_year: int | None = None,
    max_minutes: float | None = None,
    max_simulations: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> dict:
    """Run (or resume) ABC-SMC into `out`; returns the record (also out/calibration.yaml).

    Nothing outside `out` is written: `calibration.install_calibration(out)` makes the
    posterior the model's default. `last_year` fits the record up to that year only (the
    rolling-origin validation; such a fit is never installed). `max_minutes` and `max_simulations` are checked between generations
    (pyabc's stopping rules): no generation starts once either is passed, and one that has
    started runs to its end; the record says at which temperature the fit stopped (above 1 the
    posterior is tempered, wider than the exact one)."""
    with claim(out, True):
        return _calibrate_abc(
            Path(out),
            population=population,
            generations=generations,
            replicates=replicates,
            scale=scale,
            workers=workers or default_workers(),
            scheduler=scheduler,
            seed=seed,
            last_year=last_year,
            max_minutes=max_minutes,
            max_simulations=max_simulations,
            resume=resume,
            progress=progress,
        )


def _calibrate_abc(
    out: Path,
    *,
    population,
    generations,
    replicates,
    scale,
    workers,
    scheduler,
    seed,
    last_year,
    max_minutes,
    max_simulations,
    resume,
    progress,
) -> dict:
    from sim.experiments.fingerprint import fingerprint
    from sim.inputs.scenario import load_scenario

    pyabc = _pyabc()  # before anything is written
    logging.getLogger("ABC").setLevel(logging.INFO if progress else logging.WARNING)
    logging.getLogger("Sampler").setLevel(logging.WARNING)
    sampler = _sampler(workers, scheduler)  # a bad --scheduler is refused here
    setup = load_setup()
    last = setup.end_year if last_year is None else int(last_year)
    out.mkdir(parents=True, exist_ok=True)
    db = out / DB
    db.parent.mkdir(exist_ok=True)
    add_growing(out, "smc", kind="calibration")
    if db.exists() and not resume:
        db.unlink()  # a new calibration replaces the old one (the folder is innosim's)
    if resume and not db.exists():
        raise InputError(str(db), None, "nothing to resume: no earlier calibration here")
    base = _write_base(out, setup, last)
    add_to_stamp(out, [base.name], kind="calibration")
    moments = observed_moments(setup, last)
    moments = moments[moments.weight > 0].reset_index(drop=True)
    names = list(setup.free)
    sim = Simulator(
        load_scenario(str(base.resolve())),
        list(zip(moments.indicator, moments.year.astype(int), strict=True)),
        names,
        scale,
        replicates,
        FLOOR_SHARE * moments.observed.to_numpy(float),
    )
    noise_file = out / "seed_noise.csv"
    if resume and noise_file.exists():  # the resumed fit keeps its observation model
        seed_sd = pd.read_csv(noise_file).seed_sd.to_numpy(float)
    else:
        seed_sd = seed_noise(sim, prior_centre(setup), seed, workers if not scheduler else 1)
        moments.assign(seed_sd=seed_sd).to_csv(noise_file, index=False)
        add_to_stamp(out, [noise_file.name], kind="calibration")
    obs = observation_model(setup, moments, seed_sd, replicates)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (pyabc draws from numpy's global generator)
    kernel = pyabc.distance.FunctionKernel(obs, ret_scale="SCALE_LOG", pdf_max=obs.pdf_max)
    sampler.show_progress = progress  # a bar of the generation's accepted particles
    abc = pyabc.ABCSMC(
        sim,
        priors(setup),
        kernel,
        population_size=population,
        transitions=transition(),
        sampler=sampler,
        eps=pyabc.Temperature(),
        # the acceptance normalisation is lowered (up to 10x the acceptance) once the rate falls
        # below 10%, the excess density importance-weighted back, so the target stays exact
        acceptor=pyabc.StochasticAcceptor(
            pdf_norm_method=pyabc.ScaledPDFNorm(factor=10, alpha=0.5, min_acceptance_rate=0.1)
        ),
    )
    if resume:
        abc.load("sqlite:///" + str(db.resolve()), 1, {"log": obs.observed_log})
    else:
        abc.new("sqlite:///" + str(db.resolve()), {"log": obs.observed_log})
    t0 = time.perf_counter()
    kwargs = {"max_nr_populations": generations}
    if max_minutes:
        kwargs["max_walltime"] = _dt.timedelta(minutes=float(max_minutes))
    if max_simulations:
        kwargs["max_total_nr_simulations"] = int(max_simulations)
    history = abc.run(**kwargs)
    raise_if_signalled()
    seconds = time.perf_counter() - t0
    post = posterior_frame(history, names)
    gens = generations_frame(history, abc)
    record = _record(
        post,
        gens,
        setup,
        names,
        moments,
        locals_=dict(
            population=population,
            generations=generations,
            replicates=replicates,
            scale=scale,
            max_minutes=max_minutes,
            max_simulations=max_simulations,
            seed=seed,
            last_year=last,
            seconds=seconds,
            workers=scheduler or workers,
            fingerprint=fingerprint(),
            seed_sd=seed_sd,
        ),
    )
    post.to_parquet(out / "posterior.parquet", index=False)
    gens.to_csv(out / "generations.csv", index=False)
    (out / "calibration.yaml").write_text(yaml.safe_dump(record, sort_keys=False), "utf-8")
    add_to_stamp(
        out, ["posterior.parquet", "generations.csv", "calibration.yaml"], kind="calibration"
    )
    return record


def posterior_frame(history, names: list[str]) -> pd.DataFrame:
    """The last generation: draw, weight (summing to 1), one column per parameter."""
    df, w = history.get_distribution(m=0, t=history.max_t)
    df = df[names].reset_index(drop=True)
    w = np.asarray(w, dtype=float)
    df.insert(0, "weight", w / w.sum())
    df.insert(0, "draw", np.arange(len(df)))
    return df


def generations_frame(history, abc) -> pd.DataFrame:
    """One row per generation: temperature, particles, simulations, acceptance rate, ESS."""
    pops = history.get_all_populations()
    pops = pops[pops.t >= 0].reset_index(drop=True)
    ess = []
    for t in pops.t:
        _, w = history.get_distribution(m=0, t=int(t))
        w = np.asarray(w, dtype=float)
        ess.append(float(w.sum() ** 2 / np.sum(w**2)))
    return pd.DataFrame(
        {
            "generation": pops.t.astype(int),
            "temperature": pops.epsilon.astype(float),
            "simulations": pops.samples.astype(int),
            "particles": history.get_nr_particles_per_population().reindex(pops.t).to_numpy(int),
            "acceptance_rate": history.get_nr_particles_per_population()
            .reindex(pops.t)
            .to_numpy(float)
            / pops.samples.to_numpy(float),
            "ess": ess,
        }
    )


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return float(np.interp(q * cw[-1], cw - w[order] / 2, x[order]))


def _record(post, gens, setup, names, moments, locals_) -> dict:
    from sim.inputs.params import definitions

    w = post.weight.to_numpy(float)
    defs = definitions()
    params = {}
    for n in names:
        x = post[n].to_numpy(float)
        lo, hi = setup.free[n]
        q10, q50, q90 = (weighted_quantile(x, w, q) for q in (0.1, 0.5, 0.9))
        mean = float(w @ x)
        sd = float(np.sqrt(w @ (x - mean) ** 2))
        prior_sd = float(prior_distribution(setup, n).std())
        params[n] = {
            "value": round(q50, 6),  # the posterior median: the point value
            "prior": float(defs[n].prior if defs[n].prior is not None else defs[n].value),
            "bounds": [float(lo), float(hi)],
            "posterior": {
                "mean": round(mean, 6),
                "sd": round(sd, 6),
                "q10": round(q10, 6),
                "q90": round(q90, 6),
            },
            "prior_sd": round(float(prior_sd), 6),
            # posterior sd / prior sd: near 1, the record does not identify the parameter
            "sd_ratio": round(sd / prior_sd, 3) if prior_sd > 0 else None,
        }
    final_t = float(gens.temperature.iloc[-1])
    return _plain(
        {
            "calibrated": _dt.date.today().isoformat(),
            "method": "ABC-SMC (pyabc) with a stochastic acceptor and tempering: exact under the "
            "observation model at temperature 1 (sim.experiments.abc)",
            "settings": {
                "population": locals_["population"],
                "generations": locals_["generations"],
                "replicates_per_particle": locals_["replicates"],
                "scale": locals_["scale"],
                "seed": locals_["seed"],
                "last_year": locals_["last_year"],
                "holdout": None
                if locals_["last_year"] == setup.end_year
                else locals_["last_year"] + 1,
                "workers": str(locals_["workers"]),
                "max_minutes": locals_["max_minutes"],
                "max_simulations": locals_["max_simulations"],
                "model_fingerprint_before": locals_["fingerprint"],
            },
            "posterior": {
                "draws": int(len(post)),
                "effective_sample_size": round(float(1.0 / np.sum(w**2)), 1),
                "final_temperature": round(final_t, 4),
                "exact": bool(final_t <= 1.0 + 1e-9),
                "generations_run": int(len(gens)),
                "simulations": int(gens.simulations.sum()),
                "seconds": round(float(locals_["seconds"]), 1),
                "record_points": int(len(moments)),
                "seed_sd_median": round(float(np.median(locals_["seed_sd"])), 4),
            },
            "priors": {n: {"mean": mu, "sd": sd} for n, (mu, sd) in setup.priors.items()},
            "observation_log_sd": setup.observation_log_sd,
            "parameters": params,
        }
    )


def _plain(x):
    """numpy scalars to Python numbers, recursively (for yaml.safe_dump)."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def format_record(rec: dict) -> str:
    """What `innosim calibrate` prints: the posterior's size and each parameter's summary."""
    p = rec["posterior"]
    lines = [
        f"ABC-SMC: {p['generations_run']} generation(s), {p['simulations']:,} particles simulated "
        f"in {p['seconds']:.0f} s; final temperature {p['final_temperature']:g}"
        + (" (exact under the observation model)" if p["exact"] else " (above 1: tempered, wider)")
        + f"; {p['draws']} draws, effective sample size {p['effective_sample_size']:.0f}",
        f"  {'parameter':28s} {'prior':>8s}  posterior median [10-90%]      sd ratio",
    ]
    for name, e in rec["parameters"].items():
        q = e["posterior"]
        lines.append(
            f"  {name:28s} {e['prior']:>8.4g}  {e['value']:<8.4g} [{q['q10']:.4g}, {q['q90']:.4g}]"
            f"{'':6s} {e['sd_ratio']}"
        )
    return "\n".join(lines)
