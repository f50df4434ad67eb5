"""What a model announces about its firms, for observers that record without changing it.

Subscribe with `InnovationModel.subscribe(listener)`; a listener implements the methods it needs
(the base class gives no-ops). Listeners must not change the model's state.
"""

from __future__ import annotations

import numpy as np


class ModelListener:
    def firms_leaving(self, idx: np.ndarray, reason: str) -> None:
        """Firms in slots `idx` are about to leave ("closed" or "acquired"); state still intact."""

    def compacting(self, firms) -> None:
        """Year end, just before the slots of firms that left are dropped."""

    def compacted(self, remap: np.ndarray) -> None:
        """Slots were compacted: `remap[old] = new` (-1 for firms that left)."""
