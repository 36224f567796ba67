"""Exceptions of the catalog package."""

from dataclasses import dataclass

MAX_LISTED = 25


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
    """An input file has rows that cannot be used; nothing from it was stored."""

    def __init__(self, path: str, problems: list[Problem], hint: str = "") -> None:
        self.path = path
        self.problems = problems
        shown = "\n  ".join(str(p) for p in problems[:MAX_LISTED])
        more = len(problems) - MAX_LISTED
        text = f"{path}: {len(problems)} problem(s), nothing was stored:\n  {shown}"
        if more > 0:
            text += f"\n  ... and {more} more"
        if hint:
            text += f"\n{hint}"
        super().__init__(text)


class UnknownTopicError(CatalogError):
    """A perk names a topic the taxonomy does not have, or a sensitive one."""


class UnknownPerkError(CatalogError):
    """No perk with that id was ever in the catalog."""
