"""Merging a scenario file onto its parent (``extends``), remembering where values came from.

Rules (INTERFACES.md; documented for users in :mod:`sim.scenario.loader`):

- tables merge recursively and the child wins;
- ``regions``, ``segments`` and ``vendors`` merge item by item by ``name``, and so do a firm's
  ``products`` inside it; ``remove = true`` drops an inherited item;
- ``policies`` are appended; a child's ``[[policies]]`` item with a ``label`` and
  ``remove = true`` (and nothing else) drops the inherited policy with that label.

While merging we record which file set each value (``Origins``, keyed by raw path: named
items by name, policies by index), so a schema error names the file it came from, and which
file removed an item a parent still refers to.
"""

from __future__ import annotations

import copy
from typing import Any

from sim.errors import Problem, ScenarioError, suggest
from sim.scenario.paths import Path_
from sim.scenario.problems import REMOVED, Origins

__all__ = ["NAMED_ARRAYS", "APPENDED_ARRAYS", "check_shape", "check_root", "record",
           "merge_top"]

NAMED_ARRAYS = ("regions", "segments", "vendors")
APPENDED_ARRAYS = ("policies",)
#: Per-segment tables of a region, emptied of a removed segment's entry.
_REGION_SEGMENT_TABLES = ("adopters", "adopters_growth_per_year", "aware", "adoption", "shares")


def _named_items(items: list[Any], file: str, where: str) -> None:
    """Check an array of named tables: each a table with a text ``name``, names unique."""
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ScenarioError(Problem("each item must be a table", file=file,
                                        path=f"{where}.{i}"))
        if not isinstance(item.get("name"), str):
            raise ScenarioError(Problem("each item needs a 'name' (text)", file=file,
                                        path=f"{where}.{i}.name"))
    # Checked here, not only by the schema: merging by name would otherwise silently fold a
    # file's second item of a name into its first.
    names = [item["name"] for item in items]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        what = where.rsplit(".", 1)[-1][:-1]
        raise ScenarioError([
            Problem(f"duplicate name {name!r}: {what} names must be unique in a file",
                    file=file, path=f"{where}.{name}") for name in duplicates])


def check_shape(data: dict[str, Any], file: str) -> None:
    """Check what merging relies on: top-level tables, named items, products, policies."""
    for key in (*NAMED_ARRAYS, *APPENDED_ARRAYS):
        if key in data and not isinstance(data[key], list):
            raise ScenarioError(Problem(
                f"must be an array of tables ([[{key}]]), got {type(data[key]).__name__}",
                file=file, path=key))
    for key in NAMED_ARRAYS:
        _named_items(data.get(key, []), file, key)
    for firm in data.get("vendors", []):
        products = firm.get("products")
        where = f"vendors.{firm['name']}.products"
        if products is None:
            continue
        if not isinstance(products, list):
            raise ScenarioError(Problem("must be an array of tables ([[vendors.products]]), "
                                        f"got {type(products).__name__}", file=file,
                                        path=where))
        _named_items(products, file, where)
    for i, policy in enumerate(data.get("policies", [])):
        if not isinstance(policy, dict):
            raise ScenarioError(Problem("each policy must be a table", file=file,
                                        path=f"policies.{i}"))
        if "remove" in policy and not isinstance(policy["remove"], bool):
            raise ScenarioError(Problem("expected true or false", file=file,
                                        path=f"policies.{i}.remove"))
    scenario = data.get("scenario")
    if scenario is not None and not isinstance(scenario, dict):
        raise ScenarioError(Problem("must be a table ([scenario])", file=file, path="scenario"))


def check_root(data: dict[str, Any], file: str) -> dict[str, Any]:
    """A file that extends nothing: refuse ``remove = true``; drop ``remove = false``."""
    message = "'remove = true' drops an inherited item, but this file extends nothing"
    for key in NAMED_ARRAYS:
        for item in data.get(key, []):
            if item.get("remove") is True:
                raise ScenarioError(Problem(message, file=file,
                                            path=f"{key}.{item['name']}.remove"))
    for firm in data.get("vendors", []):
        for product in firm.get("products") or []:
            if product.get("remove") is True:
                raise ScenarioError(Problem(message, file=file, path=(
                    f"vendors.{firm['name']}.products.{product['name']}.remove")))
    return _strip_policy_flags(data, file, None)


def record(value: Any, path: Path_, file: str, origins: Origins) -> None:
    """Record ``file`` as the origin of ``value`` at ``path`` and of everything under it.

    A re-recorded path moves to the end, so origins stay in the order files last set them.
    """
    origins.pop(path, None)
    origins[path] = file
    if isinstance(value, dict):
        for key, sub in value.items():
            record(sub, (*path, key), file, origins)
    elif isinstance(value, list) and _is_named_array(path):
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                record(item, (*path, item["name"]), file, origins)
    elif isinstance(value, list) and path == ("policies",):
        for i, item in enumerate(value):
            record(item, (*path, i), file, origins)


def _is_named_array(path: Path_) -> bool:
    return (len(path) == 1 and path[0] in NAMED_ARRAYS) or (
        len(path) == 3 and path[0] == "vendors" and path[2] == "products")


def merge_top(parent: dict[str, Any], child: dict[str, Any], origins: Origins,
              file: str) -> dict[str, Any]:
    """Merge a child document onto its (already merged) parent; update ``origins``."""
    inherited = parent.get("policies", [])
    parent = _without_removed(parent, child, origins, file)
    merged = dict(parent)
    for key, value in child.items():
        if key in NAMED_ARRAYS:
            merged[key] = _merge_named(parent.get(key, []), value, (key,), origins, file)
            if any(item.get("remove") is True for item in value):
                # which items there are is now this file's doing, so an error about the
                # array as a whole (none left) names this file, not the parent
                origins[(key,)] = file
                if not merged[key]:
                    raise ScenarioError(Problem(
                        f"removes every inherited {key[:-1]} and adds none; a scenario "
                        f"needs at least one {key[:-1]}", file=file, path=key))
        elif key in APPENDED_ARRAYS:
            kept = parent.get(key, [])
            added = _strip_policy_flags(child, file, inherited)[key]
            merged[key] = [*kept, *added]
            for i, item in enumerate(added):
                record(item, (key, len(kept) + i), file, origins)
        else:
            merged[key] = _merge_value(parent.get(key), value, (key,), origins, file)
    scenario = dict(merged.get("scenario", {}))
    scenario.pop("extends", None)
    merged["scenario"] = scenario
    return merged


# --------------------------------------------------------------------------- removal


def _strip_policy_flags(data: dict[str, Any], file: str,
                        inherited: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Return ``data`` without its policy removals, checked against the ``inherited`` policies.

    ``inherited`` is None for a file that extends nothing. ``remove = false`` is dropped too.
    """
    policies = data.get("policies")
    if not policies:
        return data
    labels = [p["label"] for p in inherited or [] if isinstance(p.get("label"), str)]
    kept = []
    for i, policy in enumerate(policies):
        if policy.get("remove") is not True:
            kept.append({k: v for k, v in policy.items() if k != "remove"})
            continue
        where = f"policies.{i}"
        if inherited is None:
            raise ScenarioError(Problem("'remove = true' drops an inherited policy, but this "
                                        "file extends nothing", file=file,
                                        path=f"{where}.remove"))
        label = policy.get("label")
        if not isinstance(label, str) or not label:
            raise ScenarioError(Problem("a policy removal needs the 'label' of the inherited "
                                        "policy it drops", file=file, path=f"{where}.label"))
        extra = sorted(set(policy) - {"label", "remove"})
        if extra:
            raise ScenarioError(Problem(
                f"a policy removal has only 'label' and 'remove'; remove {', '.join(extra)} "
                "(add a new [[policies]] item for a replacement)", file=file, path=where))
        if label not in labels:
            raise ScenarioError(Problem(
                f"cannot remove policy {label!r}: the parent has no policy with that label",
                file=file, path=f"{where}.label", suggestion=suggest(label, labels)))
    return {**data, "policies": kept}


def _removed_labels(child: dict[str, Any]) -> set[str]:
    return {p["label"] for p in child.get("policies", [])
            if isinstance(p, dict) and p.get("remove") is True
            and isinstance(p.get("label"), str)}


def _without_removed(parent: dict[str, Any], child: dict[str, Any], origins: Origins,
                     file: str) -> dict[str, Any]:
    """Drop the parent's entries keyed by the names of items the child removes.

    Removing an inherited firm or product also drops its entries in regions' ``shares``;
    removing a segment drops its entries in regions' per-segment tables; removing a region
    drops it from firms' and products' ``regions`` lists; removing a policy by label drops it
    (and renumbers the origins of later policies). Otherwise ``remove = true`` could never be
    used on an item the parent refers to, since merging cannot delete a key. Policies that
    name a removed item are kept, so they become errors to fix.
    """
    gone = {key: {item["name"] for item in child.get(key, [])
                  if isinstance(item, dict) and item.get("remove") is True}
            for key in NAMED_ARRAYS}
    products = _removed_products(parent, child, gone["vendors"])
    labels = _removed_labels(child)
    if not (any(gone.values()) or products or labels):
        return parent
    parent = copy.deepcopy(parent)
    for name in products:
        origins[(REMOVED, "products", name)] = file

    def drop(table: Any, names: set[str]) -> None:
        if isinstance(table, dict):
            for name in names & set(table):
                del table[name]

    for region in parent.get("regions", []):
        for key in _REGION_SEGMENT_TABLES:
            drop(region.get(key), gone["segments"])
        shares = region.get("shares")
        if isinstance(shares, dict):
            for cell in shares.values():
                drop(cell, products)
    for firm in parent.get("vendors", []):
        for item in (firm, *(firm.get("products") or [])):
            if isinstance(item, dict) and isinstance(item.get("regions"), list):
                item["regions"] = [r for r in item["regions"] if r not in gone["regions"]]
    if labels:
        parent["policies"] = _drop_policies(parent.get("policies", []), labels, origins)
    return parent


def _removed_products(parent: dict[str, Any], child: dict[str, Any], firms: set[str]
                      ) -> set[str]:
    """Products the child removes: named with ``remove = true``, or of a removed firm."""
    out: set[str] = set()
    for firm in parent.get("vendors", []):
        if firm.get("name") in firms:
            out.update(p["name"] for p in firm.get("products") or [] if isinstance(p, dict))
    for firm in child.get("vendors", []):
        for product in firm.get("products") or []:
            if product.get("remove") is True:
                out.add(product["name"])
    return out


def _drop_policies(policies: list[dict[str, Any]], labels: set[str], origins: Origins
                   ) -> list[dict[str, Any]]:
    """The policies whose label is not in ``labels``; origins renumbered to match."""
    keep = [i for i, p in enumerate(policies) if p.get("label") not in labels]
    moved = {old: new for new, old in enumerate(keep)}
    entries = [(k, v) for k, v in origins.items()
               if len(k) >= 2 and k[0] == "policies" and isinstance(k[1], int)]
    for key, _ in entries:
        del origins[key]
    for key, value in entries:
        if key[1] in moved:
            origins[("policies", moved[key[1]], *key[2:])] = value
    return [policies[i] for i in keep]


# --------------------------------------------------------------------------- merging


def _merge_value(old: Any, new: Any, path: Path_, origins: Origins, file: str) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for key, value in new.items():
            sub = (*path, key)
            if _is_named_array(sub) and isinstance(value, list) and isinstance(old.get(key),
                                                                               list):
                out[key] = _merge_named(old[key], value, sub, origins, file)
            else:
                out[key] = _merge_value(old.get(key), value, sub, origins, file)
        origins.setdefault(path, file)
        return out
    record(new, path, file, origins)
    return new


def _merge_named(old: list[dict[str, Any]], new: list[dict[str, Any]], path: Path_,
                 origins: Origins, file: str) -> list[dict[str, Any]]:
    items = {item["name"]: item for item in old}
    order = [item["name"] for item in old]
    where = ".".join(str(p) for p in path)
    for item in new:
        name = item["name"]
        if item.get("remove") is True:
            if name not in items:
                raise ScenarioError(Problem(
                    f"cannot remove {name!r}: the parent has no such item",
                    file=file, path=f"{where}.{name}.remove",
                    suggestion=suggest(name, order)))
            del items[name]
            order.remove(name)
            origins[(REMOVED, path[-1], name)] = file
            continue
        if name in items:
            items[name] = _merge_value(items[name], item, (*path, name), origins, file)
        else:
            if any(p.get("remove") is True for p in item.get("products") or []
                   if isinstance(p, dict)):
                product = next(p for p in item["products"] if p.get("remove") is True)
                raise ScenarioError(Problem(
                    f"cannot remove {product['name']!r}: the parent has no firm {name!r}",
                    file=file, path=f"{where}.{name}.products.{product['name']}.remove",
                    suggestion=suggest(name, order)))
            items[name] = item
            order.append(name)
            record(item, (*path, name), file, origins)
    if any(item.get("remove") is True for item in new):
        # which items there are is now this file's doing (an empty firm names this file)
        origins.pop(path, None)
        origins[path] = file
    return [items[name] for name in order]
