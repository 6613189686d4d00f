"""marketsim: an agent-based simulator of AI-model markets, open-weights vs closed.

The public API (see ``docs/guide.md`` and the notebooks in ``notebooks/``)::

    import sim
    base = sim.load_scenario("baseline")
    ban = sim.load_scenario("eu_blocks_open").with_overrides({"world.network_effect": 1.2})
    res = sim.run({"base": base, "ban": ban}, replications=30, seed=7)
    res.summary(); res.figure("hhi_market", region="EU", segment="enterprise")
    res.to_html("eu.html")
    model = sim.MarketModel(ban, seed=1)
    model.run_model(); model.datacollector.get_model_vars_dataframe()
    vary = [sim.parse_range("world.network_effect=0.1:1.5", base)]
    res, design = sim.sweep(base, vary, samples=8)             # also sim.sensitivity,
    fit = sim.calibrate(base, sim.load_targets("fit"), vary)   # sim.load_priors

Every function and class in ``__all__`` has a docstring with an example.
"""

import importlib

from sim._version import __version__
from sim.errors import ScenarioError
from sim.scenario import Scenario, load_scenario, shipped_scenarios

#: Studies for notebooks, by the module that defines each (imported on first use).
_STUDIES = {"sweep": "sim.experiment.studies", "sensitivity": "sim.experiment.studies",
            "calibrate": "sim.experiment.calibration", "load_targets": "sim.experiment.calibration",
            "parse_range": "sim.experiment.design", "load_priors": "sim.experiment.priors",
            "robustness": "sim.experiment.robustness"}


def __getattr__(name: str):  # lazy: keep `import sim` (and the CLI's --help) light
    if name == "MarketModel":
        from sim.model import MarketModel

        return MarketModel
    if name in ("run", "Results"):
        from sim import experiment

        return getattr(experiment, name)
    if name in ("ensemble", "Ensemble"):
        from sim.experiment import ensemble

        return getattr(ensemble, name)
    if name in _STUDIES:
        module = importlib.import_module(_STUDIES[name])
        return getattr(module, name)
    if name in ("run_replication", "run_replications"):
        from sim import replication

        return getattr(replication, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:  # list the lazy names too (tab completion in notebooks)
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "__version__",
    "ScenarioError",
    "Scenario",
    "load_scenario",
    "shipped_scenarios",
    "MarketModel",
    "run_replication",
    "run_replications",
    "run",
    "Results",
    "ensemble",
    "Ensemble",
    "sweep",
    "sensitivity",
    "calibrate",
    "load_targets",
    "load_priors",
    "parse_range",
    "robustness",
]
