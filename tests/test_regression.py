"""Regression baselines: every shipped scenario still gives the figures it gave.

A fresh run of every shipped scenario (seed 20251, 4 replications, 24 months from the
2024-01 start, exact engine; see ``tests/regression/update.py``) is compared with
``tests/regression/baselines.csv``: the mean over replications of hhi_market, hhi_revenue,
open_usage_share, open_user_share, adoption, price_paid, consumer_surplus_usd, gap_months
and frontier_closed for World, US, EU and CN, segments all and enterprise, at months 0, 12
and 24.

Tolerance. A replication is a deterministic function of (scenario, seed, replication),
whatever the executor, so on the numpy that recorded the baselines the figures agree to
the last bit; the test allows ``rtol = 1e-9`` (and ``atol = 1e-12`` for values at 0),
which only absorbs the last-digit rounding of the CSV. With another numpy version (as
recorded in ``tests/regression/meta.json``) the same arithmetic may round differently
(other SIMD code paths in sums, ``exp`` and ``log``, other pairwise-summation blocking),
and the model's feedbacks can amplify such last-bit differences over 24 months, so the
test then allows ``rtol = 1e-6`` (``atol = 1e-9``): loose enough for rounding noise,
far tighter than any modelling change. NaN must stay NaN: ``hhi_market``,
``open_user_share`` and ``adoption`` do not exist for segment ``all`` (no relevant market
pools people and organisations), and a figure that becomes a number there is a bug.

When a change is *meant* to move results, regenerate the baselines deliberately with
``make regression-update`` and commit the new ``tests/regression/baselines.csv`` and
``meta.json`` together with the change.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.regression import update

KEYS = ["scenario", "region", "segment", "metric", "month"]
HOW_TO_UPDATE = (f"If the change is intended, regenerate the baselines with "
                 f"`{update.UPDATE_COMMAND}` and commit tests/regression/baselines.csv and "
                 f"meta.json with it (see tests/regression/README.md).")


def tolerance(meta: dict) -> tuple[float, float, str]:
    """``(rtol, atol, why)`` for comparing with baselines recorded under ``meta``."""
    recorded = meta["versions"]["numpy"]
    installed = np.__version__
    if recorded == installed:
        return 1e-9, 1e-12, f"same numpy {installed}: exact up to CSV rounding"
    return 1e-6, 1e-9, f"numpy {installed} here, {recorded} recorded: rounding may differ"


@pytest.fixture(scope="module")
def stored() -> tuple[pd.DataFrame, dict]:
    if not update.BASELINES.is_file() or not update.META.is_file():
        pytest.fail(f"no regression baselines in {update.HERE}: run `{update.UPDATE_COMMAND}`")
    return update.read_baselines(), update.read_meta()


@pytest.fixture(scope="module")
def fresh() -> pd.DataFrame:
    return update.simulate(jobs=update.JOBS)


def test_baselines_cover_every_shipped_scenario(stored) -> None:
    frame, meta = stored
    shipped = set(update.scenario_names())
    recorded = set(frame["scenario"])
    assert recorded == shipped, (
        f"shipped scenarios {sorted(shipped - recorded)} have no baseline and "
        f"{sorted(recorded - shipped)} are no longer shipped. {HOW_TO_UPDATE}")
    assert set(meta["scenarios"]) == shipped
    for key in ("numpy", "scipy", "pandas", "mesa", "python", "marketsim"):
        assert meta["versions"].get(key), f"meta.json lacks the {key} version"
    assert meta["git"] is None or len(meta["git"]["commit"]) == 40
    assert (meta["seed"], meta["replications"], meta["months"], meta["engine"]) == (
        update.SEED, update.REPLICATIONS, update.MONTHS, update.ENGINE), (
        f"update.py's run settings differ from those recorded in meta.json. {HOW_TO_UPDATE}")
    assert len(frame) == (len(shipped) * len(update.REGIONS) * len(update.SEGMENTS)
                          * len(update.METRICS) * len(update.CHECK_MONTHS))
    assert meta["metrics"] == list(update.METRICS)


def test_baselines_are_nan_exactly_where_no_market_exists(stored) -> None:
    """Pooled segments have no relevant-market HHI, user share or adoption; real markets do."""
    frame, _ = stored
    pooled = frame["metric"].isin(["hhi_market", "open_user_share", "adoption"])
    assert frame.loc[pooled & (frame["segment"] == "all"), "value"].isna().all()
    enterprise = frame[frame["segment"] == "enterprise"]
    for metric in ("hhi_market", "hhi_revenue", "adoption", "price_paid", "frontier_closed"):
        values = enterprise.loc[enterprise["metric"] == metric, "value"]
        assert values.notna().all(), metric
    hhi = enterprise.loc[enterprise["metric"] == "hhi_market", "value"]
    assert ((hhi > 0) & (hhi <= 10_000)).all()


def test_shipped_scenarios_match_regression_baselines(stored, fresh) -> None:
    """A fresh run reproduces the stored means (tolerance: see the module docstring)."""
    frame, meta = stored
    rtol, atol, why = tolerance(meta)
    both = frame.merge(fresh, on=KEYS, how="outer", suffixes=("_stored", "_now"),
                       indicator=True)
    missing = both[both["_merge"] != "both"]
    assert missing.empty, (f"rows differ between the baselines and a fresh run:\n"
                           f"{missing[KEYS + ['_merge']].to_string()}\n{HOW_TO_UPDATE}")
    old = both["value_stored"].to_numpy(float)
    new = both["value_now"].to_numpy(float)
    nan_same = np.isnan(old) & np.isnan(new)
    close = np.isclose(new, old, rtol=rtol, atol=atol) | nan_same
    if close.all():
        return
    bad = both[~close].copy()
    bad["rel_change"] = (bad["value_now"] - bad["value_stored"]) / bad["value_stored"].abs()
    hashes = update.scenario_hashes(sorted(set(bad["scenario"])))
    lines = []
    for scenario, rows in bad.groupby("scenario", sort=True):
        edited = meta["scenarios"].get(scenario) != hashes[scenario]
        cause = ("its resolved scenario file changed since the baselines were recorded"
                 if edited else "the scenario is unchanged, so the model code (or a "
                 "library) changed")
        lines.append(f"- {scenario}: {len(rows)} value(s) changed ({cause}); metrics "
                     f"{', '.join(sorted(set(rows['metric'])))}")
        for _, r in rows.head(8).iterrows():
            rel = r["rel_change"]
            lines.append(f"    {r['metric']} {r['region']}/{r['segment']} month {r['month']}: "
                         f"stored {r['value_stored']:.12g}, now {r['value_now']:.12g}"
                         + (f" ({rel:+.3g} relative)" if math.isfinite(rel) else ""))
    pytest.fail(f"{(~close).sum()} of {len(both)} regression values moved beyond "
                f"rtol={rtol:g}, atol={atol:g} ({why}; recorded at commit "
                f"{(meta.get('git') or {}).get('commit', 'unknown')}):\n" + "\n".join(lines)
                + f"\n{HOW_TO_UPDATE}", pytrace=False)
