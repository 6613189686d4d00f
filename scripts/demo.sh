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

# `run` arrives with the simulation engine; until then only validation is possible.
# Only a missing command counts as "not built yet": any other failure is a real error.
if ! help_output=$("$MARKETSIM" run --help 2>&1); then
    if printf '%s\n' "$help_output" | grep -qiE "no such command|invalid choice"; then
        echo
        echo "NOTE: the simulation model is not built yet ('marketsim run' does not exist)."
        echo "      Only scenario validation ran."
        exit 0
    fi
    printf '%s\n' "$help_output" >&2
    echo "error: 'marketsim run --help' failed (see above)" >&2
    exit 1
fi

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
