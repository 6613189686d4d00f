"""Policy x uncertainty: the distribution of each policy's paired effect, and when it flips.

``robustness(base, [policy, ...])`` runs the reference scenario and every policy over the
same worlds: posterior draws (the parametric uncertainty), optional ``--vary`` ranges sampled
per draw, and every structural alternative crossed with them (MODEL.md 9; by default
``world.price_scope`` global or regional, and ``contributors.capability_effect`` on or off).
World ``a * K + j`` is draw ``j`` under combination ``a`` of the alternatives and has
replication number ``a * K + j`` in every scenario, so a policy's effect is paired world by
world. Only the outcome cells are kept (:mod:`sim.experiment.draws`: one batched engine per
chunk of worlds), which is what makes hundreds of 83-month worlds take about a minute.

For each policy and outcome it reports the effect's median, 90 % interval and sign shares,
the spread between structural alternatives, feature scores, and scenario-discovery rules
(:mod:`sim.experiment.discovery`): the box of the *minority* outcome, phrased as "... unless"
when most worlds pass the threshold and "... only when" when most do not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.compile import shared_cuts
from sim.errors import ScenarioError
from sim.experiment.design import Parameter
from sim.experiment.discovery import Rule, cart_rules, describe_bounds, feature_scores, prim_rule
from sim.experiment.draws import Cell, DrawTask, run_draw_task
from sim.experiment.pool import execute_tasks, phase
from sim.experiment.posterior import DEFAULT_POSTERIOR, choose_draws, draw_overrides, load_posterior
from sim.experiment.runner import assign_ids, check_count, check_engine, normalise_scenarios
from sim.experiment.store import (
    MANIFEST_FORMAT,
    TOOL,
    atomic_write_text,
    git_state,
    now_iso,
    open_output,
    scenario_hash,
    versions,
    write_frame,
)
from sim.scenario.overrides import with_horizon

__all__ = ["Outcome", "Robustness", "robustness", "DEFAULT_STRUCTURAL", "DEFAULT_DRAWS"]

#: Posterior draws of a robustness study by default: 64 draws x 4 structural combinations x
#: (1 + P) scenarios of 83 months run in about a minute on 2 cores (docs/robustness.md 1).
DEFAULT_DRAWS = 64
#: Structural alternatives crossed with every draw (MODEL.md 9).
DEFAULT_STRUCTURAL = (Parameter("world.price_scope", choices=("global", "regional")),
                      Parameter("contributors.capability_effect", choices=("on", "off")))
#: Chunk of worlds per task.
CHUNK = 64


@dataclass(frozen=True)
class Outcome:
    """One cell of the market table at one month, and the threshold a rule is about."""

    metric: str
    region: str
    segment: str
    threshold: float = 0.0  #: an effect above it is "the policy raises ... by more than"
    unit: str = ""

    @property
    def name(self) -> str:
        """Column name in ``robustness.parquet``: ``metric.region.segment``."""
        return f"{self.metric}.{self.region}.{self.segment}"


def default_outcomes(region: str) -> tuple[Outcome, ...]:
    """Concentration, openness, consumer surplus and net welfare where the policy acts.

    The HHI threshold is 150 points: the increase above which the EU's 2004 horizontal
    merger guidelines see concern in a market above 2,000 (CALIBRATION.md, S-hhi).
    """
    return (Outcome("hhi_market", region, "enterprise", 150.0, "HHI points"),
            Outcome("open_usage_share", region, "all", 0.0, "share"),
            Outcome("consumer_surplus_usd", region, "all", 0.0, "USD per month"),
            Outcome("net_welfare_usd", region, "all", 0.0, "USD per month"))


@dataclass
class Robustness:
    """What a robustness study found (also written to its folder)."""

    table: pd.DataFrame  #: one row per (policy, world): inputs and each outcome's effect
    effects: pd.DataFrame  #: per policy and outcome: median, interval, sign shares, structure
    scores: pd.DataFrame  #: per policy, outcome and input: feature score
    rules: list[dict[str, Any]]  #: per policy and outcome: PRIM and CART boxes, in words
    inputs: list[str]  #: the uncertain inputs (feature columns)
    folder: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def robustness(base: Any, policies: Any, *, posterior: str | Path | None = DEFAULT_POSTERIOR,
               draws: int | None = None, vary: list[Parameter] | None = None,
               structural: tuple[Parameter, ...] = DEFAULT_STRUCTURAL,
               outcomes: tuple[Outcome, ...] | None = None, month: int | None = None,
               seed: int = 0, engine: str | None = "expected", jobs: int | None = None,
               executor: Any = None, out: str | Path | None = None, force: bool = False,
               progress: bool | None = None, command: str | None = None,
               base_id: str | None = None) -> Robustness:
    """Each policy's paired effect over posterior draws x ranges x structural alternatives.

    Args:
        base: The reference scenario (object, shipped name or path).
        policies: One or more policy scenarios, each compared with ``base``, or
            ``{id: scenario}`` to choose their ids.
        posterior: Posterior to draw from (default the shipped ``baseline``); None: no
            posterior (then give ``vary``).
        draws: Posterior draws, or samples of ``vary`` without a posterior (default 64).
        vary: Ranges sampled uniformly per draw (:func:`sim.parse_range`), inputs too.
        structural: Alternatives crossed with every draw (each a choice parameter).
        outcomes: Cells to study (default :func:`default_outcomes` where the first policy acts).
        month: Month of the outcomes (default the horizon).
        seed: Root seed (draw choice, ranges, the worlds' streams, feature scores).
        engine: ``"expected"`` (default: smooth effects) or ``"exact"``.
        jobs: Local worker processes.
        executor: Any ``concurrent.futures.Executor`` (a Dask client's ``get_executor()``).
        out: Folder for ``robustness.parquet``, ``effects.csv``, ``feature_scores.csv``,
            ``rules.json`` and the report (None: in memory).
        force: Replace a folder marketsim wrote (only its own files).
        progress: Show a progress bar (default: when on a terminal).
        command: The command line, for the manifest.
        base_id: The reference's id (default: its shipped name or file stem).

    Example:
        >>> import sim
        >>> found = sim.robustness("baseline", "eu_blocks_open", draws=8, month=40, jobs=1)
        >>> sorted(found.effects["policy"].unique()), len(found.table)  # 8 draws x 2 x 2
        (['eu_blocks_open'], 32)
    """
    from sim.experiment.keyfigures import policy_region

    if isinstance(policies, Mapping):  # {id: scenario}: the ids are chosen
        named = [(None, base), *((str(k), v) for k, v in policies.items())]
    else:
        single = isinstance(policies, str | Path) or hasattr(policies, "scenario")
        named = [(None, base), *((None, p) for p in ([policies] if single else policies))]
    if len(named) < 2:
        raise ScenarioError("give a reference scenario and at least one policy")
    loaded, found = normalise_scenarios([scenario for _, scenario in named])
    labels = [name or (base_id if i == 0 and base_id else label)
              for i, ((name, _), label) in enumerate(zip(named, found, strict=True))]
    ids = assign_ids(loaded, labels)
    engine = check_engine(engine)
    seed = check_count(seed, "seed", 0)
    k = check_count(DEFAULT_DRAWS if draws is None else draws, "draws", 2)
    horizon = loaded[0].scenario.months if month is None else check_count(month, "month", 1)
    loaded = [with_horizon(s, horizon) for s in loaded]
    region = policy_region(loaded[0], loaded[1])
    outcomes = tuple(outcomes or default_outcomes(region))
    if posterior is None and not vary:
        raise ScenarioError("give a posterior or at least one --vary range")
    inputs, per_world = _worlds(loaded, ids, posterior, k, vary or [], structural, seed)
    worlds = len(per_world[ids[0]])
    cells = tuple(Cell(o.metric, o.region, o.segment, horizon) for o in outcomes)
    folder = _open(out, force, ids, loaded, seed, k, engine, command)
    started = time.perf_counter()
    cuts = shared_cuts(loaded)  # paired worlds: the same access groups in every scenario
    tasks = [DrawTask(scenario.to_toml(), tuple(per_world[sid][first:first + CHUNK]),
                      tuple(range(first, min(first + CHUNK, worlds))), seed, engine, cells,
                      first=index * worlds + first, group_cuts=cuts)
             for index, (sid, scenario) in enumerate(zip(ids, loaded, strict=True))
             for first in range(0, worlds, CHUNK)]
    values = np.zeros((len(ids) * worlds, len(cells)))
    for first, block in execute_tasks(tasks, run_draw_task, jobs, executor, progress,
                                      unit="world", desc="robustness",
                                      size=lambda t: len(t.draws)):
        values[first:first + len(block)] = block
    values = values.reshape(len(ids), worlds, len(cells))
    table = _table(ids, inputs, values, outcomes)
    with phase("scenario discovery (PRIM, CART, feature scores)", progress):
        found = _analyse(table, ids[1:], inputs, outcomes, seed, structural)
    found.meta = {"seconds": round(time.perf_counter() - started, 1), "worlds": worlds,
                  "draws": k, "month": horizon, "engine": engine, "ids": ids,
                  "posterior": None if posterior is None else str(posterior)}
    if folder is not None:
        _write(folder, found)
    return found


def _worlds(scenarios: list[Any], ids: list[str], posterior: Any, k: int,
            vary: list[Parameter], structural: tuple[Parameter, ...], seed: int
            ) -> tuple[pd.DataFrame, dict[str, list[tuple[tuple[str, Any], ...]]]]:
    """The inputs of every world and each scenario's overrides per world."""
    rng = np.random.default_rng([seed, 0x726F62])  # "rob": apart from every model stream
    base: list[dict[str, Any]] = [{} for _ in range(k)]
    per_scenario: dict[str, list[dict[str, Any]]] = {sid: [{} for _ in range(k)] for sid in ids}
    columns: dict[str, list[Any]] = {}
    if posterior is not None:
        post = load_posterior(posterior)
        rows = choose_draws(post, k, seed)
        columns["draw"] = [int(d) for d in post.frame["draw"].iloc[rows]]
        for sid, scenario in zip(ids, scenarios, strict=True):
            per_scenario[sid] = draw_overrides(scenario, post, rows)[0]
        varying = [p for p in post.paths if post.frame[p].iloc[rows].nunique() > 1]
        for p in varying:
            columns[p] = post.frame[p].iloc[rows].tolist()
    for parameter in vary:
        values = parameter.scale(rng.uniform(size=k))
        columns[parameter.path] = list(values)
        for j in range(k):
            base[j][parameter.path] = values[j]
    alternatives = [dict(zip([p.path for p in structural], combo, strict=True))
                    for combo in _product([p.choices or () for p in structural])]
    inputs = pd.DataFrame({name: list(v) * len(alternatives) for name, v in columns.items()})
    for p in structural:
        inputs[p.path] = [alt[p.path] for alt in alternatives for _ in range(k)]
    per_world = {sid: [tuple(sorted({**per_scenario[sid][j], **base[j], **alt}.items(),
                                    key=lambda kv: kv[0]))
                       for alt in alternatives for j in range(k)] for sid in ids}
    return inputs, per_world


def _product(choices: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    import itertools

    return list(itertools.product(*choices)) if choices else [()]


def _table(ids: list[str], inputs: pd.DataFrame, values: np.ndarray,
           outcomes: tuple[Outcome, ...]) -> pd.DataFrame:
    frames = []
    for i, sid in enumerate(ids[1:], start=1):
        effect = values[i] - values[0]
        frame = inputs.copy()
        frame.insert(0, "world", np.arange(len(inputs)))
        frame.insert(0, "policy", sid)
        for j, o in enumerate(outcomes):
            frame[f"base:{o.name}"] = values[0, :, j]
            frame[o.name] = effect[:, j]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _analyse(table: pd.DataFrame, policies: list[str], inputs: pd.DataFrame,
             outcomes: tuple[Outcome, ...], seed: int, structural: tuple[Parameter, ...]
             ) -> Robustness:
    features = [c for c in inputs.columns if c != "draw"]
    effects, scores, rules = [], [], []
    for sid in policies:
        rows = table[table["policy"] == sid]
        x = rows[features].reset_index(drop=True)
        for o in outcomes:
            e = rows[o.name].to_numpy(dtype=float)
            ok = np.isfinite(e)
            summary = {"policy": sid, "outcome": o.name, "metric": o.metric,
                       "region": o.region, "segment": o.segment, "threshold": o.threshold,
                       "worlds": int(ok.sum()), "median": float(np.median(e[ok])),
                       "p05": float(np.percentile(e[ok], 5)),
                       "p95": float(np.percentile(e[ok], 95)),
                       "share_positive": float(np.mean(e[ok] > 0)),
                       "share_negative": float(np.mean(e[ok] < 0)),
                       "share_above_threshold": float(np.mean(e[ok] > o.threshold))}
            for p in structural:  # the structural spread: each alternative's median
                for choice in p.choices or ():
                    inside = ok & (rows[p.path].to_numpy() == choice)
                    summary[f"median[{p.path}={choice}]"] = float(np.median(e[inside]))
            effects.append(summary)
            for name, score in feature_scores(x[ok], e[ok], seed).items():
                scores.append({"policy": sid, "outcome": o.name, "input": name,
                               "score": score})
            rules.append(_rules(sid, o, x[ok], e[ok], seed))
    return Robustness(table, pd.DataFrame(effects), pd.DataFrame(scores), rules,
                      features)


def _rules(sid: str, o: Outcome, x: pd.DataFrame, effect: np.ndarray, seed: int
           ) -> dict[str, Any]:
    """The box of the minority outcome, in words, with its coverage and density."""
    above = effect > o.threshold
    share = float(above.mean())
    cell = f"{o.metric} in {o.region} {o.segment}"
    claim = (f"{sid} raises {cell} by more than {o.threshold:g} {o.unit}".rstrip()
             if o.threshold else f"{sid} raises {cell}")
    if share >= 0.5:
        target, link, what = ~above, "unless", f"{claim} in {share:.0%} of worlds"
    else:
        target, link, what = above, "only when", f"{claim} in {share:.0%} of worlds"
    found: list[Rule] = []
    prim = prim_rule(x, target, f"not ({claim})" if link == "unless" else claim)
    if prim is not None:
        found.append(prim)
    found += cart_rules(x, target, prim.outcome if prim else claim, seed)
    boxes = []
    for rule in found:
        text = (f"{what}, {link} {describe_bounds(rule.bounds)} (coverage "
                f"{rule.coverage:.0%}: the share of the {rule.cases} exceptions inside the "
                f"box; density {rule.density:.0%}: the share of worlds in the box that are "
                "exceptions)" if link == "unless" else
                f"{what}, {link} {describe_bounds(rule.bounds)} (coverage "
                f"{rule.coverage:.0%} of the {rule.cases} such worlds; density "
                f"{rule.density:.0%} of the worlds in the box)")
        boxes.append({**rule.as_dict(), "text": text})
    return {"policy": sid, "outcome": o.name, "threshold": o.threshold,
            "share_above_threshold": share, "reading": what if boxes else
            f"{what}: no exception to describe" if share in (0.0, 1.0) else what,
            "rules": boxes}


def _open(out: Any, force: bool, ids: list[str], scenarios: list[Any], seed: int, k: int,
          engine: str, command: str | None) -> Any:
    if out is None:
        return None
    folder, _, _ = open_output(out, force=force, resume=False)
    folder.root.mkdir(parents=True, exist_ok=True)
    texts = [s.to_toml() for s in scenarios]
    folder.write_manifest({
        "tool": TOOL, "format": MANIFEST_FORMAT, "kind": "robustness", "command": command,
        "created_at": now_iso(), "versions": versions(), "git": git_state(), "seed": seed,
        "replications": k, "engine": engine, "status": "running",
        "scenarios": [{"id": sid, "name": s.scenario.name, "months": s.scenario.months,
                       "sha256": scenario_hash(t)}
                      for sid, s, t in zip(ids, scenarios, texts, strict=True)]})
    for sid, text in zip(ids, texts, strict=True):
        folder.write_scenario(sid, text)
    return folder


def _write(folder: Any, found: Robustness) -> None:
    root = folder.root
    write_frame(root / "robustness.parquet", found.table)
    atomic_write_text(root / "effects.csv", found.effects.to_csv(index=False))
    atomic_write_text(root / "feature_scores.csv", found.scores.to_csv(index=False))
    atomic_write_text(root / "rules.json", json.dumps(found.rules, indent=1, default=_plain))
    found.folder = root
    manifest = folder.read_manifest() or {}
    folder.write_manifest({**manifest, "status": "complete", "finished_at": now_iso(),
                           "run_seconds": found.meta.get("seconds")})


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
