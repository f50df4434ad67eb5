"""Runs and replicates.

Replicate r of a scenario uses the r-th child of `SeedSequence(seed)`, so replicate r gets the
same seed in every scenario and lever setting (common random numbers), and results do not depend
on how many workers run them or in which order.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..scenario import Scenario, load_scenario

COLUMNS = ["scenario", "replicate", "seed", "year", "indicator", "value"]


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Seeds of replicates 0..n-1: independent streams spawned from one root seed."""
    children = np.random.SeedSequence(seed).spawn(replicates)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


def run_one(
    scenario: Scenario | dict, seed: int, scale: float, overrides: dict | None = None
) -> pd.DataFrame:
    """One model run to the end of the horizon; returns year, indicator, value."""
    import mesa

    from ..model import InnovationModel

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    model = InnovationModel(sc, scale=scale, rng=seed, **(overrides or {}))
    try:
        model.run()
        return model.indicator_frame()
    finally:
        # Mesa keeps a per-model id counter in a class-level dict: drop it so the model can be freed.
        mesa.Agent._ids.pop(model, None)


def _task(args):
    scenario_dict, seed, scale, overrides, replicate = args
    df = run_one(Scenario.model_validate(scenario_dict), seed, scale, overrides)
    df.insert(0, "seed", seed)
    df.insert(0, "replicate", replicate)
    return replicate, df


def run_replicates(
    scenario,
    replicates: int,
    seed: int,
    scale: float,
    overrides: dict | None = None,
    workers: int = 1,
    progress: bool = False,
) -> pd.DataFrame:
    """All replicates of one scenario as a tidy frame (columns COLUMNS), ordered by replicate."""
    sc = load_scenario(scenario)
    seeds = replicate_seeds(seed, replicates)
    payload = sc.model_dump()
    tasks = [(payload, s, scale, dict(overrides or {}), r) for r, s in enumerate(seeds)]
    workers = max(1, min(workers or 1, replicates, os.cpu_count() or 1))
    results: dict[int, pd.DataFrame] = {}
    bar = tqdm(total=replicates, desc=f"{sc.name}", unit="run", disable=not progress)
    try:
        if workers == 1:
            for t in tasks:
                r, df = _task(t)
                results[r] = df
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as ex:
                for r, df in ex.map(_task, tasks):
                    results[r] = df
                    bar.update()
    finally:
        bar.close()
    out = pd.concat([results[r] for r in range(replicates)], ignore_index=True)
    out.insert(0, "scenario", sc.name)
    return out[COLUMNS]
