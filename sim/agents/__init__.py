"""Mesa agents of the market model: views on the engine's firm and contributor rows."""

from sim.agents.views import Community, Firm, Regulator

__all__ = ["Community", "Firm", "Regulator"]
