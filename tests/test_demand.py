"""Adopter choice (MODEL.md 4.1) against closed forms: MODEL.md 7.2, 7.3 and 7.5.

* choice probabilities equal a softmax written out by hand, unavailable options get
  exactly 0;
* the chain's stationary shares equal the eigenvector of the monthly transition matrix;
* logit steady state: with fixed attributes, no network term and no switching cost, the
  cohort engine converges to the closed-form logit shares and the distance decays like
  ``(1 - lambda)^t``;
* the cohort engine and the per-adopter reference agree in distribution;
* tipping: two symmetric vendors follow ``s -> s^eta / (s^eta + (1 - s)^eta)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim import demand
from sim.model import MarketModel
from tests.model_helpers import (
    hand_utilities,
    logit_shares,
    option_shares,
    scenario,
    segment,
    set_option_counts,
    vendor,
)

# --------------------------------------------------------------------------- probabilities


def _hand_transition(u: np.ndarray, available: np.ndarray, c: float) -> np.ndarray:
    """``P[j, k] = softmax_k(U_k - c [j >= 1 and k != j])`` over available k, by loops."""
    n = len(u)
    p = np.zeros((n, n))
    for j in range(n):
        terms = [np.exp(u[k] - (c if (j >= 1 and k != j) else 0.0)) if available[k] else 0.0
                 for k in range(n)]
        p[j] = np.array(terms) / sum(terms)
    return p


def _probabilities(u: np.ndarray, available: np.ndarray, c: float) -> np.ndarray:
    """The model's ``choice_probabilities`` for one cell (option 0 = u[0], always available)."""
    weights, _ = demand.option_weights(u[None, None, 1:], np.array([[u[0]]]),
                                       available[None, None, 1:])
    return demand.choice_probabilities(weights, np.array([[c]]))[0, 0, 0]


@pytest.mark.parametrize("c", [0.0, 0.4, 1.5, 6.0])
def test_choice_probabilities_match_softmax_by_hand(c):
    rng = np.random.default_rng(11)
    u = rng.normal(0, 2, size=6)
    available = np.array([True, True, False, True, True, False])
    got = _probabilities(u, available, c)
    np.testing.assert_allclose(got, _hand_transition(u, available, c), rtol=1e-12, atol=0)
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-14)


def test_unavailable_options_get_exactly_zero_even_with_extreme_utilities():
    u = np.array([0.0, 800.0, -800.0, 5000.0, 1.0])
    available = np.array([True, True, True, False, True])
    got = _probabilities(u, available, 2.0)
    assert np.isfinite(got).all()
    assert (got[:, 3] == 0.0).all()  # exactly zero, not 1e-300
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-14)
    # an adopter of the unavailable option still gets a proper distribution (forced choice)
    assert got[3, 1] == pytest.approx(1.0)


def test_stationary_shares_are_the_eigenvector_of_the_monthly_chain():
    rng = np.random.default_rng(5)
    lam = 0.3
    for c in (0.0, 0.7, 3.0):
        u = rng.normal(0, 1, size=5)
        available = np.ones(5, dtype=bool)
        month = (1 - lam) * np.eye(5) + lam * _hand_transition(u, available, c)
        values, vectors = np.linalg.eig(month.T)
        pi = np.real(vectors[:, np.argmin(np.abs(values - 1))])
        pi /= pi.sum()
        weights, _ = demand.option_weights(u[None, None, 1:], np.array([[u[0]]]),
                                           available[None, None, 1:])
        got = demand.stationary_shares(weights, np.array([[c]]))[0, 0, 0]
        np.testing.assert_allclose(got, pi, rtol=1e-10)
        if c == 0.0:
            np.testing.assert_allclose(got, logit_shares(u), rtol=1e-12)


# --------------------------------------------------------------------------- steady state

LAMBDAS = (0.08, 0.3)


def _static_market(months: int, adopters: float = 1e9, switching_cost: float = 0.0):
    segs = [segment("slow", reconsider_rate=LAMBDAS[0], switching_cost=switching_cost),
            segment("fast", reconsider_rate=LAMBDAS[1], capability_weight=0.8,
                    price_elasticity=1.5, open_preference=0.6, switching_cost=switching_cost)]
    return scenario(vendors=[vendor("A", capability=100), vendor("B", capability=98, price=0.7),
                             vendor("O", "open", capability=95)],
                    shares={"A": 0.5, "B": 0.3, "O": 0.2}, adopters=adopters, adoption=0.6,
                    segments=segs, months=months)


def test_logit_steady_state_and_geometric_approach():
    """MODEL.md 7.2: shares -> logit shares; L1 distance = d0 (1 - lambda)^t in expectation.

    All adopters are moved to the outside option after construction, far from the logit
    shares; each segment's log-distance must fall with slope ln(1 - lambda).
    """
    months = 150
    model = MarketModel(_static_market(months), seed=7)
    targets, start = [], []
    for s in range(2):
        u0, u = hand_utilities(model, segment_index=s)
        targets.append(logit_shares(np.r_[u0, u]))
        # the month-0 state is the scenario's data, and it is the logit steady state
        np.testing.assert_allclose(targets[s], [0.4, 0.3, 0.18, 0.12], rtol=1e-9)
        total = int(model.counts[0, s].sum())
        set_option_counts(model, [total, 0, 0, 0], segment_index=s)
        start.append(option_shares(model, segment_index=s))
    distance = np.zeros((months, 2))
    for t in range(months):
        model.step()
        for s in range(2):
            distance[t, s] = np.abs(option_shares(model, segment_index=s) - targets[s]).sum()
    n = float(model.potential[0, 0])
    noise = 4 * np.sqrt(1.0 / n)  # sd of an L1 distance between multinomial shares < 2/sqrt(n)
    for s, lam in enumerate(LAMBDAS):
        d0 = np.abs(start[s] - targets[s]).sum()
        t = np.arange(1, months + 1)
        usable = d0 * (1 - lam) ** t > 200 * noise  # where sampling noise is negligible
        assert usable.sum() >= 10
        slope, intercept = np.polyfit(t[usable], np.log(distance[usable, s]), 1)
        assert slope == pytest.approx(np.log(1 - lam), rel=0.01), (s, slope)
        assert np.exp(intercept) == pytest.approx(d0, rel=0.01)
        # converged: the last month is within sampling error of the logit shares
        final = option_shares(model, segment_index=s)
        sd = np.sqrt(targets[s] * (1 - targets[s]) / n)
        assert (np.abs(final - targets[s]) < 5 * sd).all(), (final, targets[s], sd)


def test_steady_state_with_switching_costs_is_the_chain_stationary_distribution():
    """With c > 0 the long-run shares are the eigenvector of the monthly chain
    ``M = (1 - lambda) I + lambda P`` (not plain logit), the month-0 brand inversion makes the
    scenario's shares that steady state, and from everyone-at-A the shares follow the exact
    expectation ``e_A M^t`` (adopters move independently when eta = 0)."""
    months = 120
    c = 1.2
    model = MarketModel(_static_market(months, switching_cost=c), seed=3)
    chains = []
    for s, lam in enumerate(LAMBDAS):
        u0, u = hand_utilities(model, segment_index=s)
        chain = (1 - lam) * np.eye(4) + lam * _hand_transition(np.r_[u0, u], np.ones(4, bool), c)
        values, vectors = np.linalg.eig(chain.T)
        pi = np.real(vectors[:, np.argmin(np.abs(values - 1))])
        pi /= pi.sum()
        np.testing.assert_allclose(pi, [0.4, 0.3, 0.18, 0.12], rtol=1e-8)
        assert np.abs(pi - logit_shares(np.r_[u0, u])).max() > 0.01  # not plain logit
        total = int(model.counts[0, s].sum())
        set_option_counts(model, [0, total, 0, 0], segment_index=s)  # everyone at A
        chains.append(chain)
    n = float(model.potential[0, 0])
    for t in range(1, months + 1):
        model.step()
        if t % 30:
            continue
        for s in range(2):
            expected = np.linalg.matrix_power(chains[s], t)[1]
            sd = np.sqrt(expected * (1 - expected) / n)
            got = option_shares(model, segment_index=s)
            assert (np.abs(got - expected) < 6 * sd).all(), (t, s, got, expected)
    # the fast segment has converged to the stationary shares by now
    np.testing.assert_allclose(option_shares(model, segment_index=1), [0.4, 0.3, 0.18, 0.12],
                               atol=1e-4)


# --------------------------------------------------------------------------- engines


def _engine_scenario():
    """Two segments, switching costs, a network term, pricing and R&D at work, B's price far
    above its best response at month 0 (a transient: B gains share at a rate set by lambda),
    and an open-weights ban with partial enforcement from month 3 (forced re-choice)."""
    segs = [segment("a", reconsider_rate=0.3, switching_cost=0.8),
            segment("b", reconsider_rate=0.15, switching_cost=0.2, open_preference=0.5)]
    return scenario(
        vendors=[vendor("A", capability=100), vendor("B", capability=98, price=3.0),
                 vendor("O", "open", capability=95)],
        shares={"A": 0.4, "B": 0.35, "O": 0.25}, adopters=100, adoption=0.6, segments=segs,
        months=6, world={"network_effect": 0.5, "price_adjustment": 0.6, "rd_productivity": 0.3},
        policies=[{"kind": "ban_open_weights", "region": "R", "start": 3, "enforcement": 0.7}])


def _final_counts(engine: str, seeds: range) -> np.ndarray:
    sc = _engine_scenario()
    out = []
    for seed in seeds:
        model = MarketModel(sc, seed=seed, demand_engine=engine)
        model.run()
        assert int(model.counts.sum()) == 200
        out.append(model.counts.sum(axis=2)[0].ravel())  # [segment x option]
    return np.array(out)


def _chi_square_two_samples(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square test of homogeneity on binned values (bins merged to >= 10 per bin)."""
    pooled = np.sort(np.concatenate([a, b]))
    edges = [pooled[0]]
    count = 0
    for value in np.unique(pooled):
        count += int((pooled == value).sum())
        if count >= 10 and (pooled > value).sum() >= 10:
            edges.append(value + 0.5)
            count = 0
    edges = np.array([-np.inf, *edges[1:], np.inf])
    table = np.array([np.histogram(a, edges)[0], np.histogram(b, edges)[0]])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table).pvalue)


def test_cohort_engine_and_per_adopter_reference_agree_in_distribution():
    """MODEL.md 7.3: 200 replications of each engine (independent seeds), 200 adopters, six
    months; the distribution of every final count (segment x option) must agree."""
    reps = 200
    cohort = _final_counts("cohort", range(reps))
    agents = _final_counts("agents", range(10_000, 10_000 + reps))
    for j in range(cohort.shape[1]):
        p_chi = _chi_square_two_samples(cohort[:, j], agents[:, j])
        p_mw = stats.mannwhitneyu(cohort[:, j], agents[:, j]).pvalue if (
            np.ptp(np.r_[cohort[:, j], agents[:, j]]) > 0) else 1.0
        assert p_chi > 0.001, (j, p_chi)
        assert p_mw > 0.001, (j, p_mw)
    # the ban binds 70 % of adopters: the open vendor keeps only evaders
    assert agents[:, [3, 7]].mean() < 0.4 * 0.25 * 120


def _exact_pmf(start: np.ndarray, go: np.ndarray) -> np.ndarray:
    """pmf of ``sum_j Binomial(start_j, go_j)``: the convolution of the binomials."""
    pmf = np.array([1.0])
    for n, g in zip(start, go, strict=True):
        pmf = np.convolve(pmf, stats.binom.pmf(np.arange(n + 1), n, g))
    return pmf


def _goodness_of_fit(sample: np.ndarray, pmf: np.ndarray) -> float:
    """Chi-square goodness of fit of integer samples to a pmf, cells merged to >= 5 expected."""
    n = len(sample)
    observed = np.bincount(sample, minlength=len(pmf)).astype(float)
    cells_o, cells_e, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(observed, pmf * n, strict=True):
        acc_o, acc_e = acc_o + o, acc_e + e
        if acc_e >= 5:
            cells_o.append(acc_o)
            cells_e.append(acc_e)
            acc_o = acc_e = 0.0
    cells_o[-1] += acc_o
    cells_e[-1] += acc_e
    return float(stats.chisquare(cells_o, np.array(cells_e) * n / sum(cells_e)).pvalue)


def _one_month_scenario():
    """A off its month-0 price (it drops to the best response at month 1) and B banned from
    month 1: the state is far from the steady state and B's adopters must choose again."""
    return scenario(
        vendors=[vendor("A", price=1.0), vendor("B", capability=99)], shares={"A": 0.5, "B": 0.5},
        adopters=200, adoption=0.5, segments=[segment(reconsider_rate=0.4, switching_cost=1.0)],
        months=1, world={"price_adjustment": 1.0},
        policies=[{"kind": "ban_vendors", "region": "R", "vendors": ["B"], "start": 1}])


def _one_month_exact_pmf() -> np.ndarray:
    lam, c = 0.4, 1.0
    model = MarketModel(_one_month_scenario(), seed=0)
    start = model.counts[0, 0, 0].copy()  # [100, 50, 50]
    model.step()  # month-1 prices are deterministic (they depend on month-0 counts only)
    u0, u = hand_utilities(model)
    p = _hand_transition(np.r_[u0, u], np.array([True, True, False]), c)
    go = np.array([lam * p[0, 1], 1 - lam + lam * p[1, 1], p[2, 1]])  # B's adopters are forced
    assert (start * go).sum() > start[1] + 20  # far from a steady state: lambda matters
    return _exact_pmf(start, go)


@pytest.mark.parametrize("engine,first_seed", [("cohort", 0), ("agents", 50_000)])
def test_engines_match_the_exact_one_month_distribution(engine, first_seed):
    """Adopters move independently given the month's probabilities, so the count at A after
    one month is ``sum_j Binomial(N_j, g_j)`` with ``g_j = lambda P[j, A] + (1 - lambda)
    [j == A]`` (``g_B = P[B, A]``: forced): an exact distribution. Both engines must fit it
    (chi-square goodness of fit over 300 replications)."""
    pmf = _one_month_exact_pmf()
    sc = _one_month_scenario()
    finals = []
    for seed in range(first_seed, first_seed + 300):
        model = MarketModel(sc, seed=seed, demand_engine=engine)
        model.step()
        assert model.counts[0, 0, :, 2].sum() == 0  # nobody left at the banned vendor
        finals.append(int(model.counts[0, 0, 0, 1]))
    assert _goodness_of_fit(np.array(finals), pmf) > 0.001


# --------------------------------------------------------------------------- tipping


def _symmetric_market(eta: float, months: int = 60, adoption: float = 0.6):
    """Two identical closed vendors, equal initial shares (so equal brands), prices frozen."""
    return scenario(vendors=[vendor("A"), vendor("B")], shares={"A": 0.5, "B": 0.5},
                    adoption=adoption, segments=[segment(reconsider_rate=1.0)], months=months,
                    world={"network_effect": eta})


def _tilt(model: MarketModel, leader: float = 0.55) -> None:
    n0, n1, n2 = model.counts[0, 0, 0]
    inside = n1 + n2
    set_option_counts(model, [n0, round(leader * inside), inside - round(leader * inside)])


def _leader_share(model: MarketModel) -> float:
    c = model.counts[0, 0, 0]
    return c[1] / (c[1] + c[2])


@pytest.mark.parametrize("eta", [0.5, 1.5])
def test_one_month_follows_the_log_share_map(eta):
    """MODEL.md 7.5: with lambda = 1 inside shares map by
    ``s -> (s + eps)^eta / ((s + eps)^eta + (1 - s + eps)^eta)`` (outside option or not)."""
    model = MarketModel(_symmetric_market(eta, months=1), seed=1)
    assert model.brand[0, 0, 0] == model.brand[0, 0, 1]
    _tilt(model)
    s = _leader_share(model)
    eps = model.world.share_floor
    expected = (s + eps) ** eta / ((s + eps) ** eta + (1 - s + eps) ** eta)
    model.step()
    n = model.counts[0, 0, 0, 1:].sum()
    assert _leader_share(model) == pytest.approx(expected, abs=5 * np.sqrt(0.25 / n))


@pytest.mark.parametrize("eta,settles_at", [(0.5, 0.5), (0.9, 0.5), (1.5, 1.0)])
def test_symmetric_vendors_settle_below_eta_one_and_tip_above(eta, settles_at):
    """Start at 55/45: below eta = 1 back to equal shares, above it the leader takes the
    market (up to the share floor eps: the laggard keeps about eps^eta)."""
    model = MarketModel(_symmetric_market(eta), seed=2)
    _tilt(model)
    model.run()
    assert _leader_share(model) == pytest.approx(settles_at, abs=0.002)


def test_tipping_also_happens_with_partial_reconsideration_and_a_large_outside_option():
    sc = scenario(vendors=[vendor("A"), vendor("B")], shares={"A": 0.5, "B": 0.5},
                  adoption=0.1, segments=[segment(reconsider_rate=0.25)], months=150,
                  world={"network_effect": 1.3})
    model = MarketModel(sc, seed=4)
    _tilt(model, 0.52)
    model.run()
    assert _leader_share(model) > 0.99


def test_at_eta_one_the_tilt_persists():
    """eta = 1 is the boundary: the map is (almost) the identity, shares stay where they are."""
    model = MarketModel(_symmetric_market(1.0, months=30), seed=5)
    _tilt(model)
    model.run()
    assert 0.53 < _leader_share(model) < 0.56
