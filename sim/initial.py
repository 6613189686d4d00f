"""Initial state as data: month-0 counts from the scenario and brand constants by inversion.

Each region gives its initial adoption per segment and its vendors' shares. The
month-0 counts reproduce them (to integer rounding). The brand constants
``xi[region, segment, vendor]`` are then set so that those shares are the *long-run*
shares of the choice chain at month-0 prices, capabilities and network shares
(Berry 1994 inversion, done by a BLP-style contraction because switching costs
make the stationary distribution differ from plain logit shares). Month 1
therefore starts from a steady state, not from an artificial jump.
"""

from __future__ import annotations

import numpy as np

from sim.demand import stationary_shares
from sim.errors import Problem, ScenarioError
from sim.scenario.schema import Scenario

__all__ = ["target_shares", "allocate", "initial_counts", "invert_brands"]

#: Share given to an available vendor the scenario leaves with nothing, so its
#: brand constant is finite (documented in docs/ODD.md).
SHARE_FLOOR = 1e-4
#: Share an available option is inverted at when the data gives it no adopters at all (a
#: region whose initial adoption is 0): its brand constant stays finite and the cell stays
#: (almost) empty in the long run, instead of ln(0) = -inf.
TARGET_FLOOR = 1e-9
DEFAULT_ADOPTION = 0.5


def target_shares(scenario: Scenario, vendor_names: list[str], available0: np.ndarray
                  ) -> np.ndarray:
    """Month-0 option shares ``pi[region, segment, option]`` (option 0 = no model).

    Args:
        scenario: The scenario.
        vendor_names: Vendors in table order.
        available0: ``[region, vendor]`` availability at month 0 (to the most
            restricted access group).

    Raises:
        ScenarioError: A share given for a vendor that cannot serve the region at month 0.
    """
    regions, segments = scenario.regions, scenario.segment_names
    pi = np.zeros((len(regions), len(segments), len(vendor_names) + 1))
    for r, region in enumerate(regions):
        for s, segment in enumerate(segments):
            shares = region.segment_shares.get(segment, region.initial_shares)
            where = (f"regions.{region.name}.segment_shares.{segment}"
                     if segment in region.segment_shares else
                     f"regions.{region.name}.initial_shares")
            inside = _vendor_shares(shares, vendor_names, available0[r], where)
            adoption = region.initial_adoption.get(segment, DEFAULT_ADOPTION)
            pi[r, s, 0] = 1.0 - adoption
            pi[r, s, 1:] = adoption * inside
    return pi


def _vendor_shares(shares: dict[str, float], names: list[str], available: np.ndarray,
                   where: str) -> np.ndarray:
    out = np.zeros(len(names))
    for name, share in shares.items():
        k = names.index(name)
        if not available[k] and share > 0:
            raise ScenarioError(Problem(
                f"gives {name} a share, but {name} is not available there at month 0 "
                "(a ban, a 'regions' list or withdrawal); remove the share",
                path=f"{where}.{name}"))
        out[k] = share
    unlisted = available & np.array([n not in shares for n in names])
    remainder = max(0.0, 1.0 - out.sum())
    if unlisted.any():
        out[unlisted] = max(remainder / unlisted.sum(), SHARE_FLOOR)
    out[available & (out <= 0)] = SHARE_FLOOR
    total = out.sum()
    if total <= 0:
        raise ScenarioError(Problem("no vendor is available here at month 0", path=where))
    return out / total


def allocate(total: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Split integer totals by shares with the largest-remainder method.

    Args:
        total: Integer totals, shape ``[...]``.
        shares: Shares summing to 1 over the last axis, shape ``[..., n]``.

    Returns:
        Non-negative integers ``[..., n]`` summing exactly to ``total``.
    """
    raw = total[..., None] * shares
    base = np.floor(raw).astype(np.int64)
    short = total.astype(np.int64) - base.sum(axis=-1)
    order = np.argsort(-(raw - base), axis=-1, kind="stable")
    rank = np.argsort(order, axis=-1, kind="stable")
    base += rank < short[..., None]
    return base


def initial_counts(potential: np.ndarray, group_fractions: np.ndarray, pi: np.ndarray,
                   available: np.ndarray) -> np.ndarray:
    """Month-0 counts ``N[region, segment, group, option]``.

    Args:
        potential: Potential adopters ``[region, segment]`` (integers).
        group_fractions: ``[region, group]``.
        pi: Target option shares ``[region, segment, option]``.
        available: ``[region, group, vendor]`` at month 0.
    """
    groups = allocate(potential, np.broadcast_to(group_fractions[:, None, :],
                                                 (*potential.shape, group_fractions.shape[1])))
    mask = np.concatenate([np.ones((*available.shape[:2], 1), dtype=bool), available], axis=-1)
    shares = pi[:, :, None, :] * mask[:, None, :, :]
    shares = shares / shares.sum(axis=-1, keepdims=True)
    return allocate(groups, shares)


def invert_brands(pi: np.ndarray, base_utility: np.ndarray, outside: np.ndarray,
                  switching: np.ndarray, available: np.ndarray, tol: float = 1e-13,
                  max_iter: int = 10_000) -> np.ndarray:
    """Brand constants ``xi[region, segment, vendor]``: the chain's long run reproduces ``pi``.

    Args:
        pi: Target shares ``[region, segment, option]``.
        base_utility: Vendor utility without the brand constant ``[region, segment, vendor]``.
        outside: ``U0[region, segment]``.
        switching: Effective switching cost ``[region, segment]``.
        available: ``[region, vendor]`` (most restricted group).
        tol: Convergence tolerance on the log-share correction.
        max_iter: Iteration cap of the contraction.

    Returns:
        ``xi``; vendors unavailable in a cell get their mean constant over the cells of
        the same segment where they are available (or the cell's lowest constant), so a
        later re-entry starts from a plausible brand.
    """
    mask = np.concatenate([np.ones((available.shape[0], 1), dtype=bool), available], axis=-1)
    mask = np.broadcast_to(mask[:, None, :], pi.shape)
    target = np.where(mask, np.maximum(pi, TARGET_FLOOR), 0.0)
    target /= target.sum(axis=-1, keepdims=True)
    log_w = np.where(mask, np.log(np.where(mask, target, 1.0)), -np.inf)
    for _ in range(max_iter):
        weights = np.exp(log_w - np.max(log_w, axis=-1, keepdims=True))
        fitted = stationary_shares(weights[:, :, None, :], switching)[:, :, 0, :]
        step = np.where(mask, np.log(np.where(mask, target, 1.0))
                        - np.log(np.where(mask, fitted, 1.0)), 0.0)
        log_w = np.where(mask, log_w + step, -np.inf)
        if np.max(np.abs(step)) < tol:
            break
    # utilities relative to the outside option: U_k - U_0 = ln w_k - ln w_0
    utility = outside[..., None] + log_w[..., 1:] - log_w[..., :1]
    xi = np.where(mask[..., 1:], utility - base_utility, np.nan)
    return _fill_missing(xi)


def _fill_missing(xi: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        mean = np.nanmean(xi, axis=0, keepdims=True) * np.ones_like(xi)  # over regions
    cell_min = np.nanmin(np.where(np.isnan(xi), np.inf, xi), axis=-1, keepdims=True)
    cell_min = np.where(np.isfinite(cell_min), cell_min, 0.0)
    filled = np.where(np.isnan(xi), mean, xi)
    return np.where(np.isnan(filled), cell_min * np.ones_like(xi), filled)
