"""Where a run's time goes, by part of the step: builds the baseline once, wraps the parts of
`InnovationModel.step` with timers, runs it to the end and prints a table.

    python benchmarks/profile_model.py [--scale 1.0] [--seed 1] [--json]

Parts (in the order of the step; each timed on the model built, before the run):
- the model's methods `_start_of_year`, `_public_research`, `_firms_operate`, `_innovation`,
  `_technology_trade`, `_firms_grow`, `_firms_leave`, `_firms_enter`, `_end_of_year`, and
  `talent_market.clear`, `capital_market.clear`, `firms.closing`, `datacollector.collect`;
- "policy, levers, regions (rest)": the step's time outside all of those (levers, evaluation
  adjustments, shocks, budget cap, programmes, regions' attractiveness, Mesa's step wrapper).
The parts add up to the run. Within them, the Mesa agent lifecycle (agents as views on the firms'
arrays): `sim.model.agents.view.add_views`, `register` and `deregister`,
`FirmPopulation.compact`, and the lazy firm agents' `model.firm_views.entered` / `left` /
`activate` (firm agents are made only when the model is asked for its agents, so a plain run
shows no registration). These rows are part of the rows above (entry, exits, end of year), not
added to them, and may overlap (`add_views` calls `register`). A name the model no longer has is
reported as "(absent)" (and its time, if the work moved, falls in the part that now does it).

A part counts only its outermost calls (one part called inside another is the other's time), so
nothing is counted twice. The timers add about a microsecond per call: a few hundred calls a run.
Run alone it is one fresh process; benchmarks/bench.py (`make bench`) runs it at full scale after
the benchmarks, prints the table and stores it in benchmarks/results/latest.json (`profile`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REST = "policy, levers, regions (rest)"
# (label, object path from the model ("" = the model itself), attribute), in the step's order
PARTS = [
    ("_start_of_year", "", "_start_of_year"),
    ("_public_research", "", "_public_research"),
    ("_firms_operate", "", "_firms_operate"),
    ("talent_market.clear", "talent_market", "clear"),
    ("_innovation", "", "_innovation"),
    ("_technology_trade", "", "_technology_trade"),
    ("capital_market.clear", "capital_market", "clear"),
    ("_firms_grow", "", "_firms_grow"),
    ("firms.closing", "firms", "closing"),
    ("_firms_leave", "", "_firms_leave"),
    ("_firms_enter", "", "_firms_enter"),
    ("_end_of_year", "", "_end_of_year"),
    ("datacollector.collect", "datacollector", "collect"),
]
VIEW_MODULE = "sim.model.agents.view"
# The Mesa agent lifecycle: functions of VIEW_MODULE, methods of the firm population's class,
# methods of the model's `firm_views` (lazy agents); one the model lacks is shown "(absent)".
LIFECYCLE_FUNCTIONS = ("add_views", "register", "deregister")
LIFECYCLE_METHODS = ("compact",)
LIFECYCLE_VIEWS = ("entered", "left", "activate")


class Timers:
    """Seconds and calls per name; `outer` names count only calls not inside another outer one."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._depth = 0  # outer calls on the stack

    def wrap(self, name: str, fn, outer: bool):
        self.seconds.setdefault(name, 0.0)
        self.calls.setdefault(name, 0)
        clock, timers = time.perf_counter, self

        def timed(*args, **kwargs):
            if outer and timers._depth:
                return fn(*args, **kwargs)
            if outer:
                timers._depth += 1
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                timers.seconds[name] += clock() - t0
                timers.calls[name] += 1
                if outer:
                    timers._depth -= 1

        timed.__wrapped__ = fn
        return timed


def _resolve(model, path: str):
    obj = model
    for part in filter(None, path.split(".")):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def instrument(model, timers: Timers) -> dict[str, bool]:
    """Wrap the parts and the lifecycle; returns label -> whether it was found (in the order of
    the table: the parts, then the lifecycle)."""
    import importlib

    found = {}
    for label, path, attr in PARTS:
        obj = _resolve(model, path)
        fn = getattr(obj, attr, None) if obj is not None else None
        found[label] = callable(fn)
        if found[label]:
            setattr(obj, attr, timers.wrap(label, fn, outer=True))  # on the instance
    try:
        view = importlib.import_module(VIEW_MODULE)
    except ImportError:
        view = None
    lifecycle = {}
    for name in LIFECYCLE_FUNCTIONS:
        fn = getattr(view, name, None)
        if callable(fn):
            timed = timers.wrap(name, fn, outer=False)
            # in every loaded module of the model that has the function by name
            for mod in list(sys.modules.values()):
                modname = getattr(mod, "__name__", "") or ""
                if (modname == "sim" or modname.startswith("sim.")) and (
                    getattr(mod, name, None) is fn
                ):
                    setattr(mod, name, timed)
        lifecycle[name] = callable(fn)
    firms = getattr(model, "firms", None)
    cls = type(firms) if firms is not None else None
    for name in LIFECYCLE_METHODS:
        label = f"{cls.__name__ if cls else 'FirmPopulation'}.{name}"
        fn = cls.__dict__.get(name) if cls else None  # a plain method of the class
        ok = callable(fn) and not isinstance(fn, (staticmethod, classmethod))
        if ok:
            setattr(cls, name, timers.wrap(label, fn, outer=False))
        lifecycle[label] = ok
    views = getattr(model, "firm_views", None)
    for name in LIFECYCLE_VIEWS:
        label = f"firm_views.{name}"
        fn = getattr(views, name, None) if views is not None else None
        if callable(fn):
            setattr(views, name, timers.wrap(label, fn, outer=False))  # on the instance
        lifecycle[label] = callable(fn)
    found.update(lifecycle)
    return found


def profile(scale: float = 1.0, seed: int = 1) -> dict:
    """Build and run the baseline once in this process, timing the parts of the step."""
    from sim.model import InnovationModel

    t0 = time.perf_counter()
    m = InnovationModel(scale=scale, rng=seed)
    build = time.perf_counter() - t0
    timers = Timers()
    found = instrument(m, timers)
    run = 0.0
    clock = time.perf_counter
    while m.running:
        t0 = clock()
        m.step()
        run += clock() - t0
    steps = max(1, m.steps)

    def row(name: str, seconds: float | None, calls: int | None) -> dict:
        if seconds is None:
            return {"part": name, "absent": True}
        return {
            "part": name,
            "calls": calls,
            "seconds": seconds,
            "share": seconds / run if run else 0.0,
            "ms_per_step": seconds / steps * 1e3,
        }

    parts = []
    timed_total = 0.0
    for label, _, _ in PARTS:
        if found[label]:
            timed_total += timers.seconds[label]
            parts.append(row(label, timers.seconds[label], timers.calls[label]))
        else:
            parts.append(row(label, None, None))
    parts.insert(0, row(REST, run - timed_total, m.steps))
    within = []
    for label in list(found)[len(PARTS) :]:
        if found[label]:
            within.append(row(label, timers.seconds[label], timers.calls[label]))
        else:
            within.append(row(label, None, None))
    return {
        "scale": scale,
        "seed": seed,
        "build_s": build,
        "run_s": run,
        "steps": m.steps,
        "parts": parts,
        "within": within,
    }


def format_profile(prof: dict) -> str:
    """The profile as a text table."""
    head = ("part of the step", "calls", "seconds", "share", "ms/step")
    rows = [head]

    def add(r: dict, indent: str = "") -> None:
        if r.get("absent"):
            rows.append((indent + r["part"], "", "(absent)", "", ""))
        else:
            rows.append(
                (
                    indent + r["part"],
                    f"{r['calls']:,}",
                    f"{r['seconds']:.3f}",
                    f"{r['share'] * 100:.1f}%",
                    f"{r['ms_per_step']:.2f}",
                )
            )

    for r in prof["parts"]:
        add(r)
    run = prof["run_s"]
    rows.append(
        (
            "run (sum of the above)",
            f"{prof['steps']:,}",
            f"{run:.3f}",
            "100.0%",
            f"{run / max(1, prof['steps']) * 1e3:.2f}",
        )
    )
    rows.append(("within the above: Mesa agent lifecycle", "", "", "", ""))
    for r in prof["within"]:
        add(r, "  ")
    w = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:>{w[2]}}  {r[3]:>{w[3]}}  {r[4]:>{w[4]}}".rstrip()
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(prof["parts"]) + 2, "-" * len(lines[0]))
    title = (
        f"profile of the baseline at scale {prof['scale']:g}, seed {prof['seed']}: build "
        f"{prof['build_s']:.2f} s, run {run:.2f} s ({prof['steps']} steps)"
    )
    return title + "\n" + "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the profile as JSON")
    a = ap.parse_args()
    prof = profile(a.scale, a.seed)
    print(json.dumps(prof) if a.json else format_profile(prof))


if __name__ == "__main__":
    main()
