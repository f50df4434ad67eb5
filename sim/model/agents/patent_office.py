"""The patent office: decides pending invention-patent applications of firms and universities.

State: none of its own (applications pending and patents held are the applicants' state).
Decision each step: a share dt / pendency of the pending applications is decided, a share
`patent_grant_rate` of those is granted; valid patents lapse at `patent_lapse_rate` a year.
"""

from __future__ import annotations

import numpy as np


def decide(pending: np.ndarray, patents: np.ndarray, idx, p, clock) -> np.ndarray:
    """Decide the applications of applicants `idx` (arrays updated in place); returns grants.

    Binomial draws are taken only where there is something to decide or to lapse: numpy's
    binomial returns 0 for n = 0 without drawing, so skipping those applicants leaves every
    draw as it was and saves most of the work (most firms hold no patent and apply for none)."""
    rng = clock.streams["innovation"]
    held = pending[idx]
    decided = np.zeros_like(held)
    some = np.flatnonzero(held)
    decided[some] = rng.binomial(held[some], min(1.0, clock.dt / p.patent_pendency_years))
    granted = np.zeros_like(held)
    some = some[decided[some] > 0]
    granted[some] = rng.binomial(decided[some], p.patent_grant_rate)
    pending[idx] = held - decided
    valid = patents[idx]
    lapsed = np.zeros_like(valid)
    some = np.flatnonzero(valid)
    lapsed[some] = rng.binomial(valid[some], clock.per_step(p.patent_lapse_rate))
    patents[idx] = valid + granted - lapsed
    return granted
