"""Scenario files: schema, loading with inheritance, overrides and dumping."""

from sim.scenario.loader import load_scenario, load_with_parent, shipped_scenarios
from sim.scenario.schema import Scenario

__all__ = ["Scenario", "load_scenario", "load_with_parent", "shipped_scenarios"]
