"""How the headline results move with `scale` (the share of Beijing's 2015 agents simulated), and
the smallest scale whose answers match full scale.

The page and the notebooks run small models so that they answer in seconds; this study says how
small is safe. For each scale it runs the baseline and the plan on the same seeds with seed
uncertainty only (the calibrated point values: posterior draws would widen every band and hide
a bias of scale) and reads the headline quantities: the levels the plan sets targets for, GDP
and the high-tech count, in 2020 and 2030, and the plan's effect (plan minus baseline, paired
by seed) on them in 2030. A scale *matches* full scale when, for every headline quantity, its
replicate mean lies inside full scale's 10-90% band of replicates, widened by the Monte Carlo
error of that mean (2 standard errors), so a scale is not failed for the few replicates it ran.

Run it with `python -m sim.experiments.scale --out docs/scale` (about 10 minutes on 2 cores);
`--rescore` recomputes the summary from a folder's per-replicate values; `docs/scale.md` reports
the result, and MATCHING_SCALE in sim/inputs/scenario.py holds it.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SCALES = (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
LEVELS = (
    "rd_intensity",
    "basic_research_share",
    "tech_contract_turnover",
    "invention_patents_per_10k",
    "national_hte",
    "gdp",
)
LEVEL_YEARS = (2020, 2030)
EFFECTS = ("rd_intensity", "basic_research_share", "tech_contract_turnover", "national_hte", "gdp")
EFFECT_YEAR = 2030


@dataclass(frozen=True)
class Study:
    """The settings of one scale study (all recorded beside its results)."""

    scales: tuple[float, ...] = SCALES
    replicates: int = 8
    seed: int = 2016
    workers: int = 2


def run_study(study: Study, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every scale's baseline and plan runs: (tidy headline values, seconds per run by scale)."""
    from sim.experiments.runs import run_replicates_detailed

    rows, timing = [], []
    for scale in study.scales:
        for name in ("baseline", "plan"):
            t0 = time.perf_counter()
            out = run_replicates_detailed(
                name,
                replicates=study.replicates,
                seed=study.seed,
                scale=scale,
                workers=study.workers,
                uncertainty="seed",
            )
            seconds = time.perf_counter() - t0
            timing.append(
                dict(scale=scale, scenario=name, seconds_per_run=seconds / study.replicates)
            )
            df = out.indicators
            df = df[df.indicator.isin(set(LEVELS) | set(EFFECTS))]
            rows.append(df.assign(scale=scale, scenario=name))
            if progress:
                print(f"scale {scale:g} {name}: {seconds:.0f} s", flush=True)
    return pd.concat(rows, ignore_index=True), pd.DataFrame(timing)


def headline(values: pd.DataFrame) -> pd.DataFrame:
    """Per scale, replicate and headline quantity: its value (levels of the plan, effects as
    plan minus baseline on the same seed)."""
    v = values.set_index(["scale", "scenario", "replicate", "year", "indicator"])["value"]
    out = []
    for ind in LEVELS:
        for year in LEVEL_YEARS:
            s = v.xs(("plan", year, ind), level=("scenario", "year", "indicator"))
            out.append(s.rename("value").reset_index().assign(quantity=f"{ind}@{year}"))
    for ind in EFFECTS:
        key = (EFFECT_YEAR, ind)
        plan = v.xs(("plan", *key), level=("scenario", "year", "indicator"))
        base = v.xs(("baseline", *key), level=("scenario", "year", "indicator"))
        d = (plan - base).rename("value").reset_index()
        out.append(d.assign(quantity=f"plan effect {ind}@{EFFECT_YEAR}"))
    return pd.concat(out, ignore_index=True)


def summary(h: pd.DataFrame) -> pd.DataFrame:
    """Per quantity and scale: mean, standard error, 10-90% band, and whether the mean lies in
    full scale's band widened by two standard errors of this scale's mean."""
    g = h.groupby(["quantity", "scale"])["value"]
    s = pd.DataFrame(
        dict(
            mean=g.mean(),
            se=g.std(ddof=1) / np.sqrt(g.count()),
            p10=g.quantile(0.1),
            p90=g.quantile(0.9),
        )
    ).reset_index()
    full = s[s.scale == s.scale.max()].set_index("quantity")
    ref = full.loc[s.quantity]
    lo = ref.p10.to_numpy() - 2 * s.se.to_numpy()
    hi = ref.p90.to_numpy() + 2 * s.se.to_numpy()
    s["full_mean"] = ref["mean"].to_numpy()
    s["bias_pct"] = 100 * (s["mean"] - s.full_mean) / s.full_mean.abs()
    s["matches"] = (s["mean"] >= lo) & (s["mean"] <= hi)
    return s


def matching_scale(s: pd.DataFrame) -> float:
    """The smallest scale whose means match full scale's on every headline quantity."""
    ok = s.groupby("scale")["matches"].all()
    return float(ok[ok].index.min())


def figure(s: pd.DataFrame, best: float):
    """Each headline quantity against scale: replicate mean with its 10-90% band, full scale's
    band shaded, the matching scale marked."""
    from matplotlib.figure import Figure

    qs = list(dict.fromkeys(s.quantity))
    ncol = 4
    nrow = -(-len(qs) // ncol)
    fig = Figure(figsize=(3.2 * ncol, 2.4 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    for ax, q in zip(axes, qs, strict=False):
        d = s[s.quantity == q].sort_values("scale")
        full = d.iloc[-1]
        ax.axhspan(full.p10, full.p90, color="0.85", label="full scale 10-90%")
        ax.fill_between(d.scale, d.p10, d.p90, alpha=0.3, color="C0", label="10-90% of replicates")
        ax.plot(d.scale, d["mean"], "o-", color="C0", ms=3, label="mean")
        bad = d[~d.matches]
        ax.plot(bad.scale, bad["mean"], "x", color="C3", ms=7, label="outside full scale's band")
        ax.axvline(best, color="C2", lw=1, ls="--")
        ax.set_xscale("log")
        ax.set_title(q, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(qs) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=6, loc="best")
    fig.suptitle(f"Headline results by scale (dashed: {best:g}, the smallest matching scale)")
    return fig


def write_outputs(h: pd.DataFrame, timing: pd.DataFrame, out: Path) -> float:
    """headline.csv, timing.csv, summary.csv and scale.png in `out`; returns the matching scale."""
    from sim.experiments.atomic import write_file

    s = summary(h)
    best = matching_scale(s)
    out.mkdir(parents=True, exist_ok=True)
    write_file(out / "headline.csv", lambda p: h.to_csv(p, index=False, float_format="%.6g"))
    write_file(out / "timing.csv", lambda p: timing.to_csv(p, index=False, float_format="%.4g"))
    write_file(out / "summary.csv", lambda p: s.to_csv(p, index=False, float_format="%.6g"))
    fig = figure(s, best)
    write_file(out / "scale.png", lambda p: fig.savefig(p, format="png", dpi=110))
    print(f"smallest scale matching full scale on every quantity: {best:g}")
    print(s.groupby("scale")["matches"].agg(matched="sum", quantities="count").to_string())
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("docs/scale"))
    ap.add_argument("--replicates", type=int, default=Study.replicates)
    ap.add_argument("--workers", type=int, default=Study.workers)
    ap.add_argument("--seed", type=int, default=Study.seed)
    ap.add_argument("--scales", type=float, nargs="+", default=list(SCALES))
    ap.add_argument(
        "--rescore",
        action="store_true",
        help="re-read OUT/headline.csv and OUT/timing.csv and rewrite the summary and the figure",
    )
    a = ap.parse_args(argv)
    if a.rescore:
        h = pd.read_csv(a.out / "headline.csv")
        timing = pd.read_csv(a.out / "timing.csv")
    else:
        study = Study(tuple(sorted(a.scales)), a.replicates, a.seed, a.workers)
        values, timing = run_study(study)
        h = headline(values)
    write_outputs(h, timing, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
