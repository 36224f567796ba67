"""Incremental profiling: recompute only the users whose inputs changed since a run with the same basis.

A user's profile depends on two things only:
- the run's *basis*: the taxonomy, the embedding model, the classification and profile parameters, the
  consent policy, ``as_of`` and the topic vectors fitted to the collection (``matcher.topic_fit``, which
  reuses a fit until the collection has changed enough); a change to any of them recomputes everyone;
- the user's own *inputs*: each post's id, platform, text and context (by content hash and length), time,
  likes, replies, shares and share flag, whether another user posted the same text earlier (a copy), and the
  user's sensitive-topic opt-ins.

Every run records its basis (in ``runs.params``) and a digest of each computed user's inputs
(``profiled_users``), written in the same transaction as that user's topic rows. A new run with the same
basis copies, in SQL, the rows of every user whose digest is unchanged from the newest run that holds
them: the last finished run, or a later interrupted one, so a profile stopped half-way resumes where it
was instead of starting again.
"""

import dataclasses
import hashlib
import itertools
import json
import operator
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, Integer, case, cast, delete, exists, func, insert, literal, select, update
from sqlalchemy.orm import aliased
from sqlmodel import col

from matcher.store import (
    PROFILE_ROWS,
    EvidencePost,
    Post,
    ProfiledUser,
    Run,
    TopicScore,
    TopicVector,
    User,
    bulk_insert,
    session,
)
from matcher.taxonomy import TopicInfo

SCORE_COLS = ("user_id", "topic_id", "status", "rank", "score", "confidence", "posts", "days", "engagement",
              "details")  # a topic_scores row's columns after its run_id (and an evidence row's below)
EVIDENCE_COLS = ("user_id", "topic_id", "post_pk", "rank", "weight")


RULES_VERSION = 35  # bump with any change to how profiles are computed that no parameter records


def run_basis(topics: list[TopicInfo], model: str, policy: str, as_of: int, *params: object,
              related: list[list[str]] | None = None, vectors: np.ndarray | None = None,
              links: np.ndarray | None = None, matters: str | None = None) -> str:
    """A digest of everything, beyond a user's own inputs, that a profile is computed from (the rules'
    version included, so an upgrade that changes them recomputes every user instead of copying stale ones;
    each topic's related words, which follow the model's vocabulary; the topic vectors fitted to the
    collection, ``matcher.topic_fit``; the sensitive matters linked to each topic, ``matcher.matter_links``,
    which decide whose posts an opt-in shows; and the matters themselves, ``sensitive_content.matters_read``, which
    decide which posts are veiled: before, a new file kept every copied row as the old one had it)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"rules {RULES_VERSION}".encode())
    for t in topics:
        h.update(repr(dataclasses.astuple(t)).encode())
    h.update(repr(related or []).encode())
    if vectors is not None:
        h.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    if links is not None:
        h.update(b"links " + np.ascontiguousarray(links, dtype=np.uint32).tobytes())
    if matters is not None:
        h.update(f"matters {matters}".encode())
    h.update(repr((model, policy, as_of, [dataclasses.astuple(p) for p in params])).encode())  # type: ignore
    return h.hexdigest()


_earlier = aliased(Post)
# whether another user posted the same text (by content hash) before this post: a copy, which counts as a reshare
# (``post_signals.copies``); one index seek a post (``store.Post``'s ix_posts_text)
COPIED = case((exists().where(col(_earlier.text_key) == Post.text_key, col(_earlier.user_id) != Post.user_id,
                              col(_earlier.created_at) < Post.created_at), 1), else_=0).label("copied")
# what a digest reads, every value a plain int, str or None as the database driver gives it (the flags as 0 or 1, not
# as the booleans SQLAlchemy would make of them row by row), so that ``user_digests`` can read the driver's rows
POST_INPUTS = (col(Post.id), col(Post.platform), col(Post.text_key), col(Post.context_key),
               func.length(Post.text).label("text_len"), col(Post.created_at), col(Post.likes), col(Post.replies),
               col(Post.shares), cast(Post.is_share, Integer).label("is_share"), COPIED)


def post_inputs(rows: Iterable[Sequence[Any]]) -> bytes:
    """These posts' inputs as a user's digest reads them, from rows whose first columns are the ``POST_INPUTS`` (the
    driver's tuples), in post id order: each post's values, its two flags as booleans, as the text of a tuple, one
    after the other. The form digests have always had, so that those stored by earlier versions still match the users
    whose inputs have not changed (a new form made every user look changed to `explain`, `status` and `topics
    --changes`, until a profile run computed everyone again)."""
    return "".join([repr((*p[:9], bool(p[9]), bool(p[10]))) for p in rows]).encode()


def _connected(store: Engine | Connection) -> AbstractContextManager[Connection]:
    """A connection to read on: ``store`` itself, in its transaction, or a new one of the engine."""
    return nullcontext(store) if isinstance(store, Connection) else store.connect()


def opt_ins(store: Engine | Connection, user_ids: list[str]) -> dict[str, str | None]:
    """These users' sensitive-topic opt-ins as stored (JSON), for those with a users row."""
    with _connected(store) as conn:
        return dict(conn.execute(select(col(User.user_id), col(User.sensitive_opt_in))
                                 .where(col(User.user_id).in_(user_ids))).all())


def inputs_digest(posts: bytes, user_id: str, stored_opt_ins: dict[str, str | None]) -> str:
    """A user's digest: their posts' inputs (``post_inputs``, in post id order), then their sensitive-topic
    opt-ins as stored (``opt_ins``) when they have a users row."""
    h = hashlib.blake2b(posts, digest_size=16)
    if user_id in stored_opt_ins:
        h.update(f"|opt-in {stored_opt_ins[user_id]}".encode())
    return h.hexdigest()


def user_digests(store: Engine | Connection, user_ids: list[str], as_of: int) -> dict[str, str]:
    """A digest of each user's inputs as a run ``as_of`` then reads them: their posts written by then
    (``inputs_digest``; users without posts get one too). A computed user's digest is taken from the rows their
    profile was computed from instead (``profile_chunk.compute_users``). ``store``: an engine, or a connection whose
    transaction it reads in (``eligible.drop_withdrawn_profiles``)."""
    posts = dict.fromkeys(user_ids, b"")
    stmt = (select(col(Post.user_id), *POST_INPUTS).where(col(Post.user_id).in_(user_ids))
            .where(col(Post.created_at) <= as_of).order_by(col(Post.user_id), col(Post.id)))
    with _connected(store) as conn:  # this reads every post of every user: the driver's tuples, not a Row each
        rows = conn.execute(stmt).cursor.fetchall()  # (half the time at a million posts)
    for user_id, theirs in itertools.groupby(rows, key=operator.itemgetter(0)):
        posts[user_id] = post_inputs(row[1:] for row in theirs)  # = ``post_inputs`` of the same posts
    stored = opt_ins(store, user_ids)
    return {u: inputs_digest(parts, u, stored) for u, parts in posts.items()}


def source_runs(engine: Engine, basis: str, run_id: int) -> list[int]:
    """Earlier runs whose rows this run may copy: the newest finished run with this basis, and any
    interrupted run with this basis started after it (newest first)."""
    with session(engine) as s:
        runs = s.execute(select(col(Run.id), col(Run.status), col(Run.params)).where(col(Run.kind) == "profile")
                         .where(col(Run.id) < run_id).order_by(col(Run.id).desc())).all()
    out = []
    for rid, status, params in runs:
        if json.loads(params or "{}").get("basis") != basis:
            if status == "finished":
                break
            continue
        out.append(int(rid))
        if status == "finished":
            break
    return out


def reusable(engine: Engine, sources: list[int], digests: dict[str, str]) -> dict[str, int]:
    """For each user whose inputs are unchanged, the newest source run that computed them."""
    if not sources:
        return {}
    found: dict[str, int] = {}
    with session(engine) as s:
        rows = s.execute(select(col(ProfiledUser.user_id), col(ProfiledUser.run_id), col(ProfiledUser.digest))
                         .where(col(ProfiledUser.run_id).in_(sources))
                         .where(col(ProfiledUser.user_id).in_(list(digests)))).all()
    for user_id, rid, digest in rows:
        if digest == digests[user_id] and rid > found.get(user_id, -1):
            found[user_id] = int(rid)
    return found


def copy_users(conn: Connection, run_id: int, sources: dict[str, int]) -> None:
    """Copy the topic rows and evidence of these users from their source runs into this run (in SQL)."""
    by_run: dict[int, list[str]] = {}
    for user_id, rid in sources.items():
        by_run.setdefault(rid, []).append(user_id)
    for rid, users in sorted(by_run.items()):
        for table, cols in ((TopicScore, SCORE_COLS), (EvidencePost, EVIDENCE_COLS)):
            picked = select(literal(run_id), *[getattr(table, c) for c in cols]).where(
                col(table.run_id) == rid).where(col(table.user_id).in_(users)).order_by(col(table.id))
            conn.execute(insert(table).from_select(["run_id", *cols], picked))


def record_digests(conn: Connection, run_id: int, digests: Iterable[tuple[str, str]]) -> None:
    bulk_insert(conn, ProfiledUser.__table__, ("run_id", "user_id", "digest"), [(run_id, u, d) for u, d in digests])  # type: ignore[attr-defined]


def drop_interrupted(engine: Engine, run_id: int) -> int:
    """Once a run has finished, the rows of earlier interrupted runs are no longer needed: delete them. So is the
    topic fit such a run kept, unless a run's record names it as its fit (one stopped after it recorded its fit, whose
    fit a later run reused): one killed between keeping its fit and recording it left those rows for ever."""
    with session(engine) as s:
        stale = list(s.execute(select(col(Run.id)).where(col(Run.kind) == "profile")
                               .where(col(Run.status).in_(("running", "stopped"))).where(col(Run.id) < run_id))
                     .scalars())
        for table in PROFILE_ROWS:
            s.execute(delete(table).where(col(table.run_id).in_(stale)))
        named = {(json.loads(params or "{}").get("topic_vectors") or {}).get("run")
                 for params in s.execute(select(col(Run.params)).where(col(Run.kind) == "profile")).scalars()}
        s.execute(delete(TopicVector).where(col(TopicVector.run_id).in_(sorted(set(stale) - named))))
        s.execute(update(Run).where(col(Run.id).in_(stale)).values(status="interrupted"))
        s.commit()
    return len(stale)


def plan_chunk(engine: Engine, sources: list[int], chunk: list[str], as_of: int) -> tuple[
        tuple[list[str], dict[str, str], dict[str, int]], list[str]]:
    """A chunk's digests and reusable users (kept for writing), and the users left to compute (a job of
    ``engine_local.Executor.compute``). With no earlier run to copy from, every user is computed, and their digests
    come with their results (``compute_users``)."""
    if not sources:
        return (chunk, {}, {}), chunk
    digests = user_digests(engine, chunk, as_of)
    reuse = reusable(engine, sources, digests)
    return (chunk, digests, reuse), [u for u in chunk if u not in reuse]
