"""Sectors and knowledge fields: the plan's key fields (tasks 5-6) plus modern services.

Knowledge fields are aligned one-to-one with sectors, so a firm's technology level, a university's
field and the technology market's cells share one index.
"""

import numpy as np

SECTORS = (
    "new_generation_it",
    "integrated_circuits",
    "biomedicine",
    "intelligent_manufacturing",
    "new_energy_vehicles",
    "new_materials",
    "aerospace",
    "green_manufacturing",
    "modern_services",
)
N_SECTORS = len(SECTORS)
KEY_FIELDS = np.arange(8)  # the eight fields of the plan's technology leap projects
# Sectors whose production can be relocated out of Beijing (plan task 8: relocating non-capital
# functions concerns manufacturing, not services or software).
MANUFACTURING = np.array([False, True, True, True, True, True, True, True, False])

# Field fit for technology trade: own field 1.0, neighbouring fields partial.
FIELD_FIT = np.full((N_SECTORS, N_SECTORS), 0.15)
np.fill_diagonal(FIELD_FIT, 1.0)
for a, b in [(0, 1), (0, 8), (3, 6), (3, 7), (4, 5), (5, 1), (4, 7), (2, 5)]:
    FIELD_FIT[a, b] = FIELD_FIT[b, a] = 0.4
