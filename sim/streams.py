"""Counter-based random streams for many worlds at once (MODEL.md 10; INTERFACES.md "Engines").

Every random number of a world is a pure function of its key
``(root seed, replication, mechanism, month, region, index)``: the Philox4x32-10
block cipher (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as easy
as 1, 2, 3"; Random123) encrypts the counter ``(replication, mechanism/region,
month, index)`` under the key ``root seed``. Nothing depends on how worlds are
batched, how many there are, which executor runs them or in which order, so a
batch of W worlds gives, bit for bit, what W separate runs give; the scenario and
the posterior draw are not in the key, so paired runs (baseline and policy, or two
parameter draws of one replication) share their numbers (common random numbers).

Why not numpy Generators: building one costs 14-19 us here, one per
(world, mechanism, month, region) key would dominate a batched month, and one
Generator shared by the batch makes the draws depend on the batch. Philox needs
no state at all and is evaluated for every world in one vectorised call.

Exact binomial and multinomial draws need numpy's samplers: :meth:`KeyedStreams.
generator_states` gives, for every world, a 128-bit PCG64 state derived from the
same keys, so the exact engine resets one reusable generator per world and cell
(a state assignment, not a construction).

Example:
    >>> import numpy as np
    >>> streams = KeyedStreams(seed=7, replications=np.array([0, 1, 2]))
    >>> u = streams.uniforms(Mechanism.ENTRY, month=3, region=0, n=4)
    >>> u.shape
    (3, 4)
    >>> alone = KeyedStreams(seed=7, replications=np.array([1]))
    >>> bool((alone.uniforms(Mechanism.ENTRY, 3, 0, 4)[0] == u[1]).all())
    True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import IntEnum

import numpy as np

__all__ = ["Mechanism", "KeyedStreams", "philox4x32", "set_pcg64_state", "keyed_generators",
           "GLOBAL_REGION"]

# Philox4x32 constants (Random123, philox.h): multipliers and Weyl key increments.
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint32(0x9E3779B9)
_W1 = np.uint32(0xBB67AE85)
_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_MULTIPLIERS = np.array([_M0, _M1], dtype=np.uint64)  # of (c0, c2)
_WEYL = np.array([_W0, _W1], dtype=np.uint64)  # the key schedule's increments of (k0, k1)

#: Region slot of streams that are not about one region (entry, ordering, ...).
GLOBAL_REGION = 0xFFFF

#: 2**-53: turns 53 random bits into a double in [0, 1).
_TO_UNIT = 1.0 / 9007199254740992.0


class Mechanism(IntEnum):
    """Which mechanism a stream belongs to: part of every key, so never renumber."""

    AWARENESS = 1
    DEMAND = 2
    CONTRIBUTORS = 3
    ENTRY = 4
    ORDER = 5
    INIT = 6
    FUNDING = 7
    OPENNESS = 8
    EXACT_ENGINE = 9


def philox4x32(counter: np.ndarray, key: np.ndarray, rounds: int = 10) -> np.ndarray:
    """The Philox4x32 bijection, vectorised over any leading axes.

    Args:
        counter: ``[..., 4]`` unsigned 32-bit words (any integer dtype; values < 2**32).
        key: ``[..., 2]`` unsigned 32-bit words, broadcastable against ``counter``.
        rounds: Number of rounds; 10 is the standard, Crush-resistant choice.

    Returns:
        ``[..., 4]`` uint32: the encrypted counter (Random123's known-answer vectors hold:
        ``tests/test_streams.py``).
    """
    c = np.asarray(counter, dtype=np.uint64) & _LOW32
    k = np.asarray(key, dtype=np.uint64) & _LOW32  # [..., 2]: (k0, k1)
    # the words in pairs, (c0, c2) and (c1, c3), so that each operation of a round acts on
    # both halves at once (integer arithmetic: the same words as word-by-word code, in half
    # the array operations, which dominate at the small sizes the engine asks for)
    even, odd = c[..., 0::2], c[..., 1::2]
    for _ in range(rounds):
        product = _MULTIPLIERS * even  # (M0 c0, M1 c2): 32 x 32 -> 64 bits, exact in uint64
        high, low = product >> _SHIFT32, product & _LOW32
        # (c0, c1, c2, c3) <- (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        even, odd = high[..., ::-1] ^ odd ^ k, low[..., ::-1]
        k = (k + _WEYL) & _LOW32
    out = np.empty((*even.shape[:-1], 4), dtype=np.uint32)
    out[..., 0::2], out[..., 1::2] = even, odd  # words < 2**32: the cast is exact
    return out


class KeyedStreams:
    """Random numbers of W worlds keyed by (seed, replication, mechanism, month, region).

    Args:
        seed: Root seed, 0 <= seed < 2**64.
        replications: ``[W]`` replication number of each world (0 <= r < 2**32). Worlds
            with the same replication get the same numbers (paired scenarios and
            posterior draws share their luck: common random numbers).

    Raises:
        ValueError: A seed or replication out of range.
    """

    def __init__(self, seed: int, replications: np.ndarray):
        if isinstance(seed, bool) or not 0 <= int(seed) < 2**64:
            raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
        reps = np.asarray(replications)
        if reps.ndim != 1 or (reps.size and (reps.min() < 0 or reps.max() >= 2**32)):
            raise ValueError("replications must be a 1-d array of integers in [0, 2**32)")
        self.seed = int(seed)
        self.replications = reps.astype(np.uint64)
        self._key = np.array([self.seed & 0xFFFFFFFF, self.seed >> 32], dtype=np.uint64)

    @property
    def worlds(self) -> int:
        """Number of worlds W."""
        return int(self.replications.shape[0])

    def _blocks(self, mechanism: int, month: int, region: int, n_blocks: int) -> np.ndarray:
        """``[W, n_blocks, 4]`` uint32 random words of one (mechanism, month, region)."""
        if not 0 <= int(region) <= GLOBAL_REGION:
            raise ValueError(f"region must be in [0, {GLOBAL_REGION}], got {region}")
        return self._region_blocks(mechanism, month, (int(region),), n_blocks)[0]

    def _region_blocks(self, mechanism: int, month: int, regions: Sequence[int], n_blocks: int
                       ) -> np.ndarray:
        """``[len(regions), W, n_blocks, 4]``: :meth:`_blocks` of several regions in one call.

        Each region's words are those of its own key (the counter holds the region), so the
        batched call gives exactly what one call per region does, at one call's overhead.
        """
        if not 0 <= int(month) < 2**32:
            raise ValueError(f"month must be in [0, 2**32), got {month}")
        counter = np.empty((len(regions), self.worlds, n_blocks, 4), dtype=np.uint64)
        counter[..., 0] = self.replications[None, :, None]
        counter[..., 1] = (np.uint64(int(mechanism) << 16)
                           | np.asarray(regions, dtype=np.uint64)[:, None, None])
        counter[..., 2] = int(month)
        counter[..., 3] = np.arange(n_blocks, dtype=np.uint64)
        return philox4x32(counter, self._key)

    def uniforms(self, mechanism: Mechanism, month: int, region: int, n: int) -> np.ndarray:
        """``[W, n]`` uniforms in [0, 1) with 53 random bits each.

        Draw ``i`` of a key is the same whatever ``n`` (a longer request extends a
        shorter one), so a mechanism may ask for as many as the state needs.
        """
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        words = self._blocks(mechanism, month, region, (n + 1) // 2).astype(np.uint64)
        # two doubles per block: 26 + 27 bits of words (0, 1) and of (2, 3)
        first = ((words[..., 0] >> np.uint64(6)) << np.uint64(27)) | (words[..., 1]
                                                                     >> np.uint64(5))
        second = ((words[..., 2] >> np.uint64(6)) << np.uint64(27)) | (words[..., 3]
                                                                      >> np.uint64(5))
        bits = np.stack([first, second], axis=-1).reshape(self.worlds, -1)[:, :n]
        return bits.astype(np.float64) * _TO_UNIT

    def normals(self, mechanism: Mechanism, month: int, region: int, n: int) -> np.ndarray:
        """``[W, n]`` standard normals (Box-Muller on :meth:`uniforms`)."""
        m = (int(n) + 1) // 2
        u = self.uniforms(mechanism, month, region, 2 * m).reshape(self.worlds, m, 2)
        radius = np.sqrt(-2.0 * np.log1p(-u[..., 0]))  # 1 - u in (0, 1]: log is finite
        angle = 2.0 * np.pi * u[..., 1]
        z = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1)
        return z.reshape(self.worlds, -1)[:, : int(n)]

    def generator_states(self, mechanism: Mechanism, month: int, region: int) -> np.ndarray:
        """``[W, 4]`` uint32 words: a 128-bit PCG64 state per world for exact samplers.

        Use with :func:`set_pcg64_state` on one reusable ``numpy.random.Generator``.
        """
        return self._blocks(mechanism, month, region, 1)[:, 0, :]

    def region_generator_states(self, mechanism: Mechanism, month: int, n_regions: int
                                ) -> np.ndarray:
        """``[R, W, 4]``: :meth:`generator_states` of regions ``0 .. n_regions - 1`` at once."""
        if not 0 <= n_regions <= GLOBAL_REGION + 1:
            raise ValueError(f"n_regions must be in [0, {GLOBAL_REGION + 1}], got {n_regions}")
        return self._region_blocks(mechanism, month, range(n_regions), 1)[:, :, 0, :]


def set_pcg64_state(generator: np.random.Generator, words: np.ndarray) -> np.random.Generator:
    """Reset a PCG64-backed generator to the state encoded by four 32-bit ``words``.

    The 128-bit state is the Philox output; the stream increment is fixed and odd,
    as PCG requires. Resetting costs a dict assignment (microseconds), far less than
    building a Generator.

    Args:
        generator: A ``numpy.random.Generator(numpy.random.PCG64())``.
        words: Four uint32 words (a row of :meth:`KeyedStreams.generator_states`).

    Returns:
        The same generator, for chaining.
    """
    w = [int(x) for x in words]
    state = w[0] | (w[1] << 32) | (w[2] << 64) | (w[3] << 96)
    generator.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": state, "inc": _PCG_INCREMENT},
        "has_uint32": 0,
        "uinteger": 0,
    }
    return generator


def keyed_generators(streams: KeyedStreams, mechanism: Mechanism, month: int,
                     n_regions: int) -> Iterator[tuple[int, int, np.random.Generator]]:
    """``(world, region, generator)`` for every (world, region), each keyed by its own key.

    numpy has no batched keyed sampler, so the exact engine draws cell by cell: one PCG64
    reset (:func:`set_pcg64_state`) per (world, region) instead of one Generator per key. The
    one generator is reused, so draw from it before asking for the next.

    Args:
        streams: The batch's keyed streams.
        mechanism: What the draws are for (part of the key).
        month: Step (part of the key).
        n_regions: Regions to visit (the key's region is the region index).
    """
    generator = np.random.Generator(np.random.PCG64(0))  # reset before every use
    keys = streams.region_generator_states(mechanism, month, n_regions)  # one Philox call
    for region in range(n_regions):
        for world in range(keys.shape[1]):
            yield world, region, set_pcg64_state(generator, keys[region, world])


# any odd 128-bit constant works; this is PCG's default multiplier's low word, made odd
_PCG_INCREMENT = ((0x2360ED051FC65DA44385DF649FCCF645 << 1) | 1) & ((1 << 128) - 1)
