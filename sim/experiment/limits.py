"""How much work one command may ask for: runs, design points and worker processes.

The limits guard what is held in memory before the first replication starts (tasks,
design points, and for a run without a results folder every table), so a typo such as
``-r 10000000`` or ``--design grid --samples 1000`` with three parameters is one clear
error instead of gigabytes of memory. They are deliberately generous and can be raised
deliberately with an environment variable:

* ``MARKETSIM_MAX_RUNS`` (default 100,000): scenarios (or design points) x replications
  of one command; a run without a results folder (``sim.run`` without ``out=``) keeps
  every table in memory (about 0.6 MB per 60-month replication), so it may do a hundredth
  of that (1,000 by default).
* ``MARKETSIM_MAX_POINTS`` (default 10,000): design points of a sweep, sensitivity study
  (Sobol' ``N (d + 2)``, Morris ``N (d + 1)``) or grid (``K^d``, computed before anything is
  built); every point is a scenario held in memory (about 40 kB) and validated (a few ms).

Worker processes are clamped to the usable cores and never exceed the tasks.
"""

from __future__ import annotations

import os

from sim.errors import ScenarioError

__all__ = ["MAX_RUNS_ENV", "MAX_POINTS_ENV", "DEFAULT_MAX_RUNS", "DEFAULT_MAX_POINTS",
           "IN_MEMORY_SHARE", "max_runs", "max_points", "check_runs", "check_points",
           "usable_cores", "worker_count", "check_jobs", "count"]

MAX_RUNS_ENV = "MARKETSIM_MAX_RUNS"
MAX_POINTS_ENV = "MARKETSIM_MAX_POINTS"
DEFAULT_MAX_RUNS = 100_000
DEFAULT_MAX_POINTS = 10_000
#: a run without a results folder may do ``max_runs() // IN_MEMORY_SHARE`` runs
IN_MEMORY_SHARE = 100


def _limit(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ScenarioError(f"{name} must be a positive whole number, got {text[:40]!r}")
    return value


def max_runs() -> int:
    """Runs one command may do (``MARKETSIM_MAX_RUNS``, default 100,000)."""
    return _limit(MAX_RUNS_ENV, DEFAULT_MAX_RUNS)


def max_points() -> int:
    """Design points one study may have (``MARKETSIM_MAX_POINTS``, default 10,000)."""
    return _limit(MAX_POINTS_ENV, DEFAULT_MAX_POINTS)


def count(n: int) -> str:
    """``12,345``, or ``about 10^40`` for numbers too long to read.

    Example:
        >>> count(12345), count(10 ** 40)
        ('12,345', 'about 10^40')
    """
    return f"{n:,}" if n < 10 ** 15 else f"about 10^{len(str(n)) - 1}"


def check_runs(total: int, detail: str, *, in_memory: bool = False,
               instead: str = "give out= to write a results folder") -> None:
    """Refuse more runs than the limit (ScenarioError naming it and how to raise it).

    Args:
        total: The runs asked for.
        detail: How they come about, e.g. ``"2 scenarios x 500 replications"``.
        in_memory: The tables are kept in memory (no results folder): a hundredth.
        instead: What to do instead of raising the in-memory limit.
    """
    limit = max_runs()
    if in_memory:
        allowed = max(1, limit // IN_MEMORY_SHARE)
        if total > allowed:
            raise ScenarioError(
                f"{detail} = {count(total)} runs kept in memory, above the limit of "
                f"{count(allowed)} for tables held in memory ({MAX_RUNS_ENV} / "
                f"{IN_MEMORY_SHARE}); {instead}, or set {MAX_RUNS_ENV}="
                f"{total * IN_MEMORY_SHARE} to allow it deliberately")
        return
    if total > limit:
        raise ScenarioError(
            f"{detail} = {count(total)} runs, above the limit of {count(limit)} "
            f"({MAX_RUNS_ENV}, which guards memory)"
            + (f"; set {MAX_RUNS_ENV}={total} to allow it deliberately"
               if total < 10 ** 15 else ""))


def check_points(total: int, detail: str) -> None:
    """Refuse a design with more points than the limit (before it is built)."""
    limit = max_points()
    if total > limit:
        raise ScenarioError(
            f"{detail} has {count(total)} design points, above the limit of {count(limit)} "
            f"({MAX_POINTS_ENV}: every point is a scenario held in memory)"
            + (f"; set {MAX_POINTS_ENV}={total} to allow it deliberately"
               if total < 10 ** 15 else ""))


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:  # pragma: no cover - exotic systems
            pass
    return max(1, os.cpu_count() or 1)


def check_jobs(jobs: object) -> int | None:
    """``jobs`` (``-j``) if it is None or a positive integer, else ScenarioError."""
    if jobs is None:
        return None
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ScenarioError(f"-j/jobs must be a positive integer, got {jobs!r}"[:120])
    return jobs


def worker_count(jobs: int | None, tasks: int) -> int:
    """Worker processes to start for ``tasks`` tasks.

    ``jobs`` (default all cores), at most the usable cores and never more than the tasks.
    Asking for more than the cores prints one ``note:`` line.
    """
    from sim.experiment.store import note

    cores = usable_cores()
    jobs = check_jobs(jobs)
    workers = max(1, min(cores if jobs is None else jobs, cores, tasks))
    if jobs is not None and jobs > cores:
        note(f"-j {jobs} is more than the {cores} usable cores; using {workers} worker "
             f"process{'es' if workers != 1 else ''}")
    return workers
