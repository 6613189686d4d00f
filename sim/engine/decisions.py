"""Firms' decisions per product line (MODEL.md 6.5, 7): withdrawal from a region, re-entry.

A firm withdraws a line from a region when the line's expected margin there over
``withdrawal_horizon`` months falls short of the compliance cost the region's rules put on
it (MODEL.md 7: "firms withdraw lines from regions whose expected margin is below their
compliance cost", emergent). The margin is the line's real operating margin (revenue
minus serving cost): indirect value to a parent is not counted, since version 1's
``$2 per adopter`` of indirect value kept Meta in the EU whatever the rules cost
(issue 15). A firm never withdraws from its home region. A withdrawn line may come back
after ``reentry_lag`` months when the margin would again cover the cost.
"""

from __future__ import annotations

import numpy as np

from sim.engine.names import firm_name, product_name
from sim.engine.params import Params
from sim.engine.rules import Rules
from sim.engine.state import Event, State

__all__ = ["withdraw_and_reenter", "MARGIN_KEY"]

#: ``state.scratch`` key of last month's operating margin by region and line, ``[W, R, K]``.
MARGIN_KEY = "line_margin_by_region"


def withdraw_and_reenter(params: Params, state: State, rules: Rules, month: int) -> bool:
    """Update ``state.served``; returns whether anything changed (the rules must be redone)."""
    margin = state.scratch.get(MARGIN_KEY)
    if margin is None:
        return False
    horizon = params.world["withdrawal_horizon"][:, None, None]
    lag = params.world["reentry_lag"][:, None, None]
    cost = rules.compliance_fixed
    owed = cost > 0
    alive = state.product_alive[:, None, :] & state.firm_alive[
        np.arange(state.worlds)[:, None], state.owner][:, None, :]
    # a line that sells nothing in the region has nothing to lose there: leave only if it owes.
    # A firm does not leave its home region: it is established there and answers to its
    # rules wherever it sells (Mistral does not withdraw from the EU).
    owner_home = np.take_along_axis(state.home, state.owner, axis=1)  # [W, K]
    at_home = owner_home[:, None, :] == np.arange(state.served.shape[1])[None, :, None]
    leave = state.served & alive & owed & ~at_home & (margin * horizon < cost * horizon)
    waited = (state.withdrawn_at >= 0) & (month - state.withdrawn_at >= lag)
    back = ~state.served & alive & waited & ~(owed & (margin <= cost))
    # a line that never sold in the region (margin 0) and owes nothing stays where it is
    changed = leave | back
    if not changed.any():
        return False
    for w, r, k in zip(*np.nonzero(changed), strict=True):  # decisions are rare events
        firm = firm_name(params, state, w, int(state.owner[w, k]))
        line = product_name(params, state, w, int(k))
        region = params.structure.regions[r]
        if leave[w, r, k]:
            detail = (f"expected margin {margin[w, r, k] / 1e6:,.2f}M USD a month below the "
                      f"compliance cost {cost[w, r, k] / 1e6:,.2f}M USD a month")
            state.events.append(Event(int(w), month, region, firm, line, "withdrawal", detail))
        else:
            state.events.append(Event(int(w), month, region, firm, line, "reentry",
                                      "the expected margin covers the compliance cost again"))
    state.served = np.where(leave, False, np.where(back, True, state.served))
    state.withdrawn_at = np.where(leave, month, state.withdrawn_at)
    return True
