"""The SQLModel tables of matcher: users, posts, the embedding cache, the taxonomy, runs and their rows, the
records of forgetting, settings (``matcher.store`` opens the database they live in).

The catalog's own tables live in ``catalog.schema``; all share one metadata, so one call creates them all.
No ``from __future__ import annotations`` here: it breaks SQLModel tables.
"""

import datetime as dt
import json

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

import catalog.schema  # noqa: F401  (registers the catalog tables)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class User(SQLModel, table=True):
    """A person whose posts we may profile, if their consent allows it."""

    __tablename__ = "users"

    user_id: str = Field(primary_key=True)
    handle: str | None = None
    region: str | None = None
    consent: str | None = None
    sensitive_opt_in: str = "[]"
    extra: str = "{}"
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Post(SQLModel, table=True):
    """One post. (platform, post_id) is unique: re-ingesting updates the row."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("platform", "post_id"), Index("ix_posts_user", "user_id", "created_at"),
                      Index("ix_posts_text", "text_key", "created_at"))  # the latter finds copies (``incremental``)

    id: int | None = Field(default=None, primary_key=True)
    post_id: str
    platform: str = "unknown"
    user_id: str
    text: str
    context: str | None = None
    created_at: int = Field(sa_type=BigInteger)  # 64-bit on PostgreSQL too: times up to 9999, counts past 2**31
    likes: int = Field(default=0, sa_type=BigInteger)
    replies: int = Field(default=0, sa_type=BigInteger)
    shares: int = Field(default=0, sa_type=BigInteger)
    is_share: bool = False
    text_key: str
    context_key: str | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Embedding(SQLModel, table=True):
    """The embedding cache: one vector per (model, content hash)."""

    __tablename__ = "embeddings"

    model: str = Field(primary_key=True)
    text_key: str = Field(primary_key=True)
    vector: bytes


class Topic(SQLModel, table=True):
    """One topic of the loaded taxonomy."""

    __tablename__ = "topics"

    topic_id: str = Field(primary_key=True)
    name: str
    parent_id: str | None = None
    description: str = ""
    sensitive: bool = False
    position: int = 0


class TopicName(SQLModel, table=True):
    """The name and parent each topic id was last loaded with, kept when a later taxonomy leaves the topic out: the
    runs and assignments that cited it go on naming it (``taxonomy.known_names``), where they fell back on its id
    before, and an opt-in withdrawn to its parent still covers it (``taxonomy.dropped_under``)."""

    __tablename__ = "topic_names"

    topic_id: str = Field(primary_key=True)
    name: str
    parent_id: str | None = None


class Run(SQLModel, table=True):
    """One profile or match run; its results are kept as a snapshot under its id."""

    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    started_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: dt.datetime | None = None
    status: str = "running"
    as_of: int = Field(default=0, sa_type=BigInteger)
    params: str = "{}"
    stats: str = "{}"


class TopicScore(SQLModel, table=True):
    """A user's topic in one profile run: inferred, or a candidate that fell short (with the numbers)."""

    __tablename__ = "topic_scores"
    __table_args__ = (Index("ix_topic_scores_run_user", "run_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    user_id: str
    topic_id: str
    status: str
    rank: int
    score: float
    confidence: float
    posts: int
    days: int
    engagement: float
    details: str = "{}"


class EvidencePost(SQLModel, table=True):
    """A post that supports a user's topic in one profile run, ranked by how much it supports it. A topic shows the
    first ``ProfileParams.evidence_posts``; an inferred topic keeps more (``evidence_pool``), that its perks' evidence
    is chosen from."""

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_run_user", "run_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    user_id: str
    topic_id: str
    post_pk: int
    rank: int
    weight: float


class ProfiledUser(SQLModel, table=True):
    """A user computed in one profile run, with a digest of the inputs the profile was computed from.

    A later run with the same basis (taxonomy, model, parameters, as_of) copies the user's rows from here
    instead of recomputing them when the digest is unchanged (see ``matcher.incremental``).
    """

    __tablename__ = "profiled_users"

    run_id: int = Field(primary_key=True)
    user_id: str = Field(primary_key=True, index=True)
    digest: str


PROFILE_ROWS = (TopicScore, EvidencePost, ProfiledUser)  # a user's rows in one profile run, by (run_id, user_id)


class Assignment(SQLModel, table=True):
    """A perk assigned to a user in one match run, with the topics behind it (JSON)."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_run_user", "run_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    user_id: str
    perk_id: str
    catalog_version: int
    rank: int
    score: float
    topics: str = "[]"


def cited_topics(topics: str | None) -> set[str]:
    """The topics an assignment cites (its ``topics`` JSON: one record per topic behind the perk)."""
    return {t.get("topic_id") for t in json.loads(topics or "[]")}


class Withheld(SQLModel, table=True):
    """A good candidate perk a user did not get in a match run, and why."""

    __tablename__ = "withheld"
    __table_args__ = (Index("ix_withheld_run_user", "run_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    user_id: str
    perk_id: str
    score: float
    reason: str


class TopicVector(SQLModel, table=True):
    """Topic vectors fitted to the collection by a profile run (``classify.adapt_topic_vectors``); later runs
    reuse them until the collection has grown enough to fit them again."""

    __tablename__ = "topic_vectors"

    run_id: int = Field(primary_key=True)
    topic_id: str = Field(primary_key=True)
    mass: float  # membership-weighted count of the posts plainly about the topic
    vector: bytes  # float32, unit length


class ForgetAudit(SQLModel, table=True):
    """What `forget` leaves behind: a salted hash of the user id, the time, and counts."""

    __tablename__ = "forget_audit"

    id: int | None = Field(default=None, primary_key=True)
    user_hash: str
    forgotten_at: dt.datetime = Field(default_factory=utcnow)
    counts: str = "{}"


class Setting(SQLModel, table=True):
    """Small per-database settings, such as the salt of forget audit hashes."""

    __tablename__ = "settings"

    key: str = Field(primary_key=True)
    value: str


class ForgottenText(SQLModel, table=True):
    """The texts of forgotten users, by salted hash of their text key only (``forgotten.text_hashes``): a posts file
    ingested later that quotes one as a reply's context (another user's old export) stores the reply without it, so
    a forgotten user's words never come back that way."""

    __tablename__ = "forgotten_texts"

    key_hash: str = Field(primary_key=True)


class OptOut(SQLModel, table=True):
    """Users who opted out, by salted hash only, so their posts are never stored again."""

    __tablename__ = "opt_outs"

    user_hash: str = Field(primary_key=True)


class ForgottenPost(SQLModel, table=True):
    """Posts their authors had deleted (`forget USER --post`), by salted hash of (platform, post id) only, so an export
    that still holds one does not store it again."""

    __tablename__ = "forgotten_posts"

    key_hash: str = Field(primary_key=True)


class PostDeletion(SQLModel, table=True):
    """What `forget USER --post` leaves behind beside the posts' hashes: a salted hash of the user id (as
    ``ForgetAudit``'s), the time, and how many posts went. `topics --changes` and `status` name the deletion as a
    reason scores moved; forgetting the user deletes these rows too (their `forget` audit line stays)."""

    __tablename__ = "post_deletions"

    id: int | None = Field(default=None, primary_key=True)
    user_hash: str = Field(index=True)
    deleted_at: dt.datetime = Field(default_factory=utcnow)
    posts: int = 0
