"""The market model: a ``mesa.Model`` whose month is written once, in :meth:`MarketModel.step`.

Vendors, contributors and regulators are Mesa agents; adopters are counts in
numpy arrays (MODEL.md 2). Each phase of the month lives in its own module;
this file wires them together, keeps the state and records what happened.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
import pandas as pd

import sim.mesa_compat  # noqa: F401  (mesa 3.3 keeps every model alive otherwise)
from sim import contributors as contrib
from sim import demand, entry, finance, initial, pricing
from sim.agents.contributor import Contributor
from sim.agents.regulator import Regulator
from sim.agents.vendor import Vendor, VendorTable
from sim.capability import capability_growth, funding
from sim.metrics import METRIC_INDEX
from sim.policies import access_groups, publish_rules
from sim.rng import Mechanism, Streams, seed_sequence
from sim.scenario.loader import load_scenario
from sim.scenario.months import date_of
from sim.scenario.schema import Scenario
from sim.strategy import merge_vendors

__all__ = ["MarketModel", "ModelStateError"]


class ModelStateError(RuntimeError):
    """State turned NaN or infinite: names the month, region and quantity."""


def _quiet_arithmetic() -> Any:
    """Silence numpy's overflow and invalid-value warnings for the model's arithmetic.

    Extreme scenarios can overflow (cash near 1e308) and produce inf or NaN. Numpy would
    print a RuntimeWarning with a source path first; instead the numerical guard
    (:meth:`MarketModel._check_finite`, :class:`ModelStateError`) reports the state in one
    line naming the month, vendor or region and quantity. Empty markets are NaN by design
    (:mod:`sim.metrics`) and are not errors.
    """
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


class MarketModel(mesa.Model):
    """An AI-model market: vendors, adopters, contributors and regulators, month by month.

    Args:
        scenario: A Scenario, a shipped scenario's name or a path.
        seed: Root seed (int) or a ``numpy.random.SeedSequence`` (one replication's).
        demand_engine: ``"cohort"`` (counts; the default) or ``"agents"`` (one Mesa agent per
            adopter; a reference for tests and benchmarks, small populations only).

    Example:
        >>> import sim
        >>> model = sim.MarketModel("baseline", seed=1)
        >>> model.step()
        >>> model.month
        1
        >>> frame = model.metrics()
        >>> sorted(frame["region"].unique())
        ['CN', 'EU', 'RoW', 'US', 'World']
    """

    def __init__(self, scenario: Scenario | str, seed: int | np.random.SeedSequence = 0,
                 demand_engine: str = "cohort"):
        scenario = load_scenario(scenario)
        self.sequence = seed_sequence(seed)
        self.streams = Streams(self.sequence)
        super().__init__(rng=self.streams.generator(Mechanism.MESA, 0))
        self.scenario = scenario
        self.world = scenario.world
        self.month = 0
        self.horizon = scenario.scenario.months
        self.regions = scenario.region_names
        self.segments = scenario.segment_names
        self.tastes = demand.Tastes.from_scenario(scenario)
        self.potential = np.array([[round(r.adopters.get(s, 0.0)) for s in self.segments]
                                   for r in scenario.regions], dtype=np.int64)
        self.events: list[tuple[int, str, str | None, str, str]] = []
        self.group_fractions, self.group_evade_upto = access_groups(scenario)
        self.vendors = VendorTable(len(self.regions), capacity=max(16, 2 * len(scenario.vendors)))
        self.vendor_agents: list[Vendor] = [Vendor.from_spec(self, v) for v in scenario.vendors]
        self.regulators = [Regulator(self, r) for r in range(len(self.regions))]
        self._init_contributors()
        self._history = _History(self)
        if demand_engine not in ("cohort", "agents"):
            raise ValueError(f"demand_engine must be 'cohort' or 'agents', got {demand_engine!r}")
        self.demand_engine = demand_engine
        self._contributor_subsidy = np.zeros(len(self.regions))
        with _quiet_arithmetic():
            self._init_market(scenario)
            self._observe()
        if demand_engine == "agents":
            from sim.reference import AdopterPopulation

            self.adopter_population = AdopterPopulation(self)

    # ------------------------------------------------------------------ initial state

    def _init_contributors(self) -> None:
        init = self.streams.generator(Mechanism.INIT, 0)
        self.contributors = contrib.create_table(self.scenario, init)
        self._contributor_agents: list[Contributor] | None = None
        self.effort = np.zeros(self.vendors.capacity)
        self.outside_contribution = np.zeros(len(self.regions))

    @property
    def contributor_agents(self) -> list[Contributor]:
        """The contributor communities as Mesa agents (views on ``self.contributors``).

        Created on first use: the month's schedule works on the table, one vectorised call
        per region, and registering a few hundred Mesa agents costs about a fifth of a
        replication's time (docs/performance.md), so batch runs that never look at them
        do not pay for them. Once created they are registered with the model like any agent.

        Example:
            >>> import sim
            >>> model = sim.MarketModel("baseline", seed=1)
            >>> len(model.contributor_agents) == model.scenario.contributors.count
            True
        """
        if self._contributor_agents is None:
            self._contributor_agents = [Contributor(self, i)
                                        for i in range(self.contributors.count)]
        return self._contributor_agents

    def _init_market(self, scenario: Scenario) -> None:
        self.rules = self._publish(0)
        vt = self.vendors
        available0 = self.rules.available[:, 0, :]
        pi = initial.target_shares(scenario, vt.names, available0)
        self.counts = initial.initial_counts(self.potential, self.group_fractions, pi,
                                             self.rules.available)
        self._closed_history = np.full(self.horizon + 1, np.nan)
        self._closed_history[0] = self._frontier(closed=True)
        self._reference_history = np.full(self.horizon + 1, np.nan)
        self._reference_history[0] = self._reference_frontier(0)
        cost = self._serving_cost(0)
        self._set_initial_prices(cost)
        self.network_share = demand.inside_shares(self.counts)
        base = self._utilities(np.zeros((len(self.regions), len(self.segments), vt.count)))
        self.brand = initial.invert_brands(pi, base, self._outside_utility(0),
                                           self._switching(), available0)
        finance.seed_expectations(vt, self.counts.sum(axis=2)[..., 1:], self._tokens(0), cost)
        self._init_contributor_choices()

    def _set_initial_prices(self, cost: np.ndarray) -> None:
        vt = self.vendors
        specified = {v.name: v.price for v in self.scenario.vendors if v.price is not None}
        target, _ = self._best_response(cost)
        price = np.where(vt.view("is_open"), pricing.open_prices(cost, self.world.open_margin),
                         target)
        for name, value in specified.items():
            price[vt.names.index(name)] = value
        vt.view("price")[:] = price

    def _init_contributor_choices(self) -> None:
        spec = self.scenario.contributors
        gens = [self.streams.generator(Mechanism.INIT, 1, r) for r in range(len(self.regions))]
        allowed = self._contributor_options()
        vt = self.vendors
        effort = np.zeros(vt.count)
        for _ in range(2):  # second pass sees the effort the first pass produced
            contrib.choose_ecosystems(self.contributors, spec, allowed, vt.view("capability"),
                                      vt.view("license"), effort, 0.0, gens,
                                      engaged_share=spec.initial_engaged)
            effort, _ = contrib.ecosystem_effort(self.contributors,
                                                 self.rules.contributor_friction, vt.count)
        self.effort[: vt.count] = effort
        inside = (spec.capability_weight * vt.view("capability")
                  + spec.community_weight * np.log1p(effort)
                  - spec.license_weight * vt.view("license"))
        frontier = self._reference_history[0]
        for r in range(len(self.regions)):
            options = inside[allowed[r]]
            outside = contrib._calibrated_outside(options, spec.initial_engaged)
            self.outside_contribution[r] = outside - spec.capability_weight * frontier

    # ------------------------------------------------------------------ the month

    def step(self) -> None:
        """Advance one month: the schedule of MODEL.md 3, in order."""
        if self.month >= self.horizon:
            raise RuntimeError(f"the scenario's horizon is {self.horizon} months")
        month = self.month + 1
        with _quiet_arithmetic():
            self.rules = self._publish(month)                      # 1. regulators
            self._vendors_decide(month)                            # 2. vendors
            effort_by_region = self._contributors_choose(month)    # 3. contributors
            self._market(month)                                    # 4. adopters choose
            books = self._accounting(month)                        # 5. accounting, capability
            self._check_finite(month)  # before entry: a NaN would look like a profitable entry
            entry.arrivals(self, month)                            # 6. entry
            books = books.padded(self.vendors.count)               # entrants have no flows yet
            self.month = month
            self._observe(books, effort_by_region)                 # 7. observation
        self._check_finite(month)

    def run(self, months: int | None = None) -> MarketModel:
        """Step until the horizon (or ``months`` more steps); returns self.

        Example:
            >>> import sim
            >>> sim.MarketModel("baseline", seed=1).run(months=3).month
            3
        """
        end = self.horizon if months is None else min(self.horizon, self.month + months)
        while self.month < end:
            self.step()
        return self

    # ------------------------------------------------------------------ phases

    def _publish(self, month: int) -> Any:
        active: list[Any] = []
        self.flows = {name: np.zeros(len(self.regions))
                      for name in ("withdrawals", "entries", "exits")}
        for regulator in self.regulators:
            policies, mergers = regulator.update(month)
            active.extend(policies)
            for merger in mergers:
                merge_vendors(self, merger, month)
        self._ensure_capacity()
        self._last_active = active
        return publish_rules(active, self.vendors, self.regions, self.group_evade_upto, month)

    def _vendors_decide(self, month: int) -> None:
        order = self.streams.generator(Mechanism.VENDOR_ORDER, month).permutation(
            len(self.vendor_agents))
        vt = self.vendors
        before = vt.view("served").copy(), vt.view("is_open").copy()
        for i in order:
            self.vendor_agents[i].decide()
        if not (np.array_equal(before[0], vt.view("served"))
                and np.array_equal(before[1], vt.view("is_open"))):
            # a withdrawal, re-entry or openness switch changes who can buy what
            self.rules = publish_rules(self._active_policies(), vt, self.regions,
                                       self.group_evade_upto, month)
        cost = self._serving_cost(month)
        target, capped = self._best_response(cost)
        closed_price = pricing.adjust_prices(vt.view("price"), target, self.world.price_adjustment)
        is_open = vt.view("is_open")
        vt.view("price")[:] = np.where(is_open, pricing.open_prices(cost, self.world.open_margin),
                                       closed_price)
        vt.view("capped")[:] = capped & ~is_open & vt.view("alive")

    def _active_policies(self) -> list[Any]:
        return self._last_active

    def _contributors_choose(self, month: int) -> np.ndarray:
        vt = self.vendors
        gens = [self.streams.generator(Mechanism.CONTRIBUTORS, month, r)
                for r in range(len(self.regions))]
        spec = self.scenario.contributors
        frontier = self._reference_history[month - 1]
        contrib.choose_ecosystems(self.contributors, spec, self._contributor_options(),
                                  vt.view("capability"), vt.view("license"),
                                  self.effort[: vt.count], frontier, gens,
                                  outside_offset=self.outside_contribution)
        effort, by_region = contrib.ecosystem_effort(self.contributors,
                                                     self.rules.contributor_friction, vt.count)
        effort = effort + self._subsidised_effort(by_region)
        self.effort[: vt.count] = effort
        # fine-tunes released this month, drawn from the same regional streams after the choices
        self._derivatives = contrib.derivatives(spec.derivative_rate, by_region, gens)
        return by_region

    def _subsidised_effort(self, by_region: np.ndarray) -> np.ndarray:
        extra = np.zeros(self.vendors.count)
        self._contributor_subsidy = np.zeros(len(self.regions))
        allowed = self._contributor_options()
        for policy, regions in self.rules.subsidies:
            share = {"vendors": 0.0, "contributors": 1.0}.get(policy.recipients,
                                                              policy.contributor_fraction)
            for r in regions:
                if share <= 0 or not allowed[r].any():
                    continue
                budget = policy.budget * share
                weights = np.where(allowed[r], by_region[r], 0.0)
                if weights.sum() <= 0:
                    weights = allowed[r].astype(float)
                extra += budget / policy.cost_per_effort * weights / weights.sum()
                self._contributor_subsidy[r] += budget
        return extra

    def _market(self, month: int) -> None:
        self._check_finite(month)  # before the draws: NaN would reach the multinomial
        weights, shift = self._weights(month)
        bad = ~np.isfinite(weights).all(axis=(1, 2, 3))
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise ModelStateError(f"month {month} ({date_of(month, self.scenario.scenario.start)})"
                                  f", region {self.regions[r]}: adopters' utilities are not "
                                  "finite (brand constants or the outside option)")
        self._choice_weights = weights, shift  # this month's choice set, for welfare
        probs = demand.choice_probabilities(weights, self._switching())
        options = np.concatenate([np.ones((len(self.regions), self.rules.available.shape[1], 1),
                                          dtype=bool), self.rules.available], axis=-1)
        gens = [self.streams.generator(Mechanism.DEMAND, month, r)
                for r in range(len(self.regions))]
        if self.demand_engine == "agents":
            self.counts = self.adopter_population.step(probs, ~options, gens)
        else:
            self.counts = demand.cohort_step(self.counts, probs, self.tastes.reconsider,
                                             ~options, gens)
        self.network_share = demand.inside_shares(self.counts)

    def _accounting(self, month: int) -> finance.Books:
        vt = self.vendors
        pooled = self.counts.sum(axis=2)[..., 1:]
        usage = (pooled * self._tokens(month)[None, :, None]).sum(axis=1)
        subsidy = finance.pay_subsidies(self.rules, vt, usage)
        books = finance.close_month(vt, self.rules, pooled, self._tokens(month),
                                    self._serving_cost(month),
                                    funding(vt.view("funding0"), self.world, month), subsidy,
                                    smoothing=2.0 / (self.world.withdrawal_horizon + 1))
        growth = capability_growth(self.world, vt.view("capability"), vt.view("is_open"),
                                   vt.view("alive"), books.rd, self.effort[: vt.count], month)
        vt.view("capability")[:] += growth
        self._closed_history[month] = self._frontier(closed=True)
        self._reference_history[month] = self._reference_frontier(month)
        self._exits(month)
        return books

    def _exits(self, month: int) -> None:
        vt = self.vendors
        negative = vt.view("cash") < 0
        vt.view("negative_months")[:] = np.where(negative, vt.view("negative_months") + 1, 0)
        leaving = vt.view("alive") & (vt.view("negative_months") >= self.world.exit_after)
        for k in np.flatnonzero(leaving):
            vt.alive[k] = False
            self.record_event(month, "World", vt.names[k], "exit",
                              f"cash negative for {self.world.exit_after} months")
            self.flows["exits"][vt.home[k]] += 1

    def _observe(self, books: finance.Books | None = None,
                 effort_by_region: np.ndarray | None = None) -> None:
        n_r = len(self.regions)
        if effort_by_region is None:
            _, effort_by_region = contrib.ecosystem_effort(
                self.contributors, self.rules.contributor_friction, self.vendors.count)
        engaged = self.contributors.ecosystem >= 0
        vendor_subsidy = books.subsidy.sum(axis=1) if books is not None else np.zeros(n_r)
        flows = {
            "contributors": np.bincount(self.contributors.region[engaged], minlength=n_r),
            "effort": effort_by_region.sum(axis=1),
            "derivatives": getattr(self, "_derivatives", np.zeros(n_r)),  # none before month 1
            "compliance_paid": (books.compliance.sum(axis=1) if books is not None
                                else np.zeros(n_r)),
            "subsidy_paid": vendor_subsidy + self._contributor_subsidy,
            "markup_capped": (self.rules.available.any(axis=1)
                              & self.vendors.view("capped")[None, :]).sum(axis=1),
            **getattr(self, "flows", {name: np.zeros(n_r)
                                      for name in ("withdrawals", "entries", "exits")}),
        }
        self._history.record(self, flows, books)

    # ------------------------------------------------------------------ helpers

    def _grow_for_entrant(self) -> None:
        """Give the newest vendor its brand constants (the weakest incumbent's) and columns."""
        k = self.vendors.count - 1
        self._ensure_capacity()
        if self.brand.shape[-1] <= k:
            pad = self.vendors.capacity - self.brand.shape[-1]
            self.brand = np.concatenate([self.brand, np.zeros((*self.brand.shape[:2], pad))],
                                        axis=-1)
            self.counts = np.concatenate(
                [self.counts, np.zeros((*self.counts.shape[:3], 0), dtype=np.int64)], axis=-1)
        self.brand[..., k] = entry.entrant_brand(self, k)  # the weakest live incumbent's
        self.counts = np.concatenate(
            [self.counts, np.zeros((*self.counts.shape[:3], 1), dtype=np.int64)], axis=-1)
        self.network_share = demand.inside_shares(self.counts)
        # the month's rules gain the entrant's column (observation and later entrants read them)
        self.rules = publish_rules(self._active_policies(), self.vendors, self.regions,
                                   self.group_evade_upto, self.month)

    def _ensure_capacity(self) -> None:
        """Grow per-vendor arrays after the vendor table grew (entry)."""
        cap = self.vendors.capacity
        if self.effort.shape[0] < cap:
            self.effort = np.concatenate([self.effort, np.zeros(cap - self.effort.shape[0])])

    def _tokens(self, month: int) -> np.ndarray:
        return np.array([s.usage * s.usage_growth_per_year ** (month / 12.0)
                         for s in self.scenario.segments])

    def _serving_cost(self, month: int) -> np.ndarray:
        vt = self.vendors
        return pricing.serving_cost(self.world.serving_cost, self.world.serving_cost_fall_per_year,
                                    vt.view("cost_factor"), month,
                                    vt.view("capability") - vt.view("capability0"),
                                    self.world.serving_cost_per_point)

    def _switching(self) -> np.ndarray:
        return self.tastes.switching_cost[None, :] * self.rules.switching_multiplier[:, None]

    def _reach(self) -> np.ndarray:
        """Potential usage ``[region, segment, vendor]`` where each vendor can sell."""
        can = self.rules.available.any(axis=1)  # [region, vendor]
        return (self.potential[..., None] * self._tokens(self.month)[None, :, None]
                * can[:, None, :])

    def _best_response(self, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pooled = self.counts.sum(axis=2)[..., 1:]
        elasticity = pricing.markup_elasticity(pooled, self.potential, self._tokens(self.month),
                                               self.tastes.alpha, self._reach())
        return pricing.best_response(cost, elasticity, self.world.markup_max)

    def _frontier(self, closed: bool) -> float:
        vt = self.vendors
        mask = vt.view("alive") & (vt.view("is_open") != closed)
        return float(vt.view("capability")[mask].max()) if mask.any() else np.nan

    def _reference_frontier(self, month: int) -> float:
        """The frontier the outside options track (never NaN).

        The best closed model alive; with none, the best model alive; with no vendor alive,
        last month's value.
        """
        q = self._frontier(closed=True)
        if np.isnan(q):
            alive = self.vendors.view("alive")
            q = float(self.vendors.view("capability")[alive].max()) if alive.any() else np.nan
        if np.isnan(q) and month > 0:
            q = float(self._reference_history[month - 1])
        return q

    def _outside_utility(self, month: int) -> np.ndarray:
        """``U0[region, segment]``: in-house with the capability the frontier had a lag ago.

        The frontier is the one known when the month's choices are made: month ``t``'s
        capability is only recorded in its accounting phase, after adopters chose, so a lag
        below one month reads month ``t - 1`` (month 0 at month 0).
        """
        lag = self.world.outside_lag_months
        latest = max(month - 1, 0)
        when = min(month - lag, latest)
        history = self._reference_history
        if when >= 0:
            lo = int(np.floor(when))
            hi = min(lo + 1, latest)
            frac = when - lo
            q_ref = history[lo] * (1 - frac) + history[hi] * frac
        else:
            q_ref = history[0] + when * self.world.frontier_points_per_month
        cheaper = np.log(self.world.outside_cost_fall_per_year) * month / 12.0
        u0 = self.tastes.beta * q_ref + self.tastes.alpha * cheaper
        return np.broadcast_to(u0[None, :], (len(self.regions), len(self.segments)))

    def _utilities(self, brand: np.ndarray) -> np.ndarray:
        vt = self.vendors
        return demand.vendor_utilities(self.tastes, vt.view("capability"), vt.view("price"),
                                       vt.view("is_open"), vt.view("home"), brand,
                                       self.network_share)

    def _weights(self, month: int) -> tuple[np.ndarray, np.ndarray]:
        utilities = self._utilities(self.brand[..., : self.vendors.count])
        return demand.option_weights(utilities, self._outside_utility(month),
                                     self.rules.available)

    def _contributor_options(self) -> np.ndarray:
        vt = self.vendors
        return (self.rules.contributor_allowed & vt.view("is_open")[None, :]
                & vt.view("alive")[None, :])

    def record_event(self, month: int, region: str, vendor: str | None, kind: str,
                     detail: str) -> None:
        """Record an event row (policy switch, withdrawal, entry, exit, merger, ...)."""
        self.events.append((month, region, vendor, kind, detail))

    def last_metric(self, metric: str, region: int, segment: str) -> float:
        """Last recorded month's value of ``metric`` (used by triggers)."""
        s = len(self.segments) if segment == "all" else self.segments.index(segment)
        return float(self._history.market[self.month, region, s, METRIC_INDEX[metric]])

    def _check_finite(self, month: int) -> None:
        vt = self.vendors
        for name in ("capability", "cash", "price"):
            values = vt.view(name)
            bad = ~np.isfinite(values) & vt.view("alive")
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                when = date_of(month, self.scenario.scenario.start)
                raise ModelStateError(f"month {month} ({when}), vendor {vt.names[k]}: "
                                      f"{name} is {values[k]}")
        if (self.counts < 0).any():
            r = int(np.argwhere(self.counts < 0)[0][0])
            raise ModelStateError(f"month {month}, region {self.regions[r]}: "
                                  "negative adopter count")

    # ------------------------------------------------------------------ outputs

    def metrics(self) -> pd.DataFrame:
        """This month's metrics: one row per (region, segment), with World and all."""
        return self._history.market_frame(self.month, self.month)

    def results(self, scenario_id: str = "scenario", replication: int = 0
                ) -> dict[str, pd.DataFrame]:
        """Tidy ``market``, ``vendors`` and ``events`` tables of the months run so far.

        Example:
            >>> import sim
            >>> tables = sim.MarketModel("baseline", seed=1).run(months=2).results()
            >>> sorted(tables), sorted(tables["market"]["month"].unique().tolist())
            (['events', 'market', 'vendors'], [0, 1, 2])
        """
        return self._history.frames(self, scenario_id, replication)


from sim.history import History as _History  # noqa: E402  (import cycle: history reads the model)
