"""What is kept of forgotten users and deleted posts, and the checks that read it: a salted hash of each forgotten
user's id (``ForgetAudit``), of each opt-out (``OptOut``), of each forgotten text (``ForgottenText``) and deleted post
(``ForgottenPost``), and each post deletion's time and count (``PostDeletion``); never the ids or texts themselves.

The deleting is ``matcher.forget``'s (and ``matcher.deletion``'s); ingest reads these so that nothing forgotten is
stored again. The reading functions write nothing (``kept_hash``: no salt is made in a reading command).
"""

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from matcher.store import (
    ForgetAudit,
    ForgottenPost,
    ForgottenText,
    OptOut,
    PostDeletion,
    Setting,
    User,
    batches,
    has_posts,
    session,
)

SALT = "audit_salt"  # the setting holding the salt of every hash kept of forgotten users


def audit_salt(s: Session) -> str:
    """The salt of every hash kept of forgotten users (``SALT``), made when first needed."""
    row = s.get(Setting, SALT)
    if row is None:
        row = Setting(key=SALT, value=secrets.token_hex(16))
        s.add(row)
        s.flush()
    return row.value


def audit_hash(s: Session, user_id: str) -> str:
    return _salted(audit_salt(s), user_id)


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
    salt = audit_salt(s)
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


def named_hash(salt: str, user_id: str, name: str) -> str:
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
    hashes = {h for h, counts in s.exec(select(ForgetAudit.user_hash, ForgetAudit.counts)) if deleted_any(counts)}
    return lambda user_id: _salted(salt.value, user_id) in hashes


def deleted_any(counts: str | None) -> bool:
    """Whether a forget's audit line (its counts) records data deleted. An opt-out of an id with nothing stored is
    recorded alone now (``forget.forget``); before, `consent USER opted_out` wrote such an id an audit line of zeros,
    and no one's data was deleted: it is no forget."""
    return any(json.loads(counts or "{}").values())


def forgotten_already(engine: Engine, user_id: str) -> bool:
    """Whether a user id is one `forget` (or an opt-out) deleted, with nothing stored under it since."""
    with session(engine) as s:
        return (s.get(User, user_id) is None and not has_posts(s, user_id)
                and (was_forgotten(s, user_id) or opted_out(s, user_id)))


def opted_out_already(engine: Engine, user_id: str) -> bool:
    """Whether a user opted out, with nothing stored under the id since: `consent USER opted_out` run again (after
    an interruption) has nothing to delete, nor a forget to record again."""
    with session(engine) as s:
        return s.get(User, user_id) is None and not has_posts(s, user_id) and opted_out(s, user_id)


def was_forgotten(s: Session, user_id: str) -> bool:
    """Whether `forget` deleted a user of this id (its audit log keeps a salted hash of the id). Reads only
    (``kept_hash``)."""
    hashed = kept_hash(s, user_id)
    return hashed is not None and any(map(deleted_any, s.exec(select(ForgetAudit.counts)
                                                              .where(ForgetAudit.user_hash == hashed))))
