"""The bare Boltzmann wealth model: Mesa's introductory tutorial MoneyModel without space or data
collection, the per-agent-step baseline of issue 19 (firm-agent steps/s >= 5x this one's agent
steps/s, measured in the same process: benchmarks/bench_model.py `--pair`).

Each step every agent, in random order (`self.agents.shuffle_do("exchange")`), gives one unit of
wealth, if it has any, to a partner drawn with `self.random.choice(...)`.

One departure from the tutorial: the partner is drawn from a plain list of the model's agents
taken once at build (`MoneyModel.agent_list`), not from `self.model.agents`. An AgentSet is not a
sequence: `random.choice` indexes it, and `AgentSet.__getitem__` copies all of its keys into a new
list on every call (`list(self._agents.keys())[item]`, Mesa 3.3), an O(n) copy per agent step
(20,000 keys here). That would measure AgentSet indexing, not an agent step: the list keeps the
step O(1), as the tutorial's step is meant to be. The agents never change, so the list stays
exact.

    python benchmarks/money_model.py [--agents 20000] [--steps 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import time

import mesa


class MoneyAgent(mesa.Agent):
    """An agent with one unit of wealth to start with."""

    def __init__(self, model):
        super().__init__(model)
        self.wealth = 1

    def exchange(self):
        if self.wealth > 0:
            # a list taken once at build, not `self.model.agents` (see the module docstring)
            other = self.random.choice(self.model.agent_list)
            other.wealth += 1
            self.wealth -= 1


class MoneyModel(mesa.Model):
    """`n` agents exchanging wealth; no space, no data collection."""

    def __init__(self, n: int = 20_000, seed=None):
        super().__init__(seed=seed)
        self.num_agents = n
        MoneyAgent.create_agents(self, n)
        self.agent_list = list(self.agents)  # partners: a list, indexed in O(1)

    def step(self):
        self.agents.shuffle_do("exchange")


def bench_bare(n: int = 20_000, steps: int = 20, seed: int = 1) -> dict:
    """Build the bare model and time `steps` steps; in this process."""
    m = MoneyModel(n, seed=seed)
    t0 = time.perf_counter()
    for _ in range(steps):
        m.step()
    run = time.perf_counter() - t0
    assert sum(a.wealth for a in m.agent_list) == n  # wealth is conserved
    mesa.Agent._ids.pop(m, None)
    return {
        "agents": n,
        "steps": steps,
        "run_s": run,
        "agent_steps_per_s": n * steps / run,
        "us_per_agent_step": run / (n * steps) * 1e6,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--agents", type=int, default=20_000)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    print(json.dumps(bench_bare(a.agents, a.steps, a.seed)))
