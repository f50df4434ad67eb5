"""Agent kinds: each module states the kind's state variables and decisions."""

from .firm import Firm, FirmPopulation
from .fund import Fund, FundPopulation
from .region import Region, RegionPopulation
from .university import University, UniversityPopulation

__all__ = [
    "Firm",
    "FirmPopulation",
    "Fund",
    "FundPopulation",
    "Region",
    "RegionPopulation",
    "University",
    "UniversityPopulation",
]
