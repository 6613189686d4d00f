"""Property tests: whatever the input, the loader returns a Scenario or raises ScenarioError."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
import warnings
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.errors import ScenarioError
from sim.scenario.schema import Scenario, ScenarioWarning

from .conftest import SCENARIOS

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

BASELINE: dict[str, Any] = tomllib.loads((SCENARIOS / "baseline.toml").read_text("utf-8"))

# keys that exist somewhere in the schema, so random documents get past "unknown key" often
SCHEMA_KEYS = sorted({
    key
    for model in (sim.Scenario, *[type(getattr(sim.load_scenario("baseline"), k))
                                  for k in ("scenario", "world", "contributors", "experiment")])
    for key in model.model_fields
} | {"name", "home", "openness", "capability", "kind", "region", "start", "end", "adopters",
     "aware", "adoption", "shares", "products", "size", "licence", "hosted_fraction",
     "self_hosted_fraction", "launch", "label", "vendor", "segments", "enforcement",
     "format_version", "extends", "remove", "policy", "metric", "above", "below", "vendors",
     "acquirer", "target", "usage_elasticity", "kappa_open", "kappa_closed",
     # version 1's keys: a version-1 document must also give one clear error
     "initial_shares", "price_elasticity", "segment_shares"})

keys = st.one_of(st.sampled_from(SCHEMA_KEYS), st.text(min_size=1, max_size=12))
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["baseline", "eu_blocks_open", "2026-01", "2026-13", "US", "EU", "Meta",
                     "open", "closed", "ban_open_weights", "trigger", "merger", "withhold",
                     "hhi", "hhi_market", "Llama", "GPT", "*", 1, 2]),
    st.dates(),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=5),
    ),
    max_leaves=20,
)
tables = st.dictionaries(keys, values, max_size=6)
documents = st.dictionaries(
    st.one_of(st.sampled_from(["scenario", "world", "segments", "regions", "vendors",
                               "contributors", "policies", "experiment"]), keys),
    st.one_of(tables, st.lists(tables, max_size=3), values),
    max_size=6,
)


def _same_type_arrays(value: Any) -> bool:
    """tomli_w cannot write some mixed arrays; skip those documents."""
    try:
        tomli_w.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def load_only_scenario_or_error(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        try:
            result = sim.load_scenario(path)
        except ScenarioError as exc:
            assert str(exc)  # renders
            assert exc.problems
            assert_one_printable_line_each(exc)
            return
    assert isinstance(result, Scenario)


def assert_one_printable_line_each(exc: ScenarioError) -> None:
    """Whatever a document holds, each problem prints as one line with nothing raw in it."""
    for problem in exc.problems:
        text = str(problem)
        assert text.isprintable(), text
    lines = str(exc).splitlines()
    assert len(lines) == 1 or len(lines) == min(len(exc.problems), exc.MAX_LISTED) + 1 + (
        len(exc.problems) > exc.MAX_LISTED)


@SETTINGS
@given(text=st.text(max_size=400))
def test_arbitrary_text(folder: Path, text: str) -> None:
    path = folder / "text.toml"
    path.write_text(text, encoding="utf-8")
    load_only_scenario_or_error(path)


@SETTINGS
@given(text=st.text(max_size=200))
def test_arbitrary_text_after_a_bom(folder: Path, text: str) -> None:
    path = folder / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass"))
    load_only_scenario_or_error(path)


@SETTINGS
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(folder: Path, data: bytes) -> None:
    path = folder / "bytes.toml"
    path.write_bytes(data)
    load_only_scenario_or_error(path)


@SETTINGS
@given(doc=documents.filter(_same_type_arrays), extends=st.sampled_from([None, "baseline"]))
def test_arbitrary_toml_documents(folder: Path, doc: dict[str, Any], extends: str | None) -> None:
    if extends and isinstance(doc.get("scenario"), dict):
        doc["scenario"] = {**doc["scenario"], "extends": extends}
    path = folder / "doc.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    load_only_scenario_or_error(path)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and list indices) into a nested document."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _parent_of(doc: Any, path: tuple) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


mutation = st.tuples(st.sampled_from(["delete", "replace", "insert"]), st.integers(0, 10**6),
                     values, keys)


@SETTINGS
@given(mutations=st.lists(mutation, min_size=1, max_size=4),
       as_child=st.booleans())
def test_mutated_baseline(folder: Path, mutations: list[tuple], as_child: bool) -> None:
    doc = copy.deepcopy(BASELINE)
    for action, pick, value, key in mutations:
        paths = _paths(doc)
        if not paths:
            break
        path = paths[pick % len(paths)]
        parent = _parent_of(doc, path)
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = value
        else:
            target = parent[path[-1]]
            if isinstance(target, dict):
                target[key] = value
            elif isinstance(target, list):
                target.append(value)
            else:
                parent[path[-1]] = value
    if as_child:
        scenario = doc.get("scenario")
        if isinstance(scenario, dict):
            scenario["extends"] = "baseline"
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError):
        return  # a mutation tomli_w cannot write (e.g. a mixed array)
    path = folder / "mutant.toml"
    path.write_text(text, encoding="utf-8")
    load_only_scenario_or_error(path)


override_paths = st.lists(
    st.one_of(st.sampled_from(["world", "vendors", "regions", "segments", "policies", "Meta",
                               "EU", "consumer", "adopters", "openness", "network_effect", "0",
                               "1", "9", "products", "Llama", "capability", "shares", "aware",
                               "adoption", "label", '"AI Act"', "initial_shares", "scenario",
                               "months", "start", "policy"]),
              st.text(max_size=8)),
    min_size=0, max_size=5,
).map(".".join)


@SETTINGS
@given(path=override_paths, value=st.one_of(values, st.text(max_size=20)))
def test_arbitrary_overrides(path: str, value: Any) -> None:
    base = sim.load_scenario("baseline")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        try:
            result = base.with_overrides({path: value})
        except ScenarioError as exc:
            assert str(exc)
            assert_one_printable_line_each(exc)
            return
    assert isinstance(result, Scenario)


def test_dates_are_rejected_cleanly(folder: Path) -> None:
    path = folder / "date.toml"
    path.write_text(tomli_w.dumps({"scenario": {"name": "x", "extends": "baseline",
                                                "start": dt.date(2026, 1, 1)}}))
    with pytest.raises(ScenarioError, match="scenario.start"):
        sim.load_scenario(path)
