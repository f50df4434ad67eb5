"""The package's layers (issue 14): the model knows nothing of files, tables or experiments;
analysis reads frames and never runs the model; inputs stand on their own.

Checked on the source (module-level imports) and on a fresh interpreter (what importing a layer
actually loads), so a stray import that drags the model into the analysis layer fails here.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"
LAYERS = ("model", "inputs", "experiments", "analysis", "app")

# What each layer may import at module level (besides itself and the standard library).
ALLOWED = {
    "model": {"sim.inputs"},
    "inputs": set(),
    "experiments": {"sim.inputs", "sim.model", "sim.analysis"},
    "analysis": {"sim.inputs", "sim.model", "sim.experiments"},
    "app": {"sim.inputs", "sim.model", "sim.experiments", "sim.analysis"},
}
FORBIDDEN_THIRD_PARTY = {"model": {"pandas", "pyarrow", "matplotlib", "yaml", "tqdm"}}


def _top_level_imports(path: Path) -> set[str]:
    """Modules imported at module level (not inside functions: those are lazy on purpose)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
        elif isinstance(node, ast.If | ast.Try):  # `if TYPE_CHECKING:` and guarded imports
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom) and sub.module:
                    found.add(sub.module)
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_what_it_may(layer):
    bad = []
    for path in sorted((SIM / layer).rglob("*.py")):
        for mod in _top_level_imports(path):
            top = ".".join(mod.split(".")[:2])
            if mod.startswith("sim.") and top != f"sim.{layer}" and top not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(SIM.parent)} imports {mod}")
            if mod.split(".")[0] in FORBIDDEN_THIRD_PARTY.get(layer, ()):
                bad.append(f"{path.relative_to(SIM.parent)} imports {mod}")
    assert not bad, "\n".join(bad)


def _loaded_by(package: str) -> list[str]:
    code = (
        "import importlib, json, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=SIM.parent
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_analysis_never_loads_the_model():
    """Reading results must not import Mesa, the model or what runs it."""
    loaded = set(_loaded_by("sim.analysis"))
    runners = {
        "mesa",
        "sim.model.model",
        "sim.experiments.runs",
        "sim.experiments.sweep",
        "sim.experiments.executors",
        "sim.experiments.calibration",
    }
    assert not loaded & runners, sorted(loaded & runners)


def test_inputs_stand_alone():
    loaded = set(_loaded_by("sim.inputs"))
    others = {m for m in loaded if m.startswith(("sim.model", "sim.analysis", "sim.app", "mesa"))}
    assert not others, sorted(others)
