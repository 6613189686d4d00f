"""Contributor communities (MODEL.md 6.4): who works on which open family, and what it adds.

Communities choose an open family by its capability, ecosystem size and licence
(Lerner & Tirole's career and peer motives); their effort raises the family's capability
and its ecosystem size ``D`` (derivatives, tools), which developers value
(``d_s ln(1 + D)``). ``contributors.productivity = 0`` switches them off.
"""

from __future__ import annotations

import numpy as np

from sim.engine.params import Params
from sim.engine.rules import Rules
from sim.engine.state import State
from sim.mechanisms import ecosystem as eco
from sim.streams import GLOBAL_REGION, KeyedStreams, Mechanism

__all__ = ["inside_utilities", "calibrate_outside", "contributors_choose", "OUTSIDE_KEY"]

#: ``state.scratch`` key of the communities' outside option, relative to the closed frontier.
OUTSIDE_KEY = "contributor_outside_offset"


def inside_utilities(params: Params, state: State, allowed: np.ndarray) -> np.ndarray:
    """``[W, R, K]`` a community's utility of working on each open family (-inf: not allowed)."""
    c = params.contributors
    family_open = state.is_open & state.product_alive
    return eco.choice_utilities(state.capability, state.ecosystem, state.licence, family_open,
                                allowed, c["capability_weight"], c["ecosystem_weight"],
                                c["licence_weight"])


def calibrate_outside(params: Params, state: State, allowed: np.ndarray) -> None:
    """Set the outside option so that ``initial_engaged`` of communities contribute at step 0.

    Stored relative to the closed frontier, so the outside option (a job on closed models,
    other projects) keeps pace with capability and engagement does not drift up by itself.
    """
    inside = inside_utilities(params, state, allowed)
    outside = eco.outside_utility_for_engaged_share(
        inside, np.clip(params.contributors["initial_engaged"], 1e-6, 1 - 1e-6)[:, None])
    a_q = params.contributors["capability_weight"][:, None]
    state.scratch[OUTSIDE_KEY] = outside - a_q * state.closed_frontier[:, :1]


def _outside(params: Params, state: State, month: int) -> np.ndarray:
    a_q = params.contributors["capability_weight"][:, None]
    frontier = state.closed_frontier[:, max(month - 1, 0)][:, None]
    return state.scratch[OUTSIDE_KEY] + a_q * frontier


def contributors_choose(params: Params, state: State, rules: Rules, month: int,
                        streams: KeyedStreams, extra_effort: np.ndarray | None = None,
                        reconsider_rate: np.ndarray | None = None) -> np.ndarray:
    """Communities reconsider, then effort and ecosystems update; returns community gain.

    Args:
        params: Parameters.
        state: State (``family``, ``effort``, ``ecosystem`` updated).
        rules: This month's rules (``contributor_allowed``, ``contributor_friction``).
        month: Step.
        streams: Random streams (two uniforms per community).
        extra_effort: ``[W, K]`` subsidised effort (developer-months) added to families.
        reconsider_rate: Override of the monthly reconsideration rate (1 at step 0).

    Returns:
        ``[W, K]`` capability points a month the communities add to each family.
    """
    st, c = params.structure, params.contributors
    n = st.contributor_region.shape[0]
    allowed = rules.contributor_allowed
    if n:
        u = streams.uniforms(Mechanism.CONTRIBUTORS, month, GLOBAL_REGION, 2 * n)
        inside = inside_utilities(params, state, allowed)
        rate = c["reconsider_rate"] if reconsider_rate is None else reconsider_rate
        state.family = eco.choose_families(state.family, st.contributor_region, u[:, :n],
                                           u[:, n:], inside, _outside(params, state, month),
                                           rate)
    friction = np.clip(params.region["legal_friction"] + rules.contributor_friction, 0.0, 1.0)
    effort, _ = eco.family_effort(state.family, st.contributor_region, st.contributor_size,
                                  c["productivity"], friction,
                                  state.is_open & state.product_alive, allowed)
    if extra_effort is not None:
        effort = effort + extra_effort
    state.effort = effort
    state.ecosystem = eco.ecosystem_size_step(state.ecosystem, effort,
                                              c["derivative_rate"][:, None],
                                              c["derivative_decay"])
    return eco.community_gain(effort, c["community_gain"], c["effort_scale"],
                              c["effort_elasticity"])
