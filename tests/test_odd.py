"""docs/ODD.md describes the whole model: the seven ODD sections and every schema parameter."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sim.scenario import schema as sch

ODD = Path(__file__).resolve().parent.parent / "docs" / "ODD.md"

SECTIONS = (
    r"1\.\s+Purpose and patterns",
    r"2\.\s+Entities, state variables,? and scales",
    r"3\.\s+Process overview and scheduling",
    r"4\.\s+Design concepts",
    r"5\.\s+Initiali[sz]ation",
    r"6\.\s+Input data",
    r"7\.\s+Submodels",
)

POLICY_MODELS = (sch.BanOpenWeights, sch.BanVendors, sch.ComplianceCost, sch.OpenSourceSubsidy,
                 sch.Interoperability, sch.Merger, sch.Trigger)


def _kind(model: type) -> str:
    return model.model_fields["kind"].annotation.__args__[0]


def _tables() -> list[tuple[str, type, set[str]]]:
    """(prefix in the ODD's parameter tables, schema model, fields to skip)."""
    base = set(sch.PolicyBase.model_fields)
    return [
        ("scenario.", sch.ScenarioMeta, set()),
        ("world.", sch.World, set()),
        ("segments.", sch.Segment, set()),
        ("regions.", sch.Region, set()),
        ("vendors.", sch.Vendor, set()),
        ("contributors.", sch.Contributors, set()),
        ("policies.", sch.PolicyBase, set()),
        *[(f"policies.{_kind(m)}.", m, base | {"kind"}) for m in POLICY_MODELS],
        ("experiment.", sch.Experiment, set()),
    ]


def _format_default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.is_required():
        return "required"
    else:
        value = field.default
    if value is None:
        return "omitted"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | dict) and not value:
        return "[]" if isinstance(value, list) else "{}"
    return str(value)


@pytest.fixture(scope="module")
def text() -> str:
    return ODD.read_text(encoding="utf-8")


@pytest.mark.parametrize("heading", SECTIONS)
def test_all_seven_odd_sections_exist(text, heading):
    assert re.search(rf"^##\s+{heading}\s*$", text, flags=re.MULTILINE | re.IGNORECASE), heading


def test_sections_are_in_order(text):
    found = [re.search(rf"^##\s+{h}", text, flags=re.MULTILINE | re.IGNORECASE).start()
             for h in SECTIONS]
    assert found == sorted(found)


def _all_field_names() -> set[str]:
    names: set[str] = set(sch.Scenario.model_fields)
    for model in (sch.ScenarioMeta, sch.World, sch.Segment, sch.Region, sch.Vendor,
                  sch.Contributors, sch.PolicyBase, *POLICY_MODELS, sch.Experiment):
        names |= set(model.model_fields)
    return names


def test_every_schema_field_is_named(text):
    missing = sorted(n for n in _all_field_names() if f"`{n}" not in text and f".{n}`" not in text)
    assert not missing, f"docs/ODD.md does not name: {missing}"


def test_every_policy_kind_is_described(text):
    for kind in sch.POLICY_KINDS:
        assert f"| `{kind}` |" in text, kind


def test_parameter_tables_give_every_field_with_the_schemas_default(text):
    problems = []
    for prefix, model, skip in _tables():
        for name, field in model.model_fields.items():
            if name in skip:
                continue
            row = re.search(rf"^\| `{re.escape(prefix + name)}` \| ([^|]*) \|", text,
                            flags=re.MULTILINE)
            if row is None:
                problems.append(f"no row for {prefix}{name}")
            elif row.group(1).strip() != _format_default(field):
                problems.append(f"{prefix}{name}: ODD says {row.group(1).strip()!r}, schema "
                                f"default is {_format_default(field)!r}")
    assert not problems, "\n".join(problems)


def test_every_parameter_row_has_a_source(text):
    rows = re.findall(r"^\| `((?:scenario|world|segments|regions|vendors|contributors|policies|"
                      r"experiment)\.[^`]+)` \|(.*)$", text, flags=re.MULTILINE)
    assert len(rows) > 100
    for name, rest in rows:
        cells = [c.strip() for c in rest.split("|")]
        assert cells[3], f"{name} has no source"
