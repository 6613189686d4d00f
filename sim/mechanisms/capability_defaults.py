"""Default parameters of the capability mechanism, each with its source (MODEL.md 6.2).

Sources and the calibration argument: ``docs/mechanisms/capability-and-ecosystems.md`` 2.4.
The R&D step (``sim.mechanisms.capability``) and the analysis of the open-closed gap
(``sim.mechanisms.capability_gap``) both default to these numbers; they live here, below
both, so that neither has to import the other for them (``capability`` re-exports the gap's
functions and these constants, the names callers use).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ECI_PACE_BEFORE_2024_04", "ECI_PACE_AFTER_2024_04", "COMPUTE_COST_FALL_PER_YEAR",
    "DIFFICULTY_GROWTH_PER_YEAR", "RD_PRODUCTIVITY", "RD_SCALE", "KAPPA_OPEN", "KAPPA_CLOSED",
    "FLAGSHIP_SHARE",
]

#: ECI points a month gained by the frontier before 2024-04 (Epoch AI: ~8 a year).
ECI_PACE_BEFORE_2024_04 = 8.0 / 12.0
#: ECI points a month gained by the frontier after 2024-04 (Epoch AI: ~15 a year).
ECI_PACE_AFTER_2024_04 = 15.0 / 12.0
#: Factor by which a dollar buys more compute each year (Epoch AI, ML hardware
#: price-performance, ~1.4x a year).
COMPUTE_COST_FALL_PER_YEAR = 1.4
#: Factor by which the compute needed for the same monthly gain grows each year. Assumption:
#: 2.5 (budget growth, Epoch AI: frontier training cost ~2.4x a year) x 1.4, the value that keeps
#: the pace constant; Epoch's 4-5x a year growth of training compute bounds its prior from above.
DIFFICULTY_GROWTH_PER_YEAR = 3.5
#: g: points a month per unit of ln(1 + R/R0). Assumption: 1.25 / ln(10), so that a leader
#: spending 9 R0 on its flagship gains the post-2024-04 ECI pace.
RD_PRODUCTIVITY = ECI_PACE_AFTER_2024_04 / float(np.log(10.0))
#: R0 at 2024-01 in USD a month. Assumption: the leader's flagship R&D (~$250M a month, from
#: OpenAI's ~$3B of 2024 training compute reported by The Information) divided by 9.
RD_SCALE = 2.5e7
#: kappa_open: share of the distance to the best open model a laggard closes a month.
#: Assumption: fine-tuning or distilling open weights takes weeks (half-life ~2 months).
KAPPA_OPEN = 0.3
#: kappa_closed: share of the distance to the best closed model closed a month by distilling
#: from APIs. Assumption (weaker than the floor: outputs, not weights): half-life ~6.6 months.
KAPPA_CLOSED = 0.1
#: Share of a firm's R&D its flagship (best alive line) receives when it has other lines.
#: Assumption: secondary lines (Gemma beside Gemini) are mostly distilled, not trained afresh.
FLAGSHIP_SHARE = 0.8
