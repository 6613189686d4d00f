"""The batched engine end to end on the hand-built batch: conservation, determinism, batches."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.engine import Engine
from sim.engine.metrics import INDEX
from sim.mechanisms.funding import cents_to_usd
from tests.engine import factory


def _run(engine: str, reps: list[int], months: int = 18) -> Engine:
    p = factory.params(worlds=len(reps))
    return Engine(p, seed=11, replications=np.array(reps), engine=engine).run(months)


@pytest.mark.parametrize("engine", ["expected", "exact"])
def test_a_world_is_the_same_alone_or_in_a_batch(engine: str) -> None:
    batch = _run(engine, [3, 0, 7])
    alone = _run(engine, [0])
    assert np.array_equal(batch.recorder.market[1], alone.recorder.market[0], equal_nan=True)
    assert np.array_equal(batch.state.cash[1], alone.state.cash[0])
    events = [(e.month, e.kind, e.firm, e.detail) for e in batch.state.events if e.world == 1]
    assert events == [(e.month, e.kind, e.firm, e.detail) for e in alone.state.events]


@pytest.mark.parametrize("engine", ["expected", "exact"])
def test_adopters_are_conserved(engine: str) -> None:
    e = _run(engine, [0, 1])
    s = e.state
    total = s.unaware.sum(axis=-1) + s.counts.sum(axis=(3, 4))
    assert np.allclose(total, s.potential, rtol=1e-12)
    if engine == "exact":
        assert np.array_equal(s.counts, np.rint(s.counts))
    assert (s.counts >= 0).all()


def test_same_replication_same_result_and_different_replications_differ() -> None:
    e = _run("exact", [4, 4, 5])
    assert np.array_equal(e.recorder.market[0], e.recorder.market[1], equal_nan=True)
    assert not np.array_equal(e.recorder.market[0], e.recorder.market[2], equal_nan=True)


def test_metrics_are_in_range() -> None:
    m = _run("expected", [0, 1]).recorder.market
    for name in ("hhi_market", "hhi_revenue", "hhi_usage"):
        v = m[..., INDEX[name]]
        v = v[np.isfinite(v)]
        assert v.size and (v > 0).all() and (v <= 10_000 + 1e-9).all()
    for name in ("open_usage_share", "adoption", "aware", "home_share"):
        v = m[..., INDEX[name]]
        v = v[np.isfinite(v)]
        assert v.size and (v >= -1e-12).all() and (v <= 1 + 1e-12).all()
    assert np.isnan(m[:, :, :, -1, INDEX["hhi_market"]]).all()  # no pooled headcount market


def test_adoption_and_prices_move_the_way_the_model_says() -> None:
    m = _run("expected", [0], months=24).recorder.market
    adoption = m[0, :, 0, 0, INDEX["adoption"]]
    assert adoption[24] > adoption[0]  # Bass awareness raises adoption
    price = m[0, :, 0, 0, INDEX["price_frontier"]]
    assert price[24] < price[0]  # serving cost falls faster than the frontier moves


def test_cash_balances_to_the_cent() -> None:
    """Total cash moves only by the month's booked flows (acquisitions move it between firms)."""
    p = factory.params(worlds=2)
    e = Engine(p, seed=3, replications=np.array([0, 1]), engine="expected")
    start = e.state.cash.sum(axis=1)
    booked = np.zeros_like(start)
    for _ in range(18):
        e.step()
        ledger = e.state.scratch["ledger"]
        booked += sum(flow.sum(axis=1) for flow in ledger.values())
    assert np.array_equal(e.state.cash.sum(axis=1), start + booked)
    assert booked.dtype == np.int64 and np.isfinite(cents_to_usd(e.state.cash)).all()
