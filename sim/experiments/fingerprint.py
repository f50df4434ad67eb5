"""A fingerprint of the model: a hash of the package's code and the seed data it reads.

The package version alone does not change while the code is being developed, so results stores
key runs by this fingerprint: a sweep resumed after any change to the model's code or data is
refused instead of silently mixing results of two models.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from sim.inputs.paths import PACKAGE, SEEDS

_SEED_SUFFIXES = {".yaml", ".yml", ".csv", ".txt", ".parquet"}  # the posterior too


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Hex digest over sim/**/*.py and seeds/* (path and content, in sorted order); the same
    in a checkout and in an installed wheel (paths are taken relative to the package and the
    seeds, so where either sits does not count)."""
    h = hashlib.sha256()
    code = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    data = sorted(p for p in SEEDS.rglob("*") if p.is_file() and p.suffix in _SEED_SUFFIXES)
    named = [(f"sim/{p.relative_to(PACKAGE)}", p) for p in code]
    named += [(f"seeds/{p.relative_to(SEEDS)}", p) for p in data]
    for name, path in named:
        h.update(name.encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]
