"""What a command prints (``matcher.cli.common`` re-exports it): the consoles for stdout and stderr, tables, JSON
Lines, progress bars."""

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
from rich.console import Console


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away: exit as every other output does then (``handled``: 141), not with rich's 1."""
        raise BrokenPipeError


# markup off: ids, names, titles and paths are people's text, and rich read "[x]" in them as a style (it vanished)
# or "[/x]" as a closing tag (a MarkupError traceback); styled lines say markup=True and escape what they quote
out = _Console(soft_wrap=True, highlight=False, markup=False)
err = _Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def print_table(table: Any) -> None:
    """A rich table: fitted to the terminal, or, written to a pipe or a file, at its natural width (rich would
    squeeze it into 80 columns, cutting dates and paths short: "2026-1…")."""
    if out.is_terminal:
        out.print(table)
        return
    from rich.measure import Measurement

    width = Measurement.get(out, out.options.update(width=10_000), table).maximum
    _Console(width=max(width, out.width), highlight=False, soft_wrap=True, markup=False).print(table)  # (caps width)


def print_json(records: Iterable[dict[str, Any]] | dict[str, Any]) -> None:
    """One JSON object per line, each written as it comes (``records`` may be a generator)."""
    for record in [records] if isinstance(records, dict) else records:
        sys.stdout.write(orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")


@contextlib.contextmanager
def progress() -> Iterator[Callable[[str, int, int | None], None]]:
    """A rich progress bar on stderr; yields callback(stage, advance, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=err, transient=True, disable=not err.is_terminal)
    tasks: dict[str, Any] = {}

    def update(stage: str, advance: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], advance=advance, total=total)

    with bar:
        yield update
