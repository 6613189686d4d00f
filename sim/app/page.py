"""The browser explorer (``marketsim explore``): a Mesa SolaraViz page with live ensembles.

The page is Mesa's :func:`~mesa.visualization.SolaraViz` around one
:class:`~sim.model.MarketModel` (the what-if's first world, which Step / Play / Reset drive,
month by month, as in any Mesa model), with a "What if" card in the sidebar. Moving one of its
sliders re-runs a small ensemble of the what-if and of the reference
(:mod:`sim.app.controls` says which is which) and redraws the charts: concentration, open
share, prices, net welfare and firm shares, each against the reference.

Why not SolaraViz's own ``model_params`` sliders: in Mesa 3.3 they only take effect on Reset
and rebuild a single model, while the explorer's charts are ensembles of two scenarios. The
sidebar card's sliders are debounced: an update starts once the sliders have been still for
:data:`DEBOUNCE_SECONDS`, and a newer setting discards an older update still waiting.

Solara imports this module per browser session; the settings come from the environment
variable ``MARKETSIM_EXPLORE`` (JSON, written by the ``marketsim explore`` command).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import threading
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import solara
from mesa.visualization import SolaraViz

from sim.app.charts import CHART_METRICS, firm_share_figure, metric_figure
from sim.app.controls import (
    Control,
    Setting,
    every_control,
    focus_of,
    legend_names,
    month_label,
    scenarios_for,
)
from sim.app.ensemble import Comparison, LiveEnsemble
from sim.engine.metrics import INDEX
from sim.model import MarketModel
from sim.report.labels import spec
from sim.scenario.loader import load_scenario
from sim.scenario.schema import Scenario

__all__ = ["Page", "ExploreConfig", "config", "ENVIRONMENT"]

#: The environment variable that carries the command's settings to the page.
ENVIRONMENT = "MARKETSIM_EXPLORE"
#: Quiet time before an update starts: long enough to skip the positions a dragged slider or
#: a held arrow key passes through, short enough not to feel like a lag.
DEBOUNCE_SECONDS = 0.35


@dataclass(frozen=True)
class ExploreConfig:
    """What ``marketsim explore`` asked for.

    Attributes:
        scenario: The what-if scenario (loaded).
        baseline: The reference scenario (loaded).
        replications: Worlds per scenario in each update.
        seed: Root seed.
        jobs: Worker processes (2 lets both scenarios run at once; 1 runs in the page's).
        region: The region the page opens on.
        segment: The segment the page opens on.
    """

    scenario: Scenario
    baseline: Scenario
    replications: int = 4
    seed: int = 0
    jobs: int = 2
    region: str = "World"
    segment: str = "developer"


@functools.lru_cache(maxsize=1)
def config() -> ExploreConfig:
    """The settings of this server (read once from :data:`ENVIRONMENT`)."""
    from sim.scenario.overrides import apply_overrides

    raw = json.loads(os.environ.get(ENVIRONMENT) or "{}")
    scenario = load_scenario(raw.get("scenario", "eu_blocks_open"))
    if raw.get("sets"):  # already checked by the command
        scenario = apply_overrides(scenario, list(raw["sets"]), quiet=True)
    baseline = load_scenario(raw.get("baseline", "baseline"))
    region, segment = focus_of(scenario)
    return ExploreConfig(scenario=scenario, baseline=baseline,
                         replications=int(raw.get("replications", 4)),
                         seed=int(raw.get("seed", 0)), jobs=int(raw.get("jobs", 2)),
                         region=raw.get("region") or region,
                         segment=raw.get("segment") or segment)


_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _ensemble() -> LiveEnsemble:
    """One ensemble runner (and worker pool) for the server, shared by its sessions."""
    cfg = config()
    live = LiveEnsemble(seed=cfg.seed, replications=cfg.replications, jobs=min(cfg.jobs, 2))
    atexit.register(live.close)
    return live


def _compare(setting: Setting, controls: list[Control]) -> Comparison:
    cfg = config()
    reference, what_if = scenarios_for(cfg.scenario, cfg.baseline, controls, setting)
    with _LOCK:  # one update at a time: the cache and the pool are shared
        return _ensemble().compare(reference, what_if, key=setting.world_key(controls))


def _names() -> tuple[str, str]:
    cfg = config()
    return legend_names(cfg.scenario, cfg.baseline)


@functools.lru_cache(maxsize=1)
def _all_controls() -> tuple[list[Control], dict[str, set[str]]]:
    """Every segment's controls and the paths each segment shows, built once per server.

    A moved slider keeps its value when the segment changes.
    """
    return every_control(config().scenario)


# per-session state (solara scopes module-level reactives to the browser session)
region_shown = solara.reactive("")
segment_shown = solara.reactive("")
pair_shown: solara.Reactive[Comparison | None] = solara.reactive(None)


@solara.component
def ControlSlider(control: Control, value: float, on_value: Any) -> None:
    """One slider with its full label above it (never cut off) and its path as help."""
    with solara.Column(gap="0px", style={"margin-bottom": "4px"}):
        shown = month_label(int(value), config().scenario.scenario.start) \
            if control.kind == "month" else f"{value:g}"
        solara.Text(f"{control.label}: {shown}", style={"font-size": "0.9em"})
        if control.kind == "month":
            solara.SliderInt("", value=int(value), min=int(control.low), max=int(control.high),
                             step=1, on_value=on_value, thumb_label=False)
        else:
            solara.SliderFloat("", value=float(value), min=control.low, max=control.high,
                               step=control.step, on_value=on_value, thumb_label=False)
        solara.Text(control.help, style={"font-size": "0.7em", "color": "#666"})


@solara.component
def WhatIfCard() -> None:
    """The sidebar card: market shown, sliders, policy switches and the update's status."""
    cfg = config()
    every, shown = _all_controls()
    start = {c.path: c.value for c in every}
    values, set_values = solara.use_state(start)
    disabled, set_disabled = solara.use_state(frozenset())
    if not region_shown.value:
        region_shown.set(cfg.region)
    if not segment_shown.value:
        segment_shown.set(cfg.segment)
    moved = {p: v for p, v in values.items() if v != start[p]}
    setting = Setting(values=moved, disabled=frozenset(disabled))

    def update(cancel: threading.Event) -> Comparison | None:
        if cancel.wait(DEBOUNCE_SECONDS):  # a newer setting came: this one is stale
            return None
        pair = _compare(setting, every)
        if not cancel.is_set():
            pair_shown.set(pair)
        return pair

    result = solara.use_thread(update, dependencies=[setting.key()], intrusive_cancel=False)
    with solara.Card("What if"):
        solara.Select("Region", values=[*cfg.scenario.region_names, "World"],
                      value=region_shown)
        solara.Select("Segment", values=list(cfg.scenario.segment_names), value=segment_shown)
        for control in (c for c in every if c.path in shown[segment_shown.value]):
            def on_value(v: float, path: str = control.path) -> None:
                set_values(lambda old: {**old, path: v})
            if control.policy is not None:
                def on_switch(on: bool, label: str = control.policy) -> None:
                    set_disabled(lambda old: old - {label} if on else old | {label})
                solara.Checkbox(label=f"{control.policy} (on)",
                                value=control.policy not in disabled, on_value=on_switch)
            ControlSlider(control, values[control.path], on_value)
        _status(result, cfg)


def _status(result: Any, cfg: ExploreConfig) -> None:
    pair = pair_shown.value
    if result.state in (solara.ResultState.RUNNING, solara.ResultState.STARTING,
                        solara.ResultState.WAITING) or pair is None:
        solara.ProgressLinear(True)
        solara.Text("updating...")
    if result.error is not None:
        solara.Error(f"update failed: {result.error}")
    if pair is not None:
        note = "; reference from cache" if pair.cached else ""
        solara.Text(f"updated in {pair.seconds:.1f} s: {cfg.replications} replications per "
                    f"scenario, expected counts{note}")


#: Chart width in pixels: SolaraViz's grid gives each chart half the main area, about 410 px
#: in a 1280 px window, and a plotly widget does not follow its cell's width (it draws 700
#: px wide and is cut off); wider windows leave a margin instead.
CHART_WIDTH = 400


def _show(fig: go.Figure) -> None:
    """Draw ``fig`` at a width that fits its grid cell."""
    fig.update_layout(width=CHART_WIDTH)
    solara.FigurePlotly(fig)


def _chart(metric: str | None) -> Any:
    """A chart component for ``metric`` (None: firm shares), redrawn from the session's pair."""

    @solara.component
    def Chart(model: MarketModel) -> None:  # noqa: ARG001 - SolaraViz passes the model
        pair = pair_shown.value
        if pair is None:
            solara.Text("running the first ensemble...")
            return
        region, segment = region_shown.value, segment_shown.value
        if metric is None:
            fig = firm_share_figure(pair, region, _names())
        else:
            fig = metric_figure(pair, metric, region, segment, _names())
        _show(fig)

    Chart.__name__ = f"Chart_{metric or 'firms'}"
    return Chart


@solara.component
def StepView(model: MarketModel) -> None:
    """The what-if's first world, month by month (SolaraViz's Step / Play / Reset drive it)."""
    region, segment = region_shown.value or config().region, segment_shown.value or "developer"
    r, s = [*model.regions, "World"].index(region), [*model.segments, "all"].index(segment)
    upto = model.month + 1
    market = model.engine.recorder.market[0, :upto, r, s]
    x = [month_label(t, model.scenario.scenario.start) for t in range(upto)]
    fig = go.Figure()
    for metric in ("open_usage_share", "cr1"):
        shown = spec(metric)
        fig.add_trace(go.Scatter(x=x, y=market[:, INDEX[metric]] * shown.scale,
                                 name=shown.label))
    fig.update_layout(title={"text": f"One world, step by step: {region}, {segment}s "
                                     f"(month {model.month} of {model.horizon})",
                             "font": {"size": 14}},
                      height=300, template="plotly_white", yaxis={"title": "%"},
                      margin={"l": 60, "r": 10, "t": 40, "b": 40},
                      legend={"orientation": "h", "y": -0.2})
    _show(fig)


class StepModel(MarketModel):
    """The model SolaraViz steps: a :class:`~sim.model.MarketModel` without ``**overrides``.

    Mesa 3.3's SolaraViz checks the constructor's signature and takes any ``**`` parameter
    not named ``kwargs`` for a required one ("Missing required model parameter:
    overrides"); the page passes a finished scenario, so it needs no overrides.
    """

    def __init__(self, scenario: Scenario | str = "baseline", *, seed: int = 0,
                 engine: str = "expected"):
        super().__init__(scenario, seed=seed, engine=engine)


_CHARTS = [*[_chart(m) for m in CHART_METRICS], _chart(None), StepView]


@solara.component
def Page() -> None:
    """The explorer page."""
    cfg = config()
    with solara.Sidebar():
        WhatIfCard()
        # plain text, not solara.Markdown: Markdown loads KaTeX from solara's CDN proxy,
        # which solara-assets does not hold (a 404 with no network)
        solara.Text(
            "Lines: mean of the replications; band: their range (luck only, every parameter "
            "at the sliders; not a credible interval). The reference is the baseline under "
            "the same world settings. The last chart is one world of the what-if that "
            "Step / Play advance; Reset starts it again.", style={"font-size": "0.85em"})
    model = solara.use_reactive(solara.use_memo(lambda: StepModel(cfg.scenario, seed=cfg.seed), []))
    pair = pair_shown.value

    def follow_update() -> None:
        # a new what-if replaces the stepped model in place: remounting SolaraViz (a key
        # change) leaves Mesa 3.3's tab view empty in the browser
        if pair is not None and pair.what_if.scenario is not model.value.scenario:
            model.set(StepModel(pair.what_if.scenario, seed=cfg.seed))

    solara.use_effect(follow_update, [id(pair)])
    SolaraViz(model, components=[(chart, 0) for chart in _CHARTS],
              model_params={"scenario": model.value.scenario, "seed": cfg.seed,
                            "engine": "expected"},
              name=f"marketsim explorer: {cfg.scenario.scenario.name}")
