"""A user's right of access: everything perkmatch stores about them, as one JSON-ready document (`perkmatch
export USER`): their record (in the users-file shape, so that it can be ingested again), posts, topics of every
profile run kept, assignments and withheld perks.

It is read in one snapshot (``snapshot``): a `profile`, `match` or `forget --post` committing while it reads cannot
give a document whose parts disagree (a post listed that the topics and assignments read after it no longer cite).
"""

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from matcher.assignments import assignment_records, matched_version, named, perks_as_of
from matcher.forget import post_deletions
from matcher.profile_run import latest_run
from matcher.store import (
    Assignment,
    EvidencePost,
    Post,
    TopicScore,
    Withheld,
)
from matcher.topic_records import SHOWN_EVIDENCE, post_record, require_user, topic_records


def export_user(engine: Engine, user_id: str) -> dict[str, Any]:
    """Everything stored about a user, as one JSON-ready document (the right of access), read in one snapshot."""
    with snapshot(engine) as s:
        return _document(s, user_id)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A session whose reads all see the database as it was at its first read, and which writes nothing: SQLite, one
    read transaction (its driver begins none for reads: each statement saw the latest commit); PostgreSQL, a READ
    ONLY transaction at REPEATABLE READ (the default, READ COMMITTED, sees each commit too). Before, `export` read in
    a dozen transactions, and a `forget --post` committing between two of them listed the post among the user's posts
    while the topics and assignments read after it no longer cited it."""
    with Session(engine, expire_on_commit=False) as s:
        if engine.dialect.name == "postgresql":
            s.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
        elif engine.dialect.name == "sqlite":
            s.connection().exec_driver_sql("BEGIN")  # (deferred: the snapshot is taken at the first read)
        yield s


def _document(s: Session, user_id: str) -> dict[str, Any]:
    """``export_user``'s document, read through ``s`` alone: the readers it calls open their sessions with
    ``store.session``, which hands a session on (hence the cast: they are typed for an engine)."""
    engine = cast(Engine, s)
    user = require_user(engine, user_id)
    posts = s.exec(select(Post).where(Post.user_id == user_id).order_by(col(Post.created_at), col(Post.id))).all()
    assigned = s.exec(select(Assignment).where(Assignment.user_id == user_id)
                      .order_by(col(Assignment.run_id), col(Assignment.rank))).all()
    withheld = s.exec(select(Withheld).where(Withheld.user_id == user_id)
                      .order_by(col(Withheld.run_id), col(Withheld.id))).all()
    held = {run_id: perks_as_of(s, {w.perk_id for w in withheld if w.run_id == run_id}, matched_version(s, run_id))
            for run_id in {w.run_id for w in withheld}}  # each perk as its match run's catalog version had it
    deletions = post_deletions(s, user_id)  # (the posts themselves are gone: only when, and how many)
    keys = {p.id: {"post_id": p.post_id, "platform": p.platform} for p in posts}  # evidence names the export's posts
    topics, earlier = _profile_topics(s, user_id, keys)
    record = json.loads(user.extra or "{}") | {  # the users-file shape, so an export can be ingested again
        "user_id": user.user_id, "handle": user.handle, "region": user.region, "consent": user.consent,
        "sensitive_opt_in": json.loads(user.sensitive_opt_in or "[]")}
    return {"user": record,
            "posts": [post_record(p) for p in posts],
            "topics": topics,
            "earlier_profile_runs": earlier,
            "assignments": [a | {"match_run": row.run_id, "catalog_version": row.catalog_version} for a, row in
                            zip(assignment_records(engine, list(assigned), stored=True), assigned, strict=True)],
            "withheld": [{"match_run": w.run_id, "perk_id": w.perk_id, **named(held[w.run_id].get(w.perk_id)),
                          "score": w.score, "reason": w.reason} for w in withheld],
            "post_deletions": [{"deleted_at": at.strftime("%Y-%m-%d %H:%M:%S UTC"), "posts": n} for at, n in deletions]}


def _profile_topics(s: Session, user_id: str, keys: dict[Any, dict[str, str]]
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The user's topics in the latest profile run (candidates included), each with the evidence pool kept beyond
    the evidence it shows; and what earlier profile runs kept (snapshots), by run. Their evidence is named by the
    export's posts (``keys``)."""
    engine = cast(Engine, s)
    scored = s.exec(select(TopicScore).where(TopicScore.user_id == user_id)
                    .order_by(col(TopicScore.run_id), col(TopicScore.rank))).all()
    cited: dict[tuple[int, str], list[int]] = defaultdict(list)  # each run's evidence of each topic (pool too)
    for e in s.exec(select(EvidencePost).where(EvidencePost.user_id == user_id)
                    .order_by(col(EvidencePost.run_id), col(EvidencePost.rank))).all():
        cited[(e.run_id, e.topic_id)].append(e.post_pk)
    run = latest_run(engine, "profile")
    topics = [] if run is None else topic_records(engine, int(run.id or 0), [user_id], True, stored=True)[0]["topics"]
    for t in topics:  # beyond the evidence a topic shows, the posts kept to choose its perks' evidence from
        t.update(_evidence(keys, cited[(int(getattr(run, "id", 0) or 0), t["topic_id"])]))
    earlier: dict[int, list[dict[str, Any]]] = defaultdict(list)  # what earlier profile runs kept (snapshots)
    for r in scored:
        if run is None or r.run_id != run.id:
            earlier[r.run_id].append({"topic_id": r.topic_id, "status": r.status, "rank": r.rank, "score": r.score,
                                      "confidence": r.confidence, "posts": r.posts, "days": r.days,
                                      "engagement": r.engagement, "details": json.loads(r.details or "{}"),
                                      **_evidence(keys, cited[(r.run_id, r.topic_id)], shown=True)})
    return topics, [{"run_id": k, "topics": v} for k, v in sorted(earlier.items())]


def _evidence(keys: dict[Any, dict[str, str]], ranked: list[int], shown: bool = False) -> dict[str, Any]:
    """A topic's stored evidence rows named by the export's posts: with ``shown``, the evidence it shows
    (``evidence``); and the rest of an inferred topic's pool, kept to choose its perks' evidence from
    (``evidence_pool``, when there is one)."""
    named = [keys[k] for k in ranked if k in keys]
    pool = named[SHOWN_EVIDENCE:]
    return ({"evidence": named[:SHOWN_EVIDENCE]} if shown else {}) | ({"evidence_pool": pool} if pool else {})
