"""Summaries with uncertainty, on synthetic tables with known answers (no model runs)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiment.summary import SUMMARY_COLUMNS, nan_percentile, summarise, t_interval


def market(values: dict[str, np.ndarray], months: int = 2,
           regions: dict[str, list[str]] | None = None, draws: int = 1) -> pd.DataFrame:
    """A tidy market table: ``values[scenario][replication]`` is the hhi_market of every
    cell; open_usage_share is hhi_market / 10000; each later month adds 1 to hhi_market and
    each draw 100."""
    rows = []
    for scenario, reps in values.items():
        for draw in range(draws):
            for rep, value in enumerate(reps):
                for month in range(months + 1):
                    for region in (regions or {}).get(scenario, ["EU", "World"]):
                        for segment in ("enterprise", "consumer"):
                            hhi = value + month + 100 * draw + (
                                0.5 if segment == "consumer" else 0.0)
                            rows.append({"scenario": scenario, "draw": draw, "replication": rep,
                                         "month": month, "date": f"2024-{month + 1:02d}",
                                         "region": region, "segment": segment,
                                         "hhi_market": hhi, "open_usage_share": hhi / 1e4})
    return pd.DataFrame(rows)


def test_nan_percentile_is_numpy_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    for trial in range(100):
        shape = tuple(int(v) for v in rng.integers(1, 12, size=3))
        x = rng.normal(size=shape) * 10.0 ** rng.integers(-3, 6)
        x[rng.random(shape) < rng.random() * 0.7] = np.nan
        if trial % 4 == 0:
            x = np.round(x)
        for q in (0, 5, 50, 95, 100):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = np.nanpercentile(x, q, axis=1)
            assert np.array_equal(nan_percentile(x, q, axis=1), expected, equal_nan=True)


def test_t_interval_edge_cases() -> None:
    mean, sd, lo, hi = t_interval(np.array([[1.0, 1.0], [2.0, np.nan], [np.nan, np.nan]]),
                                  axis=1)
    assert mean[0] == 1.0 and sd[0] == 0.0 and lo[0] == hi[0] == 1.0  # no spread
    assert mean[1] == 2.0 and np.isnan(sd[1]) and np.isnan(lo[1])  # one observation
    assert np.isnan(mean[2])


def test_summary_statistics_match_scipy() -> None:
    base = np.array([1000.0, 1010.0, 995.0, 1003.0])
    alt = base + np.array([5.0, 6.0, 4.0, 5.5])
    table = summarise(market({"base": base, "alt": alt}), ["base", "alt"])
    assert list(table.columns) == list(SUMMARY_COLUMNS)
    assert set(table["month"]) == {2}  # default: the final month
    assert set(table["metric"]) == {"hhi_market", "open_usage_share"}  # default: all metrics
    row = table[(table["scenario"] == "alt") & (table["region"] == "EU")
                & (table["segment"] == "enterprise") & (table["metric"] == "hhi_market")].iloc[0]
    values = alt + 2
    half = stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2
    assert row["mean"] == pytest.approx(values.mean())
    assert row["sd"] == pytest.approx(values.std(ddof=1))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((values.mean() - half,
                                                             values.mean() + half))
    assert (row["p05"], row["p95"]) == pytest.approx(tuple(np.percentile(values, [5, 95])))
    diff = alt - base
    dhalf = stats.t.ppf(0.975, 3) * diff.std(ddof=1) / 2
    assert row["diff_mean"] == pytest.approx(diff.mean())
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx(
        (diff.mean() - dhalf, diff.mean() + dhalf))
    assert table[table["scenario"] == "base"][["diff_mean", "diff_ci_low",
                                               "diff_ci_high"]].isna().all().all()


def test_rows_are_ordered_scenario_month_region_segment_metric() -> None:
    table = summarise(market({"b": np.ones(2), "a": np.ones(2)}), ["b", "a"],
                      month=[0, 1], metrics=["open_usage_share", "hhi_market"])
    keys = list(table[["scenario", "month", "region", "segment", "metric"]]
                .itertuples(index=False, name=None))
    expected = [(s, m, r, g, k) for s in ("b", "a") for m in (0, 1) for r in ("EU", "World")
                for g in ("consumer", "enterprise") for k in ("open_usage_share", "hhi_market")]
    assert keys == expected


def test_scenarios_with_different_regions_are_compared_where_both_have_the_cell() -> None:
    frame = market({"base": np.array([1.0, 2.0, 3.0]), "small": np.array([2.0, 3.0, 5.0])},
                   regions={"small": ["World"]})
    table = summarise(frame, ["base", "small"])
    small = table[table["scenario"] == "small"]
    assert set(small["region"]) == {"World"}
    assert small[small["metric"] == "hhi_market"]["diff_mean"].tolist() == pytest.approx(
        [4 / 3] * 2)


def test_each_scenario_is_summarised_at_its_own_final_month() -> None:
    frame = pd.concat([market({"long": np.ones(2)}, months=4),
                       market({"short": np.ones(2)}, months=2)])
    table = summarise(frame, ["long", "short"])
    assert table.groupby("scenario")["month"].unique().map(list).to_dict() == {
        "long": [4], "short": [2]}
    assert table[table["scenario"] == "short"]["diff_mean"].isna().all()  # no month-2 base


def test_pairs_are_the_same_draw_and_replication() -> None:
    """With posterior draws, replication i of draw d is paired with replication i of draw d:
    each draw shifts both scenarios by 100, which must cancel in the paired difference."""
    base = np.array([1000.0, 1010.0, 995.0])
    alt = base + np.array([5.0, 6.0, 4.0])
    table = summarise(market({"base": base, "alt": alt}, draws=3), ["base", "alt"],
                      metrics=["hhi_market"])
    row = table[(table["scenario"] == "alt") & (table["region"] == "EU")
                & (table["segment"] == "enterprise")].iloc[0]
    diff = np.tile(alt - base, 3)
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
    assert row["diff_mean"] == pytest.approx(5.0)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((5 - half, 5 + half))
    values = np.concatenate([alt + 2 + 100 * d for d in range(3)])  # 9 draw-replications
    assert row["mean"] == pytest.approx(values.mean())
    assert row["sd"] == pytest.approx(values.std(ddof=1))


def test_a_month_not_in_the_table_gives_an_empty_summary() -> None:
    table = summarise(market({"a": np.ones(2)}), ["a"], month=99)
    assert table.empty and list(table.columns) == list(SUMMARY_COLUMNS)


def test_self_comparison_is_exactly_zero_even_with_noise() -> None:
    values = np.random.default_rng(1).normal(1000, 50, size=7)
    table = summarise(market({"a": values, "a-2": values.copy()}), ["a", "a-2"])
    second = table[table["scenario"] == "a-2"]
    assert (second["diff_mean"] == 0).all()
    assert (second["diff_ci_low"] == 0).all() and (second["diff_ci_high"] == 0).all()


def test_written_summary_is_the_same_in_blocks(tmp_path) -> None:
    """write_summary streams blocks of scenarios; the file equals the one-shot summary."""
    import sim
    from sim.experiment.results import Results

    ids = ["s0", "s1", "s2", "s3", "s4"]
    base = sim.load_scenario("baseline")
    points = {sid: base.with_overrides({"world.network_effect": 0.2 + 0.1 * i})
              for i, sid in enumerate(ids)}
    sim.run(points, replications=2, seed=0, months=2, jobs=1, out=tmp_path)
    whole = (tmp_path / "summary.csv").read_text()
    stored = Results.from_folder(tmp_path)
    assert stored.summary().to_csv(index=False, float_format="%.10g") == whole
    for block in (1, 2, 4):
        stored.write_summary(block=block)
        assert (tmp_path / "summary.csv").read_text() == whole
    assert stored.final_month() == 2
    # a summary of another month reads only that month from the folder
    month1 = stored.summary(month=1, metrics=["hhi_market"])
    assert set(month1["month"]) == {1} and set(month1["metric"]) == {"hhi_market"}
    assert len(month1) == len(ids) * len(stored.market[["region", "segment"]]
                                         .drop_duplicates())
