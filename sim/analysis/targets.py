"""Targets and attainment: official targets from seeds/observed_indicators.csv, milestones that the
plan leaves without a number derived by the rules in seeds/targets.yaml (labelled "derived")."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
import yaml

from sim.inputs import data
from sim.inputs.paths import SEEDS


@lru_cache(maxsize=1)
def _spec() -> dict:
    with open(SEEDS / "targets.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache(maxsize=1)
def target_table() -> pd.DataFrame:
    """One row per indicator and target year: indicator, target_year, target, kind, source."""
    spec = _spec()
    table = data.observed_table()
    rows = []
    for ind, cfg in spec["indicators"].items():
        official = []
        for o in cfg["official"]:
            r = table[
                (table.indicator == ind) & (table.year == o["year"]) & (table.kind == o["kind"])
            ]
            if r.empty:
                raise ValueError(f"targets.yaml: no {o['kind']} row for {ind} {o['year']}")
            r = r.iloc[0]
            official.append((int(r.year), float(r.value), f"official ({r.kind}): {r.source}"))
        official.sort()
        obs = data.observations()
        obs = obs[(obs.indicator == ind) & (obs.year <= spec["base_year"])].sort_values("year")
        base_y = int(obs.year.iloc[-1])
        base_v = data.observed(ind, base_y)
        years = {y for y, _, _ in official} | set(spec["milestones"])
        for year in sorted(years):
            hit = [o for o in official if o[0] == year]
            if hit:
                _, value, source = hit[0]
                kind = "official"
            elif year < official[-1][0]:
                nxt = next(o for o in official if o[0] > year)
                prev = [o for o in official if o[0] < year]
                y0, v0 = (prev[-1][0], prev[-1][1]) if prev else (base_y, base_v)
                value = v0 * (nxt[1] / v0) ** ((year - y0) / (nxt[0] - y0))
                kind = "derived"
                source = (
                    f"derived: compound path from {y0} ({v0:g}) to the {nxt[0]} target ({nxt[1]:g})"
                )
            else:
                last = official[-1]
                y0, v0 = (
                    (official[-2][0], official[-2][1]) if len(official) > 1 else (base_y, base_v)
                )
                rate = (last[1] / v0) ** (1 / (last[0] - y0))
                value = max(last[1], last[1] * rate ** (year - last[0]))
                kind = "derived"
                source = (
                    f"derived: {last[0]} target ({last[1]:g}) extended at the {y0}-{last[0]} rate "
                    f"({(rate - 1) * 100:+.1f}%/yr), floored at the target"
                )
            rows.append(
                {
                    "indicator": ind,
                    "target_year": year,
                    "target": value,
                    "kind": kind,
                    "direction": cfg["direction"],
                    "source": source,
                }
            )
    return pd.DataFrame(rows)


def attainment(indicators: pd.DataFrame) -> pd.DataFrame:
    """Share of replicates meeting each target (only target years inside the simulated horizon)."""
    tt = target_table()
    out = []
    for row in tt.itertuples():
        sel = indicators[
            (indicators.indicator == row.indicator) & (indicators.year == row.target_year)
        ]
        if sel.empty:
            continue
        vals = sel.groupby("replicate").value.first()
        met = vals >= row.target if row.direction == "higher" else vals <= row.target
        out.append(
            {
                "indicator": row.indicator,
                "target_year": row.target_year,
                "target": row.target,
                "kind": row.kind,
                "source": row.source,
                "median": float(vals.median()),
                "probability": float(met.mean()),
                "replicates": int(vals.size),
            }
        )
    return pd.DataFrame(out)
