"""The catalogue of malformed inputs (issue 8): every case, through the command line, gets exit
code 2 and one message that names the file, the field path (or line and column) and what was
expected; no traceback, and nothing is written.

Scenario cases are run with `innosim run --out DIR` (DIR must not appear) and, all at once, in one
real process with `innosim validate` (every file reported, exit 2). Sweep-spec cases are run with
`innosim sweep SPEC --out DIR`.

Each case: (id, file content, field path or position the message must show, what it must say).
File content is text, bytes, or a dict of extra files written beside it ({name: content}).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sim.app.cli import main
from sim.inputs.paths import ROOT

BASELINE = ROOT / "scenarios" / "baseline.yaml"
GOOD_BASE = "name: short\ntime: {start_year: 2016, end_year: 2018}\n"


@dataclass(frozen=True)
class Case:
    id: str
    text: str | bytes | None  # None: see `special`
    where: str | None  # field path or "line N, column M" the message must contain
    says: str  # what the message must say (a fragment)
    extra: dict = field(default_factory=dict)  # other files beside it
    special: str | None = None  # "directory", "missing", "fifo", "device", "symlink loop"


LEVER = "ip_protection"  # range [0, 1]

SCENARIO_CASES = [
    # --- the file itself ------------------------------------------------------------------------
    Case("empty file", "", None, "empty file, expected a mapping of scenario fields"),
    Case("only a comment", "# nothing here\n", None, "empty file"),
    Case("only blanks", "   \n\n", None, "empty file"),
    Case("a list", "- a\n- b\n", None, "expected a mapping of scenario fields, got a list"),
    Case("a number", "42\n", None, "got a number"),
    Case("text", "just some words\n", None, "got text"),
    Case("a boolean", "true\n", None, "got a boolean"),
    Case("binary junk", bytes(range(256)) * 4, None, "not a UTF-8 text file"),
    Case(
        "gzip data",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcbH\xcd\xc9\xc9\x07\x00",
        None,
        "not a UTF-8",
    ),
    Case("UTF-16 text", "name: x\n".encode("utf-16"), None, "not a UTF-8"),
    Case("NUL character", "name: a\x00b\n", "line 1, column 8", "U+0000 is not allowed"),
    Case("a directory", None, None, "is a directory, expected a YAML file", special="directory"),
    Case("missing file", None, None, "file not found", special="missing"),
    Case("a named pipe", None, None, "not a regular file", special="fifo"),
    Case("a device", None, None, "not a regular file", special="device"),
    Case("a symlink loop", None, None, "Symlink loop", special="symlink loop"),
    Case("too large", "# padding\n" * 200_000, None, "too large"),
    Case("deep nesting", "name: " + "[" * 50 + "]" * 50 + "\n", "name.0.0.0", "nested too deeply"),
    Case("very deep nesting", "name: " + "[" * 3000 + "]" * 3000 + "\n", None, "nested too deeply"),
    Case("lone surrogate", 'name: "\\ud800"\n', "name", "not valid Unicode text"),
    # --- YAML syntax (with line and column) -----------------------------------------------------
    Case("unclosed bracket", "name: x\nlevers: [1, 2\n", "line 3, column 1", "YAML syntax error"),
    Case("bad indentation", "name: a\n  seed: 1\n", "line 2, column 7", "YAML syntax error"),
    Case("tab indentation", "time:\n\tstart_year: 2016\n", "line 2, column 1", "YAML syntax error"),
    Case("unclosed quote", 'name: "abc\nseed: 1\n', "line 3, column 1", "YAML syntax error"),
    Case("two documents", "name: a\n---\nname: b\n", "line 2, column 1", "YAML syntax error"),
    Case("undefined alias", "name: *nowhere\n", "line 1, column 7", "YAML syntax error"),
    Case(
        "duplicate key",
        "seed: 1\nname: a\nseed: 2\n",
        "line 3, column 1",
        "duplicate key 'seed' (first given on line 1)",
    ),
    Case(
        "duplicate lever",
        f"levers:\n  {LEVER}: 0.5\n  {LEVER}: 0.7\n",
        "line 3",
        f"duplicate key '{LEVER}'",
    ),
    Case(
        "duplicate schedule year",
        f"levers:\n  {LEVER}: {{2018: 0.5, 2018: 0.7}}\n",
        "line 2",
        "duplicate key 2018",
    ),
    # --- YAML tags that would construct objects ---------------------------------------------------
    Case(
        "python apply tag",
        "name: !!python/object/apply:os.system ['echo hacked']\n",
        "line 1, column 7",
        "YAML tag '!!python/object/apply:os.system' is not allowed",
    ),
    Case("python name tag", "name: !!python/name:os.system\n", "line 1", "is not allowed"),
    Case(
        "python object tag", "time: !!python/object:pathlib.Path {}\n", "line 1", "is not allowed"
    ),
    Case(
        "python tuple tag",
        "levers: {ip_protection: !!python/tuple [1, 2]}\n",
        "line 1",
        "is not allowed",
    ),
    Case("custom tag", "seed: !env SEED\n", "line 1", "YAML tag '!env' is not allowed"),
    Case("binary tag", "name: !!binary aGVsbG8=\n", "line 1", "YAML tag '!!binary' is not allowed"),
    Case("set tag", "name: !!set {a, b}\n", "line 1", "YAML tag '!!set' is not allowed"),
    Case(
        "bad explicit int", "seed: !!int abc\n", "line 1, column 7", "'abc' is not a whole number"
    ),
    Case("bad explicit bool", "name: !!bool maybe\n", "line 1", "'maybe' is not a boolean"),
    Case(
        "integer of 5000 digits", "seed: " + "1" * 5000 + "\n", "line 1", "5,000 digits is too long"
    ),
    Case("sexagesimal (YAML 1.1)", "seed: 1:30\n", "seed", "expected a whole number, got '1:30'"),
    # --- unknown keys at any depth, with "did you mean" ---------------------------------------------
    Case("unknown top-level key", "sead: 7\n", "sead", "unknown key (did you mean 'seed'?)"),
    Case("unknown key, no match", "colour: blue\n", "colour", "unknown key"),
    Case(
        "unknown key in time",
        "time: {end_yaer: 2020}\n",
        "time.end_yaer",
        "unknown key (did you mean 'end_year'?)",
    ),
    Case(
        "unknown lever",
        "levers: {ip_protectoin: 0.5}\n",
        "levers.ip_protectoin",
        f"unknown lever (did you mean '{LEVER}'?)",
    ),
    Case(
        "unknown shock",
        "shocks: {venture_capitol: {2018: 0.5}}\n",
        "shocks.venture_capitol",
        "unknown shock (did you mean 'venture_capital'?)",
    ),
    Case(
        "unknown parameter",
        "parameters: {revenue_grwth: 0.1}\n",
        "parameters.revenue_grwth",
        "unknown parameter (did you mean 'revenue_growth'?)",
    ),
    Case(
        "a lever key that is a number",
        "levers: {1: 0.5}\n",
        "levers.1",
        "keys here are names (text), got 1",
    ),
    Case("a lever key that is null", "levers: {null: 0.5}\n", "levers", "got null"),
    Case(
        "a top-level key that is a boolean",
        "true: 1\n",
        None,
        "keys are field names (text), got true",
    ),
    # --- missing or empty values --------------------------------------------------------------------
    Case("empty levers section", "levers:\n", "levers", "expected a mapping"),
    Case("lever without value", f"levers: {{{LEVER}: }}\n", f"levers.{LEVER}", "expected a number"),
    Case("empty schedule", f"levers: {{{LEVER}: {{}}}}\n", f"levers.{LEVER}", "an empty schedule"),
    Case("empty time", "time:\n", "time", "expected a mapping"),
    # --- wrong types ------------------------------------------------------------------------------
    Case("seed as text", "seed: lucky\n", "seed", "expected a whole number"),
    Case("seed as fraction", "seed: 3.5\n", "seed", "expected a whole number"),
    Case("seed as boolean", "seed: true\n", "seed", "got a boolean (true)"),
    Case("scale as quoted number", "scale: '0.1'\n", "scale", "expected a number"),
    Case("scale as boolean", "scale: true\n", "scale", "got a boolean"),
    Case("replicates as list", "replicates: [1, 2]\n", "replicates", "expected a whole number"),
    Case("name as number", "name: 12\n", "name", "expected text"),
    Case("name as mapping", "name: {a: 1}\n", "name", "expected text"),
    Case("levers as list", "levers: [ip_protection]\n", "levers", "expected a mapping"),
    Case("lever as text", f"levers: {{{LEVER}: high}}\n", f"levers.{LEVER}", "expected a number"),
    Case(
        "lever as list",
        f"levers: {{{LEVER}: [0.2, 0.4]}}\n",
        f"levers.{LEVER}",
        "expected a number, got a list",
    ),
    Case("lever as boolean", f"levers: {{{LEVER}: true}}\n", f"levers.{LEVER}", "got a boolean"),
    Case(
        "schedule year as text",
        f"levers: {{{LEVER}: {{soon: 0.5}}}}\n",
        f"levers.{LEVER}.soon",
        "schedule years must be whole numbers",
    ),
    Case(
        "schedule year as fraction",
        f"levers: {{{LEVER}: {{2018.5: 0.5}}}}\n",
        f"levers.{LEVER}.'2018.5'",
        "schedule years must be whole numbers",
    ),
    Case("time as number", "time: 2016\n", "time", "expected a mapping"),
    Case(
        "steps_per_year as text",
        "time: {steps_per_year: quarterly}\n",
        "time.steps_per_year",
        "expected a whole number",
    ),
    Case(
        "parameter as text",
        "parameters: {revenue_growth: fast}\n",
        "parameters.revenue_growth",
        "expected a number",
    ),
    Case(
        "a string extends a list", "extends: [baseline.yaml]\n", "extends", "expected a file name"
    ),
    # --- values out of range ----------------------------------------------------------------------
    Case(
        "lever above range", f"levers: {{{LEVER}: 7}}\n", f"levers.{LEVER}", "must be within [0, 1]"
    ),
    Case(
        "lever below range",
        f"levers: {{{LEVER}: -0.1}}\n",
        f"levers.{LEVER}",
        "must be within [0, 1]",
    ),
    Case(
        "lever in schedule out of range",
        f"levers: {{{LEVER}: {{2017: 0.5, 2020: 1.5}}}}\n",
        f"levers.{LEVER}.2020",
        "must be within [0, 1]",
    ),
    Case(
        "parameter out of range",
        "parameters: {revenue_growth: 5}\n",
        "parameters.revenue_growth",
        "must be within [-0.05, 0.3] per year",
    ),
    Case(
        "shock out of range",
        "shocks: {venture_capital: {2018: 9}}\n",
        "shocks.venture_capital.2018",
        "multiplier within",
    ),
    Case("scale zero", "scale: 0\n", "scale", "expected a scale of at least 0.01"),
    Case("scale below the floor", "scale: 0.0001\n", "scale", "expected a scale of at least 0.01"),
    Case("scale too large", "scale: 50\n", "scale", "at most 4, got 50"),
    Case(
        "replicates zero",
        "replicates: 0\n",
        "replicates",
        "expected a value greater than or equal to 1",
    ),
    Case("negative seed", "seed: -1\n", "seed", "expected a value greater than or equal to 0"),
    Case("huge seed", "seed: 99999999999999999999999\n", "seed", "expected a value less than"),
    Case(
        "steps_per_year 3",
        "time: {steps_per_year: 3}\n",
        "time.steps_per_year",
        "one of 1, 2, 4, 12",
    ),
    Case(
        "start before 2016",
        "time: {start_year: 2010}\n",
        "time.start_year",
        "expected a value greater than or equal to 2016",
    ),
    Case(
        "end before start",
        "time: {start_year: 2020, end_year: 2018}\n",
        "time",
        "end_year must not be before start_year",
    ),
    # --- NaN and infinity -------------------------------------------------------------------------
    Case(
        "NaN lever", f"levers: {{{LEVER}: .nan}}\n", f"levers.{LEVER}", "expected a finite number"
    ),
    Case(
        "infinite lever",
        f"levers: {{{LEVER}: .inf}}\n",
        f"levers.{LEVER}",
        "expected a finite number",
    ),
    Case(
        "NaN in schedule",
        f"levers: {{{LEVER}: {{2017: .nan}}}}\n",
        f"levers.{LEVER}",
        "expected a finite number",
    ),
    Case(
        "-inf shock",
        "shocks: {demand: {2018: -.inf}}\n",
        "shocks.demand",
        "expected a finite number",
    ),
    Case("NaN scale", "scale: .nan\n", "scale", "expected a finite number"),
    Case("infinite seed", "seed: .inf\n", "seed", "expected a whole number"),
    Case(
        "NaN parameter",
        "parameters: {revenue_growth: .NaN}\n",
        "parameters.revenue_growth",
        "expected a finite number",
    ),
    Case(
        "NaN in a vector parameter",
        "parameters: {sector_shares_2015: [.nan, 1]}\n",
        "parameters.sector_shares_2015",
        "expected a finite number",
    ),
    # --- schedules against the horizon and in order -----------------------------------------------
    Case(
        "schedule year after the horizon",
        f"time: {{end_year: 2020}}\nlevers: {{{LEVER}: {{2025: 0.5}}}}\n",
        f"levers.{LEVER}.2025",
        "outside the horizon 2016-2020",
    ),
    Case(
        "schedule year before the horizon",
        f"levers: {{{LEVER}: {{2010: 0.5}}}}\n",
        f"levers.{LEVER}.2010",
        "outside the horizon",
    ),
    Case(
        "shock year outside the horizon",
        "shocks: {demand: {2040: 0.5}}\n",
        "shocks.demand.2040",
        "outside the horizon",
    ),
    Case(
        "schedule out of order",
        f"levers: {{{LEVER}: {{2025: 0.8, 2018: 0.5}}}}\n",
        f"levers.{LEVER}",
        "schedule years out of order (2025, 2018)",
    ),
    Case(
        "shock schedule out of order",
        "shocks: {demand: {2020: 0.8, 2019: 0.9}}\n",
        "shocks.demand",
        "out of order",
    ),
    # --- evaluation rules (issue 16) -------------------------------------------------------------
    Case(
        "evaluation: unknown indicator",
        "evaluation: {years: [2017], rules: [{indicator: rd_intensty, below: 6, lever: public_rd_growth, change: 1}]}\n",
        "evaluation.rules.0.indicator",
        "unknown indicator 'rd_intensty' (did you mean 'rd_intensity'?)",
    ),
    Case(
        "evaluation: unknown lever",
        "evaluation: {years: [2017], rules: [{indicator: rd_intensity, below: 6, lever: public_rd, change: 1}]}\n",
        "evaluation.rules.0.lever",
        "unknown lever 'public_rd'",
    ),
    Case(
        "evaluation: change leaves the lever's range",
        "evaluation: {years: [2017], rules: [{indicator: rd_intensity, below: 6, lever: public_rd_growth, change: 15}]}\n",
        "evaluation.rules.0.change",
        "outside its range [0, 20]",
    ),
    Case(
        "evaluation: both thresholds",
        "evaluation: {years: [2017], rules: [{indicator: rd_intensity, below: 6, above: 7, lever: public_rd_growth, change: 1}]}\n",
        "evaluation.rules.0",
        "exactly one of below: or above:",
    ),
    Case(
        "evaluation: no threshold",
        "evaluation: {years: [2017], rules: [{indicator: rd_intensity, lever: public_rd_growth, change: 1}]}\n",
        "evaluation.rules.0",
        "exactly one of below: or above:",
    ),
    Case(
        "evaluation: year outside the horizon",
        "evaluation: {years: [2040], rules: [{indicator: rd_intensity, below: 6, lever: public_rd_growth, change: 1}]}\n",
        "evaluation.years",
        "outside the horizon",
    ),
    Case(
        "evaluation: years out of order",
        "evaluation: {years: [2018, 2017], rules: [{indicator: rd_intensity, below: 6, lever: public_rd_growth, change: 1}]}\n",
        "evaluation.years",
        "in increasing order",
    ),
    Case(
        "evaluation: change as text",
        "evaluation: {years: [2017], rules: [{indicator: rd_intensity, below: 6, lever: public_rd_growth, change: '1'}]}\n",
        "evaluation.rules.0.change",
        "expected a number",
    ),
    Case(
        "evaluation: unknown key",
        "evaluation: {years: [2017], rules: [{indicator: rd_intensity, below: 6, lever: public_rd_growth, chnge: 1}]}\n",
        "evaluation.rules.0.chnge",
        "did you mean 'change'",
    ),
    Case(
        "evaluation: no rules",
        "evaluation: {years: [2017], rules: []}\n",
        "evaluation.rules",
        "at least 1",
    ),
    # --- extends --------------------------------------------------------------------------------
    Case(
        "extends a missing file", "extends: nowhere.yaml\n", "extends", "'nowhere.yaml' not found"
    ),
    Case(
        "extends a directory",
        "extends: sub\n",
        "extends",
        "'sub' is a directory",
        extra={"sub/": None},
    ),
    Case(
        "extends itself",
        "extends: case.yaml\n",
        "extends",
        "inheritance cycle: case.yaml -> case.yaml",
    ),
    Case(
        "extends cycle",
        "extends: a.yaml\n",
        "extends",
        "inheritance cycle",
        extra={"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"},
    ),
    Case(
        "extends a bad file",
        "extends: a.yaml\n",
        "levers.ip_protection",
        "must be within [0, 1]",
        extra={"a.yaml": "levers: {ip_protection: 3}\n"},
    ),
    Case("extends an empty file", "extends: a.yaml\n", None, "empty file", extra={"a.yaml": ""}),
    Case(
        "extends a binary file",
        "extends: a.yaml\n",
        None,
        "not a UTF-8",
        extra={"a.yaml": b"\xff\xfe\x00junk"},
    ),
]

SPEC_CASES = [
    Case("empty spec", "", None, "empty file, expected a mapping of sweep fields"),
    Case("spec is a list", "- base\n", None, "expected a mapping of sweep fields, got a list"),
    Case("spec binary junk", bytes(range(128, 256)), None, "not a UTF-8"),
    Case("spec a directory", None, None, "is a directory", special="directory"),
    Case("spec missing", None, None, "file not found", special="missing"),
    Case(
        "spec samples bad tag",
        "base: base.yaml\nsamples: !!int x\n",
        "line 2",
        "'x' is not a whole number",
    ),
    Case(
        "spec both forms",
        "base: base.yaml\nlevers: {ip_protection: {low: 0, high: 1, values: [0.5]}}\n",
        "levers.ip_protection",
        "give either a range {low, high} or {values: [...]}, not both",
    ),
    Case(
        "spec morris odd levels",
        "base: base.yaml\nsampler: morris\nlevels: 3\nlevers: {ip_protection: {low: 0, high: 1}}\n",
        "levels",
        "even number of levels",
    ),
    Case(
        "spec too many runs",
        "base: base.yaml\nsampler: grid\nlevels: 100\nlevers: {ip_protection: {low: 0, high: 1}, talent_services: {low: 0, high: 1}, public_rd_growth: {low: 0, high: 1}}\n",
        "samples",
        "8,000,000 runs",
    ),
    Case(
        "spec base a symlink loop",
        "base: loop.yaml\nlevers: {ip_protection: {low: 0, high: 1}}\n",
        "base",
        "Symlink loop",
        extra={"loop.yaml": "->loop.yaml"},
    ),
    Case(
        "spec syntax error",
        "base: base.yaml\nlevers: {x: [\n",
        "line 3, column 1",
        "YAML syntax error",
    ),
    Case(
        "spec duplicate key",
        "base: base.yaml\nsamples: 4\nsamples: 8\n",
        "line 3, column 1",
        "duplicate key 'samples'",
    ),
    Case(
        "spec python tag",
        "base: !!python/object/apply:os.system [ls]\n",
        "line 1",
        "is not allowed",
    ),
    Case(
        "spec unknown key",
        "base: base.yaml\nsampeler: lhs\nlevers: {ip_protection: {low: 0, high: 1}}\n",
        "sampeler",
        "unknown key (did you mean 'sampler'?)",
    ),
    Case(
        "spec unknown key in a range",
        "base: base.yaml\nlevers: {ip_protection: {low: 0, hihg: 1}}\n",
        "levers.ip_protection.hihg",
        "unknown key (did you mean 'high'?)",
    ),
    Case(
        "spec unknown lever",
        "base: base.yaml\nlevers: {ip_protectoin: {low: 0, high: 1}}\n",
        "levers.ip_protectoin",
        "did you mean 'ip_protection'",
    ),
    Case(
        "spec unknown parameter",
        "base: base.yaml\nparameters: {revenue_grwth: {low: 0.1, high: 0.2}}\n",
        "parameters.revenue_grwth",
        "did you mean 'revenue_growth'",
    ),
    Case(
        "spec missing base",
        "levers: {ip_protection: {low: 0, high: 1}}\n",
        "base",
        "required field is missing",
    ),
    Case(
        "spec range missing high",
        "base: base.yaml\nlevers: {ip_protection: {low: 0}}\n",
        "levers.ip_protection.high",
        "required field is missing",
    ),
    Case(
        "spec nothing varied", "base: base.yaml\n", "levers", "vary at least one lever or parameter"
    ),
    Case(
        "spec lever not a mapping",
        "base: base.yaml\nlevers: {ip_protection: 0.5}\n",
        "levers.ip_protection",
        "expected a mapping",
    ),
    Case(
        "spec samples as text",
        "base: base.yaml\nsamples: many\nlevers: {ip_protection: {low: 0, high: 1}}\n",
        "samples",
        "expected a whole number",
    ),
    Case(
        "spec replicates as boolean",
        "base: base.yaml\nreplicates: true\nlevers: {ip_protection: {low: 0, high: 1}}\n",
        "replicates",
        "got a boolean",
    ),
    Case(
        "spec unknown sampler",
        "base: base.yaml\nsampler: random\nlevers: {ip_protection: {low: 0, high: 1}}\n",
        "sampler",
        "'grid', 'lhs', 'sobol' or 'morris'",
    ),
    Case(
        "spec values empty",
        "base: base.yaml\nlevers: {ip_protection: {values: []}}\n",
        "levers.ip_protection.values",
        "expected at least 1 value",
    ),
    Case(
        "spec value as text",
        "base: base.yaml\nlevers: {ip_protection: {values: [0.1, lots]}}\n",
        "levers.ip_protection.values.1",
        "expected a number",
    ),
    Case(
        "spec range above lever range",
        "base: base.yaml\nlevers: {ip_protection: {low: 0, high: 3}}\n",
        "levers.ip_protection",
        "outside the lever's range [0, 1]",
    ),
    Case(
        "spec value out of range",
        "base: base.yaml\nlevers: {ip_protection: {values: [0.5, -2]}}\n",
        "levers.ip_protection",
        "outside",
    ),
    Case(
        "spec low above high",
        "base: base.yaml\nlevers: {ip_protection: {low: 0.8, high: 0.2}}\n",
        "levers.ip_protection",
        "must be below high",
    ),
    Case(
        "spec NaN bound",
        "base: base.yaml\nlevers: {ip_protection: {low: .nan, high: 1}}\n",
        "levers.ip_protection.low",
        "expected a finite number",
    ),
    Case(
        "spec infinite value",
        "base: base.yaml\nlevers: {ip_protection: {values: [.inf]}}\n",
        "levers.ip_protection.values.0",
        "expected a finite number",
    ),
    Case(
        "spec sobol not a power of 2",
        "base: base.yaml\nsampler: sobol\nsamples: 10\nlevers: {ip_protection: {low: 0, high: 1}}\n",
        "samples",
        "power of 2",
    ),
    Case(
        "spec morris with a list",
        "base: base.yaml\nsampler: morris\nlevers: {ip_protection: {values: [0, 1]}}\n",
        "levers.ip_protection",
        "needs a range",
    ),
    Case(
        "spec base missing",
        "base: nowhere.yaml\nlevers: {ip_protection: {low: 0, high: 1}}\n",
        "base",
        "'nowhere.yaml' not found",
    ),
    Case(
        "spec base a directory",
        "base: sub\nlevers: {ip_protection: {low: 0, high: 1}}\n",
        "base",
        "is a directory",
        extra={"sub/": None},
    ),
    Case(
        "spec base malformed",
        "base: bad.yaml\nlevers: {ip_protection: {low: 0, high: 1}}\n",
        "seed",
        "expected a whole number",
        extra={"bad.yaml": "seed: lucky\n"},
    ),
    Case(
        "spec base in a cycle",
        "base: a.yaml\nlevers: {ip_protection: {low: 0, high: 1}}\n",
        "extends",
        "inheritance cycle",
        extra={"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"},
    ),
]


def _write_case(folder: Path, case: Case, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for extra, content in case.extra.items():
        if extra.endswith("/"):
            (folder / extra).mkdir(exist_ok=True)
        elif isinstance(content, str) and content.startswith("->"):
            (folder / extra).symlink_to(content[2:])
        elif isinstance(content, bytes):
            (folder / extra).write_bytes(content)
        else:
            (folder / extra).write_text(content, encoding="utf-8")
    if name.endswith("spec.yaml"):
        (folder / "base.yaml").write_text(GOOD_BASE, encoding="utf-8")
    path = folder / name
    if case.special == "missing":
        pass
    elif case.special == "directory":
        path.mkdir()
    elif case.special == "fifo":
        os.mkfifo(path)
    elif case.special == "device":
        path.symlink_to("/dev/zero")
    elif case.special == "symlink loop":
        path.symlink_to(path.name)
    elif isinstance(case.text, bytes):
        path.write_bytes(case.text)
    else:
        path.write_text(case.text, encoding="utf-8")
    return path


def _check_message(err: str, case: Case, names: tuple[str, ...]) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"{case.id}: expected one line, got:\n{err}"
    line = lines[0]
    assert line.startswith("innosim: error: "), line
    assert "Traceback" not in err
    assert any(n in line for n in names), f"{case.id}: no file named in: {line}"
    if case.where:
        assert case.where in line, f"{case.id}: {case.where!r} not in: {line}"
    assert case.says in line, f"{case.id}: {case.says!r} not in: {line}"


@pytest.mark.parametrize("case", SCENARIO_CASES, ids=lambda c: c.id)
def test_bad_scenario_exit_2_one_message_nothing_written(tmp_path, case, capsys):
    path = _write_case(tmp_path / "in", case, "case.yaml")
    out = tmp_path / "out"
    code = main(["run", str(path), "--out", str(out), "--replicates", "1", "--scale", "0.02"])
    captured = capsys.readouterr()
    assert code == 2, f"{case.id}: exit {code}\n{captured.err}"
    file_names = (str(path), *(str(tmp_path / "in" / n) for n in case.extra))
    _check_message(captured.err, case, file_names)
    assert captured.out == ""
    assert not out.exists()


@pytest.mark.parametrize("case", SPEC_CASES, ids=lambda c: c.id)
def test_bad_sweep_spec_exit_2_one_message_nothing_written(tmp_path, case, capsys):
    path = _write_case(tmp_path / "in", case, "spec.yaml")
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--out", str(out), "--workers", "1", "--quiet"])
    captured = capsys.readouterr()
    assert code == 2, f"{case.id}: exit {code}\n{captured.err}"
    names = (str(path), *(str(tmp_path / "in" / n) for n in (*case.extra, "base.yaml")))
    _check_message(captured.err, case, names)
    assert not out.exists()


def test_catalogue_in_one_real_process(tmp_path):
    """All scenario cases at once through `python -m sim validate`: one message per bad file,
    exit 2, no traceback (the interpreter itself, not just `main`)."""
    paths = [
        _write_case(tmp_path / f"c{i:03d}", case, "case.yaml")
        for i, case in enumerate(SCENARIO_CASES)
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("INNOSIM_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "sim", "validate", BASELINE, *paths],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout.count(": ok") == 1  # the baseline, given first
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("innosim: error: ")]
    assert len(errors) == len(SCENARIO_CASES)
    assert f"{len(SCENARIO_CASES)} of {len(SCENARIO_CASES) + 1} file(s) refused" in result.stderr
    for case, path, line in zip(SCENARIO_CASES, paths, errors, strict=True):
        folder = str(path.parent)
        assert folder in line, f"{case.id}: {line}"
        assert case.says in line, f"{case.id}: {case.says!r} not in {line}"


def test_object_tags_run_nothing(tmp_path, capsys):
    """The refused tag is not half-applied: the command it names never runs."""
    marker = tmp_path / "ran"
    path = tmp_path / "evil.yaml"
    path.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    assert main(["validate", str(path)]) == 2
    assert not marker.exists()
    assert "is not allowed" in capsys.readouterr().err


def test_catalogue_size():
    """The closing note of issue 8 reports these counts; keep the catalogue broad."""
    assert len(SCENARIO_CASES) >= 80 and len(SPEC_CASES) >= 30


# ------------------------------------------------------------------------------------------------
# damaged sweep folders (the input of analyze, compare and api.load_sweep)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("small")
    spec = _short_spec(d)
    assert main(["sweep", str(spec), "--out", str(d / "sweep"), "--workers", "1", "--quiet"]) == 0
    return d / "sweep"


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("spec.yaml", "YAML syntax error"),
        ("design.parquet", "unreadable"),
        ("runs.parquet", "unreadable"),
        ("part", "a result part is unreadable"),
    ],
)
def test_damaged_sweep_folder_is_an_input_error(small_sweep, tmp_path, capsys, damage, says):
    import shutil

    folder = tmp_path / "sweep"
    shutil.copytree(small_sweep, folder)
    target = next((folder / "parts").glob("*.parquet")) if damage == "part" else folder / damage
    target.write_text("a: [\n" if damage == "spec.yaml" else "not parquet", encoding="utf-8")
    for args in (
        ["compare", str(folder), "--out", str(tmp_path / "cmp")],
        ["analyze", str(folder), "--method", "morris"],
    ):
        code = main(args)
        err = capsys.readouterr().err
        assert code == 2, f"{args[0]}: exit {code}: {err}"
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
        if args[0] == "compare":
            assert says in err and str(folder) in err
    assert not (tmp_path / "cmp").exists()


# ------------------------------------------------------------------------------------------------
# output folders that must not be replaced
# ------------------------------------------------------------------------------------------------
def _short_scenario(folder: Path) -> Path:
    path = folder / "short.yaml"
    path.write_text(GOOD_BASE + "replicates: 1\nscale: 0.02\n", encoding="utf-8")
    return path


def _short_spec(folder: Path) -> Path:
    (folder / "base.yaml").write_text(GOOD_BASE, encoding="utf-8")
    spec = folder / "spec.yaml"
    spec.write_text(
        "base: base.yaml\nlevers: {ip_protection: {low: 0, high: 1}}\n"
        "samples: 2\nreplicates: 1\nscale: 0.02\n",
        encoding="utf-8",
    )
    return spec


@pytest.mark.parametrize(
    ("command", "out", "says"),
    [
        ("run", ".", "refusing to replace this folder"),
        ("run", "nope/..", "refusing to replace this folder"),
        ("run", "..", "refusing to replace this folder"),
        ("sweep", ".", "refusing to replace this folder"),
        ("run", "afile/sub", "is a file, not a folder"),
        ("sweep", "afile/sub", "is a file, not a folder"),
        ("run", "link", "is a symbolic link"),
        ("run", "mine", "innosim did not write (thesis.tex)"),
        ("sweep", "mine", "innosim did not write (thesis.tex)"),
        # a file with the marker's name is no proof: innosim's stamp is
        ("run", "target", "innosim did not write (indicators.csv)"),
        ("run", "inputs", "overlaps the input"),
    ],
)
def test_output_folders_that_are_never_replaced(tmp_path, monkeypatch, capsys, command, out, says):
    """Even with --force: the current folder and above, a path below a file, a symbolic link,
    a folder innosim did not write, a folder holding the input. Nothing is deleted or run."""
    work = tmp_path / "work"
    (work / "inputs").mkdir(parents=True)
    (work / "afile").write_text("keep me", encoding="utf-8")
    (work / "mine").mkdir()
    (work / "mine" / "thesis.tex").write_text("keep me", encoding="utf-8")
    (work / "target").mkdir()
    (work / "target" / "indicators.csv").write_text("x", encoding="utf-8")
    (work / "link").symlink_to(work / "target")
    source = (_short_scenario if command == "run" else _short_spec)(work / "inputs")
    monkeypatch.chdir(work)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    extra = ["--replicates", "1"] if command == "run" else ["--workers", "1"]
    code = main([command, str(source), "--out", out, "--force", "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert says in err and len(err.strip().splitlines()) == 1
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before  # nothing deleted or added


def test_a_scenario_name_is_not_a_path(tmp_path, monkeypatch, capsys):
    """The name is the default output folder (reports/NAME): '..' would have meant the current
    folder; it is refused before anything happens."""
    (tmp_path / "keep.txt").write_text("keep me", encoding="utf-8")
    path = tmp_path / "x.yaml"
    path.write_text("name: ..\n" + GOOD_BASE.split("\n", 1)[1], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--replicates", "1", "--scale", "0.02", "--quiet"]) == 2
    assert "expected a plain name" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").exists() and not (tmp_path / "reports").exists()


def test_staging_leftovers_are_cleaned_but_lookalikes_are_kept(tmp_path, capsys):
    scenario = _short_scenario(tmp_path)
    stale = tmp_path / ".myout.innosim-tmp-abcd1234"  # left by a writer killed mid-way
    stale.mkdir()
    backup = tmp_path / ".myout.backup"  # the user's
    backup.mkdir()
    (backup / "notes.txt").write_text("keep me", encoding="utf-8")
    out = tmp_path / "myout"
    assert main(["run", str(scenario), "--out", str(out), "--replicates", "1", "--quiet"]) == 0
    assert (out / "indicators.csv").is_file()
    assert not stale.exists() and (backup / "notes.txt").exists()


def test_resume_of_a_damaged_sweep_folder(tmp_path, small_sweep, capsys):
    """A damaged run table is an input error; a damaged part is removed and its run re-run."""
    import shutil

    spec = small_sweep.parent / "spec.yaml"
    folder = tmp_path / "sweep"
    shutil.copytree(small_sweep, folder)
    (folder / "runs.parquet").write_text("junk", encoding="utf-8")
    code = main(["sweep", str(spec), "--out", str(folder), "--resume", "--quiet"])
    assert code == 2 and "runs.parquet: unreadable" in capsys.readouterr().err

    shutil.rmtree(folder)
    shutil.copytree(small_sweep, folder)
    part = next((folder / "parts").glob("*.parquet"))
    part.write_bytes(b"")
    code = main(["sweep", str(spec), "--out", str(folder), "--resume", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "1 damaged result part(s) removed and run again" in out and "ran 1 in" in out
    assert part.stat().st_size > 0
