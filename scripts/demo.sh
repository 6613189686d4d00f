#!/usr/bin/env bash
# Demo: compare the version-2 baseline with "the EU blocks open-weights models" (2027-01).
# Called by `make demo`, which has already installed the package into $VENV.
#
# A small, fast setting (about a minute on 2 cores): 4 paired replications of the full
# horizon (83 months after 2024-01, to 2030-12) with the exact engine (binomial and
# multinomial draws: the model as specified). `marketsim run` prints the headline key
# figures (final month, paired differences vs the baseline) before the report's path.
# The baseline has only a provisional point calibration, so the numbers are provisional.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
MARKETSIM="$VENV/bin/marketsim"
OUT=${DEMO_OUT:-reports/demo}
REPLICATIONS=${DEMO_REPLICATIONS:-4}
JOBS=${DEMO_JOBS:-2}

echo "==> marketsim validate baseline eu_blocks_open"
"$MARKETSIM" validate baseline eu_blocks_open

args=(run baseline eu_blocks_open -r "$REPLICATIONS" --seed 1 --engine exact -j "$JOBS"
      -o "$OUT" --force)
echo "==> marketsim ${args[*]}"
"$MARKETSIM" "${args[@]}"

report="$OUT/report.html"
if [[ ! -f "$report" ]]; then
    echo "error: the run finished but $report was not written" >&2
    exit 1
fi
echo
echo "Headline figures: above (final month 2030-12; EU, enterprise first in the report)."
echo "Report: $report"
echo "        file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
