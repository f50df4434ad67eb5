"""Command line, end to end: `python -m sim run` and `python -m sim validate` in a subprocess."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sim
from sim.inputs.levers import registry
from sim.inputs.paths import SCENARIOS
from sim.model.indicators import INDICATORS

BASELINE = SCENARIOS / "baseline.yaml"
EXIT_BAD_INPUT = 2

needs_report = pytest.mark.skipif(
    importlib.util.find_spec("sim.analysis.report") is None,
    reason="sim/report.py (report and plots) is not written yet; `run` imports it",
)


def innosim(*args, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("INNOSIM_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# ------------------------------------------------------------------------------------------------
# a full run (module scope: one subprocess, many checks)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def baseline_out(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cli")
    out = cwd / "out"
    result = innosim(
        "run",
        BASELINE,
        "--out",
        out,
        "--replicates",
        2,
        "--seed",
        3,
        "--scale",
        0.02,
        "--quiet",
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return out


@needs_report
def test_run_writes_all_outputs(baseline_out):
    for name in ("indicators.csv", "attainment.csv", "scenario.resolved.yaml", "report.md"):
        path = baseline_out / name
        assert path.is_file() and path.stat().st_size > 0, name
    plots = list((baseline_out / "plots").glob("*.png"))
    assert plots, "expected plots/*.png"
    for p in plots:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", p.name
    # Nothing is left behind next to the output folder (the temporary folder was moved).
    assert [p.name for p in baseline_out.parent.iterdir()] == ["out"]


@needs_report
def test_run_indicators_csv(baseline_out):
    df = pd.read_csv(baseline_out / "indicators.csv")
    for col in ("scenario", "replicate", "year", "indicator", "value"):
        assert col in df.columns, col
    assert (df.scenario == "baseline").all()
    assert sorted(df.replicate.unique()) == [0, 1]
    assert sorted(df.year.unique()) == list(range(2016, 2031))
    assert set(df.indicator) == set(INDICATORS)
    # Complete panel: every replicate x year x indicator exactly once.
    assert not df.duplicated(["replicate", "year", "indicator"]).any()
    assert len(df) == 2 * 15 * len(INDICATORS)
    assert df.value.notna().all()


@needs_report
def test_run_attainment_csv(baseline_out):
    att = pd.read_csv(baseline_out / "attainment.csv")
    for col in ("indicator", "target_year", "target", "source", "probability"):
        assert col in att.columns, col
    assert len(att) > 0
    assert att.probability.between(0.0, 1.0).all()
    assert {2017, 2020, 2030} <= set(att.target_year)
    assert set(att.indicator) <= set(INDICATORS)
    assert att.source.notna().all() and (att.source.str.len() > 0).all()
    # With two replicates a probability is 0, 0.5 or 1.
    assert set(att.probability) <= {0.0, 0.5, 1.0}


def _resolved(out: Path) -> dict:
    with open(out / "scenario.resolved.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@needs_report
def test_run_resolved_scenario(baseline_out):
    res = _resolved(baseline_out)
    assert set(registry()) <= set(res["levers"])
    assert res["innosim_version"] == sim.__version__
    assert (res["seed"], res["replicates"], res["scale"]) == (3, 2, 0.02)
    assert res["name"] == "baseline"
    assert res["time"] == {"start_year": 2016, "end_year": 2030, "steps_per_year": 4}


@needs_report
def test_run_resolved_scenario_can_be_rerun(baseline_out, tmp_path):
    res = _resolved(baseline_out)
    res.pop("innosim_version")
    path = tmp_path / "resolved.yaml"
    path.write_text(yaml.safe_dump(res), encoding="utf-8")
    from sim.inputs.scenario import load_scenario

    sc = load_scenario(path)
    assert set(sc.levers) == set(registry())


@needs_report
def test_run_report_mentions_scenario(baseline_out):
    text = (baseline_out / "report.md").read_text(encoding="utf-8")
    assert "baseline" in text


@needs_report
def test_existing_output_needs_force(baseline_out):
    before = tree_digest(baseline_out)
    assert "indicators.csv" in before
    again = innosim(
        "run",
        BASELINE,
        "--out",
        baseline_out,
        "--replicates",
        1,
        "--scale",
        0.02,
        "--quiet",
        cwd=baseline_out.parent,
    )
    assert_one_line_error(again, str(baseline_out), "--force")
    assert tree_digest(baseline_out) == before, "a refused run must leave the output intact"
    assert [p.name for p in baseline_out.parent.iterdir()] == ["out"]


@needs_report
def test_force_replaces_output(tmp_path):
    """An earlier result of innosim's is replaced whole (nothing of it stays: its firms.parquet
    goes); before that, without --force, it is refused and left as it was."""
    scenario = tmp_path / "short.yaml"
    scenario.write_text("name: short\ntime: {start_year: 2016, end_year: 2018}\n", encoding="utf-8")
    out = tmp_path / "out"
    common = ("--out", out, "--replicates", 1, "--seed", 1, "--scale", 0.02, "--quiet")
    first = innosim("run", scenario, *common, "--agents", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (out / "firms.parquet").is_file()
    before = tree_digest(out)

    scenario.write_text("name: short\ntime: {start_year: 2016, end_year: 2017}\n", encoding="utf-8")
    refused = innosim("run", scenario, *common, cwd=tmp_path)
    assert_one_line_error(refused, str(out), "--force")
    assert tree_digest(out) == before

    forced = innosim("run", scenario, *common, "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    names = {p.name for p in out.iterdir()}
    assert "firms.parquet" not in names
    assert {
        "indicators.csv",
        "attainment.csv",
        "scenario.resolved.yaml",
        "report.md",
        "plots",
    } <= names
    df = pd.read_csv(out / "indicators.csv")
    assert sorted(df.year.unique()) == [2016, 2017]
    assert (df.scenario == "short").all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "short.yaml"]


@needs_report
@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("levers: {basic_research_priority: 5.0}\n", "levers.basic_research_priority"),
        ("levers: {basic_research_priorty: 0.3}\n", "levers.basic_research_priorty"),
        ("replicate: 3\n", "replicate"),
        ("name: x\nlevers: {a: 1\n", "line 3"),
    ],
)
def test_run_bad_scenario(tmp_path, text, field):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = innosim(
        "run", scenario, "--out", out, "--scale", 0.02, "--replicates", 1, cwd=tmp_path
    )
    assert_one_line_error(result, "bad.yaml", field)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"], (
        "no output folder may be created"
    )


@needs_report
def test_run_missing_scenario(tmp_path):
    result = innosim("run", tmp_path / "nope.yaml", "--out", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, "nope.yaml", "not found")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ("--scale", "0"),
        ("--scale", "nan"),
        ("--replicates", "0"),
        ("--seed", "-1"),
    ],
)
def test_run_bad_arguments(tmp_path, args):
    result = innosim("run", BASELINE, "--out", tmp_path / "out", *args, cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in result.stderr
    assert args[0] in result.stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------
# validate
# ------------------------------------------------------------------------------------------------
def test_validate_baseline(tmp_path):
    result = innosim("validate", BASELINE, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout and "baseline" in result.stdout
    assert result.stderr == ""


def test_validate_several_files(tmp_path):
    other = tmp_path / "plan.yaml"
    other.write_text(
        f"name: plan\nextends: {BASELINE}\nlevers: {{ip_protection: 0.8}}\n", encoding="utf-8"
    )
    result = innosim("validate", BASELINE, other, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == 2


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("levers: {ip_protection: 7}\n", "levers.ip_protection"),
        (
            "time: {start_year: 2016, end_year: 2020}\nlevers: {ip_protection: {2025: 0.5}}\n",
            "levers.ip_protection.2025",
        ),
        ("scale: .nan\n", "scale"),
        ("name: !!python/object/apply:os.getcwd []\n", "line 1"),
        ("- a list\n", "mapping"),
        ("", "empty"),
    ],
)
def test_validate_bad_file(tmp_path, text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    result = innosim("validate", path, cwd=tmp_path)
    assert_one_line_error(result, "bad.yaml", field)


def test_validate_missing_file(tmp_path):
    result = innosim("validate", tmp_path / "nope.yaml", cwd=tmp_path)
    assert_one_line_error(result, "nope.yaml", "not found")


def test_version():
    result = subprocess.run(
        [sys.executable, "-m", "sim", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert sim.__version__ in result.stdout


# ------------------------------------------------------------------------------------------------
# --workers: one default for every command that runs the model
# ------------------------------------------------------------------------------------------------
def test_default_workers_is_every_usable_core_capped_by_the_runs(monkeypatch):
    from sim.experiments import executors

    monkeypatch.setattr(executors.os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    monkeypatch.setattr(executors.os, "cpu_count", lambda: 64)  # the machine's count is not used
    assert executors.usable_cores() == 3
    assert executors.default_workers() == 3
    assert executors.default_workers(2) == 2  # one per run at most
    assert executors.default_workers(100) == 3
    assert executors.default_workers(0) == 1


def _subparsers() -> dict:
    import argparse

    from sim.app.cli import build_parser

    ap = build_parser()
    action = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_that_runs_the_model_has_the_same_workers_default():
    from sim.experiments.executors import usable_cores

    running = {"run", "levers", "sweep", "calibrate", "compare"}  # compare: --reference base
    found = {}
    for name, parser in _subparsers().items():
        for a in parser._actions:
            if "--workers" in a.option_strings:
                found[name] = a
    assert set(found) == running
    for name, a in found.items():
        assert a.default is None, name  # resolved by executors.default_workers at run time
        assert f"default: every usable core, at most one per run; {usable_cores()} here" in a.help


# ------------------------------------------------------------------------------------------------
# --set NAME=VALUE: a lever or parameter from the command line, checked like a scenario file's
# ------------------------------------------------------------------------------------------------
SHORT_YAML = "name: short\ntime: {start_year: 2016, end_year: 2017}\n"
SWEEP_SPEC = SCENARIOS / "sweeps" / "talent_x_finance.yaml"


def test_set_runs_exactly_as_the_same_values_in_a_scenario_file(tmp_path, monkeypatch):
    from sim.app.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "short.yaml").write_text(SHORT_YAML, encoding="utf-8")
    (tmp_path / "written.yaml").write_text(
        SHORT_YAML + "levers: {basic_research_priority: 0.45}\nparameters: {revenue_growth: 0.1}\n",
        encoding="utf-8",
    )
    common = ["--replicates", "1", "--scale", "0.02", "--workers", "1", "--quiet"]
    sets = ["--set", "basic_research_priority=0.45", "--set", "revenue_growth = 0.1"]
    assert main(["run", "short.yaml", *sets, *common]) == 0
    # the default folder names the values: never the folder of the scenario as written
    out = tmp_path / "reports" / "short+basic_research_priority=0.45+revenue_growth=0.1"
    assert main(["run", "written.yaml", "--out", "written", *common]) == 0
    res = _resolved(out)
    assert res["levers"]["basic_research_priority"] == 0.45
    assert res["parameters"]["revenue_growth"] == 0.1
    assert res == _resolved(tmp_path / "written")
    assert (out / "indicators.csv").read_bytes() == (
        tmp_path / "written/indicators.csv"
    ).read_bytes()
    report = (out / "report.md").read_text(encoding="utf-8")
    assert (
        "| set on the command line | basic_research_priority=0.45, revenue_growth=0.1 |" in report
    )


def _validate_message(tmp_path, text: str) -> str:
    from sim.app.cli import main

    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return main(["validate", str(path)])


@pytest.mark.parametrize(
    ("setting", "yaml_text"),
    [
        ("basic_research_priority=5", "levers: {basic_research_priority: 5}\n"),
        ("revenue_growth=0.9", "parameters: {revenue_growth: 0.9}\n"),
        ("sector_shares_2015=0.2", "parameters: {sector_shares_2015: 0.2}\n"),
    ],
)
def test_set_out_of_range_is_the_scenario_file_error(tmp_path, capsys, setting, yaml_text):
    from sim.app.cli import main

    assert _validate_message(tmp_path, yaml_text) == EXIT_BAD_INPUT
    from_yaml = capsys.readouterr().err.strip()
    out = tmp_path / "out"
    assert main(["run", str(BASELINE), "--set", setting, "--out", str(out), "--quiet"]) == 2
    from_set = capsys.readouterr().err.strip()
    # `innosim: error: bad.yaml: levers.x: MESSAGE` and `innosim: error: --set: levers.x: MESSAGE`
    assert from_set.removeprefix("innosim: error: --set: ") == from_yaml.split(": ", 3)[-1]
    assert not out.exists()


@pytest.mark.parametrize(
    ("setting", "needles"),
    [
        ("basic_research_priorty=0.3", ("basic_research_priorty", "'basic_research_priority'")),
        ("revenue_grow=0.1", ("neither a lever nor a model parameter", "'revenue_growth'")),
    ],
)
def test_set_unknown_name_suggests_the_closest(tmp_path, capsys, setting, needles):
    from sim.app.cli import main

    out = tmp_path / "out"
    assert main(["run", str(BASELINE), "--set", setting, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--set" in err
    for n in needles:
        assert n in err
    assert not out.exists()


@pytest.mark.parametrize("setting", ["x", "x=abc", "=1", "x=", "x=nan", "x=1e999", "x=0x10"])
def test_malformed_set_exits_2_naming_the_option(tmp_path, setting):
    result = innosim("run", BASELINE, "--set", setting, "--out", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in result.stderr
    assert "argument --set" in result.stderr.splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


def test_set_on_sweeps_and_lever_effects(tmp_path, capsys):
    from sim.app.cli import main

    spec = str(SWEEP_SPEC)
    assert main(["sweep", spec, "--dry-run", "--set", "basic_research_priority=0.3"]) == 0
    assert "ok" in capsys.readouterr().out
    varied = ["sweep", spec, "--dry-run", "--set", "top_talent_recruitment=2"]
    assert main(varied) == 2
    assert "varied by the sweep" in capsys.readouterr().err
    twice = ["--set", "ip_protection=0.5", "--set", "ip_protection=0.6"]
    assert main(["sweep", spec, "--dry-run", *twice]) == 2
    assert "given twice" in capsys.readouterr().err
    out = tmp_path / "effects"
    bad = ["levers", "--effects", "--set", "ip_protection=7", "--out", str(out), "--quiet"]
    assert main(bad) == 2
    assert "--set: levers.ip_protection" in capsys.readouterr().err
    assert not out.exists()


def test_sweep_set_reaches_the_stored_base_scenario(tmp_path):
    from sim.app.cli import _apply_sets
    from sim.experiments.design import load_spec
    from sim.experiments.sweep import plan_runs

    spec = load_spec(SWEEP_SPEC)
    base = _apply_sets(spec.base_scenario(), [("basic_research_priority", 0.3)])
    _, _, tasks, planned, _ = plan_runs(spec.with_base(base))
    assert planned.levers["basic_research_priority"] == 0.3
    assert all(t.scenario["levers"]["basic_research_priority"] == 0.3 for t in tasks)
    _, _, plain, _, _ = plan_runs(spec)
    assert {t.key for t in tasks}.isdisjoint(t.key for t in plain)  # other runs, other keys


# ------------------------------------------------------------------------------------------------
# --help: every subcommand says what it does and shows examples that work
# ------------------------------------------------------------------------------------------------
def _help(name: str, capsys) -> str:
    from sim.app.cli import main

    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def _examples_of(text: str) -> list[str]:
    block = text.split("\nexamples:\n", 1)[1]
    return [line.strip().split("  # ")[0] for line in block.splitlines() if line.strip()]


def test_every_subcommand_help_shows_valid_examples(capsys):
    """Each subcommand's --help runs, says what the command does, and shows 2-5 examples that
    parse as given; the scenario and spec files they name exist (a bare name: a shipped
    scenario), their --set values pass the checks and their --lever ids are levers."""
    import shlex

    from sim.app.cli import _apply_sets, build_parser
    from sim.inputs.paths import ROOT, shipped_scenario
    from sim.inputs.scenario import load_scenario

    names = list(_subparsers())
    assert set(names) >= {"run", "validate", "levers", "plan", "compare", "sweep", "calibrate"}
    parser = build_parser()
    for name in names:
        text = _help(name, capsys)
        assert all(len(line) <= 100 for line in text.splitlines()), name
        examples = _examples_of(text)
        assert 2 <= len(examples) <= 5, name
        for ex in examples:
            words = shlex.split(ex)
            assert words[:1] == ["innosim"], ex
            args = parser.parse_args(words[1:])  # argparse exits on anything it refuses
            if words[1] != name:  # an example may show the command that comes first (facts)
                continue
            for w in words[2:]:
                if w.endswith(".yaml"):
                    assert (ROOT / w).is_file(), (ex, w)
            for s in getattr(args, "scenarios", None) or [getattr(args, "scenario", None)]:
                if s is not None and not str(s).endswith(".yaml"):
                    assert shipped_scenario(str(s)) is not None, (ex, s)
            if getattr(args, "set", None):
                _apply_sets(load_scenario(args.scenario), args.set)
            for lever in getattr(args, "lever", None) or ():
                assert lever in registry(), (ex, lever)


def test_top_level_help_points_to_the_commands_help(capsys):
    from sim.app.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert "innosim COMMAND --help" in capsys.readouterr().out


@pytest.mark.parametrize("signalled", [None, "interrupted", "terminated"])
def test_an_error_a_library_made_of_a_ctrl_c_is_reported_as_the_ctrl_c(
    monkeypatch, capsys, signalled
):
    """A C extension imported when Ctrl-C lands turns the KeyboardInterrupt into "ImportError:
    initialization failed" (seen in CI: test_output_safety, Ctrl-C 1.2 s into a run): after a
    signal, an escaping error is the signal's line and exit code, not an internal error; without
    one it stays an internal error."""
    import argparse

    from sim.app import cli
    from sim.inputs.errors import clear_signals, on_signal

    def command(args):
        if signalled:
            try:
                on_signal(signalled)  # what the CLI's handler does on SIGINT / SIGTERM
            except KeyboardInterrupt:
                pass  # swallowed by the extension's import machinery
        raise ImportError("initialization failed")

    monkeypatch.setattr(cli, "cmd_validate", command)
    monkeypatch.delenv("INNOSIM_DEBUG", raising=False)
    clear_signals()
    try:
        code = cli._dispatch(argparse.Namespace(command="validate"))
    finally:
        clear_signals()
    err = capsys.readouterr().err
    if signalled is None:
        assert code == 1 and err.startswith("innosim: internal error: ImportError"), err
    else:
        assert code == cli.EXIT_SIGNAL[signalled]
        assert err == f"innosim: {signalled}; no output written (any earlier result is unchanged)\n"
