"""The C allocator's settings for a model run: numpy's temporaries without page faults.

A full-scale step makes hundreds of temporary arrays of 0.1-1 MB (one float per firm). glibc's
malloc serves blocks above its mmap threshold (128 KB at first, raised as blocks are freed) from
fresh mappings and gives free memory at the top of the heap back to the system beyond its trim
threshold (twice the mmap threshold), so those temporaries kept being unmapped and mapped again:
a full-scale run took 320,000 page faults and 1.1 s of kernel time zeroing pages (a sixth of the
run), a run at scale 0.25 34,000 and 0.14 s. With blocks up to 32 MB from the heap and up to
128 MB of free heap kept (16 MB of padding when it grows), the same runs take 7,600 and 2,100
faults, and 1.2 s (full scale) and 0.4 s (0.25) less; peak memory is 2% higher (225 vs 220 MB at
full scale). Results are unchanged: only where memory comes from changes.

Applied once per process when a model is built (`tune`), on Linux with glibc only, and not when
the user set glibc's own MALLOC_*_ variables or glibc.malloc tunables (theirs win) or
INNOSIM_MALLOC_TUNING=0. The settings hold for the whole process (a notebook's kernel too): it
keeps up to 128 MB of freed memory for reuse instead of returning it at once.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc's <malloc.h>
SETTINGS = {
    M_MMAP_THRESHOLD: 32 << 20,  # blocks up to 32 MB come from the heap (glibc's dynamic max)
    M_TRIM_THRESHOLD: 128 << 20,  # keep up to 128 MB of free heap before giving it back
    M_TOP_PAD: 16 << 20,  # grow the heap 16 MB at a time
}
_USER_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

_state = {"done": False, "applied": False}


def tune() -> bool:
    """Set the allocator for model runs (once per process); returns whether it is set."""
    if _state["done"]:
        return _state["applied"]
    _state["done"] = True
    if (
        not sys.platform.startswith("linux")
        or os.environ.get("INNOSIM_MALLOC_TUNING", "1") == "0"
        or any(v in os.environ for v in _USER_VARIABLES)
        or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")
    ):
        return False
    try:
        libc = ctypes.CDLL(None)  # the process's own C library (no search for it)
        mallopt = libc.mallopt  # glibc (musl has none)
        gnu_libc = libc.gnu_get_libc_version
    except (OSError, AttributeError):
        return False
    del gnu_libc
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _state["applied"] = all([mallopt(k, v) == 1 for k, v in SETTINGS.items()])
    return _state["applied"]
