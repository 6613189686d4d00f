"""Scale-out check (issue 17; ``make scale-out``): 20,000 worlds on Dask equal the local pool's.

Runs the same ensemble twice, once on the local process pool and once on a local Dask cluster
of two worker processes listening on 127.0.0.1 only, and checks that every shard's per-world
values are identical. Prints both wall times and the per-world cost. The test suite runs the
same comparison on a few worlds (``tests/test_ensemble.py``).

Usage:
    python scripts/scale_out.py [--worlds 20000] [--months 12] [--chunk 256]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run both ensembles and compare them."""
    import distributed
    import pandas as pd

    import sim

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--chunk", type=int, default=256)
    args = parser.parse_args(argv)
    options = {"worlds": args.worlds, "seed": 1, "months": args.months, "chunk": args.chunk,
               "metrics": ["hhi_market", "open_usage_share", "net_welfare_usd"],
               "progress": False}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        local = sim.ensemble("baseline", out=Path(tmp) / "pool", jobs=2, **options)
        t_pool = time.perf_counter() - start
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            start = time.perf_counter()
            remote = sim.ensemble("baseline", out=Path(tmp) / "dask",
                                  executor=client.get_executor(), **options)
            t_dask = time.perf_counter() - start
        keys = ["scenario", "replication", "month", "region", "segment"]
        a = local.worlds().sort_values(keys).reset_index(drop=True)
        b = remote.worlds().sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    print(f"{args.worlds:,} worlds x {args.months} months in chunks of {args.chunk}: "
          f"process pool {t_pool:.1f} s, Dask (2 workers, loopback) {t_dask:.1f} s; "
          f"{len(a):,} per-world rows identical")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
