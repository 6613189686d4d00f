"""Dotted paths into a scenario: ``vendors.Meta.products.Llama.openness``, ``world.rd_scale``.

One walker over the schema's type annotations serves three users: error
messages (turning pydantic's ``('vendors', 3, 'products', 0, 'price')`` into
``vendors.Meta.products.Llama.price``), did-you-mean suggestions (which keys were valid
here?) and overrides (which field does a path name, and what type is it?).

Named items (regions, segments, vendors, a firm's products) are addressed by name;
policies by index or by label. A path segment may be quoted (``"..."`` or ``'...'``) to hold
dots and spaces: ``policies."EU bans open weights".start``.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from sim.errors import Problem, ScenarioError, suggest

__all__ = ["Path_", "describe_loc", "keys_at", "Target", "locate", "split_path"]

Path_ = tuple[str | int, ...]

NAMED_ARRAYS = ("regions", "segments", "vendors")
PRODUCTS = "products"



def strip_annotation(annotation: Any) -> Any:
    """Remove Annotated and Optional wrappers."""
    while True:
        origin = get_origin(annotation)
        if origin is typing.Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _union_models(annotation: Any) -> list[type[BaseModel]]:
    annotation = strip_annotation(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [a for a in (strip_annotation(x) for x in get_args(annotation))
                if isinstance(a, type) and issubclass(a, BaseModel)]
    return []


def _model_for_kind(annotation: Any, kind: Any) -> type[BaseModel] | None:
    for model in _union_models(annotation):
        field = model.model_fields.get("kind")
        if field is not None and kind in get_args(field.annotation):
            return model
    return None


def is_text(annotation: Any) -> bool:
    """Whether a field holds text only (so override values stay strings)."""
    annotation = strip_annotation(annotation)
    if annotation is str:
        return True
    if get_origin(annotation) is Literal:
        return all(isinstance(a, str) for a in get_args(annotation))
    return False


def _child(annotation: Any, key: str | int, data: Any) -> tuple[Any, Any]:
    """Step one level into ``annotation`` (and ``data``) by ``key``."""
    annotation = strip_annotation(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(key))
        sub = data.get(key) if isinstance(data, dict) else None
        return (field.annotation if field else None), sub
    origin = get_origin(annotation)
    if origin in (list, dict):
        inner = get_args(annotation)[-1]
        sub = None
        if isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            sub = data[key]
        elif isinstance(data, dict):
            sub = data.get(key)
        models = _union_models(inner)
        if models and isinstance(sub, dict):
            return _model_for_kind(inner, sub.get("kind")), sub
        return inner, sub
    if _union_models(annotation) and isinstance(data, dict):
        return _model_for_kind(annotation, data.get("kind")), data
    return None, None


def describe_loc(loc: Path_, data: dict[str, Any]) -> tuple[str, Path_]:
    """Turn a pydantic error location into (dotted path with names, raw path).

    The raw path is how the loader records value origins: named items by name,
    policies by index.
    """
    from sim.scenario.schema_policies import POLICY_KINDS

    parts: list[str] = []
    raw: list[str | int] = []
    node: Any = data
    prev: str | int | None = None
    for i, key in enumerate(loc):
        if key == "[key]":  # pydantic's marker for an error in a mapping's key, not its value
            continue
        if isinstance(key, str) and key in POLICY_KINDS and isinstance(prev, int | str) and (
            (isinstance(prev, int) and i >= 2 and loc[i - 2] == "policies") or prev == "policy"
        ):
            prev = key
            continue  # discriminator tag inserted by pydantic
        if isinstance(key, int) and (
            (len(raw) == 1 and raw[0] in NAMED_ARRAYS)
            or (len(raw) == 3 and raw[0] == "vendors" and raw[2] == PRODUCTS)
        ):
            item = node[key] if isinstance(node, list) and key < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            label: str | int = name if isinstance(name, str) else key
            parts.append(str(label))
            raw.append(label)
            node = item
        else:
            parts.append(str(key))
            raw.append(key)
            if isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                node = node[key]
            else:
                node = None
        prev = key
    return ".".join(parts), tuple(raw)


def keys_at(loc: Path_, data: dict[str, Any], model: type[BaseModel]) -> list[str]:
    """Return the valid keys of the table at pydantic location ``loc``."""
    from sim.scenario.schema_policies import POLICY_KINDS

    annotation: Any = model
    node: Any = data
    for key in loc:
        if isinstance(key, str) and key in POLICY_KINDS and _union_models(
            strip_annotation(annotation)
        ):
            annotation = _model_for_kind(annotation, key)
            continue
        annotation, node = _child(annotation, key, node)
        if annotation is None:
            return []
    annotation = strip_annotation(annotation)
    if _union_models(annotation) and isinstance(node, dict):
        annotation = _model_for_kind(annotation, node.get("kind"))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [k for k in annotation.model_fields if k != "remove"]
    return []


def split_path(dotted: str) -> list[str]:
    """Split a dotted path into its parts; quoted parts may hold dots and spaces.

    Example:
        >>> split_path('policies."EU bans open weights".start')
        ['policies', 'EU bans open weights', 'start']

    Raises:
        ScenarioError: Empty parts, or an unterminated quote.
    """
    text = dotted.strip()
    parts: list[str] = []
    i, n = 0, len(text)
    while text:
        if i < n and text[i] in "\"'":
            quote = text[i]
            end = text.find(quote, i + 1)
            if end < 0:
                raise ScenarioError(Problem(f"invalid path {dotted!r}: unterminated {quote}",
                                            path=dotted))
            part, i = text[i + 1:end], end + 1
            if not part:
                raise _bad_path(dotted)
            if i < n and text[i] != ".":
                raise ScenarioError(Problem(f"invalid path {dotted!r}: expected '.' after "
                                            f"the quoted part {part!r}", path=dotted))
        else:
            end = text.find(".", i)
            end = n if end < 0 else end
            part, i = text[i:end], end
            if not part:
                raise _bad_path(dotted)
        parts.append(part)
        if i >= n:
            break
        i += 1  # the dot
        if i >= n:
            raise _bad_path(dotted)
    if not parts:
        raise _bad_path(dotted)
    return parts


def _bad_path(dotted: str) -> ScenarioError:
    return ScenarioError(Problem(f"invalid path {dotted!r}: expected dotted names like "
                                 "world.network_effect", path=dotted))


@dataclass
class Target:
    """Where an override lands: the container, its key and the field's annotation."""

    container: dict[str, Any]
    key: str
    annotation: Any


def locate(data: dict[str, Any], dotted: str, model: type[BaseModel]) -> Target:
    """Find the place in a scenario dict that ``dotted`` names.

    Named items (regions, segments, vendors, a firm's products) are addressed by name,
    policies by index or label; keys of mapping fields (``adopters.consumer``) are free.
    Missing intermediate tables are created.

    Raises:
        ScenarioError: Unknown key, name or index, with a suggestion.
    """
    parts = split_path(dotted)
    annotation: Any = model
    node: Any = data
    walked: list[str] = []
    i = 0
    while i < len(parts):
        part, last = parts[i], i == len(parts) - 1
        stripped = _table_arm(strip_annotation(annotation))
        if isinstance(stripped, type) and issubclass(stripped, BaseModel):
            fields = [k for k in stripped.model_fields if k != "remove"]
            if part not in fields:
                raise _unknown(dotted, walked, part, fields, "key")
            field_ann = stripped.model_fields[part].annotation
            if last:
                return Target(node, part, field_ann)
            walked.append(part)
            if get_origin(strip_annotation(field_ann)) is list:
                node, annotation = _item(node.get(part) or [], part, parts[i + 1],
                                         get_args(strip_annotation(field_ann))[0], dotted, walked)
                walked.append(parts[i + 1])
                i += 2
                if i == len(parts):
                    raise ScenarioError(Problem(
                        "path names a whole item; add a field, e.g. "
                        f"{dotted}.{_first_field(annotation)}", path=dotted))
                continue
            sub = node.get(part)
            if sub is None:
                sub = node[part] = {}
            if not isinstance(sub, dict):
                raise ScenarioError(Problem(f"{part} is a value, not a table", path=dotted))
            node = sub
            annotation = _model_for_kind(field_ann, sub.get("kind")) if _union_models(
                field_ann) else field_ann
        elif get_origin(stripped) is dict:
            inner = get_args(stripped)[1]
            if last:
                return Target(node, part, inner)
            node = node.setdefault(part, {})
            annotation = inner
            walked.append(part)
        else:
            raise ScenarioError(Problem(
                f"{'.'.join(walked)} is a value, not a table; cannot address {part!r} in it",
                path=dotted))
        i += 1
    raise ScenarioError(Problem("path names a table, not a value", path=dotted))


def _table_arm(annotation: Any) -> Any:
    """The table arm of a scalar-or-table union (``enforcement = 0.9`` or a per-segment table).

    A path that goes on into such a field addresses the table's keys.
    """
    if get_origin(annotation) in (Union, types.UnionType) and not _union_models(annotation):
        options = (strip_annotation(x) for x in get_args(annotation))
        tables = [a for a in options if get_origin(a) is dict]
        if len(tables) == 1:
            return tables[0]
    return annotation


def _item(items: list[Any], array: str, key: str, item_ann: Any, dotted: str,
          walked: list[str]) -> tuple[dict[str, Any], Any]:
    """Pick an item of an array of tables by name (named arrays) or index or label (policies)."""
    if array in NAMED_ARRAYS or array == PRODUCTS:
        names = [it.get("name") for it in items]
        if key not in names:
            raise _unknown(dotted, walked, key, names, array.rstrip("s"))
        item = items[names.index(key)]
    elif key.isdigit():
        if int(key) >= len(items):
            span = f"0..{len(items) - 1}" if items else "none: there are no items"
            raise ScenarioError(Problem(f"{array} are addressed by index ({span}) or label, "
                                        f"got {key!r}", path=dotted))
        item = items[int(key)]
    else:
        labels = [str(it.get("label")) for it in items if it.get("label")]
        if key not in labels:
            hint = suggest(key, labels)
            known = "; labels: " + ", ".join(repr(x) for x in labels) if labels and not hint \
                else ""
            raise ScenarioError(Problem(
                f"no policy labelled {key!r}{known} (or give an index 0..{len(items) - 1})"
                if items else f"no policy labelled {key!r}: there are no {array}",
                path=dotted, suggestion=hint))
        item = next(it for it in items if it.get("label") == key)
    model = _model_for_kind(item_ann, item.get("kind")) if _union_models(item_ann) else item_ann
    return item, model


def _first_field(annotation: Any) -> str:
    stripped = strip_annotation(annotation)
    if isinstance(stripped, type) and issubclass(stripped, BaseModel):
        names = [k for k in stripped.model_fields if k not in ("name", "remove", "kind")]
        return names[0] if names else "name"
    return "value"


def _unknown(dotted: str, walked: list[str], part: str, valid: list[Any], what: str
             ) -> ScenarioError:
    valid_text = [str(v) for v in valid if v is not None]
    hint = suggest(part, valid_text)
    where = ".".join(walked) or "the scenario"
    message = f"unknown {what} {part!r} in {where}"
    if not hint:
        message += f"; known: {', '.join(valid_text)}"
    return ScenarioError(Problem(message, path=dotted, suggestion=hint))
