"""Report: a console summary and `report.md` tying the tables and plots of one run together."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.analysis.plots import plot_key_indicators
from sim.model.indicators import INDICATORS

KEY_YEARS = (2017, 2020, 2030)


def summary_table(
    indicators: pd.DataFrame, attainment: pd.DataFrame, years=KEY_YEARS
) -> pd.DataFrame:
    """Median (10-90% range) of each indicator in the key years, with the target and its
    attainment probability where one exists."""
    rows = []
    for ind in INDICATORS:
        sel = indicators[indicators.indicator == ind]
        if sel.empty:
            continue
        row = {"indicator": ind, "unit": INDICATORS[ind][0]}
        for y in years:
            v = sel[sel.year == y].value
            if v.empty:
                continue
            row[f"{y}"] = f"{_fmt(v.median())} [{_fmt(v.quantile(0.1))}-{_fmt(v.quantile(0.9))}]"
            t = attainment[(attainment.indicator == ind) & (attainment.target_year == y)]
            if not t.empty:
                t = t.iloc[0]
                tag = "" if t.kind == "official" else "*"
                row[f"{y} target"] = f"{_fmt(t.target)}{tag} p={t.probability:.2f}"
        rows.append(row)
    return pd.DataFrame(rows).fillna("")


def format_summary(table: pd.DataFrame) -> str:
    """Fixed-width text for the console."""
    text = table.to_string(index=False)
    return (
        text
        + "\n(median [10%-90%] across replicates; target * = derived; p = share of replicates meeting it)"
    )


def write_report(
    out_dir: Path,
    indicators: pd.DataFrame,
    attainment: pd.DataFrame,
    name: str,
    description: str,
    meta: dict,
    evaluations: pd.DataFrame | None = None,
    costs: pd.DataFrame | None = None,
    budget: pd.DataFrame | None = None,
    uncertainty_note: str | None = None,
) -> Path:
    """Write plots/ and report.md into out_dir; returns the report's path. `evaluations` (the
    checks of the scenario's evaluation rules) adds the section "Evaluation and adjustment",
    `costs` (costs.csv) the section "Fiscal cost", `budget` (budget.csv) "Budget cap"."""
    from sim.analysis.costs import budget_section, cost_section

    out_dir = Path(out_dir)
    plot_key_indicators(indicators, out_dir)
    lines = [f"# innosim report: {name}", "", description.strip(), "", "| run | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in meta.items()]
    lines += ["", "## Key indicators", "", _markdown(summary_table(indicators, attainment)), ""]
    if uncertainty_note:
        lines += [uncertainty_note, ""]
    lines += [
        "Median across replicates with the 10-90% range in brackets. Targets marked * are derived by the",
        "rules in `seeds/targets.yaml` (the 2016 plan states its 2017, 2020 and 2030 goals qualitatively).",
        "",
        "## Target attainment",
        "",
    ]
    if attainment.empty:
        lines.append("No target falls inside the simulated horizon.")
    else:
        att = attainment[
            ["indicator", "target_year", "target", "kind", "median", "probability", "source"]
        ].copy()
        att["target"] = att.target.map(_fmt)
        att["median"] = att["median"].map(_fmt)
        att["probability"] = att.probability.map(lambda p: f"{p:.2f}")
        lines.append(_markdown(att))
    if evaluations is not None:
        lines += ["", *evaluation_section(evaluations)]
    if costs is not None:
        lines += ["", *cost_section(costs, out_dir)]
    if budget is not None:
        lines += ["", *budget_section(budget)]
    lines += ["", "## Trajectories", "", "![overview](plots/overview.png)", ""]
    for ind in INDICATORS:
        if (out_dir / "plots" / f"{ind}.png").exists():
            lines += [f"### {ind}", "", f"![{ind}](plots/{ind}.png)", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def evaluation_section(evaluations: pd.DataFrame) -> list[str]:
    """Markdown lines: per rule and evaluation year, the share of replicates in which the rule
    was triggered, the median indicator value and the median lever value from the next year."""
    lines = ["## Evaluation and adjustment", ""]
    if evaluations.empty:
        return lines + ["No evaluation year falls inside the simulated horizon."]
    n = evaluations.replicate.nunique()
    g = evaluations.groupby(["rule", "label", "year"], sort=True)
    table = g.agg(
        value=("indicator_value", "median"),
        triggered=("triggered", "mean"),
        lever=("new_lever_value", "median"),
    ).reset_index()
    table = pd.DataFrame(
        {
            "rule": table.label,
            "year": table.year,
            "indicator (median)": table.value.map(_fmt),
            "triggered (share of replicates)": table.triggered.map(lambda x: f"{x:.2f}"),
            "lever from next year (median)": table.lever.map(_fmt),
        }
    )
    return lines + [
        f"Each rule is checked at the end of each evaluation year in each of the {n} replicate(s);",
        "a rule that misses its threshold adds its change to the lever from the next year on",
        "(`evaluations.csv` has every check).",
        "",
        _markdown(table),
    ]


def _fmt(x: float) -> str:
    x = float(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _markdown(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        out.append("| " + " | ".join(str(v).replace("|", "/") for v in row) + " |")
    return "\n".join(out)
