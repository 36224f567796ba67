"""Writing one batch of a posts file: each post inserted or updated, the last row of a post winning, a post given
exactly as stored left alone, a post never moved to another author; and which posts earlier batches of the file gave
(``Given``), so a repeat counts as one whatever the batch boundaries. ``ingest.ingest_posts`` reads and validates
the file, and checks consent, before a row comes here.
"""

import datetime as dt
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, delete, insert, text, tuple_
from sqlmodel import Session, col, select

from catalog.errors import Problem
from catalog.refresh import text_key
from matcher.forgotten import any_forgotten_text, forgotten_contexts
from matcher.ingest_report import IngestReport, Rejects
from matcher.records import PostIn, embed_form
from matcher.store import Post, upsert_insert, utcnow

Batch = dict[tuple[str, str], list[tuple[int, PostIn, dict[str, Any] | None]]]  # each (platform, post_id)'s rows
Stored = dict[tuple[str, str], tuple[str, dt.datetime, tuple[Any, ...]]]  # each one's author, updated_at, content


_UNCHANGED = Table("perkmatch_ingest_unchanged", MetaData(), Column("platform", String), Column("post_id", String))


class Given:
    """The posts earlier batches of a file gave, in memory that stays flat: those they wrote are the stored posts
    updated since ``started``; those they left alone (``unchanged``) go to a temporary table (``_UNCHANGED``, made
    only when a file has a second batch), so a later row of one counts as ``repeated`` whatever the batch
    boundaries."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.started = utcnow()
        self.pending: set[tuple[str, str]] = set()  # the last batch's unchanged posts, stored when another comes
        self.made = False

    def unchanged_among(self, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these posts an earlier batch gave and left alone."""
        if self.pending:
            if not self.made:
                self.s.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_UNCHANGED.name} (platform VARCHAR NOT "
                                    "NULL, post_id VARCHAR NOT NULL, PRIMARY KEY (platform, post_id))"))
                self.s.execute(delete(_UNCHANGED))  # one an interrupted ingest left on this connection
                self.made = True
            self.s.execute(insert(_UNCHANGED), [{"platform": p, "post_id": i} for p, i in self.pending])
            self.pending = set()
        if not self.made or not keys:
            return set()
        key = tuple_(_UNCHANGED.c.platform, _UNCHANGED.c.post_id)
        return {(p, i) for p, i in self.s.execute(select(_UNCHANGED.c.platform, _UNCHANGED.c.post_id)
                                                   .where(key.in_(list(keys)))).all()}

    def close(self) -> None:
        if self.made:
            self.s.execute(text(f"DROP TABLE {_UNCHANGED.name}"))
            self.made = False


def _other_author(path: str, line: int, item: PostIn, author: str, stored: bool) -> Problem:
    where = "stored as" if stored else "given in this file as"
    return Problem(path, line, "user_id", f"post '{item.post_id}' is {where} {author}'s; a post cannot change author: "
                   "give this one its own post_id")


def upsert_posts(s: Session, batch: Batch, report: IngestReport, rejects: Rejects, given: Given) -> None:
    """Insert or update a batch of posts, the last row of each (platform, post_id) winning (the others count as
    ``repeated``, as does a row of a post an earlier batch of this file gave: ``Given``). A post given exactly as
    stored is left alone (``unchanged``; one an earlier batch left alone and this one changes is ``updated``). A post
    belongs to its stored author, or to the author of its first row in the file when new: a row giving it another
    author is rejected, never moves it."""
    stored = _stored(s, batch)
    latest = _latest(batch, stored, report, rejects)
    if not latest:
        return
    _drop_forgotten_contexts(s, latest)
    existing = latest.keys() & stored.keys()
    written = {key for key in existing if stored[key][1] >= given.started}  # by an earlier batch of this file
    left = given.unchanged_among(existing - written)  # given by an earlier batch, which left them alone
    earlier = written | left
    report.repeated += len(earlier)
    same = {key for key in existing if _content(latest[key]) == stored[key][2]}
    report.unchanged += len(same - earlier) - len(left - same)  # those left alone before but written now: updated
    given.pending = same - earlier
    now = utcnow()
    rows = [_row(key, p, now) for key, p in latest.items() if key not in same]
    report.updated += len(existing - earlier - same) + len(left - same)
    report.added += len(latest) - len(existing)
    if rows:
        _write(s, rows)


def _stored(s: Session, batch: Batch) -> Stored:
    """The batch's posts already stored: each one's author, when it was last written and its content (``_CONTENT``)."""
    return {(r[0], r[1]): (r[2], r[3], tuple(r[4:])) for r in s.execute(  # author, updated_at, content
        select(Post.platform, Post.post_id, Post.user_id, Post.updated_at, *_CONTENT)  # type: ignore[call-overload]  # (SQLModel: 4 columns at most)
        .where(tuple_(col(Post.platform), col(Post.post_id)).in_(list(batch)))).all()}


def _latest(batch: Batch, stored: Stored, report: IngestReport, rejects: Rejects) -> dict[tuple[str, str], PostIn]:
    """Each post's last row by its owner (the earlier ones counted as ``repeated``); a row giving it another author is
    rejected."""
    latest: dict[tuple[str, str], PostIn] = {}
    for key, entries in batch.items():
        owner = stored[key][0] if key in stored else entries[0][1].user_id
        for line, item, row in entries:
            if item.user_id == owner:
                report.repeated += key in latest
                latest[key] = item
            else:
                rejects.add(line, row, [_other_author(rejects.path, line, item, owner, key in stored)])
    return latest


def _row(key: tuple[str, str], p: PostIn, now: dt.datetime) -> dict[str, Any]:
    """The row a post is written as, with its text's and context's keys."""
    platform, post_id = key
    text, context = embed_form(p.text), embed_form(p.context) if p.context else None
    return {
        "post_id": post_id, "platform": platform, "user_id": p.user_id, "text": p.text,
        "context": p.context or None, "created_at": p.created_at, "likes": p.likes, "replies": p.replies,
        "shares": p.shares, "is_share": p.is_share, "text_key": text_key(text),
        "context_key": text_key(context) if context else None, "updated_at": now,
    }


def _write(s: Session, rows: list[dict[str, Any]]) -> None:
    """These rows inserted, or updating the stored post of the same (platform, post_id)."""
    insert = upsert_insert(s.get_bind())
    stmt = insert(Post).values(rows)
    updatable = {c: stmt.excluded[c] for c in rows[0] if c not in ("post_id", "platform")}
    s.execute(stmt.on_conflict_do_update(index_elements=["platform", "post_id"], set_=updatable))


def _drop_forgotten_contexts(s: Session, latest: dict[tuple[str, str], PostIn]) -> None:
    """A reply quoting a forgotten user's post as its context (``forget``: an old export of another user's posts)
    is stored without that context, as forget left it: their words never come back."""
    if not any_forgotten_text(s):  # most databases: nothing to look up
        return
    keys = {key: text_key(embed_form(p.context)) for key, p in latest.items() if p.context}
    gone = forgotten_contexts(s, set(keys.values()))
    for key, context_key in keys.items():
        if context_key in gone:
            latest[key] = latest[key].model_copy(update={"context": None})


_CONTENT = (Post.text, Post.context, Post.created_at, Post.likes, Post.replies, Post.shares, Post.is_share)


def _content(p: PostIn) -> tuple[Any, ...]:
    """A post's stored content (``_CONTENT``) as this row would store it."""
    return (p.text, p.context or None, p.created_at, p.likes, p.replies, p.shares, p.is_share)
