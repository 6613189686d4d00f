"""Hostile input against the real ``marketsim`` command: nothing a user types does harm.

Every case runs ``python -m sim ARGS`` in a subprocess, in a fresh sandbox: the working
directory is ``sandbox/work`` (holding a user's notes, a thesis folder and a copy of
``tests/fixtures/hostile``) and ``HOME`` is ``sandbox/home`` (so ``-o ~`` is safe). Each
case asserts:

* the exit code (0 success, 2 bad input, 130 SIGINT, 143 SIGTERM);
* stderr is exactly one ``error: ...`` line for an error, or only ``note:``/``warning:``
  lines for a success;
* no ``Traceback`` anywhere and no raw control character on stderr (nor ESC on stdout);
* no file outside the case's results folder changed (paths, sizes, mtimes and the
  content of small files are compared before and after); a refused command changes
  nothing at all.

Safety: a hostile case must not be able to hurt the machine while the code under test
is still wrong. Every child runs with a 4 GiB address-space limit (``/dev/zero`` as a
scenario, ``--samples 10000000``), in its own session so a timeout kills all of it,
with ``-j 1000`` watched for a runaway number of processes; ``--force`` is only ever
pointed inside the sandbox (``-o / --force`` is deliberately not a case: unfixed code
would delete the file system).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OWN

from .conftest import FIXTURES, ROOT

HOSTILE = FIXTURES / "hostile"
TARGETS = FIXTURES / "targets" / "good.toml"
QUICK = ("-r", "1", "--months", "1", "--no-report", "-j", "1")
RUN = ("run", *OWN, "baseline", *QUICK)
MEMORY_LIMIT = 4 * 2**30
SMALL_FILE = 2**20  # files up to this size are compared by content, larger ones by size+mtime
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
# raw control characters other than the newline that ends each line
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


# --------------------------------------------------------------------------- the sandbox


@dataclass
class Sandbox:
    """A throwaway user: a home folder, a working folder, files worth protecting."""

    root: Path
    template: Path | None = None
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def work(self) -> Path:
        return self.root / "work"

    def expand(self, arg: str) -> str:
        """Replace ``{home}``, ``{work}``, ``{closed}`` and ``{silent}`` in an argument."""
        values = {"home": str(self.home), "work": str(self.work),
                  **{name: str(port) for name, port in self.ports.items()}}
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        return arg

    def results(self, name: str = "res") -> Path:
        """Copy the template results folder (a real, complete run) to ``work/name``."""
        assert self.template is not None
        target = self.work / name
        shutil.copytree(self.template, target)
        return target


def make_sandbox(root: Path) -> Sandbox:
    box = Sandbox(root)
    box.home.mkdir(parents=True)
    (box.home / ".bashrc").write_text("export PS1='$ '\n")
    (box.home / "thesis.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    box.work.mkdir()
    (box.work / "notes.txt").write_text("do not lose these notes\n")
    thesis = box.work / "thesis"
    (thesis / "figures").mkdir(parents=True)
    (thesis / "chapter1.tex").write_text("\\chapter{Markets}\n")
    (thesis / "figures" / "fig1.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    shutil.copytree(HOSTILE, box.work / "hostile")
    return box


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``root``: type, size, mtime and (small files) a content hash.

    Uses lstat and never opens anything but regular files, so FIFOs and devices are safe.
    """
    state: dict[str, tuple[Any, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                digest = (hashlib.sha256(path.read_bytes()).hexdigest()
                          if info.st_size <= SMALL_FILE else None)
                state[rel] = ("file", info.st_size, info.st_mtime_ns, digest,
                              stat.S_IMODE(info.st_mode))
            elif stat.S_ISDIR(info.st_mode):
                state[rel] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                state[rel] = ("other", stat.S_IFMT(info.st_mode), info.st_mtime_ns)
    return state


def changes(before: dict[str, tuple[Any, ...]], after: dict[str, tuple[Any, ...]]) -> list[str]:
    keys = set(before) | set(after)
    return sorted(k for k in keys if before.get(k) != after.get(k))


def outside(changed: list[str], allowed: str | None) -> list[str]:
    """The changed paths that are not the results folder ``allowed`` or under it."""
    if allowed is None:
        return changed
    prefix = f"work/{allowed}".rstrip("/")
    return [p for p in changed if p != prefix and not p.startswith(prefix + "/")]


# --------------------------------------------------------------------------- running


def _child_setup() -> None:
    """In the child: Ctrl-C handled normally, and a ceiling on memory.

    A suite started in the background inherits SIGINT ignored (see test_cli_run.py).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def child_env(box: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MARKETSIM_DEBUG", "PYTHONWARNINGS", "PYTHONSTARTUP")}
    env.update(HOME=str(box.home), PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1",
               # Dask keeps its configuration under ~; that is Dask's, not a marketsim write
               DASK_CONFIG=str(box.root.parent / "dask-config"), COLUMNS="100")
    return env


def start(box: Sandbox, args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=box.work,
                            env=child_env(box), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="backslashreplace", preexec_fn=_child_setup,
                            start_new_session=True)


def session_size(sid: int) -> int:
    """How many processes are in session ``sid`` (the child and everything it started)."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()
        if len(fields) > 3 and fields[3] == str(sid):
            count += 1
    return count


def kill(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate()


class Overrun(Exception):
    """The child ran too long or started too many processes (it has been killed)."""


def finish(process: subprocess.Popen[str], timeout: float,
           max_processes: int | None = None) -> tuple[str, str]:
    """Wait for the child; kill its whole session if it overruns or forks without bound.

    Raises:
        Overrun: It did not exit within ``timeout`` or ran more than ``max_processes``.
    """
    if max_processes is None:
        try:
            return process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill(process)
            raise Overrun(f"did not exit within {timeout:g} s") from None
    deadline = time.monotonic() + timeout
    peak = 0
    while process.poll() is None:
        peak = max(peak, session_size(process.pid))
        if peak > max_processes:
            kill(process)
            raise Overrun(f"started {peak} processes (more than {max_processes} on {CORES} "
                          "cores): -j is not clamped")
        if time.monotonic() > deadline:
            kill(process)
            raise Overrun(f"did not exit within {timeout:g} s")
        time.sleep(0.02)
    return process.communicate()


# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """One hostile command.

    Attributes:
        id: The test id.
        args: Arguments after ``marketsim`` (``{home}``, ``{work}``, ``{closed}`` and
            ``{silent}`` are expanded).
        code: The exit code, or the codes either of which is correct.
        out: The results folder (relative to the working folder) a successful command
            may write; a failed one may write nothing anywhere.
        expect: Text the error line must contain (``{p}``: the index of the file's first
            policy, after the baseline's).
        setup: Prepares the sandbox before the snapshot.
        check: Further checks after the command.
        timeout: Seconds the command may take.
        max_processes: Fail (and kill) when the command runs more processes than this.
    """

    id: str
    args: tuple[str, ...]
    code: int | tuple[int, ...] = 2
    out: str | None = None
    expect: tuple[str, ...] = ()
    setup: Callable[[Sandbox], None] | None = None
    check: Callable[[Sandbox, str, str], None] | None = None
    timeout: float = 60
    max_processes: int | None = None
    needs: tuple[str, ...] = ()  # "template", "silent" (fixtures fetched on demand)
    slow: bool = False


def validate(name: str, *expect: str, code: int | tuple[int, ...] = 2) -> Case:
    """``marketsim validate hostile/NAME`` for one fixture file."""
    return Case(f"file-{name.removesuffix('.toml')}", ("validate", f"hostile/{name}"), code,
                expect=expect)


# --- scenario files: one fixture per malformed input (tests/fixtures/hostile)

FILE_CASES = [
    validate("syntax_unclosed_string.toml", "syntax_unclosed_string.toml:2"),
    validate("syntax_duplicate_key.toml", "syntax_duplicate_key.toml:5"),
    validate("syntax_bad_header.toml", "syntax_bad_header.toml:1"),
    validate("syntax_table_redefined.toml", "syntax_table_redefined.toml:8"),
    validate("syntax_bare_value.toml", "syntax_bare_value.toml:4"),
    validate("syntax_deep_nesting.toml", "syntax_deep_nesting.toml"),
    validate("bool_months.toml", "scenario.months"),
    validate("bool_capability.toml", "vendors.Meta.products.Llama.capability", "got true"),
    validate("bool_network_effect.toml", "world.network_effect"),
    validate("bool_adopters.toml", "regions.EU.adopters"),
    validate("string_network_effect.toml", "world.network_effect"),
    validate("string_months.toml", "scenario.months"),
    validate("string_capability.toml", "vendors.Meta.products.Llama.capability", "'94'"),
    validate("string_bool_remove.toml", "vendors.Meta.remove"),
    validate("number_as_openness.toml", "vendors.Meta.products.Llama.openness"),
    validate("float_months.toml", "scenario.months"),
    validate("array_as_number.toml", "world.network_effect"),
    validate("table_as_number.toml", "world.network_effect"),
    validate("scenario_not_a_table.toml", "scenario"),
    validate("vendors_not_an_array.toml", "vendors"),
    validate("date_as_month.toml", "scenario.start"),
    validate("months_zero.toml", "scenario.months"),
    validate("months_negative.toml", "scenario.months"),
    validate("months_huge.toml", "scenario.months"),
    validate("months_overflow.toml", "scenario.months"),
    validate("network_effect_inf.toml", "world.network_effect"),
    validate("network_effect_negative.toml", "world.network_effect"),
    validate("adopters_negative.toml", "regions.EU.adopters"),
    validate("adoption_one.toml", "regions.EU.adoption.consumer", "exceeds aware"),
    validate("share_negative.toml", "regions.EU.shares.enterprise.Llama"),
    validate("replications_zero.toml", "experiment.replications"),
    validate("seed_too_large.toml", "experiment.seed"),
    validate("format_version_99.toml", "scenario.format_version"),
    # a version-1 file: one line pointing at the migration note
    validate("version_1_file.toml", "version-1 scenario file", "docs/migration-v2.md"),
    validate("start_not_a_month.toml", "scenario.start"),
    validate("contributors_size_min_above_max.toml", "size_m"),
    validate("title_empty.toml", "scenario.name"),
    validate("title_too_long.toml", "scenario.name"),
    validate("reserved_region_world.toml", "World"),
    validate("reserved_segment_all.toml", "all"),
    validate("name_with_newline.toml", "vendors."),
    validate("name_with_ansi.toml", "vendors."),
    validate("name_with_carriage_return.toml", "vendors."),
    validate("name_with_bidi_override.toml", "vendors."),
    validate("name_with_slash.toml", "EU/West"),
    validate("name_with_backslash.toml", "vendors."),
    validate("name_dot_dot.toml", "vendors."),
    validate("name_with_dot.toml", "Meta.v2"),
    validate("name_empty.toml", "vendors."),
    validate("name_with_space.toml", "Open AI"),
    validate("product_name_with_newline.toml", "vendors.Meta.products.Llama\\nerror"),
    validate("product_name_with_ansi.toml", "vendors.Meta.products.\\x1b]0;owned"),
    validate("product_name_dot_dot.toml", "vendors.Meta.products."),
    validate("name_non_ascii.toml", "regions."),
    validate("key_with_ansi.toml", "world."),
    validate("duplicate_region.toml", "Mars"),
    validate("unknown_key_root.toml", "marketz"),
    validate("unknown_key_vendor.toml", "colour"),
    validate("unknown_key_policy.toml", "strength"),
    validate("unknown_key_scenario.toml", "mnths"),
    # a byte-order mark is either ignored or named: never "Invalid statement" at 1:1
    Case("file-bom", ("validate", "hostile/bom.toml"), (0, 2),
         check=lambda box, out, err: _no_invalid_statement(err)),
    Case("file-bom_syntax_error", ("validate", "hostile/bom_syntax_error.toml"), 2,
         check=lambda box, out, err: _no_invalid_statement(err)),
    validate("empty.toml", "empty.toml"),
    validate("whitespace_only.toml", "whitespace_only.toml"),
    validate("comments_only.toml", "comments_only.toml"),
    validate("binary.toml", "binary.toml"),
    validate("latin1.toml", "latin1.toml"),
    validate("utf16.toml", "utf16.toml"),
    validate("json_not_toml.toml", "json_not_toml.toml"),
    validate("yaml_not_toml.toml", "yaml_not_toml.toml"),
    validate("extends_cycle_a.toml", "cycle"),
    validate("extends_cycle_b.toml", "cycle"),
    validate("extends_self.toml", "cycle"),
    validate("extends_missing.toml", "no_such_parent.toml"),
    validate("extends_folder.toml", "extends"),
    validate("extends_not_toml.toml", "/etc/passwd"),
    validate("extends_unknown_name.toml", "baselin"),
    validate("extends_not_a_string.toml", "scenario.extends"),
    validate("extends_bad_child.toml", "months_negative.toml", "scenario.months"),
    # removing every vendor blames the file that removes them, not its parent
    validate("remove_every_vendor.toml", "remove_every_vendor.toml", "vendors"),
    validate("remove_every_region.toml", "remove_every_region.toml", "regions"),
    validate("remove_every_segment.toml", "remove_every_segment.toml", "segments"),
    validate("remove_every_product.toml", "remove_every_product.toml", "vendors.Meta.products"),
    validate("remove_missing_vendor.toml", "Nobody"),
    validate("policy_unknown_kind.toml", "nationalise"),
    validate("policy_ends_before_start.toml", "policies.{p}.end"),
    validate("policy_label_with_ansi.toml", "policies.{p}.label"),
    validate("policy_label_duplicate.toml", "duplicate label 'Interop'"),
    validate("withhold_unknown_product.toml", "Llama-9"),
    validate("policies_a_table.toml", "policies"),
    # valid, or refused: either way nothing raw reaches the terminal
    Case("file-title_with_ansi", ("validate", "hostile/title_with_ansi.toml"), (0, 2)),
    Case("show-title_with_ansi", ("show", "hostile/title_with_ansi.toml"), (0, 2)),
    Case("show-name_with_ansi", ("show", "hostile/name_with_ansi.toml"), 2),
    Case("file-valid_small", ("validate", "hostile/valid_small.toml"), 0),
]


def _no_invalid_statement(stderr: str) -> None:
    assert "Invalid statement" not in stderr, stderr


def _fifo(box: Sandbox) -> None:
    os.mkfifo(box.work / "pipe.toml")


def _sparse(box: Sandbox) -> None:
    path = box.work / "huge.toml"
    path.write_text('[scenario]\nname = "Huge"\nextends = "baseline"\n')
    subprocess.run(["truncate", "-s", "6M", str(path)], check=True)


def _folder_scenario(box: Sandbox) -> None:
    (box.work / "adir.toml").mkdir()


def _symlink_loop(box: Sandbox) -> None:
    (box.work / "loop.toml").symlink_to("loop.toml")


def _unreadable(box: Sandbox) -> None:
    path = box.work / "secret.toml"
    shutil.copy(HOSTILE / "valid_small.toml", path)
    path.chmod(0)


def _newline_name(box: Sandbox) -> None:
    (box.work / "bad\nerror: forged.toml").write_text("[scenario\n")


def _dots(name: str) -> Callable[[Sandbox], None]:
    def setup(box: Sandbox) -> None:
        shutil.copy(HOSTILE / "valid_small.toml", box.work / name)

    return setup


SPECIAL_FILE_CASES = [
    Case("special-fifo", ("validate", "pipe.toml"), setup=_fifo, expect=("pipe.toml",),
         timeout=15),
    Case("special-dev-null", ("validate", "/dev/null"), expect=("/dev/null",)),
    Case("special-dev-zero", ("validate", "/dev/zero"), expect=("/dev/zero",), timeout=15),
    Case("special-huge-sparse", ("validate", "huge.toml"), setup=_sparse,
         expect=("huge.toml",), timeout=15),
    Case("special-folder", ("validate", "adir.toml"), setup=_folder_scenario,
         expect=("adir.toml",)),
    Case("special-dot", ("validate", ".")),
    Case("special-empty-path", ("validate", "")),
    Case("special-missing", ("validate", "nope.toml"), expect=("nope.toml",)),
    Case("special-symlink-loop", ("validate", "loop.toml"), setup=_symlink_loop,
         expect=("loop.toml",)),
    Case("special-newline-in-path", ("validate", "bad\nerror: forged.toml"),
         setup=_newline_name),
    Case("special-ansi-in-name", ("validate", "\x1b[2J\x1b[31mnope")),
    Case("special-run-ansi-in-name", ("run", *OWN, "\x1b]0;owned\x07nope", *QUICK, "-o", "out")),
    Case("special-typo", ("validate", "baselin"), expect=("baseline",)),
    # a file named "...toml" or "..toml" must not give a scenario id that leaves the folder
    Case("special-id-dots3", ("run", *OWN, "...toml", *QUICK, "-o", "out"), (0, 2), out="out",
         setup=_dots("...toml")),
    Case("special-id-dots2", ("run", *OWN, "..toml", *QUICK, "-o", "out"), (0, 2), out="out",
         setup=_dots("..toml")),
    # zero adopters: valid and runs, or refused at validation; never a crash
    Case("special-zero-adopters", ("run", *OWN, "hostile/zero_adopters_region.toml", *QUICK,
                                   "-o", "out"), (0, 2), out="out"),
]
if os.geteuid() != 0:  # root reads any file
    SPECIAL_FILE_CASES.append(Case("special-unreadable", ("validate", "secret.toml"),
                                   setup=_unreadable, expect=("secret.toml",)))


# --- flags


def _clamped(box: Sandbox, stdout: str, stderr: str) -> None:
    notes = [line for line in stderr.splitlines() if line.startswith(("note:", "warning:"))]
    assert any("-j" in line or "job" in line.lower() for line in notes), stderr
    assert "results:" in stdout


FLAG_CASES = [
    Case("flag-r-0", ("run", *OWN, "baseline", "-r", "0"), expect=("-r",)),
    Case("flag-r-negative", ("run", *OWN, "baseline", "-r", "-1"), expect=("-r",)),
    Case("flag-r-abc", ("run", *OWN, "baseline", "-r", "abc"), expect=("-r",)),
    Case("flag-r-fraction", ("run", *OWN, "baseline", "-r", "1.5"), expect=("-r",)),
    Case("flag-r-huge", ("run", *OWN, "baseline", "-r", "10000000", "--months", "1", "--no-report",
                         "-j", "1", "-o", "out"), expect=("10000000",), timeout=30),
    Case("flag-j-0", ("run", *OWN, "baseline", "-j", "0"), expect=("-j",)),
    Case("flag-j-negative", ("run", *OWN, "baseline", "-j", "-3"), expect=("-j",)),
    Case("flag-j-abc", ("run", *OWN, "baseline", "-j", "abc"), expect=("-j",)),
    Case("flag-j-1000", ("run", *OWN, "baseline", "-r", "2", "--months", "2", "--no-report",
                         "-j", "1000", "-o", "out"), 0, out="out", check=_clamped,
         max_processes=CORES + 6, timeout=120),
    Case("flag-months-0", ("run", *OWN, "baseline", "--months", "0"), expect=("--months",)),
    Case("flag-months-negative", ("run", *OWN, "baseline", "--months", "-1"), expect=("--months",)),
    Case("flag-months-huge", ("run", *OWN, "baseline", "--months", "100000"), expect=("--months",)),
    Case("flag-months-abc", ("run", *OWN, "baseline", "--months", "abc"), expect=("--months",)),
    Case("flag-seed-negative", ("run", *OWN, "baseline", "--seed", "-1"), expect=("--seed",)),
    Case("flag-seed-2-64", ("run", *OWN, "baseline", "--seed", str(2**64), *QUICK, "-o", "out"),
         expect=("seed",)),
    Case("flag-seed-2-63", ("run", *OWN, "baseline", "--seed", str(2**63), *QUICK, "-o", "out"),
         expect=("seed",)),
    Case("flag-seed-abc", ("run", *OWN, "baseline", "--seed", "abc"), expect=("--seed",)),
    Case("flag-unknown-option", ("run", *OWN, "baseline", "--bogus"), expect=("--bogus",)),
    Case("flag-unknown-short", ("run", *OWN, "baseline", "-Z"), expect=("-Z",)),
    Case("flag-unknown-root-option", ("--bogus",), expect=("--bogus",)),
    Case("flag-ansi-option", ("validate", "baseline", "--\x1b[31mred",)),
    Case("flag-missing-value", ("run", *OWN, "baseline", "-o"), expect=("-o",)),
    Case("flag-unknown-command", ("valdate", "baseline"), expect=("valdate",)),
    Case("flag-missing-argument", ("run",)),
    Case("flag-validate-missing-argument", ("validate",)),
    Case("flag-report-extra-argument", ("report", "a", "b")),
    Case("flag-unknown-scenario", ("run", *OWN, "baselin", *QUICK, "-o", "out"),
         expect=("baseline",)),
    Case("flag-second-scenario-unknown", ("run", *OWN, "baseline", "nope", *QUICK, "-o", "out"),
         expect=("nope",)),
]

SET_CASES = [Case(f"set-{name}", ("run", *OWN, "baseline", "--set", value, *QUICK, "-o", "out"),
                  expect=expect)
             for name, value, expect in [
                 ("no-equals", "x", ()),
                 ("no-path", "=1", ()),
                 ("unknown-key", "world.nope=1", ("world.nope",)),
                 ("not-a-number", "world.network_effect=abc", ("world.network_effect",)),
                 ("unknown-vendor", "vendors.Nobody.products.Llama.capability=1", ("Nobody",)),
                 ("unknown-product", "vendors.Meta.products.Nope.capability=1", ("Nope",)),
                 ("version-1-path", "vendors.Meta.openness=closed", ("vendors.Meta.openness",)),
                 ("unknown-policy-label", 'policies."Nope".start=2026-01', ("Nope",)),
                 ("ansi-in-policy-label", 'policies."\x1b[2J".start=2026-01', ()),
                 ("bool-for-number", "world.network_effect=true", ("world.network_effect",)),
                 ("bool-for-integer", "scenario.months=true", ("scenario.months",)),
                 ("empty-value", "world.network_effect=", ("world.network_effect",)),
                 ("infinite", "world.network_effect=1e999", ("world.network_effect",)),
                 ("bad-choice", "vendors.Meta.products.Llama.openness=ajar", ("ajar",)),
                 ("unknown-region", "regions.Mars.adopters.consumer=1", ("Mars",)),
                 ("empty-segment", "world..network_effect=1", ()),
                 ("newline-in-path", "world.net\nwork=1", ()),
                 ("ansi-in-value", "vendors.Meta.products.Llama.openness=\x1b[2Jopen", ()),
                 ("rename-to-world", "regions.EU.name=World", ("World",)),
                 ("rename-to-all", "segments.consumer.name=all", ("all",)),
                 ("out-of-range", "world.kappa_open=7", ("world.kappa_open",)),
             ]]

_SWEEP = ("sweep", "baseline", *QUICK, "-o", "out")
_NE = ("--vary", "world.network_effect=0.1:1")
VARY_CASES = [
    *[Case(f"vary-{name}", (*_SWEEP, "--vary", value), expect=expect)
      for name, value, expect in [
          ("no-equals", "x", ()),
          ("no-range", "world.network_effect=1", ("world.network_effect",)),
          ("not-numbers", "world.network_effect=a:b", ("world.network_effect",)),
          ("half-range", "world.network_effect=1:", ("world.network_effect",)),
          ("unknown-key", "world.nope=0:1", ("world.nope",)),
          ("nan", "world.network_effect=nan:1", ("world.network_effect",)),
          ("infinite", "world.network_effect=0:inf", ("world.network_effect",)),
          ("reversed", "world.network_effect=1:0.1", ("world.network_effect",)),
          ("outside-bounds", "world.network_effect=-5:1", ("world.network_effect",)),
          ("bad-level", "vendors.Meta.products.Llama.openness=open,ajar", ("ajar",)),
      ]],
    Case("vary-missing", _SWEEP, expect=("--vary",)),
    Case("vary-bad-design", (*_SWEEP, *_NE, "--design", "bogus"), expect=("bogus",)),
    Case("vary-samples-0", (*_SWEEP, *_NE, "--samples", "0"), expect=("--samples",)),
    # caps: refused at once, before anything is built in memory
    Case("cap-grid-samples", (*_SWEEP, *_NE, "--vary", "world.kappa_closed=0:0.5",
                              "--design", "grid", "--samples", "10000000"),
         expect=("10000000",), timeout=20),
    Case("cap-lhs-samples", (*_SWEEP, *_NE, "--design", "lhs", "--samples", "10000000"),
         expect=("10000000",), timeout=20),
    Case("cap-sobol-indices", ("sensitivity", "baseline", *QUICK, "-o", "out", *_NE,
                               "--samples", "10000000"), expect=("10000000",), timeout=20),
    Case("sensitivity-bad-method", ("sensitivity", "baseline", *QUICK, "-o", "out", *_NE,
                                    "--method", "bogus"), expect=("bogus",)),
    Case("sensitivity-bad-metric", ("sensitivity", "baseline", *QUICK, "-o", "out", *_NE,
                                    "--metric", "\x1b[31mhhi"), expect=("metric",)),
    Case("calibrate-missing-targets", ("calibrate", "baseline", "--targets", "nope.toml",
                                       "--fit", "world.network_effect=0.1:1", *QUICK,
                                       "-o", "out"), expect=("nope.toml",)),
    Case("calibrate-targets-folder", ("calibrate", "baseline", "--targets", "thesis",
                                      "--fit", "world.network_effect=0.1:1", *QUICK,
                                      "-o", "out"), expect=("thesis",)),
    Case("calibrate-targets-dev-null", ("calibrate", "baseline", "--targets", "/dev/null",
                                        "--fit", "world.network_effect=0.1:1", *QUICK,
                                        "-o", "out"), expect=("/dev/null",)),
    Case("calibrate-targets-not-toml", ("calibrate", "baseline", "--targets", "notes.txt",
                                        "--fit", "world.network_effect=0.1:1", *QUICK,
                                        "-o", "out"), expect=("notes.txt",)),
    Case("calibrate-bad-fit", ("calibrate", "baseline", "--targets", str(TARGETS),
                               "--fit", "x", *QUICK, "-o", "out")),
]

SCHEDULER_CASES = [
    Case(f"scheduler-{name}", (*RUN, "-o", "out", "--scheduler", address),
         expect=("--scheduler",), timeout=20, needs=needs)
    for name, address, needs in [
        ("closed-port", "tcp://127.0.0.1:{closed}", ()),
        ("silent-server", "tcp://127.0.0.1:{silent}", ("silent",)),
        ("not-an-address", "not a scheduler", ()),
        ("bad-port", "tcp://127.0.0.1:notaport", ()),
        ("no-host", "tcp://", ()),
        ("http", "http://127.0.0.1:{closed}", ()),
        ("ansi", "tcp://\x1b[31m127.0.0.1:{closed}", ()),
    ]
]


# --- results folders


def _fake_manifest(box: Sandbox) -> None:
    folder = box.work / "pkg"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"name": "left-pad", "version": "1.0.0"}))
    (folder / "index.js").write_text("module.exports = s => s;\n")


def _results(box: Sandbox) -> None:
    box.results()


def _results_with_user_file(box: Sandbox) -> None:
    (box.results() / "my-notes.txt").write_text("mine, not marketsim's\n")


def _user_file_kept(box: Sandbox, stdout: str, stderr: str) -> None:
    assert (box.work / "res" / "my-notes.txt").read_text() == "mine, not marketsim's\n"
    manifest = json.loads((box.work / "res" / "manifest.json").read_text())
    assert manifest["status"] == "complete"


def _complete(box: Sandbox, stdout: str, stderr: str) -> None:
    manifest = json.loads((box.work / "res" / "manifest.json").read_text())
    assert manifest["status"] == "complete"


def _empty_folder(box: Sandbox) -> None:
    (box.work / "empty").mkdir()


def _tamper(edit: Callable[[dict[str, Any]], Any] | str | None) -> Callable[[Sandbox], None]:
    """Copy the template results folder to work/res and rewrite its manifest.

    ``edit`` is a function of the manifest (its result is written as JSON), raw text to
    write instead, or None to make manifest.json a folder.
    """
    def setup(box: Sandbox) -> None:
        path = box.results() / "manifest.json"
        if edit is None:
            path.unlink()
            path.mkdir()
        elif isinstance(edit, str):
            path.write_text(edit)
        else:
            path.write_text(json.dumps(edit(json.loads(path.read_text()))))

    return setup


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda m: {**m, key: value}


def _drop(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda m: {k: v for k, v in m.items() if k != key}


def _scenario_id(value: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def edit(m: dict[str, Any]) -> dict[str, Any]:
        scenarios = [dict(s) for s in m["scenarios"]]
        scenarios[0]["id"] = value
        finished = {value: 1}
        return {**m, "scenarios": scenarios, "finished": finished}

    return edit


TAMPERED = [
    ("not-json", "{not json"),
    ("empty-file", ""),
    ("json-list", "[1, 2, 3]"),
    ("json-null", "null"),
    ("json-string", '"manifest"'),
    ("empty-object", "{}"),
    ("folder", None),
    ("no-scenarios", _drop("scenarios")),
    ("no-seed", _drop("seed")),
    ("seed-text", _set("seed", "zero")),
    ("replications-text", _set("replications", "one")),
    ("replications-infinite", "REPLACE_INF"),
    ("scenarios-text", _set("scenarios", "baseline")),
    ("scenarios-items-text", _set("scenarios", ["baseline"])),
    ("finished-list", _set("finished", [1])),
    ("id-parent", _scenario_id("../../escape")),
    ("id-absolute", _scenario_id("/tmp/marketsim-hostile-escape")),
    ("id-newline", _scenario_id("base\nline")),
]


def _inf_manifest(box: Sandbox) -> None:
    path = box.results() / "manifest.json"
    text = path.read_text()
    path.write_text(re.sub(r'"replications": \d+', '"replications": 1e999', text))


def _tamper_setup(edit: Any) -> Callable[[Sandbox], None]:
    return _inf_manifest if edit == "REPLACE_INF" else _tamper(edit)


FOLDER_CASES = [
    Case("out-dot", (*RUN, "-o", ".")),
    Case("out-dot-force", (*RUN, "-o", ".", "--force")),
    Case("out-dot-resume", (*RUN, "-o", ".", "--resume")),
    Case("out-parent-force", (*RUN, "-o", "..", "--force")),
    Case("out-home", (*RUN, "-o", "{home}")),
    Case("out-home-force", (*RUN, "-o", "{home}", "--force")),
    Case("out-home-resume", (*RUN, "-o", "{home}", "--resume")),
    Case("out-tilde", (*RUN, "-o", "~")),
    Case("out-tilde-force", (*RUN, "-o", "~", "--force")),
    Case("out-root", (*RUN, "-o", "/")),  # never with --force: see the module docstring
    Case("out-empty", (*RUN, "-o", "")),
    Case("out-empty-force", (*RUN, "-o", "", "--force")),
    Case("out-file", (*RUN, "-o", "notes.txt")),
    Case("out-file-force", (*RUN, "-o", "notes.txt", "--force")),
    Case("out-under-file", (*RUN, "-o", "notes.txt/sub")),
    Case("out-user-folder", (*RUN, "-o", "thesis"), expect=("thesis",)),
    Case("out-user-folder-force", (*RUN, "-o", "thesis", "--force"), expect=("thesis",)),
    Case("out-user-folder-resume", (*RUN, "-o", "thesis", "--resume"), expect=("thesis",)),
    Case("out-foreign-manifest-force", (*RUN, "-o", "pkg", "--force"), setup=_fake_manifest,
         expect=("pkg",)),
    Case("out-proc", (*RUN, "-o", "/proc/marketsim-hostile")),
    Case("out-results-no-flag", (*RUN, "-o", "res"), setup=_results, needs=("template",)),
    Case("out-results-resume-complete", (*RUN, "-o", "res", "--resume"), 0, out="res",
         setup=_results, check=_complete, needs=("template",)),
    Case("out-results-force-keeps-user-file", (*RUN, "-o", "res", "--force"), 0, out="res",
         setup=_results_with_user_file, check=_user_file_kept, needs=("template",)),
    Case("sweep-out-dot-force", ("sweep", "baseline", *_NE, "--samples", "2", *QUICK,
                                 "-o", ".", "--force")),
    Case("sweep-out-user-folder-force", ("sweep", "baseline", *_NE, "--samples", "2", *QUICK,
                                         "-o", "thesis", "--force")),
    Case("sensitivity-out-home-force", ("sensitivity", "baseline", *_NE, "--samples", "2",
                                        *QUICK, "-o", "{home}", "--force")),
    Case("calibrate-out-dot", ("calibrate", "baseline", "--targets", str(TARGETS),
                               "--fit", "world.network_effect=0.1:1", "--max-evaluations",
                               "1", *QUICK, "-o", ".")),
    Case("calibrate-out-user-folder-force", ("calibrate", "baseline", "--targets",
                                             str(TARGETS), "--fit",
                                             "world.network_effect=0.1:1",
                                             "--max-evaluations", "1", *QUICK, "-o", "thesis",
                                             "--force")),
    *[Case(f"resume-tampered-{name}", (*RUN, "-o", "res", "--resume"),
           setup=_tamper_setup(edit), needs=("template",)) for name, edit in TAMPERED],
    Case("resume-seed-mismatch", (*RUN, "--seed", "5", "-o", "res", "--resume"),
         setup=_results, expect=("seed",), needs=("template",)),
    Case("report-file", ("report", "notes.txt"), expect=("notes.txt",)),
    Case("report-missing", ("report", "nowhere"), expect=("nowhere",)),
    Case("report-empty-folder", ("report", "empty"), setup=_empty_folder, expect=("empty",)),
    Case("report-user-folder", ("report", "thesis"), expect=("thesis",)),
    Case("report-empty-path", ("report", "")),
    *[Case(f"report-tampered-{name}", ("report", "res"), setup=_tamper_setup(edit),
           needs=("template",))
      for name, edit in TAMPERED if name in ("not-json", "json-list", "empty-object",
                                             "folder", "no-scenarios", "id-parent",
                                             "id-absolute")],
    Case("report-results", ("report", "res"), 0, out="res", setup=_results,
         needs=("template",), timeout=120, slow=True),
]

CASES = [*FILE_CASES, *SPECIAL_FILE_CASES, *FLAG_CASES, *SET_CASES, *VARY_CASES,
         *SCHEDULER_CASES, *FOLDER_CASES]


def _params() -> list[Any]:
    return [pytest.param(case, id=case.id, marks=[pytest.mark.slow] if case.slow else [])
            for case in CASES]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, complete results folder written by the command the folder cases use."""
    box = make_sandbox(tmp_path_factory.mktemp("template"))
    process = start(box, [*RUN, "-o", "res"])
    stdout, stderr = finish(process, 120)
    assert process.returncode == 0, stderr
    return box.work / "res"


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    code = ("import socket, time\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(64)\n"
            "print(s.getsockname()[1], flush=True)\n"
            "held = []\n"
            "while True:\n"
            "    c, _ = s.accept(); held.append(c)\n")
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield int(server.stdout.readline())
    finally:
        server.kill()
        server.wait()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_enough_cases() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 110
    used = {a.removeprefix("hostile/") for case in CASES for a in case.args}
    unused = {p.name for p in HOSTILE.iterdir()} - used - {"extends_cycle_b.toml",
                                                           "months_negative.toml"}
    assert not unused, f"fixtures without a case: {sorted(unused)}"


# --------------------------------------------------------------------------- the test


@functools.cache
def first_policy() -> str:
    """The index of a child's first policy ("{p}" in ``expect``): after the baseline's."""
    import sim

    return str(len(sim.load_scenario("baseline").policies))


def check_output(code: int, stdout: str, stderr: str) -> None:
    """What every hostile case prints: one error line, or only notes and warnings."""
    assert "Traceback" not in stdout + stderr, stderr
    assert not RAW_CONTROL.search(stderr), f"raw control characters on stderr: {stderr!r}"
    assert "\x1b" not in stdout, f"ESC on stdout: {stdout!r}"
    lines = stderr.splitlines()
    if code == 0:
        assert all(line.startswith(("note:", "warning:")) for line in lines), stderr
    else:
        assert len(lines) == 1 and stderr.endswith("\n"), f"not one line: {stderr!r}"
        if code == 2:
            assert lines[0].startswith("error: "), stderr


@dataclass
class Outcome:
    """What one case did: its sandbox, exit code, output and the paths it changed."""

    box: Sandbox
    code: int | None = None
    stdout: str = ""
    stderr: str = ""
    changed: list[str] = field(default_factory=list)
    overrun: str | None = None


def execute(case: Case, box: Sandbox) -> Outcome:
    """Run one case in its sandbox (safe to call from a worker thread)."""
    box.ports["closed"] = closed_port()
    if case.setup is not None:
        case.setup(box)
    before = snapshot(box.root)
    outcome = Outcome(box)
    process = start(box, [box.expand(a) for a in case.args])
    try:
        outcome.stdout, outcome.stderr = finish(process, case.timeout, case.max_processes)
    except Overrun as exc:
        outcome.overrun = str(exc)
    outcome.code = process.returncode
    outcome.changed = changes(before, snapshot(box.root))
    return outcome


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Run every selected case, two at a time (each is a subprocess in its own sandbox).

    Each case is still its own test (test_hostile[ID]), which asserts on its outcome.
    """
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_hostile"
                and item.module is sys.modules[__name__]]
    needs = {need for case in selected for need in case.needs}
    template_folder = request.getfixturevalue("template") if "template" in needs else None
    silent = request.getfixturevalue("silent_port") if "silent" in needs else None
    boxes = {}
    for case in selected:
        box = make_sandbox(tmp_path_factory.mktemp("hostile") / "sandbox")
        box.template = template_folder
        if silent is not None:
            box.ports["silent"] = silent
        boxes[case.id] = box
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case.id: pool.submit(execute, case, boxes[case.id]) for case in selected}
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("case", _params())
def test_hostile(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.id]
    if outcome.overrun is not None:
        pytest.fail(f"{outcome.overrun}\n--- stderr so far\n{outcome.stderr}")
    codes = case.code if isinstance(case.code, tuple) else (case.code,)
    assert outcome.code in codes, \
        f"exit {outcome.code}, expected {case.code}\n--- stderr\n{outcome.stderr}"
    check_output(outcome.code, outcome.stdout, outcome.stderr)
    if outcome.code != 0:
        for text in case.expect:
            text = text.replace("{p}", first_policy())
            assert text in outcome.stderr, f"{text!r} not in {outcome.stderr!r}"
    allowed = case.out if outcome.code == 0 else None
    changed = outside(outcome.changed, allowed)
    assert not changed, f"changed outside the results folder: {changed}"
    if case.check is not None:
        case.check(outcome.box, outcome.stdout, outcome.stderr)


# --------------------------------------------------------------------------- signals

# enough work that a signal sent when the first replication is stored arrives well before
# the last one is
LONG = ("run", *OWN, "baseline", "-r", "12", "--seed", "3", "--months", "60", "--no-report",
        "-j", "1", "-o", "res")
#: what an interrupted or terminated LONG prints after its status: the command to continue
HINT = ("; continue with: marketsim run --posterior none baseline -r 12 --seed 3 --months 60 "
        "--no-report -j 1 -o res --resume")


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "status", "line"), [
    (signal.SIGINT, 130, "interrupted", "interrupted" + HINT),
    (signal.SIGTERM, 143, "terminated", "terminated" + HINT),
], ids=["sigint", "sigterm"])
def test_signal_then_resume(signum: int, code: int, status: str, line: str,
                            tmp_path: Path) -> None:
    box = make_sandbox(tmp_path / "sandbox")
    before = snapshot(box.root)
    process = start(box, list(LONG))
    parts = box.work / "res" / "parts"
    deadline = time.monotonic() + 120
    while not any(parts.glob("*/*.done")):
        if process.poll() is not None:
            pytest.fail(f"finished before the signal: {process.communicate()}")
        if time.monotonic() > deadline:
            kill(process)
            pytest.fail("no replication finished in time")
        time.sleep(0.01)
    process.send_signal(signum)
    stdout, stderr = finish(process, 120)
    assert process.returncode == code, stderr
    check_output(code, stdout, stderr)
    assert stderr == f"{line}\n"
    manifest = json.loads((box.work / "res" / "manifest.json").read_text())
    assert manifest["status"] == status
    assert 1 <= sum(manifest["finished"].values()) < 12
    assert not outside(changes(before, snapshot(box.root)), "res")

    process = start(box, [*LONG, "--resume"])
    stdout, stderr = finish(process, 180)
    assert process.returncode == 0, stderr
    check_output(0, stdout, stderr)
    manifest = json.loads((box.work / "res" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert sum(manifest["finished"].values()) == 12
    assert not outside(changes(before, snapshot(box.root)), "res")
