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
    """Draws for the agents `ids` at one step of one stream; every call is a fresh draw.

    The draws of a key (seed, stream, step) are one sequence of `n = max(ids) + 1` values per
    call, of which each agent takes the value at its id. The first call's values can be kept
    in `memo` (a dict the clock holds, one entry per stream) and reused by the next
    `AgentDraws` of the same key: a firm's growth shock is keyed by year and read at each of
    the year's steps. Values are drawn one after another from the key's generator, so a longer
    draw extends a shorter one (its first values are the same), and a kept draw grows when
    firms with larger ids appear."""

    def __init__(self, seed: int, stream: int, step: int, ids: np.ndarray, memo=None):
        self._key = (seed, stream, step)
        self._rng = None
        self._ids = np.asarray(ids, dtype=np.int64)
        self._n = int(self._ids.max()) + 1 if self._ids.size else 0
        self._memo = memo
        self._first: tuple[str, int] | None = None  # method and size of the first call

    def _draw(self, method: str) -> np.ndarray:
        n = self._n
        if self._first is None and self._memo is not None:
            self._first = (method, n)
            return self._kept(method, n)[self._ids]
        if self._rng is None:
            self._rng = self._fresh()
            if self._first is not None:  # the first call came from the memo: skip its values
                _DRAW[self._first[0]](self._rng, self._first[1])
        return _DRAW[method](self._rng, n)[self._ids]

    def _kept(self, method: str, n: int) -> np.ndarray:
        """The first `n` values of the key's first draw, kept in the memo (extended if short)."""
        stream = self._key[1]
        kept = self._memo.get(stream)
        if kept is None or kept["key"] != self._key or kept["method"] != method:
            kept = self._memo[stream] = {
                "key": self._key,
                "method": method,
                "rng": self._fresh(),
                "values": np.empty(0),
            }
        if kept["values"].size < n:
            more = _DRAW[method](kept["rng"], n - kept["values"].size)
            kept["values"] = np.concatenate([kept["values"], more])
        return kept["values"][:n]

    def _fresh(self) -> np.random.Generator:
        return np.random.default_rng(list(self._key))

    def random(self) -> np.ndarray:
        """Uniform on [0, 1)."""
        return self._draw("random")

    def exponential(self) -> np.ndarray:
        return self._draw("exponential")

    def laplace(self) -> np.ndarray:
        return self._draw("laplace")


_DRAW = {
    "random": lambda rng, n: rng.random(n),
    "exponential": lambda rng, n: rng.exponential(1.0, n),
    "laplace": lambda rng, n: rng.laplace(0.0, 1.0, n),
}


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
        self._memo: dict = {}  # stream -> its kept draw (AgentDraws)

    def per_step(self, annual_rate: float) -> float:
        """Probability per step equivalent to an annual probability."""
        return 1.0 - (1.0 - min(annual_rate, 0.999999)) ** self.dt

    def draws(self, stream: str, step: int, ids: np.ndarray, reuse: bool = False) -> AgentDraws:
        """Per-agent draws keyed by agent id (common random numbers across scenarios). `reuse`:
        the key is read at several steps (a yearly shock); its first draw is kept until the
        stream's key changes."""
        memo = self._memo if reuse else None
        return AgentDraws(self.seed, STREAMS.index(stream), step, ids, memo)
