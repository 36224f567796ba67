"""Read rows from JSON Lines, CSV, YAML or JSON files (optionally gzipped, or '-' for stdin).

Every row comes with its line number, so a problem can always be traced to the place in the file.
JSON Lines and CSV are streamed; YAML and JSON documents are read whole (catalogs and taxonomies).

Here: ``iter_rows``, which reads any of them, and ``validate``, which checks a row with a pydantic model. The rest
is in modules of its own, importable from here as before: finding and opening a file in ``catalog.text_files``,
what every reader checks of a row's keys in ``catalog.row_keys``, and each format's reader in ``catalog.csv_rows``,
``catalog.json_rows`` and ``catalog.yaml_rows``.
"""

import difflib
import os
import reprlib
from collections.abc import Iterator, Mapping
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ValidationError

from catalog.csv_rows import CSV_CELL_LIMIT, _csv_rows
from catalog.errors import CatalogError, DamagedFileError, Problem
from catalog.json_rows import _json_rows, _jsonl_rows
from catalog.row_keys import Row
from catalog.text_files import (
    ALL_FORMATS,
    DOCUMENT_FORMATS,
    STREAM_FORMATS,
    check_file,
    extensions,
    file_format,
    open_text,
    undecodable,
)
from catalog.yaml_rows import SAFE_LOADER, _yaml_rows, field_line

__all__ = ["ALL_FORMATS", "CSV_CELL_LIMIT", "DOCUMENT_FORMATS", "SAFE_LOADER", "STREAM_FORMATS", "Row", "check_file",
           "extensions", "field_key", "file_format", "iter_rows", "meant_by", "meant_ids", "open_text", "undecodable",
           "validate"]


M = TypeVar("M", bound=BaseModel)


def iter_rows(path: str | os.PathLike[str], formats: tuple[str, ...] = ALL_FORMATS, columns: tuple[str, ...] = (),
              texts: tuple[str, ...] = (), known: frozenset[str] | None = None) -> Iterator[Row]:
    """Yield (line, row) for every row, or (line, Problem) where a row cannot be parsed. A CSV file's header must
    name ``columns`` (else its first row may have been taken for the header). In YAML, the fields named in ``texts``
    keep their text as written when unquoted (``0123``, ``yes``, ``1.10``: not 83, True, 1.1). A field given twice in
    a row (a CSV column named twice) is a problem when it is one of the ``known`` fields (None: any field): which of
    its values was meant cannot be told; an unknown extra field given twice keeps its last value, never an error."""
    path = os.fspath(path)
    check_file(path, formats)
    fmt = file_format(path, formats)
    if fmt not in formats:
        raise CatalogError(f"{path}: a {fmt.upper()} file is not accepted here; give a {extensions(formats)} file "
                           "(optionally with .gz)")
    last = 0  # the last line read whole, for a damaged .gz: how far it could be read
    with open_text(path) as handle:
        try:
            for last, row in _rows(fmt, path, handle, columns, texts, known):
                yield last, row
        except DamagedFileError as exc:
            raise exc.after(last) from None
        except OSError as exc:
            raise CatalogError(f"{path}: cannot be read ({exc}); is the file complete?") from exc


def _rows(fmt: str, path: str, handle: IO[str], columns: tuple[str, ...], texts: tuple[str, ...],
          known: frozenset[str] | None) -> Iterator[Row]:
    if fmt == "jsonl":
        return _jsonl_rows(path, handle, known)
    if fmt == "csv":
        return _csv_rows(path, handle, columns, known)
    return _yaml_rows(path, handle.read(), texts, known) if fmt == "yaml" else _json_rows(path, handle.read(), known)


def field_key(key: str) -> str:
    """A field's name as the near-miss checks compare it ("End Date", "end-date" -> "end_date")."""
    return key.strip().lower().replace("-", "_").replace(" ", "_")


def meant_by(key: str, meant: Mapping[str, tuple[str, ...]]) -> str | None:
    """The field a key plainly means, by ``meant`` (each field read, the other names it is given by; its own name
    written otherwise, "End Date" for ``end_date``, counts too): by name only, never by spelling alone."""
    name = field_key(key)
    return next((wanted for wanted, names in meant.items() if name == wanted or name in names), None)


def meant_ids(given: str, names: Mapping[str, str]) -> list[str]:
    """The ids (``names``: each id's name, in the order to offer them) that ``given``, not one of them, most likely
    means, at most 3: those it names in another case, by id or by name (every id of a name several share), else those
    close to it in spelling (a typo)."""
    wanted = given.strip().casefold()
    exact = [i for i, name in names.items() if wanted in (i.casefold(), name.casefold())]
    if exact:
        return exact[:3]
    keys: dict[str, str] = {}
    for i, name in names.items():
        keys.setdefault(i.casefold(), i)
        if name:
            keys.setdefault(name.casefold(), i)
    return list(dict.fromkeys(keys[k] for k in difflib.get_close_matches(wanted, keys, n=5, cutoff=0.75)))[:3]


# the fix for a field of the wrong kind that has no hint of its own (a number where text goes, say)
_TYPE_HINTS = {"string_type": "give it as text, in quotes", "int_type": "give a whole number",
               "int_parsing": "give a whole number", "bool_type": "give true or false",
               "bool_parsing": "give true or false", "list_type": "give a list", "float_type": "give a number",
               "float_parsing": "give a number"}


_SHOWN = reprlib.Repr()  # (its limits as attributes: Python 3.11 takes none as arguments)
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxtuple, _SHOWN.maxset, _SHOWN.maxdict = 3, 8, 8, 8, 8
_SHOWN.maxstring = _SHOWN.maxother = 60


def _shown(value: Any) -> str:
    """A wrong value as an error quotes it: its first 60 characters, reached without writing the whole value out (a
    YAML file's aliases can make a list of 10⁸ items from a few lines, and ``str`` of it took gigabytes, then a
    MemoryError's traceback)."""
    return (value if isinstance(value, str) else _SHOWN.repr(value))[:60]


def validate(path: str, line: int, row: dict[str, Any], model: type[M], hints: dict[str, str]) -> M | list[Problem]:
    """Validate one row with a pydantic model; on failure return its problems, each with a fix."""
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(x) for x in err["loc"]) or ""
            top = str(err["loc"][0]) if err["loc"] else ""
            message = err["msg"].removeprefix("Value error, ")  # pydantic's wording for a validator's own message
            if err["type"] != "missing" and "input" in err and not isinstance(err["input"], dict):
                message += f" (got {_shown(err['input'])!r})"
            hint = hints.get(top, "") or _TYPE_HINTS.get(err["type"], "")
            problems.append(Problem(path, field_line(line, top), field, f"{message}{'; ' + hint if hint else ''}"))
        return problems
