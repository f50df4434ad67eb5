"""Stylized facts of industrial dynamics, checked on the firm records of a run (`innosim facts`).

`innosim run ... --agents` writes `firms.parquet` (`sim.experiments.firm_records`); `innosim facts DIR` reads
it and judges each fact below: the statistic, the empirical reference it is judged against, the
accepted range, and whether that range is taken from the literature or is a modelling judgement.
Statistics pool all replicates (replicates are independent draws of the same process); the
range across replicates is reported alongside.

The statistics are plain functions (`hill_alpha`, `excess_kurtosis`, `volatility_size_slope`,
`exit_share_within`, `top_share`, `gini`) so they can be checked on data with known answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.atomic import add_to_stamp, claim, write_text
from sim.inputs.errors import InputError
from sim.inputs.tables import read_table

RECORDS_FILE = "firms.parquet"
# The columns the facts need and their kinds (sim.inputs.tables.read_table); the measures may hold
# missing values, the keys may not.
REQUIRED = {
    "replicate": "int",
    "year": "int",
    "firm_id": "int",
    "sector": "text",
    "region": "text",
    "origin": "text",
    "alive": "bool",
    "employees": "number",
    "revenue": "number",
    "rd_spend": "number",
    "patents": "number",
    "age": "number",
}
MEASURES = ("employees", "revenue", "rd_spend", "patents", "age")
VENTURE_COLUMNS = ("vc_raised", "vc_proceeds", "vc_value")

PARETO_TAIL = 0.05  # share of the largest firms used by the Hill estimator
SIZE_BINS = 10  # size classes (quantiles of log revenue) for growth statistics
MIN_BIN = 30  # fewest growth observations in a size class
SURVIVAL_YEARS = 5


# ------------------------------------------------------------------------------------------------
# statistics
# ------------------------------------------------------------------------------------------------
def hill_alpha(x, tail: float = PARETO_TAIL) -> tuple[float, int]:
    """Hill estimator of the Pareto tail exponent on the largest `tail` share of `x`.

    alpha = k / sum_{i<=k} ln(x_(i) / x_(k+1)), with x_(1) >= x_(2) >= ... and k = floor(tail n).
    Returns (alpha, k); alpha is NaN with fewer than 10 tail observations.
    """
    x = np.asarray(x, dtype=float)
    x = np.sort(x[np.isfinite(x) & (x > 0)])[::-1]
    k = int(math.floor(tail * x.size))
    if k < 10:
        return math.nan, k
    logs = np.log(x[:k] / x[k])
    s = logs.sum()
    return (k / s if s > 0 else math.nan), k


def excess_kurtosis(x) -> float:
    """Excess kurtosis m4 / m2^2 - 3 (0 for a normal law, 3 for a Laplace law)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 4:
        return math.nan
    d = x - x.mean()
    m2 = np.mean(d**2)
    return float(np.mean(d**4) / m2**2 - 3.0) if m2 > 0 else math.nan


def size_classes(log_size, bins: int = SIZE_BINS) -> np.ndarray:
    """Size class 0..bins-1 of each observation: quantiles of log size."""
    log_size = np.asarray(log_size, dtype=float)
    edges = np.quantile(log_size, np.linspace(0, 1, bins + 1)[1:-1])
    return np.searchsorted(edges, log_size, side="right")


def volatility_size_slope(
    size, growth, bins: int = SIZE_BINS, min_bin: int = MIN_BIN
) -> tuple[float, int]:
    """Slope of ln sd(growth) on ln size across size classes (Stanley et al. 1996: -beta).

    Observations are put in `bins` classes by quantiles of ln size; each class with at least
    `min_bin` observations gives (mean ln size, ln sd of growth); the slope is the least-squares
    fit. Returns (slope, number of classes used).
    """
    size, growth = np.asarray(size, dtype=float), np.asarray(growth, dtype=float)
    ok = np.isfinite(size) & (size > 0) & np.isfinite(growth)
    ls, g = np.log(size[ok]), growth[ok]
    if ls.size < 2 * min_bin:
        return math.nan, 0
    cls = size_classes(ls, bins)
    xs, ys = [], []
    for c in np.unique(cls):
        sel = cls == c
        if sel.sum() >= min_bin:
            sd = g[sel].std(ddof=1)
            if sd > 0:
                xs.append(ls[sel].mean())
                ys.append(math.log(sd))
    if len(xs) < 3:
        return math.nan, len(xs)
    return float(np.polyfit(xs, ys, 1)[0]), len(xs)


def exit_share_within(
    entry_year, last_year, left, years: int = SURVIVAL_YEARS, horizon_end: int | None = None
) -> tuple[float, int]:
    """Share of entrants gone within `years` calendar years (the entry year counting as the
    first): a firm is gone if it left in a year <= entry year + years - 1. Only cohorts followed
    for the full window (entry year + years - 1 <= horizon_end) count. Returns (share, entrants).
    """
    entry_year, last_year = np.asarray(entry_year), np.asarray(last_year)
    left = np.asarray(left, dtype=bool)
    end = int(last_year.max()) if horizon_end is None else horizon_end
    cohort = entry_year + years - 1 <= end
    n = int(cohort.sum())
    if n == 0:
        return math.nan, 0
    gone = left & (last_year <= entry_year + years - 1)
    return float(gone[cohort].mean()), n


def top_share(values, q: float = 0.10) -> float:
    """Share of the total held by the largest `q` share of the values (at least one)."""
    v = np.sort(np.asarray(values, dtype=float))[::-1]
    v = v[np.isfinite(v)]
    total = v.sum()
    if v.size == 0 or total <= 0:
        return math.nan
    k = max(1, int(math.ceil(q * v.size)))
    return float(v[:k].sum() / total)


def gini(values) -> float:
    """Gini coefficient of non-negative values (0 = equal, (n-1)/n = all in one)."""
    v = np.sort(np.asarray(values, dtype=float))
    n, total = v.size, v.sum()
    if n == 0 or total <= 0:
        return math.nan
    i = np.arange(1, n + 1)
    return float(2.0 * np.sum(i * v) / (n * total) - (n + 1.0) / n)


# ------------------------------------------------------------------------------------------------
# derived tables
# ------------------------------------------------------------------------------------------------
def growth_table(records: pd.DataFrame) -> pd.DataFrame:
    """Year-on-year log revenue growth of surviving firms (alive at both year ends).

    Columns: replicate, firm_id, year, sector, size (revenue the year before), g (log growth),
    g_dm (g less its replicate x year x sector mean) and g_norm (g_dm standardised within the
    size class, less its mean and divided by its standard deviation there: the growth of firms of
    similar size, p(g | s) rescaled as in Stanley et al. and Bottazzi and Secchi; small firms grow
    faster on average, and mixing classes with different means would thin the tails).
    """
    live = records.loc[records.alive, ["replicate", "firm_id", "year", "sector", "revenue"]]
    prev = live[["replicate", "firm_id", "year", "revenue"]].rename(columns={"revenue": "size"})
    prev = prev.assign(year=(prev.year + 1).astype(live.year.dtype))
    g = live.merge(prev, on=["replicate", "firm_id", "year"], how="inner")
    g = g[(g.revenue > 0) & (g["size"] > 0)]
    g = g.assign(g=np.log(g.revenue.astype(float) / g["size"].astype(float)))
    g["g_dm"] = g.g - g.groupby(["replicate", "year", "sector"], observed=True).g.transform("mean")
    if len(g) >= SIZE_BINS * 2:
        cls = size_classes(np.log(g["size"].astype(float)))
        by_class = g.g_dm.groupby(cls)
        sd = by_class.transform("std")
        g["g_norm"] = (g.g_dm - by_class.transform("mean")) / sd.where(sd > 0)
    else:
        g["g_norm"] = np.nan
    return g.drop(columns="revenue").reset_index(drop=True)


def firm_histories(records: pd.DataFrame) -> pd.DataFrame:
    """One row per firm and replicate: first and last year, whether it left, and its last
    record's venture position."""
    keys = ["replicate", "firm_id"]
    r = records.sort_values([*keys, "year"])
    first = r.groupby(keys, observed=True).first()
    last = r.groupby(keys, observed=True).last()
    out = pd.DataFrame(
        {
            "origin": first.origin,
            "entry_year": first.year.astype(int),
            "last_year": last.year.astype(int),
            "left": ~last.alive.astype(bool),
        }
    )
    if "status" in last:
        out["status"] = last.status
    for c in VENTURE_COLUMNS:
        if c in last:
            out[c] = last[c].astype(float)
    return out.reset_index()


# ------------------------------------------------------------------------------------------------
# facts
# ------------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    value: float
    n: int
    detail: str = ""


@dataclass(frozen=True)
class Fact:
    id: str
    title: str
    statistic: str  # what is computed, on which firms
    reference_value: str  # what the literature reports
    low: float  # accepted range of the statistic (inclusive)
    high: float
    judgement: bool  # True: the accepted range is a modelling judgement, not a published bound
    range_note: str
    citation: str
    compute: Callable[[pd.DataFrame], Outcome]

    def judge(self, value: float) -> str:
        if not math.isfinite(value):
            return "n/a"
        return "pass" if self.low <= value <= self.high else "fail"


def _pareto(records: pd.DataFrame) -> Outcome:
    last = int(records.year.max())
    live = records[(records.year == last) & records.alive]
    a_emp, k = hill_alpha(live.employees)
    a_rev, _ = hill_alpha(live.revenue)
    skew = float(live.employees.mean() / live.employees.median()) if len(live) else math.nan
    return Outcome(
        a_emp,
        k,
        f"{last}, {len(live)} live firms, top {PARETO_TAIL:.0%} (k={k}); revenue tail "
        f"alpha {a_rev:.2f}; mean/median employees {skew:.1f}",
    )


def _growth_kurtosis(records: pd.DataFrame) -> Outcome:
    g = growth_table(records)
    k_norm = excess_kurtosis(g.g_norm)
    detail = f"{len(g)} firm-years"
    if len(g) >= SIZE_BINS * MIN_BIN:
        cls = size_classes(np.log(g["size"].astype(float)))
        per = g.g_dm.groupby(cls).apply(excess_kurtosis)
        detail += f"; within size deciles {per.min():.2f} to {per.max():.2f}"
    detail += (
        f"; unnormalised (pooled over sizes, inflated by size-dependent variance) "
        f"{excess_kurtosis(g.g):.2f}; sd of log growth {g.g.std():.3f}"
    )
    return Outcome(k_norm, len(g), detail)


def _volatility(records: pd.DataFrame) -> Outcome:
    g = growth_table(records)
    slope, used = volatility_size_slope(g["size"], g.g_dm)
    return Outcome(slope, len(g), f"{len(g)} firm-years in {used} size classes (deciles)")


def _turnover(records: pd.DataFrame) -> Outcome:
    h = firm_histories(records)
    end = int(records.year.max())
    ent = h[h.origin != "incumbent"]
    share, n = exit_share_within(ent.entry_year, ent.last_year, ent.left, horizon_end=end)
    detail = f"{n} entrants of cohorts {int(records.year.min())}-{end - SURVIVAL_YEARS + 1}"
    if n and "status" in ent:
        cohort = ent.entry_year + SURVIVAL_YEARS - 1 <= end
        within = ent.last_year <= ent.entry_year + SURVIVAL_YEARS - 1
        closed = ((ent.status == "closed") & within)[cohort].mean()
        detail += f"; closed {closed:.0%}, acquired {share - closed:.0%}"
        inc = h[h.origin == "incumbent"]
        detail += f"; incumbents gone by {end}: {inc.left.mean():.0%}"
    return Outcome(share, n, detail)


def _venture(records: pd.DataFrame) -> Outcome:
    if any(c not in records for c in VENTURE_COLUMNS):
        return Outcome(math.nan, 0, "firms.parquet has no venture columns (vc_raised, ...)")
    h = firm_histories(records)
    vc = h[h.vc_raised > 0]
    if len(vc) < 10:
        return Outcome(math.nan, len(vc), "fewer than 10 venture-backed firms")
    value = vc.vc_proceeds + vc.vc_value
    share = top_share(value)
    realised = vc[vc.left | (vc.vc_proceeds > 0)]
    lost = float((value < vc.vc_raised).mean())
    mult = value.sum() / vc.vc_raised.sum()
    return Outcome(
        share,
        len(vc),
        f"{len(vc)} firms funded in the run; {lost:.0%} return less than invested; "
        f"pooled multiple {mult:.2f}; top-decile share among {len(realised)} realised "
        f"{top_share(realised.vc_proceeds):.0%}",
    )


def _space(records: pd.DataFrame) -> Outcome:
    last = int(records.year.max())
    live = records[(records.year == last) & records.alive]
    regions = sorted(set(records.region.astype(str)))  # regions that ever hold firms
    cells = live.groupby(["sector", "region"], observed=False)[["patents", "employees"]].sum()
    diffs, weights, g_i, g_p = [], [], [], []
    for _, tab in cells.groupby(level="sector", observed=False):
        tab = tab.droplevel("sector").reindex(regions, fill_value=0)
        if tab.patents.sum() <= 0 or tab.employees.sum() <= 0:
            continue
        gi, gp = gini(tab.patents), gini(tab.employees)
        g_i.append(gi)
        g_p.append(gp)
        diffs.append(gi - gp)
        weights.append(tab.employees.sum())
    if not diffs:
        return Outcome(math.nan, 0, "no sector with patents")
    w = np.asarray(weights) / np.sum(weights)
    by_region = live.groupby("region", observed=False)[["patents", "employees"]].sum()
    top = by_region.patents.idxmax()
    pat_share = by_region.patents[top] / by_region.patents.sum()
    emp_share = by_region.employees[top] / by_region.employees.sum()
    more = sum(d > 0 for d in diffs)
    rd = live.groupby(["sector", "region"], observed=False).rd_spend.sum()
    rd_diff = [
        gini(rd[s].reindex(regions, fill_value=0))
        - gini(cells.employees[s].reindex(regions, fill_value=0))
        for s in rd.index.get_level_values(0).unique()
        if rd[s].sum() > 0 and cells.employees[s].sum() > 0
    ]
    return Outcome(
        float(np.dot(w, diffs)),
        len(diffs),
        f"{last}; Gini across {len(regions)} regions, patents {np.dot(w, g_i):.2f} vs employees "
        f"{np.dot(w, g_p):.2f}; patents more concentrated in {more} of {len(diffs)} sectors; "
        f"top region {top}: {pat_share:.0%} of patents, {emp_share:.0%} of employees; "
        f"the same with R&D for patents: {np.mean(rd_diff) if rd_diff else math.nan:+.3f} "
        "(unweighted)",
    )


FACTS: tuple[Fact, ...] = (
    Fact(
        id="size_pareto_tail",
        title="Right-skewed firm size with a Pareto (Zipf) upper tail",
        statistic="Hill estimate of the tail exponent alpha of employees, largest 5% of live "
        "firms in the last year",
        reference_value="alpha = 1.06 (US firms' employment, 1997 Census; revenue about 1.0)",
        low=0.8,
        high=1.5,
        judgement=True,
        range_note="0.8-1.5 around Axtell's 1.06 is a modelling judgement",
        citation="Axtell, R. L. (2001). Zipf distribution of U.S. firm sizes. Science, "
        "293(5536), 1818-1820. doi:10.1126/science.1062081",
        compute=_pareto,
    ),
    Fact(
        id="growth_fat_tails",
        title="Fat-tailed, Laplace-like growth rates",
        statistic="excess kurtosis of annual log revenue growth of surviving firms, less its "
        "year x sector mean, standardised (mean, sd) within the size decile",
        reference_value="tent-shaped (Laplace) growth rates: excess kurtosis 3 (normal: 0)",
        low=1.5,
        high=math.inf,
        judgement=True,
        range_note=">= 1.5 (half-way from normal to Laplace) is a modelling judgement",
        citation="Stanley, M. H. R., Amaral, L. A. N., Buldyrev, S. V., Havlin, S., Leschhorn, "
        "H., Maass, P., Salinger, M. A. & Stanley, H. E. (1996). Scaling behaviour in the growth "
        "of companies. Nature, 379(6568), 804-806. doi:10.1038/379804a0; Bottazzi, G. & Secchi, "
        "A. (2006). Explaining the distribution of firm growth rates. RAND Journal of "
        "Economics, 37(2), 235-256",
        compute=_growth_kurtosis,
    ),
    Fact(
        id="volatility_falls_with_size",
        title="Growth volatility falls with size",
        statistic="slope of ln sd(log revenue growth) on ln revenue across size deciles "
        "(surviving firms, growth less its year x sector mean)",
        reference_value="sd ~ size^-beta, beta about 0.15-0.20 (0.20 +/- 0.03 for sales)",
        low=-0.30,
        high=-0.10,
        judgement=True,
        range_note="-0.30 to -0.10 around the published -0.15 to -0.20 is a modelling judgement",
        citation="Stanley et al. (1996), Nature 379, 804-806 (above); Amaral, L. A. N., "
        "Buldyrev, S. V., Havlin, S., Maass, P., Salinger, M. A., Stanley, H. E. & Stanley, "
        "M. H. R. (1997). Scaling behavior in economics: the problem of quantifying company "
        "growth. Physica A, 244(1-4), 1-24",
        compute=_volatility,
    ),
    Fact(
        id="young_firm_turnover",
        title="High turnover of young firms",
        statistic="share of entrants (all origins) closed or acquired within five calendar "
        "years of entry (entry year included), cohorts followed for five years",
        reference_value="roughly 40-60% of new firms exit within five years (20-40% within two "
        "years; only 40-50% survive beyond seven)",
        low=0.35,
        high=0.65,
        judgement=True,
        range_note="0.35-0.65 (the published 40-60%, widened) is a modelling judgement",
        citation="Bartelsman, E., Scarpetta, S. & Schivardi, F. (2005). Comparative analysis of "
        "firm demographics and survival: evidence from micro-level sources in OECD countries. "
        "Industrial and Corporate Change, 14(3), 365-391; Criscuolo, C., Gal, P. N. & Menon, "
        "C. (2014). The dynamics of employment growth: new evidence from 18 countries. OECD "
        "Science, Technology and Industry Policy Papers No. 14 (DynEmp)",
        compute=_turnover,
    ),
    Fact(
        id="venture_returns_skewed",
        title="A few venture deals earn most of the returns",
        statistic="share of investors' total value (proceeds at listing or acquisition + open "
        "stakes at valuation) earned by the top 10% of firms funded in the run",
        reference_value="most venture investments fail; the top decile of investments earns "
        "most of the returns",
        low=0.5,
        high=1.0,
        judgement=False,
        range_note="> 50% is the literal reading of 'most'",
        citation="Kerr, W. R., Nanda, R. & Rhodes-Kropf, M. (2014). Entrepreneurship as "
        "experimentation. Journal of Economic Perspectives, 28(3), 25-48. "
        "doi:10.1257/jep.28.3.25",
        compute=_venture,
    ),
    Fact(
        id="innovation_concentrated_in_space",
        title="Innovation is more concentrated in space than production",
        statistic="Gini across regions of patents minus Gini of employees, within each sector, "
        "employment-weighted mean (live firms, last year)",
        reference_value="in most industries the Gini of innovation across places exceeds that "
        "of production",
        low=1e-9,
        high=1.0,
        judgement=False,
        range_note="> 0 is the claim itself (innovation more concentrated than production)",
        citation="Audretsch, D. B. & Feldman, M. P. (1996). R&D spillovers and the geography of "
        "innovation and production. American Economic Review, 86(3), 630-640; Feldman, M. P. "
        "(1994). The Geography of Innovation. Dordrecht: Kluwer",
        compute=_space,
    ),
)


# ------------------------------------------------------------------------------------------------
# evaluation, files
# ------------------------------------------------------------------------------------------------
CSV_COLUMNS = [
    "fact",
    "title",
    "statistic",
    "value",
    "n",
    "accepted_low",
    "accepted_high",
    "range_basis",
    "result",
    "replicate_min",
    "replicate_max",
    "replicates_holding",  # replicates whose own statistic is inside the accepted range
    "replicates_judged",  # replicates whose own statistic could be computed
    "reference_value",
    "detail",
    "citation",
]


def evaluate(records: pd.DataFrame, facts=FACTS) -> pd.DataFrame:
    """Each fact's statistic on the pooled records, its range across replicates, the verdict,
    and in how many replicates the fact holds when each is judged alone (a pooled verdict can
    hide replicates that disagree)."""
    rows = []
    reps = sorted(records.replicate.unique()) if "replicate" in records else []
    for fact in facts:
        out = fact.compute(records)
        per = []
        if len(reps) > 1:
            for _, sub in records.groupby("replicate", observed=True):
                per.append(fact.compute(sub).value)
        per = [v for v in per if math.isfinite(v)]
        holding = sum(fact.judge(v) == "pass" for v in per)
        rows.append(
            {
                "fact": fact.id,
                "title": fact.title,
                "statistic": fact.statistic,
                "value": out.value,
                "n": out.n,
                "accepted_low": fact.low,
                "accepted_high": fact.high,
                "range_basis": "modelling judgement" if fact.judgement else "literature",
                "result": fact.judge(out.value),
                "replicate_min": min(per) if per else math.nan,
                "replicate_max": max(per) if per else math.nan,
                "replicates_holding": holding,
                "replicates_judged": len(per),
                "reference_value": fact.reference_value,
                "detail": out.detail,
                "citation": fact.citation,
            }
        )
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def read_records(folder: str | Path) -> pd.DataFrame:
    """DIR/firms.parquet, checked for the columns the facts need."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), None, "no such folder (a folder written by `innosim run`)")
    path = folder / RECORDS_FILE
    if not path.exists():
        raise InputError(
            str(path),
            None,
            "no firm records; run the scenario with --agents "
            "(`innosim run SCENARIO --out DIR --agents`)",
        )
    return read_table(
        path,
        REQUIRED,
        nullable=(*MEASURES, *VENTURE_COLUMNS),
        optional={"status": "text", **{c: "number" for c in VENTURE_COLUMNS}},
        no_rows="holds no firm records",
    )


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.2f}" if abs(x) < 100 else f"{x:,.0f}"


def _accepted(row) -> str:
    lo, hi = row.accepted_low, row.accepted_high
    if math.isinf(hi):
        text = f">= {lo:g}"
    elif lo == 1e-9:
        text = f"> 0 (to {hi:g})"
    else:
        text = f"{lo:g} to {hi:g}"
    return text + (" *" if row.range_basis == "modelling judgement" else "")


def holds_in(row) -> str:
    """`3 of 4`: the replicates in which the fact holds, of those judged ('' with one)."""
    judged = int(getattr(row, "replicates_judged", 0) or 0)
    if judged < 2:
        return ""
    return f"{int(row.replicates_holding)} of {judged}"


def split_verdicts(results: pd.DataFrame) -> list[str]:
    """One line per fact whose pooled verdict some replicate, judged alone, contradicts:
    `size_pareto_tail holds in 3 of 4 replicates (pooled: pass)`."""
    out = []
    for r in results.itertuples():
        judged, holding = int(r.replicates_judged), int(r.replicates_holding)
        agreeing = holding if r.result == "pass" else judged - holding
        if judged >= 2 and r.result in ("pass", "fail") and agreeing < judged:
            out.append(f"{r.fact} holds in {holding} of {judged} replicates (pooled: {r.result})")
    return out


def display_table(results: pd.DataFrame) -> pd.DataFrame:
    """Short columns for the console and the markdown table."""
    return pd.DataFrame(
        {
            "fact": results.fact,
            "value": results.value.map(_fmt),
            "replicates": [
                f"{_fmt(a)} to {_fmt(b)}" if math.isfinite(a) else ""
                for a, b in zip(results.replicate_min, results.replicate_max, strict=True)
            ],
            "accepted": [_accepted(r) for r in results.itertuples()],
            "result": results.result,
            "holds in": [holds_in(r) for r in results.itertuples()],
        }
    )


def format_facts(results: pd.DataFrame) -> str:
    text = display_table(results).to_string(index=False)
    text += (
        "\n(* accepted range is a modelling judgement; value and result pool all replicates; "
        "holds in: replicates whose own statistic is inside the range)"
    )
    split = split_verdicts(results)
    if split:
        text += "\n\nVerdicts that differ across replicates:\n" + "\n".join(f"  {v}" for v in split)
    return text


def facts_markdown(results: pd.DataFrame, records: pd.DataFrame, source: str) -> str:
    reps = records.replicate.nunique()
    years = f"{int(records.year.min())}-{int(records.year.max())}"
    n_pass = int((results.result == "pass").sum())
    lines = [
        "# Stylized facts of industrial dynamics",
        "",
        f"Firm records: `{source}`, {reps} replicate(s), {years}, {len(records):,} firm-years.",
        f"{n_pass} of {len(results)} facts pass. Values and results pool all replicates; the "
        "replicates column gives the range of the same statistic computed on each replicate "
        "alone, and holds in the number of replicates whose own statistic is inside the accepted "
        "range. Ranges marked * are modelling judgements around the published reference, not "
        "published bounds.",
        "",
        "| fact | value | replicates | accepted | result | holds in |",
        "|---|---|---|---|---|---|",
    ]
    for row in display_table(results).itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    split = split_verdicts(results)
    if split:
        lines += ["", "**Verdicts that differ across replicates**: " + "; ".join(split) + "."]
    lines.append("")
    for row in results.itertuples():
        fact = next(f for f in FACTS if f.id == row.fact)
        lines += [
            f"## {row.title} (`{row.fact}`): {row.result}",
            "",
            f"- statistic: {row.statistic}",
            f"- value: {_fmt(row.value)} (n = {row.n}); {row.detail}",
            *([f"- holds in {holds_in(row)} replicates judged alone"] if holds_in(row) else []),
            f"- reference: {row.reference_value}",
            f"- accepted: {_accepted(row)} ({fact.range_note})",
            f"- source: {row.citation}",
            "",
        ]
    return "\n".join(lines)


def write_facts(folder: str | Path) -> pd.DataFrame:
    """Evaluate the facts on DIR/firms.parquet; write DIR/facts.csv and DIR/facts.md (each
    replaced atomically); returns the results."""
    folder = Path(folder)
    records = read_records(folder)
    results = evaluate(records)
    with claim(folder, True, check=False):
        write_text(folder / "facts.csv", results.to_csv(index=False))
        write_text(
            folder / "facts.md", facts_markdown(results, records, str(folder / RECORDS_FILE))
        )
        add_to_stamp(folder, ["facts.csv", "facts.md"], kind="run")
    return results
