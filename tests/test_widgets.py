"""The notebook panel (sim.widgets): controls, readable labels, debounced runs, live charts.

Every panel here explores a few months with one replication, so each run takes a fraction
of a second; debounced runs are waited for with ``Panel.wait`` (no timed assertions).
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import ipywidgets as w
import numpy as np
import pytest

from sim.app.controls import Setting, controls_for
from sim.errors import ScenarioError
from sim.scenario.loader import load_scenario
from sim.scenario.overrides import with_horizon
from sim.widgets import FIRMS, Panel, panel

MONTHS = 4
POLICY = "EU bans open weights"
START = f'policies."{POLICY}".start'


@pytest.fixture(scope="module")
def explored():
    return with_horizon(load_scenario("eu_blocks_open"), MONTHS)


@pytest.fixture
def make(explored) -> Iterator:
    """``make(**kwargs)`` builds a panel on eu_blocks_open; every one is closed afterwards."""
    built: list[Panel] = []

    def build(controls=None, **kwargs) -> Panel:
        kwargs.setdefault("replications", 1)
        built.append(panel(explored, controls, **kwargs))
        return built[-1]

    yield build
    for p in built:
        p.close()


def count_runs(p: Panel) -> list:
    """Wrap the panel's ensemble so that each run records its what-if scenario."""
    runs = []
    compare = p.ensemble.compare

    def counted(reference, what_if, key):
        runs.append(what_if)
        return compare(reference, what_if, key)

    p.ensemble.compare = counted
    return runs


def tree(widget: w.Widget) -> list[w.Widget]:
    return [widget, *(x for child in getattr(widget, "children", ()) for x in tree(child))]


def legend(fig) -> list[str]:
    return [t.name for t in fig.data if t.showlegend is not False]


def what_if_and_reference(p: Panel, metric: str = "open_usage_share") -> tuple:
    """The mean lines (what-if, reference) of ``metric`` as drawn."""
    lines = {t.name: np.array(t.y, dtype=float) for t in p.figures[metric].data
             if t.showlegend is not False}
    return lines[p.names[1]], lines[p.names[0]]


def test_default_controls_and_a_first_update(make) -> None:
    p = make()
    paths = [c.path for c in p.controls]
    assert paths[0] == "world.network_effect"
    assert {"segments.developer.price_weight", "harm.misuse_premium", START} <= set(paths)
    assert p.region.value == "EU" and p.segment.value == "developer"
    assert set(p.switches) == {POLICY}
    pair = p.update()
    assert p.comparison is pair
    assert p.status.value.startswith("updated in ")
    assert p.status.value.endswith(": 1 replication per scenario")
    assert list(p.figures) == ["hhi_market", "open_usage_share", "price_paid",
                               "net_welfare_usd", FIRMS]
    for fig in p.figures.values():
        assert isinstance(fig, w.DOMWidget) and len(fig.data) >= 2
        assert all(len(t.x) > 0 for t in fig.data)
    # the reference is the baseline at the explored scenario's horizon, not its own 83 months
    assert pair.reference.market.shape[1] == MONTHS + 1
    bundle = p._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == repr(p) and "EU blocks open-weights models" in repr(p)


def test_labels_are_whole_and_never_in_a_cut_description(make) -> None:
    p = make()
    widgets = tree(p.box)
    texts = [x.value for x in widgets if isinstance(x, w.HTML)]
    for control in p.controls:
        assert any(html.escape(control.label) in t for t in texts), control.label
        assert any(html.escape(control.help) in t for t in texts), control.help
        assert p.sliders[control.path].description == ""
    for x in widgets:  # a description ipywidgets would cut at its default width
        if getattr(x, "description", ""):
            assert x.style.description_width == "initial", x.description
    assert f"{POLICY} (on)" in [x.description for x in widgets if isinstance(x, w.Checkbox)]
    for slider in p.sliders.values():
        assert slider.continuous_update is False


def test_a_burst_of_moves_runs_once(make) -> None:
    p = make(debounce=1.0)  # long enough that five set() calls land inside one quiet time
    runs = count_runs(p)
    for value in (0.2, 0.25, 0.3, 0.35, 0.4):
        p.set("world.network_effect", value)
    assert p.wait(timeout=120)
    assert len(runs) == 1, "the burst (and the pending first update) should run once"
    assert runs[0].world.network_effect == 0.4
    assert p.comparison is not None and p.comparison.what_if.scenario.world.network_effect == 0.4
    assert p.setting.values == {"world.network_effect": 0.4}


def test_update_runs_now_and_cancels_the_pending_run(make) -> None:
    p = make(debounce=1.0)
    runs = count_runs(p)
    p.set("world.network_effect", 0.3)
    p.update()
    assert p.wait(timeout=120)
    assert len(runs) == 1


def test_update_redraws_when_a_parameter_moves(make) -> None:
    p = make()
    p.update()
    before = what_if_and_reference(p)[0]
    p.set("world.network_effect", 0.5)
    p.update()
    after = what_if_and_reference(p)[0]
    assert before.shape == after.shape
    assert not np.allclose(before[1:], after[1:], equal_nan=True)


def test_switching_the_policy_off_joins_the_reference(make) -> None:
    p = make()
    p.set(START, 1)  # the ban would start after the short horizon: bring it forward
    p.update()
    new, ref = what_if_and_reference(p)
    assert not np.allclose(new, ref, equal_nan=True)
    p.switches[POLICY].value = False
    assert p.setting.disabled == frozenset({POLICY})
    p.update()
    new, ref = what_if_and_reference(p)
    np.testing.assert_allclose(new, ref)


def test_legends_show_scenario_names(make, explored) -> None:
    p = make()
    p.update()
    names = [load_scenario("baseline").scenario.name, explored.scenario.name]
    for key, fig in p.figures.items():
        shown = legend(fig) if key != FIRMS else [t.name for t in fig.data]
        assert shown == names, key
        assert not any(n in ("what_if", "reference", "eu_blocks_open") for n in shown)


def test_the_same_scenario_is_told_apart(make) -> None:
    base = with_horizon(load_scenario("baseline"), MONTHS)
    p = panel(base, replications=1)
    try:
        assert p.names[0].endswith("(as shipped)") and p.names[1].endswith("(your settings)")
    finally:
        p.close()


def test_segment_picker_shows_that_segments_sliders(make) -> None:
    p = make()
    p.set("segments.developer.price_weight", 3.0)
    p.segment.value = "enterprise"
    displayed = {path for path, slider in p.sliders.items()
                 if any(slider in box.children and box.layout.display != "none"
                        for box in tree(p.box) if isinstance(box, w.VBox))}
    assert "segments.enterprise.price_weight" in displayed
    assert "segments.developer.price_weight" not in displayed
    assert "world.network_effect" in displayed
    assert p.setting.values["segments.developer.price_weight"] == 3.0  # kept while hidden
    p.update()
    assert "enterprise" in p.figures["hhi_market"].layout.title.text


def test_mapping_controls(make) -> None:
    p = make({"world.network_effect": (0.0, 1.0), "world.entry_rate": (0.1, 2.0)})
    labels = {c.path: c.label for c in p.controls}
    assert labels == {"world.network_effect": "Network effect (eta)",
                      "world.entry_rate": "Entry rate (world)"}
    assert (p.sliders["world.entry_rate"].min, p.sliders["world.entry_rate"].max) == (0.1, 2.0)
    assert p.sliders["world.network_effect"].max == 1.0
    p.set("world.entry_rate", 1.5)
    pair = p.update()
    assert pair.what_if.scenario.world.entry_rate == 1.5
    assert pair.reference.scenario.world.entry_rate == 1.5  # a world setting: both scenarios


def test_a_list_of_controls(make, explored) -> None:
    p = make(controls_for(explored)[:1])
    assert list(p.sliders) == ["world.network_effect"] and not p.switches
    assert p.setting == Setting()


@pytest.mark.parametrize("controls,needle", [
    ({"world.network_efect": (0.0, 1.0)}, "network_effect"),
    ({"world.network_effect": (1.0, 0.0)}, "low < high"),
    ({"scenario.start": (0.0, 1.0)}, "needs a number"),
])
def test_bad_controls_are_one_line_errors(explored, controls, needle) -> None:
    with pytest.raises(ScenarioError) as caught:
        panel(explored, controls)
    assert needle in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_region_and_set_path(make, explored) -> None:
    with pytest.raises(ScenarioError, match="did you mean 'EU'"):
        panel(explored, region="Eu")
    p = make()
    with pytest.raises(ScenarioError, match="did you mean 'world.network_effect'"):
        p.set("world.network_efect", 0.3)
    with pytest.raises(ScenarioError, match="outside the slider's range"):
        p.set("world.network_effect", 99.0)
