"""Progress bars of the commands that read or analyse results (compare, analyze, a sweep's runs
read): here, not in executors, so that reading results never loads what runs the model
(tests/test_layout.py)."""

from __future__ import annotations

PROGRESS_DELAY = 2.0  # seconds before a reading or analysing command shows its bar


def progress_bar(iterable=None, *, desc: str, unit: str, enabled: bool, total: int | None = None):
    """A progress bar on stderr for work that reads or analyses results (compare, analyze): shown
    only once the work has lasted PROGRESS_DELAY seconds, so a quick command, or one refusing
    its input after a moment, prints nothing but its result or its one-line error."""
    from tqdm.auto import tqdm

    return tqdm(
        iterable, total=total, desc=desc, unit=unit, disable=not enabled, delay=PROGRESS_DELAY
    )
