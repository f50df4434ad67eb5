"""Where the project's data lives: the seeds and the shipped scenarios, inside the package.

In the repository `seeds/` and `scenarios/` sit at the top level and the package holds symbolic
links to them (`sim/seeds`, `sim/scenarios`), so an editable install reads the live files; a
wheel carries copies of both as package data. Either way they are found through
`importlib.resources`. Wheels install unzipped, so the resource is a real folder and is used as a
`Path` (resolved: in a checkout the messages name `seeds/...`, not the link).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGE = Path(str(files("sim"))).resolve()
SEEDS = (PACKAGE / "seeds").resolve()
SCENARIOS = (PACKAGE / "scenarios").resolve()
# The checkout's top level (tests and notebooks find docs/ and notebooks/ there); in an installed
# wheel it is site-packages, and the package itself never reads anything through it.
ROOT = PACKAGE.parent


def shipped_scenarios() -> list[str]:
    """Names of the scenarios that come with innosim (`innosim run NAME`)."""
    return sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


def is_bare_name(source: str | Path) -> bool:
    """A name, not a path: no folder part and no suffix (`baseline`, not `baseline.yaml`)."""
    text = str(source)
    return bool(text) and "/" not in text and "\\" not in text and Path(text).suffix == ""


def shipped_scenario(name: str) -> Path | None:
    """The file of the shipped scenario `name`, or None when there is none of that name."""
    path = SCENARIOS / f"{name}.yaml"
    return path if is_bare_name(name) and path.is_file() else None
