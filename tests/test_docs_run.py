"""The documentation's commands run (issue 20): every sh/bash and python block of the docs.

Each file's blocks run in document order in one fresh temporary folder made to look like a
checkout (``.venv`` and ``scenarios`` are links to the repository's), so a later block reads
what an earlier one wrote (the guide reads ``reports/guide-first-run/summary.csv``) and
nothing lands in the repository. Shell blocks run whole under ``bash -euo pipefail -c`` (line
continuations and comments are bash's to read); python blocks run as scripts of this
interpreter. A block that exits non-zero fails the test with the tail of its output.

The documented commands are what runs, with two exceptions, listed in :data:`SUBSTITUTIONS`.
A doc that wants a command shown but not run (it needs other machines) labels its block
``text`` and writes ``HOST`` in it; any other unexecuted block that starts with a command
fails, so a block cannot dodge the test by being relabelled.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from .browser_support import serving
from .conftest import ROOT

DOCS = ["README.md", "docs/guide.md"]
#: Languages whose blocks run: the shell ones under bash, python with this interpreter.
SHELL, PYTHON = {"sh", "bash"}, {"python"}
#: What an unexecuted block may not start with unless it names ``HOST`` (a cluster example).
COMMANDS = ("marketsim", ".venv/bin/", "python", "dask ", "make", "from ", "import ")
#: A shell block whose command is this serves a web app until stopped (``marketsim explore``).
SERVER = re.compile(r"^((\.venv/bin/)?marketsim explore|make explore)\b")
#: Seconds one block may take before the test gives up on it, and the most it may take to
#: pass: a documented example should finish while its reader waits (the slowest, the small
#: Bayesian calibration, takes about 20 s on two cores).
BLOCK_TIMEOUT, BLOCK_BUDGET = 300, 120

_Q = shlex.quote(str(ROOT))
#: The only documented commands the test does not run as written: documented command ->
#: (what runs instead, why). A line of a shell block equal to the key (its comment aside)
#: is replaced.
SUBSTITUTIONS: dict[str, tuple[str, str]] = {
    "make demo": (
        # scripts/demo.sh's own knobs: 2 draws x 1 replication instead of 64 x 2, written
        # into the temporary folder; -o: never reinstall the venv mid-test (pyproject.toml
        # may be newer than its stamp while someone edits it).
        f'DEMO_DRAWS=2 DEMO_REPLICATIONS=1 DEMO_OUT="$PWD/reports/demo" VENV={_Q}/.venv '
        f"make -C {_Q} -o {_Q}/.venv/.installed demo",
        "the real target, with fast settings through the variables scripts/demo.sh reads"),
    "make explore": (
        # -o: the explore extra is installed by make venv-test; any free port, one
        # replication (the test GETs the page and stops the server)
        f'make -C {_Q} -o {_Q}/.venv/.installed-explore explore EXPLORE_ARGS="--port 0 -r 1"',
        "the real target on a free port, stopped once its page answers"),
    "make test": (
        # Running the suite from inside the suite would recurse: check that the target
        # exists and would run pytest, without running it.
        f'[[ "$(make -n -C {_Q} test)" == *"python -m pytest"* ]]',
        "make -n: the suite cannot run itself; the target must exist and run pytest"),
}


@dataclass(frozen=True)
class Block:
    """One fenced block of a Markdown file."""

    language: str
    text: str
    line: int  #: the line of its opening fence (1-based)

    @property
    def runs(self) -> bool:
        """Whether the test executes it."""
        return self.language in SHELL | PYTHON

    @property
    def first_command(self) -> str:
        """Its first line that is not blank or a comment (``$ `` prompts dropped)."""
        for raw in self.text.splitlines():
            line = raw.strip().removeprefix("$ ")
            if line and not line.startswith("#"):
                return line
        return ""


_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")


def blocks(markdown: str) -> list[Block]:
    """The fenced blocks of ``markdown`` in document order (CommonMark's fence rules)."""
    found: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence[0] * len(fence))
                                       and not lines[j].strip().strip(fence[0])):
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        found.append(Block(opening["info"].lower(), "\n".join(body) + "\n", i + 1))
        i = j + 1
    return found


def relabelled(block: Block) -> bool:
    """Whether an unexecuted block starts with a command without being a cluster example."""
    return (not block.runs and block.first_command.startswith(COMMANDS)
            and "HOST" not in block.text)


def substituted(text: str) -> str:
    """A shell block with the :data:`SUBSTITUTIONS` applied, line by line."""
    out = []
    for line in text.splitlines():
        command = line.split("#", 1)[0].strip()
        out.append(SUBSTITUTIONS[command][0] if command in SUBSTITUTIONS else line)
    return "\n".join(out) + "\n"


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.splitlines()[-lines:])


def serve_and_get(command: list[str], cwd: Path, env: dict[str, str],
                  wait: float = 90.0) -> tuple[str, int]:
    """Start a server command, GET the first ``http://127.0.0.1:`` address it prints, stop it.

    Returns:
        The address and the HTTP status of the GET.
    """
    with serving(command, cwd, env, wait) as (url, _):
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return url, response.status
        except urllib.error.HTTPError as exc:  # an error page: the caller's assertion says so
            return url, exc.code


def _checkout(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A working folder that looks like a checkout, and the environment blocks run with."""
    work = tmp_path / "checkout"
    work.mkdir()
    (work / ".venv").symlink_to((ROOT / ".venv").resolve(), target_is_directory=True)
    (work / "scenarios").symlink_to(ROOT / "scenarios", target_is_directory=True)
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    return work, env


def _run(block: Block, index: int, work: Path, scripts: Path,
         env: dict[str, str]) -> subprocess.CompletedProcess[str] | None:
    """Run one block; None for a server block (checked by :func:`serve_and_get`)."""
    if block.language in PYTHON:
        script = scripts / f"block-{index:02d}-line-{block.line}.py"
        script.write_text(block.text, encoding="utf-8")
        command = [sys.executable, str(script)]
    else:
        command = ["bash", "-euo", "pipefail", "-c", substituted(block.text)]
        if SERVER.match(block.first_command):
            url, status = serve_and_get(command, work, env)
            assert status == 200, f"line {block.line}: GET {url} gave HTTP {status}"
            return None
    return subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                          timeout=BLOCK_TIMEOUT, check=False)


@pytest.mark.parametrize("doc", DOCS)
def test_no_command_is_hidden_in_an_unexecuted_block(doc: str) -> None:
    found = blocks((ROOT / doc).read_text(encoding="utf-8"))
    assert any(b.runs for b in found), f"{doc}: no sh/bash/python block found"
    for block in found:
        assert not relabelled(block), (
            f"{doc}:{block.line}: a ```{block.language or '(unlabelled)'} block starts with "
            f"the command {block.first_command!r}: label it sh or python so it runs (only "
            "examples that need other machines, naming HOST, may be shown as text)")


def test_the_guard_and_the_parser() -> None:
    doc = ("# t\n\n```sh\nmarketsim run x \\\n  --months 6   # ok\n```\n\n"
           "  ```text\n  # a comment first\n  marketsim run y\n  ```\n\n"
           "````text\ndask worker tcp://HOST:8786\n````\n\n```toml\n[scenario]\n```\n")
    found = blocks(doc)
    assert [(b.language, b.line) for b in found] == [("sh", 3), ("text", 8), ("text", 13),
                                                      ("toml", 17)]
    assert found[0].text == "marketsim run x \\\n  --months 6   # ok\n"
    assert found[1].first_command == "marketsim run y"
    assert [relabelled(b) for b in found] == [False, True, False, False]
    assert substituted("make demo   # a comment\n    # more\n") == \
        SUBSTITUTIONS["make demo"][0] + "\n    # more\n"


def test_every_substitution_is_of_a_documented_command() -> None:
    documented = {line.split("#", 1)[0].strip()
                  for doc in DOCS for b in blocks((ROOT / doc).read_text(encoding="utf-8"))
                  if b.language in SHELL for line in b.text.splitlines()}
    assert set(SUBSTITUTIONS) <= documented, "a substitution for a command the docs dropped"


def test_serve_and_get_reaches_a_local_server(tmp_path: Path) -> None:
    """The ``marketsim explore`` helper, on a server that prints its address the same way."""
    command = [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
               "--directory", str(tmp_path)]
    url, status = serve_and_get(command, tmp_path, dict(os.environ), wait=30)
    assert url.startswith("http://127.0.0.1:") and status == 200


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS)
def test_documented_blocks_run(doc: str, tmp_path: Path) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    found = [b for b in blocks(text) if b.runs]
    # counted apart from the parser, so a block it missed is a failure, not a silent skip
    fences = len(re.findall(r"(?m)^\s*(?:`{3,}|~{3,})\s*(?:sh|bash|python)\s*$", text))
    assert fences > 0, f"{doc}: no sh/bash/python block found"
    work, env = _checkout(tmp_path)
    scripts = tmp_path / "blocks"
    scripts.mkdir()
    ran, timings = 0, []
    for index, block in enumerate(found):
        started = time.perf_counter()
        done = _run(block, index, work, scripts, env)
        seconds = time.perf_counter() - started
        timings.append(f"{doc}:{block.line} ({block.language}) {seconds:.1f} s")
        if done is not None:
            assert done.returncode == 0, (
                f"{doc}:{block.line}: the ```{block.language} block exited "
                f"{done.returncode}\n--- block\n{block.text}--- stdout (tail)\n"
                f"{_tail(done.stdout)}\n--- stderr (tail)\n{_tail(done.stderr)}")
        ran += 1
        assert seconds < BLOCK_BUDGET, (f"{doc}:{block.line} took {seconds:.0f} s: give the "
                                        "documented command smaller settings")
    print("\n".join(timings))
    assert ran == fences, f"{doc}: ran {ran} of the {fences} sh/bash/python blocks"
    # Every results folder a block names was written here, not into the repository.
    for block in found:
        for folder in re.findall(r"-o (reports/[\w./-]+)", block.text):
            assert (work / folder / "manifest.json").is_file(), f"{doc}: {folder} not in tmp"
