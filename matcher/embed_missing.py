"""The post texts and contexts with no vector yet for a model (``matcher.embed.embed_new_posts`` embeds them):
counted, and streamed from the database in chunks, so memory does not grow with the number of posts; and the
vectors no post uses any more after a `forget`, dropped."""

import contextlib
from collections.abc import Iterable, Iterator

from sqlalchemy import Engine, and_, delete, func, or_
from sqlmodel import col, select

from matcher.eligible import covered
from matcher.locks import hold_forget_lock
from matcher.records import embed_form
from matcher.store import Embedding, Post, batches, session

FILL_CHUNK = 4096


def _missing_stmt(model: str, which: str, policy: str | None = None):  # type: ignore[no-untyped-def]
    key_col, text_col = (Post.text_key, Post.text) if which == "text" else (Post.context_key, Post.context)
    stmt = (select(key_col, func.min(text_col)).select_from(Post)
            .join(Embedding, and_(col(Embedding.model) == model, col(Embedding.text_key) == key_col), isouter=True)
            .where(col(Embedding.text_key).is_(None)).where(col(key_col).is_not(None)))
    if policy is not None:  # only the posts of users a run under this consent policy profiles, asked of posts with no
        # vector only: written so that it reads the vector's row, SQLite asks it after the join, not of every post
        # first (200,000 posts, none missing: 0.55 s as a plain condition, 0.14 s so)
        stmt = stmt.where(or_(covered(policy), col(Embedding.text_key).is_not(None)))
    return stmt.group_by(key_col)


def count_missing(engine: Engine, model: str, policy: str | None = None) -> int:
    """How many post texts and contexts have no vector for this model (an upper bound: a text that is
    also another post's context counts twice); with ``policy``, of the users a run under it profiles."""
    with session(engine) as s:
        return sum(int(s.execute(select(func.count()).select_from(_missing_stmt(model, which, policy).subquery()))
                       .scalar_one()) for which in ("text", "context"))


def missing_chunks(engine: Engine, model: str, size: int = FILL_CHUNK,
                   which_texts: tuple[str, ...] = ("text", "context"), policy: str | None = None
                   ) -> Iterator[dict[str, str]]:
    """The post texts and contexts with no vector for this model, streamed in chunks (key -> text); with
    ``policy``, only those of the users a profile run under that consent policy profiles.

    Contexts are looked up only after every text chunk was consumed, so a context that is also a post's
    text is not returned again once the texts are stored. A reader that stops early (its own error: the database
    gone) closes the generator, and a connection that cannot roll back then is closed quietly: before, PostgreSQL going
    away printed "Exception ignored in: <generator object missing_chunks>" and a traceback beside the command's error
    (which is the one to report). Read on a plain connection: an ORM session built its own row object for each text,
    about a third of the embed stage's CPU outside the encoder."""
    for which in which_texts:
        conn = engine.connect()
        try:
            result = conn.execute(_missing_stmt(model, which, policy).execution_options(yield_per=size))
            for part in result.partitions():
                yield {key: embed_form(raw) for key, raw in part}
        finally:
            with contextlib.suppress(Exception):
                conn.close()


def drop_unreferenced(engine: Engine, model: str, keys: Iterable[str]) -> int:
    """Delete the vectors of these keys that no post's text or context uses any more; return how many. A `forget`
    while posts were being embedded deleted the user's posts and vectors, but the run then stored the vectors of
    the texts it had read before: without this they would stay, unreferenced, for good. One read of every post's
    keys (a run calls this only when a `forget` came during its embedding), then deletes by primary key."""
    wanted = set(keys)
    if not wanted:
        return 0
    dropped = 0
    with engine.begin() as conn:
        hold_forget_lock(conn)
        used: set[str] = set()
        for text_key, context_key in conn.execute(select(Post.text_key, Post.context_key)):
            used.add(text_key)
            if context_key:
                used.add(context_key)
        gone = sorted(wanted - used)
        for part in batches(gone):
            result = conn.execute(delete(Embedding).where(col(Embedding.model) == model)
                                  .where(col(Embedding.text_key).in_(part)))
            dropped += int(result.rowcount or 0)
    return dropped
