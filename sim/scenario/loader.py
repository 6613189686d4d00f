"""Reading scenario files: TOML, ``extends``, merging, and clear errors.

Every failure becomes one :class:`~sim.errors.ScenarioError`.

Inheritance rules (INTERFACES.md):

- tables merge recursively and the child wins; ``scenario.format_version`` is inherited like
  any other value, so a child of a format-2 scenario may omit it;
- ``regions``, ``segments`` and ``vendors`` merge item by item by ``name``, and so do a
  firm's ``products`` inside it (``[[vendors]]`` with ``name = "Meta"`` and a
  ``[[vendors.products]]`` named ``Llama`` changes only the fields it gives);
  ``remove = true`` drops an inherited item (a firm, product, region or segment) together
  with the parent's entries keyed by its name (shares, per-segment tables, ``regions`` lists);
- ``policies`` are appended; a child's ``[[policies]]`` item with only a ``label`` and
  ``remove = true`` drops the inherited policy with that label (an unknown label is an
  error, with a suggestion), so a counterfactual can take out one of the baseline's
  policies (``scenarios/no_ai_act.toml``) or replace it;
- cycles in ``extends`` are errors.

A version-1 file (``format_version = 1``, or ``openness``/``capability`` on a firm) is
refused with one line pointing at docs/migration-v2.md. While merging
(:mod:`sim.scenario.merge`) we remember which file set each value, so a schema error names
the file it came from (and which file removed an item a parent still refers to). Reading one
file safely is :mod:`sim.scenario.reading`; wording pydantic's errors is
:mod:`sim.scenario.problems`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sim.errors import Problem, ScenarioError, suggest
from sim.scenario.merge import check_root, check_shape, merge_top, record
from sim.scenario.problems import Origins
from sim.scenario.reading import MAX_FILE_BYTES, read_toml
from sim.scenario.schema import VERSION_1_MESSAGE, Scenario, detect_version_1
from sim.scenario.validate import validate_model

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


# --------------------------------------------------------------------------- resolving


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
    _refuse_version_1(data, name)
    check_shape(data, name)
    parent_ref = data.get("scenario", {}).get("extends")
    if parent_ref is None:
        data = check_root(data, name)
        origins: Origins = {}
        record(data, (), name, origins)
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
    merged = merge_top(parent.data, data, parent.origins, name)
    return _Resolved(merged, parent.origins, [*parent.files, name])


def _refuse_version_1(data: dict[str, Any], file: str | None) -> None:
    """Raise the migration message if one file (or a merged document) is version 1."""
    if detect_version_1(data) is None:
        return
    path = "scenario.format_version"
    for firm in data.get("vendors") or []:
        if isinstance(firm, dict):
            key = next((k for k in ("openness", "capability") if k in firm), None)
            if key is not None:
                path = f"vendors.{firm.get('name', '?')}.{key}"
                break
    raise ScenarioError(Problem(VERSION_1_MESSAGE, file=file, path=path))


# --------------------------------------------------------------------------- validation


def validate_data(data: dict[str, Any], origins: Origins | None = None,
                  file: str | None = None, quiet: bool = False) -> Scenario:
    """Validate a merged scenario dict, turning pydantic errors into a ScenarioError.

    Args:
        data: The merged TOML document.
        origins: Which file set each value (for error messages).
        file: File to name when ``origins`` does not know.
        quiet: Drop the scenario's warnings (its caller warned about it already).

    Raises:
        ScenarioError: Listing every problem found.
    """
    _refuse_version_1(data, file)
    return validate_model(Scenario, data, origins, file, quiet)


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
        >>> base.scenario.months, base.scenario.format_version
        (83, 2)
    """
    if isinstance(source, Scenario):
        return source
    path = find_scenario(source)
    resolved = _resolve(path)
    return _remember(validate_data(resolved.data, resolved.origins, str(path)), path)
