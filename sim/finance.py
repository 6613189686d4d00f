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

__all__ = ["Books", "usage_by_region", "region_margins", "seed_expectations", "close_month",
           "pay_subsidies", "legally_offered"]


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

    def padded(self, n_vendors: int) -> Books:
        """The same flows with zero columns for vendors that entered after accounting."""
        def pad(x: np.ndarray) -> np.ndarray:
            extra = n_vendors - x.shape[-1]
            if extra <= 0:
                return x
            return np.concatenate([x, np.zeros((*x.shape[:-1], extra))], axis=-1)

        return Books(*(pad(getattr(self, f)) for f in (
            "usage", "revenue", "compliance", "subsidy", "indirect", "serving", "rd", "profit")))


def usage_by_region(counts: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Tokens used ``[region, segment, vendor]`` from counts ``[region, segment, vendor]``."""
    return counts * tokens[None, :, None]


def pay_subsidies(rules: Rules, vendors: VendorTable, usage: np.ndarray) -> np.ndarray:
    """Split each active vendor-subsidy budget among the open vendors offered in its region.

    Eligible are open vendors legally offered there (:func:`legally_offered`: a banned
    vendor reached only by evaders gets none). The vendors' part of a budget is shared by
    usage in the region; if no eligible vendor has usage there it is shared equally among
    them, and not paid if none is eligible.

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
            eligible = is_open & legally_offered(rules)[r]
            if not eligible.any():
                continue
            weights = np.where(eligible, usage[r], 0.0)
            if weights.sum() <= 0:
                weights = eligible.astype(float)
            paid[r] += policy.budget * part * weights / weights.sum()
    return paid


def legally_offered(rules: Rules) -> np.ndarray:
    """``[region, vendor]``: offered to the access group every ban binds (no ban on it there).

    A vendor reached only by evaders of a ban (``enforcement < 1``) is not legally
    serving the region: it owes no compliance cost there and has nothing to withdraw.
    """
    return rules.available[:, -1, :]


def region_margins(vendors: VendorTable, counts: np.ndarray, tokens: np.ndarray,
                   cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Revenue and margin per vendor and region this month, ``[vendor, region]`` (USD).

    The margin is billed revenue minus the serving cost of billed usage plus, for open
    vendors, the indirect value of the vendor's adopters there (before compliance, R&D and funding).

    Args:
        vendors: The vendor table.
        counts: Adopters ``[region, segment, vendor]``.
        tokens: Tokens per adopter per segment.
        cost: Serving cost per M tokens per vendor.
    """
    usage = usage_by_region(counts, tokens).sum(axis=1)  # [region, vendor]
    billed = usage * vendors.view("hosted")[None, :]
    revenue = billed * vendors.view("price")[None, :]
    indirect = vendors.view("indirect") * vendors.view("is_open")
    margin = revenue - billed * cost[None, :] + indirect[None, :] * counts.sum(axis=1)
    return revenue.T, margin.T


def seed_expectations(vendors: VendorTable, counts: np.ndarray, tokens: np.ndarray,
                      cost: np.ndarray) -> None:
    """Set vendors' expected regional revenue and margin to the month-0 values.

    Withdrawal decisions weigh an exponential average of past margins; at month 0
    it starts from the initial state (which is data), not from zero.
    """
    revenue, margin = region_margins(vendors, counts, tokens, cost)
    vendors.view("revenue_region")[:] = revenue
    vendors.view("margin_region")[:] = margin


def close_month(vendors: VendorTable, rules: Rules, counts: np.ndarray, tokens: np.ndarray,
                cost: np.ndarray, funding_now: np.ndarray, subsidy: np.ndarray,
                smoothing: float = 1.0) -> Books:
    """Book the month's flows and update cash.

    Args:
        vendors: The vendor table (prices, hosted fractions, cash...).
        rules: Rules in force (compliance).
        counts: Adopters ``[region, segment, vendor]`` after this month's choices.
        tokens: Tokens per adopter per segment this month.
        cost: Serving cost per M tokens per vendor.
        funding_now: External funding per vendor this month.
        subsidy: Subsidies ``[region, vendor]`` from :func:`pay_subsidies`.
        smoothing: Weight of this month in the vendors' expected regional revenue and
            margin (an exponential average; 1 keeps only this month).
    """
    alive = vendors.view("alive")
    usage = usage_by_region(counts, tokens).sum(axis=1)  # [region, vendor]
    billed = usage * vendors.view("hosted")[None, :]
    revenue = billed * vendors.view("price")[None, :]
    serving = (billed * cost[None, :]).sum(axis=0)
    # the parent's strategic value of an open ecosystem (MODEL.md 4.2): open vendors only
    indirect = vendors.view("indirect") * vendors.view("is_open") * counts.sum(axis=(0, 1))
    selling = vendors.view("served").T & legally_offered(rules) & alive[None, :]
    compliance = np.where(selling, rules.compliance_fixed + rules.compliance_share * revenue, 0.0)
    operating = revenue.sum(axis=0) + indirect - serving - compliance.sum(axis=0)
    funding_now = np.where(alive, funding_now, 0.0)
    received = subsidy.sum(axis=0)
    # public money for open ecosystems funds development like external funding does
    budget = np.where(alive, rd_budget(vendors.view("rd_share"), funding_now + received,
                                       operating), 0.0)
    vendors.book("funding", funding_now)
    vendors.book("revenue", revenue.sum(axis=0))
    vendors.book("indirect", indirect)
    vendors.book("subsidy", received)
    vendors.book("serving", -serving)
    vendors.book("compliance", -compliance.sum(axis=0))
    vendors.book("rd", -budget)
    vendors.view("cash")[:] += funding_now + received + operating - budget
    vendors.view("profit")[:] = operating
    revenue_now, margin_now = region_margins(vendors, counts, tokens, cost)
    for name, now in (("revenue_region", revenue_now), ("margin_region", margin_now)):
        expected = vendors.view(name)
        expected += smoothing * (now - expected)
    return Books(usage, revenue, compliance, subsidy, indirect, serving, budget, operating)
