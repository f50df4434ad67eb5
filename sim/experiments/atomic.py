"""Writing results so that nothing a user owns is ever lost, and an interruption leaves either
the complete earlier result or the complete new one.

- A file is written to a temporary name in its folder and renamed into place.
- A result folder is built next to its destination (a staging folder) and swapped into place
  when complete: on Linux with one atomic `renameat2(RENAME_EXCHANGE)`, elsewhere with two
  renames whose in-between state (the old result under a backup name) is repaired on the next
  write. A mount point cannot be renamed, so it is refused before any work.
- Every result folder carries a stamp (STAMP: the sha256 of each file innosim wrote there). A
  folder is replaced (`--force`) only when everything in it is innosim's: listed in its stamp
  and unchanged since, inside a folder the stamp says grows (a sweep's `parts/`), or a result
  folder of its own. A user's `thesis.tex` beside an `indicators.csv`, or an edited report, makes
  the folder the user's: it is refused, exit 2.
- One writer per output folder: `claim` takes an exclusive lock (flock, released when the
  process ends, however it ends), so a second process writing the same folder is refused.
  Staging folders of writers that were killed are removed by the next writer of that parent
  folder (only when no live process holds their lock) and reported on stderr.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.inputs.errors import InputError, raise_if_signalled

try:
    import fcntl
except ImportError:  # Windows: no flock; one writer per folder is then not enforced
    fcntl = None
from sim.inputs.reader import resolve_file

STAGING = ".innosim-tmp-"  # staging folders: .<name>.innosim-tmp-XXXXXXXX beside the output
BACKUP = ".innosim-old-"  # an earlier result moved aside while the new one is put in place
STAMP = ".innosim-result.json"  # what innosim wrote in a result folder
_STAMP_ID = "innosim result stamp"
# a sweep part, a calibration's ABC database (sim.experiments.abc), or a writer's temporary file
_PART = re.compile(r"^[0-9a-f]{24}\.parquet$|^abc\.db(-journal|-wal|-shm)?$|^\.")


# ------------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------
# stamps: what innosim wrote
# ------------------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_stamp(folder: Path) -> dict | None:
    """The folder's stamp, or None when it has none (or one that is not innosim's)."""
    path = folder / STAMP
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > 50_000_000:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("stamp") != _STAMP_ID:
        return None
    files, grows = data.get("files"), data.get("grows", [])
    if not isinstance(files, dict) or not isinstance(grows, list):
        return None
    return data


def stamp_folder(folder: Path, kind: str, grows: Iterable[str] = ()) -> None:
    """Record every file now in `folder` as innosim's (their sha256), except those inside the
    folders named in `grows` (filled later, e.g. a sweep's parts) and inside result folders of
    their own."""
    folder = Path(folder)
    grows = sorted(grows)
    files = {
        rel: _sha256(folder / rel) for rel in _files_below(folder, skip=set(grows)) if rel != STAMP
    }
    _write_stamp(folder, {"kind": kind, "grows": grows, "files": files})


def add_to_stamp(folder: Path, names: Iterable[str], kind: str = "files") -> None:
    """Record files innosim has just written into an existing folder (facts beside a run's
    results, an analysis); a folder without a stamp gets one listing only these files."""
    folder = Path(folder)
    data = _read_stamp(folder) or {"kind": kind, "grows": [], "files": {}}
    for name in names:
        data["files"][str(name)] = _sha256(folder / name)
    _write_stamp(folder, data)


def add_growing(folder: Path, name: str, kind: str = "files") -> None:
    """Declare the sub-folder `name` of `folder` as filled later by innosim (its parts)."""
    folder = Path(folder)
    data = _read_stamp(folder) or {"kind": kind, "grows": [], "files": {}}
    data["grows"] = sorted(set(data["grows"]) | {name})
    _write_stamp(folder, data)


def drop_from_stamp(folder: Path, names: Iterable[str]) -> None:
    data = _read_stamp(Path(folder))
    if data is not None:
        for name in names:
            data["files"].pop(str(name), None)
        _write_stamp(Path(folder), data)


def stamped_files(folder: Path) -> set[str]:
    """The files the folder's stamp lists (empty without a stamp)."""
    data = _read_stamp(Path(folder))
    return set(data["files"]) if data else set()


def _write_stamp(folder: Path, data: dict) -> None:
    from sim import __version__

    record = {"stamp": _STAMP_ID, "innosim_version": __version__, **data}
    write_text(folder / STAMP, json.dumps(record, indent=1, sort_keys=True) + "\n")


def _files_below(folder: Path, skip: set[str]) -> Iterator[str]:
    """Relative paths of the files below `folder`, not entering `skip` or sub-results."""
    for entry in sorted(folder.iterdir()):
        rel = entry.name
        if entry.is_dir() and not entry.is_symlink():
            if rel in skip or _read_stamp(entry) is not None:
                continue
            yield from (f"{rel}/{r}" for r in _files_below(entry, set()))
        else:
            yield rel


def foreign_entries(folder: Path, limit: int = 4) -> list[str]:
    """What in `folder` innosim did not write (at most `limit` items, each with why); empty when
    the whole folder is innosim's and may be replaced."""
    out: list[str] = []
    _foreign(Path(folder), "", None, out, limit)
    return out


def _foreign(folder: Path, prefix: str, stamp: dict | None, out: list[str], limit: int) -> None:
    own = _read_stamp(folder)
    if own is not None:
        stamp, prefix = own, ""  # a result folder of its own: paths relative to it
    files = stamp["files"] if stamp else {}
    grows = set(stamp.get("grows", [])) if stamp else set()
    try:
        entries = sorted(folder.iterdir())
    except OSError as e:
        out.append(f"{folder.name} (unreadable: {e.strerror})")
        return
    for entry in entries:
        if len(out) >= limit:
            return
        rel = prefix + entry.name
        if entry.name == STAMP and own is not None:
            continue
        if entry.is_symlink():
            out.append(f"{rel} (a link innosim did not make)")
        elif entry.is_dir():
            if rel in grows:
                bad = [p.name for p in entry.iterdir() if not (_PART.match(p.name) and p.is_file())]
                out.extend(f"{rel}/{b}" for b in bad[: limit - len(out)])
            else:
                _foreign(entry, rel + "/", stamp, out, limit)
        elif rel not in files:
            out.append(rel)
        elif _sha256(entry) != files[rel]:
            out.append(f"{rel} (changed since innosim wrote it)")


# ------------------------------------------------------------------------------------------------
# checking an output folder before any work
# ------------------------------------------------------------------------------------------------
def check_out(out: str | Path, force: bool, inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse, before any work, an output folder whose replacement would destroy something or
    could not be done.

    Refused always: a symbolic link; the current folder, one above it, the home folder or a
    file-system root; a mount point (it cannot be renamed); a folder that holds one of `inputs`;
    a path below a file; a place where this user cannot write. Refused without `force`: an
    existing folder that is not empty. Refused even with `force`: a folder holding anything
    innosim did not write (see `foreign_entries`).
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
            if not os.access(parent, os.W_OK | os.X_OK):
                raise InputError(
                    str(out), None, f"cannot write in {parent} (no permission, or read-only)"
                )
            break
    if not out.exists():
        return out
    if not out.is_dir():
        raise InputError(str(out), None, "exists and is not a folder")
    if os.path.ismount(out):
        raise InputError(
            str(out),
            None,
            "is a mount point (a volume?): innosim replaces a result folder by renaming, which a "
            "mount point does not allow; give a folder inside it, e.g. "
            f"{Path(out) / 'result'}",
        )
    if any(out.iterdir()):
        if not force:
            raise InputError(str(out), None, "output folder exists; use --force to replace it")
        _refuse_foreign(out)
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


def _refuse_foreign(out: Path) -> None:
    if not out.is_dir():
        return
    foreign = foreign_entries(out)
    if foreign:
        more = " ..." if len(foreign) >= 4 else ""
        raise InputError(
            str(out),
            None,
            f"holds what innosim did not write ({', '.join(foreign)}{more}): not replaced even "
            "with --force; choose another folder or remove it yourself",
        )


# ------------------------------------------------------------------------------------------------
# one writer per output folder
# ------------------------------------------------------------------------------------------------
_held: dict[str, tuple[int, int]] = {}  # lock path -> (fd, depth) held by this process


def _lock_path(out: Path) -> Path:
    key = str(resolve_file(out, None, None))
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    root = Path(tempfile.gettempdir()) / f"innosim-locks-{user}"
    root.mkdir(mode=0o700, exist_ok=True)
    return root / (
        hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32] + ".lock"
    )


def _try_lock(out: Path, reentrant: bool = True) -> bool:
    """Take the lock of `out` (True), or False when another process holds it (or this one,
    unless `reentrant`)."""
    path = _lock_path(out)
    key = str(path)
    if key in _held:
        if not reentrant:
            return False
        fd, depth = _held[key]
        _held[key] = (fd, depth + 1)
        return True
    if fcntl is None:
        return True
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a file its last holder unlinked while we opened it
            os.ftruncate(fd, 0)
            os.write(
                fd, f"{os.getpid()} {resolve_file(out, None, None)}\n".encode(errors="replace")
            )
            _held[key] = (fd, 1)
            return True
        os.close(fd)


def _unlock(out: Path) -> None:
    key = str(_lock_path(out))
    if key not in _held:  # never taken (no flock on this system)
        return
    fd, depth = _held[key]
    if depth > 1:
        _held[key] = (fd, depth - 1)
        return
    del _held[key]
    Path(key).unlink(missing_ok=True)
    os.close(fd)


def _holder(out: Path) -> str:
    try:
        return _lock_path(out).read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError):
        return "?"


@contextmanager
def claim(
    out: str | Path, force: bool, inputs: Iterable[str | Path] = (), check: bool = True
) -> Iterator[Path]:
    """Check `out` (see `check_out`, unless `check` is False) and hold it for this process until
    the block ends: a second innosim process writing the same folder is refused (exit 2)."""
    out = Path(out)
    _refuse_dangerous(out)
    if not _try_lock(out):
        raise InputError(
            str(out),
            None,
            f"another innosim process (pid {_holder(out)}) is writing this folder; wait for it "
            "to finish or choose another --out",
        )
    try:
        _repair(out)
        if check:
            check_out(out, force, inputs)
        yield out
    finally:
        _unlock(out)


# ------------------------------------------------------------------------------------------------
# replacing a result folder
# ------------------------------------------------------------------------------------------------
def _leftovers(parent: Path, pattern: str) -> Iterator[tuple[Path, Path]]:
    """(leftover, the output it belongs to) for staging or backup folders in `parent`."""
    for p in parent.glob(f".*{pattern}*"):
        name = p.name[1:].rsplit(pattern, 1)[0]
        if name and p.is_dir() and not p.is_symlink():
            yield p, parent / name


def _repair(out: Path) -> None:
    """Under the lock of `out`: put back an earlier result moved aside by a writer killed in the
    middle of a two-rename swap, and remove the staging folders of writers that are gone (of any
    output in the same parent whose lock no process holds); both said on stderr."""
    parent = out.parent
    if not parent.is_dir():
        return
    removed = 0
    for folder, owner in [*_leftovers(parent, BACKUP), *_leftovers(parent, STAGING)]:
        mine = owner == out
        if not mine and not _try_lock(owner, reentrant=False):
            continue  # a live writer's
        try:
            if BACKUP in folder.name and not owner.exists():
                os.rename(folder, owner)
                print(
                    f"innosim: restored {owner} (its replacement was interrupted)", file=sys.stderr
                )
            elif folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        finally:
            if not mine:
                _unlock(owner)
    if removed:
        print(
            f"innosim: removed {removed} unfinished staging folder(s) of killed runs in {parent}",
            file=sys.stderr,
        )


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd = -100
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False  # this file system cannot exchange: two renames instead
    raise OSError(err, os.strerror(err), str(b))


def _put_in_place(tmp: Path, out: Path) -> None:
    """Move the complete folder `tmp` to `out`; an earlier `out` ends in `tmp`'s place (to be
    removed by the caller). On failure `out` is left as it was."""
    if not out.exists():
        os.rename(tmp, out)
        return
    if _exchange(tmp, out):
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{out.name}{BACKUP}", dir=out.parent))
    backup.rmdir()
    os.rename(out, backup)  # a kill from here ...
    try:
        os.rename(tmp, out)  # ... to here leaves the old result as `backup`: see _repair
    except BaseException:
        os.rename(backup, out)
        raise
    os.rename(backup, tmp)


@contextmanager
def staged_folder(out: Path, marker: str, *, kind: str, grows=()) -> Iterator[Path]:
    """Yield an empty folder next to `out`; when the block ends, it replaces `out`, stamped as
    innosim's; if the block raises, it is deleted and `out` is left as it was.

    The folder the block fills must contain `marker` (the file that identifies this kind of
    result). An existing `out` is replaced only when it is empty or wholly innosim's, and never
    when it is the current folder or above it (see `check_out`, which callers use, through
    `claim`, before any work).
    """
    out = Path(out)
    with claim(out, True, check=False):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGING}", dir=out.parent))
        try:
            yield tmp
            if not (tmp / marker).is_file():
                raise RuntimeError(f"staged result lacks its marker file {marker}")
            stamp_folder(tmp, kind, grows)
            raise_if_signalled()  # a Ctrl-C swallowed on the way: the result is not put in place
            _refuse_foreign(out)  # checked last, so nothing of the user's appeared meanwhile
            try:
                _put_in_place(tmp, out)
            except OSError as e:
                raise InputError(
                    str(out),
                    None,
                    f"could not put the new result in place ({e.strerror or e}); the earlier "
                    "result is unchanged",
                ) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # the staging folder, or the old result
