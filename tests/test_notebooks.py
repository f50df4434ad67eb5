"""The example notebooks in notebooks/: committed without outputs, and each runs top to bottom.

- `test_notebook_is_stripped` (cheap, unmarked): every notebook is valid JSON of nbformat 4, has
  no outputs and no execution counts, and names the `python3` kernel.
- `test_notebook_runs` (marker `notebook`): executes the notebook with nbclient in a `python3`
  kernel of the interpreter running the tests (a kernel spec written to a temporary folder, so a
  `python3` kernel installed elsewhere is never picked up), with the working directory
  notebooks/ and a per-cell timeout. The notebooks write their outputs under `INNOSIM_NB_OUT`
  (here a temporary folder; by default reports/notebooks/, ignored by git), and the test checks
  that the run leaves no new change in the repository (`git status`). A failing cell fails the
  test with its number, source and error.

Strip outputs after running a notebook by hand, before committing:

    python tests/test_notebooks.py --strip
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = ("01_quickstart.ipynb", "02_policy_sweep.ipynb", "03_validation.ipynb")
QUICK_SCALE = {"02_policy_sweep.ipynb": 0.03}  # INNOSIM_NB_SCALE per notebook (default 0.05)
CELL_TIMEOUT = 300  # seconds per cell (each notebook runs in well under a minute on 2 cores)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_expected_notebooks_exist():
    missing = [n for n in EXPECTED if not (NOTEBOOK_DIR / n).is_file()]
    assert not missing, f"missing notebook(s) in notebooks/: {', '.join(missing)}"


# ------------------------------------------------------------------------------------------------
# committed without outputs
# ------------------------------------------------------------------------------------------------
def stripped_problems(nb: dict) -> list[str]:
    """What keeps a notebook (parsed JSON) from being committed as is."""
    problems = []
    if nb.get("nbformat") != 4:
        problems.append(f"nbformat {nb.get('nbformat')!r}, expected 4")
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"kernelspec {kernel!r}, expected 'python3'")
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {i}: {len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i}: execution_count {cell['execution_count']}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = stripped_problems(nb)
    assert not problems, (
        f"{path.name} is not stripped ({'; '.join(problems)}): "
        "run `python tests/test_notebooks.py --strip`"
    )


def test_stripped_problems_detects_outputs():
    cell = {
        "cell_type": "code",
        "source": "1",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
    }
    nb = {"nbformat": 4, "metadata": {"kernelspec": {"name": "python3"}}, "cells": [cell]}
    assert stripped_problems(nb) == []
    cell.update(
        outputs=[{"output_type": "stream", "name": "stdout", "text": "1"}], execution_count=3
    )
    assert stripped_problems(nb) == ["cell 0: 1 output(s)", "cell 0: execution_count 3"]


# ------------------------------------------------------------------------------------------------
# executed
# ------------------------------------------------------------------------------------------------
# Where a notebook could leave files by mistake: its working directory, the folders it reads and
# the repository root. (Code folders are left out: they may be edited while the tests run.)
WATCHED = ("notebooks/", "docs/", "seeds/", "scenarios/")


def _git_status() -> set[str] | None:
    """Changed and untracked (not ignored) files at the repository root and in WATCHED; None
    without git."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    res = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        return None
    paths = {line[3:].strip('"') for line in res.stdout.splitlines()}
    return {p for p in paths if "/" not in p or p.startswith(WATCHED)}


def _failed_cell(nb) -> str:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                trace = ANSI.sub("", "\n".join(out.get("traceback", [])))
                return f"cell {i}:\n{cell.source}\n\n{trace}"
    return ""


@pytest.mark.notebook
@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_notebook_runs(name, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    kernelspec = pytest.importorskip("ipykernel.kernelspec")
    from jupyter_client.kernelspec import KernelSpecManager

    path = NOTEBOOK_DIR / name
    nb = nbformat.read(path, as_version=4)
    # A `python3` kernel of this interpreter, whatever else is installed on the machine:
    # JUPYTER_PATH is searched before the user's and the environment's kernel folders.
    kernelspec.write_kernel_spec(tmp_path / "jupyter" / "kernels" / "python3")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == sys.executable
    out = tmp_path / "out"
    monkeypatch.setenv("INNOSIM_NB_OUT", str(out))
    # Small settings: the notebooks default to the matching scale (0.25, docs/scale.md).
    monkeypatch.setenv("INNOSIM_NB_SCALE", str(QUICK_SCALE.get(name, 0.05)))
    before = _git_status()

    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        startup_timeout=120,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    t0 = time.perf_counter()
    failure = None
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:
        nbformat.write(nb, tmp_path / name)  # the executed notebook, for inspection
        failure = f"{name} failed at {_failed_cell(nb) or ANSI.sub('', str(e))}"
    except nbclient.exceptions.CellTimeoutError as e:
        failure = f"{name}: a cell ran longer than {CELL_TIMEOUT} s ({e})"
    if failure:  # outside the except clause: the error once, without the chained traceback
        pytest.fail(failure, pytrace=False)
    seconds = time.perf_counter() - t0
    print(f"{name}: {seconds:.1f} s")

    if name in EXPECTED:  # they write into INNOSIM_NB_OUT/<notebook name>
        assert (out / path.stem).is_dir(), f"{name} wrote nothing under INNOSIM_NB_OUT"
    after = _git_status()
    if before is not None and after is not None:
        new = sorted(after - before)
        assert not new, f"{name} changed the repository: {new}"


# ------------------------------------------------------------------------------------------------
# python tests/test_notebooks.py --strip
# ------------------------------------------------------------------------------------------------
def strip(path: Path) -> bool:
    """Remove outputs and execution counts in place; True when the file changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.outputs or cell.execution_count is not None:
            changed = True
        cell.outputs, cell.execution_count = [], None
        for key in ("execution", "collapsed", "scrolled"):
            changed |= cell.metadata.pop(key, None) is not None
    if changed:
        nbformat.write(nb, path)
    return changed


if __name__ == "__main__":
    if sys.argv[1:] != ["--strip"]:
        sys.exit("usage: python tests/test_notebooks.py --strip")
    for p in NOTEBOOKS:
        print(f"{p.relative_to(ROOT)}: {'stripped' if strip(p) else 'clean'}")


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_defaults_to_the_matching_scale(name):
    """A user who opens a notebook gets the scale whose answers match full scale (docs/scale.md);
    only INNOSIM_NB_SCALE (the tests' quick settings) changes it."""
    nb = json.loads((NOTEBOOK_DIR / name).read_text(encoding="utf-8"))
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    lines = [ln for src in code for ln in src.splitlines() if ln.startswith("SCALE =")]
    assert lines == [
        'SCALE = float(os.environ.get("INNOSIM_NB_SCALE") or api.MATCHING_SCALE)  # share of 2015 agents'
    ]
