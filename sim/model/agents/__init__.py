"""Agent kinds: each module states the kind's state variables and decisions.

firm, university, fund, region: struct-of-arrays populations (state and vectorised decisions) and
their Mesa agents (views, see view.AgentView); entry: new firms; patent_office: patent decisions.
"""

from sim.model.agents.firm import Firm, FirmPopulation
from sim.model.agents.fund import Fund, FundPopulation
from sim.model.agents.region import Region, RegionPopulation
from sim.model.agents.university import University, UniversityPopulation

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
