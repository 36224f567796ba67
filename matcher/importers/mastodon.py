"""Mastodon account export: `outbox.json` (ActivityPub OrderedCollection), or the export .zip / .tar.gz holding it.

The outbox is one JSON document, so it is read whole. Mapping, per item of `orderedItems`:

- `Create` of a Note (or Question, Article): `post_id` = `md-<host>-<status id>`, `text` = the HTML `content`
  as plain text (after the content warning `summary`, if any), `created_at` = `published`;
- `Announce` (a boost) is `is_share`; the export has only the boosted post's URL, so that is its text;
- a reply's `context` is its parent's text when the parent is in the outbox too (the person's own threads);
- engagement: the export has no favourite, reply or boost counts, so likes, replies and shares are 0.
"""

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from matcher.importers.common import Member, basename, find_members, format_error, html_to_text, make_post, parse_iso

SOURCE = "mastodon"
_FIX = "give the outbox.json, or the archive (.zip or .tar.gz) from Preferences > Import and export > Data export"
_OBJECTS = ("Note", "Question", "Article", "Page")


def read_mastodon(path: str, user_id: str) -> Iterator[dict[str, Any]]:
    """Posts and boosts of one person's Mastodon export (outbox.json, the archive, or its folder)."""
    member = find_members(path, lambda name: basename(name) == "outbox.json", "outbox.json", _FIX)[0]
    items = _load(member)
    texts = {str(obj["id"]): _text(obj) for _, obj in _notes(items)}
    for index, item in enumerate(items):
        post = _post(member.label, index, item, user_id, texts)
        if post is not None:
            yield post


def _load(member: Member) -> list[Any]:
    try:
        outbox = json.loads(member.read().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise format_error(member.label, f"byte {exc.start}", "not UTF-8 text", _FIX) from None
    except json.JSONDecodeError as exc:
        raise format_error(member.label, f"line {exc.lineno}, column {exc.colno}",
                           f"not valid JSON ({exc.msg}); the file looks truncated or edited", _FIX) from None
    except RecursionError:
        raise format_error(member.label, "", "the JSON is nested too deeply to be an outbox; the file looks edited",
                           _FIX) from None
    items = outbox.get("orderedItems") if isinstance(outbox, dict) else None
    if not isinstance(items, list):
        raise format_error(member.label, "JSON path $.orderedItems", "missing: this is not an ActivityPub outbox",
                           _FIX)
    return items


def _notes(items: list[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, item in enumerate(items):
        obj = item.get("object") if isinstance(item, dict) and item.get("type") == "Create" else None
        if isinstance(obj, dict) and obj.get("type") in _OBJECTS and obj.get("id"):
            yield index, obj


def _text(obj: dict[str, Any]) -> str:
    parts = [html_to_text(str(obj.get("summary") or "")), html_to_text(str(obj.get("content") or ""))]
    return "\n\n".join(p for p in parts if p)


def _post_id(url: str) -> str:
    """`md-<host>-<status id>`: status ids are unique per server, and stable."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s and s != "activity"]
    return f"md-{parts.netloc}-{segments[-1] if segments else parts.path}"


def _post(label: str, index: int, item: Any, user_id: str, texts: dict[str, str]) -> dict[str, Any] | None:
    where = f"JSON path $.orderedItems[{index}]"
    if not isinstance(item, dict):
        raise format_error(label, where, "expected an activity object", _FIX)
    kind = item.get("type")
    if kind == "Announce":
        if not item.get("id"):
            raise format_error(label, f"{where}.id", "missing", _FIX)
        created = parse_iso(item.get("published"), label, f"{where}.published", _FIX)
        target = item.get("object")
        text = str(target.get("id") if isinstance(target, dict) else target or "")
        return make_post(SOURCE, "mastodon", _post_id(str(item["id"])), user_id, text, created, is_share=True)
    obj = item.get("object")
    if kind != "Create" or not isinstance(obj, dict) or obj.get("type") not in _OBJECTS:
        return None  # other activities (Like, Follow, ...) carry no writing of the person's
    if not obj.get("id"):
        raise format_error(label, f"{where}.object.id", "missing", _FIX)
    created = parse_iso(obj.get("published") or item.get("published"), label, f"{where}.object.published", _FIX)
    parent = obj.get("inReplyTo")
    return make_post(SOURCE, "mastodon", _post_id(str(obj["id"])), user_id, texts[str(obj["id"])], created,
                     context=texts.get(str(parent)) if parent else None)
