"""The model's time and randomness: steps, calendar years, per-step rates, random streams.

One `Clock` per run. Every stochastic process draws from its own named stream (`STREAMS`), all
spawned from the run's seed in a fixed order, so adding a process at the end or changing a lever
does not reshuffle the draws of the others.

Draws keyed by agent (`AgentDraws`) give common random numbers across scenarios: a firm's growth
shock, innovation luck and closure draw at a step depend only on the run's seed, the stream, the
step and the firm's id, not on how many other firms exist or in what order they are stored. Two
scenarios run with the same seed therefore give each incumbent firm the same luck, so their
difference measures the policy rather than reshuffled noise.
"""

from __future__ import annotations

import numpy as np

STREAMS = (
    "init",
    "innovation",
    "growth",
    "talent",
    "capital",
    "technology",
    "entry",
    "exit",
    "relocation",
    "hte",
)


def seed_of(rng) -> int:
    """The run's seed from `rng`: None (fresh entropy), an int, or a Generator (one draw)."""
    if rng is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63 - 1))
    if isinstance(rng, (int, np.integer)):
        if rng < 0:
            raise ValueError(f"rng seed must be non-negative, got {rng}")
        return int(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy Generator, not {type(rng).__name__}")


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


class Clock:
    """Steps of one run (`steps_per_year` a year, `start_year`..`end_year`) and its streams."""

    def __init__(self, start_year: int, end_year: int, steps_per_year: int, seed: int):
        self.start_year, self.end_year, self.steps_per_year = start_year, end_year, steps_per_year
        self.dt = 1.0 / steps_per_year
        self.horizon = (end_year - start_year + 1) * steps_per_year
        self.seed = seed
        seqs = np.random.SeedSequence(seed).spawn(len(STREAMS))
        self.streams = {
            name: np.random.default_rng(s) for name, s in zip(STREAMS, seqs, strict=True)
        }

    def per_step(self, annual_rate: float) -> float:
        """Probability per step equivalent to an annual probability."""
        return 1.0 - (1.0 - min(annual_rate, 0.999999)) ** self.dt

    def draws(self, stream: str, step: int, ids: np.ndarray) -> AgentDraws:
        """Per-agent draws keyed by agent id (common random numbers across scenarios)."""
        return AgentDraws(self.seed, STREAMS.index(stream), step, ids)
