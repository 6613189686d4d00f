"""The results folder of a run: its manifest, and the checks before a run resumes in it.

What ``sim.run`` records about itself (``manifest.json``: versions, seed, engine, posterior,
access groups, each scenario's hash) and the one rule by which it opens a folder: a new run,
``--force`` over marketsim's own files, or ``--resume`` of the same run only (same scenarios,
seed, replications, engine, posterior and access groups). The files themselves are
:mod:`sim.experiment.store`'s; this module is what the runner adds on top, kept apart so that
:mod:`sim.experiment.runner` reads as the run itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.engine.compile import GroupCuts
from sim.errors import ScenarioError
from sim.experiment.store import (
    MANIFEST_FORMAT,
    TOOL,
    ResultsFolder,
    git_state,
    now_iso,
    open_output,
    scenario_hash,
    shown,
    versions,
)
from sim.scenario.schema import Scenario

__all__ = ["split_key", "finished_counts", "run_manifest", "prepare_folder"]


def split_key(key: str) -> tuple[str, int]:
    """``"<scenario id>/<replication>"`` of the manifest's timings."""
    sid, _, rep = key.rpartition("/")
    return sid, int(rep) if rep.isdigit() else -1


def finished_counts(folder: ResultsFolder, ids: list[str], replications: int) -> dict[str, int]:
    """Replications the folder holds finished, per scenario id (the manifest's ``finished``)."""
    return {sid: sum(folder.is_done(sid, r) for r in range(replications)) for sid in ids}


def run_manifest(ids: list[str], scenarios: list[Scenario], texts: list[str], seed: int,
              replications: int, engine: str, command: str | None,
              ensemble: dict[str, Any] | None, cuts: GroupCuts = ()) -> dict[str, Any]:
    """The manifest of a run (``manifest.json``), before its status and timings are added."""
    return {
        "tool": TOOL,
        "format": MANIFEST_FORMAT,
        "kind": "run",
        "command": command,
        "created_at": now_iso(),
        "versions": versions(),
        "git": git_state(),
        "seed": seed,
        "replications": replications,
        "engine": engine,
        "posterior": ensemble,
        "access_groups": [list(c) for c in cuts],
        "scenarios": [{"id": sid, "name": sc.scenario.name, "months": sc.scenario.months,
                       "sha256": scenario_hash(text)}
                      for sid, sc, text in zip(ids, scenarios, texts, strict=True)],
    }


def prepare_folder(out: str | Path, ids: list[str], texts: list[str], seed: int,
                    replications: int, engine: str, resume: bool, force: bool,
                    ensemble: dict[str, Any] | None, cuts: GroupCuts = (),
                    ) -> tuple[ResultsFolder, dict[str, Any] | None]:
    """Open ``out`` by the one rule of :func:`sim.experiment.store.open_output`.

    Returns the folder and, when resuming, its (checked) manifest.
    """
    folder, action, manifest = open_output(out, force=force, resume=resume)
    if action != "resume":
        return folder, None
    where = shown(folder.root)
    if manifest["kind"] != "run":
        raise ScenarioError(f"{where}: a {manifest['kind']} folder; --resume continues only a "
                            "run of the same kind (use --force to replace it)")
    before = {s["id"]: s["sha256"] for s in manifest["scenarios"]}
    now = {sid: scenario_hash(text) for sid, text in zip(ids, texts, strict=True)}
    if before != now:
        changed = sorted(set(before) ^ set(now)) or sorted(k for k in now if before[k] != now[k])
        raise ScenarioError(f"{where}: --resume on a folder from another run (scenario "
                            f"{', '.join(changed)} differs); use --force to start over")
    if manifest["seed"] != seed or manifest["replications"] != replications:
        raise ScenarioError(f"{where}: --resume with a different seed or replication "
                            f"count (folder: seed {manifest['seed']}, "
                            f"{manifest['replications']} replications)")
    if manifest["engine"] != engine:
        raise ScenarioError(f"{where}: --resume with a different engine (folder: "
                            f"{manifest['engine']}, now: {engine}); use --engine "
                            f"{manifest['engine']} or --force to start over")
    if manifest.get("posterior") != json.loads(json.dumps(ensemble)):
        raise ScenarioError(f"{where}: --resume with a different posterior or number of "
                            "draws than the folder's run; use --force to start over")
    if manifest.get("access_groups") != [list(c) for c in cuts]:
        raise ScenarioError(f"{where}: --resume on a folder an earlier marketsim wrote (its "
                            "worlds were not paired by access group); use --force to start "
                            "over")
    return folder, manifest
