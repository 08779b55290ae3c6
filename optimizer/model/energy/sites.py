"""What each site may build: the index lists every energy constraint family iterates over."""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo

from optimizer.inputs.derived import DerivedInputs


@dataclass(frozen=True)
class SiteEnergy:
    """The energy technologies of each site, shared by the energy layer's constraint families."""

    grid: str
    """id of the grid connection among the power technologies"""
    techs_at: dict[str, list[str]]
    """site → power technologies that may be built there (the grid included where it may be used)"""
    storage_at: dict[str, list[str]]
    """site → storage technologies that may be built there"""
    bridge_share: dict[str, float]
    """sites whose late grid is bridged by on-site power → present-value share of the bridge years"""

    @classmethod
    def of(cls, m: pyo.ConcreteModel, inputs: DerivedInputs) -> SiteEnergy:
        """Read from the model's ``site_techs`` and ``site_storage`` sets (generation and storage)."""
        return cls(
            grid=inputs.grid_tech,
            techs_at={s: [g for (ss, g) in m.site_techs if ss == s] for s in m.S},
            storage_at={s: [b for (ss, b) in m.site_storage if ss == s] for s in m.S},
            bridge_share=inputs.bridge_share,
        )
