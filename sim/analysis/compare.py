"""Scenario comparison: `innosim compare DIR... [--out OUT]` over folders written by `innosim run`.

For the CLI (`cmd_compare` in sim/cli.py), call exactly:

    from sim.analysis.compare import run_comparison
    print(run_comparison(args.dirs, args.out or DEFAULT_OUT, force=args.force))

`run_comparison` reads every folder once, writes the comparison folder and returns the console
text: the attainment-probability table (`format_attainment`: one row per indicator with a target;
per key year 2017/2020/2030 the target, `*` if derived, then each scenario's probability), a
blank line and `N scenario(s) -> OUT/ (comparison.md)`. Every problem with the inputs or the
output folder raises `sim.inputs.errors.InputError` naming the folder and file (the CLI's exit 2).

Atomicity is handled here, not by the CLI: `write_comparison` writes into a temporary folder next
to `out_dir` and moves it into place with `os.replace` only when complete (as `cmd_run` does). An
existing `out_dir` is replaced only with `force=True` (the CLI's `--force`, as for `run`), and
never when it is, contains or lies inside one of the input folders.

Output folder: `attainment_comparison.csv` (`attainment_table` with flat `<year> <column>`
headers), `trajectories_comparison.csv` (`trajectory_table`), `plots/<indicator>.png` (one per
key indicator: every scenario's median and 10-90% band on one axis, with observed data and
targets), `cost_effectiveness.csv` (every scenario against the first: paired effects per 100m
yuan of extra public outlay, sim.analysis.costs; when every folder has `costs.csv`) and
`comparison.md` tying them together. The console text ends with the cost-effectiveness headline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.costs import HEADLINE, cost_effectiveness, format_headline, signed
from sim.analysis.plots import plot_comparison
from sim.analysis.report import KEY_YEARS, _fmt, _markdown
from sim.experiments.atomic import claim, staged_folder
from sim.experiments.progress import progress_bar
from sim.inputs.errors import InputError
from sim.inputs.reader import read_mapping
from sim.inputs.tables import read_table
from sim.model.indicators import INDICATORS

DEFAULT_OUT = Path("reports") / "comparison"
MARKER = "comparison.md"  # the file every comparison folder has

# The columns read back and their kinds (sim.inputs.tables.read_table).
INDICATOR_COLUMNS = {
    "scenario": "any",  # a name, but one like "2030" reads as a number
    "replicate": "int",
    "year": "int",
    "indicator": "text",
    "value": "number",
}
COST_COLUMNS = {
    "scenario": "any",
    "replicate": "int",
    "year": "int",
    "lever": "text",
    "cost": "number",
}
PARAMETER_COLUMNS = {
    "scenario": "any",
    "replicate": "int",
    "parameter": "text",
    "value": "number",
}
ATTAINMENT_COLUMNS = {
    "indicator": "text",
    "target_year": "int",
    "target": "number",
    "probability": "number",
}
# attainment_table's columns for the target itself; scenarios may not use these names.
TARGET_COLUMNS = ("target", "kind")


@dataclass
class _Run:
    """One result folder as read: its key (unique scenario label), data and resolved scenario."""

    folder: Path
    key: str
    indicators: pd.DataFrame
    attainment: pd.DataFrame
    resolved: dict = field(default_factory=dict)
    costs: pd.DataFrame | None = None  # costs.csv (None: a folder written before costs existed)
    parameters: pd.DataFrame | None = None  # parameters.csv (None: written before it existed)


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------
def load_results(dirs: list[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate the indicators and attainment of result folders, keyed by scenario.

    The `scenario` column of both frames holds the scenario's name from the folder's own data;
    names shared by several folders get the folder name appended (`baseline [run2]`), so every
    folder stays a separate scenario. Raises InputError naming the folder and file when a folder
    or CSV is missing or malformed, so the CLI can exit 2 with one message.
    """
    runs = _load_runs(dirs)
    return _concat(runs)


def _load_runs(dirs: list[str | Path]) -> list[_Run]:
    if not dirs:
        raise InputError(None, None, "no result folders given")
    folders = [Path(d) for d in dirs]
    seen: dict[Path, Path] = {}
    for f in folders:
        real = f.resolve()
        if real in seen:
            raise InputError(str(f), None, f"given twice (also as {seen[real]})")
        seen[real] = f
    runs = [_read_folder(f) for f in folders]
    _disambiguate(runs)
    for r in runs:
        r.indicators["scenario"] = r.key
        r.attainment.insert(0, "scenario", r.key)
    return runs


def _read_folder(folder: Path) -> _Run:
    if not folder.exists():
        raise InputError(str(folder), None, "result folder not found (written by `innosim run`)")
    if not folder.is_dir():
        raise InputError(str(folder), None, "expected a result folder written by `innosim run`")
    ind_path = folder / "indicators.csv"
    ind = read_table(
        ind_path,
        INDICATOR_COLUMNS,
        nullable=("value",),
        optional={"seed": "int"},
        missing=f"missing from result folder {folder}",
    )
    ind_file = str(ind_path)
    _check_complete(ind, ind_file)
    names = [str(n) for n in pd.unique(ind.scenario.dropna())]
    if len(names) != 1:
        raise InputError(
            ind_file, "scenario", f"expected one scenario name, found {names or 'none'}"
        )
    ind["scenario"] = names[0]

    att_path = folder / "attainment.csv"
    att = read_table(
        att_path,
        ATTAINMENT_COLUMNS,
        nullable=("target", "kind", "source", "median", "replicates"),
        optional={"kind": "text", "source": "text", "median": "number", "replicates": "int"},
        no_rows=None,
        empty_ok=True,
        missing=f"missing from result folder {folder}",
    )
    if not att.probability.between(0.0, 1.0).all():
        raise InputError(str(att_path), "probability", "expected values between 0 and 1")
    att["target_year"] = att.target_year.astype(int)
    if "kind" not in att.columns:  # older files: the kind is the source's first word
        src = att["source"] if "source" in att.columns else pd.Series("", index=att.index)
        att["kind"] = (
            src.fillna("")
            .astype(str)
            .str.startswith("derived")
            .map({True: "derived", False: "official"})
        )
    costs = None
    if (folder / "costs.csv").exists():
        costs = read_table(folder / "costs.csv", COST_COLUMNS, empty_ok=True, no_rows=None)
    params = None
    if (folder / "parameters.csv").exists():
        params = read_table(
            folder / "parameters.csv", PARAMETER_COLUMNS, empty_ok=True, no_rows=None
        )
    return _Run(folder, names[0], ind, att, _read_resolved(folder), costs, params)


def pairing_notes(runs: list[_Run]) -> list[str]:
    """What a reader of paired effects must know: the number of posterior draws behind each
    folder, and a warning where replicate r did not run with the same parameter values in two
    folders (another posterior, another uncertainty, or a parameter a scenario sets itself), as
    then the effects are not paired on parameters. (Folders of different uncertainty modes are
    named by `comparability_warnings`.)"""
    from sim.experiments.posterior import MIN_DRAWS

    notes = []
    modes = {r.key: r.resolved.get("uncertainty", "seed") for r in runs}
    draws = {}
    for r in runs:
        if r.parameters is not None and not r.parameters.empty:
            wide = r.parameters.pivot(index="replicate", columns="parameter", values="value")
            draws[r.key] = (wide, int(len(wide.drop_duplicates())))
    for k, (_, n) in draws.items():
        if modes[k] == "posterior" and n < MIN_DRAWS:
            notes.append(
                f"**Too few draws**: {k} rests on {n} distinct posterior draw(s) (fewer than "
                f"{MIN_DRAWS}); intervals and probabilities are rough."
            )
    unpaired = len(set(modes.values())) > 1
    if runs and runs[0].key in draws:
        ref, _ = draws[runs[0].key]
        for r in runs[1:]:
            if r.key not in draws:
                continue
            other, _ = draws[r.key]
            common = ref.index.intersection(other.index)
            cols = ref.columns.intersection(other.columns)
            a, b = ref.loc[common, cols], other.loc[common, cols]
            differ = [c for c in cols if not np.allclose(a[c], b[c], rtol=1e-9, atol=0)]
            if differ:
                unpaired = True
                notes.append(
                    f"**Warning**: {r.key} ran replicate by replicate with other values of "
                    f"{', '.join(differ[:4])}{' ...' if len(differ) > 4 else ''} than "
                    f"{runs[0].key}: its effects are paired on seeds but not on parameters."
                )
    if not unpaired and len(draws) == len(runs) > 1:
        n = min(n for _, n in draws.values())
        notes.append(
            f"Paired on seeds and parameters: replicate r ran with the same seed and the same "
            f"parameter values in every folder ({n} distinct parameter set(s))."
        )
    return notes


# What each result folder records in scenario.resolved.yaml that makes two folders comparable:
# the field, what it is called in a warning, and why a difference matters.
COMPARABLE = (
    ("scale", "scale", "agent counts and seed noise differ, so effects mix scale with policy"),
    (
        "replicates",
        "replicates",
        "bands and probabilities rest on different numbers of runs; paired effects use the "
        "replicates both have",
    ),
    ("seed", "root seed", "replicate r has other seeds: effects are not paired (Welch intervals)"),
    (
        "uncertainty",
        "uncertainty",
        "posterior draws in one, seed noise only in another: bands are not comparable",
    ),
    (
        "innosim_version",
        "innosim version",
        "differences may come from the code, not the policy; run them again with one version",
    ),
    (
        "model_fingerprint",
        "model fingerprint (code and data)",
        "differences may come from the model, not the policy; run them again with one model",
    ),
)


def comparability_warnings(runs: list[_Run]) -> list[str]:
    """One line for each way the folders are not like for like (from their
    scenario.resolved.yaml): scale, replicates, root seed, uncertainty mode, innosim version or
    model fingerprint; and one for a folder without that record (nothing can be checked)."""
    out = []
    known = [r for r in runs if r.resolved]
    for r in runs:
        if not r.resolved:
            out.append(
                f"{r.folder} has no scenario.resolved.yaml: its scale, seeds, uncertainty and "
                "model version are unknown, so nothing says it is comparable"
            )
    for key, name, why in COMPARABLE:
        values = {
            r.key: r.resolved.get(key, "seed" if key == "uncertainty" else None) for r in known
        }
        if len({str(v) for v in values.values()}) > 1:
            listed = ", ".join(
                f"{k}: {v if v is not None else 'not recorded'}" for k, v in values.items()
            )
            out.append(f"the folders differ in {name} ({listed}): {why}")
    return out


def _check_complete(ind: pd.DataFrame, file: str) -> None:
    """Every replicate holds the same number of rows (a file cut at a line break, or edited,
    lacks the end of its last replicate)."""
    sizes = ind.groupby("replicate", sort=True).size()
    if sizes.nunique() > 1:
        short = sizes[sizes < sizes.max()]
        raise InputError(
            file,
            "replicate",
            f"replicate {short.index[0]} has {short.iloc[0]} rows, others {sizes.max()} "
            "(file cut short or edited?)",
        )


def _read_resolved(folder: Path) -> dict:
    """scenario.resolved.yaml for the comparison's run table (optional; malformed is an error)."""
    path = folder / "scenario.resolved.yaml"
    if not path.exists():
        return {}
    return read_mapping(path, "resolved scenario fields")


def _disambiguate(runs: list[_Run]) -> None:
    """Unique keys: shared names get `[folder name]`, then the full path if that is shared too."""
    counts = pd.Series([r.key for r in runs]).value_counts()
    for r in runs:
        if counts[r.key] > 1 or r.key in TARGET_COLUMNS:
            r.key = f"{r.key} [{r.folder.name}]"
    counts = pd.Series([r.key for r in runs]).value_counts()
    for r in runs:
        if counts[r.key] > 1:
            r.key = f"{r.key.rsplit(' [', 1)[0]} [{r.folder}]"


def _concat(runs: list[_Run]) -> tuple[pd.DataFrame, pd.DataFrame]:
    ind = pd.concat([r.indicators for r in runs], ignore_index=True)
    parts = [r.attainment for r in runs if not r.attainment.empty]
    if parts:
        att = pd.concat(parts, ignore_index=True)
    else:
        att = pd.DataFrame(columns=["scenario", *ATTAINMENT_COLUMNS, "kind"])
    # Every scenario, in input order, including those with no target in their horizon.
    att.attrs["scenarios"] = [r.key for r in runs]
    return ind, att


# ------------------------------------------------------------------------------------------------
# tables
# ------------------------------------------------------------------------------------------------
def _scenarios(df: pd.DataFrame) -> list[str]:
    return [str(s) for s in pd.unique(df.scenario)] if not df.empty else []


def attainment_table(
    att: pd.DataFrame, years: tuple[int, ...] = KEY_YEARS, scenarios: list[str] | None = None
) -> pd.DataFrame:
    """Probability of meeting each target, scenarios side by side per key year.

    Index: indicator (those with a target in a key year). Columns: MultiIndex (target_year,
    column) where, for each year, `target` is the target value, `kind` is "official" or
    "derived", then one column per scenario (in input order) holding the share of its
    replicates that meet the target (NaN if that scenario did not simulate the year). Targets
    are taken from the first scenario that has them (they come from seeds/, the same for runs
    of one version; `target_conflicts` lists any that differ). `scenarios` defaults to those
    recorded by load_results (so a scenario without targets still gets its column), else to
    the scenarios in att.
    """
    if scenarios is None:
        scenarios = att.attrs.get("scenarios") or _scenarios(att)
    sel = att[att.target_year.isin(years)] if not att.empty else att
    cols = pd.MultiIndex.from_tuples(
        [(y, c) for y in years for c in (*TARGET_COLUMNS, *scenarios)],
        names=["target_year", "column"],
    )
    order = [i for i in INDICATORS if i in set(sel.indicator)]
    order += sorted(set(sel.indicator) - set(order))
    out = pd.DataFrame(index=pd.Index(order, name="indicator"), columns=cols, dtype=object)
    for row in sel.itertuples(index=False):
        y = int(row.target_year)
        if pd.isna(out.at[row.indicator, (y, "target")]):
            out.at[row.indicator, (y, "target")] = float(row.target)
            out.at[row.indicator, (y, "kind")] = str(row.kind)
        out.at[row.indicator, (y, str(row.scenario))] = float(row.probability)
    for y in years:
        for c in ("target", *scenarios):
            out[(y, c)] = pd.to_numeric(out[(y, c)])
    # Years no scenario reaches carry no information.
    keep = [y for y in years if out[(y, "target")].notna().any()]
    return out.loc[:, out.columns.get_level_values(0).isin(keep)]


def target_conflicts(att: pd.DataFrame) -> list[str]:
    """Targets that differ between folders (e.g. runs of different innosim versions)."""
    if att.empty:
        return []
    out = []
    for (ind, y), g in att.groupby(["indicator", "target_year"], sort=False):
        if g.target.nunique() > 1:
            vals = ", ".join(f"{s}: {_fmt(t)}" for s, t in zip(g.scenario, g.target, strict=True))
            out.append(f"{ind} {y}: targets differ ({vals})")
    return out


def trajectory_table(ind: pd.DataFrame, years: tuple[int, ...] = KEY_YEARS) -> pd.DataFrame:
    """Median and 10-90% range across replicates per indicator, scenario and key year.

    One row per (indicator, scenario, year) that was simulated: columns indicator, unit,
    scenario, year, q10, median, q90, replicates. Indicators in INDICATORS order, scenarios in
    input order, so rows of one indicator sit together for side-by-side reading.
    """
    sel = ind[ind.year.isin(years)]
    rows = []
    indicators = [i for i in INDICATORS if i in set(sel.indicator)]
    indicators += sorted(set(sel.indicator) - set(indicators))
    for name in indicators:
        s_ind = sel[sel.indicator == name]
        for scen in _scenarios(ind):
            s = s_ind[s_ind.scenario == scen]
            for y in years:
                v = s[s.year == y].value
                if v.empty:
                    continue
                rows.append(
                    {
                        "indicator": name,
                        "unit": INDICATORS.get(name, ("",))[0],
                        "scenario": scen,
                        "year": y,
                        "q10": float(v.quantile(0.10)),
                        "median": float(v.median()),
                        "q90": float(v.quantile(0.90)),
                        "replicates": int(s[s.year == y].replicate.nunique()),
                    }
                )
    cols = ["indicator", "unit", "scenario", "year", "q10", "median", "q90", "replicates"]
    return pd.DataFrame(rows, columns=cols)


def _display(table: pd.DataFrame) -> pd.DataFrame:
    """attainment_table as text: `<year> target` = value (* derived), probabilities to 2 places."""
    out = pd.DataFrame(index=table.index)
    for y in pd.unique(table.columns.get_level_values(0)):
        for c in table[y].columns:
            if c == "kind":
                continue
            col = table[(y, c)]
            if c == "target":
                kind = table[(y, "kind")]
                out[f"{y} target"] = [
                    "" if pd.isna(v) else _fmt(v) + ("*" if k == "derived" else "")
                    for v, k in zip(col, kind, strict=True)
                ]
            else:
                out[f"{y} {c}"] = ["-" if pd.isna(v) else f"{v:.2f}" for v in col]
    return out.reset_index()


WIDE = 4  # above this many scenarios the console table is printed one target year at a time


def format_attainment(table: pd.DataFrame) -> str:
    """Fixed-width console text of attainment_table, with a legend line.

    Up to WIDE scenarios: one row per indicator. More: one block per target year with a row per
    scenario and a column per indicator, so that the table fits a terminal."""
    if table.empty:
        return "No target falls inside the simulated horizons."
    legend = "(share of replicates meeting the target; target * = derived; - = year not simulated)"
    years = list(pd.unique(table.columns.get_level_values(0)))
    scenarios = [c for c in table[years[0]].columns if c not in ("target", "kind")]
    if len(scenarios) <= WIDE:
        return _display(table).to_string(index=False) + "\n" + legend
    blocks = []
    for y in years:
        block = pd.DataFrame(index=["target", *scenarios])
        for ind in table.index:
            v, k = table.loc[ind, (y, "target")], table.loc[ind, (y, "kind")]
            if pd.isna(v):
                continue
            cells = [_fmt(v) + ("*" if k == "derived" else "")]
            cells += ["-" if pd.isna(p) else f"{p:.2f}" for p in table.loc[ind, y][scenarios]]
            block[ind] = cells
        if block.shape[1]:
            blocks.append(f"{y}\n" + block.to_string())
    return "\n\n".join(blocks) + "\n" + legend


def _flat(table: pd.DataFrame) -> pd.DataFrame:
    """attainment_table with flat `<year> <column>` headers for the CSV."""
    flat = table.copy()
    flat.columns = [f"{y} {c}" for y, c in table.columns]
    return flat.reset_index()


# ------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------
def key_indicators(ind: pd.DataFrame, att: pd.DataFrame) -> list[str]:
    """Indicators plotted: every indicator in the results, in the model's order (the ones with
    targets show their target lines)."""
    present = set(ind.indicator)
    return [i for i in INDICATORS if i in present]


def write_comparison(dirs: list[str | Path], out_dir: str | Path, *, force: bool = False) -> Path:
    """Write the comparison of result folders into out_dir atomically; returns comparison.md.

    Files: attainment_comparison.csv, trajectories_comparison.csv, plots/<indicator>.png,
    comparison.md. The folder is built next to out_dir and moved into place when complete;
    an existing out_dir is replaced only with force=True, never when it overlaps an input.
    """
    return _write(_load_runs(dirs), Path(out_dir), force=force)


def run_comparison(
    dirs: list[str | Path],
    out_dir: str | Path,
    *,
    force: bool = False,
    warn: Callable[[str], None] | None = None,
    progress: bool = False,
) -> str:
    """What `innosim compare` does: write the comparison, return the text to print.

    `warn` receives each comparability warning (`comparability_warnings`) as soon as the
    folders are read, before the plots are drawn (the CLI prints them on stderr); they are also
    in comparison.md. `progress`: a bar of the plots on stderr (about half a second each)."""
    runs = _load_runs(dirs)
    for w in comparability_warnings(runs):
        if warn is not None:
            warn(w)
    out = Path(out_dir)
    _write(runs, out, force=force, progress=progress)
    _, att = _concat(runs)
    text = format_attainment(attainment_table(att, scenarios=[r.key for r in runs]))
    notes = pairing_notes(runs)
    if notes:
        text += "\n\n" + "\n".join(n.replace("**", "") for n in notes)
    ce = cost_table(runs)
    if ce is not None:
        text += "\n\n" + format_headline(ce)
    elif len(runs) > 1:
        text += "\n\nNo cost-effectiveness: " + _no_costs(runs)
    return text + f"\n\n{len(runs)} scenario(s) -> {out}/ (comparison.md)"


def _no_costs(runs: list[_Run]) -> str:
    old = [str(r.folder) for r in runs if r.costs is None]
    return f"no costs.csv in {', '.join(old)} (written before innosim booked costs: run again)"


def cost_table(runs: list[_Run]) -> pd.DataFrame | None:
    """Cost-effectiveness of every scenario against the first (None if a folder has no costs or
    there is only one scenario)."""
    if len(runs) < 2 or any(r.costs is None for r in runs):
        return None
    ref = runs[0]
    parts = [
        cost_effectiveness(
            (ref.key, ref.indicators, ref.costs), (r.key, r.indicators, r.costs), KEY_YEARS
        )
        for r in runs[1:]
    ]
    return pd.concat(parts, ignore_index=True)


def _write(runs: list[_Run], out: Path, *, force: bool, progress: bool = False) -> Path:
    with claim(out, force, [r.folder for r in runs]):
        return _write_claimed(runs, out, progress)


def _write_claimed(runs: list[_Run], out: Path, progress: bool = False) -> Path:
    ind, att = _concat(runs)
    with staged_folder(out, MARKER, kind="comparison") as tmp:
        table = attainment_table(att, scenarios=[r.key for r in runs])
        traj = trajectory_table(ind)
        _flat(table).to_csv(tmp / "attainment_comparison.csv", index=False)
        traj.to_csv(tmp / "trajectories_comparison.csv", index=False)
        ce = cost_table(runs)
        if ce is not None:
            ce.to_csv(tmp / "cost_effectiveness.csv", index=False)
        scenarios = [r.key for r in runs]
        names = key_indicators(ind, att)
        plots = [
            plot_comparison(ind, name, tmp / "plots" / f"{name}.png", scenarios)
            for name in progress_bar(names, desc="plots", unit="plot", enabled=progress)
        ]
        md = _markdown_report(runs, table, traj, [p.stem for p in plots], target_conflicts(att))
        warnings = comparability_warnings(runs)
        if warnings:
            md += "\n## Comparability\n\n" + "\n".join(f"- **Warning**: {w}." for w in warnings)
            md += "\n"
        notes = pairing_notes(runs)
        if notes:
            md += "\n## Uncertainty and pairing\n\n" + "\n\n".join(notes) + "\n"
        md += _cost_markdown(runs, ce)
        (tmp / MARKER).write_text(md, encoding="utf-8")
    return out / "comparison.md"


def _markdown_report(
    runs: list[_Run],
    table: pd.DataFrame,
    traj: pd.DataFrame,
    plotted: list[str],
    conflicts: list[str],
) -> str:
    lines = [
        "# innosim scenario comparison",
        "",
        "| scenario | folder | replicates | scale | seed | description |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        res = r.resolved
        reps = res.get("replicates", r.indicators.replicate.nunique())
        desc = " ".join(str(res.get("description", "")).split()).replace("|", "/")
        lines.append(
            f"| {r.key} | `{r.folder}` | {reps} | {res.get('scale', '')} | "
            f"{res.get('seed', '')} | {desc} |"
        )
    lines += ["", "## Target attainment", ""]
    if table.empty:
        lines.append("No target falls inside the simulated horizons.")
    else:
        lines += [
            _markdown(_display(table)),
            "",
            "Share of each scenario's replicates meeting the target (- = year not simulated).",
            "Targets marked * are derived by the rules in `seeds/targets.yaml` (the 2016 plan",
            "states its 2017, 2020 and 2030 goals qualitatively). Data: `attainment_comparison.csv`.",
        ]
    lines += [f"- note: {c}" for c in conflicts]
    lines += ["", "## Trajectories", ""]
    if plotted:
        lines += [
            "Median across replicates (10-90% range in brackets) in the key years; all indicators",
            "are in `trajectories_comparison.csv`.",
            "",
        ]
        key = traj[traj.indicator.isin(plotted)].copy()
        key["cell"] = [
            f"{_fmt(m)} [{_fmt(a)}-{_fmt(b)}]"
            for m, a, b in zip(key["median"], key.q10, key.q90, strict=True)
        ]
        wide = key.set_index(["indicator", "scenario", "year"]).cell.unstack("year")
        order = pd.MultiIndex.from_frame(key[["indicator", "scenario"]].drop_duplicates())
        wide = wide.reindex(order).fillna("-")
        wide.columns = [str(c) for c in wide.columns]
        lines += [_markdown(wide.reset_index()), ""]
        for name in plotted:
            lines += [f"### {name}", "", f"![{name}](plots/{name}.png)", ""]
    else:
        lines.append("See `trajectories_comparison.csv`.")
    return "\n".join(lines) + "\n"


def _cost_markdown(runs: list[_Run], ce: pd.DataFrame | None) -> str:
    lines = ["", "## Cost-effectiveness", ""]
    if ce is None:
        why = "only one scenario" if len(runs) < 2 else _no_costs(runs)
        return "\n".join(lines + [f"Not computed: {why}."]) + "\n"
    lines += [
        f"Every scenario against `{runs[0].key}`: the effect on each indicator (scenario minus",
        "reference, in the indicator's unit) with its 95% interval, paired by replicate when both",
        "used the same seeds (Student-t; Welch otherwise), the extra public outlay cumulated from",
        "the first year to the year shown (100m yuan, nominal; `costs.csv` of each folder), and",
        "the effect per 100m yuan of extra outlay (blank where the extra outlay is not positive).",
        "Headline indicators below; every indicator is in `cost_effectiveness.csv`.",
        "",
        "| scenario | year | extra outlay | indicator | effect [95%] | per 100m yuan |",
        "|---|---|---|---|---|---|",
    ]
    for r in ce[ce.indicator.isin(HEADLINE)].itertuples(index=False):
        per = "" if pd.isna(r.effect_per_100m_yuan) else f"{r.effect_per_100m_yuan:.3g}"
        lines.append(
            f"| {r.scenario} | {r.year} | {_fmt(r.extra_cost)} | {r.indicator} ({r.unit}) | "
            f"{signed(r.effect)} [{signed(r.ci_low)}, {signed(r.ci_high)}] | {per} |"
        )
    return "\n".join(lines) + "\n"
