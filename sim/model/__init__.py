"""The agent-based model only: agents (state and decisions), markets, the clock, the schedule.

No files, no tables, no command line: a model is built from a resolved scenario and its
parameters, and reports its annual indicators as plain numbers.
`InnovationModel` is loaded on first use, so that the light parts (indicator ids, sectors) can be
read without importing Mesa.
"""

from __future__ import annotations

__all__ = ["InnovationModel", "REGIONS", "STREAMS"]


def __getattr__(name: str):
    if name in __all__:
        from sim.model import model

        return getattr(model, name)
    raise AttributeError(f"module 'sim.model' has no attribute {name!r}")
