#!/usr/bin/env bash
# Demo: compare the baseline with "the EU blocks open-weights models".
# Called by `make demo`, which has already installed the package into $VENV.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
MARKETSIM="$VENV/bin/marketsim"
OUT=${DEMO_OUT:-reports/demo}

echo "==> marketsim validate baseline eu_blocks_open"
"$MARKETSIM" validate baseline eu_blocks_open

echo "==> marketsim run baseline eu_blocks_open -r 20 --seed 1 -o $OUT --force"
"$MARKETSIM" run baseline eu_blocks_open -r 20 --seed 1 -o "$OUT" --force

report="$OUT/report.html"
if [[ ! -f "$report" ]]; then
    echo "error: the run finished but $report was not written" >&2
    exit 1
fi
echo
echo "Report: $report"
echo "        file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
