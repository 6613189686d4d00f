"""How scenarios and firms look in figures: colours safe for colour-blind readers, dashes.

Every figure draws a scenario in one colour and one dash (:func:`scenario_style`), so that
scenarios stay apart for readers with a colour-vision deficiency, in greyscale and in print.
"""

from __future__ import annotations

__all__ = ["PALETTE", "DASHES", "VENDOR_PALETTE", "rgba", "scenario_style"]

#: One colour per scenario (first = reference): the Okabe-Ito palette (Okabe and Ito 2008,
#: "Color Universal Design"), which readers with any common colour-vision deficiency can
#: tell apart, in an order that keeps the first pairs far apart (blue, vermillion, green).
#: Yellow is last: it is faint on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#8C6D31", "#999999", "#F0E442")
#: One line dash per scenario, with the colour, so that scenarios differ in print and in
#: greyscale too (the reference is solid).
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot", "solid", "dash",
          "dot", "dashdot")
#: Vendor colours (stacked areas).
VENDOR_PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b",
                  "#b279a2", "#ff9da6", "#9d755d", "#bab0ac", "#1f5aa6", "#7f3c8d")


def rgba(colour: str, alpha: float) -> str:
    """A ``#rrggbb`` colour as CSS ``rgba`` with opacity ``alpha``."""
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def scenario_style(index: int) -> tuple[str, str]:
    """The colour and dash of the ``index``-th scenario (0 = the reference).

    Example:
        >>> scenario_style(0), scenario_style(1)
        (('#0072B2', 'solid'), ('#D55E00', 'dash'))
    """
    return PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)]
