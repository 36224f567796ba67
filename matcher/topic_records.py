"""The contract's `topics` records of a profile run, and the lookups every reader starts from: the latest profile
run, a user, whether the run profiled them, and whether their record changed since.

The rest of the read side builds on these: ``matcher.explain`` (why a topic was inferred or not),
``matcher.assignments`` (the records of a kept match run) and ``matcher.user_export`` (everything stored about a
user).
"""

import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Iterator
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from matcher.errors import NotReadyError, UnknownUserError
from matcher.profile_run import latest_run
from matcher.profile_types import ProfileParams
from matcher.store import (
    EvidencePost,
    Post,
    ProfiledUser,
    Run,
    TopicScore,
    User,
    batches,
    has_posts,
    session,
)
from matcher.taxonomy import known_names, load_topics, replaced_since, taxonomy_digest, topic_ids_in
from matcher.topic_tree import TopicInfo, not_shown

SHOWN_EVIDENCE = ProfileParams.evidence_posts  # the evidence a topic shows (its perks' is chosen from more)
RECORD_CHUNK = 500  # users whose records ``every_user_topics`` reads at a time


def iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def post_record(p: Post, again: Container[int] = frozenset()) -> dict[str, Any]:
    """A post as evidence: ``is_share`` says it passes on someone else's content (not the user's own words);
    ``stored_again`` (only when true: the post is among ``again``, ``stored_again``) that it was stored again after
    the run that cited it read it, so it shows its text and engagement as they are now, not as the run read them."""
    record = {"post_id": p.post_id, "platform": p.platform, "text": p.text, "context": p.context,
              "created_at": iso(p.created_at), "likes": p.likes, "replies": p.replies, "shares": p.shares,
              "is_share": p.is_share}
    return record | {"stored_again": True} if p.id in again else record


def stored_again(s: Session, keys: Iterable[int], run_id: int | None) -> set[int]:
    """Which of these posts were stored again (a new text or new engagement) after profile run ``run_id`` started."""
    run = s.get(Run, run_id) if run_id is not None else None
    if run is None:
        return set()
    found: set[int] = set()
    for part in batches(sorted(set(keys))):
        found.update(s.exec(select(Post.id).where(col(Post.id).in_(part))  # type: ignore[arg-type]  # (SQLModel: int | None)
                            .where(col(Post.updated_at) > run.started_at)).all())
    return found


def posts_by_key(s: Session, keys: set[int]) -> dict[int, Post]:
    out: dict[int, Post] = {}
    ordered = sorted(keys)
    for part in batches(ordered):
        for p in s.exec(select(Post).where(col(Post.id).in_(part))).all():
            out[int(p.id or 0)] = p
    return out


def require_profile(engine: Engine) -> Run:
    run = latest_run(engine, "profile")
    if run is None:
        raise NotReadyError("no profile yet; run `perkmatch profile` first")
    return run


def require_user(engine: Engine, user_id: str) -> User:
    from matcher.forgotten import opted_out, was_forgotten

    with session(engine) as s:
        user = s.get(User, user_id)
        posted = has_posts(s, user_id)
        out = user is None and not posted and opted_out(s, user_id)
        gone = user is None and not posted and was_forgotten(s, user_id)
    if out:  # the answer to a right-of-access request, too: what is kept, and why
        how = "and were forgotten" if gone else "before anything of theirs was stored"  # (before: "were forgotten")
        raise UnknownUserError(f"nothing about '{user_id}' is stored: they opted out {how}; only a salted hash of "
                               "their id is kept, so that their posts are never stored again")
    if gone:
        raise UnknownUserError(f"no user '{user_id}' is stored: they were forgotten (`perkmatch forget`); only a "
                               "salted hash of their id is kept, in the audit log of deletions")
    if user is None and not posted:
        raise UnknownUserError(f"no user '{user_id}' is stored; check the id (`perkmatch topics --all` lists users)")
    return user or User(user_id=user_id)


def require_profiled(engine: Engine, run: Run, user: User) -> None:
    """Refuse to describe the topics of a user the run did not profile (an empty list would read as "writes about
    nothing"), saying why they are not in it and what to do."""
    why = not_profiled(engine, run, user)
    if why:
        raise NotReadyError(why)


def not_profiled(engine: Engine, run: Run, user: User) -> str | None:
    """Why a profile run has no profile of this user (None when it has one)."""
    with session(engine) as s:
        found = s.exec(select(ProfiledUser.user_id).where(ProfiledUser.run_id == run.id)
                       .where(ProfiledUser.user_id == user.user_id)).first()
    if found is not None:
        return None
    policy = json.loads(run.params or "{}").get("policy", "opt-in")
    if user.consent == "opted_out" or (policy == "opt-in" and user.consent != "opted_in"):
        why = (f"they have not opted in (consent: {user.consent or 'none recorded'}), and only users who opted in are "
               f"profiled; if they did, record it (`perkmatch consent {user.user_id} opted_in`), then run "
               "`perkmatch profile`")
    else:
        why = "they were added after that run; run `perkmatch profile` to profile them"
    return f"{user.user_id} is not in profile run {run.id}: {why}"


def topic_records(engine: Engine, run_id: int, user_ids: list[str], candidates: bool = False,
                  stored: bool = False) -> list[dict[str, Any]]:
    """Contract records `{"user_id", "topics": [...]}` of these users in one profile run, ordered by user id (a user
    with no topic in it too; ``every_user_topics``: of every user it profiled); without the sensitive topics a user
    has withdrawn their opt-in to since the run, unless ``stored`` (all that is stored, for `export`)."""
    taxonomy = load_topics(engine)
    names, hidden = known_names(engine, taxonomy), hidden_topics(taxonomy, stored)
    with session(engine) as s:
        query = select(TopicScore).where(TopicScore.run_id == run_id).where(col(TopicScore.user_id).in_(user_ids))
        if not candidates:
            query = query.where(TopicScore.status == "inferred")
        scores = s.exec(query.order_by(col(TopicScore.user_id), col(TopicScore.rank))).all()
        ev_query = (select(EvidencePost).where(EvidencePost.run_id == run_id).where(EvidencePost.rank <= SHOWN_EVIDENCE)
                    .where(col(EvidencePost.user_id).in_(user_ids)))
        evidence: dict[tuple[str, str], list[EvidencePost]] = defaultdict(list)
        for e in s.exec(ev_query.order_by(col(EvidencePost.rank))).all():
            evidence[(e.user_id, e.topic_id)].append(e)
        posts = posts_by_key(s, {e.post_pk for lst in evidence.values() for e in lst})
        again = stored_again(s, posts, run_id)
        opt_ins = user_opt_ins(s, {r.user_id for r in scores})
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in scores:
        hide = hidden(opt_ins.get(r.user_id))
        if r.topic_id not in hide:  # a sensitive topic they have withdrawn since the run
            by_user[r.user_id].append(topic_record(r, names, evidence[(r.user_id, r.topic_id)], posts, hide, again))
    return [{"user_id": u, "topics": by_user.get(u, [])} for u in sorted(set(user_ids))]


def hidden_topics(taxonomy: list[TopicInfo], stored: bool) -> Callable[[str | None], frozenset[str]]:
    return (lambda _: frozenset()) if stored else not_shown(taxonomy)


def user_opt_ins(s: Session, user_ids: set[str]) -> dict[str, str | None]:
    """Each user's stored sensitive-topic opt-ins (JSON), for ``topic_tree.not_shown``."""
    ids = sorted(user_ids)
    out: dict[str, str | None] = {}
    for part in batches(ids):
        out.update(s.exec(select(User.user_id, User.sensitive_opt_in)
                          .where(col(User.user_id).in_(part))).all())
    return out


def topic_record(r: TopicScore, names: dict[str, str], evidence: list[EvidencePost],
                  posts: dict[int, Post], hide: frozenset[str] = frozenset(), again: Container[int] = frozenset()
                  ) -> dict[str, Any]:
    d = json.loads(r.details)
    # a candidate parent whose posts count for its inferred children: which (its shortfalls are of its posts beyond
    # theirs, as `explain` says); never a sensitive child the user does not opt in to
    covered = [k for k in d.get("covered_by", []) if k not in hide]
    return {
        "topic_id": r.topic_id, "name": names[r.topic_id], "status": r.status,
        "score": r.score, "confidence": r.confidence, "posts": r.posts, "days": r.days,
        "threads": d.get("threads", 0), "engagement": d.get("positive_engagement", 0.0),
        "engagement_vs_usual": round(math.exp(r.engagement), 2),
        "first": iso(d["first"]) if d.get("first") else None, "last": iso(d["last"]) if d.get("last") else None,
        **({"shortfalls": d.get("shortfalls", [])} if r.status != "inferred" else {}),
        **({"covered_by": covered} if covered and r.status != "inferred" else {}),
        # its posts never shown (each about a sensitive topic or matter: counted, never quoted), when there are any
        **({"not_shown": d["not_shown"]} if d.get("not_shown") else {}),
        "evidence": [post_record(posts[e.post_pk], again) for e in evidence if e.post_pk in posts],
    }


def user_topics(engine: Engine, user_id: str | None = None, candidates: bool = False) -> list[dict[str, Any]]:
    """The latest profile's topics for one user, or for every profiled user (``every_user_topics`` gives those
    without holding them all)."""
    if user_id is None:
        return list(every_user_topics(engine, candidates))
    run = require_profile(engine)
    require_profiled(engine, run, require_user(engine, user_id))
    return topic_records(engine, int(run.id or 0), [user_id], candidates)


def every_user_topics(engine: Engine, candidates: bool = False) -> Iterator[dict[str, Any]]:
    """The latest profile's topics of every user it profiled, by user id, read ``RECORD_CHUNK`` users at a time:
    `topics --all` prints each chunk before it reads the next, so its memory does not grow with the users (reading
    every user's records at once took 0.9 GB at 8,000 users)."""
    run = require_profile(engine)
    run_id = int(run.id or 0)
    with session(engine) as s:  # every user the run profiled, those it found no topic for included
        users = set(s.exec(select(ProfiledUser.user_id).where(ProfiledUser.run_id == run_id)).all())
        users.update(s.exec(select(TopicScore.user_id).where(TopicScore.run_id == run_id).distinct()).all())
    ordered = sorted(users)
    for start in range(0, len(ordered), RECORD_CHUNK):
        yield from topic_records(engine, run_id, ordered[start:start + RECORD_CHUNK], candidates)


def stale_taxonomy(engine: Engine, run_id: int | None = None) -> str | None:
    """What to warn when the taxonomy was replaced after the latest profile run (or ``run_id``, the one a match used):
    the run inferred topics it no longer has (the topics shown are the run's, by id, until the next `profile`), or
    its content differs from the one the run used (a topic added or redescribed, which the run did not weigh); None
    when it is the run's."""
    if run_id is None:
        run = latest_run(engine, "profile")
    else:
        with session(engine) as s:
            run = s.get(Run, run_id)
    if run is None:
        return None
    with session(engine) as s:
        inferred = s.exec(select(TopicScore.topic_id).where(TopicScore.run_id == run.id)
                          .where(TopicScore.status == "inferred").distinct()).all()
        gone = sorted(set(inferred) - topic_ids_in(s))
    if gone:
        return replaced_since(int(run.id or 0), gone)
    used = json.loads(run.params or "{}").get("taxonomy")  # its digest (runs before it was recorded: none)
    if used and used != taxonomy_digest(load_topics(engine)):
        return (f"the taxonomy was replaced after profile run {run.id} (topics added, renamed or redescribed, or "
                "marked sensitive or no longer): what is shown is that run's, which did not weigh the new taxonomy, "
                "less the topics it now marks sensitive for users who did not opt in to them; run `perkmatch profile` "
                "again")
    return None


def evidence_changed(engine: Engine, run_id: int, user_ids: list[str] | None = None, topic_id: str | None = None,
                     candidates: bool = False) -> str | None:
    """What to warn when evidence posts shown from a profile run (of its inferred topics, and its candidates too with
    ``candidates``; of these users, None: of every user; of this topic only) were stored again after the run started,
    with a new text or new engagement: they are shown as they are now, not as the run read them; None when none was.
    Assignments show posts of their topics' pools: ``shown_again``."""
    with session(engine) as s:
        run = s.get(Run, run_id)
        if run is None:
            return None
        query = (select(EvidencePost.post_pk).join(Post, col(Post.id) == EvidencePost.post_pk)
                 .join(TopicScore, (col(TopicScore.run_id) == EvidencePost.run_id)
                       & (col(TopicScore.user_id) == EvidencePost.user_id)
                       & (col(TopicScore.topic_id) == EvidencePost.topic_id))
                 .where(EvidencePost.run_id == run_id).where(col(Post.updated_at) > run.started_at))
        if not candidates:
            query = query.where(TopicScore.status == "inferred")
        query = query.where(EvidencePost.rank <= SHOWN_EVIDENCE)
        if topic_id is not None:
            query = query.where(EvidencePost.topic_id == topic_id)
        found: set[int] = set()
        for users in batches(user_ids or [None]):  # (a long IN list: PostgreSQL takes 65,535 at most)
            found.update(s.exec(query if user_ids is None else query.where(col(EvidencePost.user_id).in_(users))).all())
        return _again_note(len(found), run_id)


def shown_again(records: Iterable[dict[str, Any]], run_id: int | None) -> str | None:
    """``evidence_changed`` of the evidence these assignment records (``assignments.assignment_records``) show, from
    their flags (``post_record``): a perk's evidence is chosen from its topic's pool, and counting the whole pool warned
    of posts no assignment shows."""
    again = {(p["platform"], p["post_id"]) for r in records for t in r.get("topics", [])
             for p in t.get("evidence", []) if p.get("stored_again")}
    return _again_note(len(again), run_id)


def _again_note(changed: int, run_id: int | None) -> str | None:
    if not changed:
        return None
    return (f"{changed} evidence post(s) were stored again (a new text or new engagement) after profile run {run_id} "
            "read them: they are shown as they are now; `perkmatch profile` reads them again")


def record_changed(engine: Engine, user_id: str, after: dt.datetime, until: dt.datetime | None = None) -> bool:
    """Whether the user's stored record (consent, opt-ins, region) changed after ``after`` (and by ``until``). Asked
    of the database: a user with posts but no record has none to have changed."""
    return bool(records_changed(engine, [user_id], after, until))


def records_changed(engine: Engine | Session, user_ids: Iterable[str], after: dt.datetime,
                    until: dt.datetime | None = None) -> set[str]:
    """The users among ``user_ids`` whose stored record changed after ``after`` (and by ``until``)."""
    ids = sorted(set(user_ids))
    out: set[str] = set()
    with session(engine) as s:
        for part in batches(ids):
            query = (select(User.user_id).where(col(User.user_id).in_(part))
                     .where(col(User.updated_at) > after))
            if until is not None:
                query = query.where(col(User.updated_at) <= until)
            out.update(s.exec(query).all())
    return out
