"""CSV files' rows (``catalog.rows.iter_rows``), streamed with the line each record starts on: the header checked
(columns named twice, the wrong separator, a column missing), cells that are not UTF-8, and the csv module's errors
put into words."""

import csv
import io
import re
from collections.abc import Iterator
from typing import IO, Any

from catalog.errors import CatalogError, Problem
from catalog.row_keys import Row, _is_known
from catalog.text_files import _bytes_shown, undecodable

CSV_CELL_LIMIT = 16 * 1024 * 1024  # characters in one cell (the csv module's default, 128 KB, is short for a post)


def _plain_name(name: str) -> str:
    """A column name as perkmatch writes its fields: "Perk ID", "Perk-ID" and "PERK_ID" are "perk_id"."""
    return re.sub(r"[\s\-]+", "_", name.strip()).lower()


def _csv_rows(path: str, handle: IO[str], columns: tuple[str, ...], known: frozenset[str] | None) -> Iterator[Row]:
    csv.field_size_limit(max(csv.field_size_limit(), CSV_CELL_LIMIT))
    records = _csv_records(path, csv.reader(handle, strict=True))
    start, fieldnames = next(records, (1, []))
    names = [name.strip() for name in fieldnames]
    twice = sorted({name for name in names if name and names.count(name) > 1 and _is_known(name, known)})
    wrong = next((w for w in map(undecodable, names) if w), None)
    if wrong:
        raise CatalogError(f"{path}, line {start} (the header): {wrong}")
    separator = next((s for s in (";", "\t") if len(names) == 1 and s in names[0]), None)
    if separator:
        raise CatalogError(f"{path}, line {start}: the header is one column, {names[0]!r}: its names are separated by "
                           f"{separator!r}, not commas; save the file as comma-separated CSV")
    if twice:
        raise CatalogError(f"{path}, line {start}: the header names {', '.join(map(repr, twice))} more than once; "
                           "give each column once")
    missing = [c for c in columns if c not in names]
    if names and missing:
        otherwise = [f"{n!r} to {c!r}" for c in missing for n in names if _plain_name(n) == c]
        said = f" (rename {', '.join(otherwise)}: names are lower case, _ between words)" if otherwise else ""
        raise CatalogError(f"{path}, line {start}: the header has no column {', '.join(map(repr, missing))}{said}; "
                           f"the first line must name the columns ({', '.join(columns)}, ...)")
    for line, cells in records:
        row: dict[Any, Any] = dict(zip(fieldnames, cells, strict=False))
        if len(cells) > len(fieldnames):
            row[None] = cells[len(fieldnames):]
            yield line, Problem(path, line, "", "more cells than the header has columns; quote cells with commas",
                                _as_written(fieldnames, row))
            continue
        undecoded = [(k, w) for k, v in row.items() if isinstance(v, str) and (w := undecodable(v))]
        if undecoded:
            yield line, Problem(path, line, str(undecoded[0][0]).strip(), undecoded[0][1], _as_written(fieldnames, row))
            continue
        yield line, {k.strip(): v for k, v in row.items() if k and v.strip() != ""}


def _csv_records(path: str, reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(the line a record starts on, its cells) for each record that is not a blank line: a quoted cell may hold
    line breaks, so a record can end lines after it starts, and a problem is named where the record starts."""
    end = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CatalogError(_csv_error(path, end + 1, reader.line_num, exc)) from None
        start, end = end + 1, reader.line_num
        if cells:
            yield start, cells


def _csv_error(path: str, start: int, found: int, exc: csv.Error) -> str:
    """The message for a record the csv module cannot read, which starts on line ``start``."""
    where = f"{path}, line {start}" + (f" (the record read on to line {found})" if found > start else "")
    reason = str(exc)
    if "field larger than field limit" in reason:
        return (f"{where}: a cell is longer than {csv.field_size_limit():,} characters, the most one cell may hold; "
                "shorten it (or, if it should not be that long, close the quote that opens it)")
    if "unexpected end of data" in reason:
        return (f"{where}: a quoted cell is never closed (the file ends inside it); end the cell with \", and write "
                "each \" inside a cell as \"\"")
    if "expected after" in reason:
        return (f"{where}: a cell goes on after its closing quote ({reason}); quote the whole cell and write each "
                "\" inside it as \"\" (a quote opened earlier and never closed reads on into the next lines)")
    return f"{where}: not valid CSV ({reason}); check its quotes and delimiters"


def _as_written(names: list[str] | Any, row: dict[Any, Any]) -> str:
    """A CSV row that cannot be used, as one CSV line again (kept in the reject file; undecodable bytes escaped)."""
    written = io.StringIO()
    csv.writer(written).writerow([*(row.get(k) or "" for k in names), *row.get(None, [])])
    return _bytes_shown(written.getvalue().rstrip("\r\n"))
