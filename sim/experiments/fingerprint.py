"""A fingerprint of the model: a hash of the package's code and the seed data it reads.

The package version alone does not change while the code is being developed, so results stores
key runs by this fingerprint: a sweep resumed after any change to the model's code or data is
refused instead of silently mixing results of two models.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from sim.inputs.paths import ROOT, SEEDS

_SEED_SUFFIXES = {".yaml", ".yml", ".csv", ".txt"}


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Hex digest over sim/**/*.py and seeds/* (path and content, in sorted order)."""
    h = hashlib.sha256()
    pkg = ROOT / "sim"
    files = sorted(pkg.rglob("*.py")) + sorted(
        p for p in SEEDS.rglob("*") if p.is_file() and p.suffix in _SEED_SUFFIXES
    )
    for path in files:
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]
