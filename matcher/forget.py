"""Forget a user: delete every trace (posts, their words quoted as other posts' context, user row, unshared
embeddings, profiles, evidence, assignments, and the kept topic fits their posts may have shaped), keep only an
audit line (salted hash of the id, time, counts), and scrub free pages once the deletion is committed.

Also forgetting some of a user's posts (`forget USER --post`), an opt-in (`consent USER opted_in`) and a withdrawn
sensitive-topic opt-in. The deleting itself is ``matcher.deletion``'s; what is kept of the forgotten, by salted hash,
and the checks that read it, ``matcher.forgotten``'s.
"""

import json
from collections.abc import Callable

from sqlalchemy import Engine, delete, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from matcher import locks
from matcher.deletion import (
    delete_assignments,
    delete_posts,
    delete_where,
    drop_fits,
    forgotten_units,
    uncite,
)
from matcher.errors import PerkmatchError
from matcher.forgotten import (
    SALT,
    audit_hash,
    audit_salt,
    named_hash,
    opted_out,
    post_deletions,
    post_hash,
    record_opt_out,
)
from matcher.locks import hold_deletion_locks
from matcher.store import (
    Assignment,
    EvidencePost,
    ForgetAudit,
    ForgottenPost,
    OptOut,
    Post,
    PostDeletion,
    ProfiledUser,
    Setting,
    TopicScore,
    User,
    Withheld,
    batches,
    bulk_insert,
    cited_topics,
    has_posts,
    session,
    utcnow,
)

__all__ = ["FORGET_COUNTS", "FORGET_POSTS_COUNTS", "SCRUB_PENDING", "SCRUB_WAIT_MS", "forget", "forget_in_session",
           "forget_posts", "forgotten_units", "opt_in", "opted_out", "post_deletions", "scrub", "scrub_pending",
           "scrub_unfinished", "withdraw_opt_ins"]


def forget_in_session(s: Session, user_id: str) -> dict[str, int]:
    """Delete the user's data inside the caller's transaction; return counts deleted. Their words quoted whole as
    the context of other users' posts (a reply's parent, a thread's opening post) go too: those posts keep their
    own text and lose the context (``quoted_contexts``), and are read without it from the next profile run on. Words
    another user still posts as theirs (a copy of the user's post, a phrase many people post) are not the user's alone:
    a context quoting them may quote that post, and stays."""
    hold_deletion_locks(s.connection())  # a run writing users' rows, or an ingest, meanwhile waits or is waited for
    counts = delete_posts(s, Post.user_id == user_id)
    counts["topics"] = delete_where(s, TopicScore, TopicScore.user_id == user_id)
    counts["evidence"] = delete_where(s, EvidencePost, EvidencePost.user_id == user_id)
    delete_where(s, ProfiledUser, ProfiledUser.user_id == user_id)
    counts["assignments"] = delete_assignments(s, user_id)
    counts["withheld"] = delete_where(s, Withheld, Withheld.user_id == user_id)
    counts["topic_fits"] = drop_fits(s) if counts["posts"] else 0  # (a user with no posts is in no fit)
    counts["users"] = delete_where(s, User, User.user_id == user_id)
    hashed = audit_hash(s, user_id)
    delete_where(s, PostDeletion, PostDeletion.user_hash == hashed)  # the audit line below says enough
    s.add(ForgetAudit(user_hash=hashed, counts=json.dumps(counts, sort_keys=True)))
    _scrub_on_commit(s)
    return counts


def forget_posts(engine: Engine, user_id: str, post_ids: list[str]) -> tuple[dict[str, int], list[str]]:
    """Delete some of a user's posts, as `forget` deletes all of them (their quotes as other posts' context, their
    vectors no other post uses, the kept topic fits), and the evidence rows citing them in every run; remember them by
    salted hash only (``ForgottenPost``), so an export still holding them does not store them again, and the deletion
    by its time and count (``PostDeletion``: `status` and `topics --changes` name it). The user stays, and their topics
    are worked out again without them by the next `profile` (their inputs changed). Return the counts, and the ids
    asked for that a `forget --post` deleted already (a re-run after an interrupted one: nothing to do for them).

    An id is a post id, or PLATFORM:POST_ID where the user has that id on more than one platform. An id the user has
    no post of (stored, or deleted already), or one naming several posts, is an error, before anything is deleted."""
    with session(engine) as s:
        hold_deletion_locks(s.connection())
        found, already = _posts_named(s, user_id, sorted(set(post_ids)))
        if not found:  # every one was deleted already: no deletion to record, no fit to drop
            return dict.fromkeys(FORGET_POSTS_COUNTS, 0), already
        pks = sorted(int(pk) for pk, _, _ in found)
        counts = delete_posts(s, col(Post.id).in_(pks))
        counts["evidence"] = sum(delete_where(s, EvidencePost, col(EvidencePost.post_pk).in_(part))
                                 for part in batches(pks))
        uncite(s, user_id, set(pks))
        counts["topic_fits"] = drop_fits(s)
        salt = audit_salt(s)
        kept = [post_hash(salt, platform, post_id) for _, platform, post_id in found]  # an export's copy is skipped
        kept += [named_hash(salt, user_id, name) for _, platform, post_id in found  # a re-run finds it deleted
                 for name in (post_id, f"{platform}:{post_id}")]
        bulk_insert(s.connection(), ForgottenPost.__table__, ("key_hash",), [(h,) for h in sorted(set(kept))],  # type: ignore[attr-defined]
                    keep_existing=True)
        s.add(PostDeletion(user_hash=audit_hash(s, user_id), posts=counts["posts"]))  # a reason scores moved
        _scrub_on_commit(s)
        s.commit()
    return counts, already


FORGET_POSTS_COUNTS = ("posts", "quoted_contexts", "embeddings", "evidence", "topic_fits")  # what `--post` counts
FORGET_COUNTS = ("posts", "quoted_contexts", "embeddings", "topics", "evidence", "assignments", "withheld",
                 "topic_fits", "users")  # what `forget` counts (``forget_in_session``)


def _posts_named(s: Session, user_id: str, names: list[str]) -> tuple[list[tuple[int, str, str]], list[str]]:
    """The user's stored posts (pk, platform, post id) the names given to `forget --post` name, and the names of the
    user's posts deleted already (an earlier `forget --post`: ``forgotten.named_hash``). A name is first a post id as
    it is (stored, or deleted already), and only then PLATFORM:POST_ID: a post whose id holds a colon is named by it,
    and a re-run finds it deleted instead of reading it as another post's. Raise, naming each, for a name that is none
    of these, or that names the user's posts on several platforms (PLATFORM:POST_ID names one)."""
    qualified = {n: (n.split(":", 1)[0].lower(), n.split(":", 1)[1]) for n in names if ":" in n}
    mine = s.exec(select(Post.id, Post.platform, Post.post_id).where(Post.user_id == user_id)
                  .where(col(Post.post_id).in_(names + [post_id for _, post_id in qualified.values()]))).all()
    deleted = _deleted_check(s, user_id, {*names, *(":".join(q) for q in qualified.values())})
    found: list[tuple[int, str, str]] = []
    already: list[str] = []
    missing: list[str] = []
    for name in names:
        rows = [r for r in mine if r[2] == name]
        if not rows and deleted(name):
            already.append(name)
            continue
        if not rows and name in qualified:
            rows = [r for r in mine if (r[1], r[2]) == qualified[name]]
            if not rows and deleted(":".join(qualified[name])):
                already.append(name)
                continue
        if len(rows) > 1:
            raise PerkmatchError(f"{user_id} has post {name} on {len(rows)} platforms ("
                                 f"{', '.join(sorted(r[1] for r in rows))}): write --post PLATFORM:{name} for each one "
                                 "to delete")
        if rows:
            found.extend(rows)  # type: ignore[arg-type]  # (SQLModel types a stored row's id as int | None)
        else:
            missing.append(name)
    if missing:
        raise PerkmatchError(f"{user_id} has no stored post {', '.join(missing)}; `perkmatch export {user_id}` "
                             "lists theirs")
    return sorted(set(found)), already


def _deleted_check(s: Session, user_id: str, every: set[str]) -> Callable[[str], bool]:
    """Whether a name (of ``every``: as given, and qualified as stored) is that of a post of the user's deleted
    already (an earlier `forget --post`: ``forgotten.named_hash``)."""
    salt = s.get(Setting, SALT)
    asked = {name: named_hash(salt.value, user_id, name) for name in every} if salt is not None else {}
    hashes = {h for part in batches(sorted(asked.values()))  # only these names' (before: every deletion's)
              for h in s.exec(select(ForgottenPost.key_hash).where(col(ForgottenPost.key_hash).in_(part))).all()}

    def deleted(name: str) -> bool:
        return asked.get(name) in hashes

    return deleted


def withdraw_opt_ins(s: Session, user_id: str, topics: frozenset[str]) -> list[int]:
    """The user withdrew their opt-in to these sensitive topics: delete, in the caller's transaction, what every
    stored run inferred about them on those topics (scores and evidence), the assignments that cited them (their units
    stay counted with no id, as ``forget`` keeps them: ``delete_assignments``), and the user's withheld perks (they
    keep no topic, so one that came through these cannot be told apart). Readers already hid all of it
    (``topic_tree.not_shown``); now it is not kept either, and `export` no longer shows it. What the topics shaped
    beyond their own rows is worked out again once this is committed (``rework.rework_withdrawn``). Return the runs in
    which one of the topics was the user's strongest (the one their side interests were measured against)."""
    if not topics:
        return []
    hold_deletion_locks(s.connection())  # a match writing its run waits, or is waited for (``eligible.dropped_out``)
    cited = [r for r in s.exec(select(Assignment).where(Assignment.user_id == user_id))
             if not cited_topics(r.topics).isdisjoint(topics)]
    delete_assignments(s, user_id, [int(r.id or 0) for r in cited])
    delete_where(s, Withheld, Withheld.user_id == user_id)
    best: dict[int, tuple[float, bool]] = {}
    for run_id, topic_id, score in s.exec(select(TopicScore.run_id, TopicScore.topic_id, TopicScore.score)
                                          .where(TopicScore.user_id == user_id)
                                          .where(TopicScore.status == "inferred")):
        if run_id not in best or score > best[run_id][0]:
            best[run_id] = (score, topic_id in topics)
    delete_where(s, EvidencePost,
                 (col(EvidencePost.user_id) == user_id) & col(EvidencePost.topic_id).in_(sorted(topics)))
    delete_where(s, TopicScore, (col(TopicScore.user_id) == user_id) & col(TopicScore.topic_id).in_(sorted(topics)))
    return sorted(run_id for run_id, (_, withdrawn) in best.items() if withdrawn)


def opt_in(engine: Engine, user_id: str) -> tuple[bool, bool, bool, bool]:
    """Record that a user opts in, lifting an opt-out; (whether they were stored, whether an opt-out was lifted,
    whether any post of theirs is stored, whether they had opted in already)."""
    with session(engine) as s:
        known = s.get(User, user_id)
        user = known or User(user_id=user_id)
        already = known is not None and known.consent == "opted_in"
        if not already:  # a record changed: its time stamp moves (`perkmatch status` reads it)
            user.consent, user.updated_at = "opted_in", utcnow()
        s.add(user)
        cleared = bool(s.exec(delete(OptOut).where(col(OptOut.user_hash) == audit_hash(s, user_id))).rowcount)
        posted = has_posts(s, user_id)
        s.commit()
    return known is not None, cleared, posted, already


def forget(engine: Engine, user_id: str, opt_out: bool = False) -> dict[str, int]:
    """Forget a user (and, on opt-out, remember the hash) and scrub the file of the deleted text (on commit). An
    opt-out of an id with nothing stored is recorded alone (counts all 0), as a users file records one: no data was
    deleted, so no forget is (before, `status` counted one)."""
    with session(engine) as s:
        hold_deletion_locks(s.connection())  # (before reading what is stored: an ingest may be storing it)
        stored = s.get(User, user_id) is not None or has_posts(s, user_id)
        counts = forget_in_session(s, user_id) if stored or not opt_out else dict.fromkeys(FORGET_COUNTS, 0)
        if opt_out:
            record_opt_out(s, user_id)
        s.commit()
    return counts


def _scrub_on_commit(s: Session) -> None:
    """Scrub the file (``scrub``) when the caller commits the deletion, whoever the caller is (``forget``, or a users
    file opting someone out, committed by ``ingest``): before, only ``forget`` did, and an opt-out given in a users
    file left the deleted posts' text in SQLite's write-ahead log. Once per transaction, however many were forgotten."""
    if s.info.get("forget_scrub"):
        return
    s.info["forget_scrub"] = True
    engine = s.get_bind().engine
    if engine.dialect.name == "sqlite":  # committed with the deletion: cleared by the scrub that finishes
        s.merge(Setting(key=SCRUB_PENDING, value=utcnow().isoformat()))

    def scrub_committed(committed: Session) -> None:
        committed.info.pop("forget_scrub", None)
        scrub(engine)

    event.listen(s, "after_commit", scrub_committed, once=True)


SCRUB_WAIT_MS = 2_000  # how long a forget's scrub waits for another command reading the database
SCRUB_PENDING = "scrub_pending"  # the setting kept from a deletion's commit until a scrub of the file finishes
_UNSCRUBBED: set[str] = set()  # the databases whose last scrub could not finish, nor say so (``scrub_unfinished``)


def scrub(engine: Engine, wait_ms: int | None = SCRUB_WAIT_MS) -> bool:
    """SQLite: secure_delete is on; also checkpoint the WAL and VACUUM (PostgreSQL: see README). Whether it finished.

    A checkpoint that empties the log takes SQLite's writer lock while it waits for the commands reading the database
    to end. A profile run streams the texts it embeds in one long read, and writes their vectors meanwhile: a forget
    beside it held the writer lock for the whole busy timeout (60 s), and the profile's next write, waiting behind it
    as long, failed "database is locked". So the scrub waits ``wait_ms`` at most (None: as any write waits), says it
    did not finish (``scrub_unfinished``), and a profile run a forget landed in scrubs when it ends."""
    if engine.dialect.name != "sqlite":
        return True
    key = engine.url.render_as_string(hide_password=True)
    done = False
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if wait_ms is not None:
                conn.execute(text(f"PRAGMA busy_timeout = {int(wait_ms)}"))
            try:
                busy = conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).scalar()
                if not busy:
                    conn.execute(text("VACUUM"))
                    conn.execute(text("DELETE FROM settings WHERE key = :k"), {"k": SCRUB_PENDING})  # (before the
                    done = not conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).scalar()  # log is emptied)
                if not done:  # kept for the next scrub, in another process too (a profile run's end)
                    conn.execute(text("INSERT OR REPLACE INTO settings (key, value) VALUES (:k, :v)"),
                                 {"k": SCRUB_PENDING, "v": utcnow().isoformat()})
            finally:  # (not on a connection a stop signal invalidated: its error would replace the interrupt)
                if not conn.invalidated:
                    conn.execute(text(f"PRAGMA busy_timeout = {int(locks.SQLITE_WAIT_S * 1000)}"))
    except OperationalError:  # locked: another command is writing (the deletion itself is committed)
        done = False
    (_UNSCRUBBED.discard if done else _UNSCRUBBED.add)(key)
    return done


def scrub_unfinished(engine: Engine) -> bool:
    """Whether a deletion's scrub of the database has not finished (another command was reading it): kept in the
    database (``SCRUB_PENDING``), so a profile run's end scrubs only then, not after every forget that landed in it;
    or this process's last scrub could not finish nor say so (a write lock held)."""
    if engine.url.render_as_string(hide_password=True) in _UNSCRUBBED:
        return True
    if engine.dialect.name != "sqlite":
        return False
    with session(engine) as s:
        return scrub_pending(s)


def scrub_pending(s: Session) -> bool:
    """Whether the database keeps a note of a deletion's scrub that could not finish (``SCRUB_PENDING``)."""
    return s.get(Setting, SCRUB_PENDING) is not None
