"""Sweeps: a design of lever settings x replicates, run in parallel into a resumable store.

Common random numbers: replicate r has the same seed at every design point (`replicate_seeds`),
and inside a run every stochastic process has its own spawned stream and per-firm draws are keyed
by firm id, so differences between points are the levers' effect, not reshuffled noise.

The one exception is the `dummy` factor of Sobol' and Morris designs: it enters no mechanism but
selects the seed set, so its sensitivity index measures how much of an outcome's variation is
noise (the noise floor). Points with the same dummy value (every Saltelli or Morris step that
changes a lever) share their seeds, so a lever's effect is still measured on common random
numbers.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim import __version__
from sim.experiments.atomic import check_out, claim
from sim.experiments.design import DUMMY, SweepSpec, design, load_spec, n_points
from sim.experiments.executors import RunFailure, Task, default_workers, run_dask, run_local
from sim.experiments.fingerprint import fingerprint
from sim.experiments.runs import replicate_scenarios, replicate_seeds, run_replicates
from sim.experiments.store import Store, open_store, run_key
from sim.inputs.errors import InputError, Interrupted, raise_if_signalled


@dataclass
class SweepSummary:
    out: Path
    points: int
    replicates: int
    total: int
    skipped: int  # already in the store (resume)
    ran: int
    seconds: float
    workers: int | str
    failures: list[tuple[Task, str]] = field(default_factory=list)
    varied: tuple[str, ...] = ()
    damaged: int = 0  # unreadable parts found on resume, removed and run again

    def __str__(self) -> str:
        rate = self.ran / self.seconds * 60 if self.seconds > 0 and self.ran else 0.0
        lines = [
            f"{self.points} design point(s) x {self.replicates} replicate(s) = {self.total} runs"
            + (
                " (repeated settings run once)"
                if self.total < self.points * self.replicates
                else ""
            ),
            f"ran {self.ran} in {self.seconds:.1f} s ({rate:.1f} runs/min on {self.workers})"
            + (f"; {self.skipped} already done" if self.skipped else "")
            + (
                f"; {self.damaged} damaged result part(s) removed and run again"
                if self.damaged
                else ""
            ),
            f"results -> {self.out}/ (load with sim.api.load_sweep)",
        ]
        if self.failures:
            lines.append(f"{len(self.failures)} run(s) FAILED (not stored; --resume retries them):")
            for t, err in self.failures[:20]:
                settings = {**t.scenario["levers"], **t.scenario["parameters"]}
                levers = ", ".join(f"{k}={settings[k]:g}" for k in self.varied)
                lines.append(
                    f"  point {t.point} replicate {t.replicate} seed {t.seed} ({levers}): {err}"
                )
            if len(self.failures) > 20:
                lines.append(f"  ... and {len(self.failures) - 20} more")
        return "\n".join(lines)


def model_id() -> str:
    """What identifies the model in a run key: the package version and the code fingerprint."""
    return f"{__version__}+{fingerprint()}"


def plan_runs(spec: SweepSpec, scale: float | None = None):
    """The design, the run table and the tasks of a sweep (deterministic given the spec)."""
    base = spec.base_scenario()  # validated once; each point's values alone are validated
    scale = sweep_scale(spec, base, scale)
    pts = design(spec)
    common = replicate_seeds(spec.seed, spec.replicates)
    levers, params = spec.lever_ids, list(spec.parameters)
    rows, tasks, seen = [], [], set()
    for rec in pts.to_dict("records"):
        sc = base.with_levers({k: float(rec[k]) for k in levers}) if levers else base
        if params:
            sc = sc.with_parameters({k: float(rec[k]) for k in params})
        seeds = common if DUMMY not in rec else _dummy_seeds(spec, rec[DUMMY])
        # replicate r's posterior draw depends on the root seed and r only (not on the dummy's
        # seed set): every point's replicate r has the same parameters the point leaves open
        per = replicate_scenarios(sc, spec.seed, len(seeds), spec.uncertainty or base.uncertainty)
        done: dict[int, tuple] = {}  # one resolution per distinct scenario object
        for r, seed in enumerate(seeds):
            if id(per[r]) not in done:
                resolved = per[r].resolved()
                resolved.pop("source", None)
                done[id(per[r])] = (resolved, _trusted(per[r], resolved))
            resolved, model = done[id(per[r])]
            key = run_key(resolved, scale, seed, model_id())
            rows.append({"point": int(rec["point"]), "replicate": r, "seed": seed, "key": key})
            if key not in seen:  # a point may repeat another (grid or Morris levels): run once
                seen.add(key)
                tasks.append(Task(key, int(rec["point"]), r, seed, scale, resolved, model))
    return pts, pd.DataFrame(rows), tasks, base, scale


def _trusted(sc, resolved: dict):
    """The Scenario a point's runs get: `sc` (validated) with its resolved fields, as validating
    `resolved` again would give, without validating it again."""
    return sc.model_copy(
        update={
            k: resolved[k]
            for k in ("levers", "shocks", "parameters", "innosim_version", "model_fingerprint")
        }
        | {"source": None}
    )


def run_base(store, *, workers: int | None = None, progress: bool = False):
    """The sweep's base scenario (as stored in its spec.yaml, with any --set values) run at the
    sweep's scale, root seed, replicates and uncertainty: replicate r has the seed and the
    posterior draw replicate r has at every point whose seeds are the common ones, so its
    differences from those points are paired exactly like two points' (`innosim compare DIR
    --reference base`). Returns the base Scenario and its runs (run_replicates' rows). Refused
    when the model's code or data changed since the sweep ran, or when the stored record does not
    rebuild the sweep's runs: the base would not be paired with them."""
    where = str(store.root)
    record = store.spec()
    stored = f"{record.get('innosim_version')}+{record.get('model_fingerprint')}"
    if stored != model_id():
        raise InputError(
            where,
            "--reference",
            f"the sweep ran on model {stored}, this is {model_id()}: a base run now would not be "
            "paired with its runs (run the sweep again, or compare design points)",
        )
    base, spec = _rebuild_base(store, record)
    runs = run_replicates(
        base,
        replicates=spec.replicates,
        seed=spec.seed,
        scale=float(record["scale"]),
        workers=workers or default_workers(spec.replicates),
        progress=progress,
        uncertainty=spec.uncertainty or base.uncertainty,
    )
    return base, runs


def _rebuild_base(store, record: dict):
    """The sweep's base Scenario and spec from its record, proven by the run keys: the record
    holds the base resolved (every parameter filled in), but a parameter the scenario left open
    draws from the posterior, so the parameters at their defaults are taken as open; the
    candidate whose plan gives exactly the stored run keys is the base (else InputError)."""
    from sim.inputs.params import Params
    from sim.inputs.scenario import Scenario

    where = str(store.root)
    raw = {
        k: v for k, v in (record.get("base_scenario") or {}).items() if k in Scenario.model_fields
    }
    try:
        spec = SweepSpec.model_validate(record["spec"])
        full = Scenario.model_validate(raw)
    except Exception as e:  # noqa: BLE001 - any malformed record is the same user problem
        raise InputError(where, "spec.yaml", f"not a readable sweep record ({e})") from None
    defaults = Params({}).as_dict()
    own = {
        k: v
        for k, v in full.parameters.items()
        if not np.array_equal(np.asarray(v, float), np.asarray(defaults.get(k), float))
    }
    stored = sorted(store.runs().key)
    for base in (full.model_copy(update={"parameters": own}), full):
        _, runs, _, _, _ = plan_runs(spec.with_base(base), float(record["scale"]))
        if sorted(runs.key) == stored:
            return base, spec
    raise InputError(
        where,
        "--reference",
        "the stored base scenario does not rebuild this sweep's runs, so a base run would not be "
        "paired with them; compare design points instead",
    )


def sweep_scale(spec: SweepSpec, base, scale: float | None) -> float:
    """The scale a sweep runs at: the command line's, else the spec's, else the base scenario's."""
    if scale is not None:
        return scale
    return spec.scale if spec.scale is not None else base.scale


def as_spec(spec: SweepSpec | str | Path) -> SweepSpec:
    """A sweep built in code (`sim.experiments.design.Sweep`) as it is, or a spec file read."""
    return spec if isinstance(spec, SweepSpec) else load_spec(spec)


def check_spec(spec_path: SweepSpec | str | Path, scale: float | None = None) -> str:
    """Validate a spec and its base scenario; one line with the sweep's size (runs nothing)."""
    spec = as_spec(spec_path)
    base = spec.base_scenario()
    scale = sweep_scale(spec, base, scale)
    n = n_points(spec)
    return (
        f"{spec_path if not isinstance(spec_path, SweepSpec) else spec.source or spec.name or 'sweep'}: ok ({spec.sampler}, {len(spec.factors)} factor(s): {n} design point(s) x "
        f"{spec.replicates} replicate(s) = {n * spec.replicates} runs at scale {scale:g}; "
        f"base {spec.base})"
    )


def _dummy_seeds(spec: SweepSpec, dummy: float) -> list[int]:
    """Replicate seeds selected by the dummy factor's value (see the module docstring)."""
    return replicate_seeds(spec.seed * 1_000_003 + int(round(float(dummy) * 1e9)), spec.replicates)


def run_sweep(
    spec_path: SweepSpec | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler=None,
    resume: bool = False,
    force: bool = False,
    scale: float | None = None,
    progress: bool = True,
    uncertainty: str | None = None,
) -> SweepSummary:
    """Run (or resume) a sweep into `out`; returns a summary. Bad input raises InputError.

    `uncertainty` ("posterior" or "seed") overrides the spec's.

    `spec_path` is a spec file or a sweep built in code (`sim.experiments.design.Sweep`).

    The scheduler is reached and the folder checked and held (see `sim.experiments.atomic.claim`) before
    anything is written; an interruption says how many runs are stored."""
    spec = as_spec(spec_path)
    if uncertainty is not None:
        from sim.experiments.posterior import check_uncertainty

        spec = spec.model_copy(update={"uncertainty": check_uncertainty(uncertainty)})
    out = Path(out)
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    with claim(out, force, check=False):
        store = Store(out)
        if not (resume and store.exists()):  # before any work: what a new folder replaces
            if store.exists() and not force:
                raise InputError(
                    str(out), None, "already holds a sweep; use --resume to continue it or --force"
                )
            check_out(out, force, spec.inputs())
        client = connect(scheduler) if isinstance(scheduler, str) else scheduler
        try:
            return _run(spec, spec_path, store, client, workers, resume, scale, progress)
        finally:
            if client is not None and client is not scheduler:
                client.close()


def connect(address: str):
    """A Dask client of the scheduler at `address`, or an InputError within a few seconds:
    a malformed or unreachable address is found before the sweep writes anything."""
    try:
        from distributed import Client
        from distributed.comm import parse_address, parse_host_port
    except ImportError:
        raise InputError(
            None, "--scheduler", "needs Dask: pip install 'innosim[cluster]'"
        ) from None
    expected = f"expected an address like tcp://HOST:8786, got {address!r}"
    try:
        scheme, loc = parse_address(address, strict=True)
        if scheme in ("tcp", "tls"):
            host, port = parse_host_port(loc)
            if not (host and isinstance(port, int) and 0 < port < 65536):
                raise ValueError("a host and a port from 1 to 65535")
    except (ValueError, TypeError) as e:
        raise InputError(None, "--scheduler", f"{expected} ({e})") from None
    if scheme == "tcp":  # refused at once rather than retried until the timeout
        import socket

        try:
            socket.create_connection((host.strip("[]"), port), timeout=CONNECT_TIMEOUT).close()
        except OSError as e:
            raise InputError(
                None,
                "--scheduler",
                f"nothing answers at {address} ({e.strerror or e}); is the scheduler running? "
                "Nothing written",
            ) from None
    # Dask bounds the connection but not its handshake (a port that accepts and never answers
    # would hang): the client is made in a thread that is given CONNECT_TIMEOUT seconds.
    import threading

    made: dict = {}

    def make() -> None:
        try:
            made["client"] = Client(address, timeout=CONNECT_TIMEOUT)
        except Exception as e:  # noqa: BLE001 - any failure to connect is the same user problem
            made["error"] = f"{type(e).__name__}: {e}"

    thread = threading.Thread(target=make, name="innosim-dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT + 1)
    if "client" in made:
        return made["client"]
    raise InputError(
        None,
        "--scheduler",
        f"cannot use the Dask scheduler at {address} within {CONNECT_TIMEOUT} s "
        f"({made.get('error', 'no answer: is it a Dask scheduler?')}); nothing written",
    )


CONNECT_TIMEOUT = 5  # seconds to reach a scheduler before giving up


def _run(spec, spec_path, store: Store, client, workers, resume, scale, progress) -> SweepSummary:
    """The sweep once its folder is checked and held and its scheduler (if any) reached."""
    out = store.root
    pts, runs, tasks, base, scale = plan_runs(spec, scale)
    record = {
        "name": spec.name or (Path(spec.source).stem if spec.source else "sweep"),
        "description": spec.description,
        "spec": spec.as_dict(),
        "scale": scale,
        "innosim_version": __version__,
        "model_fingerprint": fingerprint(),
        "base_scenario": base.resolved(),
    }
    record["base_scenario"].pop("source", None)
    damaged = 0
    fresh = True  # build a new sweep folder (in a staging folder, moved into place when made)
    if store.exists() and resume:
        open_store(out)  # readable spec and tables, or an InputError naming what is damaged
        previous = store.runs()
        if sorted(previous.key) != sorted(runs.key):
            raise InputError(
                str(out),
                None,
                "holds a different sweep (spec, scale, model code or data changed); "
                "use a new --out folder or --force to replace it",
            )
        store.clean_temporary()
        damaged = store.drop_damaged_parts()
        fresh = False
    if fresh:  # replaces `out` only once the new folder is complete
        store.create(record, pts, runs)

    done = store.done()
    todo = [t for t in tasks if t.key not in done]
    n_workers = workers or default_workers(len(todo))
    label = f"dask {client.scheduler.address}" if client else f"{n_workers} worker(s)"
    t0 = time.perf_counter()
    bar = tqdm(
        total=len(tasks),
        initial=len(tasks) - len(todo),
        desc=record["name"],
        unit="run",
        disable=not progress,
        smoothing=0.1,
    )
    failures: list[tuple[Task, str]] = []
    try:
        results = run_dask(todo, client) if client else run_local(todo, n_workers)
        for task, frame in results:
            if isinstance(frame, RunFailure):
                failures.append((task, frame.error))
                bar.write(
                    f"run failed: point {task.point} replicate {task.replicate} "
                    f"seed {task.seed}: {frame.error}"
                )
            else:
                store.write_part(task.key, frame)
            bar.update()
            raise_if_signalled()
    except KeyboardInterrupt as e:
        stored = len(store.done() & {t.key for t in tasks})
        raise Interrupted(
            f"{stored} of {len(tasks)} runs are stored in {out}; "
            "run the same command with --resume to continue",
            e,
        ) from None
    finally:
        bar.close()
    return SweepSummary(
        out=out,
        points=len(pts),
        replicates=spec.replicates,
        total=len(tasks),
        skipped=len(tasks) - len(todo),
        ran=len(todo) - len(failures),
        seconds=time.perf_counter() - t0,
        workers=label,
        failures=sorted(failures, key=lambda f: (f[0].point, f[0].replicate)),
        varied=tuple(spec.factor_ids),
        damaged=damaged,
    )
