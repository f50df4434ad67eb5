"""Where the project's data lives: the package never reads anything outside `seeds/`."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
SCENARIOS = ROOT / "scenarios"
