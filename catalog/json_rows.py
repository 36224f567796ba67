"""JSON Lines files' rows, streamed, and a JSON document's rows, read whole (``catalog.rows.iter_rows``), each with
the line it starts on (a pretty-printed list spreads an item over many lines)."""

import json
import re
from collections.abc import Iterator
from typing import IO

from catalog.errors import CatalogError, Problem
from catalog.row_keys import Row, _holder, _object, _repeated
from catalog.text_files import _bytes_shown, _document_text, undecodable


def _jsonl_rows(path: str, handle: IO[str], known: frozenset[str] | None) -> Iterator[Row]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        wrong = undecodable(line)
        if wrong:
            yield number, Problem(path, number, "", wrong, _bytes_shown(line.rstrip("\r\n")))
            continue
        try:
            obj = json.loads(line, object_pairs_hook=_object)
        except ValueError as exc:
            yield number, Problem(path, number, "", f"not valid JSON ({exc}); each line must be one object",
                                  line.rstrip("\r\n"))
            continue
        except RecursionError:
            yield number, Problem(path, number, "", "nested too deeply to read; each line must be one flat object",
                                  line.rstrip("\r\n"))
            continue
        if isinstance(obj, dict):
            yield number, _repeated(path, number, obj, known) or obj
        else:
            yield number, Problem(path, number, "", "expected a JSON object {...} on this line", line.rstrip("\r\n"))


def _json_rows(path: str, text: str, known: frozenset[str] | None) -> Iterator[Row]:
    if not text.strip():
        raise CatalogError(f"{path}: the file is empty; a JSON file holds a list of objects ([] for none)")
    try:
        doc = json.loads(_document_text(path, text), object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno}); fix the "
                           "syntax") from exc
    except ValueError as exc:
        raise CatalogError(f"{path}: not valid JSON ({exc}); fix the syntax") from exc
    except RecursionError as exc:
        raise CatalogError(f"{path}: nested too deeply to read; give a flat list of objects") from exc
    key = _holder({k: "rows" if isinstance(v, list) and v and all(isinstance(i, dict) for i in v) else "other"
                   for k, v in doc.items()}, known) if isinstance(doc, dict) else None
    if isinstance(doc, dict):
        doc = doc[key] if key else [doc]
    if not isinstance(doc, list):
        raise CatalogError(f"{path}: expected a JSON list of objects")
    lines = _item_lines(text, key)
    for number, obj in enumerate(doc, start=1):
        line = lines[number - 1] if lines else number
        if isinstance(obj, dict):
            yield line, _repeated(path, line, obj, known) or obj
        else:
            yield line, Problem(path, line, "", "expected a JSON object in the list")


_SPACE = re.compile(r"[ \t\r\n]*")


def _skip(text: str, i: int) -> int:
    """The index of the first character from ``i`` on that is not JSON whitespace."""
    space = _SPACE.match(text, i)
    return space.end() if space else i


def _item_lines(text: str, key: str | None) -> list[int] | None:
    """The line each item of the document's list starts on: the top-level list, or the one the top-level object
    holds under ``key`` (a pretty-printed list spreads an item over many lines: counting items would point at the
    wrong place); one line for an object that is the only item; None if the walk fails."""
    decoder = json.JSONDecoder()
    out: list[int] = []
    try:
        i = _value_start(text, key, decoder)
        if text[i] == "{":
            return [text.count("\n", 0, i) + 1]
        i, line, counted = i + 1, 1, 0
        while True:
            i = _skip(text, i)
            if text[i] == ",":
                i = _skip(text, i + 1)
            if text[i] == "]":
                return out
            line, counted = line + text.count("\n", counted, i), i  # counted on from the last item: linear time
            out.append(line)
            _, i = decoder.raw_decode(text, i)
    except (ValueError, IndexError):
        return None


def _value_start(text: str, key: str | None, decoder: json.JSONDecoder) -> int:
    """Where the document's value starts or, with ``key``, where the value the top-level object gives that key
    starts (its last, as json keeps)."""
    i, found = _skip(text, 0), -1
    if key is None:
        return i
    i = _skip(text, i + 1)
    while text[i] != "}":
        name, i = decoder.raw_decode(text, i)
        i = _skip(text, _skip(text, i) + 1)  # past the ':'
        if name == key:
            found = i
        _, i = decoder.raw_decode(text, i)
        i = _skip(text, i)
        if text[i] == ",":
            i = _skip(text, i + 1)
    if found < 0:
        raise ValueError(key)
    return found
