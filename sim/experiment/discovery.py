"""Scenario discovery: the conditions under which a policy's effect crosses a threshold.

Given the uncertain inputs of many worlds (posterior draws, ``--vary`` ranges, structural
alternatives) and whether each world's paired effect passes a threshold, PRIM (Friedman &
Fisher 1999; Bryant & Lempert 2010) peels the input space down to a box where the outcome is
concentrated, and CART (Breiman et al. 1984) splits it into leaves; feature scores (extra
trees) rank the inputs by how much they explain the effect. PRIM is the EMA Workbench's
(Kwakkel 2017; BSD-3, the reference toolkit for scenario discovery); CART and the feature
scores are scikit-learn's with a fixed ``random_state`` (the Workbench's CART leaves its
tree's seed free and gives two leaves of a categorical split the same box). Every rule is
reproducible from ``robustness.parquet``.

A box is reported by its **coverage** (the share of all worlds with the outcome that fall in
the box) and **density** (the share of worlds in the box that have it), and its **mass**
(the share of all worlds in it). The box chosen on PRIM's peeling trajectory is the one with
the best harmonic mean of coverage and density among those restricting at most
:data:`MAX_DIMENSIONS` inputs: a rule that covers most of the cases, is mostly right inside,
and can be read.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Rule", "prim_rule", "cart_rules", "feature_scores", "inside_box", "describe_bounds",
           "MAX_DIMENSIONS"]

#: A rule restricts at most this many inputs: a box on ten inputs describes the sample, not a
#: condition a reader can act on (Bryant & Lempert 2010 keep 2-4), and PRIM's later peels
#: mostly fit noise.
MAX_DIMENSIONS = 3



@dataclass(frozen=True)
class Rule:
    """One box: restricted inputs and how well it describes the outcome."""

    method: str  #: "prim" or "cart"
    outcome: str  #: what the box describes, in words
    bounds: dict[str, tuple[float | None, float | None] | list[Any]]  #: input -> range or values
    coverage: float
    density: float
    mass: float
    cases: int  #: worlds with the outcome
    worlds: int
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``rules.json``)."""
        return asdict(self)


def _quiet_workbench() -> Any:
    """Import the workbench without its optional-backend warnings and log lines."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    logging.getLogger("EMA").setLevel(logging.ERROR)
    return prim


def _prepared(x: pd.DataFrame) -> pd.DataFrame:
    """Inputs as the workbench wants them: text columns as pandas categories."""
    x = x.reset_index(drop=True)
    return x.astype({c: "category" for c in x.columns if x[c].dtype.kind not in "fiub"})


def _bounds(lims: pd.DataFrame, initial: pd.DataFrame, x: pd.DataFrame
            ) -> dict[str, tuple[float | None, float | None] | list[Any]]:
    """The restricted inputs of a box: (low or None, high or None), or a set of categories."""
    out: dict[str, tuple[float | None, float | None] | list[Any]] = {}
    for name in x.columns:
        low, high = lims[name].iloc[0], lims[name].iloc[1]
        if isinstance(low, set) or isinstance(initial[name].iloc[0], set):
            if set(low) != set(initial[name].iloc[0]):
                out[name] = sorted(low)
            continue
        start_low, start_high = initial[name].iloc[0], initial[name].iloc[1]
        lo = None if low <= start_low else float(low)
        hi = None if high >= start_high else float(high)
        if lo is not None or hi is not None:
            out[name] = (lo, hi)
    return out


def _stats(inside: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    cases = max(int(y.sum()), 1)
    n_in = max(int(inside.sum()), 1)
    return (float((inside & y).sum() / cases), float((inside & y).sum() / n_in),
            float(inside.mean()))


def inside_box(x: pd.DataFrame, bounds: dict[str, Any]) -> np.ndarray:
    """Which worlds fall in a box (``bounds`` as in :class:`Rule`)."""
    inside = np.ones(len(x), dtype=bool)
    for name, bound in bounds.items():
        column = x[name]
        if isinstance(bound, list):
            inside &= column.isin(bound).to_numpy()
            continue
        low, high = bound
        if low is not None:
            inside &= column.to_numpy() >= low
        if high is not None:
            inside &= column.to_numpy() <= high
    return inside


def prim_rule(x: pd.DataFrame, y: np.ndarray, outcome: str) -> Rule | None:
    """The PRIM box of the worlds where ``y`` is true (None if no world has it, or all do).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = pd.DataFrame(rng.uniform(size=(400, 3)), columns=["a", "b", "c"])
        >>> rule = prim_rule(x, ((x.a > 0.6) & (x.b < 0.5)).to_numpy(), "in the box")
        >>> sorted(rule.bounds), rule.coverage >= 0.8 and rule.density >= 0.8
        (['a', 'b'], True)
    """
    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        return None
    prim = _quiet_workbench()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = prim.Prim(_prepared(x), y, threshold=0.5, peel_alpha=0.05,
                          mass_min=0.05).find_box()
    trajectory = found.peeling_trajectory.reset_index(drop=True)
    trajectory = trajectory[trajectory["res_dim"] <= MAX_DIMENSIONS]
    c, d = trajectory["coverage"], trajectory["density"]
    i = int((2 * c * d / (c + d)).idxmax())
    bounds = _bounds(found.box_lims[i], found.box_lims[0], x)
    coverage, density, mass = _stats(inside_box(x, bounds), y)
    return Rule("prim", outcome, bounds, coverage, density, mass, int(y.sum()), len(y))


def cart_rules(x: pd.DataFrame, y: np.ndarray, outcome: str, seed: int = 0,
               limit: int = 3) -> list[Rule]:
    """CART's leaves where ``y`` is mostly true, densest first (at most ``limit``).

    scikit-learn's tree on one-hot coded inputs (leaves of at least 5 % of the worlds,
    ``random_state`` fixed so ties split the same way every time); each leaf's path becomes
    a box: thresholds on numbers, allowed sets of categories.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = pd.DataFrame(rng.uniform(size=(400, 2)), columns=["a", "b"])
        >>> x["scope"] = rng.choice(["global", "regional"], 400)
        >>> best = cart_rules(x, ((x.a > 0.6) & (x.scope == "regional")).to_numpy(), "o")[0]
        >>> best.bounds["scope"], best.density == 1.0
        (['regional'], True)
    """
    from sklearn.tree import DecisionTreeClassifier

    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        return []
    categories = {c: sorted(map(str, x[c].unique())) for c in x.columns
                  if x[c].dtype.kind not in "fiub"}
    coded = pd.get_dummies(x.astype({c: str for c in categories}), prefix_sep="=",
                           dtype=float)
    columns = list(coded.columns)
    model = DecisionTreeClassifier(min_samples_leaf=max(1, int(0.05 * len(x))),
                                   max_depth=MAX_DIMENSIONS, random_state=seed)
    model.fit(coded.to_numpy(), y)
    tree = model.tree_
    rules = []

    def walk(node: int, bounds: dict[str, Any]) -> None:
        if tree.children_left[node] == -1:
            coverage, density, mass = _stats(inside_box(x, bounds), y)
            if density > 0.5:
                rules.append(Rule("cart", outcome, dict(bounds), coverage, density, mass,
                                  int(y.sum()), len(y)))
            return
        name, cut = columns[tree.feature[node]], float(tree.threshold[node])
        for child, below in ((tree.children_left[node], True),
                             (tree.children_right[node], False)):
            walk(int(child), _narrowed(bounds, name, cut, below, categories))

    walk(0, {})
    return sorted(rules, key=lambda r: (-r.density, -r.coverage))[:limit]


def _narrowed(bounds: dict[str, Any], column: str, cut: float, below: bool,
              categories: dict[str, list[str]]) -> dict[str, Any]:
    """``bounds`` with one more split: ``column <= cut`` (below) or ``> cut``."""
    out = dict(bounds)
    base, _, level = column.partition("=")
    if base in categories and level:
        allowed = out.get(base, list(categories[base]))
        # a dummy below 0.5 means "not this category"
        out[base] = [c for c in allowed if (c != level) == below]
        return out
    low, high = out.get(column, (None, None))
    if below:
        high = cut if high is None else min(high, cut)
    else:
        low = cut if low is None else max(low, cut)
    out[column] = (low, high)
    return out


def feature_scores(x: pd.DataFrame, effect: np.ndarray, seed: int) -> pd.Series:
    """How much each input explains the effect (extra-trees importance; sums to 1).

    Categorical inputs are one-hot coded first and their scores summed back.
    """
    from sklearn.ensemble import ExtraTreesRegressor

    coded = pd.get_dummies(x, prefix_sep="=", dtype=float)
    model = ExtraTreesRegressor(n_estimators=200, random_state=seed, n_jobs=1,
                                min_samples_leaf=2)
    model.fit(coded.to_numpy(), np.asarray(effect, dtype=float))
    raw = pd.Series(model.feature_importances_, index=coded.columns)
    scores = pd.Series({c: float(raw[[k for k in coded.columns
                                      if k == c or k.startswith(f"{c}=")]].sum())
                        for c in x.columns})
    total = scores.sum()
    return (scores / total if total > 0 else scores).sort_values(ascending=False)


def describe_bounds(bounds: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """A box in words: ``world.network_effect below 0.31 and price scope regional``."""
    names = names or {}
    parts = []
    for path, bound in bounds.items():
        label = names.get(path, path)
        if isinstance(bound, list):
            parts.append(f"{label} is {' or '.join(map(str, bound))}")
            continue
        low, high = bound
        if low is not None and high is not None:
            parts.append(f"{label} between {_num(low)} and {_num(high)}")
        elif low is not None:
            parts.append(f"{label} above {_num(low)}")
        else:
            parts.append(f"{label} below {_num(high)}")
    return " and ".join(parts) if parts else "anywhere in the ranges"


def _num(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}"
