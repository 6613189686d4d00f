"""Names of firm and product rows, entrants included (they differ between worlds).

A scenario's own rows keep their names; an entrant's row is named by the world's entry
counter and home region (``sim.mechanisms.entry.entrant_name``: ``Entrant#<n>-<home>``),
which no scenario name can equal (``#`` is outside the name alphabet), and its one product
line takes the firm's name. A line of released older weights is named
``<line>-weights@<YYYY-MM>`` (``@`` is outside the alphabet too).
"""

from __future__ import annotations

import numpy as np

from sim.engine.params import Params
from sim.engine.state import State
from sim.mechanisms.entry import entrant_name
from sim.scenario.months import date_of

__all__ = ["firm_name", "product_name"]


def firm_name(params: Params, state: State, world: int, row: int) -> str:
    """Name of firm row ``row`` in world ``world``."""
    st = params.structure
    if row < st.scenario_firms:
        return st.firms[row]
    number = int(state.firm_entrant[world, row])
    if number < 0:
        return f"(free slot {row})"
    return entrant_name(number, st.regions[int(state.home[world, row])])


def product_name(params: Params, state: State, world: int, row: int) -> str:
    """Name of product row ``row`` in world ``world``.

    An entrant's line keeps its entrant's name even after an acquisition moves it to
    another owner (the entrant's firm row and line share one entry number).
    """
    st = params.structure
    if row < st.scenario_products:
        return st.products[row]
    number = int(state.product_entrant[world, row])
    origin = int(state.product_origin[world, row])
    if number < 0 and origin >= 0:  # an older generation's weights, released by its firm
        return (f"{product_name(params, state, world, origin)}-weights@"
                f"{date_of(int(state.launch[world, row]), st.start)}")
    if number < 0:
        return f"(free slot {row})"
    founder = np.flatnonzero(state.firm_entrant[world] == number)
    if founder.size == 0:  # cannot happen: an entry fills a firm row and a line together
        return firm_name(params, state, world, int(state.owner[world, row]))
    return firm_name(params, state, world, int(founder[0]))
