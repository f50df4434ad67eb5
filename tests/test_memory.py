"""Long sweeps keep the parent process's memory flat (issue 8).

Mesa keeps every model in a class-level dict (`Agent._ids`) unless its entry is removed; a model
kept alive at scale 0.02 costs about 0.7 MB, so 120 leaked runs would add some 80 MB. The test
runs a 120-run sweep and samples the parent's resident memory as parts are written: after a
warm-up of 20 runs it may grow by at most 12 MB, and no model may be left alive.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import mesa
import pytest
from helpers import write_short_sweep

from sim.experiments.store import Store
from sim.experiments.sweep import run_sweep
from sim.model import InnovationModel

pytestmark = pytest.mark.serial  # timing-sensitive: run alone (Makefile `test`)

RUNS, WARM_UP, MAX_GROWTH_MB = 120, 20, 12.0


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc; the peak elsewhere)."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "two-workers"])
def test_parent_memory_stays_flat_over_a_long_sweep(tmp_path, monkeypatch, workers):
    levers = {"ip_protection": {"low": 0.0, "high": 1.0}}
    spec = write_short_sweep(tmp_path, levers, samples=RUNS // 4, replicates=4)
    models_before = _live_models()
    samples: list[float] = []
    real = Store.write_part

    def write_part(self, key, frame):
        real(self, key, frame)
        if len(samples) == 0 or (len(self.done()) % 10 == 0):
            gc.collect()
            samples.append(rss_mb())

    monkeypatch.setattr(Store, "write_part", write_part)
    summary = run_sweep(spec, tmp_path / "out", workers=workers, progress=False)
    assert summary.ran == RUNS and not summary.failures
    gc.collect()
    end = rss_mb()
    warm = samples[WARM_UP // 10]
    print(f"RSS every 10 parts (MB): {[round(x, 1) for x in samples]} -> {end:.1f}")
    assert end - warm < MAX_GROWTH_MB, f"memory grew {end - warm:.1f} MB: {samples} -> {end}"
    assert _live_models() == models_before  # every run's model was freed


def _live_models() -> tuple[int, int]:
    """Models alive, and models Mesa still keeps an id counter for (other tests' fixtures may
    hold some; a sweep must add none)."""
    gc.collect()
    alive = sum(isinstance(o, InnovationModel) for o in gc.get_objects())
    return alive, sum(isinstance(m, InnovationModel) for m in mesa.Agent._ids)
