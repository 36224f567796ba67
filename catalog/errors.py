"""Exceptions of the catalog package."""

from dataclasses import dataclass

MAX_LISTED = 25  # kinds of problem listed (one kind: one field with one message, on every line it is on)
MAX_RANGES = 40  # runs of lines listed for one kind of problem
PROBLEMS_KEPT = 100_000  # ingest stops collecting problems once it has this many (``matcher.ingest_report.Rejects``)


class CatalogError(Exception):
    """Base of every error the catalog package raises."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row of an input file."""

    path: str
    line: int
    field: str
    message: str
    text: str | None = None  # the row as written, when it could not be read as a row (kept in reject files)

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line else self.path
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class InputFileError(CatalogError):
    """An input file has rows that cannot be used; nothing from it was stored. The message lists every problem,
    each kind once (the same field with the same message) with every line it is on: 150 rows without a text are one
    line of the message naming lines 1-150, not 25 lines and "... and 125 more". From ``PROBLEMS_KEPT`` problems on,
    the list may have been cut short (ingest stops collecting there), so the count says "at least"."""

    def __init__(self, path: str, problems: list[Problem], hint: str = "") -> None:
        self.path = path
        self.problems = problems
        kinds: dict[tuple[str, str, str], list[int]] = {}
        for p in problems:
            kinds.setdefault((p.path, p.field, p.message), []).append(p.line)
        shown = "\n  ".join(_kind(*kind, lines) for kind, lines in list(kinds.items())[:MAX_LISTED])
        at_least = self.at_least
        text = f"{path}: {at_least}{len(problems)} problem(s), nothing was stored:\n  {shown}"
        if len(kinds) > MAX_LISTED:
            rest = sum(len(lines) for lines in list(kinds.values())[MAX_LISTED:])
            text += f"\n  ... and {at_least}{rest} more, of {len(kinds) - MAX_LISTED} other kind(s)"
        if hint:
            text += f"\n{hint}"
        super().__init__(text)

    @property
    def at_least(self) -> str:
        """The words "at least " where the list may have been cut short (``PROBLEMS_KEPT``), else nothing: a count of
        it is then not exact."""
        return "at least " if len(self.problems) >= PROBLEMS_KEPT else ""


def _kind(path: str, field: str, message: str, lines: list[int]) -> str:
    """One kind of problem with the lines it is on: as ``Problem`` says it when on one line."""
    if len(lines) == 1:
        return str(Problem(path, lines[0], field, message))
    runs: list[list[int]] = []
    for line in sorted(set(lines)):
        if runs and line == runs[-1][1] + 1:
            runs[-1][1] = line
        else:
            runs.append([line, line])
    listed = ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs[:MAX_RANGES])
    if len(runs) > MAX_RANGES:
        listed += f", and {sum(b - a + 1 for a, b in runs[MAX_RANGES:])} more lines"
    where = f"{path}, lines {listed} ({len(lines)} rows)" if all(lines) else path
    return f"{where}, field '{field}': {message}" if field else f"{where}: {message}"


class DamagedFileError(CatalogError):
    """A compressed input file cannot be read to its end: it is damaged or cut short."""

    def __init__(self, path: str, reason: str, located: bool = False, after_line: int = 0) -> None:
        self.path = path
        self.reason = reason
        self.located = located  # found where the data breaks off (else by a checksum at the end: anywhere before)
        where = f"{path}: cannot be read after line {after_line}" if after_line else f"{path}: cannot be read"
        super().__init__(f"{where} ({reason}); is the file complete? Its compressed data is damaged or cut short: "
                         "download or copy it again")

    def after(self, line: int) -> "DamagedFileError":
        """The same error, saying how far the file was read whole (``line``) when the damage was found there."""
        return DamagedFileError(self.path, self.reason, self.located, line if self.located else 0)


class WrongArgumentError(CatalogError, TypeError):
    """A function was given another kind of object than it takes; the message names the one to give."""


class UnknownTopicError(CatalogError):
    """A perk names a topic the taxonomy does not have, or a sensitive one."""


class UnknownPerkError(CatalogError):
    """No perk with that id was ever in the catalog."""
