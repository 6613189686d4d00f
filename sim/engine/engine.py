"""The batched engine: W worlds stepped month by month, the schedule written once.

:meth:`Engine.step` lists the phases of MODEL.md's month in order (docs/architecture.md 4);
each phase is a call into its own module. The Mesa ``MarketModel`` is the W = 1 case of
this class. Results are a function of (compiled parameters, root seed, replication
numbers): the random streams are keyed by replication, not by batch position, so a world
gives bit-identical results alone or in any batch.
"""

from __future__ import annotations

import numpy as np

from sim.engine import (
    choice,
    community,
    decisions,
    generations,
    market,
    observe,
    subsidies,
    supply,
    switching,
    turnover,
)
from sim.engine.initial import firm_shares, initial_state
from sim.engine.params import Params
from sim.engine.record import Recorder
from sim.engine.rules import MergerDue, Rules, TriggerMemory, new_trigger_memory, publish_rules
from sim.engine.state import Event, State
from sim.mechanisms.concentration import firm_totals
from sim.streams import KeyedStreams

__all__ = ["Engine", "ENGINES", "EngineStateError"]

#: Demand engines (INTERFACES.md "Engines"): exact binomial/multinomial draws, or expected
#: counts (the other random mechanisms — contributors, entry — are drawn in both).
ENGINES = ("exact", "expected")


class EngineStateError(RuntimeError):
    """State turned NaN or infinite: names the world, month and quantity."""


class Engine:
    """W worlds of one scenario structure.

    Args:
        params: Compiled parameters (``Params.worlds`` rows).
        seed: Root seed.
        replications: ``[W]`` replication number of each world (paired worlds share one).
        engine: ``"exact"`` or ``"expected"``.
        keep_months: None records everything; steps to keep only those months' market
            metrics (:class:`~sim.engine.record.Recorder`), for ensembles.
    """

    def __init__(self, params: Params, seed: int, replications: np.ndarray,
                 engine: str = "expected", keep_months: tuple[int, ...] | None = None):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        replications = np.asarray(replications, dtype=np.int64)
        if replications.shape != (params.worlds,):
            raise ValueError(f"replications must have shape ({params.worlds},)")
        self.params = params
        self.engine = engine
        self.streams = KeyedStreams(seed, replications)
        self.trigger_memory = new_trigger_memory(params)
        self.state: State = initial_state(params, self.streams, engine)
        self.recorder = Recorder(params, self.state, keep_months)
        self.rules = self._rules(0)
        self._observe_month0()

    @classmethod
    def resumed(cls, params: Params, seed: int, replications: np.ndarray, engine: str,
                state: State, trigger_memory: TriggerMemory, recorder: Recorder,
                rules: Rules) -> Engine:
        """An engine continuing from a given month's state (``sim.engine.fork.branch``).

        Nothing is solved: ``state``, ``trigger_memory``, ``recorder`` and ``rules`` (the
        month's rules in force, which agent views read) are the month's as a run from step 0
        would have them.
        """
        self = cls.__new__(cls)
        self.params, self.engine = params, engine
        self.streams = KeyedStreams(seed, np.asarray(replications, dtype=np.int64))
        self.trigger_memory, self.state, self.recorder = trigger_memory, state, recorder
        self.rules = rules
        return self

    @property
    def month(self) -> int:
        """The last step taken (0 before the first)."""
        return self.state.month

    @property
    def horizon(self) -> int:
        """The scenario's last step."""
        return self.params.structure.months

    # ------------------------------------------------------------------ the month

    def step(self) -> None:
        """Advance every world one month: MODEL.md's schedule, in order."""
        if self.state.month >= self.horizon:
            raise RuntimeError(f"the scenario's horizon is {self.horizon} months")
        p, s = self.params, self.state
        month = s.month + 1
        s.month = month
        self._launch(month)                                             # 0. dated launches
        self.rules = self._rules(month)                                 # 1. regulators
        if decisions.withdraw_and_reenter(p, s, self.rules, month):     # 2. firms decide
            self.rules = self._rules(month, announce=False)
        if generations.decide_openness(p, s, self.rules, month, self.streams):
            self.rules = self._rules(month, announce=False)
        cost = market.serving_costs(p, s, month)
        capped = self._price(month, cost)
        to_firms, extra_effort, _ = subsidies.pay_subsidies(s, self.rules)
        gain = community.contributors_choose(p, s, self.rules, month,   # 3. contributors
                                             self.streams, extra_effort)
        extras = self._adopters(month)                                  # 4. adopters
        flows = market.market_flows(p, s, month, cost)                  # 5. accounting
        books = supply.close_month(p, s, self.rules, month, flows.revenue, flows.serving,
                                   flows.users, to_firms)
        supply.grow_capability(p, s, books.rd, gain, month)
        supply.record_frontiers(s, month)
        self._remember_margins(flows)
        turnover_counts = turnover.exits_and_acquisitions(             # 6. exit, entry
            p, s, month, books.raised + books.transfer, books.burn,
            value_to_acquirer=12.0 * s.revenue_last,
            operating_profit=books.revenue - books.serving - books.compliance)
        entries = turnover.arrivals(p, s, month, self.streams,
                                    s.scratch[decisions.MARGIN_KEY].sum(axis=1),
                                    self._brand_floor(), self.rules)
        self._grow_potential()
        s.firm_share = firm_shares(s)
        profit = self._profit(flows, books)                             # 7. observation
        self.recorder.record(s, flows, observe.MonthExtras(
            inclusive_value=extras[0], outside_utility=extras[1], profit=profit,
            raised=books.raised, rd=books.rd, markup_capped=capped, entries=entries,
            exits=turnover_counts["exits"], acquisitions=turnover_counts["acquisitions"],
            reference_capability=self.recorder.reference_capability))
        self._check_finite(month)

    def run(self, months: int | None = None) -> Engine:
        """Step to the horizon (or ``months`` more); returns self."""
        end = self.horizon if months is None else min(self.horizon, self.state.month + months)
        while self.state.month < end:
            self.step()
        return self

    # ------------------------------------------------------------------ phases

    def _rules(self, month: int, announce: bool = True) -> Rules:
        rules = publish_rules(self.params, self.state, month, self.trigger_memory,
                              self.recorder.last_metric)
        if announce:
            self.state.events.extend(rules.events)
        for merger in rules.mergers:
            self._merge(merger, month)
        return rules

    def _merge(self, merger: MergerDue, month: int) -> None:
        """A scheduled merger: the target's lines and cash go to the acquirer."""
        s = self.state
        acquirer, target = merger.acquirer, merger.target
        for w in np.flatnonzero(merger.where):  # a merger is one event per world
            moved = s.owner[w] == target
            s.owner[w, moved] = acquirer
            s.cash[w, acquirer] += s.cash[w, target]
            s.cash[w, target] = 0
            s.firm_alive[w, target] = False
            names = self.params.structure.firms
            s.events.append(Event(int(w), month, "World", names[acquirer], None, "merger",
                                  f"absorbed {names[target]} ({merger.label})"))

    def _launch(self, month: int) -> None:
        s = self.state
        due = (s.launch == month) & ~s.product_alive & (s.product_entrant < 0)
        due &= s.firm_alive[np.arange(s.worlds)[:, None], s.owner]
        if not due.any():
            return
        s.product_alive |= due
        from sim.engine.names import firm_name, product_name

        for w, k in zip(*np.nonzero(due), strict=True):
            s.events.append(Event(int(w), month, "World", firm_name(self.params, s, w, s.owner[
                w, k]), product_name(self.params, s, w, k), "launch",
                "dated launch (scenario data)"))

    def _price(self, month: int, cost: np.ndarray) -> np.ndarray:
        p, s = self.params, self.state
        ones = np.ones(s.brand.shape)
        utility, outside = choice.utilities(p, s, month, ones)  # non-price utility
        available = self.rules.available.any(axis=(2, 3))
        return market.price_lines(p, s, month, cost, utility, outside, available)

    def _adopters(self, month: int) -> tuple[np.ndarray, np.ndarray]:
        p, s = self.params, self.state
        utility, outside = choice.utilities(p, s, month, market.effective_prices(p, s))
        weights, shift = choice.choice_weights(utility, outside, self.rules.available)
        newly = choice.awareness(s, p, self.engine, self.streams, month, weights=weights)
        switch_cost = (p.segment["switching_cost"][:, None, :]
                       * self.rules.switching_multiplier[:, :, None])
        s.counts = switching.switch(s.counts, weights, switch_cost, p.segment["reconsider_rate"],
                                 self.rules.forced, self.engine, self.streams, month, newly)
        return choice.inclusive_value(weights, shift), outside

    def _remember_margins(self, flows: market.MarketFlows) -> None:
        margin = (flows.revenue - flows.serving).sum(axis=2)  # [W, R, K]
        self.state.scratch[decisions.MARGIN_KEY] = margin
        self.state.scratch[subsidies.USAGE_KEY] = flows.usage.sum(axis=2)

    def _brand_floor(self) -> np.ndarray:
        s = self.state
        alive = s.product_alive[:, None, None, :]
        floor = np.where(alive, s.brand, np.inf).min(axis=-1)
        return np.where(np.isfinite(floor), floor, 0.0)

    def _grow_potential(self) -> None:
        """Potential adopters grow; the newcomers join the unaware (whole numbers if exact)."""
        p, s = self.params, self.state
        growth = p.region["adopters_growth_per_year"] ** (1.0 / 12.0)
        added = (s.potential * (growth - 1.0))[..., None] * p.structure.group_fractions[None]
        if self.engine == "exact":  # counts stay whole; rounding is unbiased on average
            added = np.rint(added)
        s.unaware = s.unaware + added
        s.potential = s.potential + added.sum(axis=-1)

    def _profit(self, flows: market.MarketFlows, books: supply.Books) -> np.ndarray:
        """``[W, F, R, S]`` operating profit (compliance split over segments by revenue)."""
        s = self.state
        n_f = s.firm_alive.shape[1]
        cell = firm_totals(flows.revenue - flows.serving, s.owner, n_f)  # [W, R, S, F]
        revenue = firm_totals(flows.revenue, s.owner, n_f)
        region_revenue = revenue.sum(axis=2, keepdims=True)
        weight = np.divide(revenue, region_revenue, out=np.zeros_like(revenue),
                           where=region_revenue > 0)
        compliance = np.moveaxis(books.compliance_by_region, 1, 2)[:, :, None, :] * weight
        return np.moveaxis(cell - compliance, 3, 1)

    def _observe_month0(self) -> None:
        s = self.state
        cost = market.serving_costs(self.params, s, 0)
        flows = market.market_flows(self.params, s, 0, cost)
        utility, outside = choice.utilities(self.params, s, 0, market.effective_prices(
            self.params, s))
        weights, shift = choice.choice_weights(utility, outside, self.rules.available)
        w, f = s.worlds, s.firm_alive.shape[1]
        zeros = np.zeros(w, dtype=np.int64)
        profit = np.moveaxis(firm_totals(flows.revenue - flows.serving, s.owner, f), 3, 1)
        self._remember_margins(flows)
        self.recorder.record(s, flows, observe.MonthExtras(
            inclusive_value=choice.inclusive_value(weights, shift), outside_utility=outside,
            profit=profit, raised=np.zeros((w, f)), rd=np.zeros((w, f)),
            markup_capped=np.zeros(s.price.shape, dtype=bool), entries=zeros, exits=zeros,
            acquisitions=zeros, reference_capability=self.recorder.reference_capability))

    def _check_finite(self, month: int) -> None:
        s = self.state
        for name in ("capability", "price"):
            values = getattr(s, name)
            alive = s.product_alive if values.ndim == 2 else s.product_alive[:, None, :]
            bad = alive & ~np.isfinite(values)
            if bad.any():
                where = np.argwhere(bad)[0]
                raise EngineStateError(f"month {month}, world {where[0]}: {name} is not finite")
        if (s.counts < -1e-6).any() or not np.isfinite(s.counts).all():
            raise EngineStateError(f"month {month}: adopter counts are negative or not finite")
