"""innosim installs anywhere: the wheel carries the seeds and the shipped scenarios, and in a
fresh environment outside the checkout `innosim run baseline` works by name and by path.

The fresh venv gets innosim from the wheel alone; its dependencies (numpy, mesa, ...) come from
the development environment through a `.pth` line, which adds that folder to `sys.path` without
processing the `.pth` files in it, so the checkout's editable install stays out of sight (the
test checks that `sim` is imported from the new venv).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from sim.inputs.paths import ROOT, SCENARIOS, SEEDS, is_bare_name, shipped_scenario

pytestmark = pytest.mark.skipif(
    not (ROOT / "pyproject.toml").is_file(), reason="needs the source checkout to build a wheel"
)


def test_bare_names_resolve_to_shipped_scenarios():
    assert shipped_scenario("baseline") == SCENARIOS / "baseline.yaml"
    assert shipped_scenario("no_such_scenario") is None
    assert not is_bare_name("scenarios/baseline") and not is_bare_name("baseline.yaml")
    assert (SEEDS / "levers.yaml").is_file()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A venv outside the checkout with innosim installed from a freshly built wheel."""
    tmp = tmp_path_factory.mktemp("install")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(tmp / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp / "dist").glob("innosim-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    work = tmp / "elsewhere"
    work.mkdir()
    return {"bin": env_dir / "bin", "purelib": Path(purelib), "work": work, "wheel": wheel}


def _innosim(fresh, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(fresh["bin"] / "innosim"), *args],
        cwd=fresh["work"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_wheel_carries_seeds_and_scenarios(fresh):
    pkg = fresh["purelib"] / "sim"
    for name in ("levers.yaml", "parameters.yaml", "observed_indicators.csv", "SOURCES.md"):
        assert (pkg / "seeds" / name).is_file(), name
    assert (pkg / "seeds" / "beijing_sti_center_plan_2016.zh.txt").is_file()
    shipped = sorted(p.name for p in (pkg / "scenarios").glob("*.yaml"))
    assert shipped == sorted(p.name for p in SCENARIOS.glob("*.yaml"))
    assert sorted(p.name for p in (pkg / "scenarios" / "sweeps").iterdir()) == sorted(
        p.name for p in (SCENARIOS / "sweeps").iterdir()
    )
    assert not (pkg / "seeds").is_symlink()


def test_sim_comes_from_the_fresh_venv(fresh):
    out = subprocess.run(
        [str(fresh["bin"] / "python"), "-c", "import sim; print(sim.__file__)"],
        cwd=fresh["work"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).is_relative_to(fresh["purelib"]), out.stdout


def test_run_a_shipped_scenario_by_name_and_by_path(fresh):
    r = _innosim(fresh, "run", "baseline", "--scale", "0.02", "--replicates", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (fresh["work"] / "reports" / "baseline" / "indicators.csv").is_file()
    installed = fresh["purelib"] / "sim" / "scenarios" / "plan.yaml"
    r = _innosim(fresh, "run", str(installed), "--scale", "0.02", "--replicates", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (fresh["work"] / "reports" / "plan" / "indicators.csv").is_file()
    mine = fresh["work"] / "mine.yaml"  # a user's scenario extends a shipped one by name
    mine.write_text("name: mine\nextends: baseline\nlevers:\n  public_rd_growth: 12\n")
    r = _innosim(fresh, "run", "mine.yaml", "--scale", "0.02", "--replicates", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (fresh["work"] / "reports" / "mine" / "indicators.csv").is_file()


def test_validate_by_name_and_unknown_names(fresh):
    r = _innosim(fresh, "validate", "historical")
    assert r.returncode == 0 and "historical: ok" in r.stdout, r.stderr
    r = _innosim(fresh, "validate", "basline")
    assert r.returncode == 2
    assert "did you mean 'baseline'" in r.stderr and "shipped: baseline" in r.stderr
    assert "Traceback" not in r.stderr
