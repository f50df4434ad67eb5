"""Random draws keyed by agent: common random numbers across scenarios.

A firm's growth shock, innovation luck and closure draw at a step depend only on the run's seed,
the stream, the step and the firm's id, not on how many other firms exist or in what order they
are stored. Two scenarios run with the same seed therefore give each incumbent firm the same luck,
so their difference measures the policy rather than reshuffled noise (common random numbers).
"""

from __future__ import annotations

import numpy as np


class AgentDraws:
    """Draws for the agents `ids` at one step of one stream; every call is a fresh draw."""

    def __init__(self, seed: int, stream: int, step: int, ids: np.ndarray):
        self._rng = np.random.default_rng([seed, stream, step])
        self._ids = np.asarray(ids, dtype=np.int64)
        self._n = int(self._ids.max()) + 1 if self._ids.size else 0

    def random(self) -> np.ndarray:
        """Uniform on [0, 1)."""
        return self._rng.random(self._n)[self._ids]

    def exponential(self) -> np.ndarray:
        return self._rng.exponential(1.0, self._n)[self._ids]

    def laplace(self) -> np.ndarray:
        return self._rng.laplace(0.0, 1.0, self._n)[self._ids]
