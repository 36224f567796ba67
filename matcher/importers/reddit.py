"""Reddit data export (the GDPR request): `comments.csv` and `posts.csv`, in a folder or the export zip.

Both files are streamed. Mapping:

- comments (`id, permalink, date, ip, subreddit, gildings, link, parent, body, media`): `post_id` = `rd-t1_<id>`,
  `text` = `body`;
- posts (`id, permalink, date, ip, subreddit, gildings, title, url, body`): `post_id` = `rd-t3_<id>`,
  `text` = title and body, no context;
- `date` looks like `2023-03-01 12:34:56 UTC`;
- what Reddit left in place of deleted or removed writing (`[deleted]`, `[removed]`) is not the person's: a comment
  holding only that is no post, a post keeps its title alone, and neither is ever a reply's context;
- engagement: the export has no scores or reply counts. `likes` is 1, the score Reddit gives a post nobody has
  voted on (the author's own vote), which a profile reads as no votes (it takes that vote off); stored as 0 it was
  read as a down-vote, and dragged the person's usual engagement down with it. Replies and shares are 0;
- a comment's `context`: the export gives the thread only as a link and the parent only as an id, never their
  text. When the parent comment or the thread is the person's own (in the same export) its text is used;
  otherwise the context is "r/<subreddit>", the one hint of what the thread is about the export does hold.
"""

import csv
import datetime as dt
import io
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from catalog.rows import CSV_CELL_LIMIT
from matcher.importers.common import LeftOut, Member, basename, find_members, format_error, make_post, post_time

SOURCE = "reddit"
_FILES = ("comments.csv", "posts.csv")
_COLUMNS = {"comments.csv": ("id", "date", "subreddit", "body"), "posts.csv": ("id", "date", "subreddit", "title")}
_GONE = frozenset({"[deleted]", "[removed]", "[deleted by user]", "[removed by reddit]"})
_FIX = "give the folder or zip of the Reddit data export (reddit.com/settings/data-request) with its CSV files as sent"

Row = tuple[int, dict[str, str]]


NO_VOTES = 1  # Reddit's score of a post nobody has voted on: the export gives none (the module's docstring)
GONE = LeftOut("deleted or removed (Reddit left a placeholder for the text)")


def read_reddit(path: str, user_id: str) -> Iterator[dict[str, Any] | LeftOut]:
    """Comments and posts of one person's Reddit export (the zip, its folder, or comments.csv / posts.csv)."""
    members = find_members(path, lambda name: basename(name) in _FILES, "comments.csv or posts.csv", _FIX)
    by_kind: dict[str, Member] = {}
    for member in members:
        kind = basename(member.name)
        if kind not in _FILES:
            raise format_error(member.label, "", "not comments.csv or posts.csv", _FIX)
        by_kind.setdefault(kind, member)
    comments, posts = by_kind.get("comments.csv"), by_kind.get("posts.csv")
    titles = {r["id"]: _kept(r["title"]) for _, r in _rows(posts)} if posts else {}
    bodies = {r["id"]: _kept(r["body"]) for _, r in _rows(comments)} if comments else {}
    if posts:
        for line, row in _rows(posts):
            text = "\n\n".join(p for p in (_kept(row["title"]), _kept(row.get("body"))) if p.strip())
            yield make_post(SOURCE, "reddit", f"rd-t3_{row['id']}", user_id, text, _date(posts, line, row),
                            likes=NO_VOTES) if text else GONE
    if comments:
        for line, row in _rows(comments):
            yield make_post(SOURCE, "reddit", f"rd-t1_{row['id']}", user_id, row["body"], _date(comments, line, row),
                            likes=NO_VOTES, context=_context(row, titles, bodies)) if _kept(row["body"]) else GONE


def _kept(text: str | None) -> str:
    """The text as written, or "" where Reddit left a placeholder for writing deleted or removed."""
    return "" if text is None or text.strip() in _GONE else text


def _rows(member: Member) -> Iterator[Row]:
    """(line, row) of a CSV member, streamed; missing columns or a broken row are format errors.

    Read as ``perkmatch ingest`` reads CSV (RFC 4180, strictly; the same longest cell): a quote left open or a cell
    going on after its closing quote is an error naming the line the record starts on, never rows merged."""
    required = _COLUMNS[basename(member.name)]
    csv.field_size_limit(max(csv.field_size_limit(), CSV_CELL_LIMIT))  # else it hangs on what ran before (ingest)
    with member.open() as raw:
        # newline="": the csv module splits records itself, on \r and \n only; a codecs reader would also split
        # unquoted cells at U+2028, U+0085, form feeds, ... (which Reddit leaves unquoted in a comment's body)
        reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline=""),
                                strict=True)
        start = 1  # the line the row being read starts on
        try:
            _check_header(member, reader.fieldnames or [], required)
            start = reader.line_num + 1
            for row in reader:
                if None in row or any(row.get(c) is None for c in required):
                    raise format_error(member.label, f"line {start}",
                                       f"expected {len(reader.fieldnames or [])} columns, found {_width(row)}; "
                                       "the file looks truncated or edited", _FIX)
                _check_utf8(member, start, row)
                if not row["id"].strip():  # else it would be stored as 'rd-t1_', and be every id-less row's parent
                    raise format_error(member.label, f"line {start}, column 'id'", "empty: every comment and post "
                                       "has an id in the export", _FIX)
                yield start, row
                start = reader.line_num + 1
        except csv.Error as exc:
            end = reader.reader.line_num  # DictReader's own line_num stays at the last row it gave
            found = f" (the record read on to line {end})" if end > start else ""
            raise format_error(member.label, f"line {start}{found}", f"not valid CSV ({_csv_reason(exc)}); the file "
                               "looks truncated or edited", _FIX) from None


def _check_header(member: Member, names: Sequence[str], required: tuple[str, ...]) -> None:
    _check_utf8(member, 1, {"(header)": ",".join(names)})  # UTF-16, say: not "missing"
    missing = [c for c in required if c not in names]
    if missing:
        raise format_error(member.label, "line 1 (header)", f"missing column(s) {', '.join(missing)}", _FIX)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:  # a row would keep only the last of the two cells
        raise format_error(member.label, "line 1 (header)", f"names {', '.join(map(repr, twice))} more than once",
                           _FIX)


def _csv_reason(exc: csv.Error) -> str:
    """What the csv module found, with what it means where that is not plain."""
    reason = str(exc)
    if "expected after" in reason:
        return f"{reason}: a cell goes on after its closing quote, or a quote opened earlier was never closed"
    if "field larger than field limit" in reason:
        return (f"a cell longer than {csv.field_size_limit():,} characters: a quote opened and never closed reads "
                "on into the next lines")
    return reason


def _check_utf8(member: Member, line: int, row: dict[str, str]) -> None:
    """Bytes that are not UTF-8 are an error naming the cell, never replaced silently (the text stored garbled)."""
    for column, value in row.items():
        if value and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                byte = value[exc.start].encode("utf-8", "surrogateescape")[0]
                place = f"line {line}" + (" (header)" if column == "(header)" else f", column {column!r}")
                raise format_error(member.label, place, f"not UTF-8 (byte 0x{byte:02x}), "
                                   "and Reddit's export is UTF-8: the file looks saved again in another encoding",
                                   _FIX) from None


def _width(row: dict[Any, Any]) -> int:
    extra = row.get(None)
    return sum(v is not None for k, v in row.items() if k is not None) + (len(extra) if extra else 0)


def _date(member: Member, line: int, row: dict[str, str]) -> str:
    value = row["date"].strip()
    place = f"line {line}, column 'date'"
    for fmt in ("%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M:%S"):
        try:
            moment = dt.datetime.strptime(value, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        return post_time(moment, value, member.label, place, _FIX)
    raise format_error(member.label, place, f"{value!r} is not a time like '2023-03-01 12:34:56 UTC'", _FIX)


def _thing(value: str) -> str:
    """A bare id from a fullname (`t1_abc` -> `abc`) or an id."""
    return value.split("_", 1)[-1] if value[:3] in ("t1_", "t3_") else value


def _thread(link: str) -> str:
    """The post id in a thread link such as https://www.reddit.com/r/beer/comments/abc123/slug/."""
    segments = [s for s in urlsplit(link or "").path.split("/") if s]
    return segments[segments.index("comments") + 1] if "comments" in segments[:-1] else ""


def _context(row: dict[str, str], titles: dict[str, str], bodies: dict[str, str]) -> str | None:
    raw = (row.get("parent") or "").strip()
    parent = _thing(raw)
    if bodies.get(parent) and not raw.startswith("t3_"):
        return bodies[parent]
    thread = parent if parent in titles else _thread(row.get("link") or "")
    if titles.get(thread):
        return titles[thread]
    return f"r/{row['subreddit']}" if row.get("subreddit") else None
