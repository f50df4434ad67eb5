"""Bad values (issue 13): every one is exit code 2 with the option or field named, never an
internal error, no traceback, nothing written.

- hostile YAML (alias expansion, "billion laughs", deep nesting, recursive anchors): refused
  while composing, each case timed (well under a second);
- every standard YAML tag on every kind of node (scalar, list, mapping, empty), and on keys,
  and merge keys (`<<`) of the wrong kind;
- command-line numbers per option x notation (`1e9`, `0x10`, 5,000 digits, ...), with the same
  caps as the YAML fields they stand for;
- paths per command x (a NUL character, a name over 255 bytes, a path over 4,096 bytes), on the
  command line and inside YAML (`extends`, `base`).

Command-line option errors are argparse's, in two lines (the project's form for options): the
usage on one line, then `innosim CMD: error: argument OPTION: what was expected`. Errors in
files are one line: `innosim: error: FILE: FIELD: what was expected`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.app.cli import MAX_WORKERS, build_parser, main
from sim.experiments.design import MAX_RUNS, MAX_SAMPLES
from sim.inputs.errors import InputError
from sim.inputs.paths import ROOT
from sim.inputs.reader import MAX_DEPTH, MAX_NODES, NAME_MAX, PATH_MAX, read_yaml, resolve_file
from sim.inputs.scenario import LAST_YEAR, MAX_REPLICATES, SEED_END

GOOD_BASE = "name: short\ntime: {start_year: 2016, end_year: 2018}\n"
SPEED = 2.0  # CPU seconds: the most any hostile file may take (they take milliseconds; the
# largest, a list at the value limit, about 0.35 s). CPU time, not wall time: a loaded CI machine
# must not fail a bound on the work done


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    assert lines[0].startswith("innosim: error: "), lines[0]
    assert "Traceback" not in err and "internal error" not in err
    return lines[0]


def _option_error(err: str, command: str, option: str) -> str:
    """argparse's two-line error: usage (one line) and `innosim CMD: error: argument OPT: ...`."""
    lines = err.strip().splitlines()
    assert len(lines) == 2, f"expected usage + error, got:\n{err}"
    assert lines[0].startswith(f"usage: innosim {command} "), lines[0]
    assert lines[1].startswith(f"innosim {command}: error: argument {option}: "), lines[1]
    assert "Traceback" not in err and "internal error" not in err
    return lines[1]


def _main_exit(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's errors
        return e.code


# ------------------------------------------------------------------------------------------------
# hostile YAML: refused while composing, in milliseconds
# ------------------------------------------------------------------------------------------------
def _laughs(item: str, level: str, levels: int = 9) -> str:
    """`a0: &a0 ITEM`, then `aN: &aN LEVEL(*aN-1)` for N = 1..levels."""
    lines = [f"a0: &a0 {item}"]
    lines += [f"a{n}: &a{n} {level.format(p=f'*a{n - 1}')}" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


NINE = ", ".join(["{p}"] * 9)
HOSTILE = [
    ("lists 9 x 9 levels", _laughs("[x, x, x, x, x, x, x, x, x]", f"[{NINE}]"), "more than"),
    ("lists 9 x 10 levels", _laughs("[x, x, x, x, x, x, x, x, x]", f"[{NINE}]", 10), "more than"),
    (
        "mappings 9 x 9 levels",
        _laughs(
            "{" + ", ".join(f"k{i}: x" for i in range(9)) + "}",
            "{{" + ", ".join(f"k{i}: {{p}}" for i in range(9)) + "}}",
        ),
        "more than",
    ),
    (
        "merge keys <<: [*a, *a, ...]",
        _laughs("{k: [x, x, x, x, x, x, x, x, x]}", "{{<<: [" + NINE + "]}}"),
        "more than",
    ),
    (
        "merge keys and values",
        _laughs(
            "{k: [x, x, x, x, x, x, x, x, x]}",
            "{{<<: [{p}], " + ", ".join(f"m{i}: {{p}}" for i in range(9)) + "}}",
        ),
        "more than",
    ),
    (
        "aliases as mapping keys",
        _laughs(
            "[x, x, x, x, x, x, x, x, x]",
            "[" + ", ".join("{{{p} : " + str(i) + "}}" for i in range(9)) + "]",
        ),
        "more than",
    ),
    (
        "lists under a scenario field",
        "levers:\n  " + _laughs("[1, 1, 1, 1, 1, 1, 1, 1, 1]", f"[{NINE}]").replace("\n", "\n  "),
        "more than",
    ),
    ("alias chain 40 deep", _laughs("[x]", "[{p}]", 40), "nested too deeply"),
    ("merge chain 3000 deep", _laughs("{k: x}", "{{<<: {p}}}", 3000), "nested too deeply"),
    ("recursive anchor (list)", "a: &a [*a]\n", "inside its own anchor"),
    ("recursive anchor (mapping)", "a: &a {b: [1, {c: *a}]}\n", "inside its own anchor"),
    ("recursive merge", "a: &a {<<: *a}\n", "inside its own anchor"),
    (
        "flow nesting 200,000 deep",
        "a: " + "[" * 200_000 + "]" * 200_000 + "\n",
        "nested too deeply",
    ),
    (
        "block nesting 300 deep",
        "".join(f"{' ' * i}k{i}:\n" for i in range(300)) + " " * 300 + "x\n",
        "nested too deeply",
    ),
    ("a list of 400,000 numbers", "a: [" + "0," * 400_000 + "0]\n", "more than"),
]


@pytest.mark.parametrize(("text", "says"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_yaml_is_refused_fast(tmp_path, text, says):
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    t0 = time.process_time()
    with pytest.raises(InputError) as e:
        read_yaml(path)
    seconds = time.process_time() - t0
    assert seconds < SPEED, f"{seconds:.2f} s"
    assert says in str(e.value) and str(path) in str(e.value)
    assert "line " in str(e.value) or e.value.path  # where: the line or the field path


@pytest.mark.parametrize(
    ("command", "text"),
    [("validate", HOSTILE[0][1]), ("run", HOSTILE[4][1]), ("sweep", HOSTILE[6][1])],
    ids=["validate laughs", "run merge laughs", "sweep spec laughs"],
)
def test_hostile_yaml_through_the_cli(tmp_path, monkeypatch, capsys, command, text):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.yaml").write_text(text, encoding="utf-8")
    before = _files(tmp_path)
    argv = {
        "validate": ["validate"],
        "run": ["run", "--out", "o"],
        "sweep": ["sweep", "--out", "o"],
    }
    t0 = time.process_time()
    code = main([*argv[command], "evil.yaml"])
    assert time.process_time() - t0 < SPEED
    assert code == 2
    assert f"more than {MAX_NODES:,} values" in _one_error_line(capsys.readouterr().err)
    assert _files(tmp_path) == before


def test_hostile_spec_in_a_sweep_folder(tmp_path, capsys):
    """A sweep folder's spec.yaml is read back by compare and analyze through the same reader."""
    import pandas as pd

    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "spec.yaml").write_text(HOSTILE[0][1], encoding="utf-8")
    pd.DataFrame({"point": [0]}).to_parquet(folder / "design.parquet")
    pd.DataFrame({"point": [0]}).to_parquet(folder / "runs.parquet")
    before = _files(tmp_path)
    for argv in (["compare", str(folder)], ["analyze", str(folder), "--method", "sobol"]):
        t0 = time.process_time()
        code = main(argv)
        assert time.process_time() - t0 < SPEED
        assert code == 2, argv
        line = _one_error_line(capsys.readouterr().err)
        assert "spec.yaml" in line and "more than" in line
    assert _files(tmp_path) == before


def test_below_the_limits_is_read(tmp_path):
    """A file just inside the limits is read (quickly): the limits are about size, not aliases."""
    path = tmp_path / "big.yaml"
    path.write_text(_laughs("[x, x, x, x, x, x, x, x, x]", f"[{NINE}]", 3), encoding="utf-8")
    t0 = time.process_time()
    data = read_yaml(path)
    assert time.process_time() - t0 < SPEED
    assert len(data["a3"]) == 9 and data["a3"][0][0][0] == ["x"] * 9
    deep = "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"  # the innermost list at level 20
    path.write_text(deep, encoding="utf-8")
    assert read_yaml(path) is not None
    path.write_text("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="nested too deeply"):
        read_yaml(path)
    path.write_text("a: [" + "0," * (MAX_NODES - 4) + "0]\n", encoding="utf-8")
    assert len(read_yaml(path)["a"]) == MAX_NODES - 3  # root, key, list, items: MAX_NODES
    path.write_text("a: [" + "0," * (MAX_NODES - 3) + "0]\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"more than {MAX_NODES:,} values"):
        read_yaml(path)


def test_shipped_files_are_far_below_the_limits():
    from sim.inputs.reader import PlainLoader

    for path in [*ROOT.glob("scenarios/*.yaml"), *ROOT.glob("scenarios/sweeps/*.yaml")]:
        loader = PlainLoader(path.read_text(encoding="utf-8"))
        loader.get_single_node()
        assert loader._total < MAX_NODES / 20, path  # plan.yaml: 265


# ------------------------------------------------------------------------------------------------
# every standard tag on every kind of node
# ------------------------------------------------------------------------------------------------
KINDS = {"scalar": "5", "list": "[1, 2]", "mapping": "{a: 1}", "empty": ""}
SCALAR = "takes a single value (text, a number, true/false or null)"
NOT_ALLOWED = "is not allowed"
# (tag, kind) -> the value read, or the fragment of the error
EXPECTED = {
    "str": {"scalar": "5", "list": SCALAR, "mapping": SCALAR, "empty": ""},
    "int": {"scalar": 5, "list": SCALAR, "mapping": SCALAR, "empty": "is not a whole number"},
    "float": {"scalar": 5.0, "list": SCALAR, "mapping": SCALAR, "empty": "'' is not a number"},
    "bool": {
        "scalar": "'5' is not a boolean",
        "list": SCALAR,
        "mapping": SCALAR,
        "empty": "'' is not a boolean",
    },
    "null": {"scalar": "'5' is not null", "list": SCALAR, "mapping": SCALAR, "empty": None},
    "map": {
        "scalar": "the tag !!map takes a mapping, got the value '5'",
        "list": "the tag !!map takes a mapping, got a list",
        "mapping": {"a": 1},
        "empty": "the tag !!map takes a mapping, got nothing",
    },
    "seq": {
        "scalar": "the tag !!seq takes a list, got the value '5'",
        "list": [1, 2],
        "mapping": "the tag !!seq takes a list, got a mapping",
        "empty": "the tag !!seq takes a list, got nothing",
    },
    **{
        tag: dict.fromkeys(KINDS, NOT_ALLOWED)
        for tag in (
            "merge",
            "value",
            "binary",
            "set",
            "omap",
            "pairs",
            "timestamp",
            "python/object:os.system",
            "python/tuple",
        )
    },
}
TAG_CASES = [(tag, kind, want) for tag, kinds in EXPECTED.items() for kind, want in kinds.items()]


def _read(tmp_path: Path, text: str):
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    return read_yaml(path)


@pytest.mark.parametrize(
    ("tag", "kind", "want"), TAG_CASES, ids=[f"!!{t} {k}" for t, k, _ in TAG_CASES]
)
def test_tag_on_a_value(tmp_path, tag, kind, want):
    text = f"x: !!{tag} {KINDS[kind]}\n"
    if isinstance(want, str) and (
        want == NOT_ALLOWED or want.startswith(("the tag", "takes", "'"))
    ):
        with pytest.raises(InputError) as e:
            _read(tmp_path, text)
        assert want in str(e.value) and "line 1, column 4" in str(e.value), str(e.value)
    elif want == SCALAR:
        with pytest.raises(InputError, match=f"the tag !!{tag} takes a single value"):
            _read(tmp_path, text)
    elif isinstance(want, str) and want.startswith("is not"):
        with pytest.raises(InputError, match=want):
            _read(tmp_path, text)
    else:
        assert _read(tmp_path, text) == {"x": want}


KEY_EXPECTED = {
    "str": {"5": 1},
    "int": {5: 1},
    "float": {5.0: 1},
    "bool": "'5' is not a boolean",
    "null": "'5' is not null",
    "map": "the tag !!map takes a mapping",
    "seq": "the tag !!seq takes a list",
    "merge": "a merge key (<<) takes a mapping or a list of mappings, got the value '1'",
    "value": NOT_ALLOWED,  # keys are read before merging turns `=` keys into text
    **dict.fromkeys(("binary", "set", "omap", "pairs", "timestamp", "python/tuple"), NOT_ALLOWED),
}


@pytest.mark.parametrize(
    ("tag", "want"), KEY_EXPECTED.items(), ids=[f"key !!{t}" for t in KEY_EXPECTED]
)
def test_tag_on_a_key(tmp_path, tag, want):
    text = f"!!{tag} 5: 1\n"
    if isinstance(want, str):
        with pytest.raises(InputError, match="line 1, column") as e:
            _read(tmp_path, text)
        assert want in str(e.value)
    else:
        assert _read(tmp_path, text) == want


MERGES = [
    ("<<: 5", "got the value '5'"),
    ("<<: [1, 2]", "got the value '1'"),
    ("<<: [{a: 1}, 5]", "got the value '5'"),
    ("<<: ", "got nothing"),
    ("<<: [[1]]", "got a list"),
    ("<<: *s", "got the value 'text'"),
    ("<<: {a: 1}", None),
    ("<<: [*m, {b: 2}]", None),
    ("? [a, b]\n  : 1", "found unhashable key"),
    ("? {a: 1}\n  : 1", "found unhashable key"),
]


@pytest.mark.parametrize(("entry", "says"), MERGES, ids=[m[0] for m in MERGES])
def test_merge_keys_and_complex_keys(tmp_path, entry, says):
    text = f"s: &s text\nm: &m {{a: 1}}\nx:\n  {entry}\n"
    if says is None:
        assert _read(tmp_path, text)["x"]["a"] == 1
    else:
        with pytest.raises(InputError, match="line ") as e:
            _read(tmp_path, text)
        assert says in str(e.value)


def test_tags_in_one_real_process(tmp_path):
    """A sample of the wrong-kind cases through `python -m sim validate`: one line each."""
    texts = [
        "name: !!map 5\n",
        "name: !!map [1]\n",
        "levers: !!seq a\n",
        "name: !!str {a: 1}\n",
        "seed: !!int [1]\n",
        "scale: !!float {}\n",
        "name: !!bool [1]\n",
        "name: !!null [1]\n",
        "name: !!null 5\n",
        "name: !!merge x\n",
        "name: !!value x\n",
        "time: {<<: 5}\n",
        "time: {<<: [1, 2]}\n",
        "!!map 5: 1\n",
        HOSTILE[0][1],
        "a: &a [*a]\n",
    ]
    paths = []
    for i, text in enumerate(texts):
        paths.append(tmp_path / f"c{i:02d}.yaml")
        paths[-1].write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("INNOSIM_DEBUG", None)
    t0 = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "sim", "validate", *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert time.perf_counter() - t0 < 30
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("innosim: error: ")]
    assert len(errors) == len(texts), result.stderr
    for path, line in zip(paths, errors, strict=True):
        assert str(path) in line and ("line " in line or ": name: " in line), line


# ------------------------------------------------------------------------------------------------
# command-line numbers: same caps as the YAML fields, any notation refused cleanly
# ------------------------------------------------------------------------------------------------
SCENARIO = "scenario.yaml"  # written in the test's folder (the current folder)
OPTIONS = {  # option -> (argv before it, argv after it)
    "run --replicates": (["run", SCENARIO, "--out", "o"], []),
    "run --seed": (["run", SCENARIO, "--out", "o"], []),
    "run --workers": (["run", SCENARIO, "--out", "o"], []),
    "sweep --workers": (["sweep", "spec.yaml", "--out", "o"], []),
    "calibrate --workers": (["calibrate", "--out", "o"], []),
    "calibrate --budget": (["calibrate", "--out", "o"], []),
    "calibrate --replicates": (["calibrate", "--out", "o"], []),
    "calibrate --seed": (["calibrate", "--out", "o"], []),
    "calibrate --holdout": (["calibrate", "--out", "o"], []),
    "compare --points": (["compare", "d1", "--out", "o"], []),
    "compare --reference": (["compare", "d1", "--out", "o"], []),
    "ui --port": (["ui", "--no-browser"], []),
}
BAD_NUMBERS = {
    "1e9": "1e9",
    "10**9": "10**9",
    "1_000_000": "1_000_000",
    "0x10": "0x10",
    "0o17": "0o17",
    "23 digits": "9" * 23,
    "5000 digits": "9" * 5000,
    "non-ASCII digits": "٣",
    "full-width digits": "３",
    "nan": "nan",
    "inf": "inf",
    "-inf": "-inf",
    "1.5": "1.5",
    "2.0": "2.0",
    "empty": "",
    "blank": "  ",
    "-1": "-1",
    "3 4": "3 4",
    "NUL": "3\x00",
}
NUMBER_CASES = [(o, n) for o in OPTIONS for n in BAD_NUMBERS]


@pytest.mark.parametrize(
    ("option", "notation"), NUMBER_CASES, ids=[f"{o} {n}" for o, n in NUMBER_CASES]
)
def test_bad_number(tmp_path, monkeypatch, capsys, option, notation):
    monkeypatch.chdir(tmp_path)
    before, after = OPTIONS[option]
    flag = option.split()[1]
    code = _main_exit([*before, flag, BAD_NUMBERS[notation], *after])
    err = capsys.readouterr().err
    assert code == 2, err
    line = _option_error(err, option.split()[0], flag)
    assert "expected " in line
    if notation == "5000 digits":
        assert "digits" in line and "9" * 40 not in line  # the number is not echoed whole
    assert _files(tmp_path) == []


# The caps: the largest value is taken (parsed; nothing runs), one more is refused.
CAPS = {
    "run --replicates": MAX_REPLICATES,
    "calibrate --replicates": MAX_REPLICATES,
    "run --seed": SEED_END - 1,
    "calibrate --seed": SEED_END - 1,
    "run --workers": MAX_WORKERS,
    "sweep --workers": MAX_WORKERS,
    "calibrate --workers": MAX_WORKERS,
    "calibrate --budget": MAX_SAMPLES,
    "calibrate --holdout": LAST_YEAR,
    "compare --points": MAX_RUNS - 1,
    "compare --reference": MAX_RUNS - 1,
    "ui --port": 65535,
}


@pytest.mark.parametrize(("option", "cap"), CAPS.items(), ids=list(CAPS))
def test_caps_match_the_yaml_fields(capsys, option, cap):
    before, after = OPTIONS[option]
    flag = option.split()[1]
    dest = flag.lstrip("-").replace("-", "_")
    args = build_parser().parse_args([*before, flag, str(cap), *after])
    assert getattr(args, dest) in (cap, [cap])
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([*before, flag, str(cap + 1), *after])
    assert e.value.code == 2
    _option_error(capsys.readouterr().err, option.split()[0], flag)


@pytest.mark.parametrize(
    ("text", "value"), [("-0", 0), (" 3 ", 3), ("+3", 3), ("007", 7), ("\t12", 12)]
)
def test_forms_that_are_whole_numbers(text, value):
    """Decimal digits with a sign or blanks around them read as YAML 1.2 reads them."""
    args = build_parser().parse_args(["run", "x.yaml", "--seed", text])
    assert args.seed == value


def test_yaml_and_cli_caps_are_the_same_constants():
    from sim.experiments.design import SweepSpec
    from sim.inputs.scenario import Scenario

    def le(model, name):  # the field's upper bound (le, or lt - 1)
        for m in model.model_fields[name].metadata:
            if getattr(m, "le", None) is not None:
                return m.le
            if getattr(m, "lt", None) is not None:
                return m.lt - 1
        return None

    assert le(Scenario, "replicates") == le(SweepSpec, "replicates") == MAX_REPLICATES
    assert le(Scenario, "seed") == le(SweepSpec, "seed") == SEED_END - 1
    assert le(SweepSpec, "samples") == MAX_SAMPLES


# ------------------------------------------------------------------------------------------------
# paths: NUL characters and over-long names, on the command line and in YAML
# ------------------------------------------------------------------------------------------------
BAD_PATHS = {
    "NUL": "a\x00b.yaml",
    "long name": "x" * (NAME_MAX + 1),
    "long path": "/".join(["d" * 200] * (PATH_MAX // 200 + 1)),
    "empty": "",
}
PATH_ARGS = {  # command and option -> argv with BAD where the path goes
    "run scenario": ["run", "BAD", "--out", "o"],
    "run --out": ["run", SCENARIO, "--out", "BAD"],
    "validate scenarios": ["validate", SCENARIO, "BAD"],
    "sweep spec": ["sweep", "BAD", "--dry-run"],
    "sweep --out": ["sweep", "spec.yaml", "--out", "BAD"],
    "compare dirs": ["compare", "d1", "BAD", "--out", "o"],
    "compare --out": ["compare", "d1", "--out", "BAD"],
    "analyze dir": ["analyze", "BAD", "--method", "sobol"],
    "facts dir": ["facts", "BAD"],
    "calibrate --out": ["calibrate", "--out", "BAD"],
}
PATH_CASES = [(a, p) for a in PATH_ARGS for p in BAD_PATHS]


@pytest.mark.parametrize(("where", "bad"), PATH_CASES, ids=[f"{a} {p}" for a, p in PATH_CASES])
def test_bad_path_on_the_command_line(tmp_path, monkeypatch, capsys, where, bad):
    monkeypatch.chdir(tmp_path)
    argv = [BAD_PATHS[bad] if a == "BAD" else a for a in PATH_ARGS[where]]
    code = _main_exit(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    option = where.split()[1]
    line = _option_error(err, where.split()[0], option)
    says = {"NUL": "NUL character", "long name": "bytes long; at most 255", "empty": "got nothing"}
    assert says.get(bad, f"at most {PATH_MAX:,}") in line
    assert len(line) < 300  # a long path is shown shortened
    assert _files(tmp_path) == []


@pytest.mark.parametrize("bad", list(BAD_PATHS)[:3])
@pytest.mark.parametrize(
    ("command", "field"), [("run", "extends"), ("validate", "extends"), ("sweep", "base")]
)
def test_bad_path_inside_yaml(tmp_path, monkeypatch, capsys, command, field, bad):
    monkeypatch.chdir(tmp_path)
    value = BAD_PATHS[bad].replace("\x00", "\\0")
    name = "spec.yaml" if field == "base" else SCENARIO
    text = f'{field}: "{value}"\n'
    if field == "base":
        text += "levers: {ip_protection: {low: 0, high: 1}}\n"
    (tmp_path / name).write_text(text, encoding="utf-8")
    before = _files(tmp_path)
    argv = {"run": ["run", name, "--out", "o"], "validate": ["validate", name]}
    code = main(argv.get(command, ["sweep", name, "--out", "o"]))
    line = _one_error_line(capsys.readouterr().err)
    assert code == 2
    assert f"{name}: {field}: " in line
    assert ("NUL character" if bad == "NUL" else "bytes long") in line
    assert _files(tmp_path) == before


@pytest.mark.parametrize("bad", list(BAD_PATHS)[:3])
def test_readers_refuse_bad_paths(bad):
    with pytest.raises(InputError):
        read_yaml(BAD_PATHS[bad])
    with pytest.raises(InputError) as e:
        resolve_file(BAD_PATHS[bad], "f.yaml", "base")
    assert str(e.value).startswith("f.yaml: base: ")


def test_a_few_in_real_processes(tmp_path):
    """The interpreter itself: no traceback, argparse's two lines or the one-line error."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("INNOSIM_DEBUG", None)
    (tmp_path / "evil.yaml").write_text(HOSTILE[1][1], encoding="utf-8")
    cases = [
        (["run", "x.yaml", "--replicates", "9" * 5000], "--replicates"),
        (["sweep", "x.yaml", "--workers", "1e9"], "--workers"),
        (["calibrate", "--holdout", "٢٠٢٠"], "--holdout"),
        (["facts", "x" * 300], "dir"),
        (["run", BAD_PATHS["long path"]], "scenario"),
        (["validate", "evil.yaml"], None),
    ]
    for argv, option in cases:
        t0 = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "sim", *argv],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        assert time.perf_counter() - t0 < 20
        assert result.returncode == 2, (argv[:2], result.stderr)
        if option:
            _option_error(result.stderr, argv[0], option)
        else:
            assert f"more than {MAX_NODES:,}" in _one_error_line(result.stderr)
    assert _files(tmp_path) == ["evil.yaml"]


def test_case_counts():
    """The closing note of issue 13 reports these counts."""
    assert len(HOSTILE) >= 15 and len(TAG_CASES) >= 60 and len(KEY_EXPECTED) >= 15
    assert len(NUMBER_CASES) >= 200 and len(PATH_CASES) >= 40
