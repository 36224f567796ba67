"""Exceptions of the catalog package."""

from dataclasses import dataclass

MAX_LISTED = 25
PROBLEMS_KEPT = 1000  # ingest stops collecting problems once it has this many (``matcher.ingest._Rejects``)


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
    """An input file has rows that cannot be used; nothing from it was stored. From ``PROBLEMS_KEPT`` problems on,
    the list may have been cut short (ingest stops collecting there), so the count says "at least"."""

    def __init__(self, path: str, problems: list[Problem], hint: str = "") -> None:
        self.path = path
        self.problems = problems
        shown = "\n  ".join(str(p) for p in problems[:MAX_LISTED])
        more = len(problems) - MAX_LISTED
        at_least = self.at_least
        text = f"{path}: {at_least}{len(problems)} problem(s), nothing was stored:\n  {shown}"
        if more > 0:
            text += f"\n  ... and {at_least}{more} more"
        if hint:
            text += f"\n{hint}"
        super().__init__(text)

    @property
    def at_least(self) -> str:
        """The words "at least " where the list may have been cut short (``PROBLEMS_KEPT``), else nothing: a count of
        it is then not exact."""
        return "at least " if len(self.problems) >= PROBLEMS_KEPT else ""


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


class UnknownTopicError(CatalogError):
    """A perk names a topic the taxonomy does not have, or a sensitive one."""


class UnknownPerkError(CatalogError):
    """No perk with that id was ever in the catalog."""
