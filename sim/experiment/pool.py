"""Where tasks run: in this process, on a warm local process pool, or on any executor.

One place decides how marketsim's work is spread (``marketsim run``, ensembles, calibration):
a local pool forks its workers from a preloaded ``forkserver`` (no per-worker imports), lives
for the whole call, never takes more workers than the usable cores or the tasks, and ignores
Ctrl-C in the workers so the parent can cancel what has not started and keep what finished.
A Dask client's ``get_executor()`` (or any ``concurrent.futures.Executor``) takes its place
unchanged: results never depend on where a task ran.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from sim.experiment.limits import usable_cores, worker_count

__all__ = ["PRELOAD", "pool_context", "process_pool", "ignore_interrupts", "execute_tasks",
           "lasting_pool", "phase", "shows_progress"]


def ignore_interrupts() -> None:
    """Pool worker initializer: Ctrl-C is the parent's to handle.

    A terminal sends SIGINT to the whole process group; workers that took it would
    print tracebacks. The parent cancels what has not started, waits for the
    replications in flight (they are stored) and exits with 130.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: Modules the forkserver imports once, so that every worker forked from it starts warm.
PRELOAD = ("sim.experiment.runner", "sim.experiment.ensemble")


def pool_context() -> multiprocessing.context.BaseContext:
    """The start method of marketsim's process pools: ``forkserver``, preloaded.

    Importing mesa sets the global start method to ``spawn``, under which every worker
    re-imports numpy, pandas, pyarrow, scipy and mesa (~1.5 CPU-s each, docs/performance.md).
    A forkserver imports marketsim once and forks workers from that process: no per-worker
    import cost, and none of the parent's threads or open files are inherited, as they would
    be with plain ``fork``.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def process_pool(jobs: int | None, tasks: int | None = None) -> ProcessPoolExecutor:
    """The local process pool (``-j``; default all cores).

    Never more workers than the usable cores, nor than ``tasks`` when given (see
    :func:`sim.experiment.limits.worker_count`, which notes a clamped ``-j``).
    """
    workers = worker_count(jobs, usable_cores() if tasks is None else tasks)
    return ProcessPoolExecutor(max_workers=workers, initializer=ignore_interrupts,
                               mp_context=pool_context())


@contextmanager
def lasting_pool(jobs: int | None, executor: Executor | None) -> Iterator[Executor | None]:
    """One executor for a whole study of many small rounds (a sampler's stages).

    ``executor`` when given; else a local pool kept open for the block when more than one
    worker is usable (starting one per round would cost a fork per worker per round), else
    None (work in this process).
    """
    if executor is not None:
        yield executor
        return
    if worker_count(jobs, usable_cores()) <= 1:
        yield None
        return
    pool = process_pool(jobs)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _interrupts_ignored(active: bool) -> Iterator[None]:
    """Ignore SIGINT while local workers are started: they inherit it.

    See :func:`ignore_interrupts`. Only the main thread may change signal handlers.
    """
    import signal
    import threading

    if not active or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def execute_tasks(tasks: list[Any], work: Callable[[Any], Any], jobs: int | None,
                  executor: Executor | None, progress: bool | None,
                  unit: str = "run", desc: str = "replications",
                  size: Callable[[Any], int] | None = None) -> Iterable[Any]:
    """Run ``tasks`` with ``work`` here, on a local pool, or on ``executor``; yield results.

    Results come in completion order. The local pool starts its workers from a
    ``forkserver`` that has already imported marketsim (:func:`pool_context`), so a worker
    costs milliseconds, not a fresh import of numpy, pandas, scipy and mesa; it lives for
    the whole call and takes at most :func:`~sim.experiment.limits.worker_count` workers.

    Args:
        tasks: Picklable task descriptions.
        jobs: Worker processes (None: all usable cores; 1: in this process).
        executor: Any ``concurrent.futures.Executor`` (a Dask client's ``get_executor()``).
        progress: Show a progress bar (None: when stderr is a terminal).
        work: The function applied to each task (a module-level function: it is pickled).
        unit: The progress bar's unit.
        desc: The progress bar's label.
        size: How many units a task is (default 1): the bar counts worlds, not batches.
    """
    from tqdm.auto import tqdm

    show = shows_progress(progress)
    weigh = size or (lambda task: 1)
    bar = tqdm(total=sum(weigh(t) for t in tasks), disable=not show or not tasks, unit=unit,
               desc=desc, file=sys.stderr)
    try:
        workers = 1 if executor is not None or jobs == 1 or len(tasks) <= 1 else \
            worker_count(jobs, len(tasks))
        if executor is None and workers == 1:
            for task in tasks:
                yield work(task)
                bar.update(weigh(task))
            return
        own = executor is None
        with _interrupts_ignored(own):  # workers start ignoring Ctrl-C, even while importing
            pool = executor or ProcessPoolExecutor(max_workers=workers,
                                                   initializer=ignore_interrupts,
                                                   mp_context=pool_context())
            futures: list[Future[Any]] = [pool.submit(work, task) for task in tasks]
            weights = {id(f): weigh(t) for f, t in zip(futures, tasks, strict=True)}
        try:
            for future in as_completed(futures):
                yield future.result()
                bar.update(weights[id(future)])
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        finally:
            if own:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()


def shows_progress(progress: bool | None) -> bool:
    """Whether progress is shown: as asked, else when stderr is a terminal."""
    return sys.stderr.isatty() if progress is None else bool(progress)


@contextmanager
def phase(name: str, progress: bool | None) -> Iterator[None]:
    """Name a step that has no bar of its own on stderr: ``combining ... 3.2 s``.

    After the worlds' bar a run still combines their tables, summarises them and writes
    its report, which take seconds to a minute; a line per phase says what is happening
    (on stderr, where the bars are, only when they are shown).

    Example:
        >>> with phase("combining", progress=False):
        ...     pass
    """
    if not shows_progress(progress):
        yield
        return
    started = time.perf_counter()
    sys.stderr.write(f"{name} ...")
    sys.stderr.flush()
    try:
        yield
    except BaseException:
        sys.stderr.write(" stopped\n")
        raise
    sys.stderr.write(f" {time.perf_counter() - started:,.1f} s\n")
    sys.stderr.flush()
