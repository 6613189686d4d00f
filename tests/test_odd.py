"""docs/ODD.md describes the version-2 model: the seven ODD sections, every phase of
``Engine.step`` in its order, every mechanism module, every policy kind and every metric.

The checks read the code (the schedule's source, the mechanisms folder, the schema's policy
kinds, the metric list), so adding a phase, a mechanism, a policy or a metric without
describing it fails here.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path

import pytest

from sim.engine import engine as engine_module
from sim.engine.metrics import METRICS
from sim.scenario import schema as sch

ROOT = Path(__file__).resolve().parent.parent
ODD = ROOT / "docs" / "ODD.md"

SECTIONS = (
    r"1\.\s+Purpose and patterns",
    r"2\.\s+Entities, state variables,? and scales",
    r"3\.\s+Process overview and scheduling",
    r"4\.\s+Design concepts",
    r"5\.\s+Initiali[sz]ation",
    r"6\.\s+Input data",
    r"7\.\s+Submodels",
)


@pytest.fixture(scope="module")
def text() -> str:
    return ODD.read_text(encoding="utf-8")


def _section(text: str, number: int) -> str:
    start = re.search(rf"^##\s+{number}\.", text, flags=re.MULTILINE).start()
    following = re.search(rf"^##\s+{number + 1}\.", text[start:], flags=re.MULTILINE)
    return text[start:start + following.start()] if following else text[start:]


def _step_calls() -> list[str]:
    """The calls ``Engine.step`` makes, in source order: ``module.function`` or ``Engine._x``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(engine_module.Engine.step)))
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(
                node.func.value, ast.Name | ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr
            if name == "np" or node.func.attr[:1].isupper():  # numpy; records built for a call
                continue
            label = f"Engine.{node.func.attr}" if name == "self" else f"{name}.{node.func.attr}"
            calls.append((node.lineno, node.col_offset, label))
    ordered = [label for *_, label in sorted(calls)]
    return list(dict.fromkeys(ordered))  # first occurrence of each, in order


@pytest.mark.parametrize("heading", SECTIONS)
def test_all_seven_odd_sections_exist(text, heading):
    assert re.search(rf"^##\s+{heading}\s*$", text, flags=re.MULTILINE | re.IGNORECASE), heading


def test_sections_are_in_order(text):
    found = [re.search(rf"^##\s+{h}", text, flags=re.MULTILINE | re.IGNORECASE).start()
             for h in SECTIONS]
    assert found == sorted(found)


def test_the_schedule_has_phases():
    calls = _step_calls()
    assert len(calls) >= 15, calls  # the parser still reads Engine.step
    assert calls[0] == "Engine._launch" and "recorder.record" in calls


def test_every_phase_of_engine_step_is_described_in_order(text):
    schedule = _section(text, 3)
    missing = [c for c in _step_calls() if f"`{c}`" not in schedule
               and f"`{c.split('.', 1)[1]}`" not in schedule and f"{c} ->" not in schedule]
    assert not missing, f"section 3 does not describe these calls of Engine.step: {missing}"
    positions = []
    for call in _step_calls():
        match = re.search(rf"`{re.escape(call)}`|{re.escape(call)} ->", schedule)
        if match:
            positions.append((match.start(), call))
    assert [c for _, c in positions] == [c for _, c in sorted(positions)], (
        "section 3 lists Engine.step's calls out of order")


def test_every_engine_module_used_by_the_schedule_is_named(text):
    modules = {c.split(".")[0] for c in _step_calls() if not c.startswith("Engine.")}
    modules.discard("recorder")  # an attribute; the module is record.py
    modules |= {"record", "initial", "compile"}
    for module in sorted(modules):
        assert (ROOT / "sim" / "engine" / f"{module}.py").is_file(), module
        assert f"sim/engine/{module}.py" in text or f"`{module}." in text, module


def test_every_mechanism_module_has_a_submodel(text):
    submodels = _section(text, 7)
    modules = sorted(p.name for p in (ROOT / "sim" / "mechanisms").glob("*.py")
                     if p.name != "__init__.py")
    assert modules
    headings = re.findall(r"^###\s+7\.\d+.*$", submodels, flags=re.MULTILINE)
    for module in modules:
        assert any(f"sim/mechanisms/{module}" in h for h in headings), (
            f"no submodel heading names sim/mechanisms/{module}")


def test_every_mechanism_document_is_cited(text):
    for doc in sorted((ROOT / "docs" / "mechanisms").glob("*.md")):
        assert f"mechanisms/{doc.name}" in text, doc.name


def test_links_to_docs_exist(text):
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith("http"):
            assert (ODD.parent / target).is_file(), target


def test_every_policy_kind_is_described(text):
    for kind in sch.POLICY_KINDS:
        assert f"| `{kind}` |" in text, kind


def test_every_metric_is_named_with_a_unit(text):
    observation = _section(text, 4)
    rows = [line for line in observation.splitlines() if line.startswith("| `")]
    for metric in METRICS:
        assert any(re.search(rf"`{metric}`", row) for row in rows), metric


def test_both_engines_and_the_keyed_streams_are_described(text):
    for engine in engine_module.ENGINES:
        assert f"`{engine}`" in text, engine
    assert "sim/streams.py" in text and "Philox" in text


def test_code_constants_quoted_in_the_assumptions_match_the_code(text):
    from sim.engine import initial, market, turnover

    assert turnover.ENTRANT_MARGIN_SHARE == 0.5 and "Entrant margin share 0.5" in text
    assert market.SUBSCRIPTION_PRICE_FLOOR == 1.0 and "`SUBSCRIPTION_PRICE_FLOOR` = 1 USD" in text
    assert initial.BRAND_TOLERANCE == 1e-9 and "`BRAND_TOLERANCE` (1e-9" in text


def test_status_says_the_calibration_is_provisional(text):
    assert "provisional point calibration" in text and "calibration.md" in text
