"""Writing results so that an interruption leaves either the complete result or none.

A file is written to a temporary name in its folder and renamed into place; a result folder is
built next to its destination and moved into place when complete (`os.replace` is atomic on one
file system).
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError
from .inputs import resolve_file


def write_file(path: Path, write: Callable[[str], object]) -> None:
    """Call write(temporary_path), then rename the file to `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_file(path, lambda p: Path(p).write_text(text, encoding="utf-8", newline=""))


STAGING = ".innosim-tmp-"  # staging folders: .<name>.innosim-tmp-XXXXXXXX beside the output


def check_out(out: str | Path, force: bool, marker: str, inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse, before any work, an output folder whose replacement would destroy something.

    Refused always: a symbolic link; the current folder, one above it, the home folder or a
    file-system root; a folder that holds one of `inputs`; a path below a file. Refused without
    `force`: an existing folder that is not empty. Refused even with `force`: a non-empty folder
    without `marker` (the file every result of this kind has), i.e. one innosim did not write.
    """
    out = Path(out)
    _refuse_dangerous(out)
    target = resolve_file(out, None, None)
    for item in inputs:
        src = resolve_file(item, None, None)
        if src == target or src.is_relative_to(target) or target.is_relative_to(src):
            raise InputError(str(out), None, f"output folder overlaps the input {item}")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(str(out), None, f"{parent} is a file, not a folder")
            break
    if not out.exists():
        return out
    if not out.is_dir():
        raise InputError(str(out), None, "exists and is not a folder")
    if any(out.iterdir()):
        if not force:
            raise InputError(str(out), None, "output folder exists; use --force to replace it")
        _refuse_foreign(out, marker)
    return out


def _refuse_dangerous(out: Path) -> None:
    if out.is_symlink():
        raise InputError(str(out), None, "is a symbolic link; give the folder itself")
    target = Path(os.path.abspath(out))
    cwd = Path.cwd()
    if (
        out.name in ("", ".", "..")
        or target == cwd
        or target in cwd.parents
        or target == Path.home()
        or target == Path(target.anchor)
    ):
        raise InputError(
            str(out),
            None,
            "refusing to replace this folder (the current folder, one above it, "
            "home or a root); give a new folder's name",
        )


def _refuse_foreign(out: Path, marker: str) -> None:
    if out.is_dir() and any(out.iterdir()) and not (out / marker).is_file():
        raise InputError(
            str(out),
            None,
            f"is not empty and holds no {marker}, so innosim did not write it: not replaced even "
            "with --force; choose another folder or remove it yourself",
        )


@contextmanager
def staged_folder(out: Path, marker: str) -> Iterator[Path]:
    """Yield an empty folder next to `out`; when the block ends, it replaces `out` (any earlier
    `out` is removed); if the block raises, it is deleted and `out` is left as it was.

    The folder the block fills must contain `marker` (the file that identifies this kind of
    result); an existing `out` is replaced only if it is empty or contains it, and never when it
    is the current folder or above it (see `check_out`, which callers use before any work).
    """
    out = Path(out)
    _refuse_dangerous(out)
    _refuse_foreign(out, marker)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{glob.escape(out.name)}{STAGING}*"):  # of a killed writer
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGING}", dir=out.parent))
    try:
        yield tmp
        if not (tmp / marker).is_file():
            raise RuntimeError(f"staged result lacks its marker file {marker}")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
