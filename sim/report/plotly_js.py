"""The plotly.js a report inlines (packed): the basic or cartesian partial bundle, or the full one.

A report holds its own copy of plotly.js so that it opens with no network. The full bundle
that plotly.py ships is 4.8 MB, more than the 3.5 MB a whole report may weigh (issue 19),
and most of it draws maps, 3-D and finance charts no report uses. Plotly publishes partial
bundles of the same release: the *basic* one (1.2 MB: scatter, bar, pie) draws run reports,
the *cartesian* one (1.5 MB: also histogram, heatmap, box, ...) every other report.
``assets/plotly-basic.min.js`` and ``assets/plotly-cartesian.min.js`` are those bundles,
unmodified, from the npm packages ``plotly.js-basic-dist-min`` and
``plotly.js-cartesian-dist-min`` (MIT licence, beside them); ``scripts/vendor_plotly.py``
fetches them again for another plotly.py release.

A partial bundle is used only when it is the release plotly.py was built against (the
figure JSON follows that release's schema) and the page draws no trace type outside it;
otherwise the page inlines plotly.py's full bundle, which is always correct, only larger.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from plotly.offline import get_plotlyjs, get_plotlyjs_version

__all__ = ["BUNDLES", "bundle_version", "plotly_js", "partial_bundle", "packed_plotly_js"]

ASSETS = Path(__file__).with_name("assets")
#: The partial bundles, smallest first, with the trace types each registers (their READMEs).
BUNDLES: tuple[tuple[Path, frozenset[str]], ...] = (
    (ASSETS / "plotly-basic.min.js", frozenset({"bar", "pie", "scatter"})),
    (ASSETS / "plotly-cartesian.min.js",
     frozenset({"bar", "box", "contour", "heatmap", "histogram", "histogram2d",
                "histogram2dcontour", "image", "pie", "scatter", "scatterternary", "violin"})),
)


def partial_bundle(trace_types: frozenset[str] = frozenset({"scatter"})) -> Path | None:
    """The smallest vendored bundle that draws ``trace_types`` for this plotly.py, if any.

    Example:
        >>> partial_bundle(frozenset({"scattergeo"})) is None
        True
    """
    for path, types in BUNDLES:
        if trace_types <= types and bundle_version(path) == get_plotlyjs_version():
            return path
    return None


@lru_cache(maxsize=8)
def bundle_version(path: Path) -> str | None:
    """The plotly.js release a bundle's header names (``* plotly.js (basic - minified) v4.1.1``).

    None when the file is missing or names none.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(300)
    except OSError:
        return None
    match = re.search(r"\* plotly\.js[^\n]* v(\d+\.\d+\.\d+)\s", head)
    return match.group(1) if match else None


@lru_cache(maxsize=4)
def plotly_js(trace_types: frozenset[str] = frozenset({"scatter"})) -> str:
    """The plotly.js source a page with ``trace_types`` inlines (partial when it can)."""
    path = partial_bundle(trace_types)
    return get_plotlyjs() if path is None else path.read_text(encoding="utf-8")


@lru_cache(maxsize=4)
def packed_plotly_js(trace_types: frozenset[str] = frozenset({"scatter"})) -> str:
    """:func:`plotly_js` gzipped and base64-encoded, as a page holds it.

    Packed, the basic bundle weighs about a third of its 1.2 MB, which leaves room under a
    report's 3.5 MB for the figures of a dozen scenarios; the page's loader unpacks it with
    the figures (:data:`sim.report.compact.LOADER_JS`), still with no network.
    """
    from sim.report.compact import pack

    return pack(plotly_js(trace_types))
