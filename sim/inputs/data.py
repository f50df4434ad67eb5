"""Observed data (seeds/observed_indicators.csv, copied from shared/data with its sources)."""

from __future__ import annotations

from functools import cache, lru_cache

import pandas as pd

from sim.inputs.paths import SEEDS

CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}


@lru_cache(maxsize=1)
def observed_table() -> pd.DataFrame:
    df = pd.read_csv(SEEDS / "observed_indicators.csv")
    df["note"] = df["note"].fillna("")
    return df


@cache
def observed(indicator: str, year: int) -> float:
    """The best observed value (highest confidence) of an indicator in a year. Kept once looked
    up: every model build reads about fifteen (a tenth of a small build's time)."""
    df = observed_table()
    rows = df[(df.indicator == indicator) & (df.year == year) & (df.kind == "observed")]
    if rows.empty:
        raise KeyError(f"no observed value for {indicator} in {year}")
    rows = rows.assign(rank=rows.confidence.map(CONFIDENCE_RANK)).sort_values("rank")
    return float(rows.iloc[0].value)


def observations() -> pd.DataFrame:
    """All observed rows (for plots and validation)."""
    df = observed_table()
    return df[df.kind == "observed"].copy()
