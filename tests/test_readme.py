"""README's first commands run as written after `make demo`: every line of "Using it" is an
innosim command the real parser accepts (no placeholders such as `[--force]` or `N`), and every
folder a command reads was written by `make demo` or by an earlier line, in the order given."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from sim.app.cli import _default_run_out, build_parser
from sim.inputs.paths import ROOT
from sim.inputs.scenario import load_scenario

README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def using_it() -> list[list[str]]:
    """The commands of README's "Using it" block, split as a shell would (comments dropped)."""
    section = README.split("## Using it", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)[1]
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def demo_output() -> Path:
    """The folder `make demo` writes (its `innosim run ... --out DIR`)."""
    line = next(ln for ln in MAKEFILE.splitlines() if "innosim run" in ln)
    argv = shlex.split(line)
    return Path(argv[argv.index("--out") + 1])


def test_every_line_is_an_innosim_command_the_parser_accepts():
    commands = using_it()
    assert len(commands) >= 10
    parser = build_parser()
    for argv in commands:
        assert argv[0] == ".venv/bin/innosim", argv  # the venv `make demo` made
        try:
            parser.parse_args(argv[1:])
        except SystemExit:
            pytest.fail(f"README command does not parse: {shlex.join(argv)}")


def test_every_folder_read_was_written_before():
    parser = build_parser()
    written = {demo_output()}
    for argv in using_it():
        a = parser.parse_args(argv[1:])
        reads: list[Path] = []
        if a.command == "run":
            sc = load_scenario(a.scenario)  # the scenario exists (a file or a shipped name)
            out = a.out or _default_run_out(sc.name, a.set)
            assert out not in written, f"{shlex.join(argv)}: {out} exists (needs --force)"
            written.add(out)
        elif a.command in ("compare", "facts", "analyze"):
            reads = list(a.dirs) if a.command == "compare" else [a.dir]
            if getattr(a, "out", None):  # facts and analyze write into the folder they read
                written.add(a.out)
        elif a.command == "sweep":
            assert a.spec.is_file() or (ROOT / a.spec).is_file(), a.spec
            written.add(a.out)
        elif a.command == "calibrate":
            if a.install_only:
                reads = [a.out]
            else:
                written.add(a.out)
        missing = [d for d in reads if d not in written]
        assert not missing, f"{shlex.join(argv)} reads {missing}, which no earlier line wrote"
