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

from sim.experiments.atomic import staged_folder, write_file
from sim.experiments.design import DUMMY
from sim.experiments.progress import progress_bar
from sim.inputs.errors import InputError
from sim.inputs.reader import read_mapping
from sim.inputs.tables import read_table

PARTS = "parts"
MARKER = "spec.yaml"  # its presence marks a complete sweep folder
# The tables' columns and their kinds (sim.inputs.tables.read_table); design.parquet has one more
# column of numbers per varied lever.
DESIGN_COLUMNS = {"point": "int"}
RUNS_COLUMNS = {"point": "int", "replicate": "int", "seed": "int", "key": "text"}
PART_COLUMNS = {"year": "int", "indicator": "text", "value": "number", "key": "text"}


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
        """The sweep record: its `spec` a mapping (and its seed, if given, a whole number)."""
        path = self.root / MARKER
        record = read_mapping(path, "sweep record fields")
        spec = record.get("spec")
        if not isinstance(spec, dict):
            raise InputError(str(path), "spec", "expected a mapping (the sweep spec as run)")
        seed = spec.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputError(str(path), "spec.seed", f"expected a whole number, got {seed!r}")
        return record

    def design(self) -> pd.DataFrame:
        """design.parquet: point (each once) and a column of numbers per varied factor."""
        path = self.root / "design.parquet"
        df = _table(path, DESIGN_COLUMNS, others="number")
        if df.point.duplicated().any():
            point = int(df.point[df.point.duplicated()].iloc[0])
            raise InputError(str(path), "point", f"point {point} given twice; run the sweep again")
        return df

    def runs(self) -> pd.DataFrame:
        """runs.parquet: point, replicate, seed, key."""
        return _table(self.root / "runs.parquet", RUNS_COLUMNS)

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
        """Delete parts that are not readable Parquet (a disk that filled up, a copy cut short)
        or not of a part's shape (columns, kinds, another run's key), so that --resume runs
        them again; returns how many. Parts are written atomically, so this finds only damage
        from outside."""
        self.parts.mkdir(exist_ok=True)
        n = 0
        for key in sorted(self.done()):
            try:
                self.read_part(key)
            except InputError:  # any damaged part is run again
                self.part_path(key).unlink(missing_ok=True)
                n += 1
        return n

    def read_part(self, key: str) -> pd.DataFrame:
        """One run's part (year, indicator, value, key), checked; an InputError naming it."""
        path = self.part_path(key)
        df = read_table(path, PART_COLUMNS, nullable=("value",))
        other = df.key != key
        if other.any():
            raise InputError(
                str(path), "key", f"holds the results of another run ({df.key[other].iloc[0]})"
            )
        return df

    def write_part(self, key: str, frame: pd.DataFrame) -> None:
        """One run's year, indicator, value (with its key, so parts can be read as one table)."""
        frame = frame.assign(key=key)
        write_file(self.part_path(key), lambda p: frame.to_parquet(p, index=False))

    # --- reading -------------------------------------------------------------------------------
    def load(self, progress: bool = False) -> pd.DataFrame:
        """Tidy results: point, replicate, seed, each varied lever, year, indicator, value.

        Only the parts of the run table's keys are read (temporary files of a killed writer,
        starting with ".", are ignored); a damaged one is an InputError naming it. `progress`:
        a bar of the parts read on stderr (a large sweep has thousands)."""
        runs, design = self.runs(), self.design()
        unknown = ~runs.point.isin(design.point)
        if unknown.any():
            raise InputError(
                str(self.root / "runs.parquet"),
                "point",
                f"point {int(runs.point[unknown].iloc[0])} is not in design.parquet "
                "(folder modified?); run the sweep again",
            )
        levers = [c for c in design.columns if c != "point"]
        cols = ["point", "replicate", "seed", *levers, "year", "indicator", "value"]
        keys = sorted(set(runs.key) & self.done())
        if not keys:
            return pd.DataFrame(columns=cols)
        frames = []
        for key in progress_bar(keys, desc="reading runs", unit="run", enabled=progress):
            try:
                frames.append(self.read_part(key))
            except InputError as e:  # a damaged part (disk full, copied half-way, edited)
                raise InputError(
                    e.file,
                    e.path,
                    f"a result part is unreadable: {e.message}; delete it and --resume",
                ) from None
        parts = pd.concat(frames, ignore_index=True)
        out = runs.merge(parts, on="key", how="inner").merge(design, on="point", how="left")
        out = out.sort_values(["point", "replicate", "year", "indicator"], kind="stable")
        return out[cols].reset_index(drop=True)


def open_store(root: str | Path) -> Store:
    """An existing sweep folder, or an InputError naming what is missing or unreadable."""
    store = Store(root)
    if not store.root.is_dir():
        raise InputError(str(root), None, "sweep folder not found")
    for name in (MARKER, "design.parquet", "runs.parquet"):
        if not (store.root / name).is_file():
            raise InputError(str(root), None, f"not a sweep folder ({name} missing)")
    spec = store.spec()["spec"]  # a readable mapping, or an InputError naming the line
    design = store.design()  # readable tables of the right shape, or an InputError naming it
    store.runs()
    factors = set()
    for section in ("levers", "parameters"):
        if isinstance(spec.get(section), dict):
            factors.update(spec[section])
    found = {c for c in design.columns if c not in ("point", DUMMY)}
    if factors and found != factors:
        raise InputError(
            str(store.root / "design.parquet"),
            None,
            f"its columns {sorted(found)} are not the sweep's factors {sorted(factors)} "
            "(folder modified?); run the sweep again",
        )
    return store


def _table(path: Path, columns: dict, **kw) -> pd.DataFrame:
    """A sweep's design or run table; damage is an InputError saying to run the sweep again."""
    try:
        return read_table(path, columns, **kw)
    except InputError as e:
        raise InputError(e.file, e.path, f"{e.message}; run the sweep again") from None
