"""Reading scenario files: TOML, ``extends``, merging, and clear errors.

Every failure becomes one :class:`~sim.errors.ScenarioError`.

Inheritance rules (INTERFACES.md): tables merge recursively and the child wins;
``regions``, ``segments`` and ``vendors`` merge item by item by ``name``
(``remove = true`` drops an inherited item); ``policies`` are appended; cycles
in ``extends`` are errors. While merging we remember which file set each value,
so a schema error names the file it came from (and which file removed an item a
parent still refers to). Reading one file safely is :mod:`sim.scenario.reading`;
wording pydantic's errors is :mod:`sim.scenario.problems`.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.errors import Problem, ScenarioError, suggest
from sim.scenario.paths import Path_
from sim.scenario.problems import REMOVED, Origins, problems_of
from sim.scenario.reading import MAX_FILE_BYTES, read_toml
from sim.scenario.schema import Scenario

__all__ = [
    "load_scenario",
    "load_with_parent",
    "shipped_scenarios",
    "shipped_dir",
    "find_scenario",
    "validate_data",
    "read_toml",
    "source_id",
    "MAX_FILE_BYTES",
]

#: Shipped name or file stem of scenarios as loaded, by object id (not part of equality).
_SOURCE_IDS: dict[int, str] = {}


def source_id(scenario: Scenario) -> str | None:
    """The shipped name or file stem a scenario was loaded from, if it was loaded from one."""
    return _SOURCE_IDS.get(id(scenario))


def _remember(scenario: Scenario, path: Path) -> Scenario:
    import weakref

    key = id(scenario)
    _SOURCE_IDS[key] = path.stem
    weakref.finalize(scenario, _SOURCE_IDS.pop, key, None)
    return scenario

NAMED_ARRAYS = ("regions", "segments", "vendors")
APPENDED_ARRAYS = ("policies",)
MAX_EXTENDS_DEPTH = 32



def shipped_dir() -> Path:
    """Return the folder of shipped scenarios.

    In a wheel they are package data (``sim/scenarios``); in a source checkout
    (editable install) they are the repository's top-level ``scenarios/``.
    """
    packaged = Path(str(resources.files("sim"))) / "scenarios"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "scenarios"


def shipped_scenarios() -> dict[str, Path]:
    """Return ``{name: path}`` of shipped scenarios, sorted by name.

    They are found through the package, so this works from any working directory.

    Example:
        >>> import sim
        >>> names = sim.shipped_scenarios()
        >>> "baseline" in names, names["eu_blocks_open"].suffix
        (True, '.toml')
    """
    folder = shipped_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def find_scenario(source: str | Path, relative_to: Path | None = None) -> Path:
    """Resolve a scenario reference to a file.

    Args:
        source: A shipped scenario's name (``"baseline"``) or a path.
        relative_to: Folder a relative path is taken from (the extending file's folder).

    Raises:
        ScenarioError: If no such file or shipped scenario exists.
    """
    text = str(source)
    if not text.strip():
        raise ScenarioError("empty scenario name: give a shipped scenario's name or a file")
    candidates: list[Path] = []
    path = Path(text)
    if relative_to is not None and not path.is_absolute():
        candidates.append(relative_to / path)
    candidates.append(path)
    special: Path | None = None  # exists, but is a folder, a pipe or a device
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
        if ("/" in text or "\\" in text) and candidate.name and candidate.suffix != ".toml" \
                and candidate.with_suffix(".toml").is_file():
            return candidate.with_suffix(".toml").resolve()
        if special is None and _exists(candidate):
            special = candidate
    shipped = shipped_scenarios()
    if text in shipped:
        return shipped[text]
    if text.endswith(".toml") and Path(text).stem in shipped and not Path(text).parent.parts:
        return shipped[Path(text).stem]
    if special is not None:
        return special  # read_toml says what it is, in one line
    hint = suggest(Path(text).stem, list(shipped))
    raise ScenarioError(Problem(
        f"no scenario file or shipped scenario named {text!r}"
        + (f"; shipped scenarios: {', '.join(shipped)}" if shipped and not hint else ""),
        suggestion=hint,
    ))


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long, or not allowed to look
        return False


# --------------------------------------------------------------------------- merging


@dataclass
class _Resolved:
    data: dict[str, Any]
    origins: Origins = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def _resolve(path: Path, chain: tuple[Path, ...] = ()) -> _Resolved:
    """Read ``path`` and everything it extends, merged, with value origins."""
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(Problem(f"extends cycle: {cycle}", file=str(chain[-1]),
                                    path="scenario.extends"))
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(Problem(f"extends chain deeper than {MAX_EXTENDS_DEPTH}",
                                    file=str(path)))
    data = read_toml(path)
    name = str(path)
    _check_shape(data, name)
    parent_ref = data.get("scenario", {}).get("extends")
    if parent_ref is None:
        for key in NAMED_ARRAYS:
            for item in data.get(key, []):
                if item.get("remove") is True:
                    raise ScenarioError(Problem(
                        "'remove = true' drops an inherited item, but this file extends "
                        "nothing", file=name, path=f"{key}.{item['name']}.remove"))
        origins: Origins = {}
        _record(data, (), name, origins)
        return _Resolved(data, origins, [name])
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        raise ScenarioError(Problem("must be a scenario name or a relative path (text)",
                                    file=name, path="scenario.extends"))
    try:
        parent_path = find_scenario(parent_ref, relative_to=path.parent)
    except ScenarioError as exc:
        raise ScenarioError(Problem(
            f"extends {parent_ref!r}, which does not exist",
            file=name, path="scenario.extends", suggestion=exc.problems[0].suggestion,
        )) from None
    if not parent_path.is_file():
        raise ScenarioError(Problem(
            f"extends {parent_ref!r}, which is not a scenario file (a folder, pipe or device)",
            file=name, path="scenario.extends"))
    parent = _resolve(parent_path, (*chain, path))
    merged = _merge_top(parent.data, data, parent.origins, name)
    return _Resolved(merged, parent.origins, [*parent.files, name])


def _check_shape(data: dict[str, Any], file: str) -> None:
    """Check what merging relies on: top-level tables and named items."""
    for key in (*NAMED_ARRAYS, *APPENDED_ARRAYS):
        if key in data and not isinstance(data[key], list):
            raise ScenarioError(Problem(
                f"must be an array of tables ([[{key}]]), got {type(data[key]).__name__}",
                file=file, path=key))
    for key in NAMED_ARRAYS:
        for i, item in enumerate(data.get(key, [])):
            if not isinstance(item, dict):
                raise ScenarioError(Problem("each item must be a table", file=file,
                                            path=f"{key}.{i}"))
            if not isinstance(item.get("name"), str):
                raise ScenarioError(Problem("each item needs a 'name' (text)", file=file,
                                            path=f"{key}.{i}.name"))
        # Checked here, not only by the schema: merging by name would otherwise
        # silently fold a file's second item of a name into its first.
        names = [item["name"] for item in data.get(key, [])]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ScenarioError([
                Problem(f"duplicate name {name!r}: {key[:-1]} names must be unique in a file",
                        file=file, path=f"{key}.{name}")
                for name in duplicates])
    scenario = data.get("scenario")
    if scenario is not None and not isinstance(scenario, dict):
        raise ScenarioError(Problem("must be a table ([scenario])", file=file, path="scenario"))


def _record(value: Any, path: Path_, file: str, origins: Origins) -> None:
    origins[path] = file
    if isinstance(value, dict):
        for key, sub in value.items():
            _record(sub, (*path, key), file, origins)


def _merge_top(parent: dict[str, Any], child: dict[str, Any], origins: Origins,
               file: str) -> dict[str, Any]:
    parent = _without_removed(parent, child)
    merged = dict(parent)
    for key, value in child.items():
        if key in NAMED_ARRAYS:
            merged[key] = _merge_named(parent.get(key, []), value, key, origins, file)
            if any(item.get("remove") is True for item in value):
                # which items there are is now this file's doing, so an error about the
                # array as a whole (none left) names this file, not the parent
                origins[(key,)] = file
                if not merged[key]:
                    raise ScenarioError(Problem(
                        f"removes every inherited {key[:-1]} and adds none; a scenario "
                        f"needs at least one {key[:-1]}", file=file, path=key))
        elif key in APPENDED_ARRAYS:
            start = len(parent.get(key, []))
            merged[key] = [*parent.get(key, []), *value]
            for i, item in enumerate(value):
                _record(item, (key, start + i), file, origins)
        else:
            merged[key] = _merge_value(parent.get(key), value, (key,), origins, file)
    scenario = dict(merged.get("scenario", {}))
    scenario.pop("extends", None)
    merged["scenario"] = scenario
    return merged


def _without_removed(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Drop the parent's entries keyed by the names of items the child removes.

    Removing an inherited vendor also drops its inherited ``initial_shares`` and
    ``segment_shares`` entries; removing a segment drops its ``adopters``,
    ``initial_adoption`` and ``segment_shares`` entries; removing a region drops
    it from vendors' ``regions`` lists. Otherwise ``remove = true`` could never be
    used on an item the parent refers to, since merging cannot delete a key.
    """
    gone = {key: {item["name"] for item in child.get(key, [])
                  if isinstance(item, dict) and item.get("remove") is True}
            for key in NAMED_ARRAYS}
    if not any(gone.values()):
        return parent
    parent = copy.deepcopy(parent)

    def drop(table: Any, names: set[str]) -> None:
        if isinstance(table, dict):
            for name in names & set(table):
                del table[name]

    for region in parent.get("regions", []):
        drop(region.get("initial_shares"), gone["vendors"])
        drop(region.get("adopters"), gone["segments"])
        drop(region.get("initial_adoption"), gone["segments"])
        per_segment = region.get("segment_shares")
        drop(per_segment, gone["segments"])
        if isinstance(per_segment, dict):
            for shares in per_segment.values():
                drop(shares, gone["vendors"])
    for vendor in parent.get("vendors", []):
        if isinstance(vendor.get("regions"), list):
            vendor["regions"] = [r for r in vendor["regions"] if r not in gone["regions"]]
    return parent


def _merge_value(old: Any, new: Any, path: Path_, origins: Origins, file: str) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for key, value in new.items():
            out[key] = _merge_value(old.get(key), value, (*path, key), origins, file)
        origins.setdefault(path, file)
        return out
    _record(new, path, file, origins)
    return new


def _merge_named(old: list[dict[str, Any]], new: list[dict[str, Any]], key: str,
                 origins: Origins, file: str) -> list[dict[str, Any]]:
    items = {item["name"]: item for item in old}
    order = [item["name"] for item in old]
    for item in new:
        name = item["name"]
        if item.get("remove") is True:
            if name not in items:
                raise ScenarioError(Problem(
                    f"cannot remove {name!r}: the parent has no such item",
                    file=file, path=f"{key}.{name}.remove",
                    suggestion=suggest(name, order)))
            del items[name]
            order.remove(name)
            origins[(REMOVED, key, name)] = file
            continue
        if name in items:
            items[name] = _merge_value(items[name], item, (key, name), origins, file)
        else:
            items[name] = item
            order.append(name)
            _record(item, (key, name), file, origins)
    return [items[name] for name in order]


# --------------------------------------------------------------------------- validation


def validate_data(data: dict[str, Any], origins: Origins | None = None,
                  file: str | None = None) -> Scenario:
    """Validate a merged scenario dict, turning pydantic errors into a ScenarioError.

    Args:
        data: The merged TOML document.
        origins: Which file set each value (for error messages).
        file: File to name when ``origins`` does not know.

    Raises:
        ScenarioError: Listing every problem found.
    """
    origins = origins or {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(list(problems_of(exc, data, origins, file))) from None
    except RecursionError:
        raise ScenarioError(Problem("document nested too deeply", file=file)) from None


# --------------------------------------------------------------------------- public entry points


def load_with_parent(source: str | Path) -> tuple[Scenario, Scenario | None]:
    """Load a scenario and, if it extends one, its resolved parent.

    Args:
        source: A shipped scenario's name or a path.

    Returns:
        ``(scenario, parent)``; ``parent`` is None when nothing is extended.

    Raises:
        ScenarioError: For any problem in the file or its parents.
    """
    path = find_scenario(source)
    resolved = _resolve(path)
    scenario = validate_data(resolved.data, resolved.origins, str(path))
    parent = None
    if len(resolved.files) > 1:
        raw = read_toml(path)
        parent_ref = raw["scenario"]["extends"]
        parent = load_scenario(find_scenario(parent_ref, relative_to=path.parent))
    return scenario, parent


def load_scenario(source: str | Path | Scenario) -> Scenario:
    """Load a scenario by shipped name or path, resolving ``extends``.

    Args:
        source: ``"baseline"``, ``"eu_blocks_open"``, a path to a ``.toml`` file, or an
            already loaded Scenario (returned as is).

    Returns:
        The validated, fully resolved Scenario.

    Raises:
        ScenarioError: With the file, line/column or dotted path and a suggestion.

    Example:
        >>> import sim
        >>> base = sim.load_scenario("baseline")
        >>> base.scenario.months
        60
    """
    if isinstance(source, Scenario):
        return source
    path = find_scenario(source)
    resolved = _resolve(path)
    return _remember(validate_data(resolved.data, resolved.origins, str(path)), path)
