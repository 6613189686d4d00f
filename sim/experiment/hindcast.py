"""Decision hindcasts (issue 15): what the firms' rules would have chosen at dated decisions.

The baseline is run to the month before a dated decision (its launches and withholdings up
to then are data), and the rule the model uses after the history window is asked, with the
state it has then, what it would choose:

- **openness** (``sim.engine.generations``, ``sim.engine.releases``): the probability the
  line's next generation is open, with the firm's expected profit either way, and for a
  closed-only firm the probability it releases the line's older weights as a new open line.
  Ernie 4.5 (Baidu, open weights 2025-06-30), gpt-oss (OpenAI, 2025-08, an open line beside
  a closed GPT-5) and Meta's 2025 stance on Llama.
- **withdrawal** (``sim.engine.decisions``): whether Meta would keep its multimodal line out of
  the EU, run *without* the dated withholding of 2024-07 (so the line sells there), at its
  EU launch and when the AI Act's GPAI duties start; the compliance cost at which it would.

Nothing here is fitted: the facts are validation-window decisions, not inputs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from sim.engine import generations, market, releases
from sim.engine.compile import compile_scenario
from sim.engine.decisions import MARGIN_KEY
from sim.engine.engine import Engine
from sim.engine.valuation import openness_terms
from sim.replication import run_replications
from sim.scenario.loader import load_scenario
from sim.scenario.months import step_of
from sim.scenario.schema import Scenario

__all__ = ["OpennessCase", "OPENNESS_CASES", "WithdrawalCase", "WITHDRAWAL_CASES",
           "openness_hindcast", "withdrawal_hindcast", "without_policy", "adaptive_summary"]


@dataclass(frozen=True)
class OpennessCase:
    """A dated openness decision: ``vendor`` chose ``chosen`` for a line at ``date``."""

    label: str
    date: str  #: the decision's month: the rule sees the state at the end of the month before
    vendor: str
    product: str  #: the scenario line whose next generation is judged
    chosen: str  #: what the firm did, from CALIBRATION.md
    note: str


#: Dated decisions of the validation window (CALIBRATION.md, "Launches").
OPENNESS_CASES = (
    OpennessCase("Ernie 4.5", "2025-06", "Baidu", "Ernie", "open",
                 "Baidu released Ernie 4.5's weights (Apache 2.0) on 2025-06-30"),
    OpennessCase("gpt-oss", "2025-08", "OpenAI", "GPT", "an open line; GPT-5 closed",
                 "OpenAI released gpt-oss (a second, smaller line) and kept GPT-5 closed"),
    OpennessCase("Meta 2025", "2025-07", "Meta", "Llama", "open, closing signalled",
                 "Llama 4 open (2025-04); Zuckerberg 2025-07-30: Meta will be \"careful "
                 "about what we choose to open source\""),
)


@dataclass(frozen=True)
class WithdrawalCase:
    """A dated withdrawal: would ``vendor`` keep ``product`` out of ``region`` at ``date``?"""

    label: str
    date: str
    vendor: str
    product: str
    region: str
    policy_removed: str  #: label of the dated withholding the run leaves out


#: Meta paused Meta AI in the EU (2024-06) and withheld multimodal Llama (2024-07),
#: CALIBRATION.md. Llama-vision launches in 2024-09 (a dated input), so at 2024-07 the rule is
#: asked about Meta's text line, and about the multimodal line once it sells.
WITHDRAWAL_CASES = (
    WithdrawalCase("Meta Llama (text), 2024-07", "2024-07", "Meta", "Llama", "EU",
                   "Meta withholds multimodal Llama from the EU"),
    WithdrawalCase("Meta multimodal, after its launch", "2024-10", "Meta", "Llama-vision", "EU",
                   "Meta withholds multimodal Llama from the EU"),
    WithdrawalCase("Meta multimodal, AI Act GPAI duties", "2025-08", "Meta", "Llama-vision",
                   "EU", "Meta withholds multimodal Llama from the EU"),
)


def without_policy(scenario: Scenario, label: str) -> Scenario:
    """The scenario without the policy labelled ``label`` (KeyError if there is none)."""
    kept = [p for p in scenario.policies if getattr(p, "label", None) != label]
    if len(kept) == len(scenario.policies):
        raise KeyError(f"no policy labelled {label!r}")
    return scenario.model_copy(update={"policies": kept})


def _engine(scenario: Scenario, replications: int, seed: int, months: int) -> Engine:
    params = compile_scenario(scenario).repeat(replications)
    engine = Engine(params, seed, np.arange(replications), "expected")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return engine.run(months)


def _quantiles(x: np.ndarray) -> tuple[float, float, float]:
    lo, mid, hi = np.quantile(np.asarray(x, dtype=float), [0.05, 0.5, 0.95])
    return float(mid), float(lo), float(hi)


def openness_hindcast(case: OpennessCase, replications: int = 20, seed: int = 1,
                      scenario: Scenario | None = None) -> dict[str, object]:
    """The openness rule at ``case.date`` over ``replications`` baseline worlds.

    Returns:
        ``p_open`` (median, 5 %, 95 % over worlds), ``profit_open`` / ``profit_closed``
        (medians, USD a month, the firm's whole expected profit), ``mean_p_open``,
        ``indirect_open``; ``p_release`` (the same quantiles for releasing the line's older
        weights as a new open line, ``sim.engine.releases``; None where the rule does not
        ask: an open line, or a firm that sells one) and ``release_gain`` (median change of
        the firm's expected profit a month with the release).
    """
    scenario = load_scenario("baseline") if scenario is None else scenario
    month = step_of(case.date, scenario.scenario.start)
    engine = _engine(scenario, replications, seed, month - 1)
    params, state = engine.params, engine.state
    k = params.structure.products.index(case.product)
    cost = market.serving_costs(params, state, month - 1)
    line = np.full(state.worlds, k)
    verdict = generations.judge(params, state, engine.rules, month - 1, cost, line)
    offer = releases.judge_release(params, state, engine.rules, month - 1, cost, line,
                                   openness_terms(params))
    judged = offer.line >= 0  # a closed line of a firm with no open line, a slot free
    return {"p_open": _quantiles(verdict.p_open), "mean_p_open": float(verdict.p_open.mean()),
            "profit_open": float(np.median(verdict.profit_open)),
            "profit_closed": float(np.median(verdict.profit_closed)),
            "indirect_open": float(np.median(verdict.indirect_open)),
            "p_release": _quantiles(offer.p_release) if judged.all() else None,
            "release_gain": float(np.median(offer.profit_with - offer.profit_without))}


def withdrawal_hindcast(case: WithdrawalCase, replications: int = 20, seed: int = 1,
                        scenario: Scenario | None = None) -> dict[str, object]:
    """The withdrawal rule at ``case.date``, run without the dated withholding.

    Returns:
        ``margin`` (median, 5 %, 95 %: the line's operating margin in the region last month,
        USD, what the rule weighs), ``cost`` (median compliance cost a month there),
        ``share_withdrawing`` (share of worlds where the rule withdrew the line that month),
        ``served_before`` (share of worlds where the line was served there before).
    """
    scenario = load_scenario("baseline") if scenario is None else scenario
    scenario = without_policy(scenario, case.policy_removed)
    month = step_of(case.date, scenario.scenario.start)
    engine = _engine(scenario, replications, seed, month - 1)
    params, state = engine.params, engine.state
    k = params.structure.products.index(case.product)
    r = params.structure.regions.index(case.region)
    margin = state.scratch[MARGIN_KEY][:, r, k].copy()  # what the rule weighs at ``month``
    served_before = state.served[:, r, k].copy()
    engine.step()  # the month of the decision: the rule runs in its phase 2
    cost = engine.rules.compliance_fixed[:, r, k]
    left = served_before & ~engine.state.served[:, r, k]
    return {"margin": _quantiles(margin), "cost": float(np.median(cost)),
            "share_withdrawing": float(np.mean(left)),
            "served_before": float(np.mean(served_before))}


def adaptive_summary(replications: int = 20, seed: int = 1) -> dict[str, object]:
    """What the rule does when every firm decides: ``scenarios/adaptive_openness.toml``.

    Returns:
        ``changes_per_world_year``, ``to_open`` and ``to_closed`` (counts of
        ``openness_change`` events over all worlds), ``releases`` (older weights released as
        new lines, over all worlds), ``by_vendor`` (``{vendor: (to open, to
        closed)}``), and the World open usage share (all segments) at the horizon in the
        adaptive scenario and in the baseline (``open_share``, ``open_share_baseline``).
    """
    reps = range(replications)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adaptive = run_replications("adaptive_openness", seed=seed, replications=reps)
        baseline = run_replications("baseline", seed=seed, replications=reps)["market"]
    events = adaptive["events"]
    changes = events[events["kind"] == "openness_change"]
    opened = changes["detail"].str.startswith("next generation open")
    market_ = adaptive["market"]
    horizon = int(market_["month"].max())
    years = (horizon - step_of(generations.HISTORY_END, "2024-01")) / 12.0

    def share(table) -> float:
        cell = table[(table["region"] == "World") & (table["segment"] == "all")
                     & (table["month"] == horizon)]
        return float(cell["open_usage_share"].mean())

    released = events[(events["kind"] == "launch")
                      & events["detail"].str.startswith("released the weights")]
    by_vendor = {str(v): (int(opened[changes["vendor"] == v].sum()),
                          int((~opened)[changes["vendor"] == v].sum()))
                 for v in sorted(changes["vendor"].unique())}
    return {"changes_per_world_year": len(changes) / replications / years,
            "to_open": int(opened.sum()), "to_closed": int((~opened).sum()),
            "releases": len(released),
            "by_vendor": by_vendor, "open_share": share(market_),
            "open_share_baseline": share(baseline), "date": str(
                market_[market_["month"] == horizon]["date"].iloc[0])}
