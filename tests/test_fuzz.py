"""Fuzz: mutated copies of the shipped scenarios and sweep specs are either valid or refused with
one message that names the file and exit code 2, through the command line (`innosim validate`,
`innosim sweep --dry-run`); nothing else escapes (issue 8).

A mutation walks to a random place in the parsed YAML and deletes it, replaces it with a value of
another kind (None, bools, integers, floats including NaN and infinities, text, lists, mappings),
or adds an unknown key next to it. The mutated document is written back as YAML (so what is
tested is what a user could write) and loaded as the CLI loads it. INNOSIM_FUZZ_EXAMPLES sets the
number of mutations per kind (default 125).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SPECS = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))

junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=8), inner, max_size=3),
    ),
    max_leaves=6,
)


def _places(doc, path=()):
    """Every (container path, key) in the document."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield path, k
            yield from _places(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield path, i
            yield from _places(v, (*path, i))


def _at(doc, path):
    for k in path:
        doc = doc[k]
    return doc


@st.composite
def mutated(draw, files):
    source = draw(st.sampled_from(files))
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        places = list(_places(doc))
        if not places:
            break
        path, key = draw(st.sampled_from(places))
        parent = _at(doc, path)
        op = draw(st.sampled_from(("delete", "replace", "add")))
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(junk)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(junk)
        else:
            parent.append(draw(junk))
    return source, doc


def _write(tmp_path: Path, source: Path, doc) -> Path:
    # Relative references (`extends`, a spec's `base`) resolve next to the copy as next to the
    # original: the copy sits in a folder of the same depth.
    folder = tmp_path / source.parent.relative_to(ROOT)
    folder.mkdir(parents=True, exist_ok=True)
    for sibling in source.parent.glob("*.yaml"):
        (folder / sibling.name).write_text(sibling.read_text(encoding="utf-8"), encoding="utf-8")
    if source.parent.name == "sweeps":
        for sc in SCENARIOS:
            (tmp_path / "scenarios" / sc.name).write_text(sc.read_text(encoding="utf-8"))
    path = folder / f"fuzzed_{source.name}"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _check(source: Path, path: Path) -> int:
    """Through the command line: exit 0 (valid) or 2 with one message naming a file."""
    if source.parent.name == "sweeps":
        args = ["sweep", str(path), "--dry-run"]
    else:
        args = ["validate", str(path)]
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(args)
    message = err.getvalue()
    assert code in (0, 2), f"exit {code}: {message}"
    if code == 0:
        assert ": ok" in out.getvalue() and not message
        return code
    assert "Traceback" not in message
    lines = message.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("innosim: error: "), message
    assert path.name in message or ".yaml" in message, message
    return code


@pytest.mark.parametrize("files", [SCENARIOS, SPECS], ids=["scenarios", "sweep_specs"])
@settings(
    max_examples=int(os.environ.get("INNOSIM_FUZZ_EXAMPLES", "125")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_mutated_files_are_valid_or_refused_clearly(tmp_path_factory, files, data):
    source, doc = data.draw(mutated(files))
    path = _write(tmp_path_factory.mktemp("fuzz"), source, doc)
    _check(source, path)


@pytest.mark.parametrize("source", SCENARIOS + SPECS, ids=lambda p: p.name)
def test_shipped_files_load_unchanged(tmp_path, source):
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    assert _check(source, _write(tmp_path, source, doc)) == 0
