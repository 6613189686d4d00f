"""What a scenario changes from its parent, as dotted paths (``marketsim show``, reports).

Named items (regions, segments, firms and a firm's products) are matched by name, policies
by label when every policy is uniquely labelled, so the paths printed are the ones
``--set`` and ``Scenario.with_overrides`` accept.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["diff_data", "format_changes", "NAMED_ARRAYS", "inline_toml", "shorten"]


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def inline_toml(value: Any) -> str:
    """Format a value as an inline TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(inline_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k)} = {inline_toml(v)}" for k, v in value.items())
        return "{" + items + "}" if items else "{}"
    return json.dumps(str(value))


def _key(key: Any) -> str:
    key = str(key)
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def shorten(text: str, limit: int = 100) -> str:
    """``text`` cut to ``limit`` characters, ending in ``...`` when cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


NAMED_ARRAYS = ("regions", "segments", "vendors")


def diff_data(old: Any, new: Any, path: tuple[str, ...] = ()) -> list[tuple[str, str, Any, Any]]:
    """List the differences between two scenario dicts, as dotted paths.

    Named items (regions, segments, vendors and a firm's products) are matched by name;
    policies by label when every policy of both has a distinct label, else by index. So the
    paths are the ones ``--set`` and ``with_overrides`` accept.

    Args:
        old: The parent's data (``scenario_data(parent)``).
        new: The child's data.
        path: Prefix of the paths (used when recursing).

    Returns:
        ``(op, dotted_path, old_value, new_value)`` tuples, op being ``+`` (added),
        ``-`` (removed) or ``~`` (changed); missing values are None.
    """
    dotted = ".".join(path)
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[tuple[str, str, Any, Any]] = []
        for key in [*new, *(k for k in old if k not in new)]:
            sub = (*path, str(key))
            named = (len(path) == 0 and key in NAMED_ARRAYS) or (
                len(path) == 2 and path[0] == "vendors" and key == "products")
            if key not in old:
                changes.append(("+", ".".join(sub), None, new[key]))
            elif key not in new:
                changes.append(("-", ".".join(sub), old[key], None))
            elif named and _named_list(old[key]) and _named_list(new[key]):
                changes.extend(diff_data(_by_name(old[key]), _by_name(new[key]), sub))
            elif len(path) == 0 and key == "policies" and isinstance(old[key], list) and \
                    isinstance(new[key], list):
                changes.extend(diff_data(_by_label(old[key], new[key]),
                                         _by_label(new[key], old[key]), sub))
            else:
                changes.extend(diff_data(old[key], new[key], sub))
        return changes
    if old == new and type(old) is type(new):
        return []
    return [("~", dotted, old, new)]


def _named_list(items: Any) -> bool:
    return isinstance(items, list) and all(isinstance(i, dict) and "name" in i for i in items)


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(item["name"]): item for item in items}


def _by_label(items: list[Any], other: list[Any]) -> dict[Any, Any]:
    """Policies keyed by label (quoted when needed) if both lists are uniquely labelled."""
    labels = [p.get("label") if isinstance(p, dict) else None for p in (*items, *other)]
    own = labels[:len(items)]
    rest = labels[len(items):]
    if all(labels) and len(set(own)) == len(own) and len(set(rest)) == len(rest):
        return {_key(label): policy for label, policy in zip(own, items, strict=True)}
    return dict(enumerate(items))


def format_changes(changes: list[tuple[str, str, Any, Any]]) -> list[str]:
    """Format :func:`diff_data` output as lines (``+ path = value``, ``~ path = new (was old)``)."""
    from sim.scenario.dump import kind_first

    lines = []
    for op, path, old, new in changes:
        if op == "+":
            if isinstance(new, dict):
                new = kind_first(new)
            lines.append(f"+ {path} = {shorten(inline_toml(new), 200)}")
        elif op == "-":
            lines.append(f"- {path}")
        else:
            was = shorten(inline_toml(old), 40)
            lines.append(f"~ {path} = {shorten(inline_toml(new), 70)} (was {was})")
    return lines
