"""Command line: `innosim run | validate | levers | plan | compare | sweep | analyze | calibrate | facts | ui`

Bad input exits with code 2 and one message naming the file, the field path and what was
expected; results are written to a temporary folder and moved into place only when complete.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
import warnings
from pathlib import Path

import yaml

from sim import __version__
from sim.experiments.atomic import claim, staged_folder
from sim.inputs.errors import InputError, _one_line, pending_signal

EXIT_BAD_INPUT = 2


# --- option values: every bad one is argparse's two-line error naming the option, exit 2 ------
MAX_WORKERS = 256  # local worker processes (run, sweep, calibrate); see _workers
_DECIMAL = re.compile(r"[-+]?[0-9]+")  # ASCII digits only, as YAML 1.2's decimal integers
_MAX_DIGITS = 30  # longer numbers are refused before int() reads them (it stops at 4,300)


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:30]!r}... ({len(text):,} characters)"


def _whole(text: str, lo: int, hi: int, what: str) -> int:
    """A whole number in [lo, hi] written in decimal digits (blanks around it and a sign are
    fine; `1e9`, `1_000`, `0x10`, `10**9`, non-ASCII digits, `nan` and `inf` are not)."""
    s = text.strip(" \t")
    if not _DECIMAL.fullmatch(s):
        raise argparse.ArgumentTypeError(
            f"expected {what} (a whole number in decimal digits), got {_shown(text)}"
        )
    digits = s.lstrip("+-").lstrip("0")
    if len(digits) > _MAX_DIGITS:
        raise argparse.ArgumentTypeError(f"expected {what}, got a number of {len(digits):,} digits")
    v = int(s)
    if not lo <= v <= hi:
        raise argparse.ArgumentTypeError(f"expected {what}, got {v}")
    return v


def _replicates(text: str) -> int:
    from sim.inputs.scenario import (
        MAX_REPLICATES,  # the cap of a scenario's and a sweep spec's replicates
    )

    return _whole(text, 1, MAX_REPLICATES, f"a number of replicates from 1 to {MAX_REPLICATES:,}")


def _seed(text: str) -> int:
    from sim.inputs.scenario import SEED_END

    return _whole(text, 0, SEED_END - 1, "a seed from 0 to 2^63-1")


def _add_workers(parser: argparse.ArgumentParser, note: str = "") -> None:
    """The one `--workers` option of every command that runs the model, with the one default
    (sim.experiments.executors.default_workers), stated in --help with this machine's figure."""
    from sim.experiments.executors import usable_cores

    parser.add_argument(
        "--workers",
        type=_workers,
        default=None,
        help="local worker processes (default: every usable core, at most one per run; "
        f"{usable_cores()} here)" + (note or "; the results are the same for any number"),
    )


def _workers(text: str) -> int:
    """Local worker processes: at most MAX_WORKERS, a fixed cap (the same on every machine)
    beyond the hardware threads of the largest single servers; each worker is a Python
    process holding the model (100-200 MB), so more is a typo, not a plan. A cluster is
    reached through --scheduler instead."""
    return _whole(text, 1, MAX_WORKERS, f"a number of worker processes from 1 to {MAX_WORKERS}")


def _budget(text: str) -> int:
    from sim.experiments.design import MAX_SAMPLES  # the cap of a sweep spec's samples

    return _whole(text, 1, MAX_SAMPLES, f"a number of design points from 1 to {MAX_SAMPLES:,}")


def _generations(text: str) -> int:
    return _whole(text, 1, 50, "a number of generations from 1 to 50")


def _point(text: str) -> int:
    from sim.experiments.design import MAX_RUNS  # a sweep has fewer design points than runs

    return _whole(text, 0, MAX_RUNS - 1, f"a design point number from 0 to {MAX_RUNS - 1:,}")


def _reference(text: str) -> int | str:
    """`compare --reference`: a design point number, or `base` (the sweep's base scenario)."""
    from sim.analysis.points import BASE

    if text.strip().lower() == BASE:
        return BASE
    try:
        return _point(text)
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{e}, or {BASE!r} (the sweep's base scenario)") from None


def _year(text: str) -> int:
    from sim.inputs.scenario import FIRST_YEAR, LAST_YEAR  # a scenario's possible years

    return _whole(text, FIRST_YEAR, LAST_YEAR, f"a year from {FIRST_YEAR} to {LAST_YEAR}")


def _path(text: str) -> Path:
    """A file or folder name the system can take: no NUL character, no name longer than
    NAME_MAX bytes, no path longer than PATH_MAX bytes (sim.inputs.reader.path_problem), not empty."""
    from sim.inputs.reader import path_problem

    if not text:
        raise argparse.ArgumentTypeError("expected a path, got nothing ('')")
    problem = path_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{problem}: {_shown(text)}")
    return Path(text)


_NUMBER = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")  # as YAML's floats
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _setting(text: str) -> tuple[str, float]:
    """`--set NAME=VALUE`: a lever or model parameter id and a number in decimal notation
    (`0.45`, `-2`, `1.5e3`; not `nan`, `inf`, `0x10` or `1_000`), checked for its syntax here
    and against the lever's or parameter's range like a scenario file (`_apply_sets`)."""
    name, eq, value = text.partition("=")
    name, value = name.strip(" \t"), value.strip(" \t")
    if not eq or not _NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE (a lever or model parameter id, a number), got {_shown(text)}"
        )
    if not _NUMBER.fullmatch(value) or len(value) > 40:
        raise argparse.ArgumentTypeError(
            f"expected a number in decimal notation after {name}=, got {_shown(value)}"
        )
    v = float(value)
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{name}={value}: the number is too large")
    return name, v


def _add_set(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--set",
        type=_setting,
        action="append",
        metavar="NAME=VALUE",
        help=f"set a lever (seeds/levers.yaml; a constant for the whole run) or a model parameter "
        f"(seeds/parameters.yaml) of {what}, checked like the scenario file's value; repeatable",
    )


def _apply_sets(sc, sets: list[tuple[str, float]] | None, varied=()):
    """The scenario with the `--set` values (Scenario.with_values), so the checks and messages
    are a scenario file's (the field path shown after `--set`). A name neither a lever nor a
    parameter, given twice, or varied by a sweep (`varied`) is refused."""
    from sim.inputs.levers import registry
    from sim.inputs.params import definitions
    from sim.inputs.reader import did_you_mean

    if not sets:
        return sc
    levers, params = registry(), definitions()
    new_levers: dict[str, float] = {}
    new_params: dict[str, float] = {}
    for name, value in sets:
        if name in new_levers or name in new_params:
            raise InputError("--set", name, "given twice")
        if name in varied:
            raise InputError(
                "--set", name, "varied by the sweep: its design sets it at every point"
            )
        if name in levers:
            new_levers[name] = value
        elif name in params:
            new_params[name] = value
        else:
            hint = did_you_mean(name, [*levers, *params])
            raise InputError("--set", name, f"neither a lever nor a model parameter{hint}")
    try:
        return sc.with_values(new_levers, new_params)
    except InputError as e:  # a scenario file's message, shown after `--set`
        raise InputError("--set", e.path, e.message) from None


def _set_label(sets: list[tuple[str, float]] | None) -> str:
    """`a=0.45, b=2`: the `--set` values as given, for reports and folder names."""
    return ", ".join(f"{k}={v:g}" for k, v in sets or ())


class _Parser(argparse.ArgumentParser):
    """argparse's parser, its errors in exactly two lines: the usage (on one line, however
    wide) and `PROG: error: MESSAGE`; exit code 2 like every bad input."""

    def error(self, message: str):
        usage = " ".join(self.format_usage().split())
        self.exit(EXIT_BAD_INPUT, f"{usage}\n{self.prog}: error: {_one_line(message)}\n")


def _scale(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    from sim.inputs.scenario import scale_error  # the one scale rule (floor and why)

    err = scale_error(v)
    if err:
        raise argparse.ArgumentTypeError(err)
    return v


def _examples(summary: str, *examples: str) -> dict:
    """A subcommand's --help text: what it does (description) and real commands that work from
    the project's folder (epilog, printed as written); tests/test_cli.py parses every example
    and checks the files, levers and parameters it names."""
    lines = [f"  {e}" for e in examples]  # `COMMAND  # what it does`
    return {
        "description": summary,
        "epilog": "examples:\n" + "\n".join(lines),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(
        prog="innosim",
        description="Simulate Beijing's S&T innovation center plan.",
        epilog="`innosim COMMAND --help` shows what a command does, its options and examples.",
    )
    ap.add_argument("--version", action="version", version=f"innosim {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run a scenario's replicates and write indicators, attainment, plots, report",
        **_examples(
            "Run a scenario's replicates (a file, or a shipped scenario by name) and write its "
            "indicators,\nattainment of the plan's targets, costs, plots and report.md into a "
            "result folder.",
            "innosim run baseline --replicates 8 --scale 0.25  # -> reports/baseline/",
            "innosim run scenarios/plan.yaml --out reports/plan --workers 2",
            "innosim run baseline --set basic_research_priority=0.45 --set revenue_growth=0.1",
            "innosim run baseline --agents --replicates 4 --out reports/firms  # + firms.parquet",
        ),
    )
    run.add_argument(
        "scenario", type=_path, help="scenario YAML file, or a shipped scenario's name (baseline)"
    )
    run.add_argument("--out", type=_path, help="output folder (default: reports/<scenario name>)")
    run.add_argument(
        "--replicates", type=_replicates, help="number of replicates (default: the scenario's)"
    )
    run.add_argument("--seed", type=_seed, help="root seed (default: the scenario's)")
    run.add_argument(
        "--scale",
        type=_scale,
        help="share of Beijing's 2015 agents simulated (default: the scenario's)",
    )
    _add_workers(run)
    _add_set(run, "the scenario")
    run.add_argument("--force", action="store_true", help="replace an existing output folder")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary table")
    run.add_argument(
        "--uncertainty",
        choices=("posterior", "seed"),
        default=None,
        help="default: the scenario's `uncertainty` (posterior). posterior: replicate r runs with "
        "posterior draw r of the free parameters (seeds/posterior.parquet) and seed r; seed: "
        "the calibrated point values (posterior medians), seed noise only",
    )
    run.add_argument(
        "--agents",
        action="store_true",
        help="also write firms.parquet: every firm's yearly record (for `innosim facts`)",
    )

    val = sub.add_parser(
        "validate",
        help="check scenario files without running them",
        **_examples(
            "Check scenario files as `innosim run` would (every problem of every file, one line "
            "each);\nexit 2 if any is refused.",
            "innosim validate scenarios/baseline.yaml",
            "innosim validate plan pillar_reform  # shipped scenarios by name",
        ),
    )
    val.add_argument("scenarios", type=_path, nargs="+")

    lev = sub.add_parser(
        "levers",
        help="list the policy levers (seeds/levers.yaml); --effects measures each one's effect",
        **_examples(
            "The policy levers: task, unit, 2015 and plan values, range. With --effects, each "
            "lever alone\nat its plan value and range ends against the reference on paired seeds.",
            "innosim levers",
            "innosim levers --format json",
            "innosim levers --effects --lever public_rd_growth --lever basic_research_priority",
            "innosim levers --effects --out docs/lever_effects --force  # all levers (minutes)",
        ),
    )
    lev.add_argument("--format", choices=("table", "json"), default="table")
    lev.add_argument(
        "--effects",
        action="store_true",
        help="measure each lever alone at its plan value and range ends against the baseline "
        "(paired seeds); writes lever_effects.csv and lever_effects.md",
    )
    lev.add_argument("--base", type=_path, default="baseline", help="reference scenario")
    lev.add_argument("--scale", type=_scale, default=0.05, help="scale of the runs (default 0.05)")
    lev.add_argument("--replicates", type=_replicates, default=4, help="paired seeds (default 4)")
    lev.add_argument("--seed", type=_seed, default=2016, help="root seed (default 2016)")
    _add_workers(lev)
    lev.add_argument("--lever", action="append", help="only this lever (repeatable)")
    _add_set(lev, "the reference scenario (--base) and so of every setting measured against it")
    lev.add_argument(
        "--uncertainty",
        choices=("posterior", "seed"),
        default=None,
        help="default: the base scenario's `uncertainty` (posterior). posterior: replicate r runs "
        "with posterior draw r of the free parameters (seeds/posterior.parquet) and seed r; "
        "seed: the calibrated point values (posterior medians), seed noise only",
    )
    lev.add_argument("--out", type=_path, help="output folder (default reports/lever_effects)")
    lev.add_argument("--force", action="store_true", help="replace an existing output folder")
    lev.add_argument("--quiet", action="store_true", help="no progress bar or summary")

    plan = sub.add_parser(
        "plan",
        help="the plan's tasks with the levers that carry each",
        **_examples(
            "The plan's pillars and tasks, the levers that carry each, and what is not modelled.",
            "innosim plan",
            "innosim plan --format json",
        ),
    )
    plan.add_argument("--format", choices=("text", "json"), default="text")

    cmp_ = sub.add_parser(
        "compare",
        help="compare result folders of `innosim run`: trajectories side by side, attainment",
        **_examples(
            "Compare result folders of `innosim run` (attainment, trajectories, plots, paired "
            "cost-\neffectiveness against the first), or the design points of one sweep folder.",
            "innosim compare reports/baseline reports/plan --out reports/comparison",
            "innosim compare sweeps/talent  # a sweep: the best points against point 0",
            "innosim compare sweeps/talent --points 0 5 12 --reference 5",
            "innosim compare sweeps/talent --reference base  # the points against the base scenario",
        ),
    )
    cmp_.add_argument(
        "dirs",
        type=_path,
        nargs="+",
        help="result folders written by `innosim run`, or one sweep folder of `innosim sweep`",
    )
    cmp_.add_argument(
        "--out",
        type=_path,
        help="output folder (default: reports/comparison; for a sweep DIR/comparison)",
    )
    cmp_.add_argument("--force", action="store_true", help="replace an existing output folder")
    cmp_.add_argument("--quiet", action="store_true", help="no progress bars")
    cmp_.add_argument(
        "--points",
        type=_point,
        nargs="+",
        help="sweep only: design points to compare (default: the reference and the 5 points "
        "with the highest mean 2030 R&D intensity)",
    )
    cmp_.add_argument(
        "--reference",
        type=_reference,
        help="sweep only: the reference, a design point number (default: 0) or `base`: the "
        "sweep's base scenario, run now at the sweep's scale, seeds, replicates and uncertainty "
        "(paired like a point; refused if the model changed since the sweep)",
    )
    _add_workers(cmp_)

    sw = sub.add_parser(
        "sweep",
        help="run a lever sweep (design x replicates) into a results store",
        **_examples(
            "Run a sweep spec's design points x replicates (common random numbers) into a "
            "resumable\nresults store; docs/sweeps.md.",
            "innosim sweep scenarios/sweeps/talent_x_finance.yaml --dry-run  # check, print size",
            "innosim sweep scenarios/sweeps/talent_x_finance.yaml --out sweeps/talent",
            "innosim sweep scenarios/sweeps/talent_x_finance.yaml --out sweeps/talent --resume",
            "innosim sweep scenarios/sweeps/main_levers_sobol.yaml --out sweeps/sobol --scale 0.05",
        ),
    )
    sw.add_argument("spec", type=_path, help="sweep spec YAML (see scenarios/sweeps/)")
    sw.add_argument("--out", type=_path, help="sweep folder (required unless --dry-run)")
    _add_workers(sw)
    sw.add_argument(
        "--scheduler",
        help="Dask scheduler address (default: $DASK_SCHEDULER_ADDRESS; none = local processes)",
    )
    sw.add_argument("--resume", action="store_true", help="run only the runs not yet stored")
    sw.add_argument("--force", action="store_true", help="replace an existing sweep folder")
    sw.add_argument("--scale", type=_scale, help="share of Beijing's 2015 agents simulated")
    _add_set(sw, "the spec's base scenario (not one the sweep varies)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.add_argument(
        "--uncertainty",
        choices=("posterior", "seed"),
        help="override the spec's `uncertainty` (default: the base scenario's, posterior): "
        "posterior draws or seed noise only",
    )
    sw.add_argument(
        "--dry-run",
        action="store_true",
        help="check the spec and its base scenario and print the sweep's size; run nothing",
    )

    cal = sub.add_parser(
        "calibrate",
        help="Bayesian calibration of the free parameters against the 2016-2020 record "
        "(ABC-SMC) into --out; --install makes it the model's default (seeds/)",
        **_examples(
            "Fit the free parameters of seeds/calibration.yaml to the 2016-2020 record. "
            "Everything goes to\n--out; seeds/ changes only with --install or --install-only.",
            "innosim calibrate --out reports/calibration  # ABC-SMC: 45 min on 2 cores",
            "innosim calibrate --out reports/calibration --resume  # continue an interrupted fit",
            "innosim calibrate --install-only --out reports/calibration  # then make it the default",
            "innosim calibrate --holdout 2019 --out docs/calibration  # fit 2016-18, score 2019-20",
            "innosim calibrate --report-only --out docs/calibration  # fit report of the defaults",
        ),
    )
    cal.add_argument(
        "--out",
        type=_path,
        default=Path("reports/calibration"),
        help="folder of the fit (OUT/search), holdouts (OUT/holdout_YEAR) and the fit report "
        "(OUT/fit); default reports/calibration",
    )
    cal.add_argument(
        "--method",
        choices=("abc", "smd"),
        default="abc",
        help="abc: ABC-SMC posterior (default); smd: the earlier simulated-minimum-distance "
        "point estimate (no posterior)",
    )
    cal.add_argument(
        "--population", type=_budget, default=200, help="abc: particles per generation (200)"
    )
    cal.add_argument(
        "--generations",
        type=_generations,
        default=8,
        help="abc: generations; the temperature reaches 1 (the exact posterior) at the last (8)",
    )
    cal.add_argument(
        "--max-minutes",
        type=float,
        help="abc: start no generation after this many minutes (checked between generations: "
        "one that has started runs to its end)",
    )
    cal.add_argument(
        "--max-simulations",
        type=_budget,
        default=24_000,
        help="abc: start no generation once this many particles are simulated (24000; checked "
        "between generations)",
    )
    cal.add_argument(
        "--scheduler",
        help="abc: Dask scheduler address (default: $DASK_SCHEDULER_ADDRESS; none = local)",
    )
    cal.add_argument("--budget", type=_budget, default=64, help="smd: design points (64)")
    cal.add_argument(
        "--replicates",
        type=_replicates,
        help="seeds per particle (abc, default 1) or per design point (smd, default 4)",
    )
    cal.add_argument("--scale", type=_scale, help="agent scale (abc 0.05, smd 0.1)")
    _add_workers(
        cal,
        "; runs from a given posterior are the same for any number, but an ABC fit's "
        "particles are proposed inside the workers, so fits on other numbers differ",
    )
    cal.add_argument("--seed", type=_seed, default=2016)
    cal.add_argument(
        "--holdout",
        type=_year,
        help="fit on the years before this one only and score the record from it on out of "
        "sample against naive forecasts (nothing written to seeds/)",
    )
    cal.add_argument(
        "--install",
        action="store_true",
        help="after the fit, make it the model's default: copy the posterior and its medians to "
        "seeds/posterior.parquet and seeds/calibrated.yaml (each replaced atomically) and write "
        "the fit report to OUT/fit (default: everything stays in --out, seeds/ unchanged)",
    )
    cal.add_argument(
        "--install-only",
        action="store_true",
        help="fit nothing: install the finished fit in OUT/search (as --install would have) and "
        "write its fit report",
    )
    cal.add_argument("--no-write", action="store_true", help=argparse.SUPPRESS)  # the default now
    cal.add_argument("--resume", action="store_true", help="resume the calibration in --out")
    cal.add_argument(
        "--report-only",
        action="store_true",
        help="only (re)write the fit report of the current defaults and posterior",
    )
    cal.add_argument(
        "--quiet", action="store_true", help="no progress bars or per-generation lines"
    )

    an = sub.add_parser(
        "analyze",
        help="sensitivity indices (SALib) of a Sobol' or Morris sweep",
        **_examples(
            "Sensitivity indices (SALib) of a finished Sobol' or Morris sweep, with the dummy "
            "factor as\nnoise floor; writes DIR/analysis/.",
            "innosim analyze sweeps/sobol --method sobol  # after the main_levers_sobol sweep",
            "innosim analyze sweeps/sobol --method sobol --outcome rd_intensity@2030 "
            "attain:rd_intensity@2030",
        ),
    )
    an.add_argument("dir", type=_path, help="sweep folder")
    an.add_argument("--quiet", action="store_true", help="no progress bars")
    an.add_argument("--method", choices=("sobol", "morris"), required=True)
    an.add_argument(
        "--outcome",
        nargs="+",
        help="outcomes as INDICATOR@YEAR or attain:INDICATOR@YEAR (default: the indicators "
        "with a 2030 target, their value and attainment)",
    )

    fa = sub.add_parser(
        "facts",
        help="check stylized facts of industrial dynamics on DIR/firms.parquet (run --agents)",
        **_examples(
            "Check stylized facts of industrial dynamics on the firm records of a run made "
            "with --agents;\nwrites DIR/facts.csv and DIR/facts.md.",
            "innosim run baseline --agents --replicates 4 --out reports/firms",
            "innosim facts reports/firms",
        ),
    )
    fa.add_argument("dir", type=_path, help="a result folder written by `innosim run --agents`")

    ui = sub.add_parser(
        "ui",
        help="open the interactive page (Mesa SolaraViz): scenario, lever sliders, indicators "
        "against targets, flows between regions",
        **_examples(
            "Serve the interactive page: pick a scenario, move the main levers, watch the "
            "indicators;\ndocs/ui.md.",
            "innosim ui",
            "innosim ui --port 8800 --no-browser  # then open http://127.0.0.1:8800/",
        ),
    )
    ui.add_argument("--port", type=_port, default=8765, help="port to serve on (8765)")
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    ui.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    return ap


def _port(text: str) -> int:
    return _whole(text, 1, 65535, "a port from 1 to 65535")


def ui_problems() -> list[str]:
    """What keeps the page from working in this environment (checked before starting a server
    that would otherwise show a blank page)."""
    import importlib.util
    from importlib.metadata import PackageNotFoundError, version

    if importlib.util.find_spec("solara") is None:
        return ["the page needs solara: pip install 'innosim[ui]'"]
    try:
        vuetify = version("ipyvuetify")
    except PackageNotFoundError:
        return []
    if int(vuetify.split(".")[0]) >= 3:
        return [
            f"ipyvuetify {vuetify} is installed, but Mesa 3.3's SolaraViz uses Vuetify 2 "
            "components: pip install 'ipyvuetify<3'"
        ]
    return []


def cmd_ui(args) -> int:
    import signal
    import subprocess
    from importlib.util import find_spec

    problems = ui_problems()
    if problems:
        raise InputError(None, None, "; ".join(problems))
    cmd = [sys.executable, "-m", "solara", "run", "sim.app.ui:page", "--production"]
    cmd += ["--host", args.host, "--port", str(args.port)]
    cmd += ["--no-open"] if args.no_browser else ["--open"]
    print(f"innosim ui: http://{args.host}:{args.port}/ (Ctrl-C stops the server)", flush=True)
    if find_spec("solara_assets") is None:
        print(
            "note: the browser gets the page's scripts through solara's proxy of cdn.jsdelivr.net;"
            " offline, pip install solara-assets",
            flush=True,
        )
    proc = subprocess.Popen(cmd)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())  # stop the server with us
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0


def cmd_facts(args) -> int:
    from sim.analysis.facts import format_facts, write_facts

    results = write_facts(args.dir)
    print(format_facts(results))
    print(f"\n-> {args.dir}/ (facts.md, facts.csv)")
    return 0


def cmd_sweep(args) -> int:
    from sim.experiments.design import load_spec
    from sim.experiments.sweep import check_spec, run_sweep, sweep_scale
    from sim.inputs.scenario import scale_warning

    spec = load_spec(args.spec)
    if args.set:  # the base scenario with the values set, as a sweep built in code has it
        base = _apply_sets(spec.base_scenario(), args.set, varied=spec.factor_ids)
        spec = spec.with_base(base)
    if args.dry_run:
        print(check_spec(spec, args.scale))
        return 0
    if args.out is None:
        raise InputError(None, "--out", "required: the folder the sweep's results go to")
    summary = run_sweep(
        spec,
        args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        force=args.force,
        scale=args.scale,
        progress=not args.quiet,
        uncertainty=args.uncertainty,
    )
    print(summary)
    _print_note(scale_warning(sweep_scale(spec, spec.base_scenario(), args.scale)), args.quiet)
    return 1 if summary.failures else 0


def cmd_compare(args) -> int:
    from sim.analysis.compare import DEFAULT_OUT, run_comparison
    from sim.analysis.points import default_out, is_sweep_folder, write_point_comparison

    if len(args.dirs) == 1 and is_sweep_folder(args.dirs[0]):
        d = args.dirs[0]
        text = write_point_comparison(
            d,
            args.out or default_out(d),
            points=args.points,
            reference=args.reference,
            force=args.force,
            workers=args.workers,
            progress=not args.quiet,
        )
        print(text)
        return 0
    for flag, value in (("--points", args.points), ("--reference", args.reference)):
        if value is not None:
            raise InputError(None, flag, "only applies to one sweep folder")
    text = run_comparison(
        args.dirs, args.out or DEFAULT_OUT, force=args.force, warn=_warn, progress=not args.quiet
    )
    print(text)
    return 0


def _warn(message: str) -> None:
    """A warning: one line on stderr, the command goes on."""
    print(f"innosim: warning: {_one_line(message)}", file=sys.stderr, flush=True)


def _print_note(note: str | None, quiet: bool) -> None:
    """A warning that qualifies results (scale_warning: below the matching scale, docs/scale.md):
    printed once the results are written (a refused or interrupted command prints none), not
    with --quiet; the command's report carries it either way."""
    if note and not quiet:
        _warn(note)


def cmd_calibrate(args) -> int:
    from sim.experiments import calibration

    calibration.check_setup()
    _check_install_options(args)
    if args.holdout is not None and args.holdout not in calibration.holdout_years():
        years = calibration.holdout_years()
        raise InputError(
            None, "--holdout", f"a year from {years[0]} to {years[-1]} (the record's last year)"
        )
    if args.max_minutes is not None and not (
        math.isfinite(args.max_minutes) and args.max_minutes > 0
    ):
        raise InputError(None, "--max-minutes", "a positive number of minutes")
    if args.report_only:
        return _fit_report(args, scale=args.scale)
    if args.install_only:
        return _install(args, args.out / "search", scale=args.scale)
    if args.method == "smd":
        return _calibrate_smd(args)
    from sim.experiments import abc

    search = args.out / ("search" if args.holdout is None else f"holdout_{args.holdout}")
    rec = abc.calibrate_abc(
        search,
        population=args.population,
        generations=args.generations,
        replicates=args.replicates or 1,
        scale=args.scale or 0.05,
        workers=args.workers,
        scheduler=args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None,
        seed=args.seed,
        last_year=None if args.holdout is None else args.holdout - 1,
        max_minutes=args.max_minutes,
        max_simulations=args.max_simulations,
        resume=args.resume,
        progress=not args.quiet,
    )
    print(abc.format_record(rec))
    if args.holdout is not None:
        print(
            calibration.holdout_validation(
                search, args.holdout, workers=args.workers, progress=not args.quiet
            )
        )
        return 0
    return _install(args, search) if args.install else _not_installed(args, search)


def _check_install_options(args) -> None:
    """--install and --install-only: with what they make sense (before anything runs)."""
    if args.no_write:
        if args.install or args.install_only:
            raise InputError(None, "--no-write", "contradicts --install (and is the default)")
        print(
            "innosim: note: --no-write is the default now (seeds/ changes only with --install) "
            "and will be removed",
            file=sys.stderr,
        )
    flag = "--install-only" if args.install_only else "--install" if args.install else None
    if flag and args.holdout is not None:
        raise InputError(None, flag, "a holdout fit (part of the record) is never installed")
    if args.install_only and (args.report_only or args.resume or args.install):
        raise InputError(
            None, "--install-only", "installs the finished fit in --out: give it alone"
        )
    if args.install and args.report_only:
        raise InputError(None, "--install", "--report-only fits nothing to install")


def _not_installed(args, search: Path) -> int:
    print(
        f"posterior -> {search}/ (seeds/ unchanged; to make it the model's default: "
        f"innosim calibrate --install-only --out {args.out})"
    )
    return 0


def _install(args, search: Path, scale: float | None = None) -> int:
    """Install the fit in `search` into seeds/, then write the fit report of the new defaults."""
    from sim.experiments import calibration

    written = calibration.install_calibration(search)
    print(f"installed from {search}/: " + ", ".join(f"seeds/{p.name}" for p in written))
    return _fit_report(args, scale=scale)


def _fit_report(args, scale: float | None = None) -> int:
    from sim.experiments import calibration

    md = calibration.fit_report(
        args.out / "fit", scale=scale, workers=args.workers, progress=not args.quiet
    )
    print(f"fit report -> {md}")
    return 0


def _calibrate_smd(args) -> int:
    """`innosim calibrate --method smd`: the simulated-minimum-distance point estimate."""
    from sim.experiments import calibration

    search = args.out / "search"
    rec = calibration.calibrate(
        search,
        budget=args.budget,
        replicates=args.replicates or 4,
        scale=args.scale or 0.1,
        workers=args.workers,
        seed=args.seed,
        holdout=args.holdout,
        resume=args.resume,
        progress=not args.quiet,
    )
    d = rec["distance"]
    print(
        f"distance (weighted mean squared log error, fresh seeds): prior {d['prior']:.4f} -> "
        f"estimate {d['estimate_on_fresh_seeds']:.4f}"
    )
    for name, e in rec["parameters"].items():
        print(f"  {name:24s} {e['prior']:>8.4g} -> {e['value']:<8.4g} bounds {e['bounds']}")
    if args.holdout:
        print(calibration.holdout_score(rec, args.holdout))
        return 0
    return _install(args, search) if args.install else _not_installed(args, search)


def cmd_analyze(args) -> int:
    from sim.analysis.sensitivity import (
        analyze,
        format_analysis,
        quality_warnings,
        write_analysis,
    )

    progress = not args.quiet
    df = analyze(args.dir, args.method, args.outcome or None, progress=progress)
    md = write_analysis(args.dir, args.method, args.outcome or None, results=df, progress=progress)
    print(format_analysis(df))
    for w in quality_warnings(df):  # after the table they speak of, on stderr
        _warn(w)
    print(f"\n-> {md.parent}/ ({md.name})")
    return 0


def cmd_levers(args) -> int:
    from sim.inputs import plan

    if args.effects:
        return _lever_effects(args)
    if args.format == "json":
        print(json.dumps(plan.lever_records(), ensure_ascii=False, indent=2))
    else:
        print(plan.format_levers())
    return 0


def _lever_effects(args) -> int:
    """`innosim levers --effects`: measure, then write the table and its report atomically."""
    from sim.experiments import lever_effects as le
    from sim.experiments.posterior import check_uncertainty
    from sim.inputs.scenario import load_scenario, scale_warning

    base = _apply_sets(load_scenario(args.base), args.set)  # bad input fails here, before any run
    out_dir = args.out or Path("reports") / "lever_effects"
    with claim(out_dir, args.force, [args.base]) as out:
        t0 = time.perf_counter()
        df = le.measure(
            base,
            replicates=args.replicates,
            seed=args.seed,
            scale=args.scale,
            workers=args.workers,
            levers=args.lever,
            progress=not args.quiet,
            uncertainty=check_uncertainty(args.uncertainty or base.uncertainty),
        )
        meta = {
            "reference": f"{base.name} ({args.base})"
            + (f" with {_set_label(args.set)}" if args.set else ""),
            "replicates (paired seeds)": args.replicates,
            "root seed": args.seed,
            "scale": args.scale,
            "uncertainty": args.uncertainty or base.uncertainty,
            "innosim version": __version__,
            "run time (s)": f"{time.perf_counter() - t0:.1f}",
        }
        if scale_note := scale_warning(args.scale):
            meta["scale"] = f"{args.scale:g}: {scale_note}"
        with staged_folder(out, "lever_effects.csv", kind="lever_effects") as tmp:
            df.to_csv(tmp / "lever_effects.csv", index=False)
            (tmp / "lever_effects.md").write_text(le.markdown(df, meta), encoding="utf-8")
    if not args.quiet:
        top = le.strongest(df)
        for r in top.itertuples(index=False):
            what = (
                "inert (no effect beyond seed noise)"
                if r.inert
                else f"{r.effect_pct:+.1f}% {r.indicator} {int(r.year)} at {r.setting} ({r.value:g})"
            )
            print(f"{r.lever:34s} {what}")
        print(f"\n{int(top.inert.sum())} of {len(top)} levers inert -> {out}/ (lever_effects.md)")
    _print_note(scale_note, args.quiet)
    return 0


def cmd_plan(args) -> int:
    from sim.inputs import plan

    if args.format == "json":
        out = [
            {
                "task": t.number,
                "title_zh": t.title_zh,
                "title_en": t.title_en,
                "pillar": t.pillar,
                "levers": [lv.id for lv in plan.levers_of_task(t.number)],
                "not_modelled": t.not_modelled,
            }
            for t in plan.tasks()
        ]
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(plan.format_plan())
    return 0


def cmd_validate(args) -> int:
    from sim.inputs.scenario import load_scenario

    bad = 0
    for path in args.scenarios:  # every file is checked; each problem is reported
        try:
            sc = load_scenario(path)
        except InputError as e:
            print(f"innosim: error: {e}", file=sys.stderr)
            bad += 1
            continue
        print(
            f"{path}: ok ({sc.name}: {len(sc.levers)} lever settings, {sc.time.start_year}-{sc.time.end_year})"
        )
    if bad and len(args.scenarios) > 1:
        print(f"{bad} of {len(args.scenarios)} file(s) refused", file=sys.stderr)
    return EXIT_BAD_INPUT if bad else 0


RUN_MARKER = "indicators.csv"  # the file every `innosim run` result has


def cmd_run(args) -> int:
    from sim.inputs.scenario import load_scenario

    sc = load_scenario(args.scenario)  # bad input fails here, before anything heavy is imported
    sc = _apply_sets(sc, args.set)
    with claim(args.out or _default_run_out(sc.name, args.set), args.force, [args.scenario]) as out:
        return _run(args, sc, out)


MAX_FOLDER_NAME = 120  # a default output folder named after --set values is at most this long


def _default_run_out(name: str, sets: list[tuple[str, float]] | None) -> Path:
    """reports/NAME, or reports/NAME+lever=value+... with --set (never the folder of the
    scenario as written); reports/NAME+set when the values would make too long a name."""
    if not sets:
        return Path("reports") / name
    folder = "+".join([name, *(f"{k}={v:g}" for k, v in sets)])
    return Path("reports") / (folder if len(folder) <= MAX_FOLDER_NAME else f"{name}+set")


def _run(args, sc, out: Path) -> int:
    """`innosim run` once its output folder is checked and held."""
    from sim import api
    from sim.analysis.report import format_summary, summary_table, write_report
    from sim.analysis.targets import attainment
    from sim.experiments.executors import default_workers
    from sim.experiments.posterior import draws_note
    from sim.inputs.scenario import ScaleWarning, scale_warning

    replicates = args.replicates or sc.replicates
    seed = sc.seed if args.seed is None else args.seed
    scale = args.scale or sc.scale
    uncertainty = args.uncertainty or sc.uncertainty
    t0 = time.perf_counter()
    with warnings.catch_warnings():  # the scale warning is printed with the results (_print_note)
        warnings.simplefilter("ignore", ScaleWarning)
        result = api.run_detailed(
            sc,
            seed=seed,
            scale=scale,
            replicates=replicates,
            workers=args.workers or default_workers(replicates),
            progress=not args.quiet,
            agents=args.agents,
            uncertainty=uncertainty,
        )
    df, firms, evaluations = result.indicators, result.firms, result.evaluations
    costs, budget = result.costs, result.budget
    elapsed = time.perf_counter() - t0
    att = attainment(df)
    resolved = sc.resolved()
    resolved.update(
        {"seed": seed, "replicates": replicates, "scale": scale, "uncertainty": uncertainty}
    )
    note = draws_note(result.draws, uncertainty)
    scale_note = scale_warning(scale)
    with staged_folder(out, RUN_MARKER, kind="run") as tmp:
        df.to_csv(tmp / RUN_MARKER, index=False)
        if firms is not None:
            firms.to_parquet(tmp / "firms.parquet", index=False)
        att.to_csv(tmp / "attainment.csv", index=False)
        if sc.evaluation is not None:
            evaluations.to_csv(tmp / "evaluations.csv", index=False)
        costs.to_csv(tmp / "costs.csv", index=False)
        result.parameters.to_csv(tmp / "parameters.csv", index=False)
        if sc.budget_cap is not None:
            budget.to_csv(tmp / "budget.csv", index=False)
        with open(tmp / "scenario.resolved.yaml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(resolved, fh, sort_keys=False, allow_unicode=True)
        meta = {
            "scenario file": str(args.scenario),
            **({"set on the command line": _set_label(args.set)} if args.set else {}),
            "seed": seed,
            "replicates": replicates,
            "scale": scale,
            "uncertainty": f"{uncertainty} ({result.draws} distinct parameter set(s); "
            "parameters.csv)",
            "innosim version": __version__,
            "run time (s)": f"{elapsed:.1f}",
        }
        if scale_note:
            meta["scale"] = f"{scale:g}: {scale_note}"
        if firms is not None:
            meta["firm records"] = f"firms.parquet ({len(firms):,} firm-years; `innosim facts`)"
        write_report(
            tmp,
            df,
            att,
            sc.name,
            sc.description,
            meta,
            evaluations=evaluations if sc.evaluation is not None else None,
            costs=costs,
            budget=budget if sc.budget_cap is not None else None,
            uncertainty_note=note,
        )
    if not args.quiet:
        print(format_summary(summary_table(df, att)))
        print(note.replace("**", ""))
        print(
            f"\n{replicates} replicate(s) at scale {scale:g} in {elapsed:.1f} s -> {out}/ (report.md)"
        )
    _print_note(scale_note, args.quiet)
    return 0


EXIT_SIGNAL = {"interrupted": 130, "terminated": 143}  # 128 + SIGINT, 128 + SIGTERM
DISPATCHED = False  # set once a command starts its work (sim.__main__.run's Ctrl-C message)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import signal
    import threading

    from tqdm.std import tqdm

    from sim.inputs.errors import clear_signals, on_signal

    if threading.current_thread() is not threading.main_thread():
        return _dispatch(args)  # signal handlers are the main thread's to set
    # tqdm's monitor thread would be one more thread a Ctrl-C could land in (see executors)
    tqdm.monitor_interval = 0
    clear_signals()
    handlers = {signal.SIGTERM: lambda *_: on_signal("terminated")}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not ignored (nohup, &)
        handlers[signal.SIGINT] = lambda *_: on_signal("interrupted")
    previous = {sig: signal.signal(sig, h) for sig, h in handlers.items()}
    hook, sys.unraisablehook = sys.unraisablehook, _quiet_interrupts(sys.unraisablehook)
    global DISPATCHED
    DISPATCHED = True
    try:
        return _dispatch(args)
    finally:
        for sig, h in previous.items():
            signal.signal(sig, h)
        sys.unraisablehook = hook


def _quiet_interrupts(hook):
    """A Ctrl-C that lands in a weak-reference callback or a __del__ is swallowed by Python and
    printed as "Exception ignored"; innosim raises it again (sim.inputs.errors.raise_if_signalled) and
    prints its own line, so Python's report of it is left out. Other reports are kept."""

    def quiet(info):
        if not isinstance(info.exc_value, KeyboardInterrupt):
            hook(info)

    return quiet


def _interrupted(what: str, e: BaseException) -> int:
    """The one line for a Ctrl-C or SIGTERM (`what`), with what was written; its exit code."""
    written = getattr(e, "written", "no output written (any earlier result is unchanged)")
    print(f"innosim: {what}; {written}", file=sys.stderr)
    return EXIT_SIGNAL[what]


def _dispatch(args) -> int:
    try:
        commands = {
            "validate": cmd_validate,
            "run": cmd_run,
            "levers": cmd_levers,
            "plan": cmd_plan,
            "compare": cmd_compare,
            "sweep": cmd_sweep,
            "analyze": cmd_analyze,
            "calibrate": cmd_calibrate,
            "facts": cmd_facts,
            "ui": cmd_ui,
        }
        return commands[args.command](args)
    except InputError as e:
        print(f"innosim: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: what was written, in one line
        return _interrupted(getattr(e, "signal_name", "interrupted"), e)
    except Exception as e:  # an internal error: one line, the traceback only on request
        if what := pending_signal():  # a library turned the Ctrl-C into another error
            return _interrupted(what, e)
        if os.environ.get("INNOSIM_DEBUG"):
            raise
        print(
            f"innosim: internal error: {type(e).__name__}: {e} (set INNOSIM_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
