"""Experiments: replications with common random numbers, results folders, summaries."""

from sim.experiment.results import Results
from sim.experiment.runner import run

__all__ = ["Results", "run"]
