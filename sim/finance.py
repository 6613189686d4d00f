"""Accounting (phase 5): usage, revenue, serving cost, compliance, subsidies, R&D and cash.

Every flow is booked in the vendor ledger (:data:`sim.agents.vendor.LEDGER_FLOWS`)
so a run's cash balances to the cent: ``cash_T = cash_0 + sum(ledger)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.agents.vendor import VendorTable
from sim.capability import rd_budget
from sim.policies import Rules

__all__ = ["Books", "usage_by_region", "close_month", "pay_subsidies"]


@dataclass
class Books:
    """This month's flows per vendor, ``[vendor]`` or ``[region, vendor]`` (USD)."""

    usage: np.ndarray  #: [region, vendor] M tokens
    revenue: np.ndarray  #: [region, vendor]
    compliance: np.ndarray  #: [region, vendor]
    subsidy: np.ndarray  #: [region, vendor]
    indirect: np.ndarray  #: [vendor]
    serving: np.ndarray  #: [vendor]
    rd: np.ndarray  #: [vendor]
    profit: np.ndarray  #: [vendor] operating profit before R&D


def usage_by_region(counts: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Tokens used ``[region, segment, vendor]`` from counts ``[region, segment, vendor]``."""
    return counts * tokens[None, :, None]


def pay_subsidies(rules: Rules, vendors: VendorTable, usage: np.ndarray) -> np.ndarray:
    """Split each active vendor-subsidy budget among the open vendors available in its region.

    The vendors' part of a budget is shared by usage in the region; if no open vendor has
    usage there it is shared equally among those available, and not paid if none is.

    Returns:
        Subsidy ``[region, vendor]`` paid this month.
    """
    n_r = usage.shape[0]
    paid = np.zeros((n_r, vendors.count))
    is_open = vendors.view("is_open")
    for policy, regions in rules.subsidies:
        part = {"vendors": 1.0, "contributors": 0.0}.get(policy.recipients,
                                                         1.0 - policy.contributor_fraction)
        if part <= 0:
            continue
        for r in regions:
            eligible = is_open & rules.available[r].any(axis=0)
            if not eligible.any():
                continue
            weights = np.where(eligible, usage[r], 0.0)
            if weights.sum() <= 0:
                weights = eligible.astype(float)
            paid[r] += policy.budget * part * weights / weights.sum()
    return paid


def close_month(vendors: VendorTable, rules: Rules, counts: np.ndarray, tokens: np.ndarray,
                cost: np.ndarray, funding_now: np.ndarray, subsidy: np.ndarray) -> Books:
    """Book the month's flows and update cash.

    Args:
        vendors: The vendor table (prices, hosted fractions, cash...).
        rules: Rules in force (compliance).
        counts: Adopters ``[region, segment, vendor]`` after this month's choices.
        tokens: Tokens per adopter per segment this month.
        cost: Serving cost per M tokens per vendor.
        funding_now: External funding per vendor this month.
        subsidy: Subsidies ``[region, vendor]`` from :func:`pay_subsidies`.
    """
    alive = vendors.view("alive")
    usage = usage_by_region(counts, tokens).sum(axis=1)  # [region, vendor]
    billed = usage * vendors.view("hosted")[None, :]
    revenue = billed * vendors.view("price")[None, :]
    serving = (billed * cost[None, :]).sum(axis=0)
    indirect = vendors.view("indirect") * counts.sum(axis=(0, 1))
    selling = vendors.view("served").T & rules.available.any(axis=1) & alive[None, :]
    compliance = np.where(selling, rules.compliance_fixed + rules.compliance_share * revenue, 0.0)
    operating = revenue.sum(axis=0) + indirect - serving - compliance.sum(axis=0)
    funding_now = np.where(alive, funding_now, 0.0)
    budget = np.where(alive, rd_budget(vendors.view("rd_share"), funding_now, operating), 0.0)
    received = subsidy.sum(axis=0)
    vendors.book("funding", funding_now)
    vendors.book("revenue", revenue.sum(axis=0))
    vendors.book("indirect", indirect)
    vendors.book("subsidy", received)
    vendors.book("serving", -serving)
    vendors.book("compliance", -compliance.sum(axis=0))
    vendors.book("rd", -budget)
    vendors.view("cash")[:] += funding_now + received + operating - budget
    vendors.view("profit")[:] = operating
    vendors.view("revenue_region")[:] = revenue.T
    vendors.view("margin_region")[:] = (revenue - billed * cost[None, :]).T \
        + (vendors.view("indirect")[:, None] * counts.sum(axis=1).T)
    return Books(usage, revenue, compliance, subsidy, indirect, serving, budget, operating)
