"""Read rows from JSON Lines, CSV, YAML or JSON files (optionally gzipped, or '-' for stdin).

Every row comes with its line number, so a problem can always be traced to the place in the file.
JSON Lines and CSV are streamed; YAML and JSON documents are read whole (catalogs and taxonomies).
"""

import csv
import gzip
import io
import json
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


def file_format(path: str) -> str:
    """The format named by the file's extension ('.gz' is looked through); '-' is JSON Lines."""
    if path == "-":
        return "jsonl"
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise CatalogError(
            f"{path}: cannot tell the format from the extension; "
            "name the file .jsonl, .csv, .yaml, .yml or .json (optionally with .gz)"
        )
    return fmt


def open_text(path: str) -> IO[str]:
    """Open a text file for reading; '.gz' is decompressed, '-' is standard input. A UTF-8 byte order mark at the
    start is skipped, on standard input too."""
    # newline="" everywhere: line ends are left as written, so a CRLF inside a quoted CSV cell is the same text read
    # from a file, a .gz or standard input (the csv module and the JSON readers split records themselves)
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", errors="surrogateescape", newline="")
    if not Path(path).exists():
        raise CatalogError(f"{path}: no such file; check the path")
    if Path(path).is_dir():
        raise CatalogError(f"{path}: is a folder, not a file; give the file's path")
    if path.lower().endswith(".gz"):
        return io.TextIOWrapper(io.BufferedReader(_Gunzipped(path), 64 * 1024), encoding="utf-8-sig",
                                errors="surrogateescape", newline="")
    return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")


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


def iter_rows(path: str, formats: tuple[str, ...] = ALL_FORMATS, columns: tuple[str, ...] = (),
              texts: tuple[str, ...] = ()) -> Iterator[Row]:
    """Yield (line, row) for every row, or (line, Problem) where a row cannot be parsed. A CSV file's header must
    name ``columns`` (else its first row may have been taken for the header). In YAML, the fields named in ``texts``
    keep their text as written when unquoted (``0123``, ``yes``, ``1.10``: not 83, True, 1.1)."""
    if path != "-" and not Path(path).exists():
        raise CatalogError(f"{path}: no such file; check the path")
    fmt = file_format(path)
    if fmt not in formats:
        raise CatalogError(f"{path}: {fmt} is not accepted here; use one of: {', '.join(formats)}")
    last = 0  # the last line read whole, for a damaged .gz: how far it could be read
    with open_text(path) as handle:
        try:
            for last, row in _rows(fmt, path, handle, columns, texts):
                yield last, row
        except DamagedFileError as exc:
            raise exc.after(last) from None
        except OSError as exc:
            raise CatalogError(f"{path}: cannot be read ({exc}); is the file complete?") from exc
        except csv.Error as exc:
            raise CatalogError(f"{path}: not valid CSV ({exc}); check its quotes and delimiters") from exc


def _rows(fmt: str, path: str, handle: IO[str], columns: tuple[str, ...], texts: tuple[str, ...]) -> Iterator[Row]:
    if fmt == "jsonl":
        return _jsonl_rows(path, handle)
    if fmt == "csv":
        return _csv_rows(path, handle, columns)
    return _yaml_rows(path, handle.read(), texts) if fmt == "yaml" else _json_rows(path, handle.read())


class _Repeated(dict):
    """A JSON object that gives a key twice (``json`` would silently keep the last): ``repeated`` is the key."""

    repeated = ""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            break
        seen.add(key)
    repeated = _Repeated(obj)
    repeated.repeated = key
    return repeated


def _repeated(path: str, line: int, obj: dict[str, Any]) -> Problem | None:
    if isinstance(obj, _Repeated):
        return Problem(path, line, obj.repeated, "given twice in this object; keep one")
    return None


def _jsonl_rows(path: str, handle: IO[str]) -> Iterator[Row]:
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
            yield number, _repeated(path, number, obj) or obj
        else:
            yield number, Problem(path, number, "", "expected a JSON object {...} on this line", line.rstrip("\r\n"))


CSV_CELL_LIMIT = 16 * 1024 * 1024  # characters in one cell (the csv module's default, 128 KB, is short for a post)


def _csv_rows(path: str, handle: IO[str], columns: tuple[str, ...] = ()) -> Iterator[Row]:
    csv.field_size_limit(max(csv.field_size_limit(), CSV_CELL_LIMIT))
    reader = csv.DictReader(handle)
    names = [name.strip() for name in reader.fieldnames or []]
    twice = sorted({name for name in names if name and names.count(name) > 1})
    wrong = next((w for w in map(undecodable, names) if w), None)
    if wrong:
        raise CatalogError(f"{path}, line 1 (the header): {wrong}")
    if twice:
        raise CatalogError(f"{path}, line 1: the header names {', '.join(map(repr, twice))} more than once; "
                           "give each column once")
    missing = [c for c in columns if c not in names]
    if names and missing:
        raise CatalogError(f"{path}, line 1: the header has no column {', '.join(map(repr, missing))}; the first line "
                           f"must name the columns ({', '.join(columns)}, ...)")
    for row in reader:
        line = reader.line_num
        if None in row:
            yield line, Problem(path, line, "", "more cells than the header has columns; quote cells with commas",
                                _as_written(reader.fieldnames or [], row))
            continue
        wrong = [(k, w) for k, v in row.items() if isinstance(v, str) and (w := undecodable(v))]
        if wrong:
            yield line, Problem(path, line, str(wrong[0][0]).strip(), wrong[0][1], _as_written(reader.fieldnames or [],
                                                                                              row))
            continue
        yield line, {k.strip(): v for k, v in row.items() if k and v is not None and v.strip() != ""}


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


def _yaml_rows(path: str, text: str, texts: tuple[str, ...] = ()) -> Iterator[Row]:
    loader = SAFE_LOADER(_document_text(path, text))
    try:
        node = loader.get_single_node()
        if node is None:
            return
        if isinstance(node, yaml.MappingNode):
            node = _unwrap_mapping(loader, node)
        if not isinstance(node, yaml.SequenceNode):
            raise CatalogError(f"{path}: expected a YAML list of items (- key: value ...)")
        for item in node.value:
            line = item.start_mark.line + 1
            repeated = _repeated_key(item)
            if repeated:
                yield line, Problem(path, repeated[1], repeated[0], f"given twice in this item (first on line "
                                    f"{repeated[2]}); keep one")
                continue
            try:
                obj = loader.construct_object(item, deep=True)
            except ValueError as exc:  # a value YAML reads itself, such as an impossible date (2026-02-30)
                yield line, Problem(path, line, "", f"a value YAML cannot read ({exc}); fix it, or quote it")
                continue
            if isinstance(obj, dict):
                yield line, {str(k): v for k, v in obj.items()} | _as_written_texts(item, texts)
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


def _repeated_key(item: yaml.Node) -> tuple[str, int, int] | None:
    """A key an item gives twice, with the lines of its second and first use (YAML would silently keep the last)."""
    if not isinstance(item, yaml.MappingNode):
        return None
    seen: dict[str, int] = {}
    for key, _ in item.value:
        if isinstance(key, yaml.ScalarNode) and key.value != "<<":
            if key.value in seen:
                return key.value, key.start_mark.line + 1, seen[key.value]
            seen[key.value] = key.start_mark.line + 1
    return None


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


def _retyped(node: yaml.ScalarNode) -> bool:
    """A plain scalar YAML reads as something other than text (its null, empty, stays None)."""
    return not node.style and node.tag not in (_YAML_STR, _YAML_NULL)


def _unwrap_mapping(loader: Any, node: yaml.MappingNode) -> yaml.Node:
    for key, value in node.value:
        if loader.construct_object(key) in ("topics", "perks", "items", "users", "posts"):
            return value
    return node


def _json_rows(path: str, text: str) -> Iterator[Row]:
    try:
        doc = json.loads(_document_text(path, text), object_pairs_hook=_object)
    except ValueError as exc:
        raise CatalogError(f"{path}: not valid JSON ({exc}); fix the syntax") from exc
    except RecursionError as exc:
        raise CatalogError(f"{path}: nested too deeply to read; give a flat list of objects") from exc
    lines = _item_lines(text) if isinstance(doc, list) else None
    if isinstance(doc, dict):
        doc = next((doc[k] for k in ("topics", "perks", "items", "users", "posts") if k in doc), [doc])
    if not isinstance(doc, list):
        raise CatalogError(f"{path}: expected a JSON list of objects")
    for number, obj in enumerate(doc, start=1):
        line = lines[number - 1] if lines else number  # a list inside an object: its items are counted
        if isinstance(obj, dict):
            yield line, _repeated(path, line, obj) or obj
        else:
            yield line, Problem(path, line, "", "expected a JSON object in the list")


def _item_lines(text: str) -> list[int] | None:
    """The line each item of a JSON document's top-level list starts on (a pretty-printed list spreads an item over
    many lines: counting items would point at the wrong place); None if the walk fails."""
    decoder, out = json.JSONDecoder(), []
    i = text.index("[") + 1
    try:
        while True:
            while text[i] in " \t\r\n,":
                i += 1
            if text[i] == "]":
                return out
            out.append(text.count("\n", 0, i) + 1)
            _, i = decoder.raw_decode(text, i)
    except (ValueError, IndexError):
        return None


def validate(path: str, line: int, row: dict[str, Any], model: type[M], hints: dict[str, str]) -> M | list[Problem]:
    """Validate one row with a pydantic model; on failure return its problems, each with a fix."""
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(x) for x in err["loc"]) or ""
            top = str(err["loc"][0]) if err["loc"] else ""
            message = err["msg"]
            if err["type"] != "missing" and "input" in err and not isinstance(err["input"], dict):
                message += f" (got {str(err['input'])[:60]!r})"
            hint = hints.get(top, "")
            problems.append(Problem(path, line, field, f"{message}{'; ' + hint if hint else ''}"))
        return problems
