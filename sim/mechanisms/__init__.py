"""Mechanisms of the version-2 model: pure functions of the state arrays they are given.

Each module is one mechanism (docs/architecture.md). Every array carries a leading world
axis ``W`` so that many worlds (replications or parameter draws) are computed in one call;
no function here keeps state, draws random numbers from a global source or imports from
the model, experiment, report or CLI layers.
"""
