"""Read rows from JSON Lines, CSV, YAML or JSON files (optionally gzipped, or '-' for stdin).

Every row comes with its line number, so a problem can always be traced to the place in the file.
JSON Lines and CSV are streamed; YAML and JSON documents are read whole (catalogs and taxonomies).
"""

import csv
import gzip
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from catalog.errors import CatalogError, Problem

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
    """Open a text file for reading; '.gz' is decompressed, '-' is standard input."""
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    if not Path(path).exists():
        raise CatalogError(f"{path}: no such file; check the path")
    if path.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def iter_rows(path: str, formats: tuple[str, ...] = ALL_FORMATS) -> Iterator[Row]:
    """Yield (line, row) for every row, or (line, Problem) where a row cannot be parsed."""
    if path != "-" and not Path(path).exists():
        raise CatalogError(f"{path}: no such file; check the path")
    fmt = file_format(path)
    if fmt not in formats:
        raise CatalogError(f"{path}: {fmt} is not accepted here; use one of: {', '.join(formats)}")
    with open_text(path) as handle:
        try:
            if fmt == "jsonl":
                yield from _jsonl_rows(path, handle)
            elif fmt == "csv":
                yield from _csv_rows(path, handle)
            elif fmt == "yaml":
                yield from _yaml_rows(path, handle.read())
            else:
                yield from _json_rows(path, handle.read())
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise CatalogError(f"{path}: cannot be read ({exc}); is the file complete?") from exc


def _jsonl_rows(path: str, handle: IO[str]) -> Iterator[Row]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield number, Problem(path, number, "", f"not valid JSON ({exc}); each line must be one object")
            continue
        if isinstance(obj, dict):
            yield number, obj
        else:
            yield number, Problem(path, number, "", "expected a JSON object {...} on this line")


def _csv_rows(path: str, handle: IO[str]) -> Iterator[Row]:
    reader = csv.DictReader(handle)
    for row in reader:
        line = reader.line_num
        if None in row:
            yield line, Problem(path, line, "", "more cells than the header has columns; quote cells with commas")
            continue
        yield line, {k.strip(): v for k, v in row.items() if k and v is not None and v.strip() != ""}


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser (~8x faster) where it is built in


def _yaml_rows(path: str, text: str) -> Iterator[Row]:
    loader = SAFE_LOADER(text)
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
            obj = loader.construct_object(item, deep=True)
            if isinstance(obj, dict):
                yield line, {str(k): v for k, v in obj.items()}
            else:
                yield line, Problem(path, line, "", "expected a mapping (key: value) for this item")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise CatalogError(f"{path}, line {line}: not valid YAML ({exc}); fix the syntax") from exc
    finally:
        loader.dispose()


def _unwrap_mapping(loader: Any, node: yaml.MappingNode) -> yaml.Node:
    for key, value in node.value:
        if loader.construct_object(key) in ("topics", "perks", "items", "users", "posts"):
            return value
    return node


def _json_rows(path: str, text: str) -> Iterator[Row]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise CatalogError(f"{path}: not valid JSON ({exc}); fix the syntax") from exc
    if isinstance(doc, dict):
        doc = next((doc[k] for k in ("topics", "perks", "items", "users", "posts") if k in doc), [doc])
    if not isinstance(doc, list):
        raise CatalogError(f"{path}: expected a JSON list of objects")
    for number, obj in enumerate(doc, start=1):
        if isinstance(obj, dict):
            yield number, obj
        else:
            yield number, Problem(path, number, "", "expected a JSON object in the list")


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
