"""The output elasticity to R&D capital that the model implies, measured by a paired experiment.

The parameter `rd_output_elasticity` sets how a sector's market grows with its R&D capital; what a
reader of the production-function literature wants is the elasticity the whole model implies,
with every feedback (R&D follows revenue, bought technology, exits and entry, the share
competition between firms). The experiment: from the first step every firm's preferred R&D
intensity (and entrants') is raised by `boost`; with the same seeds, the change of technology
firms' revenue by `year` over the change of their R&D capital is the implied elasticity
(log changes). Reported in the fit report and the closing figures of issue 15.
"""

from __future__ import annotations

import numpy as np


def _run(scenario, seed: int, scale: float, boost: float, year: int):
    from sim.inputs.scenario import load_scenario
    from sim.model import InnovationModel

    sc = load_scenario(scenario)
    if boost:
        from sim.inputs.params import Params

        base = Params(sc.parameters).entrant_rd_intensity
        sc = sc.with_parameters({"entrant_rd_intensity": base * (1.0 + boost)})
    m = InnovationModel(sc, scale=scale, rng=seed)
    if boost:
        f = m.firms
        f.rd_pref[f.live] *= 1.0 + boost
    try:
        while m.running and not (
            m.year == year
            and (m.steps - 1) % m.steps_per_year == 0
            and m.steps > 1
            and year in m.annual
        ):
            m.step()
        f = m.firms
        live = f.live
        bj = live[f.in_beijing(live)]
        return float(f.revenue[bj].sum()), float(f.rd_stock[bj].sum())
    finally:
        m.release()


def implied_output_elasticity(
    scenario="baseline",
    *,
    seeds=(1, 2, 3, 4),
    scale: float = 0.05,
    boost: float = 0.2,
    year: int = 2025,
    progress: bool = False,
) -> dict:
    """Paired runs with and without `boost` more R&D; returns the per-seed and mean elasticity
    d ln(revenue) / d ln(R&D capital) at the end of `year` (`progress`: a bar of the runs on
    stderr, as the fit report's other runs have)."""
    from tqdm.auto import tqdm

    per_seed = []
    bar = tqdm(total=2 * len(seeds), desc="implied elasticity", unit="run", disable=not progress)
    try:
        for s in seeds:
            y0, k0 = _run(scenario, s, scale, 0.0, year)
            bar.update()
            y1, k1 = _run(scenario, s, scale, boost, year)
            bar.update()
            per_seed.append(np.log(y1 / y0) / np.log(k1 / k0))
    finally:
        bar.close()
    e = np.asarray(per_seed)
    return {
        "elasticity": float(e.mean()),
        "sd_across_seeds": float(e.std(ddof=1)) if e.size > 1 else float("nan"),
        "per_seed": [float(x) for x in e],
        "seeds": list(seeds),
        "scale": scale,
        "boost": boost,
        "year": year,
    }
