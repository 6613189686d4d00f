"""The tutorial notebooks: committed clean, up to date with notebooks/build.py, and they run.

Each notebook is executed top to bottom with nbclient on a kernel that runs this
interpreter (a kernelspec written to a temporary JUPYTER_PATH, so no kernel needs to
be installed), from a working directory outside the repository, with few months and replications.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import nbformat
import pytest

from .conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
NAMES = ["01_quickstart.ipynb", "02_explore.ipynb", "03_build_a_scenario.ipynb"]
KERNEL = "marketsim-test"


def _builder():
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_is_listed() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    assert list(_builder().NOTEBOOKS) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_matches_generator(name: str) -> None:
    committed = (NOTEBOOKS / name).read_text(encoding="utf-8")
    assert committed == _builder().render(name), (
        f"notebooks/{name} differs from notebooks/build.py: edit build.py and run "
        "`python notebooks/build.py`")


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_clean(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and "teaches" in first.source, (
        "a notebook begins with a markdown cell saying what it teaches")
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: saved with outputs"
            assert cell.execution_count is None, f"{name}: saved with execution counts"
        assert "attachments" not in cell
    text = (NOTEBOOKS / name).read_text(encoding="utf-8")
    for relative in ("../scenarios", "'scenarios/", '"scenarios/', "os.chdir"):
        assert relative not in text, f"{name}: finds files by a relative path ({relative})"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory) -> Path:
    """A kernelspec running this interpreter, found through JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "marketsim tests",
        "language": "python",
    }), encoding="utf-8")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name: str, kernel_env: Path, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", str(kernel_env))
    monkeypatch.setenv("MARKETSIM_NB_REPLICATIONS", "2")
    monkeypatch.setenv("MARKETSIM_NB_MONTHS", "6")
    monkeypatch.setenv("MARKETSIM_NB_SAMPLES", "3")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    workdir = tmp_path / "elsewhere"  # not the repository: notebooks must not need it
    workdir.mkdir()
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=300,
                            resources={"metadata": {"path": str(workdir)}})
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError with the traceback on any error
    seconds = time.perf_counter() - started
    errors = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.outputs if out.get("output_type") == "error"]
    assert not errors
    print(f"{name}: {seconds:.1f} s")
    assert seconds < 120, f"{name} took {seconds:.0f} s; keep notebooks under two minutes"
