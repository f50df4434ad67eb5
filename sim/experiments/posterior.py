"""The posterior of the free parameters, and which parameter set each replicate runs with.

`seeds/posterior.parquet` holds weighted draws of the free parameters of
`seeds/calibration.yaml` (columns `draw`, `weight`, one per parameter), written by
`innosim calibrate` (ABC-SMC, `sim.experiments.abc`). With `uncertainty="posterior"` (a
scenario's `uncertainty: posterior`, `--uncertainty posterior`) replicate r runs with posterior
draw d(r) and seed
s(r): both depend only on the root seed and r, so replicate r uses the same draw and the same
seed in every scenario and at every design point (common random numbers), and on any number of
workers. A parameter the scenario (or a sweep point) sets itself keeps its value: the draw fills
in only what the user left open. With `uncertainty="seed"` every replicate runs with the point
values of `seeds/calibrated.yaml` (the posterior's weighted medians), so bands show seed noise
only. Posterior is the default (`Scenario.uncertainty`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sim.inputs.errors import InputError
from sim.inputs.paths import SEEDS

POSTERIOR = SEEDS / "posterior.parquet"
UNCERTAINTY = ("posterior", "seed")
# A band or probability resting on fewer distinct posterior draws than this is flagged: with 20
# draws the 10% and 90% quantiles each rest on two draws beyond them.
MIN_DRAWS = 20
_DRAW_STREAM = 0x9D5  # spawn key of the draw stream, apart from the replicates' seed streams


@dataclass(frozen=True)
class Posterior:
    """Weighted draws of the free parameters (weights sum to 1)."""

    draws: pd.DataFrame  # one column per parameter
    weights: np.ndarray

    @property
    def names(self) -> list[str]:
        return list(self.draws.columns)

    @property
    def ess(self) -> float:
        """Kish's effective sample size of the weights."""
        return float(1.0 / np.sum(self.weights**2))

    def indices(self, seed: int, replicates: int) -> np.ndarray:
        """Draw index of replicates 0..n-1: weighted sampling with replacement from a stream of
        the root seed, one uniform per replicate, so the first n indices do not depend on how
        many replicates are asked for."""
        u = np.random.default_rng(np.random.SeedSequence([int(seed), _DRAW_STREAM])).random(
            replicates
        )
        cdf = np.cumsum(self.weights)
        return np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(cdf) - 1)

    def parameter_sets(self, seed: int, replicates: int) -> list[dict[str, float]]:
        rows = self.draws.to_numpy(float)[self.indices(seed, replicates)]
        return [dict(zip(self.names, map(float, row), strict=True)) for row in rows]


def read_posterior(path: str | Path) -> Posterior:
    """A posterior file (draw, weight, one column per parameter), checked."""
    path = Path(path)
    try:
        df = pd.read_parquet(path)
    except Exception as e:  # a damaged or foreign file: say which
        raise InputError(str(path), None, f"not a readable posterior table ({e})") from None
    for col in ("draw", "weight"):
        if col not in df.columns:
            raise InputError(str(path), col, "missing column")
    w = df["weight"].to_numpy(float)
    if len(df) == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise InputError(str(path), "weight", "non-negative weights with a positive sum")
    from sim.inputs.params import definitions

    defs = definitions()
    params = df.drop(columns=["draw", "weight"])
    for name in params.columns:
        if name not in defs:
            raise InputError(str(path), name, "unknown parameter")
        x = params[name].to_numpy(float)
        if not (np.all(x >= defs[name].low) and np.all(x <= defs[name].high)):
            raise InputError(
                str(path), name, f"values inside [{defs[name].low:g}, {defs[name].high:g}]"
            )
    return Posterior(params.reset_index(drop=True), w / w.sum())


@lru_cache(maxsize=1)
def load_posterior() -> Posterior | None:
    """The shipped posterior (`seeds/posterior.parquet`), None when there is none."""
    return read_posterior(POSTERIOR) if POSTERIOR.is_file() else None


def check_uncertainty(value: str) -> str:
    if value not in UNCERTAINTY:
        raise InputError(None, "--uncertainty", f"one of {', '.join(UNCERTAINTY)}")
    if value == "posterior" and load_posterior() is None:
        raise InputError(
            str(POSTERIOR),
            None,
            "no posterior: run `innosim calibrate` or use --uncertainty seed",
        )
    return value


def replicate_parameters(
    uncertainty: str | Posterior, seed: int, replicates: int, explicit=()
) -> list[dict[str, float]]:
    """Replicate r's parameter values from the posterior (empty dicts with `seed` uncertainty),
    leaving out the parameters in `explicit` (set by the scenario or the design point).
    `uncertainty` may also be a Posterior of its own (a holdout fit's, or prior draws)."""
    if isinstance(uncertainty, Posterior):
        post = uncertainty
    elif uncertainty == "seed":
        return [{} for _ in range(replicates)]
    else:
        post = load_posterior()
        if post is None:
            check_uncertainty(uncertainty)
    skip = set(explicit)
    return [
        {k: v for k, v in ps.items() if k not in skip}
        for ps in post.parameter_sets(seed, replicates)
    ]


def prior_draws(n: int, seed: int) -> Posterior:
    """n equally weighted draws from the calibration's prior (uniform on the bounds of
    `seeds/calibration.yaml`, a truncated normal where it gives a literature prior): the prior
    predictive check runs with them."""
    from sim.experiments.calibration import load_setup, prior_distribution

    setup = load_setup()
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _DRAW_STREAM, 1]))
    cols = {name: prior_distribution(setup, name).ppf(rng.random(n)) for name in setup.free}
    return Posterior(pd.DataFrame(cols), np.full(n, 1.0 / n))


def free_parameter_names() -> list[str]:
    """The parameters `parameters.csv` lists: the free parameters of the calibration."""
    from sim.experiments.calibration import load_setup

    return list(load_setup().free)


def draws_note(n_distinct: int, uncertainty: str) -> str:
    """One sentence for a report: how many draws stand behind each figure, and a warning when
    there are too few."""
    if uncertainty == "seed":
        return (
            "Uncertainty: seed noise only (`--uncertainty seed`): every replicate runs with the "
            "calibrated point values; parameter uncertainty is not in these bands."
        )
    post = load_posterior()
    ess = f" (effective sample size of the posterior {post.ess:.0f})" if post is not None else ""
    text = (
        f"Uncertainty: parameters and seed noise: each replicate runs with its own posterior draw"
        f"{ess}; {n_distinct} distinct draw(s) stand behind each band and probability."
    )
    if n_distinct < MIN_DRAWS:
        text += (
            f" **Too few draws**: below {MIN_DRAWS} the 10-90% bands and the probabilities are "
            "rough; run more replicates."
        )
    return text
