"""Every malformed input has its own fixture: exit 2, a clear message, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import sim
from sim.errors import ScenarioError
from sim.scenario.overrides import parse_assignment

from .conftest import BAD, ROOT, invoke

# (fixture file, substrings that must appear on stderr). "{p}" stands for the index of the
# child's first policy (the baseline's dated policies come first: policies are appended).
CASES: list[tuple[str, tuple[str, ...]]] = [
    ("toml_syntax_error.toml", ("toml_syntax_error.toml:6:18", "TOML syntax error")),
    ("empty.toml", ("empty.toml", "empty scenario file")),
    ("comments_only.toml", ("comments_only.toml", "empty scenario file")),
    ("binary_garbage.toml", ("binary_garbage.toml", "binary data")),
    ("not_utf8.toml", ("not_utf8.toml:2", "not UTF-8")),
    ("unknown_table.toml", ("markets", "unknown key 'markets'", "world")),
    ("misspelt_key.toml", ("world.netwrok_effect", "did you mean 'network_effect'?")),
    ("wrong_type.toml", ("scenario.months", "expected an integer", "'sixty' (text)")),
    ("out_of_range.toml", ("world.kappa_open", "less than or equal to 1", "1.5")),
    ("usage_elasticity_not_above_one.toml", ("segments.developer.usage_elasticity",
                                             "greater than 1")),
    ("unknown_home_region.toml", ("vendors.Aleph.home", "unknown region 'FR'", "EU")),
    ("unknown_share_product.toml", ("unknown_share_product.toml",
                                    "regions.CN.shares.enterprise.Ernei",
                                    "unknown product 'Ernei'", "did you mean 'Ernie'?")),
    ("unknown_adopter_segment.toml", ("regions.EU.adopters.goverment", "unknown segment",
                                      "consumer")),
    ("duplicate_vendor.toml", ("vendors.Kappa", "duplicate name 'Kappa'")),
    ("duplicate_product.toml", ("vendors.Aleph.products.Llama",
                                "duplicate product name 'Llama'", "also vendors.Meta",
                                "unique across the scenario")),
    ("name_with_slash.toml", ("invalid name 'Meta/Llama'", "slashes")),
    ("product_name_with_slash.toml", ("vendors.Meta.products.Llama/3.name",
                                      "invalid name 'Llama/3'", "slashes")),
    ("unknown_policy_kind.toml", ("policies.{p}", "unknown policy kind 'ban_open_weight'",
                                  "did you mean 'ban_open_weights'?")),
    ("policy_ends_before_start.toml", ("policy_ends_before_start.toml", "policies.{p}.end",
                                       "must be after start")),
    ("bad_month.toml", ("policies.{p}.start", "'2026-13'", "YYYY-MM")),
    ("extends_missing.toml", ("scenario.extends", "'no_such_parent.toml'", "does not exist")),
    ("extends_cycle_a.toml", ("extends cycle", "extends_cycle_a.toml -> extends_cycle_b.toml")),
    ("extends_cycle_b.toml", ("extends cycle", "extends_cycle_b.toml -> extends_cycle_a.toml")),
    ("remove_missing_vendor.toml", ("vendors.Antropic.remove", "cannot remove 'Antropic'",
                                    "did you mean 'Anthropic'?")),
    ("remove_unknown_policy_label.toml", (
        "remove_unknown_policy_label.toml", "policies.0.label",
        "cannot remove policy 'Meta withholds multimodal Lama from the EU'",
        "did you mean 'Meta withholds multimodal Llama from the EU'?")),
    # the child made the sum 1.48 (the baseline's sums to 1): the child is to blame
    ("shares_above_one.toml", ("shares_above_one.toml", "regions.EU.shares.enterprise",
                               "shares sum to 1.48", "must sum to at most 1")),
    ("adoption_above_aware.toml", ("regions.EU.adoption.consumer", "adoption 0.5",
                                   "exceeds aware 0.45")),
    ("kappa_sum_above_one.toml", ("world.kappa_closed",
                                  "kappa_open + kappa_closed must be at most 1")),
    ("hosted_fractions_above_one.toml", ("vendors.Meta.products.Llama.self_hosted_fraction",
                                         "self_hosted_fraction + hosted_fraction",
                                         "must be at most 1")),
    ("trigger_above_and_below.toml", ("policies.{p}", "exactly one of 'above' or 'below'")),
    ("merger_with_itself.toml", ("policies.{p}.target", "cannot merge with itself")),
    ("ban_vendors_nothing.toml", ("policies.{p}",
                                  "needs 'vendors', 'products' or 'home_regions'")),
    ("withhold_other_firms_product.toml", ("policies.{p}.products.GPT",
                                           "product 'GPT' belongs to vendors.OpenAI",
                                           "not 'Meta'")),
    ("enforcement_unknown_segment.toml", ("policies.{p}.enforcement.goverment",
                                          "unknown segment 'goverment'")),
    ("policy_unknown_region.toml", ("policy_unknown_region.toml", "policies.{p}.region",
                                    "unknown region 'UK'")),
    ("missing_required.toml", ("vendors.Nomad.home", "required field is missing")),
    ("firm_without_products.toml", ("vendors.Nomad.products", "required field is missing")),
    ("not_a_number.toml", ("world.network_effect", "finite number")),
    ("unknown_trigger_metric.toml", ("policies.{p}", "unknown metric 'hhi_markt'",
                                     "did you mean 'hhi_market'?")),
    # version 1's metric names are refused with the version-2 name (docs/migration-v2.md 4)
    ("trigger_metric_version_1.toml", ("policies.{p}", "unknown metric 'hhi'",
                                       "did you mean 'hhi_market'?")),
    ("policies_not_array.toml", ("policies", "array of tables")),
    ("policy_before_scenario_start.toml", ("policies.{p}.start", "before the scenario")),
    ("remove_without_parent.toml", ("vendors.Ghost.remove", "extends nothing")),
    ("trigger_nested_merger.toml", ("policies.{p}.policy",
                                    "kind 'merger' is not allowed here")),
    ("several_problems.toml", ("3 problems", "scenario.months", "world.kappa_open",
                               "segments.developer.switching_cost")),
    # version-1 files: one line naming what changed and where the migration note is
    ("version_1_format.toml", ("version_1_format.toml", "scenario.format_version",
                               "version-1 scenario file", "[[vendors.products]]",
                               "docs/migration-v2.md")),
    ("version_1_vendor_openness.toml", ("vendors.Meta.openness", "version-1 scenario file",
                                        "docs/migration-v2.md")),
    ("version_1_vendor_capability.toml", ("vendors.Aleph.capability",
                                          "version-1 scenario file", "docs/migration-v2.md")),
    # format_version is inherited: a child cannot extend a version-1 parent
    ("extends_version_1.toml", ("version_1_format.toml", "scenario.format_version",
                                "docs/migration-v2.md")),
    # the usage curve and parent budgets of issue 14
    ("reference_price_tracking_above_one.toml", ("segments.enterprise.reference_price_tracking",
                                                 "less than or equal to 1", "got 1.5")),
    ("usage_satiation_below_one.toml", ("segments.developer.usage_satiation",
                                        "greater than 1", "got 0.5")),
    ("lab_budget_negative.toml", ("vendors.Meta.lab_budget", "greater than or equal to 0")),
    # the funding and spill-over terms of issue 15
    ("absorption_budget_negative.toml", ("world.absorption_budget", "greater than or equal to 0",
                                         "got -1000000.0")),
    ("openness_noise_negative.toml", ("world.openness_noise", "greater than or equal to 0",
                                      "got -0.25")),
    ("release_gap_negative.toml", ("world.release_gap", "greater than or equal to 0",
                                   "got -5.0")),
    ("task_deflation_above_one.toml", ("harm.task_deflation", "less than or equal to 1",
                                       "got 1.5")),
    ("parent_budget_tracking_above_two.toml", ("world.parent_budget_tracking",
                                               "less than or equal to 2", "got 3.0")),
    ("max_round_zero.toml", ("world.max_round", "greater than 0", "got 0.0")),
    # reserved names: the aggregate rows of the results
    ("reserved_region_world.toml", ("regions.World.name", "reserved for aggregates")),
    ("reserved_region_case.toml", ("regions.WORLD.name", "reserved for aggregates",
                                   "ignoring case")),
    ("reserved_segment_all.toml", ("segments.all.name", "reserved for aggregates")),
    # strict types: a boolean is not a number, text is not a number, a number is not text
    ("bool_as_integer.toml", ("scenario.months", "expected an integer, got true (a boolean)")),
    ("bool_as_number.toml", ("vendors.Meta.products.Llama.capability",
                             "expected a number, got true")),
    ("string_as_number.toml", ("world.network_effect", "expected a number, got '0.5' (text)")),
    ("number_as_string.toml", ("scenario.name", "expected text", "got 2026 (an integer)")),
    ("number_as_bool.toml", ("policies.{p}.allow_contributors",
                             "expected true or false, got 1 (an integer)")),
    ("float_as_integer.toml", ("scenario.months", "expected an integer, got 60.0 (a number)")),
    ("world_not_a_table.toml", ("world", "expected a table, got 5 (an integer)")),
    # contradictory bounds
    ("size_min_above_max.toml", ("contributors.size_max", "must be at least size_min (500)")),
    # names printed safely: escaped, never splitting the line
    ("name_with_newline.toml", ("vendors.Evil\\nName.name", "invalid name 'Evil\\nName'")),
    ("name_with_ansi.toml", ("vendors.\\x1b[31mRed", "invalid name '\\x1b[31mRed")),
    ("key_with_newline.toml", ("regions.EU.adopters.Evil\\nName:", "invalid name")),
    ("title_with_escape.toml", ("scenario.name", "without control characters", "'\\x1b'")),
    # removing inherited items blames the child
    ("remove_every_vendor.toml", ("remove_every_vendor.toml: vendors:",
                                  "removes every inherited vendor")),
    ("remove_every_region.toml", ("remove_every_region.toml: regions:",
                                  "removes every inherited region")),
    ("remove_every_segment.toml", ("remove_every_segment.toml: segments:",
                                   "removes every inherited segment")),
    # removing the EU also orphans the baseline's EU policies: several problems, one line
    ("remove_home_region.toml", ("remove_home_region.toml", "vendors.Mistral.home: "
                                 "unknown region 'EU'", "removed with 'remove = true'")),
    # a UTF-8 byte-order mark is skipped: the error is the file's real one, on its line
    ("bom_with_error.toml", ("bom_with_error.toml: world.netwrok_effect",
                             "did you mean 'network_effect'?")),
]


@pytest.fixture(scope="module")
def first_policy() -> str:
    """The index a child's first policy gets: after every policy of the baseline."""
    return str(len(sim.load_scenario("baseline").policies))


def _expected(expected: tuple[str, ...], first_policy: str) -> list[str]:
    return [text.replace("{p}", first_policy) for text in expected]


def test_every_fixture_has_a_case() -> None:
    on_disk = {p.name for p in BAD.iterdir() if p.is_file()}
    listed = {name for name, _ in CASES}
    assert on_disk == listed, f"fixtures without a case: {on_disk - listed}; " \
                              f"cases without a fixture: {listed - on_disk}"
    assert len(CASES) >= 24


@pytest.mark.parametrize(("fixture", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_fixture(fixture: str, expected: tuple[str, ...], first_policy: str) -> None:
    result = invoke("validate", BAD / fixture)
    assert result.exit_code == 2, result
    assert result.exception is None, result
    assert result.stdout == "", result
    assert "Traceback" not in result.stderr
    for text in _expected(expected, first_policy):
        assert text in result.stderr, f"{text!r} not in stderr:\n{result.stderr}"
    lines = result.stderr.strip().splitlines()
    # one line, or a short list when several fields are wrong
    assert len(lines) == 1 or (lines[0].endswith("problems:") and len(lines) <= 10), result
    assert "\x1b" not in result.stderr and "\r" not in result.stderr  # nothing raw reaches a tty


@pytest.mark.parametrize(("fixture", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_fixture_api(fixture: str, expected: tuple[str, ...], first_policy: str) -> None:
    """The Python API raises the same ScenarioError (never another exception)."""
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(BAD / fixture)
    assert _expected(expected, first_policy)[-1] in str(info.value)
    assert info.value.problems


def test_syntax_error_carries_line_and_column() -> None:
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(BAD / "toml_syntax_error.toml")
    problem = info.value.problems[0]
    assert (problem.line, problem.column) == (6, 18)
    assert problem.file is not None and problem.file.endswith("toml_syntax_error.toml")


def test_schema_error_carries_path_and_suggestion() -> None:
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(BAD / "misspelt_key.toml")
    assert info.value.path == "world.netwrok_effect"
    assert info.value.problems[0].suggestion == "network_effect"


def test_missing_scenario_on_command_line(cli) -> None:
    result = cli("validate", "baselin")
    assert result.exit_code == 2
    assert "no scenario file or shipped scenario named 'baselin'" in result.stderr
    assert "did you mean 'baseline'?" in result.stderr


def test_folder_given_as_scenario(cli, tmp_path: Path) -> None:
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    result = cli("validate", folder)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "folder.toml" in result.stderr


def test_validate_reports_each_file(cli) -> None:
    result = cli("validate", "baseline", BAD / "misspelt_key.toml", BAD / "empty.toml")
    assert result.exit_code == 2
    title = sim.load_scenario("baseline").scenario.name
    assert f"ok  baseline: {title}" in result.stdout
    assert "misspelt_key.toml" in result.stderr and "empty.toml" in result.stderr
    assert "2 of 3 scenarios are invalid" in result.stderr


def test_real_process_never_shows_a_traceback() -> None:
    """``python -m sim validate`` in a real process: exit 2, one line, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(BAD / "unknown_policy_kind.toml")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "did you mean 'ban_open_weights'?" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(BAD / "binary_garbage.toml"),
         str(BAD / "not_utf8.toml"), "scenarios/baseline.toml"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    assert "ok  scenarios/baseline.toml" in proc.stdout


# --------------------------------------------------------------------------- overrides


@pytest.fixture(scope="module")
def base() -> sim.Scenario:
    return sim.load_scenario("baseline")


def test_override_unknown_path_suggests(base: sim.Scenario) -> None:
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({"world.netwrok_effect": 1.2})
    assert "unknown key 'netwrok_effect'" in str(info.value)
    assert "did you mean 'network_effect'?" in str(info.value)
    assert info.value.path == "world.netwrok_effect"


def test_override_unknown_table_suggests(base: sim.Scenario) -> None:
    with pytest.raises(ScenarioError, match="did you mean 'world'"):
        base.with_overrides({"wrld.network_effect": 1.2})


def test_override_unknown_vendor(base: sim.Scenario) -> None:
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({"vendors.Metta.products.Llama.openness": "closed"})
    assert "unknown vendor 'Metta'" in str(info.value)
    assert "did you mean 'Meta'?" in str(info.value)


def test_override_unknown_product(base: sim.Scenario) -> None:
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({"vendors.Meta.products.Lama.openness": "closed"})
    assert "unknown product 'Lama'" in str(info.value)
    assert "did you mean 'Llama'?" in str(info.value)


def test_override_vendor_level_openness_is_refused(base: sim.Scenario) -> None:
    """Version 1's path (openness on the firm) is an error, not silently ignored."""
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({"vendors.Meta.openness": "closed"})
    assert "vendors.Meta.openness" in str(info.value)


def test_override_wrong_type(base: sim.Scenario) -> None:
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({"world.network_effect": "strong"})
    message = str(info.value)
    assert "world.network_effect" in message and "'strong'" in message
    assert "expected a number" in message


def test_override_out_of_range_and_bad_choice(base: sim.Scenario) -> None:
    with pytest.raises(ScenarioError, match="less than or equal to 1"):
        base.with_overrides({"world.kappa_open": "1.5"})
    with pytest.raises(ScenarioError, match="kappa_open \\+ kappa_closed must be at most 1"):
        base.with_overrides({"world.kappa_open": "0.7", "world.kappa_closed": "0.4"})
    with pytest.raises(ScenarioError, match="vendors.Meta.products.Llama.openness"):
        base.with_overrides({"vendors.Meta.products.Llama.openness": "ajar"})


def test_override_policy_index(base: sim.Scenario) -> None:
    with pytest.raises(ScenarioError, match="addressed by index"):
        base.with_overrides({f"policies.{len(base.policies) + 5}.start": "2026-01"})


def test_override_policy_label(base: sim.Scenario) -> None:
    label = "AI Act GPAI duties (Art. 53(2) open-source exemption below the systemic threshold)"
    index = next(i for i, p in enumerate(base.policies) if p.label == label)
    changed = base.with_overrides([f'policies."{label}".start=2026-01'])
    assert changed.policies[index].start == "2026-01"
    assert base.policies[index].start == "2025-08"
    with pytest.raises(ScenarioError) as info:
        base.with_overrides({'policies."Meta withholds multimodal Lama from the EU".end':
                             "2026-01"})
    assert "did you mean 'Meta withholds multimodal Llama from the EU'?" in str(info.value)


def test_override_strings_are_parsed(base: sim.Scenario) -> None:
    original = base.world.network_effect
    assert original != 1.2  # else the override below would prove nothing
    changed = base.with_overrides(["world.network_effect=1.2", "regions.EU.adopters.consumer=4.5e8",
                                   "vendors.Meta.products.Llama.openness=closed"])
    assert changed.world.network_effect == 1.2
    assert next(r for r in changed.regions if r.name == "EU").adopters["consumer"] == 4.5e8
    meta = next(v for v in changed.vendors if v.name == "Meta")
    assert {p.name: p.openness for p in meta.products} == {"Llama": "closed",
                                                          "Llama-vision": "open"}
    assert base.world.network_effect == original  # the original is untouched
    assert base.product_owner["Llama"] == "Meta"
    assert next(p for v in base.vendors for p in v.products if p.name == "Llama").openness \
        == "open"


@pytest.mark.parametrize("text", ["world.network_effect", "=1.2", "", "  =x"])
def test_parse_assignment_needs_path_and_equals(text: str) -> None:
    with pytest.raises(ScenarioError, match="expected PATH=VALUE"):
        parse_assignment(text)


def test_parse_assignment_splits() -> None:
    assert parse_assignment(" world.network_effect = 1.2 ") == ("world.network_effect", "1.2")
    assert parse_assignment("scenario.name=a=b") == ("scenario.name", "a=b")


def test_override_without_equals_via_list(base: sim.Scenario) -> None:
    with pytest.raises(ScenarioError, match="expected PATH=VALUE"):
        base.with_overrides(["world.network_effect"])
