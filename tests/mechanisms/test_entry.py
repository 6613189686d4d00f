"""Entry, exit and acquisition (MODEL.md 6.3)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.stats import poisson

from sim.mechanisms import entry as en
from sim.mechanisms import funding as fu

TERMS = en.EntryTerms()


@given(u=st.floats(0, 1, exclude_max=True), rate=st.floats(1e-6, 30))
def test_inversion_is_the_poisson_quantile(u, rate):
    n = int(en.arrival_count_from_uniform(np.array([u]), rate)[0])
    assert n >= 0
    assert poisson.cdf(n, rate) >= u - 1e-12
    if n > 0:
        assert poisson.cdf(n - 1, rate) < u + 1e-12


def test_inversion_edges_and_monotone():
    u = np.linspace(0, 0.999, 500)
    n = en.arrival_count_from_uniform(u, 2.0)
    assert n.dtype == np.int64 and n[0] == 0 and np.all(np.diff(n) >= 0)
    assert np.all(en.arrival_count_from_uniform(u, 0.0) == 0)
    with pytest.raises(ValueError):
        en.arrival_count_from_uniform(np.array([1.0]), 1.0)


def test_counts_have_poisson_mean_and_variance():
    rng = np.random.default_rng(1)  # test-only generator
    rate = 0.7
    n = en.arrival_count_from_uniform(rng.random(200_000), rate)
    se = np.sqrt(rate / n.size)
    assert abs(n.mean() - rate) < 4 * se
    assert n.var() == pytest.approx(rate, rel=0.03)


def _entries_per_year(rng, worlds, rate, margin_of_capability, capability, cost, n_max=12):
    """Simulate a year of arrivals in many worlds; candidates' margins vary by a uniform."""
    entries = np.zeros(worlds, dtype=np.int64)
    for _month in range(12):
        count = en.arrival_count_from_uniform(rng.random(worlds), rate)
        assert count.max() < n_max
        mask = en.candidate_mask(count, n_max)
        margin = margin_of_capability(capability)[:, None] * rng.random((worlds, n_max))
        value = en.entry_value(margin, cost[:, None], TERMS)
        entries += (mask & (value > 0)).sum(axis=1)
    return entries


def test_entries_per_year_match_the_thinned_poisson_arithmetic():
    rng = np.random.default_rng(7)
    worlds = 20_000
    annuity = float(en.annuity_factor(TERMS.horizon_months, TERMS.annual_discount_rate))
    cost = np.full(worlds, 1e9)
    # margin = M * U with U uniform: enters iff U > cost / (annuity * M); choose p = 0.5
    top = 2 * 1e9 / annuity
    rate = en.arrival_rate_per_month(4.0, 0.5)
    assert rate == pytest.approx(4.0 / 6.0)
    entries = _entries_per_year(rng, worlds, rate, lambda q: np.full(q.shape, top),
                                np.zeros(worlds), cost)
    expected = 12 * rate * 0.5
    assert expected == pytest.approx(4.0)
    assert abs(entries.mean() - expected) < 4 * np.sqrt(expected / worlds)
    assert entries.var() == pytest.approx(expected, rel=0.05)  # thinned Poisson


def test_annuity_closed_form():
    assert float(en.annuity_factor(36, 0.0)) == 36.0
    monthly = 1.15 ** (1 / 12) - 1
    direct = sum((1 + monthly) ** -t for t in range(1, 37))
    assert float(en.annuity_factor(36, 0.15)) == pytest.approx(direct, rel=1e-12)


@given(frontier=st.floats(0, 200), lag=st.floats(0, 60))
def test_open_weights_lower_cost_and_gap(frontier, lag):
    f = np.array([frontier, frontier])
    best_open = np.array([frontier - lag, np.nan])  # world 1: no open model (worldwide ban)
    q, cost, from_open = en.entrant_start(best_open, f, TERMS, month=12)
    assert not from_open[1]
    assert q[1] == pytest.approx(frontier - TERMS.scratch_gap)
    assert cost[1] == pytest.approx(TERMS.full_cost_usd * TERMS.cost_growth_per_year)
    assert q[0] >= q[1] and cost[0] <= cost[1]
    assert from_open[0] == (lag + TERMS.open_start_gap <= TERMS.scratch_gap)


def test_without_open_models_entry_value_and_entries_fall():
    worlds = 5_000
    frontier = np.full(worlds, 100.0)
    margin = lambda q: 5e7 * np.exp(0.15 * (q - 100.0))  # noqa: E731  rises with capability
    entries = {}
    for label, best_open in (("open", frontier - 5.0), ("banned", np.full(worlds, -np.inf))):
        q, cost, _ = en.entrant_start(best_open, frontier, TERMS)
        value = en.entry_value(margin(q)[:, None], cost[:, None], TERMS)
        entries[label] = (value, _entries_per_year(np.random.default_rng(3), worlds, 0.5,
                                                   margin, q, cost))
    assert np.all(entries["open"][0] > entries["banned"][0])
    # the same uniforms: entries can only fall, world by world
    assert np.all(entries["open"][1] >= entries["banned"][1])
    assert entries["open"][1].mean() > entries["banned"][1].mean()


@given(index=st.integers(0, 10**9), home=st.from_regex(r"[A-Za-z0-9_-]+", fullmatch=True))
def test_entrant_names_never_match_scenario_names(index, home):
    name = en.entrant_name(index, home)
    assert not en.SCENARIO_NAME_PATTERN.fullmatch(name)


@given(st.lists(st.tuples(st.integers(0, 50), st.from_regex(r"[A-Za-z0-9_-]{1,6}",
                                                             fullmatch=True)),
                unique=True, max_size=40))
def test_entrant_names_are_unique(pairs):
    names = [en.entrant_name(i, h) for i, h in pairs]
    assert len(set(names)) == len(names)


def test_entrant_name_refuses_bad_home():
    with pytest.raises(ValueError):
        en.entrant_name(1, "E U")


@st.composite
def markets(draw):
    w = draw(st.integers(1, 4))
    f = draw(st.integers(2, 5))
    k = draw(st.integers(1, 8))
    owner = draw(hnp.arrays(np.int64, (w, k), elements=st.integers(0, f - 1)))
    cash = draw(hnp.arrays(np.int64, (w, f), elements=st.integers(-10**13, 10**15)))
    counts = draw(hnp.arrays(np.int64, (w, 3, k), elements=st.integers(0, 10**9)))
    target = np.array([draw(st.integers(-1, f - 1)) for _ in range(w)])
    acquirer = np.array([(t + draw(st.integers(1, f - 1))) % f for t in target])
    price = draw(hnp.arrays(np.int64, (w,), elements=st.integers(0, 10**14)))
    return owner, cash, counts, target, acquirer, price


@settings(max_examples=200)
@given(markets())
def test_acquisition_conserves_adopters_and_cash(market):
    owner, cash, counts, target, acquirer, price = market
    w, f = cash.shape
    alive = np.ones((w, f), bool)
    counts_before = counts.copy()
    new_owner, new_cash, new_alive = en.acquire(owner, cash, alive, target, acquirer, price)

    def by_firm(own):
        per_product = counts.sum(axis=1)
        return np.stack([np.bincount(own[i], per_product[i], minlength=f) for i in range(w)])

    before, after = by_firm(owner), by_firm(new_owner)
    np.testing.assert_array_equal(counts, counts_before)  # only ownership moves
    np.testing.assert_array_equal(before.sum(axis=1), after.sum(axis=1))
    np.testing.assert_array_equal(new_cash.sum(axis=1), cash.sum(axis=1))  # exact
    for i in range(w):
        t, a = target[i], acquirer[i]
        if t < 0:
            np.testing.assert_array_equal(new_owner[i], owner[i])
            np.testing.assert_array_equal(new_cash[i], cash[i])
            assert new_alive[i].all()
            continue
        assert after[i, t] == 0 and after[i, a] == before[i, a] + before[i, t]
        assert new_cash[i, a] == cash[i, a] + cash[i, t] - price[i]  # pays, takes cash/debts
        assert new_cash[i, t] == price[i] and not new_alive[i, t]
        assert not np.any(new_owner[i] == t)


def test_acquire_refuses_invalid_pairs():
    owner = np.zeros((1, 2), np.int64)
    cash = np.zeros((1, 3), np.int64)
    alive = np.array([[True, True, False]])
    for acq in (0, 2, -1):
        with pytest.raises(ValueError):
            en.acquire(owner, cash, alive, np.array([0]), np.array([acq]), np.array([0]))


def test_pick_target_and_acquirer():
    cash = np.array([[-50, 1_000, 5_000, 9_000], [10, 20, 30, 40]])
    alive = np.array([[True, True, True, False], [True] * 4])
    distressed = np.array([[True, False, False, False], [False] * 4])
    target = en.pick_target(distressed, cash)
    np.testing.assert_array_equal(target, [0, -1])
    value = np.array([[0, 2_000, 2_000, 10**6], [10**6] * 4])
    price = np.array([500, 500])
    # firm 3 is richest but dead; firm 2 values it at 2000 > 500 + 50 debts and can pay
    np.testing.assert_array_equal(en.pick_acquirer(target, cash, alive, value, price), [2, -1])
    value[0, 2] = 540  # below price + debts: firm 1 is next
    np.testing.assert_array_equal(en.pick_acquirer(target, cash, alive, value, price), [1, -1])
    cash[0, 1] = 100  # cannot pay
    np.testing.assert_array_equal(en.pick_acquirer(target, cash, alive, value, price), [-1, -1])


def test_retire_firms_kills_their_products_only():
    owner = np.array([[0, 1, 1, 2]])
    alive, products = en.retire_firms(np.ones((1, 3), bool), np.ones((1, 4), bool), owner,
                                      np.array([[False, True, False]]))
    np.testing.assert_array_equal(alive, [[True, False, True]])
    np.testing.assert_array_equal(products, [[True, False, False, True]])


@settings(max_examples=50, deadline=None)
@given(cash0=st.floats(-1e9, 1e8), loss=st.floats(1e6, 1e9), revenue=st.floats(0, 1e9),
       exit_after=st.integers(1, 6), buyer_values=st.booleans())
def test_stagnant_firm_without_lead_exits_or_is_absorbed(cash0, loss, revenue, exit_after,
                                                         buyer_values):
    """Firm 0: flat revenue, no lead, an operating loss; firm 1: a rich incumbent."""
    vt, xt = fu.VentureTerms(), en.ExitTerms(exit_after_months=exit_after)
    cash = fu.usd_to_cents(np.array([[cash0, 1e12]]))
    alive = np.ones((1, 2), bool)
    owner = np.array([[0, 1]])
    growth = np.zeros((1, 2))
    negative = np.zeros((1, 2), np.int64)
    zero = np.zeros((1, 2))
    months_to_end = first_negative = None
    for month in range(int(1e8 / 1e6) + exit_after + 2):
        cash_usd = fu.cents_to_usd(cash)
        growth = fu.update_log_growth(growth, np.full((1, 2), revenue), np.full((1, 2), revenue))
        rnd = fu.venture_round(cash_usd, np.array([[loss, 0.0]]), np.full((1, 2), revenue),
                               fu.growth_per_year(growth), zero, np.zeros((1, 2), int),
                               alive, vt)
        assert rnd.amount[0, 0] == 0.0  # investors never fund it
        is_distressed = en.distressed(cash_usd, np.array([[loss, 0.0]]), alive, rnd.amount, xt)
        target = en.pick_target(is_distressed & (np.arange(2) == 0), cash_usd)
        if target[0] == 0:
            price = en.acquisition_price(np.array([[12 * revenue, 0.0]]), xt)[:, 0]
            value = np.array([[0.0, 10 * price[0] + 1e10 if buyer_values else 0.0]])
            acquirer = en.pick_acquirer(target, cash_usd, alive, value, price)
            if acquirer[0] == 1:
                owner, cash, alive = en.acquire(owner, cash, alive, target, acquirer,
                                                fu.usd_to_cents(price))
                months_to_end = month
                break
        cash, _ = fu.close_books(cash, alive=alive, revenue=np.array([[revenue, 0.0]]),
                                 indirect_value=zero, subsidy=zero, funding=zero,
                                 serving_cost=np.array([[revenue + loss, 0.0]]),
                                 compliance=zero, overhead=zero, rd=zero)
        negative = en.update_negative_months(negative, cash, alive)
        if first_negative is None and cash[0, 0] < 0:
            first_negative = month
        exiting = en.exits_due(negative, alive, rnd.amount, xt)
        if exiting[0, 0]:
            alive, _ = en.retire_firms(alive, np.ones((1, 2), bool), owner, exiting)
            months_to_end = month
            break
    assert months_to_end is not None and not alive[0, 0]
    if buyer_values:
        assert owner[0, 0] == 1  # absorbed as soon as distressed, product line moved
        assert first_negative is None or months_to_end <= first_negative + 1
    else:
        assert owner[0, 0] == 0
        # exits in the N-th consecutive month of negative cash
        assert months_to_end == first_negative + exit_after - 1


def test_out_of_money_counts_zero_cash_with_nothing_coming_in() -> None:
    """Issue 15: a lab at exactly zero cash with no operating profit is out of money (R&D
    never takes cash below zero, so without this it would live for ever); one at zero cash
    that earns a profit is not; negative cash always counts."""
    alive = np.ones((1, 3), bool)
    cash = np.array([[0.0, 0.0, -5.0]])
    profit = np.array([[0.0, 1e6, 1e6]])
    months = np.zeros((1, 3), dtype=np.int64)
    counted = en.update_negative_months(months, cash, alive, profit)
    assert counted.tolist() == [[1, 0, 1]]
    assert en.update_negative_months(months, cash, alive).tolist() == [[0, 0, 1]]  # cash only
    assert en.update_negative_months(counted, np.array([[1.0, 0.0, -1.0]]), alive,
                                     profit).tolist() == [[0, 0, 2]]  # resets when cash returns
