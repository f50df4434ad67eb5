"""Mesa agents as views on the struct-of-arrays populations.

State lives in the populations' arrays (one slot per agent) and decisions are taken there,
vectorised. An `AgentView` gives each agent an identity in Mesa (unique_id, AgentSets,
`model.agents_by_type`) and reads its state from its slot. One generic class; each kind has a
subclass only because Mesa keys `agents_by_type` by class (`model.agents_by_type[Firm]`).
"""

from __future__ import annotations

import mesa


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
    overhead: at full scale thousands of firms enter a year. Ids follow the order of `slots`."""
    slots = [int(s) for s in slots]
    agents: list[AgentView] = []
    if slots and cls not in model._agents_by_type:  # the first agent creates the AgentSet
        agents.append(cls(model, slots[0]))
        slots = slots[1:]
    ids = mesa.Agent._ids[model]
    batch = {}
    for s in slots:
        agent = cls.__new__(cls)
        agent.model, agent.unique_id, agent.pos, agent.slot = model, next(ids), None, s
        agents.append(agent)
        batch[agent] = None
    model._agents.update(batch)
    model._agents_by_type[cls]._agents.update(batch)
    model._all_agents._agents.update(batch)
    return agents


def remove_views(model, cls: type[AgentView], agents) -> None:
    """Deregister agents that left (what `Agent.remove` does, as a batch)."""
    of_type, everyone = model._agents_by_type[cls]._agents, model._all_agents._agents
    for agent in agents:
        del model._agents[agent], of_type[agent], everyone[agent]
