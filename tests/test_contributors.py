"""Contributors matter (issue 15, MODEL.md 6.4): switching communities off lowers open shares.

``scripts/contributors.py`` (``make contributors``) prints the elasticity table that
docs/validation.md quotes; this test asserts the direction the issue names.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "contributors.py"


def _script():
    spec = importlib.util.spec_from_file_location("contributors_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_contributors_lower_the_developer_open_share_in_2028() -> None:
    script = _script()
    off, on = script.open_shares(0.0, 2), script.open_shares(1.0, 2)
    assert off["developer"] < on["developer"]
    assert off["all"] < on["all"]


def test_the_elasticity_table_prints(capsys) -> None:
    script = _script()
    script.FACTORS = (0.0, 1.0)
    script.MONTH = 6  # the pipeline, at small scale
    assert script.main(["--replications", "1", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 4 and "| 0 |" in out and "| 1 |" in out
