#!/usr/bin/env bash
# Demo: compare the version-2 baseline with "the EU blocks open-weights models" (2027-01).
# Called by `make demo`, which has already installed the package into $VENV.
#
# The headline is a posterior-predictive paired effect (MODEL.md 9): `marketsim run` runs
# both scenarios over DEMO_DRAWS draws of the shipped posterior (scenarios/posterior/
# baseline.parquet, docs/calibration.md) x DEMO_REPLICATIONS replications each, to 2030-12,
# with the exact engine, and prints the headline (median, 90 % interval over draws, share
# of draws with each sign) and the key figures before the report's path. About 1.5 minutes
# on 2 cores. The seed is `make findings`' (scripts/findings.py --seed 2025): the same seed
# chooses the same draws and the same worlds, so the headline printed here, the report's
# headline card and docs/findings.md's 2030-12 EU enterprise row are the same numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
MARKETSIM="$VENV/bin/marketsim"
OUT=${DEMO_OUT:-reports/demo}
DRAWS=${DEMO_DRAWS:-64}
REPLICATIONS=${DEMO_REPLICATIONS:-2}
JOBS=${DEMO_JOBS:-2}

echo "==> marketsim validate baseline eu_blocks_open"
"$MARKETSIM" validate baseline eu_blocks_open

args=(run baseline eu_blocks_open --posterior baseline --draws "$DRAWS" -r "$REPLICATIONS"
      --seed "${DEMO_SEED:-2025}" --engine exact -j "$JOBS" -o "$OUT" --force)
echo "==> marketsim ${args[*]}"
output=$("$MARKETSIM" "${args[@]}")
echo "$output"

report="$OUT/report.html"
if [[ ! -f "$report" ]]; then
    echo "error: the run finished but $report was not written" >&2
    exit 1
fi
echo
grep '^headline:' <<<"$output" || true
echo "Report: $report"
echo "        file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
