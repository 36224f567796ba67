"""Forget a user: delete every trace (posts, their words quoted as other posts' context, user row, unshared
embeddings, profiles, evidence, assignments, and the kept topic fits their posts may have shaped), keep only an
audit line (salted hash of the id, time, counts), and scrub free pages once the deletion is committed.
"""

import datetime as dt
import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, delete, event, text, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from catalog.refresh import text_key
from matcher import locks
from matcher.errors import PerkmatchError
from matcher.locks import hold_deletion_locks
from matcher.records import embed_form
from matcher.store import (
    Assignment,
    Embedding,
    EvidencePost,
    ForgetAudit,
    ForgottenPost,
    ForgottenText,
    OptOut,
    Post,
    PostDeletion,
    ProfiledUser,
    Run,
    Setting,
    TopicScore,
    TopicVector,
    User,
    Withheld,
    batches,
    bulk_insert,
    cited_topics,
    has_posts,
    session,
    utcnow,
)

SALT = "audit_salt"  # the setting holding the salt of every hash kept of forgotten users


def _salt(s: Session) -> str:
    row = s.get(Setting, SALT)
    if row is None:
        row = Setting(key=SALT, value=secrets.token_hex(16))
        s.add(row)
        s.flush()
    return row.value


def audit_hash(s: Session, user_id: str) -> str:
    return _salted(_salt(s), user_id)


def kept_hash(s: Session, user_id: str) -> str | None:
    """``audit_hash`` for a reading command: None when there is no salt yet (nothing was ever kept by a hash of a user
    id: no opt-out, `forget` or deleted post), and none is made (no write in a reading command)."""
    salt = s.get(Setting, SALT)
    return None if salt is None else _salted(salt.value, user_id)


def _salted(salt: str, user_id: str) -> str:
    """The salted hash a user id is kept by (audit lines, opt-outs)."""
    return hashlib.sha256((salt + user_id).encode()).hexdigest()


def text_hashes(s: Session, keys: set[str] | list[str]) -> dict[str, str]:
    """The salted hash each text key is kept by once forgotten (``ForgottenText``), to its key: it tells a text
    again, not what it was."""
    salt = _salt(s)
    return {hashlib.sha256((salt + "text:" + key).encode()).hexdigest(): key for key in keys}


def any_forgotten_text(s: Session) -> bool:
    return s.exec(select(ForgottenText.key_hash).limit(1)).first() is not None


def forgotten_contexts(s: Session, keys: set[str]) -> set[str]:
    """Which of these text keys are those of forgotten users' texts."""
    if not keys:
        return set()
    hashed = text_hashes(s, keys)
    found: set[str] = set()
    names = sorted(hashed)
    for part in batches(names):
        found.update(hashed[h] for h in s.exec(select(ForgottenText.key_hash)
                                              .where(col(ForgottenText.key_hash).in_(part))))
    return found


def forget_in_session(s: Session, user_id: str) -> dict[str, int]:
    """Delete the user's data inside the caller's transaction; return counts deleted. Their words quoted whole as
    the context of other users' posts (a reply's parent, a thread's opening post) go too: those posts keep their
    own text and lose the context (``quoted_contexts``), and are read without it from the next profile run on. Words
    another user still posts as theirs (a copy of the user's post, a phrase many people post) are not the user's alone:
    a context quoting them may quote that post, and stays."""
    hold_deletion_locks(s.connection())  # a run writing users' rows, or an ingest, meanwhile waits or is waited for
    counts = _delete_posts(s, Post.user_id == user_id)
    counts["topics"] = _delete(s, TopicScore, TopicScore.user_id == user_id)
    counts["evidence"] = _delete(s, EvidencePost, EvidencePost.user_id == user_id)
    _delete(s, ProfiledUser, ProfiledUser.user_id == user_id)
    counts["assignments"] = delete_assignments(s, user_id)
    counts["withheld"] = _delete(s, Withheld, Withheld.user_id == user_id)
    counts["topic_fits"] = _drop_fits(s) if counts["posts"] else 0  # (a user with no posts is in no fit)
    counts["users"] = _delete(s, User, User.user_id == user_id)
    hashed = audit_hash(s, user_id)
    _delete(s, PostDeletion, PostDeletion.user_hash == hashed)  # the audit line below says enough
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
        counts = _delete_posts(s, col(Post.id).in_(pks))
        counts["evidence"] = sum(_delete(s, EvidencePost, col(EvidencePost.post_pk).in_(part)) for part in batches(pks))
        _uncite(s, user_id, set(pks))
        counts["topic_fits"] = _drop_fits(s)
        salt = _salt(s)
        kept = [post_hash(salt, platform, post_id) for _, platform, post_id in found]  # an export's copy is skipped
        kept += [_named_hash(salt, user_id, name) for _, platform, post_id in found  # a re-run finds it deleted
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


def _uncite(s: Session, user_id: str, pks: set[int]) -> None:
    """Take these deleted posts out of the posts the user's assignments cite for their perks (``match.perk_evidence``).
    Left there, a key pointed at whatever post SQLite stores next under it: another user's, shown as this user's
    evidence in `match` records and brands' exports."""
    for row in s.exec(select(Assignment).where(Assignment.user_id == user_id)).all():
        topics = json.loads(row.topics or "[]")
        if any(pks.intersection(t.get("posts") or []) for t in topics):
            row.topics = json.dumps([t | {"posts": [k for k in t["posts"] if k not in pks]} if t.get("posts") else t
                                     for t in topics])
            s.add(row)


def _posts_named(s: Session, user_id: str, names: list[str]) -> tuple[list[tuple[int, str, str]], list[str]]:
    """The user's stored posts (pk, platform, post id) the names given to `forget --post` name, and the names of the
    user's posts deleted already (an earlier `forget --post`: ``_named_hash``). A name is first a post id as it is
    (stored, or deleted already), and only then PLATFORM:POST_ID: a post whose id holds a colon is named by it, and a
    re-run finds it deleted instead of reading it as another post's. Raise, naming each, for a name that is none of
    these, or that names the user's posts on several platforms (PLATFORM:POST_ID names one)."""
    qualified = {n: (n.split(":", 1)[0].lower(), n.split(":", 1)[1]) for n in names if ":" in n}
    mine = s.exec(select(Post.id, Post.platform, Post.post_id).where(Post.user_id == user_id)
                  .where(col(Post.post_id).in_(names + [post_id for _, post_id in qualified.values()]))).all()
    salt = s.get(Setting, SALT)
    every = {*names, *(":".join(q) for q in qualified.values())}  # as given, and qualified as stored
    asked = {name: _named_hash(salt.value, user_id, name) for name in every} if salt is not None else {}
    hashes = {h for part in batches(sorted(asked.values()))  # only these names' (before: every deletion's)
              for h in s.exec(select(ForgottenPost.key_hash).where(col(ForgottenPost.key_hash).in_(part))).all()}

    def deleted(name: str) -> bool:
        return asked.get(name) in hashes

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


def _named_hash(salt: str, user_id: str, name: str) -> str:
    """The salted hash by which a post a user deleted is known by a name they may give it again (its post id, and
    PLATFORM:POST_ID): kept with the post's own hash (``ForgottenPost``), it tells nothing without the user's id."""
    return _salted(salt, f"named:{user_id}\0{name}")


def post_hash(salt: str, platform: str, post_id: str) -> str:
    """The salted hash a deleted post is kept by (``ForgottenPost``): it tells the post again, not what it was."""
    return _salted(salt, f"post:{platform}\0{post_id}")


def post_deletions(s: Session, user_id: str, after: dt.datetime | None = None, until: dt.datetime | None = None
                   ) -> list[tuple[dt.datetime, int]]:
    """When `forget USER --post` deleted posts of the user, and how many each time, oldest first (only after ``after``
    and by ``until`` when given). Reads only (``kept_hash``)."""
    hashed = kept_hash(s, user_id)
    if hashed is None:
        return []
    stmt = select(PostDeletion.deleted_at, PostDeletion.posts).where(PostDeletion.user_hash == hashed)
    if after is not None:
        stmt = stmt.where(col(PostDeletion.deleted_at) > after)
    if until is not None:
        stmt = stmt.where(col(PostDeletion.deleted_at) <= until)
    return [(at, int(n)) for at, n in s.exec(stmt.order_by(col(PostDeletion.deleted_at), col(PostDeletion.id)))]


def deleted_posts_check(s: Session) -> Callable[[str, str], bool]:
    """Whether a post (platform, post id) was deleted by its author (`forget USER --post`): the hashes read once."""
    salt = s.get(Setting, SALT)
    hashes = set(s.exec(select(ForgottenPost.key_hash)).all()) if salt is not None else set()
    if not hashes:
        return lambda platform, post_id: False
    return lambda platform, post_id: post_hash(salt.value, platform, post_id) in hashes  # type: ignore[union-attr]


def _drop_fits(s: Session) -> int:
    """Delete every kept topic fit: a fit is a mean over posts that may include deleted ones (on a small collection, a
    topic written about by one person alone is their posts' mean); the next profile run fits again (``topic_fit``)."""
    fits = len(set(s.exec(select(TopicVector.run_id)).all()))
    _delete(s, TopicVector, col(TopicVector.run_id).is_not(None))
    return fits


def _delete_posts(s: Session, which: Any) -> dict[str, int]:
    """Delete these posts, their words quoted whole as the context of other users' posts (a reply's parent, a thread's
    opening post: those posts keep their own text and lose the context), and the vectors no other post uses; return
    the counts. Words another user still posts as theirs are not the author's alone: a context quoting them stays."""
    rows = s.exec(select(Post.text_key, Post.context_key, Post.text).where(which)).all()
    keys = [(text_key, context_key) for text_key, context_key, _ in rows]
    titles = {key for _, _, text in rows for key in _title_keys(text)}
    own = {k for pair in keys for k in pair if k} | titles  # the vectors of these go unless another post uses them
    counts = {"posts": _delete(s, Post, which), "quoted_contexts": 0}
    quotable = sorted({text_key for text_key, _ in keys} | titles)
    written = sorted(set(quotable) - _still_posted(s, quotable))
    for part in batches(written):
        quoted = update(Post).where(col(Post.context_key).in_(part))
        counts["quoted_contexts"] += int(s.exec(quoted.values(context=None, context_key=None)).rowcount or 0)
    bulk_insert(s.connection(), ForgottenText.__table__, ("key_hash",),  # type: ignore[attr-defined]  # a file ingested later quotes none again
                [(h,) for h in sorted(text_hashes(s, written))], keep_existing=True)
    bare = sorted({form for _, _, text in rows for form in _bare_forms(text)})
    bare = sorted(set(bare) - _still_posted(s, bare, Post.text))
    for part in batches(bare):  # links only: no key, so their quotes are found by their text
        quoted = update(Post).where(col(Post.context_key).is_(None), col(Post.context).in_(part))
        counts["quoted_contexts"] += int(s.exec(quoted.values(context=None)).rowcount or 0)
    still_used: set[str | None] = set()
    own_list = sorted(own)
    for chunk in batches(own_list):
        still_used.update(s.exec(select(Post.text_key).where(col(Post.text_key).in_(chunk))).all())
        still_used.update(s.exec(select(Post.context_key).where(col(Post.context_key).in_(chunk))).all())
    orphaned = sorted(own - still_used)
    counts["embeddings"] = 0
    for part in batches(orphaned):
        counts["embeddings"] += _delete(s, Embedding, col(Embedding.text_key).in_(part))
    return counts


def delete_assignments(s: Session, user_id: str, ids: list[int] | None = None) -> int:
    """Delete the user's assignments (``ids``: only these). The units they used stay counted, with no id: each match
    run's stats keep how many of each perk went to users since forgotten (``forgotten_units``), so a brand is not told
    a unit given out is still there to give."""
    used: dict[int, Counter[str]] = {}
    which = col(Assignment.user_id) == user_id
    if ids is not None:
        which = which & col(Assignment.id).in_(ids)
    for run_id, perk_id in s.exec(select(Assignment.run_id, Assignment.perk_id).where(which)):
        used.setdefault(run_id, Counter())[perk_id] += 1
    for run_id, units in used.items():
        run = s.get(Run, run_id)
        if run is not None:
            stats = json.loads(run.stats or "{}")
            stats["forgotten_units"] = dict(sorted((Counter(stats.get("forgotten_units", {})) + units).items()))
            run.stats = json.dumps(stats)
            s.add(run)
    return _delete(s, Assignment, which)


def forgotten_units(s: Session, run_id: int, perk_id: str) -> int:
    """How many units of a perk a match run gave to users forgotten since (``delete_assignments``)."""
    run = s.get(Run, run_id)
    return int(json.loads(run.stats or "{}").get("forgotten_units", {}).get(perk_id, 0)) if run else 0


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


def _title_keys(text: str) -> set[str]:
    """The keys of the ways a post is quoted as others' context besides whole: its title, its first paragraph or
    line (a Stack Exchange question is "Title\n\nBody", and its answers carry the title alone)."""
    forms = {text.split("\n\n", 1)[0], text.split("\n", 1)[0]}
    return {text_key(embed_form(f)) for f in forms if f.strip() and f != text}


def _still_posted(s: Session, keys: list[str], column: Any = Post.text_key) -> set[str]:
    """The keys (or texts) that are still those of a post (another user's: theirs are deleted first). Those words
    are not the user's alone (a copy of their post, a phrase many people post), so a context quoting them may quote
    that other post: it stays."""
    found: set[str] = set()
    for part in batches(keys):
        found.update(s.exec(select(column).where(col(column).in_(part))).all())
    return found


def _bare_forms(text: str) -> set[str]:
    """A post that is links only (nothing is left once ``embed_form`` reduces them): the forms in which other posts
    quote it whole as their context, which has no key then (``ingest``), only its text."""
    if embed_form(text):
        return set()
    return {form for form in (text, text.strip()) if form}


def withdraw_opt_ins(s: Session, user_id: str, topics: frozenset[str]) -> list[int]:
    """The user withdrew their opt-in to these sensitive topics: delete, in the caller's transaction, what every
    stored run inferred about them on those topics (scores and evidence), the assignments that cited them (their units
    stay counted with no id, as ``forget`` keeps them: ``delete_assignments``), and the user's withheld perks (they
    keep no topic, so one that came through these cannot be told apart). Readers already hid all of it
    (``taxonomy.not_shown``); now it is not kept either, and `export` no longer shows it. What the topics shaped
    beyond their own rows is worked out again once this is committed (``rework.rework_withdrawn``). Return the runs in
    which one of the topics was the user's strongest (the one their side interests were measured against)."""
    if not topics:
        return []
    hold_deletion_locks(s.connection())  # a match writing its run waits, or is waited for (``eligible.drop_withdrawn``)
    cited = [r for r in s.exec(select(Assignment).where(Assignment.user_id == user_id))
             if not cited_topics(r.topics).isdisjoint(topics)]
    delete_assignments(s, user_id, [int(r.id or 0) for r in cited])
    _delete(s, Withheld, Withheld.user_id == user_id)
    best: dict[int, tuple[float, bool]] = {}
    for run_id, topic_id, score in s.exec(select(TopicScore.run_id, TopicScore.topic_id, TopicScore.score)
                                          .where(TopicScore.user_id == user_id)
                                          .where(TopicScore.status == "inferred")):
        if run_id not in best or score > best[run_id][0]:
            best[run_id] = (score, topic_id in topics)
    _delete(s, EvidencePost, (col(EvidencePost.user_id) == user_id) & col(EvidencePost.topic_id).in_(sorted(topics)))
    _delete(s, TopicScore, (col(TopicScore.user_id) == user_id) & col(TopicScore.topic_id).in_(sorted(topics)))
    return sorted(run_id for run_id, (_, withdrawn) in best.items() if withdrawn)


def _delete(s: Session, table: type, condition: object) -> int:
    result = s.execute(delete(table).where(condition))  # type: ignore[arg-type]
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def record_opt_out(s: Session, user_id: str) -> None:
    """Remember (by salted hash only) that a user opted out, so ingest never stores their posts again."""
    s.merge(OptOut(user_hash=audit_hash(s, user_id)))


def opted_out(s: Session, user_id: str) -> bool:
    """Whether the user opted out. Reads only (``kept_hash``)."""
    hashed = kept_hash(s, user_id)
    return hashed is not None and s.get(OptOut, hashed) is not None


def forgotten_check(s: Session) -> Callable[[str], bool]:
    """``was_forgotten`` for many ids at once: the audit log's hashes read once (one per `forget` carried out), the
    salt once; not a query per id (``ingest`` asks it of every user it adds)."""
    salt = s.get(Setting, SALT)
    if salt is None:
        return lambda _: False
    hashes = set(s.exec(select(ForgetAudit.user_hash)).all())
    return lambda user_id: _salted(salt.value, user_id) in hashes


def forgotten_already(engine: Engine, user_id: str) -> bool:
    """Whether a user id is one `forget` (or an opt-out) deleted, with nothing stored under it since."""
    with session(engine) as s:
        return (s.get(User, user_id) is None and not has_posts(s, user_id)
                and (was_forgotten(s, user_id) or opted_out(s, user_id)))


def was_forgotten(s: Session, user_id: str) -> bool:
    """Whether `forget` deleted a user of this id (its audit log keeps a salted hash of the id). Reads only
    (``kept_hash``)."""
    hashed = kept_hash(s, user_id)
    return hashed is not None and s.exec(select(ForgetAudit.id).where(ForgetAudit.user_hash == hashed)
                                         .limit(1)).first() is not None


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
    """Forget a user (and, on opt-out, remember the hash) and scrub the file of the deleted text (on commit)."""
    with session(engine) as s:
        counts = forget_in_session(s, user_id)
        if opt_out:
            record_opt_out(s, user_id)
        s.commit()
    return counts


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
            finally:
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
