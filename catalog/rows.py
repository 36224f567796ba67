"""Read rows from JSON Lines, CSV, YAML or JSON files (optionally gzipped, or '-' for stdin).

Every row comes with its line number, so a problem can always be traced to the place in the file.
JSON Lines and CSV are streamed; YAML and JSON documents are read whole (catalogs and taxonomies).
"""

import csv
import gzip
import io
import json
import os
import re
import reprlib
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from catalog.errors import CatalogError, DamagedFileError, Problem

STREAM_FORMATS = ("jsonl", "csv")
DOCUMENT_FORMATS = ("yaml", "json")
ALL_FORMATS = STREAM_FORMATS + DOCUMENT_FORMATS
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".yaml": "yaml", ".yml": "yaml",
               ".json": "json", ".tsv": "tsv"}

M = TypeVar("M", bound=BaseModel)
Row = tuple[int, dict[str, Any] | Problem]


def file_format(path: str, formats: tuple[str, ...] = ALL_FORMATS) -> str:
    """The format named by the file's extension ('.gz' is looked through); '-' is JSON Lines. An unknown extension is
    an error naming those of ``formats``."""
    if path == "-":
        return "jsonl"
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        named = f" ({suffixes[-1]})" if suffixes else " (it has none)"
        raise CatalogError(f"{path}: cannot tell the format from the extension{named}; name the file for what it "
                           f"holds: {extensions(formats)} (optionally with .gz)")
    return fmt


def extensions(formats: tuple[str, ...]) -> str:
    """The extensions of ``formats``, for a message: ".jsonl, .ndjson, .csv or .json"."""
    names = [ext for ext, fmt in _EXTENSIONS.items() if fmt in formats]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)


def check_file(path: str, formats: tuple[str, ...] = ALL_FORMATS) -> None:
    """Raise a CatalogError naming the path and the fix unless it is a file that can be opened ('-' always is)."""
    if path == "-":
        return
    if not path:
        raise CatalogError(f"no file given (an empty path); give the path of a {extensions(formats)} file")
    try:
        p = Path(path)
        if not p.exists():
            raise CatalogError(f"{path}: no such file; check the path")
        if p.is_dir():
            raise CatalogError(f"{path}: is a folder, not a file; give the path of one {extensions(formats)} file "
                               "in it")
    except OSError as exc:  # a name too long, a folder that cannot be entered, ...
        raise CatalogError(f"{path}: cannot be opened ({exc.strerror or exc}); check the path") from None


def open_text(path: str) -> IO[str]:
    """Open a text file for reading; '.gz' is decompressed, '-' is standard input. A UTF-8 byte order mark at the
    start is skipped, on standard input too."""
    # newline="" everywhere: line ends are left as written, so a CRLF inside a quoted CSV cell is the same text read
    # from a file, a .gz or standard input (the csv module and the JSON readers split records themselves)
    if path == "-":
        if sys.stdin.closed:
            raise CatalogError("-: standard input was read already (it can be read once); give the data as a file")
        stdin = sys.stdin.buffer if isinstance(sys.stdin.buffer, io.BufferedReader) else io.BufferedReader(
            sys.stdin.buffer)  # type: ignore[type-var]  # (typed BinaryIO, no readinto) (peek: a pipe's first bytes, unread)
        if stdin.peek(2)[:2] == b"\x1f\x8b":  # gzip's magic number
            raise CatalogError("-: standard input is gzip-compressed; give the .gz file's path instead, or decompress "
                               "it into the pipe (`zcat FILE.gz | perkmatch ...`)")
        return io.TextIOWrapper(stdin, encoding="utf-8-sig", errors="surrogateescape", newline="")
    check_file(path)
    try:
        if path.lower().endswith(".gz"):
            return io.TextIOWrapper(io.BufferedReader(_Gunzipped(path), 64 * 1024), encoding="utf-8-sig",
                                    errors="surrogateescape", newline="")
        return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:  # no permission, ...
        raise CatalogError(f"{path}: cannot be opened ({exc.strerror or exc}); check the file's permissions") from None


class _Gunzipped(io.RawIOBase):
    """A .gz file's data. Damage found while reading it (corrupt data, a wrong checksum, a cut-off end, not gzip at
    all) is a DamagedFileError naming the file, whoever reads it, instead of zlib's or gzip's own exception."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.file = gzip.open(path, "rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self.file.readinto(buffer)
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise DamagedFileError(self.path, str(exc), located=isinstance(exc, EOFError | zlib.error)) from None

    def close(self) -> None:
        self.file.close()
        super().close()


def undecodable(text: str) -> str | None:
    """What is wrong with text read from a file that is not all UTF-8 (``open_text`` keeps such bytes as lone
    surrogates rather than silently replacing them), or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = ord(text[exc.start]) - 0xDC00
        return (f"not valid UTF-8 (byte 0x{byte:02x} at character {exc.start + 1}"
                f"{'' if 0 <= byte <= 0xFF else ', or half of a character'}); save the file as UTF-8")
    return None


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


class _Repeated(dict[str, Any]):
    """A JSON object that gives keys twice (``json`` would silently keep the last): ``repeated`` are the keys, in
    the order their second use comes."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    twice = []
    for key, _ in pairs:
        if key in seen:
            twice.append(key)
        seen.add(key)
    repeated = _Repeated(obj)
    repeated.repeated = tuple(twice)
    return repeated


def _is_known(key: str, known: frozenset[str] | None) -> bool:
    return known is None or key.strip() in known


def _repeated(path: str, line: int, obj: dict[str, Any], known: frozenset[str] | None) -> Problem | None:
    if isinstance(obj, _Repeated):
        key = next((k for k in obj.repeated if _is_known(k, known)), None)
        if key is not None:
            return Problem(path, line, key, "given twice in this object; keep one")
    return None


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


def _bytes_shown(text: str) -> str:
    """Text as read, with bytes that were not UTF-8 written as \\xNN escapes (a reject file is UTF-8)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser (~8x faster) where it is built in


def _document_text(path: str, text: str) -> str:
    """A whole YAML or JSON document's text, which must be all UTF-8."""
    wrong = undecodable(text)
    if wrong:
        first = next(i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff")
        raise CatalogError(f"{path}, line {text.count(chr(10), 0, first) + 1}: {wrong}")
    return text


def _yaml_rows(path: str, text: str, texts: tuple[str, ...], known: frozenset[str] | None) -> Iterator[Row]:
    loader = SAFE_LOADER(_document_text(path, text))
    try:
        node = loader.get_single_node()
        if node is None:
            return
        if isinstance(node, yaml.MappingNode):
            node = _unwrap_mapping(loader, node, known)
        keys = [str(k.value) for k, _ in node.value if isinstance(k, yaml.ScalarNode)] if isinstance(
            node, yaml.MappingNode) else []
        if isinstance(node, yaml.MappingNode) and known is not None and not set(keys) & known:  # (a list under
            raise CatalogError(f"{path}: expected a YAML list of items (- key: value ...), or one item given alone; "
                               f"its top level names {', '.join(map(repr, keys[:5]))}, none of them a field: put the "
                               "list at the top level, or under 'perks:' or 'topics:'")  # another key, not a row)
        if not isinstance(node, yaml.SequenceNode | yaml.MappingNode):
            raise CatalogError(f"{path}: expected a YAML list of items (- key: value ...)")
        for item in node.value if isinstance(node, yaml.SequenceNode) else [node]:  # an item given alone, as JSON's
            line = item.start_mark.line + 1
            repeated = _repeated_key(item, known)
            if repeated:
                yield line, Problem(path, repeated[1], repeated[0], f"given twice in this item (first on line "
                                    f"{repeated[2]}); keep one")
                continue
            try:
                obj = loader.construct_object(item, deep=True)
            except ValueError as exc:  # a value YAML reads itself, such as an impossible date (2026-02-30)
                field, at = _unreadable(loader, item, line)
                yield line, Problem(path, at, field, f"a value YAML cannot read ({exc}); fix it, or quote it")
                continue
            if isinstance(obj, dict):
                yield line, {str(k): v for k, v in obj.items()} | _as_written_numbers(item) | _as_written_texts(item,
                                                                                                            texts)
            else:
                yield line, Problem(path, line, "", "expected a mapping (key: value) for this item")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise CatalogError(f"{path}, line {line}: not valid YAML ({exc}); fix the syntax") from exc
    except RecursionError as exc:
        raise CatalogError(f"{path}: nested too deeply to read; give a flat list of items") from exc
    finally:
        loader.dispose()


def _repeated_key(item: yaml.Node, known: frozenset[str] | None) -> tuple[str, int, int] | None:
    """A known key an item gives twice, with the lines of its second and first use (YAML would silently keep the
    last)."""
    if not isinstance(item, yaml.MappingNode):
        return None
    seen: dict[str, int] = {}
    for key, _ in item.value:
        if isinstance(key, yaml.ScalarNode) and key.value != "<<":
            if key.value in seen and _is_known(key.value, known):
                return key.value, key.start_mark.line + 1, seen[key.value]
            seen[key.value] = key.start_mark.line + 1
    return None


def _unreadable(loader: Any, item: yaml.Node, line: int) -> tuple[str, int]:
    """The field of an item whose value YAML cannot read, and its line (else no field, and the item's line)."""
    if isinstance(item, yaml.MappingNode):
        for key, value in item.value:
            loader.recursive_objects.clear()  # the failed construction left its nodes marked as under way
            try:
                loader.construct_object(value, deep=True)
            except ValueError:
                return str(key.value) if isinstance(key, yaml.ScalarNode) else "", value.start_mark.line + 1
    return "", line


_YAML_STR, _YAML_NULL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null"


def _as_written_texts(item: yaml.Node, texts: tuple[str, ...]) -> dict[str, Any]:
    """The unquoted scalars of ``texts`` fields (or of their lists) that YAML would read as something other than
    text (a number, a date, yes/no), as written: an id ``0123`` is not 83, a brand ``Yes`` is not True, and the
    region ``NO`` (Norway) is not False."""
    if not texts or not isinstance(item, yaml.MappingNode):
        return {}
    out: dict[str, Any] = {}
    for key, value in item.value:
        if not (isinstance(key, yaml.ScalarNode) and key.value in texts):
            continue
        if isinstance(value, yaml.ScalarNode) and _retyped(value):
            out[key.value] = value.value
        elif (isinstance(value, yaml.SequenceNode) and all(isinstance(v, yaml.ScalarNode) for v in value.value)
              and any(_retyped(v) for v in value.value)):
            out[key.value] = [None if v.tag == _YAML_NULL and not v.style else v.value for v in value.value]
    return out


_YAML_INT = "tag:yaml.org,2002:int"
_NOT_DECIMAL = re.compile(r"[-+]?0[0-9a-zA-Z_]|.*:")  # 010, 0x10, 0o17, 0b11 and 1:30 (YAML 1.1's base 60)


def _as_written_numbers(item: yaml.Node) -> dict[str, Any]:
    """The plain scalars YAML 1.1 reads as integers in another base, as written: ``quantity: 010`` is 10 units, as
    the same cell in a CSV file is (YAML read it as octal 8, silently), and ``0x10`` or ``1:30`` is refused by the
    field, naming it, instead of read as 16 or 90."""
    if not isinstance(item, yaml.MappingNode):
        return {}
    return {key.value: value.value for key, value in item.value
            if isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode) and not value.style
            and value.tag == _YAML_INT and _NOT_DECIMAL.match(value.value)}


def _retyped(node: yaml.ScalarNode) -> bool:
    """A plain scalar YAML reads as something other than text (its null, empty, stays None)."""
    return not node.style and node.tag not in (_YAML_STR, _YAML_NULL)


def _unwrap_mapping(loader: Any, node: yaml.MappingNode, known: frozenset[str] | None) -> yaml.Node:
    values = {loader.construct_object(key): value for key, value in node.value}
    kinds = {k: "rows" if isinstance(v, yaml.SequenceNode) and v.value and all(
        isinstance(item, yaml.MappingNode) for item in v.value) else "other" for k, v in values.items()}
    key = _holder(kinds, known)
    return node if key is None else values[key]


_LISTS = ("topics", "perks", "items", "users", "posts")  # the key of an object that holds the list of rows


def _holder(kinds: dict[Any, str], known: frozenset[str] | None) -> str | None:
    """Which key of a top-level object holds the list of rows (``kinds``: each key's value, "rows" for a list of
    objects); None when the object is a row itself. A row may have a field named as such a key (a perk's ``topics``,
    a list of topic ids): before, that list was read as the rows, and a perk given alone was refused."""
    listed = [k for k in _LISTS if k in kinds]
    rows = next((k for k in listed if kinds[k] == "rows"), None)
    if rows is not None:
        return rows
    own = {k for k in kinds if k not in _LISTS}
    if own & (known if known is not None else own):  # fields of its own: a row
        return None
    return listed[0] if listed else None  # (a list of something else: each item is refused, naming its line)


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


def field_key(key: str) -> str:
    """A field's name as the near-miss checks compare it ("End Date", "end-date" -> "end_date")."""
    return key.strip().lower().replace("-", "_").replace(" ", "_")


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
            problems.append(Problem(path, line, field, f"{message}{'; ' + hint if hint else ''}"))
        return problems
