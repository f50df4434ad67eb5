"""Mesa agents as views on the struct-of-arrays populations.

State lives in the populations' arrays (one slot per agent) and decisions are taken there,
vectorised. An `AgentView` gives each agent an identity in Mesa (unique_id, AgentSets,
`model.agents_by_type`) and reads its state from its slot. One generic class; each kind has a
subclass only because Mesa keys `agents_by_type` by class (`model.agents_by_type[Firm]`).

Regions, universities and funds are few and fixed: their agents are made at build
(`add_views`). Firms enter and leave by the thousand every step: a firm's Mesa id is taken from
the model's counter when it enters (as `Agent.__init__` takes it), but its agent object is made
only when someone asks the model for its agents (`LazyViews`); from then on entries and exits
keep the registries in step. A run that never asks (the command line, sweeps) makes none.
"""

from __future__ import annotations

import gc
import itertools
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
    """Agents of class `cls` for `slots`, with new ids, registered with the model as one batch
    (what `cls(model, slot)` does for each)."""
    slots = slots.tolist() if isinstance(slots, np.ndarray) else [int(s) for s in slots]
    ids = take_ids(model, len(slots)).tolist()
    return register(model, cls, ids, {"slot": slots})


def take_ids(model, n: int) -> np.ndarray:
    """`n` new Mesa ids from the model's counter, in order (as `Agent.__init__` takes them)."""
    counter = mesa.Agent._ids[model]
    return np.fromiter(itertools.islice(counter, n), dtype=np.int64, count=n)


def register(model, cls: type[AgentView], ids: list[int], values: dict | None = None) -> list:
    """Make agents of class `cls` with the given ids (and attributes `values`, a list each) and
    register them with the model as one batch: the model's three registries (`_agents`, the
    AgentSet of `cls`, all agents), as `Model.register_agent` does for one.

    The two AgentSets (weak-keyed) get one shared weak reference per agent without a callback
    (`weakref.ref(agent)`, which CPython caches on the agent), built in C: a callback would only
    drop an agent that died while registered, and the model's `_agents` holds every registered
    agent strongly until `deregister` (or Mesa's `Agent.remove`) drops it. One weak reference per
    agent instead of two is also one object fewer for the garbage collector to traverse."""
    values = values or {}
    if not ids:
        return []
    new = cls.__new__
    batch: list[AgentView] = []
    append = batch.append
    # Every object made here outlives the batch (agents, their weak references): the collector
    # would only traverse them. It is paused (if it runs) while they are made, so the batch
    # counts as one young-generation collection instead of one per 700 objects.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        columns = list(values.items())
        for k, uid in enumerate(ids):
            agent = new(cls)
            agent.model = model
            agent.unique_id = uid
            agent.pos = None
            for name, col in columns:
                setattr(agent, name, col[k])
            append(agent)
        if batch and cls not in model._agents_by_type:  # the first agent creates the AgentSet
            model.register_agent(batch[0])
            rest = batch[1:]
        else:
            rest = batch
        model._agents.update(dict.fromkeys(rest))
        refs = dict.fromkeys(map(weakref.ref, rest))
        model._agents_by_type[cls]._agents.data.update(refs)
        model._all_agents._agents.data.update(refs)
    finally:
        if paused:
            gc.enable()
    return batch


def deregister(model, cls: type[AgentView], agents) -> None:
    """Deregister agents (what `Agent.remove` does, as a batch); agents a user already removed
    are skipped."""
    registered = model._agents
    agents = [a for a in agents if a in registered]
    if not agents:
        return
    of_type, everyone = model._agents_by_type[cls]._agents, model._all_agents._agents
    for agent in agents:
        del registered[agent]
    refs = list(map(weakref.ref, agents))  # equal (same referent) to the registered ones
    deque(map(of_type.data.__delitem__, refs), maxlen=0)
    deque(map(everyone.data.__delitem__, refs), maxlen=0)
    # what WeakKeyDictionary.__delitem__ does besides deleting: a pending removal (an agent
    # that died while the set was being iterated) is scrubbed before the next len()
    of_type._dirty_len = everyone._dirty_len = True


class LazyViews:
    """The Mesa agents of a population that changes every step (firms), made on demand.

    Each member has its Mesa id from entry (`entered`), in the population's id field, which
    increases with the slot (members are appended and compaction keeps their order), so an
    agent finds its slot from its id by bisection and nothing is updated when slots move. The
    agent objects are made the first time the model is asked for its agents (`activate`, called
    by `InnovationModel.agents`, `agents_by_type` and `agent_types`); after that, entries and
    exits register and deregister them as they happen, so an AgentSet a user holds stays
    exact. Until then a run makes no agent objects: they cost a fifth of a full-scale run."""

    def __init__(self, model, cls: type[AgentView], population, id_field: str):
        self.model, self.cls, self.population, self.id_field = model, cls, population, id_field
        self.active = False
        self.by_id: dict[int, AgentView] = {}

    def _ids(self, slots) -> np.ndarray:
        return getattr(self.population, self.id_field)[slots]

    def entered(self, slots: np.ndarray) -> None:
        """New members in `slots` (appended): their ids, and agents if active.

        Ids must increase with the slot. A copy of a model (`copy.deepcopy`) starts Mesa's
        counter, kept per model object, at 1 again: the copy's counter then moves on past the
        largest id in use, where the original's stood."""
        n = len(slots)
        if n == 0:
            return
        field = getattr(self.population, self.id_field)
        ids = take_ids(self.model, n)
        first = int(slots[0])
        last = int(field[first - 1]) if first > 0 else -1
        if ids[0] <= last:  # a copied model: its counter restarted
            taken = max((a.unique_id for a in self.model._agents), default=0)
            mesa.Agent._ids[self.model] = itertools.count(max(last, taken) + 1)
            ids = take_ids(self.model, n)
        field[slots] = ids
        if self.active:
            self._make(ids)

    def left(self, slots: np.ndarray) -> None:
        """Members in `slots` leave: their agents (if made) are deregistered."""
        if self.active:
            pop = self.by_id.pop
            deregister(self.model, self.cls, [pop(i) for i in self._ids(slots).tolist()])

    def activate(self) -> None:
        """Make and register the agents of all living members (once)."""
        if not self.active:
            self._make(self._ids(self.population.live))
            self.active = True

    def agent(self, slot: int) -> AgentView:
        """The Mesa agent of the member in `slot` (making all agents if none were made)."""
        self.activate()
        return self.by_id[int(self._ids(slot))]

    def _make(self, ids: np.ndarray) -> None:
        ids = ids.tolist()
        self.by_id.update(zip(ids, register(self.model, self.cls, ids), strict=True))


def slot_of(ids: np.ndarray, size: int, uid: int, alive: np.ndarray | None = None) -> int:
    """Slot of the member with id `uid` among the first `size` slots (ids increase with slot);
    with `alive`, a member that left (its slot not yet dropped) is gone too."""
    s = int(np.searchsorted(ids[:size], uid))
    if s >= size or ids[s] != uid or (alive is not None and not alive[s]):
        raise LookupError(f"agent {uid} has left the model (its state is gone)")
    return s
