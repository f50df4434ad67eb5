"""Mesa agents as views on the struct-of-arrays populations.

State lives in the populations' arrays (one slot per agent) and decisions are taken there,
vectorised. An `AgentView` gives each agent an identity in Mesa (unique_id, AgentSets,
`model.agents_by_type`) and reads its state from its slot. One generic class; each kind has a
subclass only because Mesa keys `agents_by_type` by class (`model.agents_by_type[Firm]`).
"""

from __future__ import annotations

import gc
import weakref
from collections import deque

import mesa
import numpy as np


class AgentView(mesa.Agent):
    """One agent: `kind` names the model attribute holding its population; `slot` is its row."""

    kind: str = ""  # model attribute of the population ("firms", "universities", ...)
    fields: frozenset = frozenset()  # state variables readable as attributes

    def __init__(self, model, slot: int):
        super().__init__(model)
        self.slot = slot

    @property
    def population(self):
        return getattr(self.model, self.kind)

    def __getattr__(self, name):
        # Called only for attributes not set on the object: read them from the agent's slot.
        if name in type(self).fields:
            return getattr(self.population, name)[self.slot].item()
        raise AttributeError(name)


def add_views(model, cls: type[AgentView], slots) -> list[AgentView]:
    """Agents of class `cls` for `slots`, registered with the model as one batch.

    Does for each what `cls(model, slot)` does (an id from Mesa's per-model counter, then the
    model's three registries: `_agents`, the AgentSet of `cls`, all agents) without the per-call
    overhead: at full scale thousands of firms enter a year. Ids follow the order of `slots`.

    The two AgentSets (weak-keyed) get one shared weak reference per agent without a callback
    (`weakref.ref(agent)`, which CPython caches on the agent), built in C: a callback would only
    drop an agent that died while registered, and the model's `_agents` holds every registered
    agent strongly until `remove_views` (or Mesa's `Agent.remove`) deregisters it. One weak
    reference per agent instead of two is also one object fewer for the garbage collector to
    traverse at every full collection (tens of thousands of firms)."""
    slots = slots.tolist() if isinstance(slots, np.ndarray) else [int(s) for s in slots]
    agents: list[AgentView] = []
    if slots and cls not in model._agents_by_type:  # the first agent creates the AgentSet
        agents.append(cls(model, slots[0]))
        slots = slots[1:]
    if not slots:
        return agents
    ids = mesa.Agent._ids[model]
    new = cls.__new__
    batch = []
    append = batch.append
    # Every object made here outlives the batch (agents, their weak references): the collector
    # would only traverse them. It is paused (if it runs) while they are made, so the batch
    # counts as one young-generation collection instead of one per 700 objects, and the full
    # collections those would trigger (each traversing every object of the process) are fewer.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        for s in slots:
            agent = new(cls)
            agent.model = model
            agent.unique_id = next(ids)
            agent.pos = None
            agent.slot = s
            append(agent)
        model._agents.update(dict.fromkeys(batch))
        refs = dict.fromkeys(map(weakref.ref, batch))
        model._agents_by_type[cls]._agents.data.update(refs)
        model._all_agents._agents.data.update(refs)
    finally:
        if paused:
            gc.enable()
    agents.extend(batch)
    return agents


def remove_views(model, cls: type[AgentView], agents) -> None:
    """Deregister agents that left (what `Agent.remove` does, as a batch)."""
    of_type, everyone = model._agents_by_type[cls]._agents, model._all_agents._agents
    registered = model._agents
    for agent in agents:
        del registered[agent]
    refs = list(map(weakref.ref, agents))  # equal (same referent) to the registered ones
    deque(map(of_type.data.__delitem__, refs), maxlen=0)
    deque(map(everyone.data.__delitem__, refs), maxlen=0)
    # what WeakKeyDictionary.__delitem__ does besides deleting: a pending removal (an agent
    # that died while the set was being iterated) is scrubbed before the next len()
    of_type._dirty_len = everyone._dirty_len = True
