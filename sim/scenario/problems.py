"""Turning pydantic's validation errors into one clear Problem each, in TOML's terms.

Each problem names the dotted path (``vendors.Meta.products.Llama.capability``: named items
and products by name, policies by index), the file that set
the value (from the loader's origins) and what was expected, e.g.
``expected an integer, got true (a boolean)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.errors import Problem, suggest
from sim.scenario.base import PROBLEM_SEPARATOR
from sim.scenario.paths import Path_, describe_loc, keys_at
from sim.scenario.schema_policies import POLICY_KINDS

__all__ = ["problems_of", "REMOVED", "Origins"]

NAMED_ARRAYS = ("regions", "segments", "vendors")
APPENDED_ARRAYS = ("policies",)

Origins = dict[Path_, str]


def problems_of(exc: ValidationError, data: dict[str, Any], origins: Origins, model: Any,
                file: str | None) -> Iterator[Problem]:
    """Yield one Problem per distinct pydantic error of a merged scenario document.

    Args:
        exc: The validation error.
        data: The document validated (to name items and suggest keys).
        origins: Which file set each value, by raw path.
        model: The model validated against (the scenario class), to list valid keys.
        file: File to name when ``origins`` does not know.
    """
    seen: set[str] = set()
    for err in exc.errors(include_url=False):
        for problem in _problem(err, data, origins, file, model):
            key = str(problem)
            if key not in seen:
                seen.add(key)
                yield problem


def _problem(err: dict[str, Any], data: dict[str, Any], origins: Origins,
             file: str | None, model: Any) -> Iterator[Problem]:
    loc = tuple(err["loc"])
    path, raw = describe_loc(loc, data)
    source = _origin(raw, origins) or file
    kind = err["type"]
    message = str(err.get("msg", "invalid value"))
    if kind == "value_error" and PROBLEM_SEPARATOR in message:
        body = message.split("Value error, ", 1)[-1]
        parts = body.split(PROBLEM_SEPARATOR)
        for sub_path, sub_msg in zip(parts[0::2], parts[1::2], strict=False):
            sub_file = _origin(_raw_path(sub_path), origins) or source
            removed = _removed_by(sub_msg, origins)
            if removed and removed != sub_file:
                # a parent's reference to an item a child removed: the child's doing, and
                # only the child can mend it (a parent's policies cannot be removed)
                what = sub_msg.split()[1]
                where = f"set in {Path(sub_file).name}; " if sub_file else ""
                sub_msg += f" ({where}the {what} is removed with 'remove = true' in this file)"
                sub_file = removed
            yield Problem(sub_msg, file=sub_file, path=sub_path)
        return
    suggestion = None
    if kind == "extra_forbidden":
        key = str(loc[-1])
        valid = keys_at(loc[:-1], data, model)
        suggestion = suggest(key, valid)
        message = f"unknown key {key!r}"
        if not suggestion and valid:
            message += f"; expected one of: {', '.join(sorted(valid))}"
    elif kind == "missing" and loc == ("scenario", "format_version"):
        message = ("required field is missing: add format_version = 2 to [scenario] (a file "
                   "that extends another inherits it; version-1 files: docs/migration-v2.md)")
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tag = ctx.get("tag", "")
        # a trigger's nested policy accepts fewer kinds than the policies array
        allowed = re.findall(r"'([^']+)'", str(ctx.get("expected_tags", ""))) or list(
            POLICY_KINDS)
        if tag in POLICY_KINDS:
            message = (f"policy kind {tag!r} is not allowed here; expected one of: "
                       f"{', '.join(allowed)}")
        else:
            suggestion = suggest(str(tag), allowed)
            message = f"unknown policy kind {tag!r}; known kinds: {', '.join(allowed)}"
    elif kind == "union_tag_not_found":
        message = f"a policy needs a 'kind' (one of: {', '.join(POLICY_KINDS)})"
    elif kind in _EXPECTED:
        message = f"expected {_EXPECTED[kind]}, got {_describe(err.get('input'))}"
    elif kind == "too_short" and len(loc) == 1 and loc[0] in NAMED_ARRAYS:
        message = f"at least one {loc[0][:-1]} is required"
    elif kind == "too_short" and len(loc) == 3 and loc[0] == "vendors" and loc[2] == "products":
        message = "a firm needs at least one product line ([[vendors.products]])"
    else:
        message = message.removeprefix("Value error, ")
        if "input" in err and kind not in ("model_type", "dict_type", "list_type",
                                           "value_error", "assertion_error"):
            shown = repr(err["input"])
            if len(shown) <= 60:
                message += f", got {shown}"
    yield Problem(message, file=source, path=path or None, suggestion=suggestion)


#: pydantic's strict type errors, reworded in TOML's terms
_EXPECTED = {
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "text (in quotes)",
    "bool_type": "true or false",
    "dict_type": "a table",
    "model_type": "a table",
    "list_type": "an array",
}


def _describe(value: Any) -> str:
    """A value as TOML would write it, with what kind of value it is."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        shown, kind = str(value), "an integer"
    elif isinstance(value, float):
        shown, kind = repr(value), "a number"
    elif isinstance(value, str):
        shown, kind = repr(value), "text"
    elif isinstance(value, list):
        return "an array"
    elif isinstance(value, dict):
        return "a table"
    else:  # TOML dates and times
        shown, kind = str(value), f"a {type(value).__name__}"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{shown} ({kind})"


#: origins key prefix recording which file removed an inherited item: (REMOVED, array, name);
#: NUL-prefixed, so no valid scenario's own table path looks like it
REMOVED = "\x00removed"
_UNKNOWN_RE = re.compile(r"^unknown (region|segment|vendor|product) '([A-Za-z0-9_-]+)'")


def _removed_by(message: str, origins: Origins) -> str | None:
    """The file that removed the item an "unknown region 'X'" message is about, if one did."""
    match = _UNKNOWN_RE.match(message)
    if not match:
        return None
    return origins.get((REMOVED, f"{match.group(1)}s", match.group(2)))


def _raw_path(dotted: str) -> Path_:
    """Turn a dotted problem path into the loader's raw path (policies by integer index)."""
    parts: list[str | int] = []
    for part in dotted.split("."):
        if parts and parts[-1] in APPENDED_ARRAYS and part.isdigit():
            parts.append(int(part))
        else:
            parts.append(part)
    return tuple(parts)


def _origin(raw: Path_, origins: Origins) -> str | None:
    """The file to blame for a problem at ``raw``.

    The last file (children merge after parents) that set the value or anything inside it:
    a sum of shares a child made exceed 1 is the child's doing even though the parent
    created the table. Otherwise the nearest table above that a file set.
    """
    inside = [file for path, file in origins.items() if path[: len(raw)] == raw and file]
    if inside:
        return inside[-1]
    for cut in range(len(raw), -1, -1):
        hit = origins.get(raw[:cut])
        if hit:
            return hit
    return None
