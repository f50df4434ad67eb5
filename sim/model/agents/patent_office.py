"""The patent office: decides pending invention-patent applications of firms and universities.

State: none of its own (applications pending and patents held are the applicants' state).
Decision each step: a share dt / pendency of the pending applications is decided, a share
`patent_grant_rate` of those is granted; valid patents lapse at `patent_lapse_rate` a year.
"""

from __future__ import annotations

import numpy as np


def decide(pending: np.ndarray, patents: np.ndarray, idx, p, clock) -> np.ndarray:
    """Decide the applications of applicants `idx` (arrays updated in place); returns grants."""
    rng = clock.streams["innovation"]
    decided = rng.binomial(pending[idx], min(1.0, clock.dt / p.patent_pendency_years))
    granted = rng.binomial(decided, p.patent_grant_rate)
    pending[idx] -= decided
    lapsed = rng.binomial(patents[idx], clock.per_step(p.patent_lapse_rate))
    patents[idx] += granted - lapsed
    return granted
