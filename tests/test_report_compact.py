"""The compact figure block (sim/report/compact.py): what the page's loader rebuilds.

``rebuild`` below is the page's LOADER_JS in Python, step for step, so these tests check
that the block the report writes decodes to the figures that were built; the browser tests
(test_report_kinds_browser.py) check the JavaScript itself on real reports.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.report.compact import (
    DECADES,
    LOADER_JS,
    _relative,
    compact_figures,
    figures_json,
)


def _decode_relative(q: list[Any]) -> np.ndarray:
    """The loader's decoding, step by step: differences in byte planes, then magnitudes."""
    planes = base64.b64decode(q[0])
    n = len(planes) // 2
    codes, c = [], 0
    for k in range(n):
        c = (c + (planes[k] | planes[n + k] << 8)) % 65536
        codes.append(c)
    out = np.empty(n)
    for k, c in enumerate(codes):
        if c == 65535:
            out[k] = math.nan
        elif c == 0:
            out[k] = 0.0
        else:
            v = 10 ** (q[1] + ((c & 32767) - 1) * q[2])
            out[k] = -v if c & 32768 else v
    return out


def _typed(v: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(v["bdata"]), dtype="<" + v["dtype"])


def rebuild(block: dict[str, Any]) -> list[dict[str, Any]]:
    """The loader's ``build`` and ``columns``: each figure's data and layout."""
    shared = block["shared"]

    def build(v: Any) -> Any:
        if isinstance(v, list):
            return [build(x) for x in v]
        if isinstance(v, dict):
            if list(v) == ["$s"]:
                return build(shared[v["$s"]])
            if list(v) == ["$r"]:
                return _decode_relative(build(v["$r"]))
            out = build(v["$t"]) if "$t" in v else {}
            out.update({k: build(x) for k, x in v.items() if k != "$t"})
            return out
        return v

    figures = []
    for f in block["figures"]:
        data = build(f["data"])
        for trace in data:
            ref = trace.get("customdata", {})
            if isinstance(ref, dict) and "$cols" in ref:
                a, b = (np.asarray(data[i]["y"] if isinstance(data[i]["y"], np.ndarray)
                                   else _typed(data[i]["y"])) for i in ref["$cols"])
                trace["customdata"] = np.column_stack([a, b])
        figures.append({"id": f["id"], "data": data, "layout": build(f["layout"])})
    return figures


FINITE = st.floats(min_value=-2.0**50, max_value=2.0**50, allow_nan=False, width=32)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(FINITE, st.just(0.0), st.just(math.nan)), min_size=1, max_size=90))
def test_every_value_comes_back_within_its_relative_precision(values: list[float]) -> None:
    array = np.array(values, dtype="<f4").astype(float)
    typed = {"dtype": "f4", "bdata": base64.b64encode(array.astype("<f4").tobytes()).decode()}
    coded = _relative(typed)
    if "$r" not in coded:  # nothing but zeros and NaN: kept as it was
        assert not np.any(np.isfinite(array) & (array != 0))
        return
    back = _decode_relative(coded["$r"])
    assert np.array_equal(np.isnan(back), np.isnan(array))
    finite = np.isfinite(array)
    assert np.array_equal(back[finite] == 0, array[finite] == 0)  # zeros exact
    assert np.array_equal(np.sign(back[finite]), np.sign(array[finite]))
    largest = np.abs(array[finite]).max()
    big = finite & (np.abs(array) >= largest * 10 ** -DECADES)
    rel = np.abs(back[big] - array[big]) / np.abs(array[big])
    assert rel.max(initial=0.0) <= 3e-4
    small = finite & (array != 0) & ~big  # drawn at the floor, 8 decades below the largest
    assert np.all(np.abs(back[small]) <= largest * 10 ** -DECADES * 1.001)


def _figure(name: str) -> go.Figure:
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    lo, hi, mean = np.linspace(1, 2, 12), np.linspace(3, 5, 12), np.linspace(2, 3.5, 12)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=months, y=lo, mode="lines", line={"width": 0}))
    fig.add_trace(go.Scatter(x=months, y=hi, mode="lines", fill="tonexty", line={"width": 0}))
    fig.add_trace(go.Scatter(x=months, y=mean, name=name, mode="lines",
                             customdata=np.column_stack([lo, hi]),
                             hovertemplate="%{y} (%{customdata[0]} to %{customdata[1]})"))
    fig.update_layout(template="plotly_white", title={"text": name})
    return fig


def test_the_block_rebuilds_the_figures_and_stores_repeats_once() -> None:
    figures = [("fig-1", _figure("one </script><b>")), ("fig-2", _figure("two"))]
    block = compact_figures(figures, {"displaylogo": False})
    text = figures_json(block)
    assert "<" not in text and ">" not in text  # nothing can close the script block
    assert text.count("2024-01") == 1  # the months axis, the template: written once
    assert text.count("plotly_white") <= 1 and text.count('"tonexty"') == 1
    rebuilt = rebuild(json.loads(text))
    for (_, fig), back in zip(figures, rebuilt, strict=True):
        want = json.loads(fig.to_json())
        assert back["layout"]["title"] == want["layout"]["title"]
        assert back["layout"]["template"] == want["layout"]["template"]
        for original, trace in zip(fig.data, back["data"], strict=True):
            assert trace["x"] == list(original.x)
            assert trace.get("name") == original.name
            assert np.allclose(np.asarray(trace["y"], dtype=float), original.y, rtol=3e-4)
        # the line's hover band is the band's own traces, not a second copy of them
        assert block["figures"][0]["data"][2]["customdata"] == {"$cols": [0, 1]}
        assert np.allclose(back["data"][2]["customdata"], fig.data[2].customdata, rtol=3e-4)


def test_the_loader_handles_every_form_the_block_uses() -> None:
    for form in ('"$s"', '"$t"', '"$r"', "$cols", "Plotly.newPlot", "marketsim-figures"):
        assert form.strip('"') in LOADER_JS
