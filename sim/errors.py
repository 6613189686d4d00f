r"""The one error users see for bad input: :class:`ScenarioError`.

Every malformed scenario file, override, sweep range or targets file ends in a
``ScenarioError``. It carries one :class:`Problem` per thing that is wrong, each
with where it is (file, line and column for TOML syntax, or a dotted path for a
schema error), what was expected and, where one exists, a did-you-mean
suggestion. ``str(error)`` is one line for one problem and a short list for
several, ready to print to stderr without a traceback.

Everything a problem shows is passed through :func:`printable`: a name, key or
file name holding a newline, a carriage return, an ANSI escape sequence or
another control character is shown escaped (``\n``, ``\x1b``), so it can
neither split a problem into two lines nor reach the terminal raw.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Problem", "ScenarioError", "suggest", "did_you_mean", "printable"]

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char.isprintable():
        return char
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object) -> str:
    r"""Return ``text`` with control characters escaped, safe to print as one line.

    Args:
        text: Any value; it is converted with ``str``.

    Returns:
        The text with every character Python does not consider printable (newlines,
        carriage returns, tabs, ANSI escapes and other control characters, Unicode line
        separators, bidirectional overrides) written as ``repr`` would write it: ``\n``,
        ``\x1b``, ``\u202e``. Everything else, spaces included, is unchanged.

    Example:
        >>> printable("Evil\nName\x1b[31m")
        'Evil\\nName\\x1b[31m'
    """
    text = str(text)
    if text.isprintable():  # the common case: nothing to escape
        return text
    return "".join(_escape(c) for c in text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input.

    Attributes:
        message: What is wrong and what was expected.
        file: The file it comes from, if known.
        path: Dotted path of the field (``vendors.Meta.openness``), if any.
        line: 1-based line in ``file`` (TOML syntax errors).
        column: 1-based column in ``file``.
        suggestion: A did-you-mean hint, without the question mark.
    """

    message: str
    file: str | None = None
    path: str | None = None
    line: int | None = None
    column: int | None = None
    suggestion: str | None = None

    def where(self) -> str:
        """Return ``file:line:col: path`` style location text (may be empty)."""
        parts: list[str] = []
        if self.file:
            loc = self.file
            if self.line is not None:
                loc += f":{self.line}"
                if self.column is not None:
                    loc += f":{self.column}"
            parts.append(loc)
        if self.path:
            parts.append(self.path)
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return printable(text)


class ScenarioError(ValueError):
    """Bad input: a scenario, override, sweep range or targets file.

    Args:
        problems: One or more problems, or a plain message.
        file: Default file for problems that do not name one.

    Example:
        >>> err = ScenarioError([Problem("must be > 1", path="segments.enterprise.alpha")])
        >>> str(err)
        'segments.enterprise.alpha: must be > 1'
    """

    #: how many problems are listed before "... and N more"
    MAX_LISTED = 8

    def __init__(self, problems: str | Problem | Iterable[Problem], file: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(problems, file=file)]
        elif isinstance(problems, Problem):
            problems = [problems]
        items = []
        for p in problems:
            if file and p.file is None:
                p = Problem(p.message, file, p.path, p.line, p.column, p.suggestion)
            items.append(p)
        self.problems: tuple[Problem, ...] = tuple(items) or (Problem("invalid input", file),)
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        shown = self.problems[: self.MAX_LISTED]
        lines = [f"{len(self.problems)} problems:"] + [f"  - {p}" for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"  ... and {len(self.problems) - len(shown)} more")
        return "\n".join(lines)

    @property
    def file(self) -> str | None:
        """The file of the first problem, if any."""
        return self.problems[0].file

    @property
    def path(self) -> str | None:
        """The dotted path of the first problem, if any."""
        return self.problems[0].path


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """Return the closest of ``choices`` to ``word``, or None if none is close.

    Args:
        word: What the user wrote.
        choices: What would have been valid.

    Returns:
        The best match, when it is similar enough to be a likely typo.
    """
    options = [str(c) for c in choices]
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return lowered[word.lower()]
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not match:
        match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        match = [lowered[m] for m in match]
    return match[0] if match else None


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` or an empty string."""
    hit = suggest(word, choices)
    return f" (did you mean {hit!r}?)" if hit else ""
