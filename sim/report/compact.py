"""Figures written compactly: one JSON block per page, repeated values stored once.

A comparison report holds thousands of traces (every scenario x region x segment x outcome,
so that the selectors switch without re-running anything), and written one
``Plotly.newPlot`` call per figure they repeat the same month axis, names, templates and
event markers hundreds of times. Here every figure of a page goes into one JSON block in
which

- numeric arrays are float32 typed arrays (``{"dtype": "f4", "bdata": ...}``, the form
  plotly.js decodes natively): 7 significant digits, more than any figure shows;
- a trace is ``{"$t": skeleton, ...}``: its own keys (:data:`OWN_KEYS`: data, name,
  cell) beside a skeleton (colour, mode, hover template) that traces share;
- a line's ``customdata`` that repeats its band's traces is ``{"$cols": [i, j]}``;
- every series (``y``) is 16-bit codes of its log magnitude (:func:`_relative`): each
  value within 0.03 % of itself, at any scale, written as differences in two byte planes
  (:func:`_delta_planes`), which gzip packs a third smaller;
- any JSON value of at least :data:`MIN_SHARED` characters that occurs more than once
  (the months axis, a legend name, the layout template, an event trace shown in three
  figures) is written once in ``shared`` and referenced as ``{"$s": index}``.

The block is then packed (:func:`pack`: gzip, then base64) into one
``<script type="application/octet-stream">``, which base64 keeps free of ``<`` and ``>``,
so nothing in a scenario's text can close it (the JSON inside escapes them as well).
:data:`LOADER_JS` unpacks it with the browser's ``DecompressionStream``, rebuilds each
figure (a fresh copy per use: Plotly mutates its inputs), draws them all and then fires
``marketsim:drawn`` on the document, for the selector to apply a deep link's choice. Packed
HTML (:func:`packed_html`: the key-figures tables) is written out first
(``marketsim:unpacked``); :func:`expand` does the same in Python.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections import Counter
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["MIN_SHARED", "OWN_KEYS", "compact_figures", "figures_json", "pack", "unpack",
           "packed_html", "expand", "LOADER_JS", "trace_types"]

#: Magnitude codes of a series (:func:`_relative`) and the decades they span at most.
MAGNITUDE_CODES = 32766
DECADES = 8.0
#: Shortest series worth coding (shorter ones stay float32).
MIN_CODED = 8
#: Shortest JSON text (characters) worth sharing; shorter values are cheaper inline.
MIN_SHARED = 20


def _to_f4(value: dict[str, Any]) -> dict[str, Any]:
    array = np.frombuffer(base64.b64decode(value["bdata"]), dtype="<f8").astype("<f4")
    out = {"dtype": "f4", "bdata": base64.b64encode(array.tobytes()).decode("ascii")}
    if "shape" in value:
        out["shape"] = value["shape"]
    return out


def _narrow(node: Any) -> Any:
    """Float64 typed arrays as float32, everywhere in ``node``."""
    if isinstance(node, dict):
        if node.get("dtype") == "f8" and isinstance(node.get("bdata"), str):
            return _to_f4(node)
        return {k: _narrow(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_narrow(v) for v in node]
    return node


def _columns_as_references(traces: list[Any]) -> list[Any]:
    """A two-column ``customdata`` that repeats other traces' ``y`` becomes references.

    A line's hover shows its band (``customdata`` = the band's lower and upper traces' y),
    so the band would otherwise be written twice: ``{"$cols": [i, j]}`` names the traces.
    """
    where = {t["y"]["bdata"]: i for i, t in enumerate(traces)
             if isinstance(t, dict) and isinstance(t.get("y"), dict)
             and t["y"].get("dtype") == "f4" and "shape" not in t["y"]}
    for trace in traces:
        custom = trace.get("customdata") if isinstance(trace, dict) else None
        if not (isinstance(custom, dict) and custom.get("dtype") == "f4"
                and str(custom.get("shape", "")).replace(" ", "").endswith(",2")):
            continue
        cols = np.frombuffer(base64.b64decode(custom["bdata"]), dtype="<f4").reshape(-1, 2)
        found = [where.get(base64.b64encode(np.ascontiguousarray(cols[:, c]).tobytes())
                           .decode("ascii")) for c in (0, 1)]
        if None not in found:
            trace["customdata"] = {"$cols": found}
    return traces


def _relative(typed: dict[str, Any]) -> dict[str, Any]:
    """A series as 16-bit codes of its log magnitude: ``{"$r": [bdata, low, step]}``.

    Code 0 is an exact zero, 65535 NaN; otherwise bit 15 is the sign and the low 15 bits
    ``k`` (1 .. :data:`MAGNITUDE_CODES`) give ``|v| = 10 ** (low + (k - 1) * step)`` over
    the series' own magnitudes, at most :data:`DECADES` decades below its largest. Every
    value is therefore within ``10 ** (step / 2) - 1`` of itself (0.03 % at most), at every
    scale, which is finer than any figure's axis or hover shows; a magnitude more than
    :data:`DECADES` decades below the series' largest is drawn at that floor. The tables
    and the CSV carry the full numbers.
    """
    values = np.frombuffer(base64.b64decode(typed["bdata"]), dtype="<f4").astype(float)
    finite = np.isfinite(values)
    nonzero = finite & (values != 0)
    if not nonzero.any():
        return typed
    mags = np.log10(np.abs(values[nonzero]))
    high = float(mags.max())
    low = max(float(mags.min()), high - DECADES)
    step = (high - low) / (MAGNITUDE_CODES - 1) if high > low else 1.0
    k = np.rint((np.clip(mags, low, high) - low) / step).astype(np.int64) + 1
    codes = np.zeros(len(values), dtype=np.int64)
    codes[nonzero] = k + np.where(values[nonzero] < 0, 32768, 0)
    codes[~finite] = 65535
    return {"$r": [base64.b64encode(_delta_planes(codes)).decode("ascii"), low, step]}


def _delta_planes(codes: np.ndarray) -> bytes:
    """16-bit codes as their differences (mod 2**16), low bytes first, then high bytes.

    A smooth series' codes change by small steps, so the differences' high bytes are
    nearly all 0x00 or 0xFF and the low bytes repeat: gzip packs the two planes about a
    third smaller than the codes themselves (measured on an 8-scenario report: 2.58 MB of
    figure data became 1.84 MB). The loader adds the differences back up.
    """
    delta = (np.diff(codes.astype(np.int64), prepend=0) % 65536).astype("<u2")
    pairs = np.frombuffer(delta.tobytes(), dtype=np.uint8).reshape(-1, 2)
    return np.concatenate([pairs[:, 0], pairs[:, 1]]).tobytes()


def _coded_series(traces: list[Any]) -> list[Any]:
    """Every trace's ``y`` series of :data:`MIN_CODED` points or more, as :func:`_relative`."""
    for trace in traces:
        y = trace.get("y") if isinstance(trace, dict) else None
        if (isinstance(y, dict) and y.get("dtype") == "f4" and "shape" not in y
                and len(y.get("bdata", "")) * 3 // 16 >= MIN_CODED):
            trace["y"] = _relative(y)
    return traces


#: Trace keys that differ from trace to trace; the rest of a trace is its *skeleton*.
OWN_KEYS = frozenset({"x", "y", "customdata", "meta", "name", "visible", "text",
                      "hovertext", "showlegend"})


def _skeletons(traces: list[Any]) -> list[Any]:
    """Each trace as ``{"$t": skeleton, **own}``, so that repeated skeletons are shared."""
    out = []
    for trace in traces:
        if not isinstance(trace, dict):
            out.append(trace)
            continue
        own = {k: v for k, v in trace.items() if k in OWN_KEYS}
        skeleton = {k: v for k, v in trace.items() if k not in OWN_KEYS}
        out.append({"$t": skeleton, **own} if skeleton else own)
    return out


def _key(node: Any) -> str:
    return json.dumps(node, sort_keys=True, separators=(",", ":"))


def _count(node: Any, counts: Counter[str]) -> None:
    if isinstance(node, dict | list):
        key = _key(node)
        if len(key) >= MIN_SHARED:
            counts[key] += 1
        for child in node.values() if isinstance(node, dict) else node:
            _count(child, counts)
    elif isinstance(node, str) and len(node) >= MIN_SHARED:
        counts[_key(node)] += 1


class _Sharer:
    """Replaces repeated values by references into one table."""

    def __init__(self, counts: Counter[str]):
        self.repeated = {k for k, n in counts.items() if n > 1}
        self.index: dict[str, int] = {}
        self.table: list[Any] = []

    def __call__(self, node: Any) -> Any:
        if isinstance(node, dict | list | str):
            key = _key(node) if not isinstance(node, str) or len(node) >= MIN_SHARED else ""
            if key in self.repeated:
                if key not in self.index:
                    self.index[key] = len(self.table)
                    self.table.append(None)  # reserve the slot before the children
                    self.table[self.index[key]] = self._inner(node)
                return {"$s": self.index[key]}
        return self._inner(node)

    def _inner(self, node: Any) -> Any:
        if isinstance(node, dict):
            return {k: self(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self(v) for v in node]
        return node


def trace_types(figures: list[go.Figure]) -> frozenset[str]:
    """The trace types the figures draw (``scatter`` when a trace names none)."""
    return frozenset(t.type or "scatter" for fig in figures for t in fig.data)


def compact_figures(figures: list[tuple[str, go.Figure]], config: dict[str, Any]
                    ) -> dict[str, Any]:
    """The page's figure block: ``{"config", "shared", "figures": [{id, data, layout}]}``."""
    specs = []
    for div_id, fig in figures:
        spec = json.loads(pio.to_json(fig, validate=False, remove_uids=True))
        specs.append({"id": div_id,
                      "data": _skeletons(_coded_series(_columns_as_references(
                          _narrow(spec.get("data", []))))),
                      "layout": _narrow(spec.get("layout", {}))})
    counts: Counter[str] = Counter()
    for spec in specs:
        _count(spec["data"], counts)
        _count(spec["layout"], counts)
    share = _Sharer(counts)
    out = [{"id": s["id"], "data": share(s["data"]), "layout": share(s["layout"])}
           for s in specs]
    return {"config": config, "shared": share.table, "figures": out}


def pack(text: str) -> str:
    """``text`` gzipped (no timestamp: the same text gives the same bytes), then base64.

    The page unpacks it with the browser's own ``DecompressionStream``. The figures' JSON
    is mostly repeated structure and 16-bit codes of smooth series, so it shrinks to about
    two fifths even with base64's third added.

    Example:
        >>> unpack(pack("x" * 1000)) == "x" * 1000 and len(pack("x" * 1000)) < 60
        True
    """
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
                            ).decode("ascii")


def unpack(text: str) -> str:
    """The inverse of :func:`pack` (for tests and for reading a report's data)."""
    return gzip.decompress(base64.b64decode(text)).decode("utf-8")


def packed_html(block_id: str, html: str) -> str:
    """HTML written packed: an empty target the loader fills, and the packed block.

    For the key-figures tables, which repeat the same rows for every region and segment
    and shrink about tenfold packed.
    """
    return (f"<div class='packed' data-unpack='{block_id}'></div>"
            f"<script type='application/octet-stream' id='{block_id}' "
            f"data-encoding='gzip+base64'>{pack(html)}</script>")


PACKED = re.compile(r"<div class='packed' data-unpack='([\w-]+)'></div>"
                    r"<script type='application/octet-stream' id='\1' "
                    r"data-encoding='gzip\+base64'>([A-Za-z0-9+/=]*)</script>")
BLOCK = re.compile(r"<script type='application/octet-stream' id='([\w-]+)' "
                   r"data-encoding='gzip\+base64'>([A-Za-z0-9+/=]*)</script>")


def expand(page: str) -> str:
    """A report page with everything packed written out: what the browser holds.

    Packed HTML (the tables) takes its place; a packed data block (the figures' JSON, the
    CSV) becomes a plain script block of its text. For tests and for anyone who wants to
    read or grep a report's data.

    Example:
        >>> expand("<p>" + packed_html("t", "<b>x</b>") + "</p>")
        '<p><b>x</b></p>'
    """
    page = PACKED.sub(lambda m: unpack(m.group(2)), page)
    return BLOCK.sub(lambda m: f"<script type='text/plain' id='{m.group(1)}'>"
                     f"{unpack(m.group(2))}</script>", page)


def figures_json(block: dict[str, Any]) -> str:
    """The block as JSON that is safe inside ``<script>`` (no ``<``, ``>`` or ``/``)."""
    text = json.dumps(block, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("/", "\\/")


#: Draws every figure of the block in ``#marketsim-figures``.
LOADER_JS = r"""
(function () {
  "use strict";
  function bytes(b64) {
    return Uint8Array.from(atob(b64), function (c) { return c.charCodeAt(0); }).buffer;
  }
  // a packed block: gzip, then base64 (pack() in sim/report/compact.py)
  function unpack(id) {
    var text = document.getElementById(id).textContent.trim();
    if (typeof DecompressionStream === "undefined") {
      return Promise.reject(new Error("this browser cannot decompress the report's data " +
        "(it needs DecompressionStream: Chrome 80, Firefox 113, Safari 16.4 or later)"));
    }
    var stream = new Blob([bytes(text)]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }
  window.marketsimUnpack = unpack;
  // 16-bit magnitude codes, stored as differences in two byte planes (_delta_planes)
  function relative(q) {
    var planes = new Uint8Array(bytes(q[0])), n = planes.length / 2;
    var out = new Float64Array(n), c = 0;
    for (var k = 0; k < n; k++) {
      c = (c + (planes[k] | (planes[n + k] << 8))) & 65535;
      if (c === 65535) { out[k] = NaN; continue; }
      if (c === 0) { out[k] = 0; continue; }
      var v = Math.pow(10, q[1] + ((c & 32767) - 1) * q[2]);
      out[k] = (c & 32768) ? -v : v;
    }
    return out;
  }
  function numbers(y) {
    return ArrayBuffer.isView(y) ? y : new Float32Array(bytes(y.bdata));
  }
  function draw(block) {
    var shared = block.shared;
    function build(v) {
      if (Array.isArray(v)) return v.map(build);
      if (v && typeof v === "object") {
        var keys = Object.keys(v);
        if (keys.length === 1 && keys[0] === "$s") return build(shared[v.$s]);
        if (keys.length === 1 && keys[0] === "$r") return relative(build(v.$r));
        var out = v.$t ? build(v.$t) : {};
        keys.forEach(function (k) { if (k !== "$t") out[k] = build(v[k]); });
        return out;
      }
      return v;
    }
    function columns(data) {
      data.forEach(function (trace) {
        var ref = trace.customdata && trace.customdata.$cols;
        if (!ref) return;
        var a = numbers(data[ref[0]].y), b = numbers(data[ref[1]].y), rows = [];
        for (var k = 0; k < a.length; k++) rows.push([a[k], b[k]]);
        trace.customdata = rows;
      });
      return data;
    }
    return Promise.all(block.figures.map(function (f) {
      var div = document.getElementById(f.id);
      return div ? Plotly.newPlot(div, columns(build(f.data)), build(f.layout), block.config)
        : null;
    }));
  }
  // plotly.js is packed as well (sim/report/page.py): unpacked while the tables are, then
  // run in the global scope (an indirect eval), where it defines window.Plotly
  function plotly() {
    if (window.Plotly || !document.getElementById("plotly-js")) return Promise.resolve();
    return unpack("plotly-js").then(function (source) { (0, eval)(source); });
  }
  var ready = plotly();
  // packed HTML (the key-figures tables) first, then the figures
  var targets = Array.prototype.slice.call(document.querySelectorAll("[data-unpack]"));
  Promise.all(targets.map(function (el) {
    return unpack(el.getAttribute("data-unpack")).then(function (html) {
      el.outerHTML = html;
    });
  })).then(function () {
    document.dispatchEvent(new Event("marketsim:unpacked"));
    return Promise.all([unpack("marketsim-figures"), ready]);
  }).then(function (done) { return draw(JSON.parse(done[0])); })
    .then(function () { document.dispatchEvent(new Event("marketsim:drawn")); })
    .catch(function (error) {
      var note = document.createElement("p");
      note.className = "unpack-error";
      note.textContent = "The figures could not be drawn: " + error.message;
      document.querySelector("main").prepend(note);
      console.error(error);
    });
})();
"""
