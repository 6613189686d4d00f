"""Writing a resolved scenario back to TOML (it loads back to an equal scenario).

Firms' product lines are nested ``[[vendors.products]]`` tables under their ``[[vendors]]``
item, as in a hand-written file; policies start with their ``kind``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tomli_w

from sim.scenario.overrides import scenario_data

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["dump_toml", "kind_first", "ORDER"]

ORDER = ("scenario", "world", "segments", "regions", "vendors", "harm", "contributors",
         "policies", "experiment")


def dump_toml(scenario: Scenario, header: str | None = None) -> str:
    """Return the resolved scenario as TOML text.

    Args:
        scenario: The scenario.
        header: Optional comment lines placed at the top (without ``#``).
    """
    data = scenario_data(scenario)
    data["scenario"].pop("extends", None)
    for firm in data.get("vendors", []):
        # tomli_w writes a firm's scalars before its sub-tables, so products come last anyway;
        # moving them last keeps the dict order the same as the text's
        firm["products"] = firm.pop("products")
    if "policies" in data:
        data["policies"] = [kind_first(policy) for policy in data["policies"]]
    ordered: dict[str, Any] = {key: data[key] for key in ORDER if key in data}
    text = tomli_w.dumps(ordered)
    if header:
        text = "".join(f"# {line}\n" for line in header.splitlines()) + "\n" + text
    return text


def kind_first(policy: dict[str, Any]) -> dict[str, Any]:
    """Return a policy dict with ``kind`` first (and so for a trigger's nested policy)."""
    out = {"kind": policy["kind"]} if "kind" in policy else {}
    for key, value in policy.items():
        if key != "kind":
            out[key] = kind_first(value) if key == "policy" and isinstance(value, dict) else value
    return out
