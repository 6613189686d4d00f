"""Choosing what a figure shows (region, segment, outcome) without one figure per choice.

Every trace that belongs to one cell carries ``meta = {"region": ..., "segment": ...}``
(or ``"metric"`` for study figures); traces without a key (reference lines, global events)
show whatever is chosen. A trace is visible when each key it has matches the choice;
a list value matches any of its items (an EU policy marker shows for EU and World).

* In the HTML report, a toolbar with a Region and a Segment ``<select>`` (and per-figure
  selects for other dimensions) runs :data:`SELECTOR_JS`, which calls
  ``Plotly.restyle`` on every figure and shows the matching key-figures table. The page
  opens on the region and segment
  in ``<body data-region data-segment>`` (where the compared scenario's policies act), the
  same choice the figures were built showing, unless its address says otherwise: a deep
  link ``report.html#region=EU&segment=enterprise`` restores those selects, and
  every change writes the address, so it can be copied and shared.
* A figure on its own (``Results.figure``) gets a Plotly dropdown instead
  (:func:`add_menu`), so it works in a notebook.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

__all__ = ["matches", "apply_choice", "finish", "add_menu", "SELECTOR_JS", "title_for"]


def matches(meta: Any, choice: dict[str, str]) -> bool:
    """Whether a trace with ``meta`` is shown for ``choice`` (the JS rule, in Python)."""
    if not isinstance(meta, dict):
        return True
    for key, wanted in choice.items():
        if key not in meta:
            continue
        value = meta[key]
        if isinstance(value, list | tuple):
            if wanted not in value:
                return False
        elif value != wanted:
            return False
    return True


def title_for(base: str, dims: list[str], choice: dict[str, str],
              labels: dict[str, str] | None = None) -> str:
    """Figure title with the chosen cell, e.g. ``HHI - EU - enterprise``.

    A figure's own dimensions (``metric``, ``measure``, ``firm``) come first, by their label.
    """
    parts = [base]
    for dim in dims:
        if dim not in ("region", "segment") and choice.get(dim):
            parts.append((labels or {}).get(choice[dim], choice[dim]))
    if "region" in dims:
        parts.append(choice.get("region", "World"))
    if "segment" in dims:
        segment = choice.get("segment", "all")
        parts.append("all segments" if segment == "all" else segment)
    return " \u2014 ".join(parts)


def apply_choice(fig: go.Figure, choice: dict[str, str]) -> None:
    """Set trace visibility and the title for ``choice`` (used for the initial state)."""
    meta = fig.layout.meta or {}
    for trace in fig.data:
        trace.visible = matches(trace.meta, choice)
    if meta.get("title"):
        fig.layout.title.text = title_for(meta["title"], meta.get("dims", []), choice,
                                          meta.get("labels"))
    metric = choice.get("metric")
    if metric and metric in (meta.get("axis") or {}):
        fig.layout.yaxis.title.text = meta["axis"][metric]
        fig.layout.yaxis.type = meta["axistype"][metric]


def finish(fig: go.Figure, title: str, dims: list[str], choice: dict[str, str],
           subtitle: str | None = None, labels: dict[str, str] | None = None) -> go.Figure:
    """Record the base title and the figure's dimensions, and show ``choice``.

    Args:
        fig: The figure.
        title: Base title; the chosen region (segment, outcome) is appended.
        dims: Dimensions the selector may change (region, segment, metric).
        choice: What to show first.
        subtitle: A note under the title.
        labels: Display names of the values of the ``metric`` dimension.
    """
    # keep what builders recorded before (e.g. per-metric axis titles)
    meta: dict[str, object] = {**(fig.layout.meta or {}), "title": title, "dims": list(dims)}
    if labels:
        meta["labels"] = dict(labels)
    fig.update_layout(meta=meta)
    if subtitle:
        fig.update_layout(title={"subtitle": {"text": subtitle}})
    apply_choice(fig, choice)
    return fig


def add_menu(fig: go.Figure, dim: str, values: list[str], choice: dict[str, str]
             ) -> go.Figure:
    """Add a Plotly dropdown over one dimension (for a figure outside the report)."""
    meta = fig.layout.meta or {}
    buttons = []
    for value in values:
        pick = {**choice, dim: value}
        buttons.append({
            "label": value, "method": "update",
            "args": [{"visible": [matches(t.meta, pick) for t in fig.data]},
                     {"title.text": title_for(meta.get("title", ""), meta.get("dims", []),
                                              pick, meta.get("labels"))}]})
    fig.update_layout(updatemenus=[{
        "buttons": buttons, "active": values.index(choice[dim]) if choice.get(dim) in values
        else 0, "direction": "down", "showactive": True, "x": 1.0, "xanchor": "right",
        "y": 1.01, "yanchor": "bottom", "pad": {"r": 0, "t": 0, "b": 2}}])
    return fig


#: The report's selector: toolbar selects and per-figure selects drive Plotly.restyle.
SELECTOR_JS = r"""
(function () {
  "use strict";
  var page = {region: document.body.getAttribute("data-region") || "World",
              segment: document.body.getAttribute("data-segment") || "all"};
  function matches(meta, choice) {
    if (!meta || typeof meta !== "object" || Array.isArray(meta)) return true;
    for (var key in choice) {
      if (!Object.prototype.hasOwnProperty.call(meta, key)) continue;
      var value = meta[key];
      if (Array.isArray(value) ? value.indexOf(choice[key]) < 0 : value !== choice[key]) {
        return false;
      }
    }
    return true;
  }
  function titleFor(base, dims, choice, labels) {
    var parts = [base];
    dims.forEach(function (dim) {
      if (dim !== "region" && dim !== "segment" && choice[dim]) {
        parts.push((labels && labels[choice[dim]]) || choice[dim]);
      }
    });
    if (dims.indexOf("region") >= 0) parts.push(choice.region);
    if (dims.indexOf("segment") >= 0) {
      parts.push(choice.segment === "all" ? "all segments" : choice.segment);
    }
    return parts.join(" \u2014 ");
  }
  function choiceFor(div) {
    var choice = {region: page.region, segment: page.segment};
    var box = div.closest(".figure");
    if (box) {
      box.querySelectorAll("select[data-dim]").forEach(function (sel) {
        choice[sel.getAttribute("data-dim")] = sel.value;
      });
    }
    return choice;
  }
  function update(div) {
    if (!div.data || !div.layout) return;
    var choice = choiceFor(div);
    var visible = div.data.map(function (trace) { return matches(trace.meta, choice); });
    var changed = visible.some(function (v, i) { return div.data[i].visible !== v; });
    var meta = div.layout.meta || {};
    var layout = {};
    if (meta.title) {
      layout["title.text"] = titleFor(meta.title, meta.dims || [], choice, meta.labels);
    }
    if (meta.axis && choice.metric && meta.axis[choice.metric]) {
      layout["yaxis.title.text"] = meta.axis[choice.metric];
      layout["yaxis.type"] = meta.axistype[choice.metric];
    }
    if (changed) {
      Plotly.update(div, {visible: visible}, layout);
    } else if (meta.title) {
      Plotly.relayout(div, layout);
    }
  }
  function updateAll() {
    document.querySelectorAll(".js-plotly-plot").forEach(update);
    document.querySelectorAll("[data-region-table]").forEach(function (el) {
      var segment = el.getAttribute("data-segment-table");
      el.hidden = el.getAttribute("data-region-table") !== page.region ||
        (segment !== null && segment !== page.segment);
    });
    document.querySelectorAll(".chosen-region").forEach(function (el) {
      el.textContent = page.region;
    });
  }
  // the page's state in its address: #region=EU&segment=enterprise
  var PAGE_SELECTS = {region: "region-select", segment: "segment-select"};
  function writeHash() {
    var parts = [];
    Object.keys(PAGE_SELECTS).forEach(function (dim) {
      if (document.getElementById(PAGE_SELECTS[dim]) && page[dim] !== undefined) {
        parts.push(dim + "=" + encodeURIComponent(page[dim]));
      }
    });
    if (window.history && history.replaceState) {
      history.replaceState(null, "", "#" + parts.join("&"));
    }
  }
  function readHash() {
    var hash = window.location.hash.replace(/^#/, "");
    if (hash.indexOf("=") < 0) return false;  // a section link, not a state
    var changed = false;
    hash.split("&").forEach(function (part) {
      var pair = part.split("="), dim = pair[0], value;
      try { value = decodeURIComponent(pair[1] || ""); } catch (e) { return; }
      var sel = document.getElementById(PAGE_SELECTS[dim] || "");
      if (!sel || !Array.prototype.some.call(sel.options,
                                             function (o) { return o.value === value; })) {
        return;  // an unknown dimension or value keeps the page's own choice
      }
      sel.value = value;
      page[dim] = value;
      changed = true;
    });
    return changed;
  }
  function download(button) {
    window.marketsimUnpack(button.getAttribute("data-download")).then(function (text) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], {type: "text/csv"}));
      link.download = button.getAttribute("data-filename");
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    });
  }
  function init() {
    Object.keys(PAGE_SELECTS).forEach(function (dim) {
      var sel = document.getElementById(PAGE_SELECTS[dim]);
      if (!sel) return;
      if (page[dim] === undefined) page[dim] = sel.value;
      sel.value = page[dim];
      sel.addEventListener("change", function () {
        page[dim] = sel.value; updateAll(); writeHash();
      });
    });
    document.querySelectorAll(".figure select[data-dim]").forEach(function (sel) {
      sel.value = sel.getAttribute("data-initial");
      sel.addEventListener("change", function () {
        var div = sel.closest(".figure").querySelector(".js-plotly-plot");
        if (div) update(div);
      });
    });
    document.querySelectorAll("button[data-download]").forEach(function (button) {
      button.addEventListener("click", function () { download(button); });
    });
    readHash();
    updateAll();
    // the tables once they are unpacked, the figures once they are drawn
    document.addEventListener("marketsim:unpacked", updateAll);
    document.addEventListener("marketsim:drawn", updateAll);
    window.addEventListener("hashchange", function () { if (readHash()) updateAll(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
"""
