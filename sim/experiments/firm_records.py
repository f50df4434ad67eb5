"""Firm-level yearly records of one model run (`innosim run --agents` -> `firms.parquet`).

The model is not changed: `FirmRecorder` steps it and observes it, subscribed to the events the
model announces (`sim.model.events.ModelListener`): firms leaving, and the year-end compaction of
firm slots. It keeps, per firm slot, the sum of the year's quarterly R&D (`rd_q`) and takes its
snapshot at the end of each calendar year, just before the model drops the slots of the firms that
left during the year (`compacting`). A year's records therefore hold every firm that was in the
model at some point of that year:

- firms alive at the year end (`alive` True, `status` "alive"), with their year-end state;
- firms that closed or were acquired during the year (`alive` False, `status` "closed" or
  "acquired"), with their state when they left (revenue, employees, patents as last held) and the
  R&D they spent in the year before leaving.

So `rd_spend` summed over a year's records is all firm R&D of that year, and a firm's last record
is the year it left (or the last simulated year). Firms entered during the year appear from their
entry year on. Should the model stop compacting at the year end, the recorder falls back to a
snapshot after the year's last step (firms that left in that step then keep their slot and are
reported in the next year's records instead).

Columns (one row per firm and year; dtypes compact so that scale 0.25 x 8 replicates fits easily):

| column | dtype | meaning |
|---|---|---|
| replicate | int16 | replicate number (added by the caller) |
| year | int16 | calendar year |
| firm_id | int32 | the firm's Mesa `unique_id` (unique within a run) |
| sector | category | `sim.model.sectors.SECTORS` |
| region | category | `sim.model.agents.region.REGIONS` (year end or when leaving; "core", "industry", "green" are Beijing) |
| origin | category | `sim.model.agents.firm.ORIGINS` ("incumbent" = in the 2015 population) |
| stage | category (ordered) | `sim.model.agents.firm.STAGES` |
| alive | bool | alive at the year end |
| status | category | "alive", "closed" or "acquired" (the year it left) |
| employees | float32 | persons |
| revenue | float32 | 100m yuan per year (annualised rate at the year end or when leaving) |
| rd_spend | float32 | R&D spent in the year (sum of the quarterly `rd_q`), 100m yuan |
| patents | int32 | valid invention patents |
| age | float32 | years |
| valuation | float32 | 100m yuan |
| vc_raised | float32 | equity raised in rounds during the simulation, cumulative, 100m yuan |
| vc_proceeds | float32 | paid to its investors at listing or acquisition, cumulative, 100m yuan |
| vc_value | float32 | investors' open stakes x valuation (unrealised), 100m yuan |
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.agents.firm import ORIGINS, STAGES
from sim.model.agents.region import REGIONS
from sim.model.events import ModelListener
from sim.model.sectors import SECTORS

STATUSES = ("alive", "closed", "acquired")
_REASON = {"closed": 1, "acquired": 2}

COLUMNS = [
    "replicate",
    "year",
    "firm_id",
    "sector",
    "region",
    "origin",
    "stage",
    "alive",
    "status",
    "employees",
    "revenue",
    "rd_spend",
    "patents",
    "age",
    "valuation",
    "vc_raised",
    "vc_proceeds",
    "vc_value",
]

CATEGORIES = {
    "sector": pd.CategoricalDtype(list(SECTORS)),
    "region": pd.CategoricalDtype(list(REGIONS)),
    "origin": pd.CategoricalDtype(list(ORIGINS)),
    "stage": pd.CategoricalDtype(list(STAGES), ordered=True),
    "status": pd.CategoricalDtype(list(STATUSES)),
}
BEIJING_REGIONS = REGIONS[:3]


def empty_frame() -> pd.DataFrame:
    """A frame with the record columns and dtypes and no rows."""
    return _frame({c: np.zeros(0) for c in COLUMNS if c != "replicate"}, replicate=0)


class FirmRecorder(ModelListener):
    """Steps a model to the end of its horizon and records its firms once a year."""

    def __init__(self, model):
        self.model = model
        f = model.firms
        self._rd = np.zeros(f.capacity)  # R&D of the year so far, by slot
        self._reason = np.zeros(f.capacity, dtype=np.int8)  # why a slot left this year
        self._reported = np.zeros(f.capacity, dtype=bool)  # dead slot already in the records
        self._pre_live: np.ndarray | None = None
        self._rd_added = False
        self._snapped = self._compacted = False
        self._chunks: list[dict] = []
        model.subscribe(self)  # observe, do not change

    # --- the model's announcements -----------------------------------------------------------
    def firms_leaving(self, idx, reason: str) -> None:
        idx = np.asarray(idx)
        if idx.size:
            self._fit(int(idx.max()) + 1)
            self._reason[idx] = _REASON.get(reason, 1)

    def compacting(self, firms) -> None:
        self._add_step_rd()
        self._snapshot()
        self._compacted = True

    # --- stepping ----------------------------------------------------------------------------
    def step(self) -> None:
        m, f = self.model, self.model.firms
        self._pre_live = f.live
        self._rd_added = self._snapped = self._compacted = False
        m.step()
        self._add_step_rd()
        if m.steps % m.steps_per_year == 0 and m.steps <= m.horizon and not self._snapped:
            self._snapshot()  # fallback: the model did not compact this year
        if self._snapped:
            self._rd = np.zeros(f.capacity)
            self._reason = np.zeros(f.capacity, dtype=np.int8)
            if self._compacted:
                self._reported = np.zeros(f.capacity, dtype=bool)

    def run(self) -> pd.DataFrame:
        while self.model.running:
            self.step()
        return self.frame()

    # --- internals ---------------------------------------------------------------------------
    def _fit(self, n: int) -> None:
        if n > self._rd.size:
            size = max(n, 2 * self._rd.size)
            self._rd = np.r_[self._rd, np.zeros(size - self._rd.size)]
            self._reason = np.r_[self._reason, np.zeros(size - self._reason.size, np.int8)]
            self._reported = np.r_[self._reported, np.zeros(size - self._reported.size, bool)]

    def _add_step_rd(self) -> None:
        """Add this step's R&D of the firms alive when R&D was decided (once per step)."""
        if self._rd_added or self._pre_live is None:
            return
        f, idx = self.model.firms, self._pre_live
        self._fit(f.size)
        self._rd[idx] += f.rd_q[idx]
        self._rd_added = True

    def _snapshot(self) -> None:
        m, f = self.model, self.model.firms
        n = f.size
        self._fit(n)
        alive_all = f.alive[:n]
        sl = np.flatnonzero(alive_all | ~self._reported[:n])  # slots left earlier: reported
        self._reported[:n] |= ~alive_all
        alive = alive_all[sl]
        reason = np.where(alive, 0, np.maximum(self._reason[sl], 1))
        raised, proceeds, value = (a[sl] for a in _venture_positions(m, n))
        n = sl.size
        self._chunks.append(
            {
                "year": np.full(n, m.year),
                "firm_id": f.firm_id[sl],
                "sector": f.sector[sl],
                "region": f.region[sl],
                "origin": f.origin[sl],
                "stage": f.stage[sl],
                "alive": alive,
                "status": reason,
                "employees": f.employees[sl],
                "revenue": f.revenue[sl],
                "rd_spend": self._rd[sl],
                "patents": f.patents[sl],
                "age": f.age[sl] / m.steps_per_year,
                "valuation": f.valuation[sl],
                "vc_raised": raised,
                "vc_proceeds": proceeds,
                "vc_value": value,
            }
        )
        self._snapped = True

    def frame(self, replicate: int = 0) -> pd.DataFrame:
        if not self._chunks:
            return empty_frame()
        cols = {k: np.concatenate([c[k] for c in self._chunks]) for k in self._chunks[0]}
        return _frame(cols, replicate)


def _venture_positions(m, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per firm slot: equity raised, proceeds paid out, value of open stakes (holdings table)."""
    cm, f = m.capital_market, m.firms
    out = np.zeros((3, n))
    h = getattr(cm, "h_firm", None)
    if h is None or h.size == 0:
        return out[0], out[1], out[2]
    ok = (h >= 0) & (h < n)
    slot = h[ok]
    out[0] = np.bincount(slot, weights=cm.h_cost[ok], minlength=n)
    out[1] = np.bincount(slot, weights=cm.h_proceeds[ok], minlength=n)
    open_ = cm.h_open[ok]
    out[2] = np.bincount(
        slot[open_], weights=cm.h_stake[ok][open_] * f.valuation[slot[open_]], minlength=n
    )
    return out[0], out[1], out[2]


def _codes(values, dtype: pd.CategoricalDtype) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(values, dtype=np.int64), dtype=dtype)


def _frame(cols: dict, replicate: int) -> pd.DataFrame:
    n = len(cols["year"])
    df = pd.DataFrame(
        {
            "replicate": np.full(n, replicate, dtype=np.int16),
            "year": np.asarray(cols["year"], dtype=np.int16),
            "firm_id": np.asarray(cols["firm_id"], dtype=np.int32),
            "sector": _codes(cols["sector"], CATEGORIES["sector"]),
            "region": _codes(cols["region"], CATEGORIES["region"]),
            "origin": _codes(cols["origin"], CATEGORIES["origin"]),
            "stage": _codes(cols["stage"], CATEGORIES["stage"]),
            "alive": np.asarray(cols["alive"], dtype=bool),
            "status": _codes(cols["status"], CATEGORIES["status"]),
            **{
                c: np.asarray(cols[c], dtype=np.float32)
                for c in ("employees", "revenue", "rd_spend")
            },
            "patents": np.asarray(cols["patents"], dtype=np.int32),
            **{
                c: np.asarray(cols[c], dtype=np.float32)
                for c in ("age", "valuation", "vc_raised", "vc_proceeds", "vc_value")
            },
        }
    )
    return df[COLUMNS]


def record_run(model, replicate: int = 0) -> pd.DataFrame:
    """Run `model` to the end of its horizon and return its firm records."""
    rec = FirmRecorder(model)
    rec.run()
    return rec.frame(replicate)
