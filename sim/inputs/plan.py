"""The plan's structure: pillars, tasks and which levers carry each task (seeds/plan_tasks.yaml
with seeds/levers.yaml). Used by `innosim levers`, `innosim plan` and the pillar scenarios."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from sim.inputs.levers import Lever, registry
from sim.inputs.paths import SEEDS


@dataclass(frozen=True)
class Task:
    number: int | str  # 1-18, or "safeguard"
    title_zh: str
    title_en: str
    pillar: str | None  # pillar id; None for the funding safeguard
    not_modelled: str


@dataclass(frozen=True)
class Pillar:
    id: str
    title_zh: str
    title_en: str
    tasks: tuple[int, ...]


@lru_cache(maxsize=1)
def _raw() -> dict:
    with open(SEEDS / "plan_tasks.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def pillars() -> dict[str, Pillar]:
    return {
        p["id"]: Pillar(p["id"], p["title_zh"], p["title_en"], tuple(p["tasks"]))
        for p in _raw()["pillars"]
    }


def tasks() -> list[Task]:
    """The 18 tasks and the funding safeguard, in plan order."""
    pillar_of = {t: pid for pid, p in pillars().items() for t in p.tasks}
    return [
        Task(
            t["number"], t["title_zh"], t["title_en"], pillar_of.get(t["number"]), t["not_modelled"]
        )
        for t in _raw()["tasks"]
    ]


def levers_of_task(number: int | str) -> list[Lever]:
    return [lv for lv in registry().values() if number in lv.plan_task]


def levers_of_pillar(pillar_id: str) -> list[Lever]:
    """Levers with at least one plan task in the pillar."""
    numbers = set(pillars()[pillar_id].tasks)
    return [lv for lv in registry().values() if numbers & set(lv.plan_task)]


def pillar_of_lever(lever_id: str) -> str:
    """The pillar a lever's costs are reported under: that of its first plan task
    ("safeguards" for the funding safeguard)."""
    first = registry()[lever_id].plan_task[0]
    for pid, p in pillars().items():
        if first in p.tasks:
            return pid
    return "safeguards"


def lever_records() -> list[dict]:
    """Every lever as a plain record (for JSON and tables)."""
    out = []
    for lv in registry().values():
        out.append(
            {
                "id": lv.id,
                "name": lv.name,
                "plan_task": list(lv.plan_task),
                "unit": lv.unit,
                "default": lv.default,
                "plan": lv.plan,
                "low": lv.low,
                "high": lv.high,
                "mechanism": lv.mechanism,
                "clause_zh": lv.clause_zh,
                "clause_en": lv.clause_en,
                "basis": lv.basis,
                "cost": dict(lv.cost),
            }
        )
    return out


def format_levers() -> str:
    """A console table of the levers."""
    rows = [("id", "task", "unit", "2015", "plan", "range", "name")]
    for r in lever_records():
        rows.append(
            (
                r["id"],
                ",".join(map(str, r["plan_task"])),
                r["unit"],
                f"{r['default']:g}",
                f"{r['plan']:g}",
                f"[{r['low']:g}, {r['high']:g}]",
                r["name"],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for k, row in enumerate(rows):
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=False)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(lines)


def format_plan() -> str:
    """The plan's tasks by pillar, with the levers that carry each and what is left out."""
    lines = []
    by_pillar: dict[str | None, list[Task]] = {}
    for t in tasks():
        by_pillar.setdefault(t.pillar, []).append(t)
    for pid, p in pillars().items():
        lines.append(f"== {p.title_en} ({p.title_zh})  [pillar: {pid}]")
        for t in by_pillar.get(pid, []):
            lines += _task_lines(t)
        lines.append("")
    lines.append("== Safeguards (四、保障措施)")
    for t in by_pillar.get(None, []):
        lines += _task_lines(t)
    n_with = sum(1 for t in tasks() if levers_of_task(t.number))
    lines.append("")
    lines.append(f"{n_with} of {len(tasks())} tasks carried by {len(registry())} levers.")
    return "\n".join(lines)


def _task_lines(t: Task) -> list[str]:
    head = f"  {t.number}. {t.title_en} ({t.title_zh})"
    levers = levers_of_task(t.number)
    out = [head]
    if levers:
        for lv in levers:
            out.append(f"       lever {lv.id}: {lv.default:g} -> {lv.plan:g} {lv.unit}")
    else:
        out.append("       no lever")
    out.append(f"       left out: {t.not_modelled}")
    return out
