"""Generated documentation is up to date."""

from __future__ import annotations

from sim import docgen

from .conftest import ROOT


def test_scenario_reference_is_current() -> None:
    path = ROOT / "docs" / "scenario-reference.md"
    assert path.is_file(), "docs/scenario-reference.md is missing: run `make docs`"
    current = path.read_text(encoding="utf-8")
    assert current == docgen.render(), (
        "docs/scenario-reference.md is out of date with the scenario schema: run `make docs`")


def test_reference_documents_every_field() -> None:
    text = docgen.render()
    for _, _, model in docgen.TABLES:
        for name in model.model_fields:
            assert f"| `{name}` |" in text, name
    for model in docgen.POLICY_MODELS:
        kind = model.model_fields["kind"].annotation.__args__[0]
        assert f'### kind = "{kind}"' in text


def test_field_rows() -> None:
    from typing import Literal

    from pydantic import BaseModel

    from sim.scenario.schema import F, Name, When

    class Example(BaseModel):
        alpha: float = F(2.0, "Price weight.", unit="utility", source="MODEL.md", gt=1, le=20)
        count: int = F(..., "How many.", ge=0)
        share: float = F(0.5, "A | share.", ge=0, lt=1)
        names: list[Name] = F(default_factory=list, description="Names.", min_length=1)
        start: When | None = F(None, "When.")
        mode: Literal["open", "closed"] = F("open", "Mode.")
        table: dict[Name, float] = F(default_factory=dict, description="Per name.")

    rows = {name: docgen.field_row(name, field) for name, field in Example.model_fields.items()}
    assert rows["alpha"] == ("| `alpha` | number | utility | (1, 20] | `2` | Price weight. "
                             "| MODEL.md |")
    assert rows["count"] == "| `count` | integer |  | ≥ 0 | *required* | How many. |  |"
    assert rows["share"] == "| `share` | number |  | [0, 1) | `0.5` | A \\| share. |  |"
    assert "| list of names |  | at least 1 item | `[]` |" in rows["names"]
    assert '| month `"YYYY-MM"` or step |  |  | *omitted* |' in rows["start"]
    assert '| `"open"` \\| `"closed"` |' in rows["mode"]
    assert "| table: name → number |" in rows["table"]


def test_check_mode(tmp_path, capsys) -> None:
    out = tmp_path / "ref.md"
    assert docgen.main(["--check", "--output", str(out)]) == 1
    assert "run `make docs`" in capsys.readouterr().err
    assert docgen.main(["--output", str(out)]) == 0
    assert docgen.main(["--check", "--output", str(out)]) == 0
    out.write_text(out.read_text() + "edited\n")
    assert docgen.main(["--check", "--output", str(out)]) == 1
