"""A blog's RSS or Atom feed file, parsed with feedparser (the file is read locally, never fetched).

Mapping, per entry:

- `platform` = "blog"; `post_id` = `blog-<16 hex>`, a hash of the entry's id (its guid, else its link), scoped by
  the feed's link when that id is not a URL or URN, so it is stable across re-imports and unique across blogs;
- `text` = the title and the content (else the summary), HTML converted to plain text;
- `created_at` = `published`, else `updated`;
- HTML's named entities (`&eacute;`, `&nbsp;`), which many feeds use though XML defines only five, are read as the
  characters they name; any other entity, or XML that breaks off, is an error;
- `replies` = the comment count where the feed gives one (`<slash:comments>`, a whole number: anything else is
  refused); likes and shares are 0: feeds carry none. No context, never a share;
- the file is read in the encoding XML says (its byte-order mark, else its declaration, else UTF-8), or as UTF-8
  when it is that whole; a file that is neither (one stray Latin-1 byte in a UTF-8 feed) is refused, naming the
  line and byte, rather than read in a guessed encoding, every entry garbled.
"""

import codecs
import datetime as dt
import hashlib
import html.entities
import re
import xml.sax
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from matcher.importers.common import Member, format_error, html_to_text, make_post, post_time, whole_count

SOURCE = "feed"
_FIX = "give the feed file (RSS 2.0 or Atom) as the blog serves it, saved whole"
_DATED = "give every entry a <pubDate> (RSS) or <published> (Atom)"
_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.DOTALL)
_DECLARATION = r"(\A\s*<\?xml[^>]*?encoding\s*=\s*[\"'])([A-Za-z0-9._-]+)([\"'])"  # the encoding: group 2
_DECLARED, _DECLARED_TEXT = re.compile(_DECLARATION.encode()), re.compile(_DECLARATION)  # (in bytes, in text)
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})


def read_feed(path: str, user_id: str) -> Iterator[dict[str, Any]]:
    """Entries of one person's blog feed (an RSS or Atom file), filed under user_id."""
    import feedparser

    if not Path(path).is_file():
        what = "a folder, not a feed file" if Path(path).is_dir() else "no such file"
        raise format_error(path, "", what, "check the path; give the feed as a file (save it first)")
    data = _as_utf8(path, Member(path, path).read())  # (gzipped: its content)
    parsed = feedparser.parse(data)  # bytes: parsed as a document, never fetched as a URL
    problem = parsed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXParseException) and "undefined entity" in problem.getMessage():
        parsed = feedparser.parse(_numeric_entities(data))  # then read whole again: a later break is still found
        problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and isinstance(problem, xml.sax.SAXParseException):
        raise format_error(path, f"line {problem.getLineNumber()}, column {problem.getColumnNumber()}",
                           f"not well-formed XML ({_reason(problem.getMessage())}); the file looks truncated or edited",
                           _FIX)
    if isinstance(problem, feedparser.CharacterEncodingOverride):
        _undecodable(path, data)
    if not parsed.get("version"):
        raise format_error(path, "line 1", "not an RSS or Atom feed", _FIX)
    scope = str(parsed.feed.get("link") or parsed.feed.get("id") or "")
    for index, entry in enumerate(parsed.entries, start=1):
        yield _post(path, index, entry, user_id, scope)


def _bom(data: bytes) -> str | None:
    """The encoding the file's byte-order mark names, if it begins with one."""
    return next((name for mark, name in _BOMS if data.startswith(mark)), None)


def _as_utf8(path: str, data: bytes) -> bytes:
    """A UTF-16 or UTF-32 feed (its byte-order mark says so) as UTF-8, its declaration saying so: the rewrite of
    HTML's named entities reads ASCII-based bytes, and such a feed with `&eacute;` was refused as "undefined
    entity". Line numbers stay as they were."""
    bom = _bom(data)
    if bom is None or bom == "utf-8-sig":
        return data
    try:
        text = data.decode(bom)
    except UnicodeDecodeError as exc:
        raise format_error(path, f"byte {exc.start}", f"not {bom} text, though it begins with {bom}'s byte-order mark",
                           "save the file whole, in one encoding") from None
    return _DECLARED_TEXT.sub(r"\g<1>utf-8\g<3>", text, count=1).encode("utf-8")


def _undecodable(path: str, data: bytes) -> None:
    """Refuse a feed that is neither in the encoding XML reads it in (its byte-order mark, else its declaration, else
    UTF-8) nor UTF-8: feedparser then reads the whole file in a guessed one (windows-1252), and every entry's text
    came out garbled ("Paris æ—¥æœ¬"), silently. A file mislabelled but wholly UTF-8 is read as UTF-8, as before."""
    bom = _bom(data)
    declared = None if bom else _DECLARED.match(data)
    encoding = bom or (declared.group(2).decode("ascii") if declared else "utf-8")
    try:
        data.decode(encoding)
        return
    except LookupError:
        raise format_error(path, "line 1", f"declares the encoding {encoding!r}, which Python does not know",
                           "declare UTF-8 and save the file as UTF-8") from None
    except UnicodeDecodeError as exc:
        first = exc
    try:
        data.decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    line = data.count(b"\n", 0, first.start) + 1
    said = ("its byte-order mark's" if bom else "the encoding it declares" if declared
            else "XML's encoding for a file that declares none")
    raise format_error(path, f"line {line}, byte {first.start}",
                       f"not {encoding} text (byte 0x{data[first.start]:02x}), {said}",
                       f"save the file as {encoding}, or declare the encoding it is saved in")


def _reason(message: str) -> str:
    return f"{message}: one that neither XML nor HTML defines" if message == "undefined entity" else message


def _post(path: str, index: int, entry: Any, user_id: str, scope: str) -> dict[str, Any]:
    title = str(entry.get("title") or "")
    where = f"entry {index}" + (f" ({title[:40]!r})" if title else "")
    key = str(entry.get("id") or entry.get("link") or "")
    if not key:
        raise format_error(path, where, "no id (guid) or link", "give every entry a <guid> (RSS) or <id> (Atom)")
    when, written = _date(path, where, entry)
    created = post_time(dt.datetime(*when[:6]).replace(tzinfo=dt.UTC), written, path, where, _FIX)
    if ":" not in key:
        key = f"{scope}#{key}"
    title_type = (entry.get("title_detail") or {}).get("type", "text/plain")
    title_text = html_to_text(title) if "html" in title_type else title.strip()
    contents = entry.get("content") or []
    body = str(contents[0].get("value") or "") if contents else str(entry.get("summary") or "")
    text = "\n\n".join(p for p in (title_text, html_to_text(body)) if p)
    return make_post(SOURCE, "blog", f"blog-{hashlib.sha256(key.encode()).hexdigest()[:16]}", user_id, text,
                     created, replies=_comments(path, where, entry))


def _date(path: str, where: str, entry: Any) -> tuple[Any, str | None]:
    """The entry's time (a UTC struct_time) and its text: `published`, else `updated`. (dict.get: feedparser's own
    get maps a missing `updated` to `published`, with a DeprecationWarning.)"""
    for field in ("published", "updated"):
        if dict.get(entry, f"{field}_parsed"):
            return dict.get(entry, f"{field}_parsed"), dict.get(entry, field)
    written = dict.get(entry, "published") or dict.get(entry, "updated")
    if written:
        raise format_error(path, where, f"{written!r} is not a date (RSS: like 'Sat, 10 Jun 2023 08:00:00 +0000'; "
                           "Atom: like '2023-06-10T08:00:00Z')", _DATED)
    raise format_error(path, where, "no date", _DATED)


def _comments(path: str, where: str, entry: Any) -> int:
    """The entry's `<slash:comments>` count: a whole number (read as 0 before, silently, when it was not one)."""
    return whole_count(entry.get("slash_comments"), path, f"{where}, <slash:comments>",
                       "give <slash:comments> as a whole number of comments, or leave it out")


def _numeric_entities(data: bytes) -> bytes:
    """The feed with HTML's named entities outside CDATA sections written as numeric references, which XML reads
    without a DTD (padded with zeros to the entity's length where they fit, so columns in errors stay right)."""

    def numeric(match: re.Match[bytes]) -> bytes:
        name = match.group(1)
        chars = None if name in _XML_ENTITIES else html.entities.html5.get(name.decode() + ";")
        if chars is None:
            return match.group(0)
        if len(chars) == 1:
            return f"&#{ord(chars):0{max(len(match.group(0)) - 3, 1)}d};".encode()
        return "".join(f"&#{ord(c)};" for c in chars).encode()

    parts, last = [], 0
    for cdata in _CDATA.finditer(data):
        parts += [_ENTITY.sub(numeric, data[last:cdata.start()]), cdata.group(0)]
        last = cdata.end()
    return b"".join([*parts, _ENTITY.sub(numeric, data[last:])])
