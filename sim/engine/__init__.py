"""The version-2 model layer: batched world state, the month's schedule, the demand engines.

A batch is W worlds of one scenario structure (regions, segments, firms and product lines)
that may differ in parameter values (posterior draws, sweep points) and in luck
(replications). :class:`~sim.engine.engine.Engine` steps all of them in one vectorised
call per phase; the Mesa ``MarketModel`` is the W = 1 case of the same code
(docs/architecture.md).
"""
