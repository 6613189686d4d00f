"""Anderson acceleration of batched fixed points (sim/mechanisms/fixed_point.py).

On linear maps ``g(x) = A x + b`` the fixed point is ``(I - A)^-1 b``; the accelerated
iteration must reach it where the plain iteration diverges, keep every block independent of
the others bit for bit, and fall back to the caller's step when it stops making progress.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.mechanisms.fixed_point import Anderson


def _problem(seed: int, blocks: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-block maps with eigenvalues in (-1.6, 0.8): plain iteration diverges."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(blocks, n, n)))
    eig = rng.uniform(-1.6, 0.8, size=(blocks, n))
    a = np.einsum("bij,bj,bkj->bik", q, eig, q)
    return a, rng.normal(size=(blocks, n))


def _solve(a: np.ndarray, b: np.ndarray, tol: float = 1e-12, iterations: int = 400,
           accelerated: bool = True) -> tuple[np.ndarray, np.ndarray]:
    blocks, n = b.shape
    acc = Anderson(blocks, n, depth=n)
    x = np.zeros((blocks, n))
    used = np.full(blocks, iterations)
    active = np.ones(blocks, dtype=bool)
    for it in range(iterations):
        f = np.einsum("bij,bj->bi", a, x) + b - x
        done = active & (np.abs(f).max(axis=1) <= tol)
        used[done], active = it, active & ~done
        if not active.any():
            break
        damped = x + 0.3 * f  # the caller's safe step: converges, slowly
        x = acc.step(x, f, damped, active) if accelerated else np.where(
            active[:, None], damped, x)
    return x, used


def test_reaches_the_fixed_point_of_oscillating_linear_maps_fast() -> None:
    a, b = _problem(1, blocks=6, n=5)
    exact = np.linalg.solve(np.eye(5) - a, b[..., None])[..., 0]
    x, used = _solve(a, b)
    np.testing.assert_allclose(x, exact, rtol=1e-9, atol=1e-10)
    _, slow = _solve(a, b, accelerated=False)
    assert used.max() < slow.min()  # and faster than the step it accelerates


def test_blocks_are_independent_bit_for_bit() -> None:
    a, b = _problem(2, blocks=5, n=4)
    together, _ = _solve(a, b)
    for k in range(5):
        alone, _ = _solve(a[k:k + 1], b[k:k + 1])
        assert np.array_equal(alone[0], together[k])


def test_inactive_blocks_keep_their_iterate_and_bad_input_is_refused() -> None:
    acc = Anderson(2, 3)
    x = np.ones((2, 3))
    out = acc.step(x, np.full((2, 3), 0.5), x + 0.1, np.array([True, False]))
    assert np.array_equal(out[1], x[1]) and np.allclose(out[0], 1.1)  # first step: fallback
    with pytest.raises(ValueError):
        Anderson(1, 1, depth=0)
    with pytest.raises(ValueError):
        Anderson(1, 1, mixing=0.0)
