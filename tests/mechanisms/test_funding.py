"""Funding rounds, parent budgets, R&D rule and exact cash books (MODEL.md 6.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.mechanisms import funding as fu

TERMS = fu.VentureTerms()
money = st.floats(min_value=0.0, max_value=1e12, allow_nan=False)


def _round(cash, burn, revenue, growth, lead, kind=fu.VENTURE, alive=True, terms=TERMS,
           since=None):
    arr = lambda x, dt=float: np.array([[x]], dtype=dt)  # noqa: E731
    return fu.venture_round(arr(cash), arr(burn), arr(revenue), arr(growth), arr(lead),
                            arr(kind, int), arr(alive, bool), terms,
                            None if since is None else arr(since))


def test_log_growth_converges_to_the_growth_rate():
    rate = 0.05  # per month
    g = np.zeros((1, 1))
    revenue = 1e9
    for _ in range(200):
        g = fu.update_log_growth(g, np.array([[revenue * math.exp(rate)]]),
                                 np.array([[revenue]]))
        revenue *= math.exp(rate)
    # the floor is 1e-4 of revenue at the start and less later: a bias below 1e-4 * rate
    assert g[0, 0] == pytest.approx(rate, rel=1e-4)
    assert fu.growth_per_year(g)[0, 0] == pytest.approx(12 * rate, rel=1e-4)


def test_log_growth_of_constant_revenue_decays_to_zero():
    g = np.full((2, 3), 0.3)
    for _ in range(100):
        g = fu.update_log_growth(g, np.full((2, 3), 5e6), np.full((2, 3), 5e6))
    assert np.all(np.abs(g) < 1e-12)


def test_multiple_at_reference_growth_and_calibration_band():
    g = np.array([[TERMS.growth_reference]])
    assert fu.round_multiple(g, np.zeros((1, 1)), TERMS)[0, 0] == pytest.approx(
        TERMS.base_multiple)
    leader = fu.round_multiple(g, np.ones((1, 1)), TERMS)[0, 0]
    # OpenAI $40B (2025-03) against run-rates of $10B (2025-06) and, interpolated
    # log-linearly between $5.5B (2024-12) and $10B, 5.5 * (10/5.5)**0.5 (2025-03)
    assert 40 / 10 <= leader <= 40 / (5.5 * (10 / 5.5) ** 0.5)


@given(st.floats(-3, 10), st.floats(-3, 10), st.floats(0, 1), st.floats(0, 1))
def test_multiple_is_monotone_in_growth_and_lead(g1, g2, lead1, lead2):
    lo_g, hi_g = sorted((g1, g2))
    lo_l, hi_l = sorted((lead1, lead2))
    lo = fu.round_multiple(np.array([[lo_g]]), np.array([[lo_l]]), TERMS)
    hi = fu.round_multiple(np.array([[hi_g]]), np.array([[hi_l]]), TERMS)
    assert 0.0 <= lo[0, 0] <= hi[0, 0] <= TERMS.max_multiple


@given(cash=st.floats(-1e10, 1e10), burn=st.floats(0, 1e9), revenue=money,
       growth=st.floats(-5, 0))
def test_falling_revenue_and_no_lead_raises_nothing(cash, burn, revenue, growth):
    r = _round(cash, burn, revenue, growth, 0.0)
    assert r.amount[0, 0] == 0.0
    assert r.code[0, 0] in (fu.RoundCode.NO_APPETITE, fu.RoundCode.NOT_NEEDED)
    if cash < 0:
        assert r.code[0, 0] == fu.RoundCode.NO_APPETITE


def test_pre_revenue_leader_raises_on_lead_alone():
    r = _round(-1e6, 1e7, 0.0, 0.0, 0.8)
    assert r.code[0, 0] == fu.RoundCode.RAISED
    assert r.amount[0, 0] == pytest.approx(0.8 * TERMS.leader_floor_usd)
    assert np.isnan(r.multiple[0, 0])
    reason = fu.round_reason(int(r.code[0, 0]), float(r.amount[0, 0]), 0.0, 0.0, 0.8)
    assert "lead alone" in reason and "$520M" in reason


def test_growing_leader_round_and_reason():
    revenue = 8e9 / 12
    r = _round(1e9, 2e9, revenue, TERMS.growth_reference, 1.0)
    assert r.code[0, 0] == fu.RoundCode.RAISED
    expected = TERMS.base_multiple * (1 + TERMS.leader_premium) * 8e9
    assert r.amount[0, 0] == pytest.approx(expected)
    assert r.multiple[0, 0] == pytest.approx(expected / 8e9)
    reason = fu.round_reason(int(r.code[0, 0]), float(r.amount[0, 0]), 8e9,
                             TERMS.growth_reference, 1.0)
    assert reason.startswith("raised $36.00B at 4.5x run-rate") and "leader" in reason
    assert "+232 %/yr" in reason  # expm1(1.2) = 2.32


def test_rounds_stop_at_the_largest_round_and_an_empty_account_always_needs_one():
    revenue = 10e9 / 12  # 4.5x of a $10B run-rate is $45B, above the $40B cap
    capped = _round(1e9, 2e9, revenue, TERMS.growth_reference, 1.0)
    assert capped.amount[0, 0] == TERMS.max_round_usd
    looser = fu.VentureTerms(max_round_usd=1e11)
    free = fu.venture_round(np.array([[1e9]]), np.array([[2e9]]), np.array([[revenue]]),
                            np.array([[TERMS.growth_reference]]), np.array([[1.0]]),
                            np.array([[fu.VENTURE]]), np.ones((1, 1), bool), looser)
    assert free.amount[0, 0] == pytest.approx(45e9)
    # an entrant's first month: no cash, nothing spent yet (burn 0), a lead to fund
    first = _round(0.0, 0.0, 0.0, 0.0, 0.5)
    assert first.code[0, 0] == fu.RoundCode.RAISED
    assert first.amount[0, 0] == pytest.approx(0.5 * TERMS.leader_floor_usd)


def test_gates_runway_parent_dead_and_spacing():
    base = dict(burn=1e8, revenue=1e8, growth=1.2, lead=1.0)
    assert _round(cash=2e9, **base).code[0, 0] == fu.RoundCode.NOT_NEEDED  # 20 months left
    assert _round(cash=1e9, **base).code[0, 0] == fu.RoundCode.RAISED  # 10 months left
    assert _round(cash=1e9, kind=fu.PARENT, **base).code[0, 0] == fu.RoundCode.NOT_VENTURE
    assert _round(cash=1e9, alive=False, **base).code[0, 0] == fu.RoundCode.DEAD
    assert _round(cash=1e9, since=3, **base).code[0, 0] == fu.RoundCode.TOO_SOON
    assert _round(cash=1e9, since=6, **base).code[0, 0] == fu.RoundCode.RAISED
    assert "no round" in fu.round_reason(fu.RoundCode.NO_APPETITE, 0.0, 1e9, -0.2, 0.0)


def test_world_varying_terms_broadcast_per_world():
    terms = fu.VentureTerms(base_multiple=np.array([2.0, 4.0]), leader_premium=0.0)
    shape = (2, 3)
    r = fu.venture_round(np.full(shape, -1.0), np.ones(shape), np.full(shape, 1e6),
                         np.full(shape, 1.2), np.zeros(shape), np.zeros(shape, int),
                         np.ones(shape, bool), terms)
    np.testing.assert_allclose(r.amount[0], 2.0 * 12e6)
    np.testing.assert_allclose(r.amount[1], 4.0 * 12e6)


@given(users=money, vpu=st.floats(0, 10), capacity=money, cash=st.floats(-1e11, 1e11),
       base=st.floats(0, 1e9))
def test_parent_transfer_is_bounded_by_capacity(users, vpu, capacity, cash, base):
    terms = fu.ParentTerms()
    a = lambda x: np.array([[x, x]])  # noqa: E731
    kinds = np.array([[fu.PARENT, fu.VENTURE]])
    t = fu.parent_transfer(a(users), a(vpu), a(capacity), a(cash), kinds,
                           np.ones((1, 2), bool), terms, base_budget=base)
    assert t[0, 1] == 0.0
    cap = terms.capacity_share * capacity
    assert 0.0 <= t[0, 0] <= cap * (1 + 1e-12)
    wanted = base + terms.payout_share * users * vpu + max(-cash, 0.0)
    assert t[0, 0] == pytest.approx(min(wanted, cap), rel=1e-12, abs=1e-6)


@given(share=st.floats(0, 1), profit=st.floats(-1e10, 1e10), cash=st.floats(-1e10, 1e10),
       monthly=money, drawdown=money, raised=money)
def test_spending_never_takes_cash_below_zero(share, profit, cash, monthly, drawdown, raised):
    a = lambda x: np.array([[x]])  # noqa: E731
    spent = fu.spending(a(share), a(profit), a(cash), a(monthly), a(drawdown), a(raised))
    rd, overhead = spent.rd[0, 0], spent.overhead[0, 0]
    budget = monthly + drawdown + max(profit, 0.0)
    before = cash + raised + monthly + profit
    total = rd + overhead
    assert rd >= 0.0 and overhead >= 0.0
    assert total <= budget * (1 + 1e-12) + 1e-9  # never more than the budget
    assert rd == pytest.approx(share * total, rel=1e-12, abs=1e-6)  # a split, not a saving
    if before >= 0:
        assert before - total >= -1e-6 * max(1.0, abs(before))
        assert total == pytest.approx(min(budget, before))  # the whole budget, if it is there
    else:
        assert total == 0.0  # only operating losses (no choice) take cash below zero


def test_spending_plan_resets_after_a_round():
    plan = fu.update_spending_plan(np.array([[5.0, 5.0]]), np.array([[1e9, 0.0]]),
                                   np.array([[1.8e9, 7e8]]), 18.0)
    np.testing.assert_allclose(plan, [[1e8, 5.0]])


flows = hnp.arrays(np.float64, (2, 3), elements=st.floats(0, 1e12))


@settings(max_examples=60, deadline=None)
@given(months=st.integers(1, 84), seed=st.integers(0, 2**32 - 1),
       cash0=hnp.arrays(np.int64, (2, 3), elements=st.integers(-10**14, 10**14)),
       scale=st.sampled_from([1e3, 1e9, 1e12]))
def test_cash_balances_to_the_cent(months, seed, cash0, scale):
    rng = np.random.default_rng(seed)  # test-only randomness for the flows
    alive = rng.random((2, 3)) < 0.8
    cash = cash0
    booked = 0
    exact = [math.fsum(cash0.ravel() / 100.0)]  # float sum of flows as given
    n_flows = 0
    for _ in range(months):
        given_flows = {k: rng.random((2, 3)) * scale for k in fu.LEDGER_FLOWS}
        acq = rng.integers(-10**12, 10**12, (2, 3))
        cash, ledger = fu.close_books(cash, alive=alive, other_flows_cents={"acquisition": acq},
                                      **given_flows)
        booked += sum(ledger.values())
        for k, v in given_flows.items():
            sign = -1 if k in ("serving_cost", "compliance", "overhead", "rd") else 1
            exact.append(math.fsum((sign * v * alive).ravel()))
        exact.append(math.fsum(acq.ravel() / 100.0))
        n_flows += len(fu.LEDGER_FLOWS)
        assert all(v.dtype == np.int64 for v in ledger.values())
    np.testing.assert_array_equal(cash, cash0 + booked)  # exact, in cents
    # rounding each flow once costs at most half a cent per flow and cell
    assert abs(cash.sum() / 100.0 - math.fsum(exact)) <= 0.005 * n_flows * 6 + 1e-3 * (
        abs(math.fsum(exact)) * 1e-12 + 1)


def test_dead_rows_book_nothing_and_bad_inputs_are_refused():
    zero = np.zeros((1, 2))
    kw = dict(indirect_value=zero, subsidy=zero, funding=zero, serving_cost=zero,
              compliance=zero, overhead=zero, rd=zero)
    cash, ledger = fu.close_books(np.array([[100, 200]]), alive=np.array([[True, False]]),
                                  revenue=np.array([[1.234, 5.0]]), **kw)
    np.testing.assert_array_equal(cash, [[223, 200]])
    assert ledger["revenue"].tolist() == [[123, 0]]
    with pytest.raises(ValueError):
        fu.close_books(np.array([[0, 0]]), alive=np.ones((1, 2), bool),
                       revenue=np.array([[np.nan, 0.0]]), **kw)
    with pytest.raises(TypeError):
        fu.close_books(np.zeros((1, 2)), alive=np.ones((1, 2), bool), revenue=zero, **kw)


def test_monthly_burn_excludes_funding():
    ledger = {"revenue": np.array([[10_000]]), "serving_cost": np.array([[-5_000]]),
              "rd": np.array([[-8_000]]), "funding": np.array([[1_000_000]])}
    assert fu.monthly_burn(ledger)[0, 0] == pytest.approx(30.0)
    ledger["revenue"] = np.array([[20_000]])
    assert fu.monthly_burn(ledger)[0, 0] == 0.0


def test_batched_worlds_equal_single_worlds_bit_for_bit():
    rng = np.random.default_rng(5)
    shape = (4, 6)
    args = (rng.normal(0, 1e9, shape), rng.random(shape) * 1e8, rng.random(shape) * 1e8,
            rng.normal(0.5, 1, shape), rng.random(shape), rng.integers(0, 2, shape),
            rng.random(shape) < 0.9)
    since = rng.integers(0, 12, shape)
    batch = fu.venture_round(*args, TERMS, since)
    for w in range(shape[0]):
        one = fu.venture_round(*(a[w:w + 1] for a in args), TERMS, since[w:w + 1])
        np.testing.assert_array_equal(one.amount, batch.amount[w:w + 1])
        np.testing.assert_array_equal(one.code, batch.code[w:w + 1])
