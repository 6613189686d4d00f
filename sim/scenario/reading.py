"""Reading one scenario file safely: bounded, regular files only, clear TOML errors.

The size is checked with ``stat`` before anything is read and at most
``MAX_FILE_BYTES + 1`` bytes are ever read, so a huge or sparse file, a file that
grows while it is read, a FIFO or a device (``/dev/zero``) cannot fill memory or
block. Every failure is one :class:`~sim.errors.ScenarioError` line.
"""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from sim.errors import Problem, ScenarioError

__all__ = ["read_toml", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 5_000_000


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file into a dict, with errors as ScenarioError (file, line, column).

    The size is checked before anything is read, and at most ``MAX_FILE_BYTES + 1``
    bytes are read, so a huge (or sparse) file, a FIFO or a device never fills memory
    or blocks. A UTF-8 byte-order mark at the start, as some editors write, is ignored.

    Args:
        path: The file.

    Raises:
        ScenarioError: Unreadable, not a regular file, binary, empty, too large, or not
            valid TOML.
    """
    name = str(path)
    raw = _read_limited(path, name)
    if b"\x00" in raw:
        raise ScenarioError(f"{name}: binary data, not a TOML text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(Problem("not UTF-8 text (is this a binary file?)", file=name,
                                    line=line)) from None
    text = text.removeprefix(_BOM)  # TOML has no BOM, but Windows editors write one
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise ScenarioError(Problem("empty scenario file: expected at least a [scenario] table",
                                    file=name))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(_toml_problem(exc, name)) from None
    except (RecursionError, ValueError) as exc:  # pathological nesting, huge numbers
        raise ScenarioError(Problem(f"invalid TOML: {exc}", file=name)) from None


_BOM = "\ufeff"


def _too_large(name: str, size: int | str) -> ScenarioError:
    shown = f"{size:,} bytes" if isinstance(size, int) else size
    return ScenarioError(f"{name}: file is {shown}; a scenario is at most "
                         f"{MAX_FILE_BYTES:,} bytes")


def _read_limited(path: Path, name: str) -> bytes:
    """The file's bytes, refusing folders, non-regular files and files over the limit."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ScenarioError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(f"{name}: is a folder, not a scenario file")
    if not stat.S_ISREG(info.st_mode):
        # a FIFO would block and a device (/dev/zero) never ends
        raise ScenarioError(f"{name}: not a regular file (a pipe, device or socket); "
                            "give a scenario file")
    if info.st_size > MAX_FILE_BYTES:
        raise _too_large(name, info.st_size)
    try:
        with path.open("rb") as handle:
            # the file may have grown since stat: never read more than the limit + 1
            raw = handle.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        raise ScenarioError(f"{name}: is a folder, not a scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise _too_large(name, f"more than {MAX_FILE_BYTES:,} bytes")
    return raw


_AT_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_EOD_RE = re.compile(r"\s*\(at end of document\)\s*$")


def _toml_problem(exc: tomllib.TOMLDecodeError, file: str) -> Problem:
    message = str(exc.msg if hasattr(exc, "msg") else exc)
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "colno", None)
    match = _AT_RE.search(message)
    if match:
        line, column = int(match.group(1)), int(match.group(2))
        message = message[: match.start()]
    message = _EOD_RE.sub(" at end of file", message)
    return Problem(f"TOML syntax error: {message}", file=file, line=line, column=column)
