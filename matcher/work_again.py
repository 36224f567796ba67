"""A topic a profile run weighed for a user but did not keep, worked out again as the run worked it out
(``worked_again``, on the run's own topic space: ``rework.run_space``), and given as ``topic_records`` gives a stored
one (``worked_record``), for ``explain USER TOPIC``.
"""

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from matcher.classify import ClassifyParams
from matcher.embed import EmbeddingCache
from matcher.profile_chunk import compute_users
from matcher.profile_run import details_json
from matcher.profile_types import ProfileParams, TopicResult
from matcher.rework import run_space
from matcher.store import EvidencePost, Post, ProfiledUser, Run, TopicScore, session
from matcher.topic_records import SHOWN_EVIDENCE, posts_by_key, topic_record


def worked_again(engine: Engine, load: Callable[[], EmbeddingCache], run: Run, user_id: str
                 ) -> tuple[dict[str, TopicResult], bool] | str:
    """Every topic the run weighed for the user, kept or not (it keeps only the ``max_candidates`` closest to being
    inferred that fell short), worked out again as the run worked them out (``rework.run_space``). Returns the topics
    by id, and whether the user's posts and opt-ins are still those the run read (their digest, and no post of theirs
    stored since the run started: a new one has no vector until `profile`, so the digest cannot see it); or, when the
    run cannot be repeated, why."""
    space = run_space(engine, load, run)
    if isinstance(space, str):
        return space
    every = dataclasses.replace(ProfileParams(), max_candidates=len(space[1].ids))  # what is kept, not how measured
    results, _, digests = compute_users(engine, space[0], space[1], [user_id], run.as_of, ClassifyParams(), every)
    with session(engine) as s:
        read = s.exec(select(ProfiledUser.digest).where(ProfiledUser.run_id == run.id)
                      .where(ProfiledUser.user_id == user_id)).first()
        stored_since = s.exec(select(Post.id).where(Post.user_id == user_id)
                              .where(col(Post.updated_at) > run.started_at).limit(1)).first()
    return {r.topic_id: r for r in results.get(user_id, [])}, read == digests.get(user_id) and stored_since is None


def worked_record(engine: Engine, run: Run, user_id: str, found: TopicResult, names: dict[str, str]
                   ) -> dict[str, Any]:
    """A topic worked out again (``worked_again``) as ``topic_records`` gives a stored one, with its details."""
    score = TopicScore(run_id=int(run.id or 0), user_id=user_id, topic_id=found.topic_id,
                       status="inferred" if found.inferred else "candidate", rank=0, score=found.score,
                       confidence=found.confidence, posts=found.posts, days=found.days, engagement=found.engagement,
                       details=details_json(found.details))
    evidence = [EvidencePost(run_id=int(run.id or 0), user_id=user_id, topic_id=found.topic_id, post_pk=key, rank=i,
                             weight=w) for i, (key, w) in enumerate(found.evidence[:SHOWN_EVIDENCE], start=1)]
    with session(engine) as s:
        posts = posts_by_key(s, {e.post_pk for e in evidence})
    return topic_record(score, names, evidence, posts) | {"details": json.loads(score.details)}
