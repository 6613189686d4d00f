"""Random streams keyed by (replication seed, mechanism, month, region).

Binomial and multinomial draws consume a variable number of random numbers, so
one shared stream would desynchronise every later draw as soon as one count
changed. Instead each mechanism draws, in each month and region, from its own
child of the replication's :class:`numpy.random.SeedSequence`. That is what makes
common random numbers work across scenarios (MODEL.md 6): a ban in the EU does
not change a single draw of the US market.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = ["Mechanism", "Streams", "seed_sequence"]


class Mechanism(IntEnum):
    """Which mechanism a stream belongs to (part of its key; never renumber)."""

    MESA = 0
    DEMAND = 1
    CONTRIBUTORS = 2
    DERIVATIVES = 3
    ENTRY = 4
    VENDOR_ORDER = 5
    INIT = 6


#: Region slot for streams that are not about one region.
GLOBAL = 10_000


def seed_sequence(seed: int | np.random.SeedSequence, replication: int | None = None
                  ) -> np.random.SeedSequence:
    """Return the SeedSequence of one replication.

    Args:
        seed: The root seed, or an existing SeedSequence.
        replication: Replication number; replication i of every scenario gets the
            same sequence (common random numbers). None means the root itself.
    """
    if isinstance(seed, np.random.SeedSequence):
        root = seed
    else:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        root = np.random.SeedSequence(int(seed))
    if replication is None:
        return root
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, int(replication)))


#: Draws reserved for one month of one stream (2**64: more than any month can use).
MONTH_STRIDE = 1 << 64


class Streams:
    """Factory of independent generators for one replication.

    Each (mechanism, region) pair has one PCG64 stream, seeded from the replication's
    SeedSequence with ``spawn_key + (mechanism, region)``; month ``m`` draws from that
    stream advanced by ``m * 2**64`` (PCG64's ``advance`` jumps in constant time). So the
    draws of a mechanism in a region in a month depend only on (seed, mechanism, month,
    region), and handing out a month's generator costs a state reset, not a new
    SeedSequence (MODEL.md 6; docs/performance.md).

    A returned generator stays valid until the next request for the same mechanism and
    region (the model never holds two months of one stream at once).

    Args:
        sequence: The replication's SeedSequence.

    Example:
        >>> s = Streams(seed_sequence(7))
        >>> a = s.generator(Mechanism.DEMAND, month=3, region=1).integers(1 << 30)
        >>> b = Streams(seed_sequence(7)).generator(Mechanism.DEMAND, 3, 1).integers(1 << 30)
        >>> bool(a == b)
        True
    """

    def __init__(self, sequence: np.random.SeedSequence):
        self.sequence = sequence
        self._entropy = sequence.entropy
        self._key = tuple(sequence.spawn_key)
        self._streams: dict[tuple[int, int], tuple[np.random.Generator, dict]] = {}

    def generator(self, mechanism: Mechanism, month: int, region: int = GLOBAL
                  ) -> np.random.Generator:
        """Return the generator of ``mechanism`` in ``month`` and ``region``."""
        if month < 0:
            raise ValueError(f"month must be >= 0, got {month}")
        key = (int(mechanism), int(region))
        stream = self._streams.get(key)
        if stream is None:
            child = np.random.SeedSequence(self._entropy, spawn_key=(*self._key, *key))
            bits = np.random.PCG64(child)
            stream = (np.random.Generator(bits), bits.state)
            self._streams[key] = stream
        generator, start = stream
        bits = generator.bit_generator
        bits.state = start
        if month:
            bits.advance(int(month) * MONTH_STRIDE)
        return generator
