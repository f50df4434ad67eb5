"""Reading result tables back (CSV and Parquet written by `innosim run` and `innosim sweep`):
every problem an InputError naming the file and, where it applies, the column.

`read_table(path, columns)` reads one file and checks it against `columns`, a mapping of the
required column names to their kind:

- "int": whole numbers (a column of floats is accepted when every value is whole, and becomes
  int64; text is refused, naming the first bad cell: in a CSV text that is not a number, in
  Parquet, which keeps its types, any text);
- "number": numbers (int or float, not booleans; text is refused as for "int");
- "text": text (a column of numbers is refused);
- "bool": booleans;
- "any": anything, only present (and not empty, see below).

Refused, each with one line naming the file: a missing file, one that is not a regular file (a
folder, a pipe: reading a pipe would block), an empty (zero-byte) file, a file larger than
`max_bytes`, a CSV whose last line is cut short (innosim ends every CSV with a line break; a copy
cut at any byte is caught), a file that does not parse (garbage, a truncated Parquet footer),
missing columns, columns of the wrong kind, and missing values (NaN, empty cells) in any checked
column not listed in `nullable`. A table without rows is refused unless `no_rows=None`.

On good files the frame returned is what `pd.read_csv` / `pd.read_parquet` return, so the
callers' results are unchanged.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sim.inputs.errors import InputError

MAX_BYTES = 2**30  # 1 GiB: a full-scale firms.parquet of 10 replicates is a few hundred MB
MAX_UNCOMPRESSED = 8 * 2**30  # what a Parquet file may claim to expand to
KINDS = ("int", "number", "text", "bool", "any")
_INT64 = 2**63


def _detail(e: BaseException) -> str:
    """The first line of an exception's message, short."""
    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    return first if len(first) <= 120 else first[:117] + "..."


def _check_file(path: Path, missing: str | None, max_bytes: int) -> int:
    """The size of a regular file at `path`, or an InputError saying what it is instead."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(str(path), None, missing or "file not found") from None
    except OSError as e:
        raise InputError(str(path), None, f"cannot open: {e.strerror or e}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(str(path), None, "is a folder, expected a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(str(path), None, "not a regular file (a pipe or a device?)")
    if info.st_size == 0:
        raise InputError(str(path), None, "empty file (0 bytes; cut short?)")
    if info.st_size > max_bytes:
        raise InputError(
            str(path), None, f"too large ({info.st_size:,} bytes; at most {max_bytes:,})"
        )
    return info.st_size


def _read_csv(path: Path, columns: Mapping[str, str], empty_ok: bool) -> pd.DataFrame | None:
    """The CSV as pandas reads it; None for a file holding only blank lines (when empty_ok)."""
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        if empty_ok:
            return None
        raise InputError(str(path), None, "empty file (no header, no rows)") from None
    except UnicodeDecodeError:
        raise InputError(str(path), None, "not a readable CSV (binary content?)") from None
    except (pd.errors.ParserError, ValueError, OverflowError, MemoryError) as e:
        raise InputError(str(path), None, f"not a readable CSV ({_detail(e)})") from None
    with open(path, "rb") as fh:
        fh.seek(-1, 2)
        if fh.read(1) != b"\n":
            raise InputError(
                str(path), None, "cut short: the last line is incomplete (no line break at the end)"
            )
    return df


def _read_parquet(path: Path, columns: Mapping[str, str]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except Exception as e:  # noqa: BLE001 - a truncated footer, not Parquet at all, ...
        raise InputError(
            str(path), None, f"unreadable (not Parquet, or cut short: {_detail(e)})"
        ) from None
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if size > MAX_UNCOMPRESSED:
        raise InputError(
            str(path), None, f"too large ({size:,} bytes unpacked; at most {MAX_UNCOMPRESSED:,})"
        )
    _check_columns(path, meta.schema.names, columns)
    try:
        return pd.read_parquet(path)
    except Exception as e:  # noqa: BLE001 - damaged data pages behind an intact footer
        raise InputError(str(path), None, f"unreadable (damaged data: {_detail(e)})") from None


def _check_columns(path: Path, found: Iterable[str], columns: Mapping[str, str]) -> None:
    found = list(found)
    missing = [c for c in columns if c not in found]
    if missing:
        raise InputError(
            str(path),
            None,
            f"missing column(s) {', '.join(missing)} (found {found}; not a file of this kind?)",
        )


def read_table(
    path: str | Path,
    columns: Mapping[str, str],
    *,
    nullable: Iterable[str] = (),
    optional: Mapping[str, str] | None = None,
    others: str | None = None,
    no_rows: str | None = "no rows",
    empty_ok: bool = False,
    missing: str | None = None,
    max_bytes: int = MAX_BYTES,
) -> pd.DataFrame:
    """A CSV (by its `.csv` suffix) or Parquet file, checked: see the module docstring.

    `optional` columns are checked like `columns` when present; `others` is the kind every
    other column must have (None: not checked). `empty_ok`: a CSV holding only a line break
    (`innosim run`'s attainment.csv when no target falls in the horizon) is an empty table with
    the required columns. `missing` is the message for a missing file."""
    path = Path(path)
    for kind in (*columns.values(), *(optional or {}).values(), *([others] if others else [])):
        if kind not in KINDS:
            raise ValueError(f"unknown column kind {kind!r}")
    _check_file(path, missing, max_bytes)
    csv = path.suffix.lower() == ".csv"
    if csv:
        df = _read_csv(path, columns, empty_ok)
        if df is None:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
        _check_columns(path, df.columns, columns)
    else:
        df = _read_parquet(path, columns)
    if no_rows and df.empty:
        raise InputError(str(path), None, no_rows)
    return check_frame(df, str(path), columns, nullable, optional, others, csv=csv)


def check_frame(
    df: pd.DataFrame,
    file: str,
    columns: Mapping[str, str],
    nullable: Iterable[str] = (),
    optional: Mapping[str, str] | None = None,
    others: str | None = None,
    *,
    csv: bool = False,
) -> pd.DataFrame:
    """`df` with every checked column of its kind (see the module docstring), or an InputError
    naming `file`, the column and the first bad cell (its CSV line, or its row)."""
    _check_columns(Path(file), df.columns, columns)
    kinds = dict(columns)
    kinds.update({c: k for c, k in (optional or {}).items() if c in df.columns})
    if others:
        kinds.update({c: others for c in df.columns if c not in kinds})
    allowed = set(nullable)
    for col, kind in kinds.items():
        s = _column(df, col, file)
        out = _of_kind(s, kind, file, col, csv)
        if col not in allowed:
            empty = out.isna()
            if empty.any():
                where = _where(empty, csv)
                raise InputError(file, str(col), f"missing value ({where}); expected {_noun(kind)}")
        if out is not s:
            df[col] = out
    return df


def _column(df: pd.DataFrame, col: str, file: str) -> pd.Series:
    s = df[col]
    if isinstance(s, pd.DataFrame):  # the name given twice (Parquet keeps both)
        raise InputError(file, str(col), "column given more than once")
    return s


def _noun(kind: str) -> str:
    return {
        "int": "whole numbers",
        "number": "numbers",
        "text": "text",
        "bool": "booleans (true or false)",
        "any": "a value",
    }[kind]


def _where(mask: pd.Series, csv: bool) -> str:
    i = int(np.flatnonzero(mask.to_numpy())[0])
    return f"line {i + 2}" if csv else f"row {i + 1}"


def _bad(s: pd.Series, mask: pd.Series, kind: str, file: str, col: str, csv: bool):
    value = s[mask].iloc[0]
    text = repr(value if not isinstance(value, str) or len(value) <= 30 else value[:27] + "...")
    return InputError(file, str(col), f"expected {_noun(kind)}, got {text} ({_where(mask, csv)})")


def _of_kind(s: pd.Series, kind: str, file: str, col: str, csv: bool) -> pd.Series:
    """`s`, or a converted copy, when its values are of `kind`; else an InputError."""
    if kind == "any":
        return s
    dtype = s.dtype
    if kind == "bool":
        if pd.api.types.is_bool_dtype(dtype):
            return s
        raise _bad(s, s.notna(), kind, file, col, csv) if s.notna().any() else _no(kind, file, col)
    if kind == "text":
        if isinstance(dtype, pd.CategoricalDtype):
            cats = dtype.categories
            if len(cats) and not all(isinstance(c, str) for c in cats):
                raise InputError(file, str(col), f"expected text, got categories {list(cats)[:3]}")
            return s
        if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
            return s
        if pd.api.types.is_object_dtype(dtype):
            bad = s.notna() & ~s.map(lambda v: isinstance(v, str)).astype(bool)
            if bad.any():
                raise _bad(s, bad, kind, file, col, csv)
            return s
        if s.isna().all():  # an empty column reads as floats: the null check decides
            return s
        raise _bad(s, s.notna(), kind, file, col, csv)
    # "int" and "number"
    if pd.api.types.is_bool_dtype(dtype):
        raise _bad(s, s.notna(), kind, file, col, csv) if s.notna().any() else _no(kind, file, col)
    out = s
    if not pd.api.types.is_numeric_dtype(dtype):
        if not csv and s.notna().any():  # Parquet keeps its types: text is the wrong schema
            raise _bad(s, s.notna(), kind, file, col, csv)
        if isinstance(dtype, pd.CategoricalDtype):
            s = s.astype(object)
        out = pd.to_numeric(s, errors="coerce")
        bad = out.isna() & s.notna()
        if bad.any():
            raise _bad(s, bad, kind, file, col, csv)
    if kind == "number" or pd.api.types.is_integer_dtype(out.dtype):
        return out
    values = out.to_numpy(dtype=float)
    finite = np.isfinite(values)
    bad = pd.Series(
        ~np.isnan(values) & (~finite | (np.abs(values) >= _INT64) | (values != np.round(values))),
        index=s.index,
    )
    if bad.any():
        raise _bad(s, bad, kind, file, col, csv)
    if np.isnan(values).any():
        return out  # missing values: the caller's null check decides
    return pd.Series(values.astype(np.int64), index=s.index, name=s.name)


def _no(kind: str, file: str, col: str) -> InputError:
    return InputError(file, str(col), f"expected {_noun(kind)}, the column is empty")
