"""A blog's RSS or Atom feed file, parsed with feedparser (the file is read locally, never fetched).

Mapping, per entry:

- `platform` = "blog"; `post_id` = `blog-<16 hex>`, a hash of the entry's id (its guid, else its link), scoped by
  the feed's link when that id is not a URL or URN, so it is stable across re-imports and unique across blogs;
- `text` = the title and the content (else the summary), HTML converted to plain text;
- `created_at` = `published`, else `updated`;
- `replies` = the comment count where the feed gives one (`<slash:comments>`); likes and shares are 0: feeds
  carry none. No context, never a share.
"""

import datetime as dt
import hashlib
import xml.sax
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from matcher.importers.common import format_error, html_to_text, make_post, post_time

SOURCE = "feed"
_FIX = "give the feed file (RSS 2.0 or Atom) as the blog serves it, saved whole"


def read_feed(path: str, user_id: str) -> Iterator[dict[str, Any]]:
    """Entries of one person's blog feed (an RSS or Atom file), filed under user_id."""
    import feedparser

    if not Path(path).is_file():
        what = "a folder, not a feed file" if Path(path).is_dir() else "no such file"
        raise format_error(path, "", what, "check the path; give the feed as a file (save it first)")
    parsed = feedparser.parse(Path(path).read_bytes())  # bytes: parsed as a document, never fetched as a URL
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and isinstance(problem, xml.sax.SAXParseException):
        raise format_error(path, f"line {problem.getLineNumber()}, column {problem.getColumnNumber()}",
                           f"not well-formed XML ({problem.getMessage()}); the file looks truncated or edited", _FIX)
    if not parsed.get("version"):
        raise format_error(path, "line 1", "not an RSS or Atom feed", _FIX)
    scope = str(parsed.feed.get("link") or parsed.feed.get("id") or "")
    for index, entry in enumerate(parsed.entries, start=1):
        yield _post(path, index, entry, user_id, scope)


def _post(path: str, index: int, entry: Any, user_id: str, scope: str) -> dict[str, Any]:
    title = str(entry.get("title") or "")
    where = f"entry {index}" + (f" ({title[:40]!r})" if title else "")
    key = str(entry.get("id") or entry.get("link") or "")
    if not key:
        raise format_error(path, where, "no id (guid) or link", "give every entry a <guid> (RSS) or <id> (Atom)")
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    if not when:
        raise format_error(path, where, "no date", "give every entry a <pubDate> (RSS) or <published> (Atom)")
    created = post_time(dt.datetime(*when[:6], tzinfo=dt.UTC), entry.get("published") or entry.get("updated"), path,
                        where, _FIX)
    if ":" not in key:
        key = f"{scope}#{key}"
    title_type = (entry.get("title_detail") or {}).get("type", "text/plain")
    title_text = html_to_text(title) if "html" in title_type else title.strip()
    contents = entry.get("content") or []
    body = str(contents[0].get("value") or "") if contents else str(entry.get("summary") or "")
    text = "\n\n".join(p for p in (title_text, html_to_text(body)) if p)
    return make_post(SOURCE, "blog", f"blog-{hashlib.sha256(key.encode()).hexdigest()[:16]}", user_id, text,
                     created, replies=_comments(entry))


def _comments(entry: Any) -> int:
    try:
        return max(int(str(entry.get("slash_comments") or 0).strip()), 0)
    except ValueError:
        return 0
