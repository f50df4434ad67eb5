"""Lever effects, generated (`innosim levers --effects`): each lever moved alone from its 2015
value to its plan value and to the ends of its range, every other lever at 2015, on paired seeds
against the baseline (replicate r has the same seed in every setting).

The effect of a setting on an indicator in a year is the mean over seeds of the paired relative
difference `setting / baseline - 1`, with a Student-t 95% interval over the seeds (with a
handful of seeds a t interval is honest where a bootstrap one is too narrow). A lever is *inert*
when no setting moves any key indicator beyond seed noise (an interval that excludes 0); its
*strongest* effect is the one whose interval lies farthest from 0 (the conservative end), so
that a noisy indicator with a wide interval does not win on its mean alone. This table replaces
the hand-written lever-strength section of the ODD.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.experiments.executors import RunFailure, Task, default_workers, run_local
from sim.experiments.runs import replicate_scenarios, replicate_seeds
from sim.inputs.errors import InputError, raise_if_signalled
from sim.inputs.levers import registry
from sim.inputs.scenario import Scenario, load_scenario

# The indicators the plan sets targets for or asks about, read in the milestone year 2020 and
# at the horizon.
KEY_INDICATORS = (
    "rd_intensity",
    "basic_research_share",
    "invention_patents_per_10k",
    "tech_contract_turnover",
    "tech_flow_to_tianjin_hebei",
    "zgc_total_revenue",
    "gdp",
    "high_end_talent",
    "firm_entries",
    "national_hte",
    "vc_amount",
    "tech_loans",
    "unicorns",
)
COLUMNS = [
    "lever",
    "setting",
    "value",
    "indicator",
    "year",
    "baseline",
    "effect_pct",
    "ci_low_pct",
    "ci_high_pct",
    "pairs",
    "extra_cost",  # mean paired extra public outlay, cumulated from the first year (100m yuan)
]


@dataclass(frozen=True)
class Setting:
    lever: str
    setting: str  # "plan", "low" or "high"
    value: float


def settings(levers: Iterable[str] | None = None) -> list[Setting]:
    """Each lever at its plan value and at the ends of its range (values equal to the 2015 value
    are skipped: they are the baseline)."""
    reg = registry()
    out = []
    for lid in levers or reg:
        lv = reg[lid]
        for name, value in (("plan", lv.plan), ("low", lv.low), ("high", lv.high)):
            if value != lv.default:
                out.append(Setting(lid, name, float(value)))
    return out


def measure(
    base: str | Scenario = "baseline",
    *,
    replicates: int = 4,
    seed: int = 2016,
    scale: float = 0.05,
    workers: int | None = None,
    levers: Iterable[str] | None = None,
    progress: bool = False,
    uncertainty: str | None = None,
) -> pd.DataFrame:
    """Paired effects of every setting (COLUMNS); point 0 is the base scenario itself.
    Replicate r has the same seed and (with posterior uncertainty) the same posterior draw in
    every setting, so each effect is paired on both. `workers` None: every usable core, at most
    one per run (`default_workers`)."""
    sc = load_scenario(base)
    reg = registry()
    for lid in levers or ():
        if lid not in reg:
            raise InputError(None, "--lever", f"unknown lever {lid!r}")
    todo = settings(levers)
    scenarios = [sc] + [sc.with_levers({s.lever: s.value}) for s in todo]
    seeds = replicate_seeds(seed, replicates)
    tasks = [
        Task("", point, r, s, scale, {}, model=per[r])
        for point, model in enumerate(scenarios)
        for per in [replicate_scenarios(model, seed, replicates, uncertainty or sc.uncertainty)]
        for r, s in enumerate(seeds)
    ]
    years = sorted(
        {y for y in (2020, sc.time.end_year) if sc.time.start_year <= y <= sc.time.end_year}
    )
    values: dict[tuple[int, int], pd.Series] = {}
    spent: dict[tuple[int, int], pd.Series] = {}  # cumulative fiscal cost by year
    bar = tqdm(total=len(tasks), desc="lever effects", unit="run", disable=not progress)
    try:
        for task, df in run_local(tasks, workers or default_workers(len(tasks))):
            if isinstance(df, RunFailure):
                raise InputError(None, None, f"a run failed: {df.error}")
            keep = df[df.indicator.isin(KEY_INDICATORS) & df.year.isin(years)]
            values[task.point, task.replicate] = keep.set_index(["indicator", "year"]).value
            cost = df[df.indicator == "fiscal_cost"].set_index("year").value.sort_index()
            spent[task.point, task.replicate] = cost.cumsum()
            bar.update()
            raise_if_signalled()
    finally:
        bar.close()
    rows, diffs = [], []
    for point, s in enumerate(todo, start=1):
        extra = {
            year: float(
                np.mean([spent[point, r][year] - spent[0, r][year] for r in range(replicates)])
            )
            for year in years
        }
        for ind in KEY_INDICATORS:
            for year in years:
                b = np.array([values[0, r][ind, year] for r in range(replicates)])
                x = np.array([values[point, r][ind, year] for r in range(replicates)])
                ok = b != 0
                d = x[ok] / b[ok] - 1.0
                diffs.append(d)
                rows.append(
                    [s.lever, s.setting, s.value, ind, year, float(b.mean()), d, ok.sum(),
                     extra[year]]
                )  # fmt: skip
    cis = [t_interval(d) for d in diffs]
    out = pd.DataFrame(
        [
            [
                lv,
                st,
                v,
                ind,
                y,
                base_mean,
                100 * d.mean() if d.size else np.nan,
                100 * lo,
                100 * hi,
                n,
                cost,
            ]
            for (lv, st, v, ind, y, base_mean, d, n, cost), (lo, hi) in zip(rows, cis, strict=True)
        ],
        columns=COLUMNS,
    )
    return out


def t_interval(d: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean of paired differences (NaN with fewer than two)."""
    from scipy.stats import t as student

    if d.size < 2:
        return (np.nan, np.nan)
    half = student.ppf(0.5 + level / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return (float(d.mean() - half), float(d.mean() + half))


def beyond_noise(df: pd.DataFrame) -> pd.Series:
    """Rows whose 95% interval excludes 0."""
    return (df.ci_low_pct > 0) | (df.ci_high_pct < 0)


def strongest(df: pd.DataFrame) -> pd.DataFrame:
    """Per lever, its largest effect beyond seed noise (or none: the lever is inert)."""
    rows = []
    for lid in dict.fromkeys(df.lever):
        sub = df[(df.lever == lid) & beyond_noise(df)]
        if sub.empty:
            rows.append([lid, "", np.nan, "", np.nan, np.nan, np.nan, np.nan, np.nan, True])
            continue
        sure = np.minimum(sub.ci_low_pct.abs(), sub.ci_high_pct.abs())  # the end nearest 0
        r = sub.loc[sure.idxmax()]
        rows.append(
            [lid, r.setting, r.value, r.indicator, r.year, r.effect_pct, r.ci_low_pct,
             r.ci_high_pct, r.extra_cost, False]
        )  # fmt: skip
    cols = ["lever", "setting", "value", "indicator", "year", "effect_pct", "ci_low_pct",
            "ci_high_pct", "extra_cost", "inert"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def markdown(df: pd.DataFrame, meta: dict) -> str:
    """The report: every lever's strongest effect, then the inert levers."""
    top = strongest(df)
    lines = ["# Lever effects", "", "| run | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in meta.items()]
    lines += [
        "",
        "Each lever alone at its plan value and at the ends of its range, every other lever at",
        "its 2015 value, against the baseline on paired seeds. Effect: mean of the per-seed",
        "relative differences, with a Student-t 95% interval over the seeds. Strongest: the",
        "effect whose interval lies farthest from 0. Extra cost: the setting's extra public",
        "outlay against the baseline, cumulated from the first year to the effect's year (100m",
        "yuan, mean over the seeds; sim.model.fiscal). Every effect is in `lever_effects.csv`.",
        "",
        "| lever | setting (value) | strongest effect | indicator, year | 95% interval | extra cost |",
        "|---|---|---|---|---|---|",
    ]
    for r in top.itertuples(index=False):
        if r.inert:
            lines.append(f"| `{r.lever}` | - | none beyond seed noise | - | - | - |")
        else:
            lines.append(
                f"| `{r.lever}` | {r.setting} ({r.value:g}) | {r.effect_pct:+.1f}% | "
                f"{r.indicator}, {int(r.year)} | [{r.ci_low_pct:+.1f}, {r.ci_high_pct:+.1f}] | "
                f"{r.extra_cost:,.0f} |"
            )
    inert = list(top.lever[top.inert])
    lines += ["", f"Inert levers ({len(inert)}): " + (", ".join(inert) if inert else "none") + "."]
    lines += [
        "",
        "Not in this table: effects of levers moved together (interactions: use a sweep).",
    ]
    return "\n".join(lines) + "\n"
