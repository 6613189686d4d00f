"""Awareness and choice of the batched engine against definitions and closed forms.

Expected values come from the model's definitions (softmax with switching costs written out
by loops, the monthly chain ``M = (1 - lambda) I + lambda P`` and its powers, detailed
balance, the Bass closed form, binomial moments), never from a run.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from sim.engine import choice, switching
from sim.mechanisms.diffusion import bass_closed_form
from sim.streams import KeyedStreams
from tests.engine import factory

# --------------------------------------------------------------------------- helpers


def _hand_transition(u: np.ndarray, available: np.ndarray, c: float) -> np.ndarray:
    """``P[j, k] = softmax_k(U_k - c [j >= 1 and k != j])`` over available k, by loops."""
    n = len(u)
    p = np.zeros((n, n))
    for j in range(n):
        terms = [np.exp(u[k] - (c if (j >= 1 and k != j) else 0.0)) if available[k] else 0.0
                 for k in range(n)]
        p[j] = np.array(terms) / sum(terms)
    return p


def _random_chain(seed: int, w: int = 3, r: int = 2, s: int = 2, g: int = 2, k: int = 4,
                  all_available: bool = False, c_max: float = 2.0):
    """Random utilities, availability, switching costs: (weights, probs, avail, u, u0, c)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0.0, 1.5, size=(w, r, s, k))
    u0 = rng.normal(0.0, 1.0, size=(w, r, s))
    if all_available:
        avail = np.ones((w, r, s, g, k), dtype=bool)
    else:
        avail = rng.random((w, r, s, g, k)) < 0.7
        avail[..., 0] = True  # at least one line per group
    c = rng.uniform(0.0, c_max, size=(w, r, s))
    weights, _ = choice.choice_weights(u, u0, avail)
    return weights, switching.transition_probabilities(weights, c), avail, u, u0, c


def _counts(seed: int, shape: tuple[int, ...], low: int = 0, high: int = 60) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, high, size=shape).astype(np.float64)


def _chain_matrix(probs: np.ndarray, lam: float) -> np.ndarray:
    n = probs.shape[-1]
    return (1.0 - lam) * np.eye(n) + lam * probs


# --------------------------------------------------------------------------- utilities


def test_utilities_match_the_definition_by_hand():
    p = factory.params(worlds=2)
    st = factory.state(p)
    rng = np.random.default_rng(1)
    w, r, s, k = st.brand.shape
    st.brand[:] = rng.normal(size=st.brand.shape)
    st.firm_share[:] = rng.dirichlet(np.ones(4), size=(w, r, s))
    st.firm_share[1, 1, 0] = np.nan  # an empty cell
    st.ecosystem[:] = rng.uniform(0, 1e4, size=st.ecosystem.shape)
    st.home[1] = [1, 1, 0, 0]
    st.owner[1, 2] = 2  # an acquisition in world 1
    p.world["network_effect"][1] = 0.7
    price = rng.uniform(0.5, 30.0, size=(w, r, s, k))
    price[:, :, :, 4] = 0.0  # the free slot: no price
    u, _ = choice.utilities(p, st, 0, price)
    seg, eps = p.segment, p.world["share_floor"]
    for wi in range(w):
        for ri in range(r):
            for si in range(s):
                for ki in range(k):
                    f = st.owner[wi, ki]
                    share = st.firm_share[wi, ri, si, f]
                    share = 0.0 if np.isnan(share) else share
                    expected = (seg["capability_weight"][wi, si] * st.capability[wi, ki]
                                + seg["open_preference"][wi, si] * st.is_open[wi, ki]
                                + st.brand[wi, ri, si, ki]
                                + p.world["network_effect"][wi] * np.log(share + eps[wi])
                                + seg["home_bias"][wi, si] * (st.home[wi, f] == ri)
                                + seg["ecosystem_weight"][wi, si] * np.log(
                                    1 + st.ecosystem[wi, ki]))
                    if ki < 4:
                        expected -= seg["price_weight"][wi, si] * np.log(price[wi, ri, si, ki])
                    assert u[wi, ri, si, ki] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert np.isfinite(u).all()
    # a free slot with no capability, price or brand yet still gets a finite utility
    st.capability[:, 4] = np.nan
    st.brand[..., 4] = np.nan
    price[..., 4] = np.nan
    u, u0 = choice.utilities(p, st, 0, price)
    assert np.isfinite(u).all() and np.isfinite(u0).all()


def test_outside_utility_reads_the_lagged_frontier():
    p = factory.params(worlds=3)
    st = factory.state(p)
    t_all = np.arange(st.closed_frontier.shape[1], dtype=float)
    st.closed_frontier[:] = 100.0 + t_all**2  # a curved history: interpolation is visible
    st.outside_level[:] = np.array([0.5, -1.0, 2.0])[:, None, None]
    p.world["outside_lag_months"][:] = [2.5, 12.0, 0.0]
    pace = p.world["frontier_pace_before"]
    beta = p.segment["capability_weight"]
    month = 6
    st.closed_frontier[:, month:] = np.nan  # month 6 is recorded after the choice
    got = choice.outside_utility(p, st, month)
    q0 = 100.0 - p.world["outside_lag_months"] * pace  # extrapolated back from step 0
    q_t = np.array([100.0 + 0.5 * (3**2 + 4**2),  # when = 3.5
                    100.0 + (6 - 12.0) * pace[1],  # before step 0
                    100.0 + 5.0**2])  # lag 0: the latest recorded month, 5
    expected = st.outside_level + beta[:, None, :] * (q_t - q0)[:, None, None]
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    np.testing.assert_allclose(choice.outside_utility(p, st, 0), st.outside_level, rtol=0)
    # a month not yet recorded is skipped: the latest recorded one is used
    st.closed_frontier[2, 3:] = np.nan
    assert choice.outside_utility(p, st, month)[2, 0, 0] == pytest.approx(
        st.outside_level[2, 0, 0] + beta[2, 0] * (100.0 + 2.0**2 - 100.0))


# --------------------------------------------------------------------------- the chain


@pytest.mark.parametrize("c", [0.0, 0.4, 1.5, 6.0])
def test_transition_rows_are_the_softmax_and_unavailable_options_get_exactly_zero(c):
    weights, probs, avail, u, u0, _ = _random_chain(3)
    probs = switching.transition_probabilities(weights, np.full(u0.shape, c))
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-14)
    for idx in np.ndindex(*avail.shape[:4]):
        w, r, s, g = idx
        full = np.r_[u0[w, r, s], u[w, r, s]]
        mask = np.r_[True, avail[idx]]
        np.testing.assert_allclose(probs[idx], _hand_transition(full, mask, c), rtol=1e-12)
        assert (probs[idx][:, ~mask] == 0.0).all()


def test_extreme_utilities_stay_finite_and_exact_zero():
    u = np.array([800.0, -800.0, 5000.0, 1.0])[None, None, None, :]
    avail = np.array([True, True, False, True])[None, None, None, None, :]
    weights, shift = choice.choice_weights(u, np.zeros((1, 1, 1)), avail)
    probs = switching.transition_probabilities(weights, np.full((1, 1, 1), 2.0))[0, 0, 0, 0]
    assert np.isfinite(probs).all() and (probs[:, 3] == 0.0).all()
    assert probs[3, 1] == pytest.approx(1.0)  # the adopter of the unavailable line must move
    assert choice.inclusive_value(weights, shift)[0, 0, 0, 0] == pytest.approx(800.0)


def test_stationary_shares_satisfy_detailed_balance_and_equal_the_logit_without_costs():
    weights, probs, avail, u, u0, c = _random_chain(5)
    pi = choice.stationary_shares(weights, c)
    np.testing.assert_allclose(pi.sum(axis=-1), 1.0, rtol=1e-14)
    flow = pi[..., :, None] * probs
    np.testing.assert_allclose(flow, np.swapaxes(flow, -1, -2), rtol=1e-12, atol=1e-15)
    for idx in np.ndindex(*pi.shape[:4]):  # also the left eigenvector of the month's chain
        np.testing.assert_allclose(pi[idx] @ _chain_matrix(probs[idx], 0.3), pi[idx],
                                   rtol=1e-12, atol=1e-15)
    logit = weights / weights.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(choice.stationary_shares(weights, np.zeros_like(c)), logit,
                               rtol=1e-13)


# --------------------------------------------------------------------------- expected engine


def test_expected_engine_approaches_the_logit_at_rate_one_minus_lambda():
    """c = 0: ``M^t = (1 - l)^t I + (1 - (1 - l)^t) 1 pi'``, so ``N_t - pi n`` shrinks by
    ``(1 - l)`` every month exactly; with c > 0 the counts are ``N_0 M^t``."""
    w, r, s, g = 2, 2, 2, 1
    weights, _, _, _, _, _ = _random_chain(7, w, r, s, g, all_available=True)
    lam = np.array([[0.1, 0.35], [0.2, 0.05]])
    forced = np.zeros((w, r, s, g, 4))
    start = _counts(8, (w, r, s, g, 5)) * 1e6
    total = start.sum(axis=-1, keepdims=True)
    for c in (0.0, 1.3):
        cost = np.full((w, r, s), c)
        probs = switching.transition_probabilities(weights, cost)
        pi = choice.stationary_shares(weights, cost)
        counts = start.copy()
        for t in range(1, 41):
            counts = switching.choose(counts, probs, lam, forced, "expected", None, t)
            decay = (1.0 - lam[:, None, :, None, None]) ** t
            if c == 0.0:
                expected = pi * total + decay * (start - pi * total)
                np.testing.assert_allclose(counts, expected, rtol=1e-9)
            elif t % 10 == 0:
                for idx in np.ndindex(w, r, s, g):
                    m = _chain_matrix(probs[idx], lam[idx[0], idx[2]])
                    expected = start[idx] @ np.linalg.matrix_power(m, t)
                    np.testing.assert_allclose(counts[idx], expected, rtol=1e-9)
        np.testing.assert_allclose(counts.sum(axis=-1), start.sum(axis=-1), rtol=1e-12)


def test_month_zero_inverted_brands_make_a_steady_state():
    rng = np.random.default_rng(9)
    w, r, s, k = 2, 2, 2, 4
    target = rng.dirichlet(np.ones(k + 1), size=(w, r, s))
    base = rng.normal(size=(w, r, s, k))
    outside = rng.normal(size=(w, r, s))
    c = rng.uniform(0.0, 3.0, size=(w, r, s))
    avail = np.ones((w, r, k), dtype=bool)
    brand = choice.invert_brands(target, base, outside, c, avail)
    weights, _ = choice.choice_weights(base + brand, outside, avail[:, :, None, None, :])
    probs = switching.transition_probabilities(weights, c)
    start = target[:, :, :, None, :] * 1e7
    after = switching.choose(start, probs, np.full((w, s), 0.4), np.zeros((w, r, s, 1, k)),
                          "expected", None, 1)
    np.testing.assert_allclose(after, start, rtol=1e-9)


# --------------------------------------------------------------------------- exact engine


def test_exact_and_expected_engines_agree_in_mean():
    """One month from fixed counts: adopter i at j ends at k with ``g_jk = (1 - r_j)[j == k]
    + r_j P[j, k]`` independently, so count k has mean ``sum_j N_j g_jk`` and variance
    ``sum_j N_j g_jk (1 - g_jk)``. 400 worlds, each its own replication: z-scores of the
    mean over worlds, with a union bound over cells."""
    n_worlds = 400
    weights, probs, avail, _, _, _ = _random_chain(11, w=1, r=2, s=2, g=2)
    probs = np.repeat(probs, n_worlds, axis=0)
    lam = np.repeat(np.array([[0.3, 0.15]]), n_worlds, axis=0)
    forced = np.repeat((~avail).astype(float) * 0.6, n_worlds, axis=0)
    start = np.repeat(_counts(12, (1, 2, 2, 2, 5), 5, 40), n_worlds, axis=0)
    newly = np.minimum(start[..., 0], 7.0)
    streams = KeyedStreams(seed=2024, replications=np.arange(n_worlds))
    exact = switching.choose(start, probs, lam, forced, "exact", streams, 3, newly=newly)
    expected = switching.choose(start, probs, lam, forced, "expected", None, 3, newly=newly)
    rate = np.concatenate([np.broadcast_to(lam[:, None, :, None, None], (*start.shape[:-1], 1)),
                           lam[:, None, :, None, None] + (1 - lam[:, None, :, None, None])
                           * forced], axis=-1)
    stay = (1 - rate)[..., :, None] * np.eye(5) + rate[..., :, None] * probs
    free = start.copy()
    free[..., 0] -= newly
    var = (free[..., :, None] * stay * (1 - stay)).sum(axis=-2)
    var += newly[..., None] * probs[..., 0, :] * (1 - probs[..., 0, :])
    np.testing.assert_allclose(expected, (free[..., :, None] * stay).sum(axis=-2)
                               + newly[..., None] * probs[..., 0, :], rtol=1e-12)
    mean_exact = exact.mean(axis=0)
    sd = np.sqrt(var[0] / n_worlds)
    live = sd > 0
    z = (mean_exact[live] - expected[0][live]) / sd[live]
    bound = stats.norm.isf(0.001 / (2 * z.size))
    assert np.abs(z).max() < bound, z
    # nobody arrives at an unavailable line (its count can only fall); totals are conserved
    blocked = np.broadcast_to(~avail, exact[..., 1:].shape)
    assert (exact[..., 1:][blocked] <= start[..., 1:][blocked]).all()
    np.testing.assert_array_equal(exact.sum(axis=-1), start.sum(axis=-1))


def test_counts_are_conserved_whole_and_non_negative_over_many_months():
    w = 6
    streams = KeyedStreams(seed=5, replications=np.arange(w))
    rng = np.random.default_rng(13)
    exact = _counts(14, (w, 2, 2, 2, 5), 0, 1000)
    expected = exact.copy()
    total = exact.sum(axis=-1)
    lam = np.full((w, 2), 0.4)
    for month in range(1, 25):
        weights, probs, avail, _, _, _ = _random_chain(100 + month, w=w, g=2)
        forced = (~avail).astype(float) * rng.uniform(0.0, 1.0)
        exact = switching.choose(exact, probs, lam, forced, "exact", streams, month)
        expected = switching.choose(expected, probs, lam, forced, "expected", None, month)
        assert (exact >= 0).all() and (expected >= 0).all()
        np.testing.assert_array_equal(exact, np.rint(exact))
        np.testing.assert_array_equal(exact.sum(axis=-1), total)
        np.testing.assert_allclose(expected.sum(axis=-1), total, rtol=1e-9)


@pytest.mark.parametrize("engine", ["expected", "exact"])
def test_forced_movers_leave_an_unavailable_line(engine):
    w = 300
    rng = np.random.default_rng(17)
    avail = np.ones((1, 1, 2, 1, 4), dtype=bool)
    avail[..., 1] = False  # line 1 is withdrawn from every group
    weights, _ = choice.choice_weights(rng.normal(size=(1, 1, 2, 4)), rng.normal(size=(1, 1, 2)),
                                       avail)
    probs = np.repeat(switching.transition_probabilities(weights, np.full((1, 1, 2), 0.8)), w, 0)
    lam = np.repeat(np.array([[0.2, 0.1]]), w, axis=0)
    start = np.repeat(_counts(18, (1, 1, 2, 1, 5), 50, 200), w, axis=0)
    streams = KeyedStreams(seed=9, replications=np.arange(w))
    full = np.zeros((w, 1, 2, 1, 4))
    full[..., 1] = 1.0
    after = switching.choose(start, probs, lam, full, engine, streams, 2)
    assert (after[..., 2] == 0.0).all()  # option 2 = line 1: emptied in one month
    f = 0.25
    after = switching.choose(start, probs, lam, full * f, engine, streams, 2)
    leave = lam + (1 - lam) * f  # [W, S]
    kept = start[..., 2] * (1 - leave[:, None, :, None])
    if engine == "expected":
        np.testing.assert_allclose(after[..., 2], kept, rtol=1e-12)
    else:  # binomial: mean N (1 - rate), variance N rate (1 - rate)
        sd = np.sqrt(start[..., 2] * leave[:, None, :, None] * (1 - leave[:, None, :, None]))
        z = (after[..., 2].mean(axis=0) - kept[0]) / (sd[0] / np.sqrt(w))
        assert np.abs(z).max() < 4.0, z


def test_exact_draws_of_a_world_do_not_depend_on_the_batch():
    """World with replication 3 alone, then in a batch of five whose other worlds differ."""
    reps = np.array([0, 8, 3, 1, 5])
    weights, probs, avail, _, _, _ = _random_chain(21, w=5)
    lam = np.random.default_rng(2).uniform(0.05, 0.5, size=(5, 2))
    forced = (~avail).astype(float) * 0.5
    counts = _counts(22, (5, 2, 2, 2, 5), 0, 10_000)
    newly = np.floor(counts[..., 0] / 3)
    batch = switching.choose(counts, probs, lam, forced, "exact", KeyedStreams(4, reps), 7,
                          newly=newly)
    one = slice(2, 3)
    alone = switching.choose(counts[one], probs[one], lam[one], forced[one], "exact",
                          KeyedStreams(4, reps[one]), 7, newly=newly[one])
    np.testing.assert_array_equal(alone[0], batch[2])
    # awareness: the same world in a batch of five and alone
    p5, p1 = factory.params(worlds=5), factory.params(worlds=1)
    s5, s1 = factory.state(p5), factory.state(p1)
    s5.unaware = np.rint(s5.unaware * np.linspace(0.5, 1.5, 5)[:, None, None, None])
    s5.counts = np.rint(s5.counts)
    s1.unaware, s1.counts = s5.unaware[one].copy(), s5.counts[one].copy()
    new5 = choice.awareness(s5, p5, "exact", KeyedStreams(4, reps), 7)
    new1 = choice.awareness(s1, p1, "exact", KeyedStreams(4, reps[one]), 7)
    np.testing.assert_array_equal(new1[0], new5[2])
    np.testing.assert_array_equal(s1.counts[0], s5.counts[2])


# --------------------------------------------------------------------------- awareness


def test_awareness_without_choice_follows_the_bass_closed_form():
    """Every aware adopter adopts (the outside option has weight exactly 0 and everyone
    reconsiders), so ``X = A`` and the aware share is Bass's ``F(t)`` from ``F(0) = 0``."""
    p = factory.params(worlds=2)
    p.segment["bass_p"][1] = [0.03, 0.004]
    p.segment["bass_q"][1] = [0.5, 0.35]
    st = factory.state(p)
    st.counts[:] = 0.0
    st.unaware = st.potential[..., None] * p.structure.group_fractions[None]
    w, r, s, g, o = st.counts.shape
    u = np.zeros((w, r, s, o - 1))
    u0 = np.full((w, r, s), -1e4)  # exp(-1e4) = 0: nobody stays outside
    avail = np.ones((w, r, s, g, o - 1), dtype=bool)
    avail[..., -1] = False
    weights, _ = choice.choice_weights(u, u0, avail)
    assert (weights[..., 0] == 0.0).all()
    probs = switching.transition_probabilities(weights, np.full((w, r, s), 0.5))
    lam = p.segment["reconsider_rate"]
    for month in range(1, 61):
        newly = choice.awareness(st, p, "expected", None, month, weights=weights)
        st.counts = switching.choose(st.counts, probs, lam, np.zeros((w, r, s, g, o - 1)),
                                  "expected", None, month, newly=newly)
        share = st.counts.sum(axis=(3, 4)) / st.potential
        closed = bass_closed_form(month, p.segment["bass_p"], p.segment["bass_q"])
        np.testing.assert_allclose(share, np.broadcast_to(closed[:, None, :], share.shape),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(st.counts.sum(axis=(3, 4)) + st.unaware.sum(axis=-1),
                                   st.potential, rtol=1e-12)


def test_exact_awareness_is_binomial_and_moves_people_into_option_zero():
    n_worlds = 500
    p = factory.params(worlds=n_worlds)
    st = factory.state(p)
    st.unaware = np.rint(st.unaware / 1e3)  # small counts: sampling noise is visible
    st.counts = np.rint(st.counts / 1e3)
    st.potential = st.unaware.sum(axis=-1) + st.counts.sum(axis=(3, 4))
    before_unaware, before_outside = st.unaware.copy(), st.counts[..., 0].copy()
    reference = factory.state(p)
    reference.unaware, reference.counts = st.unaware.copy(), st.counts.copy()
    reference.potential = st.potential.copy()
    mean = choice.awareness(reference, p, "expected", None, 4)
    prob = mean / before_unaware
    newly = choice.awareness(st, p, "exact", KeyedStreams(1, np.arange(n_worlds)), 4)
    np.testing.assert_array_equal(st.unaware, before_unaware - newly)
    np.testing.assert_array_equal(st.counts[..., 0], before_outside + newly)
    np.testing.assert_array_equal(newly, np.rint(newly))
    sd = np.sqrt(before_unaware[0] * prob[0] * (1 - prob[0]) / n_worlds)
    z = (newly.mean(axis=0) - mean[0]) / sd
    assert np.abs(z).max() < 4.0, z


def test_awareness_where_nobody_is_aware_uses_the_inside_probability():
    p = factory.params(worlds=1)
    st = factory.state(p)
    st.unaware = st.unaware + st.counts.sum(axis=-1)
    st.counts[:] = 0.0
    u = np.zeros((1, 2, 2, 5))
    weights, _ = choice.choice_weights(u, np.zeros((1, 2, 2)), np.ones((1, 2, 2, 1, 5), bool))
    unaware = st.unaware.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        newly = choice.awareness(st, p, "expected", None, 1, weights=weights)
    # nobody aware: the hazard is p alone, whatever phi (h0 = p, c = p + q phi)
    bp, bq, phi = p.segment["bass_p"][0], p.segment["bass_q"][0], 5.0 / 6.0
    c = bp + bq * phi
    expected = bp / (bp + c / np.expm1(c))
    np.testing.assert_allclose(newly / unaware, np.broadcast_to(expected[None, :, None],
                                                                 unaware.shape[1:])[None],
                               rtol=1e-12)


# --------------------------------------------------------------------------- step 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invert_brands_reproduces_random_targets_with_switching_costs(seed):
    rng = np.random.default_rng(seed)
    w, r, s, k = 3, 3, 2, 6
    avail = rng.random((w, r, k)) < 0.75
    avail[:, 0, :] = True
    avail[:, 1, 2] = False  # missing in one region: filled by the mean over regions
    avail[0, :, 5] = False  # missing everywhere in world 0: the cell's lowest constant
    target = rng.dirichlet(np.full(k + 1, 0.8), size=(w, r, s))
    mask = np.concatenate([np.ones((w, r, 1), bool), avail], axis=-1)[:, :, None, :]
    target = np.where(mask, np.maximum(target, 1e-6), 0.0)
    target /= target.sum(axis=-1, keepdims=True)
    base = rng.normal(0, 3, size=(w, r, s, k))
    outside = rng.normal(size=(w, r, s))
    c = rng.uniform(0.0, 4.0, size=(w, r, s))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        brand = choice.invert_brands(target, base, outside, c, avail)
    assert np.isfinite(brand).all()
    weights, _ = choice.choice_weights(base + brand, outside, avail[:, :, None, None, :])
    got = choice.stationary_shares(weights, c)[:, :, :, 0, :]
    np.testing.assert_allclose(got, target, rtol=1e-10, atol=1e-14)
    # line 2 missing in region 1: its mean over the regions that have it (same world, segment)
    for wi in range(w):
        there = avail[wi, :, 2]
        np.testing.assert_allclose(brand[wi, 1, :, 2], brand[wi, there, :, 2].mean(axis=0))
    # line 5 missing everywhere in world 0: the lowest constant among the cell's lines
    for ri in range(r):
        lowest = brand[0, ri][:, avail[0, ri]].min(axis=-1)
        np.testing.assert_allclose(brand[0, ri, :, 5], lowest)


def test_initial_counts_sum_exactly_and_follow_the_shares():
    p = factory.params(worlds=2, groups=3)
    n_w, n_r, n_s, n_k = p.region["shares"].shape
    potential = np.array([[[100_003.0, 7.0], [1e8 + 1, 0.0]]] * n_w)
    avail = np.ones((n_w, n_r, n_s, 3, n_k), dtype=bool)
    avail[..., 4] = False
    avail[:, 0, :, 2, 1] = False  # group 2 of region 0 cannot use line 1 (a ban binds it)
    unaware, counts = choice.initial_counts(potential, p.region["aware"], p.region["adoption"],
                                            p.region["shares"], p.structure.group_fractions,
                                            avail)
    np.testing.assert_array_equal(unaware.sum(axis=-1) + counts.sum(axis=(-2, -1)), potential)
    assert (counts >= 0).all() and (unaware >= 0).all()
    np.testing.assert_array_equal(counts, np.rint(counts))
    assert (counts[..., 5] == 0).all() and (counts[:, 0, :, 2, 2] == 0).all()
    # every count within one of its share of the group (largest remainder)
    group = unaware + counts.sum(axis=-1)
    users = group * p.region["adoption"][..., None]
    inside = np.where(avail, p.region["shares"][:, :, :, None, :], 0.0)
    inside /= inside.sum(axis=-1, keepdims=True)
    assert np.abs(counts[..., 1:] - users[..., None] * inside).max() <= 1.0
    assert np.abs(unaware - group * (1 - p.region["aware"][..., None])).max() <= 1.0
    with pytest.raises(ValueError):
        choice.initial_counts(potential, p.region["adoption"], p.region["aware"],
                              p.region["shares"], p.structure.group_fractions, avail)


def test_exact_engine_refuses_fractional_counts():
    _, probs, _, _, _, _ = _random_chain(1, w=1)
    with pytest.raises(ValueError):
        switching.choose(np.full((1, 2, 2, 2, 5), 0.5), probs, np.full((1, 2), 0.1),
                      np.zeros((1, 2, 2, 2, 4)), "exact", KeyedStreams(0, np.arange(1)), 1)
    with pytest.raises(ValueError):
        switching.choose(np.ones((1, 2, 2, 2, 5)), probs, np.full((1, 2), 0.1),
                      np.zeros((1, 2, 2, 2, 4)), "approximate", None, 1)


@pytest.mark.parametrize("seed", range(6))
def test_expected_arrivals_equal_the_matrix_product_without_the_matrix(seed: int) -> None:
    """The expected engine's closed form of ``movers @ P`` (sim/engine/switching.py)."""
    weights, probs, _, _, _, c = _random_chain(seed, k=7, c_max=4.0)
    movers = _counts(seed + 100, weights.shape) * 0.37
    by_matrix = np.einsum("...j,...jk->...k", movers, probs)
    closed = switching.expected_arrivals(movers, weights, c)
    np.testing.assert_allclose(closed, by_matrix, rtol=1e-12, atol=1e-12)
    # movers are conserved and unavailable options receive nobody
    np.testing.assert_allclose(closed.sum(axis=-1), movers.sum(axis=-1), rtol=1e-12)
    assert np.all(closed[weights == 0.0] == 0.0)


def test_switch_is_choose_with_the_engine_kernel() -> None:
    weights, probs, _, _, _, c = _random_chain(9, k=5)
    counts = _counts(10, weights.shape)
    lam = np.full((weights.shape[0], weights.shape[2]), 0.3)
    forced = np.zeros((*weights.shape[:-1], weights.shape[-1] - 1))
    forced[..., 1] = 0.5
    newly = np.minimum(counts[..., 0], 4.0)
    via_matrix = switching.choose(counts, probs, lam, forced, "expected", None, 2, newly=newly)
    direct = switching.switch(counts, weights, c, lam, forced, "expected", None, 2, newly=newly)
    np.testing.assert_allclose(direct, via_matrix, rtol=1e-12, atol=1e-9)
    streams = KeyedStreams(3, np.arange(weights.shape[0]))
    exact = switching.switch(counts, weights, c, lam, forced, "exact", streams, 2, newly=newly)
    again = switching.choose(counts, probs, lam, forced, "exact", streams, 2, newly=newly)
    assert np.array_equal(exact, again)  # the exact engine draws from the same P
