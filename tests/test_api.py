"""sim.api: the public surface notebooks import (re-exports, not copies) and the parameters a
run pins in code."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
from helpers import SCALE, short_scenario

import sim.api as api
from sim.inputs.errors import InputError

SHORT = short_scenario(2017)


def test_every_public_name_resolves_to_the_owners_object():
    """A re-export is the owning module's object itself: nothing is duplicated in sim.api."""
    assert len(set(api.__all__)) == len(api.__all__)
    assert set(api._EXPORTS) <= set(api.__all__)
    for name in api.__all__:
        assert getattr(api, name) is not None, name
    for name, (module, attr) in api._EXPORTS.items():
        assert getattr(api, name) is getattr(importlib.import_module(module), attr), name
    assert set(api.__all__) <= set(dir(api))


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'run_sweep'"):
        api.run_sweep  # noqa: B018 (the access is the test)


def test_importing_the_api_does_not_load_the_heavy_parts():
    """The re-exports are imported on first use: `import sim.api` does not load Mesa, the
    plotting or the calibration until a name that needs them is used."""
    code = "import json, sys, sim.api; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    heavy = {"mesa", "matplotlib", "sim.model.model", "sim.experiments.calibration", "SALib"}
    assert not loaded & heavy, sorted(loaded & heavy)


def test_pinned_parameter_keeps_its_value_in_every_posterior_replicate():
    """With posterior uncertainty the draws fill only the free parameters left open: a parameter
    pinned by `parameters=` shows its value in `.parameters` for every replicate, while the other
    free parameters vary from replicate to replicate."""
    out = api.run_detailed(
        SHORT,
        seed=3,
        scale=SCALE,
        replicates=3,
        parameters={"revenue_growth": 0.12},
        uncertainty="posterior",
    )
    wide = out.parameters.pivot(index="replicate", columns="parameter", values="value")
    assert list(wide.index) == [0, 1, 2]
    assert (wide["revenue_growth"] == 0.12).all()
    others = wide.drop(columns="revenue_growth")
    assert others.nunique().max() > 1  # the posterior draws did fill the rest
    free = api.run_detailed(SHORT, seed=3, scale=SCALE, replicates=3, uncertainty="posterior")
    w0 = free.parameters.pivot(index="replicate", columns="parameter", values="value")
    assert (w0["revenue_growth"] != 0.12).all()
    # the same draws fill the open parameters with and without the pin (common random numbers)
    assert w0.drop(columns="revenue_growth").equals(others)


def test_parameters_change_the_run_on_paired_seeds():
    kw = dict(seed=5, scale=SCALE, replicates=1, uncertainty="seed")
    low = api.run(SHORT, parameters={"revenue_growth": 0.05}, **kw)
    high = api.run(SHORT, parameters={"revenue_growth": 0.25}, **kw)

    def revenue(df):
        return df[(df.indicator == "zgc_total_revenue") & (df.year == 2017)].value.item()

    assert revenue(high) > 1.2 * revenue(low)


@pytest.mark.parametrize(
    ("argument", "section", "values"),
    [
        ("parameters", "parameters", {"revenue_growth": 5.0}),
        ("parameters", "parameters", {"revenue_grwth": 0.1}),
        ("overrides", "levers", {"basic_research_priority": 5.0}),
        ("overrides", "levers", {"basic_research_priorty": 0.4}),
    ],
)
def test_bad_names_and_values_are_the_errors_a_scenario_file_gets(argument, section, values):
    with pytest.raises(InputError) as from_yaml:
        api.load_scenario({**SHORT, section: values})
    with pytest.raises(InputError) as from_code:
        api.run(SHORT, scale=SCALE, replicates=1, **{argument: values})
    assert str(from_code.value) == str(from_yaml.value)
    name = next(iter(values))
    assert str(from_code.value).startswith(f"{section}.{name}: ")


def test_notebooks_import_only_the_api():
    """The notebooks are the researcher's first code: they use the public surface only."""
    import ast

    from sim.inputs.paths import ROOT

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            code = "\n".join(
                line for line in "".join(cell["source"]).splitlines() if not line.startswith("%")
            )
            for node in ast.walk(ast.parse(code)):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                bad = [n for n in names if n.split(".")[0] == "sim" and n != "sim.api"]
                assert not bad, f"{path.name} cell {i} imports {bad}: use sim.api"
