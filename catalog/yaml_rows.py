"""A YAML document's rows (``catalog.rows.iter_rows``), read whole, each with its line: keys given twice, values
YAML cannot read, and the plain scalars YAML would read as something other than what was written (``0123``,
``yes``, ``010``) kept as written."""

import re
from collections.abc import Iterator
from typing import Any

import yaml

from catalog.errors import CatalogError, Problem
from catalog.row_keys import Row, _holder, _is_known
from catalog.text_files import _document_text

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser (~8x faster) where it is built in


class ItemLine(int):
    """An item's line (an int, as every row's line is), knowing the line of each of its keys (``fields``), so that a
    field's problem is said on the field's own line (``rows.validate``): before, a bad quantity on line 8 of a perk
    that starts on line 3 was said to be on line 3."""

    fields: dict[str, int]

    def __new__(cls, line: int, fields: dict[str, int]) -> "ItemLine":
        made = super().__new__(cls, line)
        made.fields = fields
        return made


def field_line(line: int, key: str) -> int:
    """The line of a row's field ``key``: its own where the rows know it (YAML's ``ItemLine``), else the row's."""
    return int(getattr(line, "fields", {}).get(key, line))


def _yaml_problem(path: str, exc: yaml.YAMLError) -> str:
    """A syntax error in the file's own terms: its line and column, what YAML found, and where the construct it was
    reading began (PyYAML's own text names the file "<unicode string>" twice)."""
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is None or not problem:
        return f"{path}: not valid YAML ({exc}); fix the syntax"
    context, begun = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    started = (f" ({context}, begun at line {begun.line + 1}, column {begun.column + 1})" if context and begun
               else f" ({context})" if context else "")
    return f"{path}, line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {problem}{started}; fix the syntax"


def _yaml_rows(path: str, text: str, texts: tuple[str, ...], known: frozenset[str] | None) -> Iterator[Row]:
    """The document's rows (or their problems), each with its item's line; a document YAML cannot read is refused."""
    loader = SAFE_LOADER(_document_text(path, text))
    try:
        node = loader.get_single_node()
        if node is None:
            return
        for item in _items(path, loader, node, known):
            fields = {str(k.value): k.start_mark.line + 1 for k, _ in item.value if isinstance(k, yaml.ScalarNode)
                      } if isinstance(item, yaml.MappingNode) else {}
            yield ItemLine(item.start_mark.line + 1, fields), _item_row(path, loader, item, texts, known)
    except yaml.YAMLError as exc:
        raise CatalogError(_yaml_problem(path, exc)) from exc
    except RecursionError as exc:
        raise CatalogError(f"{path}: nested too deeply to read; give a flat list of items") from exc
    finally:
        loader.dispose()


def _items(path: str, loader: Any, node: yaml.Node, known: frozenset[str] | None) -> list[yaml.Node]:
    """The document's items: its list (at the top level, or under the key holding the rows: ``_unwrap_mapping``), or
    one item given alone, as JSON's; a document that is neither is refused."""
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
    return list(node.value) if isinstance(node, yaml.SequenceNode) else [node]


def _item_row(path: str, loader: Any, item: yaml.Node, texts: tuple[str, ...], known: frozenset[str] | None
              ) -> dict[str, Any] | Problem:
    """One item's row, its plain scalars kept as written where YAML would read them as something else; or its
    problem: a known key given twice, a value YAML cannot read, an item that is no mapping."""
    line = item.start_mark.line + 1
    repeated = _repeated_key(item, known)
    if repeated:
        return Problem(path, repeated[1], repeated[0], f"given twice in this item (first on line {repeated[2]}); "
                       "keep one")
    try:
        obj = loader.construct_object(item, deep=True)
    except ValueError as exc:  # a value YAML reads itself, such as an impossible date (2026-02-30)
        field, at = _unreadable(loader, item, line)
        return Problem(path, at, field, f"a value YAML cannot read ({exc}); fix it, or quote it")
    if not isinstance(obj, dict):
        return Problem(path, line, "", "expected a mapping (key: value) for this item")
    return {str(k): v for k, v in obj.items()} | _as_written_numbers(item) | _as_written_texts(item, texts)


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
