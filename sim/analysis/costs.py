"""Fiscal costs in the results: the cost section of a run's report (by lever and by pillar, annual
and cumulative, with a plot), the budget cap's section, and the cost-effectiveness table of a
comparison (paired effects per 100m yuan of extra public outlay).

Costs come from `costs.csv` (sim.experiments.runs.COST_COLUMNS: 100m yuan of public outlay per
year, nominal, at full scale; the rules in sim.model.fiscal).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.report import _fmt as fmt
from sim.analysis.report import _markdown as markdown
from sim.inputs.levers import registry
from sim.inputs.plan import pillar_of_lever, pillars

# Indicators of the headline a comparison prints (those of the plan's targets that carry money
# or output: the effect per 100m yuan is read on these first).
HEADLINE = ("gdp", "rd_intensity", "tech_contract_turnover")
CE_COLUMNS = [
    "scenario",
    "reference",
    "indicator",
    "unit",
    "year",
    "pairs",
    "paired",
    "effect",
    "ci_low",
    "ci_high",
    "extra_cost",
    "extra_cost_ci_low",
    "extra_cost_ci_high",
    "effect_per_100m_yuan",
]


def with_pillar(costs: pd.DataFrame) -> pd.DataFrame:
    out = costs.copy()
    out["pillar"] = out.lever.map(pillar_of_lever)
    return out


def cumulative(costs: pd.DataFrame, by: str = "lever") -> pd.DataFrame:
    """Cost summed over `by` groups and cumulated over years, per replicate: replicate, `by`,
    year, annual, cumulative."""
    g = costs.groupby(["replicate", by, "year"], sort=True).cost.sum().rename("annual")
    out = g.reset_index()
    out["cumulative"] = out.groupby(["replicate", by]).annual.cumsum()
    return out


def _median_table(costs: pd.DataFrame, by: str, years: list[int]) -> pd.DataFrame:
    c = cumulative(costs, by)
    last = int(c.year.max())
    med = c.groupby([by, "year"]).median(numeric_only=True)
    rows = []
    for key in dict.fromkeys(c[by]):
        row = {by: key}
        for y in years:
            row[f"{y}"] = fmt(med.loc[(key, y), "annual"])
        row[f"cumulative {int(c.year.min())}-{last}"] = fmt(med.loc[(key, last), "cumulative"])
        rows.append(row)
    return pd.DataFrame(rows)


def plot_costs(costs: pd.DataFrame, path: Path) -> Path:
    """Annual cost by pillar (median over replicates), stacked."""
    c = with_pillar(costs)
    c = c.groupby(["replicate", "pillar", "year"]).cost.sum().groupby(["pillar", "year"]).median()
    wide = c.unstack("pillar").fillna(0.0)
    order = [p for p in (*pillars(), "safeguards") if p in wide.columns]
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    ax.stackplot(wide.index, *(wide[p] for p in order), labels=order, alpha=0.85)
    ax.set_xlabel("year")
    ax.set_ylabel("100m yuan a year (nominal)")
    ax.set_title("Fiscal cost of the levers by pillar (median over replicates)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def cost_section(costs: pd.DataFrame, out_dir: Path) -> list[str]:
    """Markdown lines of the report's section "Fiscal cost" (and plots/costs.png)."""
    lines = ["## Fiscal cost", ""]
    if costs.empty:
        return lines + ["No simulated year."]
    years = sorted(costs.year.unique())
    shown = [y for y in (years[0], 2020, 2025, years[-1]) if y in years]
    shown = list(dict.fromkeys(shown))
    plot_costs(costs, Path(out_dir) / "plots" / "costs.png")
    c = with_pillar(costs)
    by_pillar = _median_table(c, "pillar", shown)
    reg = registry()
    paying = [lid for lid in reg if (costs[costs.lever == lid].cost.abs() > 0).any()]
    by_lever = _median_table(costs[costs.lever.isin(paying)], "lever", shown)
    by_lever.insert(1, "rule", [reg[lid].cost["rule"] for lid in by_lever.lever])
    free = [lid for lid in reg if lid not in paying]
    n = costs.replicate.nunique()
    lines += [
        "Public outlay of each lever, 100m yuan a year (nominal, full scale), median over the "
        f"{n} replicate(s); the cumulative column sums the years. Rules (`innosim levers "
        "--format json`, sim/model/fiscal.py): *measured* = an outlay the model books "
        "(budgets, grants, vouchers, fund capital, facilities, packages, tax forgone); "
        "*programme* = the lever's value times a unit cost that is a prior "
        "(seeds/parameters.yaml, group fiscal). Every replicate's figures are in `costs.csv`.",
        "",
        "![costs](plots/costs.png)",
        "",
        "By pillar (a lever counts under the pillar of its first plan task):",
        "",
        markdown(by_pillar),
        "",
        "By lever:",
        "",
        markdown(by_lever),
        "",
        "Levers that cost nothing (rules, not outlays; each says why in seeds/levers.yaml): "
        + ", ".join(f"`{x}`" for x in free)
        + ".",
    ]
    return lines


def budget_section(budget: pd.DataFrame) -> list[str]:
    """Markdown lines of the report's section "Budget cap" (runs whose scenario has a cap)."""
    lines = ["## Budget cap", ""]
    if budget.empty:
        return lines + ["No capped year falls inside the simulated horizon."]
    g = budget.groupby("year")
    table = pd.DataFrame(
        {
            "year": list(g.groups),
            "cap": g.cap.first().map(fmt).values,
            "projected at the scheduled values": g.projected_cost.median().map(fmt).values,
            "scale factor (median)": g.scale.median().map(lambda x: f"{x:.2f}").values,
            "booked (median)": g.booked_cost.median().map(fmt).values,
            "cap met (share)": g.met.mean().map(lambda x: f"{x:.2f}").values,
        }
    )
    binding = budget[budget.scale < 1]
    summary = (
        "The cap did not bind: every lever ran at its scheduled value."
        if binding.empty
        else f"The cap bound in {binding.year.nunique()} year(s): in those years every lever "
        "above its 2015 value whose rule costs money was moved toward its 2015 value by the "
        "scale factor."
    )
    return lines + [
        "At the start of each year the levers' cost is projected at their scheduled values; "
        "when it exceeds the cap, the levers that cost money and stand above their 2015 values "
        "are scaled toward them by one common factor until the projection fits. The booked "
        "cost can differ from the projection (it includes the year's responses, such as more "
        "demand for vouchers). A cap below the cost of the 2015 policies cannot be met (cap "
        "met < 1). Every replicate's figures are in `budget.csv`.",
        "",
        summary,
        "",
        markdown(table),
    ]


# ------------------------------------------------------------------------------------------------
# cost-effectiveness (innosim compare)
# ------------------------------------------------------------------------------------------------
def _interval(d: np.ndarray) -> tuple[float, float]:
    from sim.experiments.lever_effects import t_interval

    return t_interval(d)


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from scipy.stats import t as student

    if a.size < 2 or b.size < 2:
        return (np.nan, np.nan)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = np.sqrt(va + vb)
    if se == 0:
        return (float(b.mean() - a.mean()),) * 2
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = student.ppf(0.975, df) * se
    return (float(b.mean() - a.mean() - half), float(b.mean() - a.mean() + half))


def _difference(a: pd.Series, b: pd.Series, paired: bool):
    """Mean difference b - a, its 95% interval and the number of pairs (or of b's values)."""
    if paired:
        common = a.index.intersection(b.index)
        d = (b[common] - a[common]).to_numpy(dtype=float)
        lo, hi = _interval(d)
        return (float(d.mean()) if d.size else np.nan), lo, hi, int(d.size)
    x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    lo, hi = _welch(x, y)
    return float(y.mean() - x.mean()), lo, hi, int(min(x.size, y.size))


def is_paired(ind_a: pd.DataFrame, ind_b: pd.DataFrame) -> bool:
    """Replicate r of both runs used the same seed (common random numbers)."""
    sa = ind_a.groupby("replicate").seed.first()
    sb = ind_b.groupby("replicate").seed.first()
    common = sa.index.intersection(sb.index)
    return bool(len(common) >= 2 and (sa[common] == sb[common]).all())


def cost_effectiveness(
    reference: tuple[str, pd.DataFrame, pd.DataFrame],
    other: tuple[str, pd.DataFrame, pd.DataFrame],
    years: tuple[int, ...],
) -> pd.DataFrame:
    """One scenario against the reference (name, indicators, costs each): per indicator and
    year, the effect (other - reference, in the indicator's unit) with its 95% interval, the
    extra cumulative public outlay to that year, and the effect per 100m yuan of extra outlay
    (NaN where the extra outlay is not positive). Paired by replicate when both runs used the
    same seeds (Student-t), else a Welch interval."""
    from sim.model.indicators import INDICATORS

    (ref, ind_a, cost_a), (name, ind_b, cost_b) = reference, other
    paired = is_paired(ind_a, ind_b)
    cum_a = cumulative(cost_a.assign(all="all"), "all").set_index(["year", "replicate"]).cumulative
    cum_b = cumulative(cost_b.assign(all="all"), "all").set_index(["year", "replicate"]).cumulative
    va = ind_a.set_index(["indicator", "year", "replicate"]).value.sort_index()
    vb = ind_b.set_index(["indicator", "year", "replicate"]).value.sort_index()
    cum_a, cum_b = cum_a.sort_index(), cum_b.sort_index()
    rows = []
    for y in years:
        if y not in cum_a.index.get_level_values(0) or y not in cum_b.index.get_level_values(0):
            continue
        cost, c_lo, c_hi, _ = _difference(cum_a.loc[y], cum_b.loc[y], paired)
        for ind in INDICATORS:
            if (ind, y) not in va.index.droplevel(2) or (ind, y) not in vb.index.droplevel(2):
                continue
            eff, lo, hi, n = _difference(va.loc[(ind, y)], vb.loc[(ind, y)], paired)
            per = eff / cost if cost > 1e-9 else np.nan
            unit = INDICATORS[ind][0]
            rows.append([name, ref, ind, unit, y, n, paired, eff, lo, hi, cost, c_lo, c_hi, per])
    return pd.DataFrame(rows, columns=CE_COLUMNS)


def signed(x: float) -> str:
    """A number with its sign, at the report's precision."""
    if pd.isna(x):
        return "-"
    return ("+" if x >= 0 else "-") + fmt(abs(x))


def format_headline(ce: pd.DataFrame) -> str:
    """Console lines: per scenario, the extra outlay to the last year and the effect on the
    headline indicators per 100m yuan."""
    if ce.empty:
        return "No cost-effectiveness: no common year with costs (older result folders?)."
    out = []
    for name, g in ce.groupby("scenario", sort=False):
        y = int(g.year.max())
        last = g[g.year == y]
        first = last.iloc[0]
        tag = "paired seeds" if first.paired else "unpaired (seeds differ): Welch intervals"
        out.append(
            f"{name} vs {first.reference}, {y}: extra public outlay {fmt(first.extra_cost)} "
            f"[{fmt(first.extra_cost_ci_low)}, {fmt(first.extra_cost_ci_high)}] (100m yuan, "
            f"cumulative; {tag})"
        )
        for ind in HEADLINE:
            r = last[last.indicator == ind]
            if r.empty:
                continue
            r = r.iloc[0]
            per = "-" if pd.isna(r.effect_per_100m_yuan) else f"{r.effect_per_100m_yuan:.3g}"
            out.append(
                f"  {ind}: {signed(r.effect)} [{signed(r.ci_low)}, {signed(r.ci_high)}] "
                f"{r.unit}; per 100m yuan: {per}"
            )
    return "\n".join(out)
