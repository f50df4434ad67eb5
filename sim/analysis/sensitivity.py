"""Sensitivity analysis of a sweep folder with SALib: `innosim analyze DIR --method sobol|morris`.

An *outcome* is one number per run, named by a string:

    rd_intensity@2030           the indicator's value in that year
    attain:rd_intensity@2030    1 if the run meets that year's target (sim.analysis.targets, respecting the
                                target's direction), else 0

Y at a design point is the mean of the outcome over the point's replicates (for `attain:` the
share of replicates meeting the target), in design order (the `point` order of design.parquet),
which is the order in which SALib generated the design.

Sobol' indices (S1, ST) need the Sobol' (Saltelli) design of `sampler: sobol`; Morris elementary
effects (mu, mu*, sigma) need the trajectories of `sampler: morris`. Both designs carry the
`dummy` factor, which enters no mechanism: its index is the noise floor. A lever is reported
*above the noise floor* when its index minus its confidence half-width exceeds the dummy's index
plus its confidence half-width (ST for Sobol', mu* for Morris). The dummy's value selects the
replicate seeds of a point (`sweep._dummy_seeds`), so points that differ only in the dummy differ
only in their seeds: the dummy's index measures the seed noise of the outcome. (Should a design's
dummy ever be constant, its index is 0 and the criterion reduces to "the lever's CI excludes 0";
the report says so.)

Default outcomes: every indicator with a 2030 target (value and `attain:`), and rd_intensity@2030;
a sweep that stops before 2030 uses its latest target year instead (e.g. 2020).

For the CLI (`innosim analyze DIR --method sobol|morris [--outcome ...]`):

    from sim.analysis.sensitivity import analyze, format_analysis, write_analysis
    df = analyze(args.dir, args.method, args.outcome or None)
    md = write_analysis(args.dir, args.method, args.outcome or None, results=df)
    print(format_analysis(df)); print(f"\\n-> {md.parent}/ ({md.name})")

Every problem with the folder, the method or an outcome raises sim.inputs.errors.InputError.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.report import _markdown as _markdown_table
from sim.analysis.targets import target_table
from sim.experiments.atomic import add_to_stamp, claim, drop_from_stamp, stamped_files, write_file
from sim.experiments.design import DUMMY, SweepSpec, n_points, salib_problem
from sim.experiments.progress import progress_bar
from sim.experiments.store import Store, open_store
from sim.inputs.errors import InputError, Interrupted
from sim.model.indicators import INDICATORS

METHODS = ("sobol", "morris")
DEFAULT_YEAR = 2030
CONF_LEVEL = 0.95
SOBOL_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma")
# The index compared with the dummy's to decide "above the noise floor".
NOISE_INDEX = {"sobol": ("ST", "ST_conf"), "morris": ("mu_star", "mu_star_conf")}
_OUTCOME = re.compile(r"^(?P<attain>attain:)?(?P<indicator>[A-Za-z0-9_]+)@(?P<year>\d{4})$")


# ------------------------------------------------------------------------------------------------
# outcomes
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    indicator: str
    year: int
    attain: bool = False

    @property
    def label(self) -> str:
        return f"{'attain:' if self.attain else ''}{self.indicator}@{self.year}"

    @property
    def slug(self) -> str:
        """File-name form: `attain-rd_intensity-2030`."""
        return self.label.replace("attain:", "attain-").replace("@", "-")


def parse_outcome(text: str) -> Outcome:
    """`indicator@year` or `attain:indicator@year` (syntax only; see `check_outcomes`)."""
    m = _OUTCOME.match(str(text).strip())
    if not m:
        raise InputError(
            None,
            "outcome",
            f"{text!r}: expected INDICATOR@YEAR or attain:INDICATOR@YEAR "
            "(e.g. rd_intensity@2030, attain:rd_intensity@2030)",
        )
    return Outcome(m["indicator"], int(m["year"]), bool(m["attain"]))


def _targets_in(years) -> pd.DataFrame:
    tt = target_table()
    return tt[tt.target_year.isin(set(int(y) for y in years))]


def check_outcomes(outcomes, df: pd.DataFrame, where: str | None = None) -> list[Outcome]:
    """Parse outcomes and check each against the sweep's indicators, years and targets."""
    indicators = [str(i) for i in pd.unique(df.indicator)]
    years = sorted(int(y) for y in pd.unique(df.year))
    span = f"{years[0]}-{years[-1]}" if years else "none"
    targets = _targets_in(years)
    out = []
    for text in outcomes:
        o = text if isinstance(text, Outcome) else parse_outcome(text)
        if o.indicator not in indicators or o.year not in years:
            what = "indicator" if o.indicator not in indicators else "year"
            raise InputError(
                where,
                "outcome",
                f"{o.label!r}: {what} not in the sweep (indicators: {', '.join(indicators)}; "
                f"years: {span})",
            )
        if o.attain:
            hit = targets[(targets.indicator == o.indicator) & (targets.target_year == o.year)]
            if hit.empty:
                avail = ", ".join(
                    f"attain:{r.indicator}@{r.target_year}" for r in targets.itertuples()
                )
                raise InputError(
                    where,
                    "outcome",
                    f"{o.label!r}: no target for {o.indicator} in {o.year} "
                    f"(targets in the sweep: {avail or 'none'})",
                )
        if o not in out:
            out.append(o)
    if not out:
        raise InputError(where, "outcome", "no outcome given")
    return out


def default_year(years) -> int:
    """2030 when simulated; else the latest target year in the horizon; else the last year."""
    years = sorted(int(y) for y in years)
    if DEFAULT_YEAR in years:
        return DEFAULT_YEAR
    with_target = sorted(set(_targets_in(years).target_year))
    return int(with_target[-1]) if with_target else years[-1]


def default_outcomes(df: pd.DataFrame) -> list[Outcome]:
    """Every indicator with a target in 2030 (value and attainment), and rd_intensity@2030.

    Sweeps that stop before 2030 use the latest target year they simulate instead (e.g. 2020)."""
    year = default_year(pd.unique(df.year))
    out = []
    for ind in pd.unique(_targets_in([year]).indicator):
        if (df.indicator == ind).any():
            out += [Outcome(str(ind), year), Outcome(str(ind), year, attain=True)]
    if Outcome("rd_intensity", year) not in out and (df.indicator == "rd_intensity").any():
        out.insert(0, Outcome("rd_intensity", year))
    return out


def run_values(df: pd.DataFrame, outcome: Outcome) -> pd.DataFrame:
    """One row per run: point, replicate, seed, value (1.0/0.0 for an `attain:` outcome)."""
    sel = df[(df.indicator == outcome.indicator) & (df.year == outcome.year)]
    sel = sel[["point", "replicate", "seed", "value"]].copy()
    if outcome.attain:
        tt = _targets_in([outcome.year])
        row = tt[tt.indicator == outcome.indicator].iloc[0]
        met = sel.value >= row.target if row.direction == "higher" else sel.value <= row.target
        sel["value"] = met.astype(float)
    return sel.reset_index(drop=True)


def point_means(df: pd.DataFrame, outcome: Outcome, points) -> np.ndarray:
    """Y: the outcome's mean over replicates at each design point, in the order of `points`."""
    return run_values(df, outcome).groupby("point").value.mean().reindex(points).to_numpy(float)


# ------------------------------------------------------------------------------------------------
# the sweep
# ------------------------------------------------------------------------------------------------
@dataclass
class _Sweep:
    store: Store
    spec: SweepSpec
    record: dict
    design: pd.DataFrame
    data: pd.DataFrame


def _open(directory, method: str, progress: bool = False) -> _Sweep:
    if method not in METHODS:
        raise InputError(None, "method", f"{method!r}: expected one of {', '.join(METHODS)}")
    store = open_store(directory)
    where = str(directory)
    record = store.spec()
    try:
        spec = SweepSpec.model_validate(record["spec"])
    except Exception as e:  # noqa: BLE001 - any malformed record is the same user problem
        raise InputError(
            str(Path(directory) / "spec.yaml"), "spec", f"not a readable sweep spec ({e})"
        ) from None
    if spec.sampler != method:
        need = {"sobol": "sampler: sobol (Saltelli design)", "morris": "sampler: morris"}[method]
        raise InputError(
            where,
            None,
            f"{'Sobol' if method == 'sobol' else 'Morris'} analysis needs a sweep run with "
            f"{need}; this sweep used sampler: {spec.sampler}"
            + (
                f" (try --method {spec.sampler})"
                if spec.sampler in METHODS
                else " (its design carries no sensitivity structure; compare points instead)"
            ),
        )
    design = store.design().sort_values("point", kind="stable").reset_index(drop=True)
    names = salib_problem(spec)["names"]
    if [c for c in design.columns if c != "point"] != names or len(design) != n_points(spec):
        raise InputError(
            where, "design.parquet", "does not match the spec's design (folder modified?)"
        )
    runs = store.runs()
    done = store.done()
    missing = int((~runs.key.isin(done)).sum())
    if missing:
        raise InputError(
            where,
            None,
            f"incomplete sweep: {missing} of {len(runs)} runs missing; finish it with "
            f"`innosim sweep SPEC --out {directory} --resume` before analysing",
        )
    data = store.load(progress=progress)
    return _Sweep(store, spec, record, design, data)


# ------------------------------------------------------------------------------------------------
# analysis
# ------------------------------------------------------------------------------------------------
def _salib(method, problem, X, Y, levels, seed) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "sobol":
            from SALib.analyze import sobol

            r = sobol.analyze(problem, Y, calc_second_order=False, conf_level=CONF_LEVEL, seed=seed)
        else:
            from SALib.analyze import morris

            r = morris.analyze(problem, X, Y, conf_level=CONF_LEVEL, num_levels=levels, seed=seed)
    cols = SOBOL_COLUMNS if method == "sobol" else MORRIS_COLUMNS
    return {c: np.asarray(np.ma.filled(r[c], np.nan), dtype=float) for c in cols}


def analyze(
    directory: str | Path,
    method: str,
    outcomes: list[str] | None = None,
    seed: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Sensitivity indices of a complete Sobol' or Morris sweep.

    Tidy frame, one row per outcome and factor (the levers, then `dummy`): `outcome`, `factor`,
    then S1, S1_conf, ST, ST_conf (sobol) or mu, mu_star, mu_star_conf, sigma (morris), then
    `above_noise` (bool) and `note` (empty, or why the indices are 0/NaN: an outcome constant
    across design points, or non-finite values). `outcomes` default to `default_outcomes`; `seed`
    (bootstrap of the confidence intervals) defaults to the sweep's seed. Attributes (`.attrs`):
    method, directory, sweep name, points, replicates, base samples. `progress`: bars of the
    runs read and the outcomes analysed on stderr.
    """
    sw = _open(directory, method, progress)
    outs = (
        default_outcomes(sw.data)
        if not outcomes
        else check_outcomes(outcomes, sw.data, str(directory))
    )
    if not outs:
        raise InputError(
            str(directory), "outcome", "no default outcome in this sweep: name one with --outcome"
        )
    problem = salib_problem(sw.spec)
    names = problem["names"]
    X = sw.design[names].to_numpy(float)
    points = sw.design.point.to_numpy()
    seed = sw.spec.seed if seed is None else seed
    cols = SOBOL_COLUMNS if method == "sobol" else MORRIS_COLUMNS
    idx, conf = NOISE_INDEX[method]
    frames = []
    for o in progress_bar(outs, desc="indices", unit="outcome", enabled=progress):
        Y = point_means(sw.data, o, points)
        note = ""
        if not np.isfinite(Y).all():
            bad = int((~np.isfinite(Y)).sum())
            note = f"non-finite values at {bad} design point(s): no indices"
            res = {c: np.full(len(names), np.nan) for c in cols}
        elif np.ptp(Y) == 0:
            note = f"constant across design points ({Y[0]:g}): no sensitivity"
            res = {
                c: (np.full(len(names), np.nan) if "conf" in c else np.zeros(len(names)))
                for c in cols
            }
        else:
            res = _salib(method, problem, X, Y, sw.spec.levels, seed)
        f = pd.DataFrame({"outcome": o.label, "factor": names, **res})
        lo = f[idx] - f[conf]
        dummy = f.loc[f.factor == DUMMY]
        floor = float((dummy[idx] + dummy[conf]).iloc[0])
        f["above_noise"] = (lo > floor).fillna(False).astype(bool) & (f.factor != DUMMY)
        f["note"] = note
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(
        method=method,
        directory=str(directory),
        name=str(sw.record.get("name") or Path(directory).name),
        points=len(sw.design),
        replicates=int(sw.spec.replicates),
        samples=int(sw.spec.samples),
        scale=sw.record.get("scale"),
        levers=sw.spec.factor_ids,
    )
    return out


# When indices are not to be trusted (quality_warnings).
SOBOL_NOISE_SHARE = 0.10  # the dummy's ST plus its CI: a tenth of the variance is seed noise
MORRIS_NOISE_SHARE = 0.25  # the dummy's mu* plus its CI against the largest lever's mu*
WIDE_SHARE = 0.5  # more than half the weighty levers with a CI half-width above their index
WEIGHTY = 0.1  # a lever whose index is at least this share of the largest lever's


def quality_warnings(results: pd.DataFrame) -> list[str]:
    """What makes the indices of an analysis untrustworthy, one line per kind, naming the
    outcomes and what to do: Sobol' indices above 1 or below 0 beyond their CI, or a total
    index below the first-order one beyond both CIs (estimates this far off mean too few base
    samples); confidence intervals wider than the indices for most levers of some weight (at
    least WEIGHTY of the largest index; too few samples); a
    large noise floor (the dummy's index: seed noise in each point's replicate mean; more
    replicates lower it). Outcomes with a note (constant, non-finite) are left out."""
    method = _method_of(results)
    idx, conf = NOISE_INDEX[method]
    a = results.attrs
    samples = a.get("samples")
    more_samples = (
        f"run the sweep with more `samples` (now {samples}"
        + ("; a power of 2, e.g. 4x" if method == "sobol" else "")
        + ")"
        if samples
        else "run the sweep with more `samples`"
    )
    bad_range, crossed, wide, noisy = [], [], [], []
    for outcome, g in results.groupby("outcome", sort=False):
        if g.note.iloc[0]:
            continue
        levers = g[g.factor != DUMMY]
        if method == "sobol":
            for r in levers.itertuples(index=False):
                for name in ("S1", "ST"):
                    v, c = getattr(r, name), getattr(r, f"{name}_conf")
                    if v > 1 or v + (0 if pd.isna(c) else c) < 0:
                        bad_range.append(f"{outcome} {name} of {r.factor} {v:.2f}")
                if r.ST + r.ST_conf < r.S1 - r.S1_conf:
                    crossed.append(f"{outcome} {r.factor} (S1 {r.S1:.2f}, ST {r.ST:.2f})")
        # levers of some weight (an inert lever's CI always exceeds its index of about 0)
        weighty = levers[levers[idx] >= WEIGHTY * levers[idx].max()]
        if len(weighty) and (weighty[conf] > weighty[idx]).mean() > WIDE_SHARE:
            wide.append(str(outcome))
        dummy = g[g.factor == DUMMY]
        if len(dummy):
            floor = float((dummy[idx] + dummy[conf].fillna(0)).iloc[0])
            top = float(levers[idx].max()) if len(levers) else np.nan
            limit = SOBOL_NOISE_SHARE if method == "sobol" else MORRIS_NOISE_SHARE * top
            if np.isfinite(floor) and np.isfinite(limit) and floor >= limit > 0:
                noisy.append(f"{outcome} ({floor:.3g})")
    out = []
    if bad_range:
        out.append(
            f"Sobol' indices above 1, or below 0 beyond their CI ({_listed(bad_range)}): a "
            f"share of variance cannot be, so the estimates are off; {more_samples}"
        )
    if crossed:
        out.append(
            f"total index below the first-order one beyond both CIs ({_listed(crossed)}): "
            f"impossible for the true indices; {more_samples}"
        )
    if wide:
        out.append(
            f"95% CIs wider than the index for most levers in {_listed(wide)}: too few samples "
            f"to rank the levers; {more_samples}"
        )
    if noisy:
        what = (
            f"the dummy's ST plus CI is at least {SOBOL_NOISE_SHARE:g}"
            if method == "sobol"
            else f"the dummy's mu* plus CI is at least {MORRIS_NOISE_SHARE:g} of the largest lever's"
        )
        reps = a.get("replicates")
        out.append(
            f"large noise floor in {_listed(noisy)} ({what}): seed noise in each point's mean "
            f"hides smaller effects; run the sweep with more `replicates`"
            + (f" (now {reps})" if reps else "")
        )
    return out


def _listed(items: list[str], most: int = 3) -> str:
    shown = "; ".join(items[:most])
    return shown + (f"; and {len(items) - most} more" if len(items) > most else "")


def noise_floor(results: pd.DataFrame, outcome: str, method: str) -> float:
    """The dummy's index plus its confidence half-width for one outcome."""
    idx, conf = NOISE_INDEX[method]
    d = results[(results.outcome == outcome) & (results.factor == DUMMY)]
    return float((d[idx] + d[conf]).iloc[0])


def _method_of(results: pd.DataFrame) -> str:
    return "sobol" if "ST" in results.columns else "morris"


# ------------------------------------------------------------------------------------------------
# text
# ------------------------------------------------------------------------------------------------
def _num(x) -> str:
    return "-" if pd.isna(x) else f"{x:.3g}"


def format_analysis(df: pd.DataFrame) -> str:
    """Short console table: per outcome, each factor's index with its CI, `*` above noise."""
    method = _method_of(df)
    if method == "sobol":
        head = ["factor", "ST", "±ST", "S1", "±S1", ""]
        cols = ("ST", "ST_conf", "S1", "S1_conf")
    else:
        head = ["factor", "mu*", "±mu*", "mu", "sigma", ""]
        cols = ("mu_star", "mu_star_conf", "mu", "sigma")
    rows: list = [head]
    for outcome, g in df.groupby("outcome", sort=False):
        note = g.note.iloc[0]
        rows.append(str(outcome) + (f"  ({note})" if note else ""))
        for r in g.itertuples(index=False):
            cells = [_num(getattr(r, c)) for c in cols]
            rows.append(["  " + r.factor, *cells, "*" if r.above_noise else ""])
    idx = "ST" if method == "sobol" else "mu*"
    legend = (
        f"(* = above the noise floor: {idx} minus its 95% CI exceeds the dummy's {idx} plus its "
        "CI; ± = 95% CI half-width)"
    )
    return _fixed(rows) + "\n" + legend


def _fixed(rows: list) -> str:
    """Fixed-width text: list rows in columns (first left-aligned, others right-aligned); string
    rows printed as they are."""
    table = [r for r in rows if not isinstance(r, str)]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(table[0]))]
    lines = []
    for r in rows:
        if isinstance(r, str):
            lines.append(r)
            continue
        cells = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _above(results: pd.DataFrame, outcome: str, method: str) -> list[str]:
    idx = NOISE_INDEX[method][0]
    g = results[(results.outcome == outcome) & results.above_noise]
    return list(g.sort_values(idx, ascending=False).factor)


def _describe(o: Outcome) -> str:
    unit, desc = INDICATORS.get(o.indicator, ("", o.indicator))
    if not o.attain:
        return f"{desc[:1].upper()}{desc[1:]} in {o.year} ({unit.replace('_', ' ')})."
    t = _targets_in([o.year])
    t = t[t.indicator == o.indicator].iloc[0]
    sign = ">=" if t.direction == "higher" else "<="
    return (
        f"Share of replicates meeting the {o.year} target for {o.indicator} "
        f"({sign} {t.target:.4g}, {t.kind})."
    )


def _markdown(results: pd.DataFrame, method: str, plots: dict[str, str]) -> str:
    a = results.attrs
    idx, conf = NOISE_INDEX[method]
    name = "Sobol' indices" if method == "sobol" else "Morris elementary effects"
    lines = [
        f"# Sensitivity analysis ({name}): {a.get('name', '')}",
        "",
        f"Sweep `{a.get('directory', '')}`: {a.get('points', '?')} design points "
        f"({a.get('samples', '?')} base samples) x {a.get('replicates', '?')} replicates, "
        f"scale {a.get('scale', '?')}; levers: {', '.join(a.get('levers', []))}.",
        "Each design point's outcome is the mean over its replicates; 95% confidence intervals "
        "by bootstrap (SALib).",
        "",
    ]
    if method == "sobol":
        lines += [
            "S1 is the share of the outcome's variance due to a lever alone, ST the share "
            "including its interactions with the other levers.",
        ]
    else:
        lines += [
            "mu* is the mean absolute elementary effect of a lever (in the outcome's units; a "
            "screening measure), mu its signed mean and sigma the spread (non-linearity or "
            "interactions).",
        ]
    lines += [
        f"The `{DUMMY}` factor enters no mechanism: a lever is **above the noise floor** when its "
        f"{idx} minus its CI exceeds the dummy's {idx} plus its CI. Small designs give wide "
        "intervals; a lever below the floor may still matter (increase `samples`).",
        "",
        "## Levers above the noise floor",
        "",
        "| outcome | levers above the noise floor (largest first) |",
        "|---|---|",
    ]
    for outcome, g in results.groupby("outcome", sort=False):
        above = _above(results, outcome, method)
        note = g.note.iloc[0]
        text = ", ".join(above) if above else "none"
        if note:
            text = f"none ({note})"
        lines.append(f"| {outcome} | {text} |")
    dummy = results[results.factor == DUMMY]
    if len(dummy) and (dummy[idx].fillna(0) == 0).all() and (dummy[conf].fillna(0) == 0).all():
        lines += [
            "",
            f"Here the dummy's {idx} and its CI are 0: with common random numbers, design points "
            "that differ only in the dummy are the same runs, so the floor reduces to "
            '"the lever\'s CI excludes zero".',
        ]
    warnings = quality_warnings(results)
    if warnings:
        lines += ["", "## Warnings", "", *[f"- {w}." for w in warnings]]
    lines += ["", f"Data: `{method}.csv`.", ""]
    for outcome, g in results.groupby("outcome", sort=False):
        lines += [f"## {outcome}", ""]
        lines += [_describe(parse_outcome(outcome)), ""]
        if g.note.iloc[0]:
            lines += [f"Note: {g.note.iloc[0]}.", ""]
        shown = g.drop(columns=["outcome", "note"]).copy()
        for c in shown.columns:
            if c not in ("factor", "above_noise"):
                shown[c] = shown[c].map(_num)
        shown["above_noise"] = shown.above_noise.map({True: "yes", False: ""})
        lines += [_markdown_table(shown), ""]
        if outcome in plots:
            lines += [f"![{outcome}]({plots[outcome]})", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# figures and files
# ------------------------------------------------------------------------------------------------
def analysis_figure(results: pd.DataFrame, outcome: str):
    """Horizontal bars for one outcome: ST with CI and S1 (sobol) or mu* with CI (morris), the
    dummy in grey and a dashed vertical line at the noise floor."""
    from matplotlib.figure import Figure

    method = _method_of(results)
    idx, conf = NOISE_INDEX[method]
    g = results[results.outcome == outcome].reset_index(drop=True)
    n = len(g)
    fig = Figure(figsize=(7, 1.2 + 0.45 * n), dpi=110, layout="constrained")
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    colors = [
        "#7f7f7f" if f == DUMMY else ("#1f77b4" if a else "#aec7e8")
        for f, a in zip(g.factor, g.above_noise, strict=True)
    ]
    err = g[conf].fillna(0).clip(lower=0).to_numpy()
    label = "ST (95% CI)" if method == "sobol" else "mu* (95% CI)"
    ax.barh(y, g[idx].fillna(0), xerr=err, color=colors, height=0.6, capsize=3, label=label)
    if method == "sobol":
        ax.barh(y, g["S1"].fillna(0), color="k", height=0.2, alpha=0.6, label="S1")
    floor = noise_floor(results, outcome, method)
    if np.isfinite(floor):
        ax.axvline(floor, color="C3", ls="--", lw=1, label="noise floor (dummy + CI)")
    ax.set_yticks(y, list(g.factor), fontsize=8)
    ax.set_xlabel("Sobol' index" if method == "sobol" else "mu* (outcome units)")
    note = g.note.iloc[0]
    ax.set_title(outcome + (f"\n{note}" if note else ""), fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def _save_png(fig, path: Path) -> None:
    write_file(path, lambda p: fig.savefig(p, format="png"))


def write_analysis(
    directory: str | Path,
    method: str,
    outcomes: list[str] | None = None,
    out: str | Path | None = None,
    *,
    results: pd.DataFrame | None = None,
    progress: bool = False,
) -> Path:
    """Write `<method>.csv`, `<method>-<outcome>.png` per outcome and `<method>.md` into
    `out` (default `<directory>/analysis`); returns the path of the markdown summary.

    Each file is written to a temporary file and renamed into place; figures of this method left
    by an earlier analysis with other outcomes are removed. Pass `results` (from `analyze`) to
    avoid computing the indices twice."""
    if results is None:
        results = analyze(directory, method, outcomes)
    elif _method_of(results) != method:
        raise InputError(None, "method", f"results are not from a {method} analysis")
    out = Path(out) if out is not None else Path(directory) / "analysis"
    if out.exists() and not out.is_dir():
        raise InputError(str(out), None, "exists and is not a folder")
    with claim(out, True, check=False):
        out.mkdir(parents=True, exist_ok=True)
        try:
            return _write_files(out, results, method, progress)
        except KeyboardInterrupt as e:
            raise Interrupted(
                f"{out} may hold part of this {method} analysis; run it again", e
            ) from None


def _write_files(out: Path, results: pd.DataFrame, method: str, progress: bool = False) -> Path:
    plots: dict[str, str] = {}
    outcomes = pd.unique(results.outcome)
    for outcome in progress_bar(outcomes, desc="plots", unit="plot", enabled=progress):
        name = f"{method}-{parse_outcome(outcome).slug}.png"
        _save_png(analysis_figure(results, outcome), out / name)
        plots[str(outcome)] = name
    stale = [  # figures of an earlier analysis with other outcomes (only innosim's own)
        n for n in stamped_files(out) if n.startswith(f"{method}-") and n not in plots.values()
    ]
    for name in stale:
        (out / name).unlink(missing_ok=True)
    drop_from_stamp(out, stale)
    write_file(out / f"{method}.csv", lambda p: results.to_csv(p, index=False))
    md = _markdown(results, method, plots)
    path = out / f"{method}.md"
    write_file(path, lambda p: Path(p).write_text(md, encoding="utf-8"))
    add_to_stamp(out, [*plots.values(), f"{method}.csv", path.name], kind="analysis")
    return path
