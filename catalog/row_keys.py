"""What every reader of rows (``catalog.rows``) checks of a row's keys: a key given twice, whether a key is one of
the known fields, and which key of a top-level object holds the list of rows (YAML and JSON documents)."""

from typing import Any

from catalog.errors import Problem

Row = tuple[int, dict[str, Any] | Problem]


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
