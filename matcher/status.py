"""`perkmatch status`: what a database holds, what its newest runs used, and what is out of date since.

For operators between batch jobs: it reads counts and the newest runs (no vectors, no posts' texts; the posts of up
to ``CHECKED_RECORDS`` users whose record changed, to tell a region changed from a profile's input changed), so it is
quick on millions of posts, and it changes nothing. "Out of date" is judged from time stamps and what the runs
recorded: posts and users' records written after the newest profile run started, posts dated after the day it
profiled as of, a taxonomy whose content differs from the one that run used, an unfinished profile run, a catalog
version or profile run newer than the newest match run used, assigned perks whose offer has ended and perks whose
offer has opened since. It is a hint of what to run next (``matcher.next_steps`` words it); the runs themselves decide
exactly what to recompute.
"""

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, exists, func, text
from sqlmodel import Session, col, select

from catalog.refresh import live_version, valid_in
from catalog.schema import CatalogVersion, PerkRecord
from matcher import incremental
from matcher.assignments import matched_profile
from matcher.eligible import covered as posts_covered
from matcher.forget import scrub_pending
from matcher.forgotten import deleted_any
from matcher.locks import profile_running
from matcher.next_steps import next_steps
from matcher.records import as_of_text, end_of_day, utc_day
from matcher.store import (
    Assignment,
    Embedding,
    ForgetAudit,
    OptOut,
    Post,
    PostDeletion,
    ProfiledUser,
    Run,
    Topic,
    User,
    batches,
    session,
    shown_db,
    utcnow,
)
from matcher.taxonomy import taxonomy_digest
from matcher.topic_fit import forgets_done
from matcher.topic_tree import TopicInfo

__all__ = ["CHECKED_RECORDS", "database_status", "next_steps", "run_history"]

CHECKED_RECORDS = 1_000  # changed users' records up to this many are checked against the profile run's inputs
# (reading their posts: about 1 s for 1,000 users of 100 posts on SQLite)


def database_status(engine: Engine, db: str, today: dt.date | None = None, runs: int = 0) -> dict[str, Any]:
    """Everything `perkmatch status` shows, as one JSON-ready dict (README, "Using it as a CLI tool"); with
    ``runs``, the newest runs of any kind too (``run_history``)."""
    today = today or utcnow().date()
    with session(engine) as s:
        profile = _newest(s, "profile", finished=True)
        unfinished = _newest(s, "profile", finished=False)
        match = _newest(s, "match", finished=True)
        report: dict[str, Any] = {
            "database": shown_db(db), "size_bytes": _size(engine),
            "users": _users(s), "posts": _posts(s, today), "embeddings": _embeddings(s), "taxonomy": _taxonomy(s),
            "catalog": _catalog(s),
            "profile": _profile(s, profile, today) if profile else None,
            "unfinished_profile": (_unfinished(s, unfinished, engine) if unfinished and (
                profile is None or (unfinished.id or 0) > (profile.id or 0)) else None),
            "match": _match(s, match, today) if match else None,
            "scrub_pending": scrub_pending(s),  # a deletion's scrub that could not finish (``forget.scrub``)
        }
    # a run holding the profile lock with no run of its own recorded yet: it is embedding (its run is recorded once the
    # new texts are embedded); before, `status` said "no profile run yet", or called for a run already under way
    report["profile_embedding"] = report["unfinished_profile"] is None and bool(profile_running(engine))
    report["next"] = next_steps(report)
    report["up_to_date"] = not report["next"]
    if runs:
        report["runs"] = run_history(engine, runs)
    return report


def run_history(engine: Engine, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` runs (profile and match, unfinished ones too), newest first: when, how long, and what
    each recorded of itself (its stats: users, posts, texts embedded, topics, assignments, ...)."""
    with session(engine) as s:
        rows = s.exec(select(Run).order_by(col(Run.id).desc()).limit(limit)).all()
    out = []
    for run in rows:
        stats = json.loads(run.stats or "{}")
        took = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else None
        took = stats.get("seconds", took)  # a profile run's own measure, its embedding included
        out.append({**_run_times(run), "kind": run.kind, "seconds": None if took is None else round(took, 2),
                    "stats": stats})
    return out


def _newest(s: Session, kind: str, finished: bool) -> Run | None:
    query = select(Run).where(Run.kind == kind)
    query = query.where(Run.status == "finished") if finished else query.where(Run.status != "finished")
    return s.exec(query.order_by(col(Run.id).desc())).first()


def _size(engine: Engine) -> int | None:
    """The database's bytes on disk: a SQLite file's, its write-ahead log included; a PostgreSQL database's as the
    server counts it (``pg_database_size``); None otherwise (in memory)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    files = [Path(engine.url.database), Path(engine.url.database + "-wal")]
    return sum(f.stat().st_size for f in files if f.exists())


def _users(s: Session) -> dict[str, int]:
    """Stored users by consent; and the opt-outs recorded and the `forget`s that deleted someone's data (an opt-out of
    a stored user forgets them: no record of theirs is kept, only salted hashes; one of an id with nothing stored is
    an opt-out on record, no forget: ``forgotten.deleted_any``)."""
    counts = dict(s.exec(select(User.consent, func.count()).group_by(User.consent)).all())
    return {"total": sum(counts.values()), "opted_in": counts.get("opted_in", 0),
            "opted_out": s.exec(select(func.count()).select_from(OptOut)).one(), "no_consent": counts.get(None, 0),
            "forgotten": sum(map(deleted_any, s.exec(select(ForgetAudit.counts))))}


def _posts(s: Session, today: dt.date) -> dict[str, Any]:
    """Counts of the stored posts; ``after_today``: dated after today (a source's clock or dates wrong), which no
    run reads until their day comes (a run profiles as of today by default)."""
    def counted(condition: Any) -> Any:  # (PostgreSQL: no sum of booleans)
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    total, users, shares, future, first, last = s.exec(select(  # type: ignore[call-overload]  # (SQLModel: 4 columns at most)
        func.count(), func.count(func.distinct(Post.user_id)), counted(col(Post.is_share)),
        counted(Post.created_at > end_of_day(today)), func.min(Post.created_at), func.max(Post.created_at))).one()
    return {"total": total, "users": users, "reshares": int(shares), "after_today": int(future), "first": _day(first),
            "last": _day(last)}


def _embeddings(s: Session) -> dict[str, int]:
    """Stored vectors by encoder (each backend has its own key: README, 'Encoders')."""
    return dict(s.exec(select(Embedding.model, func.count()).group_by(Embedding.model)
                       .order_by(Embedding.model)).all())


def _taxonomy(s: Session) -> dict[str, Any]:
    rows = s.exec(select(Topic).order_by(col(Topic.position))).all()
    topics = [TopicInfo(r.topic_id, r.name, r.parent_id, r.description, r.sensitive) for r in rows]
    return {"loaded": bool(rows), "topics": len(rows), "sensitive": sum(r.sensitive for r in rows),
            "top_level": sum(r.parent_id is None for r in rows), "digest": taxonomy_digest(topics) if rows else None}


def _catalog(s: Session) -> dict[str, Any] | None:
    version = live_version(s)
    if version is None:
        return None
    row = s.get(CatalogVersion, version)
    assert row is not None
    live = s.exec(select(func.count()).select_from(PerkRecord).where(valid_in(version))).one()
    return {"version": version, "refreshed_at": _when(row.created_at), "source": row.source, "live_perks": live}


def _run_times(run: Run) -> dict[str, Any]:
    return {"run_id": run.id, "status": run.status, "started_at": _when(run.started_at),
            "finished_at": _when(run.finished_at), "as_of": as_of_text(run.as_of)}


def _unfinished(s: Session, run: Run, engine: Engine) -> dict[str, Any]:
    """A profile run newer than the newest finished one that has not finished, and how many users it completed
    (none when it stopped while it embedded: a new run then reuses only the texts it embedded); for one marked
    running, whether a run holds the profile lock now (``locks.profile_running``; false: it was killed; null: not
    known)."""
    done = s.exec(select(func.count()).select_from(ProfiledUser).where(ProfiledUser.run_id == run.id)).one()
    running = {"running": profile_running(engine)} if run.status == "running" else {}
    return {**_run_times(run), "users_completed": done, **running}


def _profile(s: Session, run: Run, today: dt.date) -> dict[str, Any]:
    """The newest finished profile run, what changed after it started (posts and users' records by the users its
    consent policy covers now; the taxonomy by content), and how many of those users' posts were written after the
    day it profiled as of, by today (a run as of a past day; posts dated after today no run reads yet: before,
    status called for a profile run after every run, as long as one post was dated in the future)."""
    params, stats = json.loads(run.params or "{}"), json.loads(run.stats or "{}")
    policy = params.get("policy", "opt-in")
    covered = posts_covered(policy)  # the posts of the users the run's policy covers now
    # posts dated after today are left out here too: no run reads them until their day (`posts.after_today` counts
    # them), so one ingested since the run calls for no run (before, it called for a profile run that changed nothing)
    until = end_of_day(today)
    stored_since = (col(Post.updated_at) > run.started_at) & (col(Post.created_at) <= until)
    changed = select(Post.user_id).where(stored_since).where(covered).subquery()
    posts, users = s.exec(select(func.count(), func.count(func.distinct(changed.c.user_id))).select_from(changed)).one()
    later = s.exec(select(func.count()).select_from(Post).where(Post.created_at > run.as_of)
                   .where(Post.created_at <= until).where(covered)).one()
    users_covered = (User.consent == "opted_in" if policy == "opt-in"  # (opt-out: a user with posts, as it profiles)
                     else (col(User.consent).is_(None) | (User.consent != "opted_out"))
                     & exists().where(col(Post.user_id) == User.user_id))
    recorded = select(User.user_id).where(User.updated_at > run.started_at).where(users_covered)
    records = s.exec(select(func.count()).select_from(recorded.subquery())).one()
    for_profile = None  # of those, the ones whose profile inputs changed (not only a region, say), beyond the users
    if 0 < records <= CHECKED_RECORDS:  # whose posts changed (said already); None: too many to check
        posted = set(s.exec(select(Post.user_id).where(stored_since).where(col(Post.user_id).in_(recorded))).all())
        for_profile = _inputs_changed(s, run, sorted(set(s.exec(recorded).all()) - posted))
    forgotten = _forgotten_since(s, run, params)
    # posts deleted by their authors since (`forget USER --post`): the run's scores still count them
    deleted, deleting = s.exec(select(func.coalesce(func.sum(PostDeletion.posts), 0),
                                      func.count(func.distinct(PostDeletion.user_hash)))
                               .where(PostDeletion.deleted_at > run.started_at)).one()
    return {**_run_times(run), "policy": policy, "users": stats.get("users"),
            "posts": stats.get("posts"), "inferred_topics": stats.get("inferred_topics"), "model": stats.get("model"),
            "encoder_options": stats.get("encoder_options"), "taxonomy_digest": params.get("taxonomy"),
            "rules": params.get("rules"), "rules_now": incremental.RULES_VERSION,
            "since": {"posts": posts, "posting_users": users, "user_records": records,
                      "user_records_for_profile": for_profile, "forgotten": forgotten,
                      "deleted_posts": int(deleted), "deleting_users": int(deleting)},
            "posts_after_as_of": later}


def _forgotten_since(s: Session, run: Run, params: dict[str, Any]) -> int:
    """Users forgotten since the run started whose posts were deleted: the topic vectors it fitted may rest on those
    (one who opted out with nothing stored changes nothing). Zero when no deletion was carried out after the run
    counted them for its topic fit (the fit's record, ``topic_fit.Fit.forgotten``, holds the count now): a `forget`
    that landed as the run started, before its fit read any post, left nothing of theirs in it (before, `status`
    called for a profile run "to fit the topic vectors again", and that run reused the fit and recomputed nobody)."""
    forgotten: int = sum(json.loads(counts or "{}").get("posts", 0) > 0 for counts in s.exec(
        select(ForgetAudit.counts).where(ForgetAudit.forgotten_at > run.started_at)).all())
    fit = params.get("topic_vectors")
    if forgotten and isinstance(fit, dict) and fit.get("forgotten") == forgets_done(s.connection()):
        return 0
    return forgotten


def _inputs_changed(s: Session, run: Run, user_ids: list[str]) -> int:
    """How many of these users' profile inputs (their posts and sensitive-topic opt-ins, ``incremental.user_digests``)
    differ from what the run computed them from: a users file that changed regions only changes none (the next
    profile run would copy every one of them), and then calls for a match, not a profile run."""
    if not user_ids:
        return 0
    now = incremental.user_digests(s.get_bind(), user_ids, run.as_of)
    stored: dict[str, str] = {}
    for part in batches(user_ids):
        stored.update(s.exec(select(ProfiledUser.user_id, ProfiledUser.digest).where(ProfiledUser.run_id == run.id)
                             .where(col(ProfiledUser.user_id).in_(part))).all())
    return sum(now[u] != stored.get(u) for u in user_ids)


def _match(s: Session, run: Run, today: dt.date) -> dict[str, Any]:
    """The newest finished match run: the catalog version and profile run it used, its assigned perks whose offer
    has ended (``ends`` before today), and that version's perks whose offer has opened since the day it matched
    for (``starts`` after it, by today) and is still open."""
    params, stats = json.loads(run.params or "{}"), json.loads(run.stats or "{}")
    version = params.get("catalog_version")
    ended, ended_perks = s.exec(select(func.count(), func.count(func.distinct(Assignment.perk_id)))
                                .select_from(Assignment).join(
        PerkRecord, (PerkRecord.perk_id == Assignment.perk_id) & valid_in(Assignment.catalog_version))
        .where(Assignment.run_id == run.id).where(col(PerkRecord.ends).is_not(None))
        .where(col(PerkRecord.ends) < today)).one()
    matched_on = utc_day(run.as_of)
    opened = 0 if version is None else s.exec(
        select(func.count()).select_from(PerkRecord).where(valid_in(version))
        .where(col(PerkRecord.starts) > matched_on).where(col(PerkRecord.starts) <= today)
        .where(col(PerkRecord.ends).is_(None) | (col(PerkRecord.ends) >= today))).one()
    profiled = select(ProfiledUser.user_id).where(ProfiledUser.run_id == matched_profile(run))
    records = s.exec(select(func.count()).select_from(User).where(User.updated_at > run.started_at)
                     .where(col(User.user_id).in_(profiled))).one()  # the users it matched whose record changed since
    return {**_run_times(run), "assignments": stats.get("assignments"), "users": stats.get("users"),
            "catalog_version": version, "profile_run": params.get("profile_run"), "ended_offers": ended,
            "ended_perks": ended_perks, "opened_offers": opened, "user_records": records, "today": today.isoformat()}


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _day(seconds: int | None) -> str | None:
    return None if seconds is None else utc_day(seconds).isoformat()
