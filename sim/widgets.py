"""A notebook panel: sliders on a scenario, a small live ensemble and its charts.

``sim.widgets.panel("eu_blocks_open")`` is the browser explorer (``marketsim explore``) in a
notebook cell, built from its parts: :mod:`sim.app.controls` (the sliders, what a setting
means), :mod:`sim.app.ensemble` (the paired runs) and :mod:`sim.app.charts`, drawn as
ipywidgets and plotly ``FigureWidget`` s updated in place. Needs ``ipywidgets`` and
``anywidget``.

Sliders report a value when released (``continuous_update=False``) and every change restarts
a timer, so a burst of changes (ten arrow-key presses) ends in one run once the controls have
been still for ``debounce`` seconds. :meth:`Panel.update` runs at once (headless use).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as w
import plotly.graph_objects as go

from sim.app.charts import CHART_METRICS, firm_share_figure, metric_figure
from sim.app.controls import (
    Control,
    Setting,
    controls_from_ranges,
    every_control,
    focus_of,
    legend_names,
    month_label,
    scenarios_for,
)
from sim.app.ensemble import Comparison, LiveEnsemble
from sim.errors import Problem, ScenarioError, did_you_mean
from sim.report.labels import MARKET_METRICS, esc
from sim.scenario.base import ScenarioWarning
from sim.scenario.loader import load_scenario
from sim.scenario.overrides import with_horizon
from sim.scenario.schema import Scenario

__all__ = ["panel", "Panel", "FIRMS"]

#: Key of the firm-shares chart in :attr:`Panel.figures` (the others are metric names).
FIRMS = "firm_shares"
#: Labels get the width they need (ipywidgets cuts descriptions at a fixed width otherwise).
_WIDE = {"description_width": "initial"}


class Panel:
    """Sliders, policy switches, a market picker, a status line and one chart per metric.

    Build one with :func:`panel`. A notebook cell ending in a panel shows it.

    Attributes:
        scenario: The scenario explored (the what-if before any setting).
        baseline: The reference scenario (at the scenario's horizon).
        controls: Every control, in the order shown.
        names: Display names of (reference, what-if), as in the legends.
        ensemble: The runner (its cache keeps references between updates).
        sliders: Control path -> slider widget.
        switches: Policy label -> checkbox (ticked: the policy applies).
        figures: Metric name (and :data:`FIRMS`) -> ``go.FigureWidget``.
        status: The status line.
        box: The widget shown.
        comparison: The last update's result (None before the first).
    """

    def __init__(self, scenario: Scenario, baseline: Scenario, controls: list[Control],
                 shown: Mapping[str, set[str]] | None, region: str, segment: str,
                 replications: int, seed: int, metrics: Sequence[str], debounce: float):
        self.scenario, self.baseline, self.controls = scenario, baseline, list(controls)
        self.names = legend_names(scenario, baseline)
        self.ensemble = LiveEnsemble(seed=seed, replications=replications)
        self.debounce = float(debounce)
        self.comparison: Comparison | None = None
        self._shown = shown  # segment -> paths shown (None: every control, always)
        self._state = threading.Lock()  # the timer and the generation count
        # one run or redraw at a time: the timer's thread and the kernel's share the
        # ensemble's cache and the figures (re-entrant: a run ends with a redraw)
        self._busy = threading.RLock()
        self._timer: threading.Timer | None = None
        self._generation = 0
        self.sliders: dict[str, w.ValueWidget] = {}
        self.switches: dict[str, w.Checkbox] = {}
        self._rows: dict[str, w.Box] = {}
        rows: list[w.Widget] = []
        for control in self.controls:
            if control.policy is not None and control.policy not in self.switches:
                switch = w.Checkbox(value=True, description=f"{control.policy} (on)",
                                    indent=False, style=_WIDE, layout=w.Layout(width="auto"))
                switch.observe(lambda _: self._schedule(), names="value")
                self.switches[control.policy] = switch
                rows.append(switch)
            rows.append(self._row(control))
        self.region = w.Dropdown(options=[*scenario.region_names, "World"], value=region,
                                 description="Region", style=_WIDE)
        self.segment = w.Dropdown(options=list(scenario.segment_names), value=segment,
                                  description="Segment", style=_WIDE)
        self.region.observe(lambda _: self._draw(), names="value")
        self.segment.observe(lambda _: (self._show_segment(), self._draw()), names="value")
        self.status = w.HTML("waiting for the first update...")
        self.figures = {key: go.FigureWidget(layout={"height": 300, "template": "plotly_white"})
                        for key in (*metrics, FIRMS)}
        title = (f"<b>{esc(self.names[1])}</b> against <b>{esc(self.names[0])}</b>: "
                 f"lines are the mean of the replications, bands their range (luck only, "
                 f"every parameter at the sliders; not a credible interval)")
        market = w.VBox([self.region, self.segment, self.status])
        self.box = w.VBox([
            w.HTML(title),
            w.HBox([w.VBox(rows, layout=w.Layout(width="470px")), market]),
            w.GridBox(list(self.figures.values()),
                      layout=w.Layout(grid_template_columns="repeat(2, minmax(0, 1fr))"))])
        self._show_segment()
        self._schedule()  # the first run starts on its own when the panel is left alone

    def _row(self, control: Control) -> w.Box:
        """One control: its full label and value, the slider, then the help in small print."""
        label = w.HTML(layout=w.Layout(width="auto"))
        month = control.kind == "month"
        kind, cast = (w.IntSlider, int) if month else (w.FloatSlider, float)
        # the range holds the value: a policy after a shortened horizon keeps its month; the
        # label shows the value, as the slider's own readout rounds to two decimals
        slider = kind(value=cast(control.value), min=cast(min(control.low, control.value)),
                      max=cast(max(control.high, control.value)), step=cast(control.step),
                      readout=False, continuous_update=False, layout=w.Layout(width="440px"))

        def show(_: Any = None) -> None:
            value = slider.value
            text = (f"{month_label(value, self.scenario.scenario.start)} (step {value})"
                    if month else f"{value:g}")
            label.value = f"<b>{esc(control.label)}</b>: {esc(text)}"

        show()
        slider.observe(show, names="value")
        slider.observe(lambda _: self._schedule(), names="value")
        self.sliders[control.path] = slider
        help_text = w.HTML(f"<small style='color:#666'>{esc(control.help)}</small>")
        self._rows[control.path] = w.VBox([label, slider, help_text])
        return self._rows[control.path]

    def _show_segment(self) -> None:
        if self._shown is None:
            return
        paths = self._shown.get(self.segment.value, set())
        for path, row in self._rows.items():
            row.layout.display = None if path in paths else "none"

    @property
    def setting(self) -> Setting:
        """Where the controls stand: the values moved from the scenario's, policies off."""
        moved = {c.path: float(self.sliders[c.path].value) for c in self.controls
                 if self.sliders[c.path].value != c.value}
        off = frozenset(label for label, box in self.switches.items() if not box.value)
        return Setting(values=moved, disabled=off)

    def set(self, path: str, value: float) -> None:
        """Move the slider on ``path`` to ``value`` (a debounced update follows).

        Raises:
            ScenarioError: No slider on ``path``, or ``value`` outside its range.
        """
        if path not in self.sliders:
            hint = did_you_mean(path, list(self.sliders))
            raise ScenarioError(Problem(f"no slider on {path!r}{hint}; sliders: "
                                        f"{', '.join(self.sliders)}"))
        slider = self.sliders[path]
        if not slider.min <= value <= slider.max:
            raise ScenarioError(Problem(f"{value!r} is outside the slider's range "
                                        f"{slider.min:g} to {slider.max:g}", path=path))
        slider.value = value

    def update(self) -> Comparison:
        """Run the current setting now (a pending debounced update is dropped) and redraw."""
        with self._state:
            self._cancel()
            generation = self._generation
        return self._run(generation, *self._scenarios())

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a pending debounced update to finish; whether none is left."""
        timer = self._timer
        if timer is not None:
            timer.join(timeout)
            return not timer.is_alive()
        return True

    def close(self) -> None:
        """Drop a pending update and close the widgets (a panel no longer shown)."""
        with self._state:
            self._cancel()
        for widget in _tree(self.box):
            widget.close()

    def _cancel(self) -> None:  # with self._state held
        self._generation += 1  # a run of an older generation is not drawn
        if self._timer is not None:
            self._timer.cancel()

    def _scenarios(self) -> tuple[Scenario, Scenario, tuple]:
        """(reference, what-if, cache key) of the current setting, in the caller's thread.

        The overrides re-validate the scenarios, which warns about every policy after a
        shortened horizon at each slider move; those warnings are expected here and dropped
        (recorded, not shown). Kept out of the timer's thread: warning filters are global.
        """
        setting = self.setting
        with warnings.catch_warnings(record=True) as caught:
            reference, what_if = scenarios_for(self.scenario, self.baseline, self.controls,
                                               setting)
        for item in caught:
            if not issubclass(item.category, ScenarioWarning):
                warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
        return reference, what_if, setting.world_key(self.controls)

    def _schedule(self) -> None:
        """(Re)start the debounce timer: only the last of a burst of changes runs."""
        try:
            pair = self._scenarios()
        except ScenarioError as exc:  # a value the scenario rejects: say so, keep the charts
            self.status.value = f"not run: {esc(exc)}"
            return

        def later(generation: int) -> None:
            try:
                self._run(generation, *pair)
            except Exception as exc:  # noqa: BLE001 - nobody waits on this thread: show it
                self.status.value = f"update failed: {esc(exc)}"

        with self._state:
            self._cancel()
            self._timer = threading.Timer(self.debounce, later, args=(self._generation,))
            self._timer.daemon = True  # a pending update must not keep Python from exiting
            self._timer.start()
        self.status.value = "updating..."

    def _run(self, generation: int, reference: Scenario, what_if: Scenario,
             key: tuple) -> Comparison:
        with self._busy:
            pair = self.ensemble.compare(reference, what_if, key=key)
            if generation != self._generation:  # a newer setting is on its way: skip drawing
                return pair
            self.comparison = pair
            self._draw()
        reps = self.ensemble.replications
        note = "; reference from cache" if pair.cached else ""
        self.status.value = (f"updated in {pair.seconds:.1f} s: {reps} replication"
                             f"{'s' if reps != 1 else ''} per scenario{note}")
        return pair

    def _draw(self) -> None:
        """Redraw every chart from the last result, replacing data in place (no flicker)."""
        pair = self.comparison
        if pair is None:
            return
        region, segment = self.region.value, self.segment.value
        with self._busy:
            for key, fig in self.figures.items():
                new = (firm_share_figure(pair, region, self.names) if key == FIRMS
                       else metric_figure(pair, key, region, segment, self.names))
                if len(fig.data) != len(new.data):  # the first draw: traces to add
                    fig.data = ()
                    fig.add_traces(list(new.data))
                with fig.batch_update():
                    for old, trace in zip(fig.data, new.data, strict=True):
                        old.update(trace.to_plotly_json(), overwrite=True)
                    fig.layout.update(new.layout.to_plotly_json(), overwrite=True)

    def __repr__(self) -> str:
        return f"<Panel: {self.names[1]!r} against {self.names[0]!r}; {self.status.value}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The box's widget view (a notebook cell ending in a panel shows it)."""
        bundle = self.box._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = repr(self)
        return bundle


def panel(base: str | Scenario, controls: Sequence[Control] | Mapping[str, Sequence[float]]
          | None = None, *, baseline: str | Scenario = "baseline", region: str | None = None,
          segment: str | None = None, replications: int = 4, seed: int = 0,
          metrics: Sequence[str] = CHART_METRICS, debounce: float = 0.35) -> Panel:
    """A panel of sliders on ``base`` and live charts of what they do against ``baseline``.

    Args:
        base: The scenario explored: a name, a path or a Scenario (its horizon is kept:
            shorten it with :func:`~sim.scenario.overrides.with_horizon` for speed).
        controls: None for the explorer's (:func:`~sim.app.controls.controls_for`; the
            segment parameters follow the segment picked), a list of Controls, or dotted
            path -> ``(low, high)`` (a slider's range is widened to hold the scenario's
            value).
        baseline: The reference scenario (run at ``base``'s horizon).
        region: The region shown first (default: where ``base``'s policy acts).
        segment: The segment shown first (default: developers).
        replications: Worlds per scenario in each update.
        seed: Root seed (the same setting gives the same lines).
        metrics: Market metrics charted (a firm-share chart follows them).
        debounce: Quiet seconds after the last change before an update starts.

    Raises:
        ScenarioError: An unknown path, region, segment or metric, or a path that is not
            a number.

    Example:
        >>> from sim.scenario.loader import load_scenario
        >>> from sim.scenario.overrides import with_horizon
        >>> p = panel(with_horizon(load_scenario("eu_blocks_open"), 2), replications=2)
        >>> p.set("world.network_effect", 0.3)  # a debounced update is scheduled...
        >>> pair = p.update()                    # ...or run one now
        >>> p.status.value
        'updated in ... s: 2 replications per scenario'
        >>> [t.name for t in p.figures["hhi_market"].data if t.showlegend is not False]
        ['Baseline (v2): end-2023 state, fit-window inputs', 'EU blocks open-weights models']
    """
    scenario = load_scenario(base)
    reference = load_scenario(baseline)
    if reference.scenario.months != scenario.scenario.months:
        reference = with_horizon(reference, scenario.scenario.months)
    focus_region, focus_segment = focus_of(scenario)
    region = _choice("region", region or focus_region, [*scenario.region_names, "World"])
    segment = _choice("segment", segment or focus_segment, list(scenario.segment_names))
    for metric in metrics:
        _choice("metric", metric, list(MARKET_METRICS))
    shown = None
    if controls is None:
        chosen, shown = every_control(scenario)
    elif isinstance(controls, Mapping):
        chosen = controls_from_ranges(scenario, controls)
    else:
        chosen = list(controls)
    return Panel(scenario, reference, chosen, shown, region, segment, replications, seed,
                 metrics, debounce)


def _tree(widget: w.Widget) -> list[w.Widget]:
    """``widget`` and every widget inside it, depth first."""
    return [widget, *(x for child in getattr(widget, "children", ()) for x in _tree(child))]


def _choice(kind: str, value: str, options: list[str]) -> str:
    if value not in options:
        raise ScenarioError(Problem(f"unknown {kind} {value!r}{did_you_mean(value, options)}; "
                                    f"known: {', '.join(options)}"))
    return value
