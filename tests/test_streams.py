"""Counter-based streams: Random123's known answers, batch invariance, distribution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.streams import GLOBAL_REGION, KeyedStreams, Mechanism, philox4x32, set_pcg64_state

# Random123 kat_vectors, philox4x32 with 10 rounds: counter (4 words), key (2 words), output
KAT = [
    ("00000000 00000000 00000000 00000000", "00000000 00000000",
     "6627e8d5 e169c58d bc57ac4c 9b00dbd8"),
    ("ffffffff ffffffff ffffffff ffffffff", "ffffffff ffffffff",
     "408f276d 41c83b0e a20bc7c6 6d5451fd"),
    ("243f6a88 85a308d3 13198a2e 03707344", "a4093822 299f31d0",
     "d16cfe09 94fdcceb 5001e420 24126ea1"),
]


def _words(text: str) -> np.ndarray:
    return np.array([int(w, 16) for w in text.split()], dtype=np.uint64)


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_known_answers(counter: str, key: str, expected: str) -> None:
    out = philox4x32(_words(counter), _words(key))
    assert out.tolist() == _words(expected).tolist()


def test_vectorised_equals_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    counters = rng.integers(0, 2**32, size=(50, 4), dtype=np.uint64)
    keys = rng.integers(0, 2**32, size=(50, 2), dtype=np.uint64)
    batch = philox4x32(counters, keys)
    for i in range(50):
        assert philox4x32(counters[i], keys[i]).tolist() == batch[i].tolist()


def test_a_world_draws_the_same_alone_or_in_any_batch() -> None:
    reps = np.array([5, 0, 9, 5, 2])
    batch = KeyedStreams(11, reps).uniforms(Mechanism.CONTRIBUTORS, 17, 2, 301)
    for w, rep in enumerate(reps):
        alone = KeyedStreams(11, np.array([rep])).uniforms(Mechanism.CONTRIBUTORS, 17, 2, 301)
        assert np.array_equal(alone[0], batch[w])
    assert np.array_equal(batch[0], batch[3])  # same replication: common random numbers


def test_longer_requests_extend_shorter_ones() -> None:
    s = KeyedStreams(1, np.arange(3))
    assert np.array_equal(s.uniforms(Mechanism.ENTRY, 4, 0, 7),
                          s.uniforms(Mechanism.ENTRY, 4, 0, 20)[:, :7])


@pytest.mark.parametrize("change", ["seed", "replication", "mechanism", "month", "region"])
def test_every_part_of_the_key_changes_the_numbers(change: str) -> None:
    base = {"seed": 1, "rep": 0, "mechanism": Mechanism.DEMAND, "month": 3, "region": 1}
    other = dict(base)
    if change == "seed":
        other["seed"] = 2
    elif change == "replication":
        other["rep"] = 1
    elif change == "mechanism":
        other["mechanism"] = Mechanism.ENTRY
    elif change == "month":
        other["month"] = 4
    else:
        other["region"] = GLOBAL_REGION

    def draw(p: dict) -> np.ndarray:
        return KeyedStreams(p["seed"], np.array([p["rep"]])).uniforms(
            p["mechanism"], p["month"], p["region"], 64)

    a, b = draw(base), draw(other)
    assert not np.array_equal(a, b)
    # unrelated streams: no correlation to speak of
    assert abs(np.corrcoef(a[0], b[0])[0, 1]) < 0.5


def test_uniforms_are_uniform_and_in_range() -> None:
    u = KeyedStreams(2026, np.arange(4)).uniforms(Mechanism.AWARENESS, 0, 0, 25_000).ravel()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # serial pairs are not correlated
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.02


def test_normals_are_standard_normal() -> None:
    z = KeyedStreams(5, np.arange(2)).normals(Mechanism.ENTRY, 1, 0, 20_001)
    assert z.shape == (2, 20_001)
    assert np.isfinite(z).all()
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-3


def test_generator_states_reset_a_reusable_generator_reproducibly() -> None:
    streams = KeyedStreams(3, np.array([0, 1]))
    states = streams.generator_states(Mechanism.EXACT_ENGINE, 5, 1)
    gen = np.random.Generator(np.random.PCG64())
    first = set_pcg64_state(gen, states[0]).binomial(10**9, 0.3, size=3)
    second = set_pcg64_state(gen, states[1]).binomial(10**9, 0.3, size=3)
    again = set_pcg64_state(gen, states[0]).binomial(10**9, 0.3, size=3)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("bad", [-1, 2**64, True])
def test_bad_seed_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="seed"):
        KeyedStreams(bad, np.array([0]))


def test_bad_replications_are_refused() -> None:
    with pytest.raises(ValueError, match="replications"):
        KeyedStreams(0, np.array([[0]]))
    with pytest.raises(ValueError, match="replications"):
        KeyedStreams(0, np.array([-1]))
