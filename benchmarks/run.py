"""The benchmark harness (``make bench``): measures, records, and updates BENCHMARKS.md.

Writes ``benchmarks/results.json`` with every key of the performance issue and
rewrites the table between the markers in ``BENCHMARKS.md``. Times are medians
of repeated runs; ratios are measured in one run, since absolute times are noisy
on a shared 2-core machine. Nothing here is asserted: tests stay free of timing.

Usage::

    python benchmarks/run.py            # everything (several minutes)
    python benchmarks/run.py --quick    # smaller counts, for a smoke test
    python benchmarks/run.py --only replication_s population_ratio expected_speedup
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.json"
TABLE = ROOT / "BENCHMARKS.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

TARGETS = {
    "replication_s": ("<=", 0.1),
    "population_ratio": ("<=", 1.2),
    "ensemble_1000_s": ("<=", 5.0),
    "exact_1000_s": ("<=", 30.0),
    "world_month_us_256": ("<=", 50.0),
    "batch_gain": (">=", 10.0),
    "parallel_speedup": (">=", 1.8),
    "ensemble_peak_rss_mb": ("<=", 1000.0),
    "ensemble_rss_ratio_10000_1000": ("<=", 1.3),
    "sweep_peak_rss_mb": ("<=", 500.0),
    "sweep_rss_ratio_1000_100": ("<=", 1.3),
    "cli_help_s": ("<=", 0.6),
    "explorer_update_s": ("<=", 1.0),
}

#: Version 1's 1,000 replications of the baseline on this machine (issue 17's opening), s.
V1_1000_S = 95.0
#: The ensemble benchmarks' horizon: the 84-month baseline (2024-01 .. 2030-12).
HORIZON = 84


#: how much bench_population multiplies every potential adopter count by
POPULATION_FACTOR = 1e3


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` over ``repeat`` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scaled(factor: float):
    """The baseline with every region's potential adopters multiplied by ``factor``."""
    import sim

    base = sim.load_scenario("baseline")
    return base.with_overrides({f"regions.{r.name}.adopters.{s}": v * factor
                                for r in base.regions for s, v in r.adopters.items()})


def bench_replication(quick: bool) -> dict[str, float]:
    """One 60-month baseline replication, model only (after imports)."""
    import sim

    scenario = sim.load_scenario("baseline")
    seconds = median_time(lambda: sim.MarketModel(scenario, seed=1).run(), 3 if quick else 7)
    with_tables = median_time(
        lambda: sim.run_replication(scenario, seed=1), 3 if quick else 7)
    return {"replication_s": seconds, "replication_with_tables_s": with_tables}


def bench_population(quick: bool) -> dict[str, float]:
    """Time with the population x 1,000 over time at the shipped population.

    Adopters are counts, so the cost must not grow with them. x 1,000 rather than more:
    money flows grow with the population too, and at x 10,000 a firm's funding passes
    the engine's bound on money (1e15 USD), which refuses it.
    """
    import sim

    small, big = sim.load_scenario("baseline"), scaled(POPULATION_FACTOR)
    repeat = 3 if quick else 7
    t_small = median_time(lambda: sim.MarketModel(small, seed=1).run(), repeat)
    t_big = median_time(lambda: sim.MarketModel(big, seed=1).run(), repeat)
    return {"population_ratio": t_big / t_small}


def bench_engines(quick: bool) -> dict[str, float]:
    """Exact draws vs expected counts, and worlds batched in one call vs one at a time.

    Version 2 steps many worlds in one batched call (``sim.run_replications``); a world's
    results do not depend on the batch, so batching is pure speed.
    """
    import sim

    scenario = sim.load_scenario("baseline")
    repeat, worlds = (3, 4) if quick else (5, 10)
    t_exact = median_time(lambda: sim.run_replication(scenario, seed=1), repeat)
    t_expected = median_time(lambda: sim.run_replication(scenario, seed=1, engine="expected"),
                             repeat)
    t_batch = median_time(lambda: sim.run_replications(scenario, seed=1,
                                                       replications=range(worlds)), repeat)
    return {"expected_speedup": t_exact / t_expected,
            f"batch_speedup_{worlds}": worlds * t_exact / t_batch}


def bench_world_month(quick: bool) -> dict[str, float]:
    """Engine-only cost per world-month at W = 256, and per world at W = 8 against W = 256.

    The expected engine on the baseline's horizon, after a warm-up; the records are the
    ensemble's (``keep_months``: the final month only), as an ensemble runs them.
    """
    import numpy as np

    import sim
    from sim.engine.compile import compile_scenario
    from sim.engine.engine import Engine

    base = compile_scenario(sim.load_scenario("baseline"))
    months = 24 if quick else HORIZON
    big = 64 if quick else 256

    def per_world(worlds: int) -> float:
        params = base.repeat(worlds)

        def once() -> None:
            Engine(params, 1, np.arange(worlds), "expected", keep_months=(months,)).run(months)

        return median_time(once, 1 if worlds > 8 else 3) / worlds

    per_world(2)  # warm-up (imports, caches)
    small, large = per_world(8), per_world(big)
    return {f"world_month_us_{big}": large / months * 1e6, "batch_gain": small / large}


def _ensemble_seconds(worlds: int, quick: bool, variants: dict[str, list[str]]
                      ) -> dict[str, float]:
    """Wall time of ``marketsim ensemble baseline -n worlds`` with each variant's options."""
    months = ["--months", "24"] if quick else []
    with tempfile.TemporaryDirectory() as tmp:
        common = ["ensemble", "baseline", "-n", str(worlds), *months]
        return {name: _cli([*common, *options, "-o", name], Path(tmp))
                for name, options in variants.items()}


def bench_ensemble(quick: bool) -> dict[str, float]:
    """1,000 worlds of the 84-month baseline in the scalable mode, expected and exact engines."""
    n = 100 if quick else 1000
    found = _ensemble_seconds(n, quick, {"expected": [], "exact": ["--engine", "exact"]})
    expected, exact = found["expected"], found["exact"]
    if quick:
        return {"ensemble_100_s": expected, "exact_100_s": exact}
    return {"ensemble_1000_s": expected, "exact_1000_s": exact,
            "v1_ratio": expected / V1_1000_S}


def bench_parallel(quick: bool) -> dict[str, float]:
    """``-j 1`` / ``-j 2`` wall time of a 2,000-world ensemble (expected engine)."""
    found = _ensemble_seconds(200 if quick else 2000, quick,
                              {"j1": ["-j", "1"], "j2": ["-j", "2"]})
    return {"parallel_speedup": found["j1"] / found["j2"]}


def bench_ensemble_memory(quick: bool) -> dict[str, float]:
    """Peak RSS of a 10,000-world ensemble and its ratio to 1,000 worlds (all cores)."""
    small, big = (100, 1000) if quick else (1000, 10_000)
    months = ["--months", "12"] if quick else []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small_mb = _peak_rss_mb(["ensemble", "baseline", "-n", str(small), *months,
                                 "-o", "small"], work)
        big_mb = _peak_rss_mb(["ensemble", "baseline", "-n", str(big), *months,
                               "-o", "big"], work)
    return {"ensemble_peak_rss_mb": big_mb, f"ensemble_rss_ratio_{big}_{small}":
            big_mb / small_mb}


def _cli(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_experiment(quick: bool) -> dict[str, float]:
    """1,000 replications of the baseline with all cores; -j1 vs -j2 on 200."""
    n = 100 if quick else 1000
    m = 40 if quick else 200
    # the scenario's own values: version 1's measure (run defaults to the posterior since
    # issue 19, which would make -r 1000 mean 64,000 worlds)
    own = ["run", "--posterior", "none", "baseline", "--no-report"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t_all = _cli([*own, "-r", str(n), "-o", "all"], work)
        t_one = _cli([*own, "-r", str(m), "-j", "1", "-o", "j1"], work)
        t_two = _cli([*own, "-r", str(m), "-j", "2", "-o", "j2"], work)
    key = "experiment_1000_s" if not quick else "experiment_100_s"
    return {key: t_all, "run_parallel_speedup": t_one / t_two}


def _peak_rss_mb(args: list[str], cwd: Path) -> float:
    """Largest peak RSS of any process of a command (the parent or a worker), in MB.

    ``RUSAGE_CHILDREN`` of a wrapper covers every descendant it waited for, directly
    or through the command's own waits (the process pool's workers).
    """
    code = ("import resource, subprocess, sys;"
            "subprocess.run(sys.argv[1:], check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "sim", *args],
                         cwd=cwd, check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0


def bench_sweep(quick: bool) -> dict[str, float]:
    """Peak memory of a 1,000-run sweep and its ratio to a 100-run sweep."""
    big = 200 if quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        common = ["--vary", "world.network_effect=0.1:1.5", "--design", "lhs", "-r", "1",
                  "--no-report", "--months", "60"]
        small_mb = _peak_rss_mb(["sweep", "baseline", *common, "--samples", "100",
                                    "-o", "s100"], work)
        big_mb = _peak_rss_mb(["sweep", "baseline", *common, "--samples", str(big),
                                  "-o", "sbig"], work)
    return {"sweep_peak_rss_mb": big_mb, "sweep_rss_ratio_1000_100": big_mb / small_mb}


def bench_cli_help(quick: bool) -> dict[str, float]:
    """``marketsim --help`` wall time (median of 5)."""
    exe = Path(sys.executable).with_name("marketsim")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "sim"]

    def call() -> None:
        subprocess.run([*command, "--help"], check=True, stdout=subprocess.DEVNULL)

    return {"cli_help_s": median_time(call, 5)}


def bench_explorer(quick: bool) -> dict[str, float]:
    """One explorer update (``marketsim explore``'s defaults: 4 replications, 2 workers).

    A world slider moved (the reference re-runs too) and a policy slider moved (the
    reference comes from the cache and the what-if branches off it at the policy's start),
    each a median over fresh settings; the page adds its 0.35 s debounce and the redraw.
    """
    from sim.app.controls import Setting, controls_for, scenarios_for
    from sim.app.ensemble import LiveEnsemble
    from sim.scenario.loader import load_scenario

    base, what_if = load_scenario("baseline"), load_scenario("eu_blocks_open")
    controls = controls_for(what_if)
    eta, start = controls[0], controls[-1]
    repeat = 2 if quick else 5
    with LiveEnsemble(seed=0, replications=4, jobs=2) as live:

        def move(path: str, value: float) -> float:
            setting = Setting({path: value})
            ref, new = scenarios_for(what_if, base, controls, setting)
            return live.compare(ref, new, key=setting.world_key(controls)).seconds

        move(eta.path, eta.value)  # warm-up: both workers' imports
        move(start.path, start.value)  # the reference every policy move below branches off
        world = [move(eta.path, eta.value + (i + 1) * eta.step) for i in range(repeat)]
        policy = [move(start.path, start.value - (i + 1)) for i in range(repeat)]
    return {"explorer_update_s": statistics.median(world),
            "explorer_cached_update_s": statistics.median(policy)}


BENCHES = {
    "replication_s": bench_replication,
    "population_ratio": bench_population,
    "expected_speedup": bench_engines,
    "world_month_us_256": bench_world_month,
    "ensemble_1000_s": bench_ensemble,
    "parallel_speedup": bench_parallel,
    "ensemble_peak_rss_mb": bench_ensemble_memory,
    "sweep_peak_rss_mb": bench_sweep,
    "cli_help_s": bench_cli_help,
    "explorer_update_s": bench_explorer,
}
#: Run only when asked (``--only experiment_1000_s``): version 1's full-table measure, whose
#: 1,000 replications of every monthly table take ~10 minutes with version 2's model.
OPTIONAL = {"experiment_1000_s": bench_experiment}


def machine() -> dict[str, str]:
    """Where the numbers were measured."""
    from importlib.metadata import version

    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": str(os.cpu_count()), "numpy": version("numpy"), "mesa": version("mesa"),
            "marketsim": version("marketsim"),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def write_table(results: dict[str, float], info: dict[str, str]) -> None:
    """Rewrite the results table in BENCHMARKS.md."""
    rows = ["| key | value | target | met |", "|---|---|---|---|"]
    for key, value in results.items():
        target = TARGETS.get(key)
        if target:
            op, bound = target
            met = value <= bound if op == "<=" else value >= bound
            rows.append(f"| `{key}` | {value:.4g} | {op} {bound:g} | {'yes' if met else 'no'} |")
        else:
            rows.append(f"| `{key}` | {value:.4g} | | |")
    meta = ", ".join(f"{k} {v}" for k, v in info.items())
    block = f"{BEGIN}\nMeasured on: {meta}.\n\n" + "\n".join(rows) + f"\n{END}"
    text = TABLE.read_text(encoding="utf-8") if TABLE.exists() else (
        "# Benchmarks\n\nRun `make bench` to refresh.\n\n" + f"{BEGIN}\n{END}\n")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    TABLE.write_text(head + block + tail, encoding="utf-8")


def main() -> None:
    """Run the benchmarks and record them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (smoke test)")
    parser.add_argument("--only", nargs="*", choices=[*BENCHES, *OPTIONAL],
                        help="run only these")
    args = parser.parse_args()
    results: dict[str, float] = {}
    earlier = ""
    if RESULTS.exists() and args.only:
        recorded = json.loads(RESULTS.read_text())
        results = recorded.get("results", {})
        earlier = recorded.get("machine", {}).get("date", "")
    for name, bench in {**BENCHES, **OPTIONAL}.items():
        if (args.only and name not in args.only) or (not args.only and name in OPTIONAL):
            continue
        print(f"[bench] {name} ...", flush=True)
        found = bench(args.quick)
        for key, value in found.items():
            print(f"  {key} = {value:.4g}", flush=True)
        results.update(found)
    info = machine()
    if earlier:  # say which keys are new: the others keep the earlier run's date
        info["date"] = (f"{info['date']} for {', '.join(args.only)}; the other keys "
                        f"{earlier.split(' for ')[0]}")
    RESULTS.write_text(json.dumps({"machine": info, "quick": args.quick, "results": results},
                                  indent=2, sort_keys=True) + "\n")
    write_table(results, info)
    print(f"wrote {RESULTS.relative_to(ROOT)} and {TABLE.name}")


if __name__ == "__main__":
    main()
