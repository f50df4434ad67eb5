"""Interactive page: Mesa's SolaraViz over the innovation model (`innosim ui`, `solara run sim.app.ui`).

The user picks a scenario, moves the main levers, runs or steps the model and watches the key
indicators against the plan's targets and the flows of talent, capital and technology between
the regions. Mesa re-creates the model on Reset as `PageModel(**parameters)`, so the page's
parameters are `PageModel`'s keyword arguments:

- `scenario`: a scenario file of scenarios/ by name (plan, baseline, pillars, shocks ...);
- one slider per main lever: a slider moved away from the lever's 2015 value sets that lever for
  the whole run; a slider left at the 2015 value follows the scenario's schedule (so picking the
  plan gives the plan), unless `pin_levers` pins every slider lever to its slider;
- `scale` (share of Beijing's 2015 agents; by default 0.25, the smallest scale whose headline
  results match full scale, docs/scale.md; the status line says when it is set lower) and `seed`.

Every browser session has its own model: solara renders the `Page` component once per session
(its virtual kernel) and the model is made in that render, never on import. The run ends at the
scenario's horizon (Step and Play are disabled, the status says so), the tab is titled `TITLE`,
and each parameter slider shows its value beside its label.

Flows between regions are the markets' own yearly records by region pair (`TalentMarket.flow`,
`CapitalMarket.flow`, `TechnologyMarket.flow`); the page keeps each step's increment and shows
them summed over the last four quarters. Drawing uses matplotlib's object API only (no
pyplot); the map is drawn again when the model has stepped, the indicator chart when a year
has ended, not on every refresh of the page.
"""

from __future__ import annotations

import base64
import html
import io
import math
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import solara
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse, FancyArrowPatch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.analysis.plots import draw_context
from sim.analysis.targets import target_table
from sim.inputs.levers import registry
from sim.inputs.paths import SCENARIOS
from sim.inputs.scenario import MATCHING_SCALE, scale_warning
from sim.model.agents.region import (
    ABROAD,
    CORE,
    GREEN,
    HEBEI,
    INDUSTRY,
    N_REGIONS,
    REST_OF_CHINA,
    TIANJIN,
)
from sim.model.model import InnovationModel

# Solara checks the rules of hooks when Mesa's visualization module is imported, and Mesa's own
# ComponentsView trips the check (a warning on every start of the page).
warnings.filterwarnings("ignore", message=r".*ComponentsView: `use_state` found despite")
from mesa.visualization import Slider, SolaraViz, solara_viz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

DEFAULT_SCENARIO = "plan"
# The smallest scale whose headline results match full scale (docs/scale.md): about 24,000
# firms, built in ~0.5 s, a quarter stepped in ~65 ms (0.05: 5,000 firms, ~20 ms a quarter).
DEFAULT_SCALE = MATCHING_SCALE
DEFAULT_SEED = 2016
TITLE = "innosim — Beijing S&T innovation center plan"  # the tab's and the app bar's
# Step advances one quarter; Mesa's render-interval slider (odd values only) skips drawing.
RENDER_INTERVAL = 1


@dataclass(frozen=True)
class LeverSlider:
    """A main lever on the page: label and slider step (range and 2015 value: the registry)."""

    id: str
    label: str
    step: float


# One or two levers per pillar of the plan, chosen by their effect on the 2030 indicators (one at
# a time, each lever at its high end vs the baseline, scale 0.05, two seeds): public R&D growth
# (R&D intensity +113%, patents +49%), basic-research priority (basic share +117%), top-talent
# recruitment (high-end talent +40%), IP protection (patents +24%), international technology
# transfer and Jing-Jin-Ji transfer bases (technology contracts +10% each), technology-leap
# funding (patents +8%); guidance funds move little but are the capital pillar's lever and drive
# the capital flows on the map.
MAIN_LEVERS: tuple[LeverSlider, ...] = (
    LeverSlider("public_rd_growth", "Public R&D growth", 0.1),
    LeverSlider("basic_research_priority", "Basic-research share", 0.005),
    LeverSlider("top_talent_recruitment", "Top-talent recruitment", 0.1),
    LeverSlider("technology_leap_funding", "Tech-leap funding", 5.0),
    LeverSlider("jjj_transfer_bases", "JJJ transfer bases", 0.05),
    LeverSlider("international_technology_transfer", "Intl. tech transfer", 0.05),
    LeverSlider("ip_protection", "IP protection", 0.05),
    LeverSlider("guidance_fund_scale", "Guidance funds", 0.1),
)

# Key indicators on the chart: id -> (short title, unit shown).
KEY_INDICATORS: dict[str, tuple[str, str]] = {
    "rd_intensity": ("R&D intensity", "% of GDP"),
    "basic_research_share": ("Basic research", "% of R&D"),
    "invention_patents_per_10k": ("Invention patents", "per 10k residents"),
    "tech_contract_turnover": ("Technology contracts", "100m yuan"),
    "zgc_total_revenue": ("Tech-firm revenue (ZGC)", "trillion yuan"),
    "high_end_talent": ("High-end talent", "persons"),
}

# Flows between regions: kind -> (colour, unit); matrices are [from region, to region].
FLOW_KINDS: dict[str, tuple[str, str]] = {
    "talent": ("#1f77b4", "persons/yr"),
    "capital": ("#ff7f0e", "100m yuan/yr"),
    "technology": ("#2ca02c", "100m yuan/yr"),
}

# Schematic map positions (east, north), not to scale: Beijing's three zones around the core,
# Tianjin to the south-east, Hebei to the south-west, the rest of China south, abroad east.
REGION_POSITIONS: dict[int, tuple[float, float]] = {
    CORE: (0.0, 0.0),
    INDUSTRY: (1.55, 0.2),
    GREEN: (-0.85, 1.4),
    TIANJIN: (2.3, -1.75),
    HEBEI: (-1.9, -1.6),
    REST_OF_CHINA: (0.35, -3.1),
    ABROAD: (3.1, 2.05),
}
# Label text and offset from the node (dx, dy, horizontal alignment).
REGION_LABELS: dict[int, tuple[str, float, float, str]] = {
    CORE: ("core zone\n(Zhongguancun)", -0.2, -0.3, "right"),
    INDUSTRY: ("industry zone\n(Future Sci. City)", 0.05, -0.3, "center"),
    GREEN: ("green zone\n(Huairou)", 0.3, 0.2, "left"),
    TIANJIN: ("Tianjin", 0.0, -0.3, "center"),
    HEBEI: ("Hebei", 0.0, -0.3, "center"),
    REST_OF_CHINA: ("rest of China", 0.0, -0.3, "center"),
    ABROAD: ("abroad", 0.0, -0.3, "center"),
}


# ------------------------------------------------------------------------------------------------
# the model behind the page
# ------------------------------------------------------------------------------------------------
def scenario_names() -> list[str]:
    """Scenario files in scenarios/ by name: baseline, plan, historical, pillars, shocks, others."""
    names = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
    first = [n for n in ("baseline", "plan", "historical") if n in names]
    groups = [[n for n in names if n.startswith(prefix)] for prefix in ("pillar_", "shock_")]
    rest = [n for n in names if n not in first and not any(n in g for g in groups)]
    return first + groups[0] + groups[1] + rest


def _is_status_quo(lever_id: str, value: float) -> bool:
    """A slider value at the lever's 2015 value (browsers send it with rounding noise)."""
    lv = registry()[lever_id]
    return abs(float(value) - lv.default) <= 1e-6 * max(lv.high - lv.low, 1e-12)


def lever_overrides(sliders: Mapping[str, float], pin_levers: bool = False) -> dict[str, float]:
    """The lever values that override the scenario for the whole run: the sliders moved away from
    the 2015 value, or all of them when pinned (a slider at 2015 follows the scenario)."""
    reg = registry()
    unknown = sorted(set(sliders) - set(reg))
    if unknown:
        raise TypeError(f"unknown keyword argument(s) (not a lever id): {unknown}")
    return {
        lid: float(v)
        for lid, v in sliders.items()
        if pin_levers or not _is_status_quo(lid, float(v))
    }


def _parse_seed(seed: int | str) -> int:
    try:
        value = int(str(seed).strip())
    except ValueError:
        raise ValueError(f"seed must be a whole number, got {seed!r}") from None
    if not 0 <= value < 2**63:
        raise ValueError(f"seed must be in [0, 2^63), got {value}")
    return value


class PageModel(InnovationModel):
    """InnovationModel as the page creates it: a scenario by name, slider levers, flow records.

    Mesa calls `PageModel(**parameters)` on Reset, so this signature is the page's parameter list
    (`**kwargs`, so named, lets Mesa's parameter check accept the lever sliders).
    """

    def __init__(
        self,
        scenario: str = DEFAULT_SCENARIO,
        scale: float = DEFAULT_SCALE,
        seed: int | str = DEFAULT_SEED,
        pin_levers: bool = False,
        **kwargs: float,
    ):
        name = str(scenario)
        if name not in scenario_names():
            raise ValueError(f"unknown scenario {name!r}; one of {scenario_names()}")
        overrides = lever_overrides(kwargs, pin_levers)
        super().__init__(
            scenario=SCENARIOS / f"{name}.yaml",
            scale=float(scale),
            rng=_parse_seed(seed),
            **overrides,
        )
        self.scenario_name = name
        self.overridden = overrides
        # Each of the last four steps' flows [kind, from, to] (full-scale equivalents).
        self.flow_window: deque[np.ndarray] = deque(maxlen=self.steps_per_year)

    def step(self) -> None:
        """One quarter, and its flows; past the horizon nothing, not even Mesa's step count.

        Mesa's Play and Step run a render interval's batch of steps without checking `running`
        in between, so a batch that crosses the horizon would count steps that never happen
        (Step: 63 of 60, status in 2031).
        """
        active = self.running and self.steps - 1 < self.horizon  # Mesa counted this step already
        if not active:
            self.steps -= 1
            self.running = False
            return
        starts_year = (self.steps - 1) % self.steps_per_year == 0  # the markets reset their year
        before = 0.0 if starts_year else market_flows(self)
        super().step()
        self.flow_window.append(market_flows(self) - before)


def market_flows(m: InnovationModel) -> np.ndarray:
    """The markets' flows between regions so far this year, [kind, from, to] at full scale:
    talent moved (`TalentMarket.flow`, both kinds), money invested and lent
    (`CapitalMarket.flow`), technology sold (`TechnologyMarket.flow`)."""
    return np.stack(
        [
            m.talent_market.flow.sum(axis=0) / m.scale,
            m.capital_market.flow / m.scale_firms,
            m.technology_market.flow / m.scale_firms,
        ]
    )


def flow_matrices(model: PageModel) -> dict[str, np.ndarray]:
    """Flows between regions over the last four quarters, per year and at full scale:
    kind -> [from region, to region] (talent in persons, capital and technology in 100m yuan).
    Fewer than four quarters so far are annualised."""
    window = list(model.flow_window)
    if not window:
        total = np.zeros((len(FLOW_KINDS), N_REGIONS, N_REGIONS))
    else:
        total = np.sum(window, axis=0) * model.steps_per_year / len(window)
    return {kind: total[i] for i, kind in enumerate(FLOW_KINDS)}


def model_params() -> dict[str, Any]:
    """SolaraViz parameters: scenario, the main levers' sliders (2015 value), scale, seed."""
    reg = registry()
    params: dict[str, Any] = {
        "scenario": {
            "type": "Select",
            "value": DEFAULT_SCENARIO,
            "values": scenario_names(),
            "label": "Scenario",
        },
    }
    for s in MAIN_LEVERS:
        lv = reg[s.id]
        params[s.id] = Slider(
            f"{s.label} (2015: {lv.default:g})",
            value=lv.default,
            min=lv.low,
            max=lv.high,
            step=s.step,
            dtype=float,
        )
    params["pin_levers"] = {
        "type": "Checkbox",
        "value": False,
        "label": "Pin every lever to its slider (also at the 2015 value)",
    }
    params["scale"] = Slider(
        "Scale (share of 2015 agents)", value=DEFAULT_SCALE, min=0.01, max=1.0, step=0.01
    )
    params["seed"] = {"type": "InputText", "value": str(DEFAULT_SEED), "label": "Seed"}
    return params


# ------------------------------------------------------------------------------------------------
# drawing (pure functions of the model, testable without a browser)
# ------------------------------------------------------------------------------------------------
def _compact(x: float, _pos: Any = None) -> str:
    """Short tick and flow labels: 950, 9.5k, 12k, 0.42."""
    ax = abs(x)
    if ax >= 1e4:
        return f"{x / 1e3:.0f}k"
    if ax >= 1e3:
        return f"{x / 1e3:.1f}k"
    if ax >= 100 or x == 0:
        return f"{x:.0f}"
    return f"{x:.2g}"


def current_period(model: InnovationModel) -> tuple[int, int]:
    """(year, quarter) of the last completed step; (start year, 0) before the first."""
    if model.steps == 0:
        return model.start_year, 0
    s = model.steps - 1
    return model.start_year + s // model.steps_per_year, s % model.steps_per_year + 1


def _period_label(model: InnovationModel) -> str:
    year, sub = current_period(model)
    if sub == 0:
        return f"start of {year}"
    if model.steps_per_year == 4:
        return f"{year} Q{sub}"
    return f"{year} step {sub}/{model.steps_per_year}"


def indicator_figure(model: InnovationModel) -> Figure:
    """Key indicators so far (yearly) against the record and the plan's targets."""
    fig = Figure(figsize=(6.2, 5.4), dpi=90)
    axes = fig.subplots(3, 2).ravel()
    years = (model.start_year - 1, model.end_year)
    done = sorted(model.annual)
    for ax, (ind, (title, unit)) in zip(axes, KEY_INDICATORS.items(), strict=True):
        draw_context(ax, ind, years)
        if done:
            ax.plot(
                done,
                [model.annual[y][ind] for y in done],
                "-o",
                color="C0",
                lw=1.8,
                ms=3,
                label="simulated",
            )
        ax.set_title(f"{title} ({unit})", fontsize=9, loc="left")
        ax.set_xlim(years[0] - 0.5, years[1] + 0.5)
        ax.margins(y=0.15)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.yaxis.set_major_formatter(FuncFormatter(_compact))
        ax.tick_params(labelsize=7.5)
        ax.grid(alpha=0.3)
    handles = [
        Line2D([], [], color="C0", marker="o", ms=3, lw=1.8, label="simulated"),
        Line2D([], [], color="k", marker="o", ls="", ms=4, label="observed"),
        Line2D([], [], color="C3", marker="s", ls="", mfc="none", mew=1.5, label="target"),
        Line2D([], [], color="C1", marker="D", ls="", mfc="none", mew=1.5, label="derived target"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    name = getattr(model, "scenario_name", model.scenario.name)
    until = f"simulated to {done[-1]}" if done else "no simulated year yet"
    fig.suptitle(f"Key indicators, scenario {name}: {until}", fontsize=10)
    # A fixed layout: tight_layout would cost more than drawing the figure.
    fig.subplots_adjust(left=0.08, right=0.985, top=0.89, bottom=0.1, hspace=0.55, wspace=0.22)
    return fig


def _arc_point(p: np.ndarray, q: np.ndarray, rad: float, t: float) -> np.ndarray:
    """Point at t in [0, 1] on matplotlib's arc3 connection from p to q (a quadratic Bezier
    whose control point lies rad x |q - p| off the midpoint)."""
    d = q - p
    c = (p + q) / 2 + rad * np.array([d[1], -d[0]])
    return (1 - t) ** 2 * p + 2 * (1 - t) * t * c + t**2 * q


def network_figure(model: PageModel, max_edges: int = 10, min_share: float = 0.03) -> Figure:
    """Map-like view of the regions with the last year's flows of talent, capital and technology
    (one colour each); arrow width grows with the square root of the flow, per kind."""
    flows = flow_matrices(model)
    fig = Figure(figsize=(4.7, 6.0), dpi=90)
    ax = fig.add_axes((0.01, 0.13, 0.98, 0.78))
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(
        Ellipse((0.3, 0.55), 4.0, 2.95, facecolor="#eef3fb", edgecolor="#9db3d6", lw=1, zorder=0)
    )
    ax.text(-1.75, 1.9, "Beijing", fontsize=8, color="#5a76a8", style="italic")
    pos = {r: np.array(xy) for r, xy in REGION_POSITIONS.items()}
    rads = {"talent": 0.12, "capital": 0.26, "technology": 0.4}
    label_at = {"talent": 0.4, "capital": 0.55, "technology": 0.7}  # labels apart on shared arcs
    summary = []
    for kind, (color, unit) in FLOW_KINDS.items():
        f = flows[kind].copy()
        np.fill_diagonal(f, 0.0)
        top = f.max()
        summary.append((kind, color, unit, f.sum()))
        if top <= 0:
            continue
        pairs = sorted(
            ((f[i, j], i, j) for i in range(N_REGIONS) for j in range(N_REGIONS) if i != j),
            reverse=True,
        )
        shown = [(v, i, j) for v, i, j in pairs[:max_edges] if v >= min_share * top]
        for rank, (v, i, j) in enumerate(shown):
            w = math.sqrt(v / top)
            ax.add_patch(
                FancyArrowPatch(
                    pos[i],
                    pos[j],
                    connectionstyle=f"arc3,rad={rads[kind]}",
                    arrowstyle="-|>",
                    mutation_scale=7 + 7 * w,
                    lw=0.6 + 4.4 * w,
                    color=color,
                    alpha=0.75,
                    shrinkA=12,
                    shrinkB=12,
                    zorder=2,
                )
            )
            if rank < 2:  # the two largest flows of each kind carry their value
                ax.text(
                    *_arc_point(pos[i], pos[j], rads[kind], label_at[kind]),
                    _compact(v),
                    fontsize=6.5,
                    color=color,
                    ha="center",
                    va="center",
                    zorder=4,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
                )
    for r, (x, y) in REGION_POSITIONS.items():
        beijing = r in (CORE, INDUSTRY, GREEN)
        ax.scatter(
            [x],
            [y],
            s=230 if beijing else 170,
            color="#34495e" if beijing else "#7f8c8d",
            edgecolor="white",
            lw=1.5,
            zorder=3,
        )
        text, dx, dy, ha = REGION_LABELS[r]
        ax.text(x + dx, y + dy, text, fontsize=7, ha=ha, va="top", zorder=5)
    ax.set_xlim(-2.45, 3.6)
    ax.set_ylim(-3.75, 2.4)
    title = (
        f"Flows between regions, four quarters to {_period_label(model)}"
        if model.flow_window
        else "Flows between regions (none yet: Step or Play)"
    )
    fig.text(0.5, 0.985, title, fontsize=9.5, ha="center", va="top")
    fig.text(
        0.5,
        0.95,
        "arrow width ~ sqrt(flow), per kind; flows within a region not drawn",
        fontsize=7,
        ha="center",
        va="top",
        color="#555",
    )
    handles = [
        Line2D([], [], color=color, lw=2.5, label=f"{kind}: {_compact(total)} {unit}")
        for kind, color, unit, total in summary
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        fontsize=7,
        frameon=False,
        title="between regions (capital: VC rounds and bank loans)",
        title_fontsize=6.5,
    )
    return fig


def _fmt(x: float) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def attainment_so_far(model: InnovationModel) -> list[dict[str, Any]]:
    """Targets whose year the run has completed: indicator, year, value, target, kind, met."""
    out = []
    for row in target_table().itertuples():
        if row.target_year not in model.annual:
            continue
        value = float(model.annual[row.target_year][row.indicator])
        met = value >= row.target if row.direction == "higher" else value <= row.target
        out.append(
            {
                "indicator": row.indicator,
                "year": int(row.target_year),
                "value": value,
                "target": float(row.target),
                "kind": row.kind,
                "met": bool(met),
            }
        )
    return out


def status_html(model: PageModel) -> str:
    """The panel beside the charts: period and run, the levers the sliders set, the levers' values
    now, and the targets met or missed so far (plain HTML: solara's Markdown needs a CDN)."""
    e = html.escape
    firms = int(model.firms.alive[: model.firms.size].sum())
    head = (
        f"<b>{e(_period_label(model))}</b> &middot; scenario <b>{e(model.scenario_name)}</b> "
        f"&middot; scale {model.scale:g} &middot; seed {model.seed} &middot; {firms:,} firms"
    )
    if warning := scale_warning(model.scale):
        head += f"<br><span class='innosim-scale-warning'>Note: {e(warning)}.</span>"
    labels = {s.id: s.label for s in MAIN_LEVERS}
    if model.overridden:
        fixed = ", ".join(
            f"{e(labels.get(k, k))} <b>{v:g}</b>" for k, v in model.overridden.items()
        )
        sliders = f"Set by the sliders for the whole run: {fixed}."
    else:
        sliders = "No slider away from its 2015 value: every lever follows the scenario."
    year = current_period(model)[0]
    lev = model.levers.at(year)  # (before the first step the model still holds 2015's)
    now = ", ".join(f"{e(s.label)} {lev[s.id]:g}" for s in MAIN_LEVERS)
    if not model.running:
        head += (
            f"<br><b class='innosim-done'>Run complete: the horizon, the end of {model.end_year}, "
            "is reached.</b> Reset starts a new run."
        )
    left = (
        f"<p>{head}</p><p>{sliders} <i>(A new scenario or slider value applies on Reset.)</i></p>"
        f"<p>Levers in {year}: {now}.</p>"
    )
    done = sorted(model.annual)
    if done:
        last = model.annual[done[-1]]
        latest = ", ".join(
            f"{e(title)} {_fmt(last[ind])}" for ind, (title, _u) in KEY_INDICATORS.items()
        )
        left += f"<p>{done[-1]}: {latest}.</p>"
    rows = attainment_so_far(model)
    if rows:
        n_met = sum(r["met"] for r in rows)
        body = "".join(
            f"<tr><td>{e(KEY_INDICATORS.get(r['indicator'], (r['indicator'],))[0])}</td>"
            f"<td>{r['year']}</td><td>{_fmt(r['value'])}</td>"
            f"<td>{_fmt(r['target'])} ({e(r['kind'])})</td>"
            f"<td style='color:{'#2e7d32' if r['met'] else '#c62828'}'>"
            f"{'met' if r['met'] else 'missed'}</td></tr>"
            for r in rows
        )
        right = (
            f"<p>Targets so far: <b>{n_met} of {len(rows)} met</b></p>"
            "<style>.innosim-attainment td, .innosim-attainment th {padding: 1px 8px}</style>"
            "<table class='innosim-attainment' style='border-collapse:collapse'>"
            "<tr><th align='left'>indicator</th><th>year</th><th>simulated</th>"
            f"<th>target</th><th></th></tr>{body}</table>"
        )
    else:
        years = sorted(int(y) for y in target_table().target_year.unique())
        right = (
            "<p>Targets so far: none due yet (target years "
            + ", ".join(map(str, years))
            + "; checked at each year's end).</p>"
        )
    return (
        "<div style='display:flex;gap:24px;flex-wrap:wrap;font-size:13px;line-height:1.45'>"
        f"<div style='flex:3 1 380px'>{left}</div><div style='flex:2 1 300px'>{right}</div>"
        "</div>"
    )


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of a figure (what the page shows; also handy in tests)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------------
def _image(draw: Callable[[Any], Figure], model: Any, key: int, css_class: str, alt: str) -> None:
    # Draw again only when `key` changed or the model was re-created, not on every update;
    # shown at its own size, narrower when the grid cell is.
    src = solara.use_memo(
        lambda: "data:image/png;base64," + base64.b64encode(figure_png(draw(model))).decode(),
        [model, key],
    )
    solara.HTML(
        tag="img",
        attributes={"src": src, "alt": alt},
        style="max-width: 100%; height: auto; display: block;",
        classes=[css_class],
    )


@solara.component
def IndicatorChart(model: PageModel) -> None:
    update_counter.get()
    _image(indicator_figure, model, len(model.annual), "innosim-indicators", "key indicators")


@solara.component
def RegionFlows(model: PageModel) -> None:
    update_counter.get()
    _image(network_figure, model, model.steps, "innosim-flows", "flows between regions")


@solara.component
def Status(model: PageModel) -> None:
    update_counter.get()
    solara.HTML(tag="div", unsafe_innerHTML=status_html(model), classes=["innosim-status"])


# Module-level components: new component functions on every render would remount the charts.
COMPONENTS: tuple[Callable, ...] = (IndicatorChart, RegionFlows, Status)


def slider_text(value: float, step: float) -> str:
    """A slider's value as shown beside its label, to the step's decimals (0.6, 0.365, 125)."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 6
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@solara.component
def ValueSlider(options: Slider, on_value: Callable[[Any], None]) -> None:
    """A Mesa Slider with its current value beside the label, full width below it.

    Solara's slider shows its value only while dragged; its always-on thumb label overlaps the
    slider above, and a value inside an inline label would move the track as it changes.
    """
    value = solara.use_reactive(options.value)

    def changed(v: Any) -> None:
        value.set(v)
        on_value(v)

    slider = solara.SliderFloat if options.is_float_slider else solara.SliderInt
    with solara.Column(gap="0px", classes=["innosim-slider"], style={"margin-top": "10px"}):
        with solara.Row(justify="space-between", style={"font-size": "14px"}):
            solara.Text(options.label)
            solara.Text(
                slider_text(value.value, options.step),
                classes=["innosim-slider-value"],
                style={"font-weight": "bold"},
            )
        slider(
            "",
            value=value.value,
            on_value=changed,
            min=options.min,
            max=options.max,
            step=options.step,
        )


# Mesa's own parameter inputs (kept in Mesa's module, so a reload of this one still finds them).
_MESA_USER_INPUTS = solara_viz.__dict__.setdefault("_innosim_user_inputs", solara_viz.UserInputs)


@solara.component
def UserInputs(user_params: dict[str, Any], on_change: Callable[[str, Any], None]) -> None:
    """Mesa's parameter inputs, but each Slider shows its value (`ValueSlider`)."""
    for name, options in user_params.items():
        if isinstance(options, Slider):
            ValueSlider(options, lambda v, name=name: on_change(name, v))
        else:
            _MESA_USER_INPUTS({name: options}, on_change=on_change)


def _grid_layout(n: int) -> list[dict]:
    """Chart (7/12) and map (5/12) side by side, the status text below at full width."""
    if n != 3:  # Mesa's own layout
        return [
            {"i": i, "w": 6, "h": 10, "moved": False, "x": 6 * (i % 2), "y": 16 * (i - i % 2)}
            for i in range(n)
        ]
    return [
        {"i": 0, "x": 0, "y": 0, "w": 7, "h": 13, "moved": False},
        {"i": 1, "x": 7, "y": 0, "w": 5, "h": 13, "moved": False},
        {"i": 2, "x": 0, "y": 13, "w": 12, "h": 8, "moved": False},
    ]


def build_page(model: PageModel | None = None) -> Any:
    """The SolaraViz page over `model` (default: a fresh PageModel with the default parameters)."""
    # Mesa 3.3 gives every component the same half-width grid cell, takes no layout argument and
    # shows a slider's value only while it is dragged; its ComponentsView and ModelCreator look
    # these functions up at render time, so set ours there (for the whole process: this page).
    solara_viz.make_initial_grid_layout = _grid_layout
    solara_viz.UserInputs = UserInputs
    return SolaraViz(
        model if model is not None else PageModel(),
        components=list(COMPONENTS),
        model_params=model_params(),
        name=TITLE,
        play_interval=150,
        render_interval=RENDER_INTERVAL,
    )


@solara.component
def Page() -> None:
    """One browser session's page: its own model, the tab's title and Mesa's SolaraViz.

    Solara renders `Page` anew in each session's virtual kernel. `use_memo` creates the model in
    that render, so each session gets its own (a model built on import would be shared by all
    of them until each pressed Reset); SolaraViz keeps it in a `use_reactive` of the same render
    and Reset replaces it there, for that session only.
    """
    solara.Title(TITLE)
    model = solara.use_memo(PageModel, [])
    build_page(model)


# What `innosim ui` serves (`solara run sim.app.ui:page`); `solara run sim.app.ui` finds `Page`.
page = Page


__all__ = [
    "MAIN_LEVERS",
    "TITLE",
    "Page",
    "PageModel",
    "attainment_so_far",
    "build_page",
    "flow_matrices",
    "indicator_figure",
    "lever_overrides",
    "model_params",
    "network_figure",
    "page",
    "scenario_names",
    "slider_text",
    "status_html",
]
