"""Mastodon account export: `outbox.json` (ActivityPub OrderedCollection), or the export .zip / .tar.gz holding it.

The outbox is one JSON document, so it is read whole. Mapping, per item of `orderedItems`:

- `Create` of a Note (or Question, Article): `post_id` = `md-<host>-<status id>`, `text` = the HTML `content`
  as plain text (after the content warning `summary`, if any; then its images' descriptions, `attachment[].name`),
  `created_at` = `published`;
- `Announce` (a boost) is `is_share`; the export has only the boosted post's URL, so that is its text;
- a reply's `context` is its parent's text when the parent is in the outbox too (the person's own threads);
- engagement: `likes` = the post's `likes.totalItems` (its favourites), `shares` = `shares.totalItems` (its
  boosts), as Mastodon writes them on the posts of its own server (0 where absent: an older export); replies are
  0, as the export lists a few of the person's own replies but counts none. A boost's counts are the boosted
  post's: 0 here;
- a poll (`Question`) keeps its options (`oneOf`/`anyOf` names) after its text: they are the person's words too;
- only what the person made public is imported: a post or boost addressed to the public (`to` or `cc` holding
  ActivityPub's Public: public and unlisted posts). Direct messages and followers-only posts are left out, and
  never quoted as a reply's context: the person did not publish them, so they are not theirs to profile.
"""

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from matcher.importers.common import (
    LeftOut,
    Member,
    basename,
    find_members,
    format_error,
    html_to_text,
    make_post,
    parse_iso,
    whole_count,
)

SOURCE = "mastodon"
_FIX = "give the outbox.json, or the archive (.zip or .tar.gz) from Preferences > Import and export > Data export"
_OBJECTS = ("Note", "Question", "Article", "Page")
_PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})


NOT_PUBLIC = LeftOut("not public (a direct message, or for followers only)")
NOT_WRITING = LeftOut("not a post or a boost (a like, a follow, ...)")


def read_mastodon(path: str, user_id: str) -> Iterator[dict[str, Any] | LeftOut]:
    """Posts and boosts of one person's Mastodon export (outbox.json, the archive, or its folder)."""
    member = find_members(path, lambda name: basename(name) == "outbox.json", "outbox.json", _FIX)[0]
    items = _load(member)
    texts = {str(obj["id"]): _text(obj) for index, obj in _notes(items) if public(obj, items[index])}
    for index, item in enumerate(items):
        yield _post(member.label, index, item, user_id, texts)


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


def public(obj: Any, activity: dict[str, Any]) -> bool:
    """Whether a post (its object's addressing, else its activity's) is addressed to the public: `to` or `cc` holds
    ActivityPub's Public collection. Direct messages and followers-only posts are not; nor is one with no addressing
    at all (an export always gives it)."""
    for holder in (obj, activity):
        if isinstance(holder, dict) and ("to" in holder or "cc" in holder):
            audience = [a for key in ("to", "cc") for a in _listed(holder.get(key))]
            return any(a in _PUBLIC for a in audience)
    return False


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


def _text(obj: dict[str, Any]) -> str:
    """The post as the person wrote it: its content warning, its text, and the descriptions (alt text) they wrote of
    its images, so a photo post says what it shows."""
    attachment = obj.get("attachment")
    media = attachment if isinstance(attachment, list) else []
    described = [str(m["name"]).strip() for m in media if isinstance(m, dict) and isinstance(m.get("name"), str)]
    options = [o for key in ("oneOf", "anyOf") for o in _listed(obj.get(key))]
    choices = [str(o["name"]).strip() for o in options if isinstance(o, dict) and isinstance(o.get("name"), str)]
    parts = [html_to_text(str(obj.get("summary") or "")), html_to_text(str(obj.get("content") or "")),
             "\n".join(c for c in choices if c), *described]
    return "\n\n".join(p for p in parts if p)


def _count(label: str, where: str, obj: dict[str, Any], key: str) -> int:
    """A post's `likes` or `shares` count: the collection's `totalItems` (0 without one)."""
    collection = obj.get(key)
    if not isinstance(collection, dict):
        return 0
    return whole_count(collection.get("totalItems", 0), label, f"{where}.object.{key}.totalItems", _FIX)


def _post_id(url: Any, label: str, place: str) -> str:
    """`md-<host>-<status id>`: status ids are unique per server, and stable. An id that is not such a URL would give
    every server's post the same id, or none."""
    parts = urlsplit(url) if isinstance(url, str) else None
    segments = [s for s in parts.path.split("/") if s and s != "activity"] if parts else []
    if not parts or not parts.netloc or not segments:
        raise format_error(label, place, f"expected the post's URL (https://<server>/users/<name>/statuses/<id>), "
                           f"found {json.dumps(url)[:60]}", _FIX)
    return f"md-{parts.netloc}-{segments[-1]}"


def _post(label: str, index: int, item: Any, user_id: str, texts: dict[str, str]) -> dict[str, Any] | LeftOut:
    where = f"JSON path $.orderedItems[{index}]"
    if not isinstance(item, dict):
        raise format_error(label, where, "expected an activity object", _FIX)
    kind = item.get("type")
    if kind == "Announce":
        if not item.get("id"):
            raise format_error(label, f"{where}.id", "missing", _FIX)
        created = parse_iso(item.get("published"), label, f"{where}.published", _FIX)
        target = item.get("object")
        post_id = _post_id(item["id"], label, f"{where}.id")
        if not public(None, item):  # a boost only followers see
            return NOT_PUBLIC
        text = str(target.get("id") if isinstance(target, dict) else target or "")
        return make_post(SOURCE, "mastodon", post_id, user_id, text, created, is_share=True)
    obj = item.get("object")
    if kind != "Create" or not isinstance(obj, dict) or obj.get("type") not in _OBJECTS:
        return NOT_WRITING  # other activities (Like, Follow, ...) carry no writing of the person's
    if not obj.get("id"):
        raise format_error(label, f"{where}.object.id", "missing", _FIX)
    created = parse_iso(obj.get("published") or item.get("published"), label, f"{where}.object.published", _FIX)
    post_id = _post_id(obj["id"], label, f"{where}.object.id")
    if not public(obj, item):  # a direct message or a followers-only post
        return NOT_PUBLIC
    parent = obj.get("inReplyTo")
    return make_post(SOURCE, "mastodon", post_id, user_id, texts[str(obj["id"])], created,
                     likes=_count(label, where, obj, "likes"), shares=_count(label, where, obj, "shares"),
                     context=texts.get(str(parent)) if parent else None)
