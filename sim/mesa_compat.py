"""Compatibility with the Mesa versions we support (``mesa>=3.3,<4``).

Imported by :mod:`sim.model`, so every process that builds a MarketModel gets it.
"""

from __future__ import annotations

import itertools
import weakref
from collections import defaultdict
from typing import Any

__all__ = ["stop_mesa_model_leak"]


class _WeakCounters(weakref.WeakKeyDictionary):
    """Per-model agent id counters that, unlike mesa's, do not keep models alive."""

    def __getitem__(self, model: Any) -> Any:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


def stop_mesa_model_leak() -> None:
    """Let finished models be freed (mesa 3.3 keeps every model ever built alive).

    Mesa 3.3 counts agent ids in a class-level ``defaultdict`` keyed by model (mesa
    issue #3179, fixed upstream by PR #3180), so a worker running hundreds of
    replications grew by ~0.6 MB per run and slowed down. Swap in weakly keyed counters
    (same numbering, so results are unchanged). Called once at import, before any
    model is built in this process.
    """
    import mesa

    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, defaultdict):  # newer mesa has no such dict: nothing to do
        counters = _WeakCounters()
        for model, counter in list(ids.items()):
            counters[model] = counter
        mesa.Agent._ids = counters


stop_mesa_model_leak()
