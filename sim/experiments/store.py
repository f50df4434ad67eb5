"""Results store of a sweep: one immutable Parquet part per run, written atomically.

    DIR/spec.yaml        the sweep spec as run, with the base scenario resolved (every default)
    DIR/design.parquet   design points: point, one column per varied lever (and dummy)
    DIR/runs.parquet     the run table: point, replicate, seed, key
    DIR/parts/KEY.parquet  one run's indicators: year, indicator, value

A run's key is a hash of (package version and model fingerprint: a hash of the code and seed data,
the resolved scenario of its point, scale, seed), so a
part is valid for exactly one run: `--resume` runs the keys that have no part yet. A part is
written to a temporary file in the same folder and renamed into place, so a killed sweep leaves
either a complete part or none.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import yaml

from ..atomic import staged_folder, write_file
from ..errors import InputError
from ..inputs import read_mapping

PARTS = "parts"
MARKER = "spec.yaml"  # its presence marks a complete sweep folder


def run_key(resolved_scenario: dict, scale: float, seed: int, version: str) -> str:
    """Content hash identifying one run (its part file name)."""
    payload = json.dumps(
        {"v": version, "scenario": resolved_scenario, "scale": float(scale), "seed": int(seed)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


class Store:
    """A sweep's folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.parts = self.root / PARTS

    # --- layout --------------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.root / MARKER).is_file()

    def create(self, spec: dict, design: pd.DataFrame, runs: pd.DataFrame) -> None:
        """Build the folder beside its place and move it in: a sweep killed while starting
        leaves no folder (or the earlier one), never a half-made one."""
        with staged_folder(self.root, MARKER, kind="sweep", grows=[PARTS]) as tmp:
            (tmp / PARTS).mkdir()
            design.to_parquet(tmp / "design.parquet", index=False)
            runs.to_parquet(tmp / "runs.parquet", index=False)
            text = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)
            (tmp / MARKER).write_text(text, encoding="utf-8")

    def spec(self) -> dict:
        return read_mapping(self.root / MARKER, "sweep record fields")

    def design(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "design.parquet")

    def runs(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "runs.parquet")

    # --- parts ---------------------------------------------------------------------------------
    def part_path(self, key: str) -> Path:
        return self.parts / f"{key}.parquet"

    def done(self) -> set[str]:
        """Keys with a complete part (temporary files of killed writers are ignored)."""
        if not self.parts.is_dir():
            return set()
        return {p.stem for p in self.parts.glob("*.parquet") if not p.name.startswith(".")}

    def clean_temporary(self) -> int:
        n = 0
        for p in self.parts.glob(".*"):  # temporary files of killed writers
            p.unlink(missing_ok=True)
            n += 1
        return n

    def drop_damaged_parts(self) -> int:
        """Delete parts that are not readable Parquet (a disk that filled up, a copy cut short),
        so that --resume runs them again; returns how many. Parts are written atomically, so
        this finds only damage from outside."""
        import pyarrow.parquet as pq

        self.parts.mkdir(exist_ok=True)
        n = 0
        for key in self.done():
            path = self.part_path(key)
            try:
                pq.read_metadata(path)
            except Exception:  # noqa: BLE001 - any unreadable part is run again
                path.unlink(missing_ok=True)
                n += 1
        return n

    def write_part(self, key: str, frame: pd.DataFrame) -> None:
        """One run's year, indicator, value (with its key, so parts can be read as one table)."""
        frame = frame.assign(key=key)
        write_file(self.part_path(key), lambda p: frame.to_parquet(p, index=False))

    # --- reading -------------------------------------------------------------------------------
    def load(self) -> pd.DataFrame:
        """Tidy results: point, replicate, seed, each varied lever, year, indicator, value."""
        import pyarrow.dataset as ds

        runs, design = self.runs(), self.design()
        levers = [c for c in design.columns if c != "point"]
        cols = ["point", "replicate", "seed", *levers, "year", "indicator", "value"]
        if not self.done():
            return pd.DataFrame(columns=cols)
        # Files starting with "." (temporary parts of a killed writer) are ignored.
        try:
            table = ds.dataset(self.parts, format="parquet").to_table()
        except Exception as e:  # noqa: BLE001 - a damaged part (disk full, copied half-way)
            raise InputError(
                str(self.parts), None, f"a result part is unreadable ({e}); delete it and --resume"
            ) from None
        parts = table.to_pandas()
        out = runs.merge(parts, on="key", how="inner").merge(design, on="point", how="left")
        out = out.sort_values(["point", "replicate", "year", "indicator"], kind="stable")
        return out[cols].reset_index(drop=True)


def open_store(root: str | Path) -> Store:
    """An existing sweep folder, or an InputError naming what is missing or unreadable."""
    import pyarrow.parquet as pq

    store = Store(root)
    if not store.root.is_dir():
        raise InputError(str(root), None, "sweep folder not found")
    for name in (MARKER, "design.parquet", "runs.parquet"):
        if not (store.root / name).is_file():
            raise InputError(str(root), None, f"not a sweep folder ({name} missing)")
    store.spec()  # a readable mapping, or an InputError naming the line
    for name in ("design.parquet", "runs.parquet"):
        try:
            pq.read_schema(store.root / name)
        except Exception as e:  # noqa: BLE001 - any unreadable file is the same user problem
            raise InputError(
                str(store.root / name), None, f"unreadable ({e}); run the sweep again"
            ) from None
    return store
