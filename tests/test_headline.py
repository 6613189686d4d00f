"""Headline sanity (issue 4): the EU blocking open weights, against the baseline, same seeds.

The figures are recorded in docs/validation.md ("Agents of change"); rerun them with
``python -m tests.test_headline``.
"""

from __future__ import annotations

import numpy as np

import sim
from sim.rng import seed_sequence
from sim.scenario.months import step_of

REPLICATIONS = 10
SEED = 0


def headline(replications: int = REPLICATIONS, seed: int = SEED) -> dict[str, np.ndarray]:
    """EU figures per replication for baseline and eu_blocks_open (common random numbers)."""
    base = sim.load_scenario("baseline")
    ban = sim.load_scenario("eu_blocks_open")
    policy = ban.policies[-1]
    start = step_of(policy.start, ban.scenario.start)
    out: dict[str, list[float]] = {k: [] for k in (
        "hhi60_base", "hhi60_ban", "open_max_after_ban", "open60_base", "open_before_ban")}
    for rep in range(replications):
        frames = {}
        for name, scenario in (("base", base), ("ban", ban)):
            model = sim.MarketModel(scenario, seed=seed_sequence(seed, rep))
            model.run()
            market = model.results()["market"]
            frames[name] = market[(market["region"] == "EU") & (market["segment"] == "all")
                                  ].set_index("month")
        out["hhi60_base"].append(frames["base"].loc[60, "hhi"])
        out["hhi60_ban"].append(frames["ban"].loc[60, "hhi"])
        out["open_max_after_ban"].append(frames["ban"].loc[start:, "open_share"].max())
        out["open60_base"].append(frames["base"].loc[60, "open_share"])
        out["open_before_ban"].append(frames["ban"].loc[start - 1, "open_share"])
    result = {k: np.array(v) for k, v in out.items()}
    result["start"] = np.array(start)
    return result


def test_eu_ban_zeroes_eu_open_share_and_raises_eu_concentration():
    r = headline()
    assert int(r["start"]) == 6  # 2026-01, six months after 2025-07
    assert (r["open_before_ban"] > 0.1).all()
    assert (r["open_max_after_ban"] == 0.0).all()  # from the ban's first month, every seed
    assert r["hhi60_ban"].mean() > r["hhi60_base"].mean()


if __name__ == "__main__":  # prints the figures recorded in docs/validation.md
    r = headline()
    diff = r["hhi60_ban"] - r["hhi60_base"]
    print(f"replications {REPLICATIONS}, seed {SEED}, ban from step {int(r['start'])}")
    print("rep  hhi60_base  hhi60_ban  diff  open60_base  open_before_ban  max_open_after_ban")
    for i in range(REPLICATIONS):
        print(f"{i:>3} {r['hhi60_base'][i]:>10.0f} {r['hhi60_ban'][i]:>10.0f} {diff[i]:>6.0f} "
              f"{r['open60_base'][i]:>11.3f} {r['open_before_ban'][i]:>16.3f} "
              f"{r['open_max_after_ban'][i]:>19.3f}")
    sd = diff.std(ddof=1)
    print(f"mean {r['hhi60_base'].mean():>9.0f} {r['hhi60_ban'].mean():>10.0f} {diff.mean():>6.0f}"
          f"  (sd of diff {sd:.0f}, 95% CI {diff.mean() - 2.262 * sd / np.sqrt(len(diff)):.0f}"
          f" to {diff.mean() + 2.262 * sd / np.sqrt(len(diff)):.0f}); ban raises HHI in "
          f"{(diff > 0).sum()}/{len(diff)}")
    print(f"mean open share at 60 (baseline) {r['open60_base'].mean():.3f}")
