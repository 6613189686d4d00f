"""The wheel ships the scenarios: a fresh venv finds ``baseline`` by name."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow


def run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: int = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def build_wheel(out: Path) -> Path:
    try:
        import hatchling  # noqa: F401

        isolation = ["--no-isolation"]  # the backend is here: no download needed
    except ImportError:
        isolation = []  # build fetches hatchling into an isolated environment
    run(sys.executable, "-m", "build", "--wheel", *isolation, "--outdir", out, ROOT, cwd=ROOT)
    wheels = sorted(out.glob("marketsim-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_installs_and_finds_shipped_scenarios(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert "sim/scenarios/baseline.toml" in names
    assert "sim/scenarios/eu_blocks_open.toml" in names
    assert "sim/cli.py" in names and "sim/__main__.py" in names

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    # install just the wheel with this environment's pip; dependencies come from PYTHONPATH
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
        "--no-index", "--quiet", wheel, cwd=tmp_path)

    # This environment's site-packages provide the dependencies. Its editable install of
    # marketsim is a .pth file, and .pth files are not processed for PYTHONPATH entries,
    # so `sim` can only come from the wheel.
    paths = sysconfig.get_paths()
    site = [paths["purelib"]] + ([paths["platlib"]] if paths["platlib"] != paths["purelib"]
                                 else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = os.pathsep.join(site)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    proc = run(python, "-c", "import sim; print(sim.__file__); "
               "print(sim.load_scenario('baseline').scenario.name)", cwd=elsewhere, env=env)
    where, name = proc.stdout.splitlines()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    import sim  # the checkout's: the wheel must ship the same baseline

    assert name == sim.load_scenario("baseline").scenario.name

    proc = run(venv / "bin" / "marketsim", "scenarios", cwd=elsewhere, env=env)
    listed = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    assert "baseline" in listed
    assert "eu_blocks_open" in proc.stdout
    proc = run(python, "-m", "sim", "validate", "eu_blocks_open", cwd=elsewhere, env=env)
    assert proc.stdout.startswith("ok  eu_blocks_open:")
