"""Damaged result folders (issue 13, "Bounded readers"): what `compare`, `analyze`, `facts` and
`sweep --resume` read back, cut short at several byte offsets, overwritten with garbage, or a
valid table of the wrong shape (a column dropped, renamed, of the wrong kind, rows with missing
keys, another file's table), is refused with exit code 2 and one line naming the file; never
compared, never an internal error, no traceback, no output written. A damaged sweep part is
refused when read and run again on --resume.

Real result folders are built once per module (two short runs, one with firm records, and a
short Morris sweep) and copied for each case. Each case runs the command line in its own
process: a small fork server (`_Cli`) that has imported innosim once forks a child per case
that calls `sim.app.cli.main` (what `python -m sim` calls) with stdout and stderr going to files
and exits with its return code; so a case costs a fork, not an interpreter start and the
imports. `test_real_entry_point` runs one case per command through `python -m sim` itself.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.inputs.paths import SCENARIOS
from tests.helpers import write_short_sweep

ROOT = Path(__file__).resolve().parents[1]
JJJ, TTR = "jjj_unified_tech_market", "top_talent_recruitment"
OUTCOME = "rd_intensity@2018"


def _env() -> dict:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    env.pop("INNOSIM_DEBUG", None)
    return env


def _sim(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        env=_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


# ------------------------------------------------------------------------------------------------
# the command line, one process per case
# ------------------------------------------------------------------------------------------------
DRIVER = r"""
import json, os, sys, traceback
import sim.app.cli, sim.analysis.compare, sim.analysis.facts, sim.model
import sim.analysis.sensitivity, sim.analysis.points, sim.experiments.sweep
print("ready", flush=True)
for line in sys.stdin:
    case = json.loads(line)
    pid = os.fork()
    if pid == 0:
        for fd, name in ((1, "stdout"), (2, "stderr")):
            os.dup2(os.open(case[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        try:
            code = sim.app.cli.main(case["argv"])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps(os.waitstatus_to_exitcode(status)), flush=True)
"""


@dataclass
class Result:
    code: int
    out: str
    err: str


class _Cli:
    """A process that has imported innosim and forks one child per command line."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.n = 0
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DRIVER],
            env=_env(),
            cwd=tmp,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def __call__(self, *argv) -> Result:
        self.n += 1
        out, err = self.tmp / f"{self.n}.out", self.tmp / f"{self.n}.err"
        case = {"argv": [str(a) for a in argv], "stdout": str(out), "stderr": str(err)}
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        code = json.loads(self.proc.stdout.readline())
        return Result(code, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    c = _Cli(tmp_path_factory.mktemp("cli"))
    yield c
    c.close()


def assert_refused(res: Result, file: Path, column: str | None = None) -> str:
    """Exit 2 and exactly one stderr line, `innosim: error: FILE...` naming the damaged file."""
    lines = res.err.strip().splitlines()
    assert res.code == 2, f"exit {res.code}: {res.err}"
    assert "Traceback" not in res.err and "internal error" not in res.err, res.err
    assert len(lines) == 1, res.err
    line = lines[0]
    assert line.startswith("innosim: error: "), line
    assert str(file) in line, f"{file} not named: {line}"
    if column:
        assert column in line, f"column {column!r} not named: {line}"
    return line


# ------------------------------------------------------------------------------------------------
# the result folders, built once
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Two short runs (`a` with firm records, `b` without) and a short Morris sweep (8 points x
    2 replicates), started side by side: a few seconds."""
    d = tmp_path_factory.mktemp("built")
    short = d / "short.yaml"
    doc = {"name": "short", "extends": str(SCENARIOS / "baseline.yaml")}
    doc["time"] = {"start_year": 2016, "end_year": 2018}
    short.write_text(yaml.safe_dump(doc), encoding="utf-8")
    (d / "spec").mkdir()
    levers = {JJJ: {"low": 0.0, "high": 1.0}, TTR: {"low": 0.5, "high": 3.0}}
    spec = write_short_sweep(d / "spec", levers, sampler="morris", samples=2)
    sim = [sys.executable, "-m", "sim"]
    run = [*sim, "run", str(short), "--scale", "0.02", "--replicates", "2", "--quiet"]
    cmds = [
        [*run, "--agents", "--out", str(d / "a")],
        [*run, "--seed", "7", "--out", str(d / "b")],
        [*sim, "sweep", str(spec), "--out", str(d / "sweep"), "--workers", "1", "--quiet"],
    ]
    procs = [
        subprocess.Popen(c, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in cmds
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    return {"a": d / "a", "b": d / "b", "sweep": d / "sweep", "spec": spec}


def parts_of(folder: Path) -> list[Path]:
    return sorted((folder / "parts").glob("*.parquet"))


def digest(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ------------------------------------------------------------------------------------------------
# damage
# ------------------------------------------------------------------------------------------------
GARBAGE = random.Random(13).randbytes(3000)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


def _write(df: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)


def cut(n: int | float):
    """Keep the first n bytes (a fraction: that share; negative: all but the last -n)."""

    def apply(path: Path, donor):
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * n)] if isinstance(n, float) else data[:n])

    return apply


def content(data: bytes | str):
    def apply(path: Path, donor):
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))

    return apply


def table(change):
    """The file's own table, changed, written back in its format (a valid CSV or Parquet)."""

    def apply(path: Path, donor):
        _write(change(_read(path)), path)

    return apply


def donor_table(path: Path, donor: Path):
    """Another file's table in this file's name and format."""
    _write(_read(donor), path)


def donor_bytes(path: Path, donor: Path):
    shutil.copyfile(donor, path)


def cut_lines(n: int):
    def apply(path: Path, donor):
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:-n]))

    return apply


def drop(col):
    return lambda df: df.drop(columns=col)


def rename(col):
    return lambda df: df.rename(columns={col: col.upper() + "_"})


def text_in(col, text="abc", row=2):
    def change(df):
        df[col] = df[col].astype(object)
        df.loc[row, col] = text
        return df

    return change


def as_text(col):
    return lambda df: df.assign(**{col: df[col].astype(str)})


def as_ints(col):
    return lambda df: df.assign(**{col: range(len(df))})


def set_at(col, value, row=1):
    def change(df):
        df[col] = df[col].astype(type(value))
        df.loc[row, col] = value
        return df

    return change


def nan_row(col):
    """One more row, a copy of the first with `col` missing."""

    def change(df):
        extra = df.iloc[[0]].astype({col: object})
        extra[col] = None
        return pd.concat([df.astype({col: object}), extra], ignore_index=True)

    return change


@dataclass(frozen=True)
class Case:
    file: str  # in its folder; "part" is the first sweep part
    how: str
    column: str | None  # what the message must name besides the file
    apply: object  # (path, donor) -> None
    donor: str | None = None  # a file of the same folder, "part 2" or "sweep part"

    def __str__(self) -> str:
        return f"{self.file}: {self.how}"


def byte_cases(file: str) -> list[Case]:
    """Cut at several offsets, or overwritten: the same for every table."""
    return [
        Case(file, "cut to half", None, cut(0.5)),
        Case(file, "cut to 10 bytes", None, cut(10)),
        Case(file, "cut to 0 bytes", None, cut(0)),
        Case(file, "last byte cut", None, cut(-1)),
        Case(file, "garbage", None, content(GARBAGE)),
        Case(file, "zeros", None, content(b"\0" * 4096)),
    ]


def yaml_cases(file: str) -> list[Case]:
    return [
        Case(file, "unclosed bracket", "line", content("name: [unclosed\n")),
        Case(file, "a list", None, content("- name\n- short\n")),
        Case(file, "python tag", "line", content("name: !!python/object/apply:os.system [x]\n")),
        Case(file, "garbage", None, content(GARBAGE)),
    ]


F = "indicators.csv"
INDICATOR_CASES = byte_cases(F) + [
    Case(F, "column dropped", "value", table(drop("value"))),
    Case(F, "column renamed", "year", table(rename("year"))),
    Case(F, "text in numbers", "value", table(text_in("value"))),
    Case(F, "year not whole", "year", table(set_at("year", 2016.5))),
    Case(F, "rows with missing keys", "replicate", table(nan_row("replicate"))),
    Case(F, "attainment's table", None, donor_table, "attainment.csv"),
    Case(F, "cut at a line break", "replicate", cut_lines(3)),
]
F = "attainment.csv"
ATTAINMENT_CASES = byte_cases(F) + [
    Case(F, "column dropped", "probability", table(drop("probability"))),
    Case(F, "column renamed", "target_year", table(rename("target_year"))),
    Case(F, "text in numbers", "target_year", table(text_in("target_year", "soon", 0))),
    Case(F, "rows with missing keys", "probability", table(nan_row("probability"))),
    Case(F, "indicators' table", None, donor_table, "indicators.csv"),
]
RUN_CASES = INDICATOR_CASES + ATTAINMENT_CASES + yaml_cases("scenario.resolved.yaml")

F = "firms.parquet"
FACTS_CASES = byte_cases(F) + [
    Case(F, "column dropped", "revenue", table(drop("revenue"))),
    Case(F, "column renamed", "firm_id", table(rename("firm_id"))),
    Case(F, "year as text", "year", table(as_text("year"))),
    Case(F, "rows with missing keys", "firm_id", table(nan_row("firm_id"))),
    Case(F, "alive not boolean", "alive", table(lambda df: df.assign(alive=df.alive.astype(int)))),
    Case(F, "a sweep part's table", None, donor_table, "sweep part"),
]

F = "design.parquet"
SWEEP_CASES = byte_cases(F) + [
    Case(F, "lever column dropped", JJJ, table(drop(JJJ))),
    Case(F, "column renamed", "point", table(rename("point"))),
    Case(F, "lever as text", JJJ, table(as_text(JJJ))),
    Case(F, "rows with missing keys", "point", table(nan_row("point"))),
    Case(F, "run table", None, donor_table, "runs.parquet"),
]
F = "runs.parquet"
SWEEP_CASES += byte_cases(F) + [
    Case(F, "column dropped", "key", table(drop("key"))),
    Case(F, "column renamed", "seed", table(rename("seed"))),
    Case(F, "key as numbers", "key", table(as_ints("key"))),
    Case(F, "rows with missing keys", "key", table(nan_row("key"))),
    Case(F, "design table", None, donor_table, "design.parquet"),
]
SWEEP_CASES += yaml_cases("spec.yaml") + [
    Case("spec.yaml", "spec not a mapping", "spec", content("name: x\nspec: 5\n")),
]

F = "part"
PART_CASES = byte_cases(F) + [
    Case(F, "column dropped", "value", table(drop("value"))),
    Case(F, "column renamed", "indicator", table(rename("indicator"))),
    Case(F, "value as text", "value", table(as_text("value"))),
    Case(F, "year not whole", "year", table(set_at("year", 2016.5))),
    Case(F, "rows with missing keys", "year", table(nan_row("year"))),
    Case(F, "run table", None, donor_table, "runs.parquet"),
    Case(F, "another run's part", "key", donor_bytes, "part 2"),
]


def damage(folder: Path, case: Case, built: dict) -> Path:
    """Damage `case.file` in `folder` (a copy); returns the damaged file."""
    path = parts_of(folder)[0] if case.file == "part" else folder / case.file
    donor = {
        None: None,
        "part 2": parts_of(folder)[1] if case.file == "part" else None,
        "sweep part": parts_of(built["sweep"])[0],
    }.get(case.donor, folder / str(case.donor))
    case.apply(path, donor)
    return path


def copy(built: dict, name: str, tmp: Path) -> Path:
    return Path(shutil.copytree(built[name], tmp / name))


def no_output(out: Path) -> None:
    """No output folder, and no staging folder left beside it."""
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


# ------------------------------------------------------------------------------------------------
# the cases
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", RUN_CASES, ids=str)
def test_compare_refuses_a_damaged_run_folder(built, cli, tmp_path, case):
    folder = copy(built, "b", tmp_path)
    path = damage(folder, case, built)
    out = tmp_path / "cmp"
    assert_refused(cli("compare", built["a"], folder, "--out", out), path, case.column)
    no_output(out)


@pytest.mark.parametrize("case", FACTS_CASES, ids=str)
def test_facts_refuses_damaged_firm_records(built, cli, tmp_path, case):
    folder = copy(built, "a", tmp_path)
    path = damage(folder, case, built)
    assert_refused(cli("facts", folder), path, case.column)
    assert not (folder / "facts.md").exists() and not (folder / "facts.csv").exists()


def _sweep_command(command: str, folder: Path, built: dict, tmp: Path) -> list:
    return {
        "compare": ["compare", folder, "--out", tmp / "cmp"],
        "analyze": ["analyze", folder, "--method", "morris", "--outcome", OUTCOME],
        "resume": ["sweep", built["spec"], "--out", folder, "--resume", "--workers", "1"]
        + ["--quiet"],
    }[command]


@pytest.mark.parametrize("command", ["compare", "analyze", "resume"])
@pytest.mark.parametrize("case", SWEEP_CASES, ids=str)
def test_sweep_readers_refuse_a_damaged_sweep_folder(built, cli, tmp_path, case, command):
    folder = copy(built, "sweep", tmp_path)
    path = damage(folder, case, built)
    before = digest(folder)
    res = cli(*_sweep_command(command, folder, built, tmp_path))
    assert_refused(res, path, case.column)
    no_output(tmp_path / "cmp")
    assert digest(folder) == before  # nothing removed, re-run or added (no analysis/)


@pytest.mark.parametrize("command", ["compare", "analyze"])
@pytest.mark.parametrize("case", PART_CASES, ids=str)
def test_a_damaged_part_is_refused_when_read(built, cli, tmp_path, case, command):
    folder = copy(built, "sweep", tmp_path)
    path = damage(folder, case, built)
    before = digest(folder)
    line = assert_refused(cli(*_sweep_command(command, folder, built, tmp_path)), path, case.column)
    assert "--resume" in line
    no_output(tmp_path / "cmp")
    assert digest(folder) == before


@pytest.mark.parametrize("case", PART_CASES, ids=str)
def test_a_damaged_part_is_run_again_on_resume(built, cli, tmp_path, case):
    folder = copy(built, "sweep", tmp_path)
    damage(folder, case, built)
    res = cli(*_sweep_command("resume", folder, built, tmp_path))
    assert res.code == 0, res.err
    assert "1 damaged result part(s) removed and run again" in res.out and "ran 1 in" in res.out
    assert digest(folder) == digest(built["sweep"])  # the same bytes as the undamaged sweep


# One case per command through `python -m sim` itself (an interpreter of its own each).
REAL = [
    ("compare", RUN_CASES[0]),
    ("facts", FACTS_CASES[6]),
    ("compare sweep", SWEEP_CASES[10]),
    ("analyze", PART_CASES[1]),
    ("resume", SWEEP_CASES[17]),
]


@pytest.mark.parametrize(("command", "case"), REAL, ids=[f"{c}-{k}" for c, k in REAL])
def test_real_entry_point(built, tmp_path, command, case):
    name = {"compare": "b", "facts": "a"}.get(command, "sweep")
    folder = copy(built, name, tmp_path)
    path = damage(folder, case, built)
    if command == "compare":
        args = ["compare", built["a"], folder, "--out", tmp_path / "cmp"]
    elif command == "facts":
        args = ["facts", folder]
    else:
        args = _sweep_command(command.split()[0], folder, built, tmp_path)
    res = _sim(*args)
    assert_refused(Result(res.returncode, res.stdout, res.stderr), path, case.column)
    no_output(tmp_path / "cmp")


def test_case_counts():
    """The closing note of issue 13 reports these counts."""
    refused = len(RUN_CASES) + len(FACTS_CASES) + 3 * len(SWEEP_CASES) + 2 * len(PART_CASES)
    assert (len(RUN_CASES), len(FACTS_CASES), len(SWEEP_CASES), len(PART_CASES)) == (
        28,
        12,
        27,
        13,
    )
    assert refused + len(PART_CASES) + len(REAL) >= 150


# ------------------------------------------------------------------------------------------------
# the shared reader itself
# ------------------------------------------------------------------------------------------------
def test_read_table_refuses_what_is_not_a_file_and_what_is_too_large(tmp_path):
    from sim.inputs.errors import InputError
    from sim.inputs.tables import read_table

    cols = {"a": "int"}
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # reading it would block: refused before it is opened
    (tmp_path / "dir.csv").mkdir()
    big = tmp_path / "big.csv"
    big.write_text("a\n" + "1\n" * 100, encoding="utf-8")
    for path, says in [
        (fifo, "not a regular file"),
        (tmp_path / "dir.csv", "is a folder"),
        (tmp_path / "none.csv", "file not found"),
    ]:
        with pytest.raises(InputError, match=says):
            read_table(path, cols)
    with pytest.raises(InputError, match="too large"):
        read_table(big, cols, max_bytes=100)
    assert read_table(big, cols).a.sum() == 100
    with pytest.raises(ValueError, match="unknown column kind"):
        read_table(big, {"a": "integer"})
