"""Plots: each indicator's trajectory across replicates (median, bands) against observed data and
targets. Figures are built with matplotlib's object API (`Figure`, no pyplot), so writing PNGs
needs no display and importing this module does not change a notebook's backend."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.analysis.targets import target_table
from sim.inputs import data
from sim.model.indicators import INDICATORS


def bands(indicators: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """Quantiles across replicates by year (q10, q25, median, q75, q90)."""
    sel = indicators[indicators.indicator == indicator]
    g = sel.groupby("year").value
    return pd.DataFrame(
        {
            "q10": g.quantile(0.10),
            "q25": g.quantile(0.25),
            "median": g.median(),
            "q75": g.quantile(0.75),
            "q90": g.quantile(0.90),
        }
    )


def draw_indicator(
    ax, indicators: pd.DataFrame, indicator: str, label: str | None = None, color="C0"
) -> None:
    """One scenario's fan on an axis (shared by single reports and comparisons)."""
    b = bands(indicators, indicator)
    ax.fill_between(b.index, b.q10, b.q90, color=color, alpha=0.18, lw=0)
    ax.fill_between(b.index, b.q25, b.q75, color=color, alpha=0.30, lw=0)
    ax.plot(
        b.index,
        b["median"],
        color=color,
        lw=2,
        label=label or "simulated median (bands: 25-75%, 10-90%)",
    )


def draw_context(ax, indicator: str, years: tuple[int, int]) -> None:
    """Observed points (hollow = low confidence) and targets (square = official, diamond = derived)."""
    obs = data.observations()
    obs = obs[(obs.indicator == indicator) & obs.year.between(2010, years[1])]
    if not obs.empty:
        solid = obs[obs.confidence != "low"]
        weak = obs[obs.confidence == "low"]
        ax.plot(solid.year, solid.value, "o", color="k", ms=5, label="observed")
        if not weak.empty:
            ax.plot(
                weak.year,
                weak.value,
                "o",
                mfc="none",
                color="k",
                ms=5,
                label="observed (low confidence)",
            )
    tt = target_table()
    tt = tt[(tt.indicator == indicator) & tt.target_year.between(*years)]
    for kind, marker, color in (("official", "s", "C3"), ("derived", "D", "C1")):
        t = tt[tt.kind == kind]
        if not t.empty:
            ax.plot(
                t.target_year,
                t.target,
                marker,
                color=color,
                ms=8,
                mfc="none",
                mew=2,
                label=f"target ({kind})",
            )


def plot_indicator(indicators: pd.DataFrame, indicator: str, path: Path) -> Path:
    """One indicator's fan chart against observed data and targets, saved as PNG."""
    unit, description = INDICATORS[indicator]
    years = (int(indicators.year.min()), int(indicators.year.max()))
    fig = Figure(figsize=(7, 4), dpi=120)
    ax = fig.subplots()
    draw_indicator(ax, indicators, indicator)
    draw_context(ax, indicator, years)
    ax.set_title(description, fontsize=10)
    ax.set_ylabel(unit.replace("_", " "))
    ax.set_xlabel("year")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def plot_key_indicators(indicators: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One PNG per indicator in out_dir/plots/, plus an overview of the indicators with targets."""
    out_dir = Path(out_dir)
    paths = [
        plot_indicator(indicators, ind, out_dir / "plots" / f"{ind}.png")
        for ind in INDICATORS
        if (indicators.indicator == ind).any()
    ]
    with_targets = [
        i for i in target_table().indicator.unique() if (indicators.indicator == i).any()
    ]
    if with_targets:
        years = (int(indicators.year.min()), int(indicators.year.max()))
        fig = Figure(figsize=(5 * len(with_targets), 3.6), dpi=110)
        axes = fig.subplots(1, len(with_targets), squeeze=False)
        for ax, ind in zip(axes[0], with_targets, strict=True):
            draw_indicator(ax, indicators, ind)
            draw_context(ax, ind, years)
            ax.set_title(INDICATORS[ind][1], fontsize=9)
            ax.set_ylabel(INDICATORS[ind][0].replace("_", " "))
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[0][0].legend(fontsize=6, loc="best")
        fig.tight_layout()
        path = out_dir / "plots" / "overview.png"
        fig.savefig(path)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------------------------
# several scenarios on one axis (`innosim compare`)
# ------------------------------------------------------------------------------------------------
# tab10 without orange (C1) and red (C3), which mark derived and official targets, then the light
# tab20 shades of the same hues: scenarios never share a colour with the targets or observed data.
_SCENARIO_COLORS = (
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
) + ("#aec7e8", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")


def scenario_colors(n: int) -> list[str]:
    """n colours, distinct for up to 16 scenarios (then repeated), none used for targets."""
    return [_SCENARIO_COLORS[i % len(_SCENARIO_COLORS)] for i in range(n)]


def comparison_figure(
    indicators: pd.DataFrame, indicator: str, scenarios: list[str] | None = None
) -> Figure:
    """Every scenario's median and 10-90% band on the same axis, with observed data and targets.

    Only the 10-90% band is drawn (no 25-75% band) so that overlapping scenarios stay legible;
    each band is outlined in its scenario's colour. The legend names every scenario.
    """
    if scenarios is None:
        scenarios = list(pd.unique(indicators.scenario))
    unit, description = INDICATORS.get(indicator, ("", indicator))
    sel = indicators[indicators.indicator == indicator]
    fig = Figure(figsize=(9, 4.2), dpi=120, layout="constrained")
    ax = fig.subplots()
    for name, color in zip(scenarios, scenario_colors(len(scenarios)), strict=True):
        b = bands(sel[sel.scenario == name], indicator)
        if b.empty:
            continue
        ax.fill_between(b.index, b.q10, b.q90, color=color, alpha=0.15, lw=0)
        ax.plot(b.index, b.q10, color=color, lw=0.6, alpha=0.7)
        ax.plot(b.index, b.q90, color=color, lw=0.6, alpha=0.7)
        ax.plot(b.index, b["median"], color=color, lw=2, label=str(name))
    if not sel.empty:
        draw_context(ax, indicator, (int(sel.year.min()), int(sel.year.max())))
    ax.set_title(description, fontsize=10)
    ax.set_ylabel(unit.replace("_", " "))
    ax.set_xlabel("year")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    # Outside the axes: with several scenarios a legend inside would hide bands or data.
    ax.legend(
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title="median, band 10-90%",
        title_fontsize=7,
    )
    return fig


def plot_comparison(
    indicators: pd.DataFrame, indicator: str, path: Path, scenarios: list[str] | None = None
) -> Path:
    """`comparison_figure` saved as PNG."""
    fig = comparison_figure(indicators, indicator, scenarios)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
