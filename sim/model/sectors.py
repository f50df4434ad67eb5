"""Sectors and knowledge fields: the plan's key industries (tasks 5-6) plus modern services.

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

# The plan names two lists of fields, and they differ. Each is kept as the plan gives it (Chinese
# name as in seeds/beijing_sti_center_plan_2016.zh.txt, English gloss) with the model sector it
# falls in; a field no sector of the model covers maps to None.
#
# Task 5 (夯实重点产业技术创新能力): the key fields of the national technology innovation centers.
TASK5_INNOVATION_CENTER_FIELDS = (
    ("智能制造", "intelligent manufacturing", "intelligent_manufacturing"),
    ("生物医药", "biomedicine", "biomedicine"),
    ("集成电路", "integrated circuits", "integrated_circuits"),
    ("新型显示", "new displays", "integrated_circuits"),  # display panels: semiconductor process
    ("现代种业", "modern seed industry", None),  # agriculture: no sector of the model
    ("移动互联", "mobile internet", "new_generation_it"),
    ("航空航天", "aerospace", "aerospace"),
    ("绿色制造", "green manufacturing", "green_manufacturing"),
)
# Task 6 (引领支撑首都"高精尖"经济发展): the eight technology leap projects (八大技术跨越工程).
TASK6_LEAP_FIELDS = (
    ("新一代信息技术", "new-generation information technology", "new_generation_it"),
    ("生物医药", "biomedicine", "biomedicine"),
    ("能源", "energy", "green_manufacturing"),  # clean-energy equipment
    ("新能源汽车", "new-energy vehicles", "new_energy_vehicles"),
    ("节能环保", "energy saving and environmental protection", "green_manufacturing"),
    ("先导与优势材料", "leading and advantageous materials", "new_materials"),
    ("数字化制造", "digital manufacturing", "intelligent_manufacturing"),
    ("轨道交通", "rail transit", "intelligent_manufacturing"),  # rail equipment manufacturing
)


def _sectors_of(fields) -> np.ndarray:
    return np.array(sorted({SECTORS.index(s) for _, _, s in fields if s is not None}))


INNOVATION_CENTER_SECTORS = _sectors_of(TASK5_INNOVATION_CENTER_FIELDS)  # task 5
LEAP_SECTORS = _sectors_of(TASK6_LEAP_FIELDS)  # task 6
# Sectors whose production can be relocated out of Beijing (plan task 8: relocating non-capital
# functions concerns manufacturing, not services or software).
MANUFACTURING = np.array([False, True, True, True, True, True, True, True, False])

# Field fit for technology trade: own field 1.0, neighbouring fields partial.
FIELD_FIT = np.full((N_SECTORS, N_SECTORS), 0.15)
np.fill_diagonal(FIELD_FIT, 1.0)
for a, b in [(0, 1), (0, 8), (3, 6), (3, 7), (4, 5), (5, 1), (4, 7), (2, 5)]:
    FIELD_FIT[a, b] = FIELD_FIT[b, a] = 0.4
