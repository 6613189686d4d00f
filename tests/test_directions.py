"""Shipped scenarios move the market the way their mechanism says (paired replications).

Each scenario runs with the baseline's random streams (replication i of both sees the same
luck), so an effect is the per-replication *paired* difference; every assertion requires
the difference to have the stated sign in every replication. These are directions the
mechanisms imply whatever the calibration (a ban removes banned lines from choice sets, a
merger pools two firms' shares, ...), not calibrated magnitudes: the numbers of the
findings come from `make findings`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.replication import run_replications
from sim.scenario.months import step_of

SEED = 20251
REPLICATIONS = (0, 1, 2)
MONTHS = 44  # through 2027-09: nine months of the 2027-01 policies
WHEN = step_of("2027-09", "2024-01")


@pytest.fixture(scope="module")
def markets() -> dict[str, pd.DataFrame]:
    names = ("baseline", "eu_blocks_open", "eu_blocks_open_low_enforcement",
             "eu_blocks_open_high_enforcement", "closed_merger", "us_china_decoupling")
    out = {}
    for name in names:
        tables = run_replications(name, seed=SEED, replications=REPLICATIONS, scenario_id=name,
                                  months=MONTHS, engine="expected")
        out[name] = tables["market"]
        out[f"{name}/products"] = tables["products"]
    return out


def _value(market: pd.DataFrame, metric: str, region: str, segment: str) -> np.ndarray:
    rows = market[(market["month"] == WHEN) & (market["region"] == region)
                  & (market["segment"] == segment)].sort_values("replication")
    return rows[metric].to_numpy()


def _diff(markets: dict[str, pd.DataFrame], scenario: str, metric: str, region: str,
          segment: str) -> np.ndarray:
    return (_value(markets[scenario], metric, region, segment)
            - _value(markets["baseline"], metric, region, segment))


@pytest.mark.parametrize("segment", ["enterprise", "developer"])
def test_an_eu_ban_lowers_the_eu_open_usage_share(markets, segment: str) -> None:
    assert (_diff(markets, "eu_blocks_open", "open_usage_share", "EU", segment) < 0).all()


def test_an_eu_ban_raises_eu_enterprise_concentration(markets) -> None:
    assert (_diff(markets, "eu_blocks_open", "hhi_market", "EU", "enterprise") > 0).all()


def test_stricter_enforcement_removes_more_open_usage(markets) -> None:
    low = _value(markets["eu_blocks_open_low_enforcement"], "open_usage_share", "EU",
                 "developer")
    high = _value(markets["eu_blocks_open_high_enforcement"], "open_usage_share", "EU",
                  "developer")
    assert (high < low).all()


def test_a_closed_merger_raises_enterprise_concentration(markets) -> None:
    for region in ("US", "EU"):
        assert (_diff(markets, "closed_merger", "hhi_revenue", region, "enterprise") > 0).all()


def test_decoupling_raises_chinas_home_share(markets) -> None:
    assert (_diff(markets, "us_china_decoupling", "home_share", "CN", "all") >= 0).all()
    assert (_diff(markets, "us_china_decoupling", "home_share", "CN", "all") > 0).any()


def test_a_ban_on_open_weights_keeps_the_owners_closed_lines(markets) -> None:
    """Mistral sells Mistral-Large (closed) and Mistral-open (open): in the EU, its home, the
    ban removes the open line only (Mistral never leaves its home region, so both are there
    in the baseline)."""
    products = markets["eu_blocks_open/products"]
    base = markets["baseline/products"]

    def users(table: pd.DataFrame, product: str) -> float:
        rows = table[(table["month"] == WHEN) & (table["region"] == "EU")
                     & (table["product"] == product)]
        return float(rows["users"].sum())

    assert users(base, "Mistral-open") > 0 and users(base, "Mistral-Large") > 0
    assert users(products, "Mistral-Large") > 0.9 * users(base, "Mistral-Large")  # still sold
    # only evaders and downloaded weights still in use keep Mistral-open: far fewer users
    assert users(products, "Mistral-open") < 0.5 * users(base, "Mistral-open")
