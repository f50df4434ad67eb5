"""Comparing the design points of a sweep: `innosim compare SWEEPDIR [--points ...] [--reference N]`.

Replicate r has the same seed at every design point (common random numbers), so the effect of
moving from the reference point to another is estimated from *paired* differences: for each seed,
point minus reference, averaged over the seeds both points ran, with a bootstrap 95% interval
over the pairs (percentile method; NaN with a single pair).

Default points: the reference (point 0 unless `--reference`) and the up to 5 other points with the
highest mean `rd_intensity` in 2030 (or in the last simulated year when the sweep stops earlier):
the headline indicator of the plan, so the comparison shows the best lever settings against the
reference. Pass `points` to choose others.

For the CLI (when `innosim compare` is given one folder that `is_sweep_folder`):

    from sim.analysis.points import default_out, write_point_comparison
    out = args.out or default_out(args.dirs[0])
    print(write_point_comparison(args.dirs[0], out, points=args.points,
                                 reference=args.reference, force=args.force))

Output folder (written next to `out_dir` in a temporary folder and moved into place when
complete; an existing folder is replaced only with `force`): `points.csv` (the chosen points and
their lever settings), `paired_differences.csv`, `target_probabilities.csv` (every design
point), `plots/<indicator>.png` (median and 10-90% band of each chosen point) and
`comparison.md`. Problems with the folder or the points raise sim.inputs.errors.InputError.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.report import KEY_YEARS, _fmt, _markdown
from sim.analysis.sensitivity import Outcome, check_outcomes
from sim.analysis.targets import target_table
from sim.experiments.atomic import claim, staged_folder
from sim.experiments.design import DUMMY
from sim.experiments.progress import progress_bar
from sim.experiments.store import open_store
from sim.inputs.errors import InputError
from sim.model.indicators import INDICATORS

MARKER = "points.csv"  # the file every point comparison has

BASE_COLUMNS = ("point", "replicate", "seed", "year", "indicator", "value")
HEADLINE = "rd_intensity"
N_BEST = 5
# target_probabilities columns: these keys, the lever settings, then these values.
_PROB_KEYS = ("indicator", "target_year", "target", "kind", "direction", "point")
_PROB_VALUES = ("probability", "replicates", "median")
_PROB_FIXED = _PROB_KEYS + _PROB_VALUES
MAX_LABEL_LEVERS = 3  # labels list the lever values only up to this many levers


def is_sweep_folder(path: str | Path) -> bool:
    """True for a folder written by `innosim sweep` (spec.yaml and design.parquet)."""
    p = Path(path)
    return (p / "spec.yaml").is_file() and (p / "design.parquet").is_file()


def default_out(sweep_dir: str | Path) -> Path:
    """Where the comparison of a sweep's points goes by default: `<sweep_dir>/comparison`."""
    return Path(sweep_dir) / "comparison"


def lever_columns(df: pd.DataFrame) -> list[str]:
    """The varied levers of a load_sweep frame (the dummy factor excluded)."""
    return [c for c in df.columns if c not in BASE_COLUMNS and c != DUMMY]


def _settings(df: pd.DataFrame) -> pd.DataFrame:
    """One row per point: point and its lever settings."""
    cols = lever_columns(df)
    return df.drop_duplicates("point")[["point", *cols]].sort_values("point").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# paired differences
# ------------------------------------------------------------------------------------------------
def mean_intervals(diffs: list[np.ndarray], n_boot: int, seed: int) -> list[tuple[float, float]]:
    """Bootstrap 95% percentile intervals of the mean of each array of paired differences.

    Arrays of the same length go through one vectorised `scipy.stats.bootstrap` call. One pair:
    (NaN, NaN); identical differences: the degenerate interval (d, d)."""
    from scipy.stats import bootstrap

    out: list[tuple[float, float]] = [(np.nan, np.nan)] * len(diffs)
    groups: dict[int, list[int]] = {}
    for i, d in enumerate(diffs):
        if d.size < 2:
            continue
        if np.ptp(d) == 0:
            out[i] = (float(d[0]), float(d[0]))
        else:
            groups.setdefault(d.size, []).append(i)
    rng = np.random.default_rng(seed)
    for _, idx in sorted(groups.items()):
        data = np.stack([diffs[i] for i in idx])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ci = bootstrap(
                (data,),
                np.mean,
                n_resamples=n_boot,
                confidence_level=0.95,
                method="percentile",
                axis=-1,
                rng=rng,
            ).confidence_interval
        for k, i in enumerate(idx):
            out[i] = (float(np.atleast_1d(ci.low)[k]), float(np.atleast_1d(ci.high)[k]))
    return out


def paired_differences(
    df: pd.DataFrame,
    reference_point: int,
    points: list[int],
    outcomes: list[str],
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean paired difference (point - reference) per point and outcome (`indicator@year`).

    Runs are paired by seed (replicate r has the same seed at every point); where two points have
    no seed in common (Sobol'/Morris points with different dummy values) replicate r is paired
    with replicate r and `common_seeds` is False. Columns: point,
    reference, outcome, indicator, year, pairs, common_seeds, reference_mean, point_mean (means over the
    paired runs), difference (mean of the per-seed differences), ci_low, ci_high (bootstrap 95%
    percentile interval over the pairs; NaN with one pair). The reference itself is skipped.
    """
    outs = check_outcomes(outcomes, df, "outcomes")
    if any(o.attain for o in outs):
        raise InputError(None, "outcomes", "paired differences take INDICATOR@YEAR outcomes")
    known = set(int(p) for p in pd.unique(df.point))
    for p in [reference_point, *points]:
        if int(p) not in known:
            raise InputError(None, "points", f"point {p} has no runs in the sweep")
    rows, diffs = [], []
    for o in outs:
        sel = df[(df.indicator == o.indicator) & (df.year == o.year)]
        ref = sel[sel.point == reference_point][["replicate", "seed", "value"]]
        for p in points:
            if int(p) == int(reference_point):
                continue
            cur = sel[sel.point == p][["replicate", "seed", "value"]]
            pair = ref.merge(cur, on="seed", suffixes=("_ref", "_pt")).sort_values("seed")
            common = not pair.empty
            if not common:
                # Sobol' and Morris points whose dummy differs run on different seed sets
                # (the dummy measures noise): pair replicate r with replicate r instead.
                pair = ref.merge(cur, on="replicate", suffixes=("_ref", "_pt"))
                pair = pair.sort_values("replicate")
            d = (pair.value_pt - pair.value_ref).to_numpy(float)
            diffs.append(d)
            rows.append(
                {
                    "point": int(p),
                    "reference": int(reference_point),
                    "outcome": o.label,
                    "indicator": o.indicator,
                    "year": o.year,
                    "pairs": int(d.size),
                    "common_seeds": common,
                    "reference_mean": float(pair.value_ref.mean()) if d.size else np.nan,
                    "point_mean": float(pair.value_pt.mean()) if d.size else np.nan,
                    "difference": float(d.mean()) if d.size else np.nan,
                }
            )
    ci = mean_intervals(diffs, n_boot, seed)
    for row, (lo, hi) in zip(rows, ci, strict=True):
        row["ci_low"], row["ci_high"] = lo, hi
    cols = [
        "point",
        "reference",
        "outcome",
        "indicator",
        "year",
        "pairs",
        "common_seeds",
        "reference_mean",
        "point_mean",
        "difference",
        "ci_low",
        "ci_high",
    ]
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------------------------------------
# target probabilities
# ------------------------------------------------------------------------------------------------
def target_probabilities(df: pd.DataFrame) -> pd.DataFrame:
    """Share of each design point's replicates meeting each target inside the sweep's horizon.

    Columns: indicator, target_year, target, kind, direction, point, one column per lever,
    probability, replicates, median. Rows are grouped by target (in sim.analysis.targets order) and, within
    a target, sorted by probability (highest first), then by the median's margin over the target
    (in the target's direction), then point, so the top rows of each target show which lever
    settings reach it, how often and how comfortably.
    """
    tt = target_table()
    tt = tt[tt.target_year.isin(set(int(y) for y in pd.unique(df.year)))]
    tt = tt[tt.indicator.isin(set(df.indicator))].reset_index(drop=True)
    settings = _settings(df)
    levers = lever_columns(df)
    cols = [*_PROB_KEYS, *levers, *_PROB_VALUES]
    frames = []
    for order, t in enumerate(tt.itertuples(index=False)):
        sel = df[(df.indicator == t.indicator) & (df.year == t.target_year)]
        vals = sel.groupby(["point", "replicate"]).value.first().reset_index()
        met = vals.value >= t.target if t.direction == "higher" else vals.value <= t.target
        g = vals.assign(met=met.astype(float)).groupby("point")
        f = pd.DataFrame(
            {
                "probability": g.met.mean(),
                "replicates": g.size(),
                "median": g.value.median(),
            }
        ).reset_index()
        f = f.merge(settings, on="point", how="left")
        f = f.assign(
            indicator=t.indicator,
            target_year=int(t.target_year),
            target=float(t.target),
            kind=t.kind,
            direction=t.direction,
            _order=order,
        )
        frames.append(f)
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    sign = np.where(out.direction == "higher", 1.0, -1.0)
    out["_margin"] = (out["median"] - out.target) * sign
    out = out.sort_values(
        ["_order", "probability", "_margin", "point"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    return out[cols].reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# choosing and labelling points
# ------------------------------------------------------------------------------------------------
def headline_year(df: pd.DataFrame) -> int:
    years = sorted(int(y) for y in pd.unique(df.year))
    return 2030 if 2030 in years else years[-1]


def default_points(df: pd.DataFrame, reference: int = 0, n: int = N_BEST) -> list[int]:
    """The reference, then up to n other points by highest mean rd_intensity in 2030 (or the last
    simulated year)."""
    year = headline_year(df)
    sel = df[(df.indicator == HEADLINE) & (df.year == year) & (df.point != reference)]
    best = sel.groupby("point").value.mean().sort_values(ascending=False, kind="stable")
    # Sobol' and Morris designs hold points that differ only in the dummy factor: the same lever
    # settings (and the same runs) are shown once, under the lowest point number.
    settings = _settings(df).set_index("point")
    # the base scenario (`--reference base`) is not among the design points
    seen = {tuple(settings.loc[reference])} if reference in settings.index else set()
    out = [int(reference)]
    for p in sorted(best.index, key=lambda q: (-best[q], q)):
        key = tuple(settings.loc[p])
        if key in seen:
            continue
        seen.add(key)
        out.append(int(p))
        if len(out) > n:
            break
    return out


def _abbreviations(levers: list[str]) -> dict[str, str]:
    """Short lever names for labels: initials of the words (`jjj_unified_tech_market` -> `jutm`),
    the full id when two levers would share initials."""
    short = {lv: "".join(w[0] for w in lv.split("_") if w) for lv in levers}
    counts = pd.Series(list(short.values())).value_counts()
    return {lv: (s if counts[s] == 1 else lv) for lv, s in short.items()}


def point_labels(df: pd.DataFrame, points: list[int]) -> dict[int, str]:
    """`point 3 (jutm=0.5, brp=0.3)`; just `point 3` with more than MAX_LABEL_LEVERS levers;
    `base` for the base scenario (`--reference base`)."""
    settings = _settings(df).set_index("point")
    levers = lever_columns(df)
    short = _abbreviations(levers)
    out = {}
    for p in points:
        if p == BASE_POINT:
            out[p] = "base"
            continue
        if len(levers) > MAX_LABEL_LEVERS:
            out[p] = f"point {p}"
            continue
        vals = ", ".join(f"{short[lv]}={settings.at[p, lv]:.3g}" for lv in levers)
        out[p] = f"point {p} ({vals})"
    return out


BASE = "base"  # `--reference base`: the sweep's base scenario, run on the sweep's seeds
BASE_POINT = -1  # its point number in the comparison's tables


def base_runs(
    store, df: pd.DataFrame, *, workers: int | None = None, progress: bool = False
) -> pd.DataFrame:
    """The sweep's base scenario run paired with its points (sim.experiments.sweep.run_base), as
    rows like `store.load()`: point BASE_POINT and, in the lever columns, the base's constant
    values (NaN for a schedule)."""
    from sim.experiments.sweep import run_base

    base, runs = run_base(store, workers=workers, progress=progress)
    out = runs.drop(columns="scenario").assign(point=BASE_POINT)
    for lever in lever_columns(df):
        v = base.levers.get(lever)
        out[lever] = float(v) if isinstance(v, int | float) else np.nan
    return out[list(df.columns)]


def _check_points(df: pd.DataFrame, where: str, points, reference) -> tuple[int, list[int]]:
    known = sorted(int(p) for p in pd.unique(df.point))
    span = f"{known[0]}-{known[-1]}" if known else "none"

    def one(p, what):
        try:
            q = int(p)
        except (TypeError, ValueError):
            raise InputError(where, what, f"{p!r} is not a point number") from None
        if q != p and str(q) != str(p).strip():
            raise InputError(where, what, f"{p!r} is not a point number")
        if q not in known:
            raise InputError(where, what, f"point {q} has no runs (points with runs: {span})")
        return q

    ref = (
        BASE_POINT if reference == BASE else one(0 if reference is None else reference, "reference")
    )
    if points is None:
        return ref, default_points(df, ref)
    chosen = [ref]
    for p in points:
        q = one(p, "points")
        if q not in chosen:
            chosen.append(q)
    if len(chosen) < 2:
        raise InputError(where, "points", "give at least one point besides the reference")
    return ref, chosen


# ------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------
def _outcome_years(df: pd.DataFrame) -> list[int]:
    years = sorted(int(y) for y in pd.unique(df.year))
    keys = [y for y in KEY_YEARS if y in years]
    return keys if years[-1] in keys else [*keys, years[-1]]


def _check_out(sweep: Path, out: Path) -> None:
    real, src = out.resolve(), sweep.resolve()
    if real == src or src.is_relative_to(real) or real.is_relative_to(src / "parts"):
        raise InputError(str(out), None, f"output folder would overwrite the sweep folder {sweep}")


def _sig(x: float, sign: bool = False) -> str:
    """Three significant digits without exponent notation (`+2600`, `-0.0473`)."""
    text = np.format_float_positional(
        float(x), precision=3, unique=False, fractional=False, trim="-"
    )
    return ("+" + text if sign and float(x) >= 0 else text) if text != "-0" else "0"


def _cell(r) -> str:
    if pd.isna(r.difference):
        return "-"
    ci = "" if pd.isna(r.ci_low) else f" [{_sig(r.ci_low)}, {_sig(r.ci_high)}]"
    return f"{_sig(r.difference, sign=True)}{ci}"


def _prob_wide(probs: pd.DataFrame, points: list[int]) -> pd.DataFrame:
    """Targets x chosen points: probability (2 places), target with `*` when derived."""
    sel = probs[probs.point.isin(points)]
    rows = []
    for (ind, y), g in sel.groupby(["indicator", "target_year"], sort=False):
        t = g.iloc[0]
        row = {
            "target": f"{ind} {y}",
            "value": _fmt(t.target) + ("*" if t.kind == "derived" else ""),
        }
        by = g.set_index("point").probability
        for p in points:
            row[f"p{p}"] = "-" if p not in by.index else f"{by[p]:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def _uncertainty_line(record: dict) -> str:
    """What stands behind each point's bands: posterior draws (replicate r has draw d(r) at
    every point) or seed noise only."""
    from sim.experiments.posterior import MIN_DRAWS

    spec = record.get("spec", {})
    mode = spec.get("uncertainty") or (record.get("base_scenario") or {}).get("uncertainty", "seed")
    reps = int(spec.get("replicates") or 0)
    if mode == "seed":
        return "Uncertainty: seed noise only (every replicate at the calibrated point values)."
    text = (
        f"Uncertainty: parameters and seed noise: replicate r runs with posterior draw d(r) at "
        f"every point, so each point rests on at most {reps} distinct draws and differences "
        "between points are paired on seeds and parameters."
    )
    if reps < MIN_DRAWS:
        text += f" **Too few draws** (below {MIN_DRAWS}): bands and probabilities are rough."
    return text


def write_point_comparison(
    sweep_dir: str | Path,
    out_dir: str | Path,
    points: list[int] | None = None,
    reference: int | None = None,
    force: bool = False,
    *,
    indicators: list[str] | None = None,
    n_boot: int = 2000,
    workers: int | None = None,
    progress: bool = False,
) -> str:
    """Compare design points of a sweep; write out_dir atomically and return the console text.

    `reference` defaults to point 0; `points` to the reference plus the up to 5 points with the
    highest mean rd_intensity in 2030 (last simulated year if earlier). The sweep may be
    incomplete (only stored runs are used; the text says how many are missing). `indicators`
    limits the fan charts (default: every indicator, as `innosim compare` plots); `n_boot` is the
    number of bootstrap resamples of the paired differences.

    `reference="base"` compares the points with the sweep's base scenario instead of a design
    point: its runs (`base_runs`: the sweep's scale, seeds, replicates and uncertainty, on
    `workers` processes) are made here, as point -1 labelled `base`, and written to
    `base_runs.csv`. `progress`: bars of those runs and of the plots on stderr."""
    sweep = Path(sweep_dir)
    store = open_store(sweep)
    where = str(sweep)
    df = store.load(progress=progress)
    if df.empty:
        raise InputError(where, None, "no runs stored yet (run `innosim sweep SPEC --out DIR`)")
    if reference == BASE and points is not None and BASE_POINT in points:
        raise InputError(where, "points", "the base is the reference here")
    ref, chosen = _check_points(df, where, points, reference)
    out = Path(out_dir)
    _check_out(sweep, out)
    with claim(out, force):
        base = None
        if ref == BASE_POINT:  # after the folder is checked and held: minutes of runs
            base = base_runs(store, df, workers=workers, progress=progress)
            df = pd.concat([base, df], ignore_index=True)
        runs = store.runs()
        missing = int((~runs.key.isin(store.done())).sum())

        labels = point_labels(df, chosen)
        years = _outcome_years(df)
        present = [i for i in INDICATORS if i in set(df.indicator)]
        if indicators is None:
            plot_list = present
        else:
            unknown = [i for i in indicators if i not in present]
            if unknown:
                raise InputError(
                    where, "indicators", f"{unknown[0]!r} not in the sweep ({', '.join(present)})"
                )
            plot_list = list(indicators)
        outcomes = [Outcome(i, y) for y in years for i in present]
        seed = int(store.spec()["spec"].get("seed", 0))
        diffs = paired_differences(df, ref, chosen, outcomes, n_boot=n_boot, seed=seed)
        probs = target_probabilities(df)
        settings = _settings(df)
        chosen_table = (
            settings.set_index("point")
            .loc[chosen]
            .reset_index()
            .assign(
                label=[labels[p] for p in chosen],
                role=["reference", *["compared"] * (len(chosen) - 1)],
            )
        )
        fan = df[df.point.isin(chosen)].copy()
        fan["scenario"] = fan.point.map(labels)

        with staged_folder(out, MARKER, kind="point comparison") as tmp:
            from sim.analysis.plots import plot_comparison

            chosen_table.to_csv(tmp / MARKER, index=False)
            if base is not None:
                base.to_csv(tmp / "base_runs.csv", index=False)
            diffs.to_csv(tmp / "paired_differences.csv", index=False)
            probs.to_csv(tmp / "target_probabilities.csv", index=False)
            scen = [labels[p] for p in chosen]
            plotted = [
                plot_comparison(fan, ind, tmp / "plots" / f"{ind}.png", scen).stem
                for ind in progress_bar(plot_list, desc="plots", unit="plot", enabled=progress)
            ]
            md = _markdown_report(
                sweep,
                store.spec(),
                ref,
                chosen,
                points is None,
                chosen_table,
                diffs,
                probs,
                plotted,
                missing,
                len(runs),
                headline_year(df),
            )
            (tmp / "comparison.md").write_text(md, encoding="utf-8")

        text = [
            chosen_table.drop(columns=["label"]).to_string(
                index=False, float_format="{:.4g}".format
            ),
            "",
            _prob_wide(probs, chosen).to_string(index=False)
            if not probs.empty
            else "No target falls inside the sweep's horizon.",
            "(share of each point's replicates meeting the target; * = derived target)",
        ]
        hy = headline_year(df)
        head = diffs[(diffs.indicator == HEADLINE) & (diffs.year == hy)]
        if not head.empty:
            text += [
                "",
                f"{HEADLINE}@{hy} minus {_ref_name(ref)} (paired by seed, 95% bootstrap CI):",
            ]
            text += [
                f"  point {r.point}: {_cell(r)}" + ("" if r.common_seeds else "  (other seeds)")
                for r in head.itertuples()
            ]
        if missing:
            text += ["", f"note: {missing} of {len(runs)} runs missing (finish with --resume)"]
        text += ["", f"{len(chosen)} point(s) vs {_ref_name(ref)} -> {out}/ (comparison.md)"]
        return "\n".join(text)


def _ref_name(ref: int) -> str:
    return "the base scenario" if ref == BASE_POINT else f"point {ref}"


def _markdown_report(
    sweep: Path,
    record: dict,
    ref: int,
    chosen: list[int],
    defaulted: bool,
    chosen_table: pd.DataFrame,
    diffs: pd.DataFrame,
    probs: pd.DataFrame,
    plotted: list[str],
    missing: int,
    total: int,
    hy: int,
) -> str:
    spec = record.get("spec", {})
    lines = [
        f"# innosim sweep points: {record.get('name', sweep.name)}",
        "",
        f"Sweep `{sweep}`: sampler {spec.get('sampler')}, {spec.get('replicates')} replicates "
        f"per point, scale {record.get('scale')}.",
        "",
        _uncertainty_line(record),
    ]
    if missing:
        lines.append(f"Incomplete: {missing} of {total} runs missing; only stored runs are used.")
    lines += ["", "## Points compared", ""]
    if defaulted:
        lines += [
            f"Reference: {_ref_name(ref)}. Compared: the up to {N_BEST} other points with the highest "
            f"mean {HEADLINE} in {hy} (the plan's headline indicator; 2030, or the last simulated "
            "year of a shorter sweep), each lever setting once (Sobol' and Morris designs repeat "
            "settings that differ only in the dummy factor); choose others with `--points` and "
            "`--reference`.",
            "",
        ]
    lines += [_markdown(chosen_table.map(lambda v: f"{v:.4g}" if isinstance(v, float) else v)), ""]
    if ref == BASE_POINT:
        lines += [
            "The reference `base` (point -1) is the sweep's base scenario (`spec.yaml`, "
            "`base_scenario`), run for this comparison at the sweep's scale, root seed, "
            "replicates and uncertainty (`base_runs.csv`): replicate r has the seed and posterior "
            "draw it has at every point on the common seeds, so its differences are paired like "
            "two points'. Its lever columns hold the base's constant values (blank: a schedule).",
            "",
        ]
    lines += [
        "## Paired differences",
        "",
        f"Mean over seeds of (point - {_ref_name(ref)}) for the same seed (common random "
        "numbers), "
        "with a bootstrap 95% interval over the seed pairs (none with one replicate). In Sobol' "
        "and Morris designs the dummy factor selects the seeds: points with another dummy value "
        "are paired replicate by replicate instead (`common_seeds` false; wider intervals). "
        "Indicators "
        "with a target in every key year, the others in the last one; all in "
        "`paired_differences.csv`.",
        "",
    ]
    with_target = set(target_table().indicator)
    last = int(diffs.year.max()) if not diffs.empty else None
    sel = diffs[diffs.indicator.isin(with_target) | (diffs.year == last)].copy()
    if not sel.empty:
        sel["cell"] = [_cell(r) for r in sel.itertuples()]
        wide = sel.pivot_table(
            index=["indicator", "year"], columns="point", values="cell", aggfunc="first", sort=False
        )
        wide.columns = [f"point {c}" for c in wide.columns]
        lines += [_markdown(wide.reset_index()), ""]
    lines += ["## Target probabilities", ""]
    if probs.empty:
        lines.append("No target falls inside the sweep's horizon.")
    else:
        lines += [
            "Share of replicates meeting each target, for the compared points (* = derived "
            "target):",
            "",
            _markdown(_prob_wide(probs, chosen)),
            "",
            "Every design point, best first per target, is in `target_probabilities.csv`; the "
            "three most likely lever settings per target (ties: the larger margin of the median "
            "over the target first):",
            "",
        ]
        levers = [c for c in probs.columns if c not in _PROB_FIXED]
        top = probs.drop_duplicates(["indicator", "target_year", *levers])
        top = top.groupby(["indicator", "target_year"], sort=False).head(3).copy()
        top = top.drop(columns=["kind", "direction"])
        top = top.map(lambda v: f"{v:.4g}" if isinstance(v, float) else v)
        lines += [_markdown(top), ""]
    lines += ["## Trajectories", "", "Median and 10-90% band across replicates per point.", ""]
    for name in plotted:
        lines += [f"### {name}", "", f"![{name}](plots/{name}.png)", ""]
    return "\n".join(lines)
