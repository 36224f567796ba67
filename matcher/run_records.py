"""A run's record in the ``runs`` table, read and marked: the latest and the previous finished run of a kind; a
profile run opened, marked finished with its stats, or stopped by an interrupt, marked so; what a profile run holds,
counted (``matcher.profile_run``)."""

import datetime as dt
import gc
import json

from sqlalchemy import Engine, func, update
from sqlmodel import col, select

from matcher import incremental
from matcher.store import Post, ProfiledUser, Run, TopicScore, session, utcnow


def open_run(engine: Engine, as_of: int, policy: str, began: dt.datetime) -> int:
    """A profile run's row, started when the run began, before its embedding: what is stored after that is "since it
    started"."""
    with session(engine) as s:
        run = Run(kind="profile", as_of=as_of, params=json.dumps({"policy": policy}), started_at=began)
        s.add(run)
        s.commit()
        return int(run.id or 0)


def mark_finished(engine: Engine, run_id: int, stats: dict[str, object]) -> None:
    """The profile run marked finished with its stats; the rows of the run it went on from, if it was stopped, go
    (``incremental.drop_interrupted``); and a deletion's scrub that could not finish (a forget landed in this run,
    or beside another command) is done (``forget.scrub``; `status` says so)."""
    from matcher.forget import scrub, scrub_unfinished  # (it builds on profile_run's neighbours)

    with session(engine) as s:
        run = s.get(Run, run_id)
        assert run is not None
        run.status, run.finished_at, run.stats = "finished", utcnow(), json.dumps(stats)
        s.add(run)
        s.commit()
    incremental.drop_interrupted(engine, run_id)
    if scrub_unfinished(engine):
        scrub(engine, wait_ms=None)


def _stopped(engine: Engine, began: dt.datetime, as_of: int, policy: str) -> None:
    """Mark the run this command started as ``stopped``: `status` then says it was stopped, not that it may still be
    running (as it must of one killed outright). Its finished users' rows stay for the next run to go on from; that
    run's end deletes them (``incremental.drop_interrupted``). Stopped while it embedded, before its run was
    recorded: recorded now, as stopped (its vectors are kept; it has no rows). Best effort: the interrupt goes on
    whatever happens. Run once the interrupt's frames are gone: one that landed inside a write (a chunk's rows) left
    that statement's connection mid-transaction, held by its frames, and its write lock made this wait a minute and
    fail, the run left "running" (seen in `profile --engine ray` runs stopped by SIGTERM)."""
    gc.collect()  # (frames in cycles)
    try:
        with session(engine) as s:
            mine = select(Run.id).where(col(Run.kind) == "profile").where(col(Run.started_at) == began)
            if s.exec(mine).first() is None:  # (one that finished just before the signal is left as it is)
                s.add(Run(kind="profile", status="stopped", as_of=as_of, started_at=began,
                          params=json.dumps({"policy": policy})))
            s.execute(update(Run).where(col(Run.kind) == "profile").where(col(Run.status) == "running")
                      .where(col(Run.started_at) == began).values(status="stopped"))
            s.commit()
    except Exception:  # noqa: BLE001  (a database gone or locked: the run stays "running", as one killed does)
        pass


def _totals(engine: Engine, run_id: int, as_of: int, inferred: int, posts: int, reused_any: bool) -> tuple[int, int]:
    """Inferred topics and posts over the whole run (counted in SQL when some users were copied)."""
    if not reused_any:
        return inferred, posts
    with session(engine) as s:
        inferred = int(s.execute(select(func.count()).select_from(TopicScore).where(TopicScore.run_id == run_id)
                                 .where(TopicScore.status == "inferred")).scalar_one())
        users = select(ProfiledUser.user_id).where(ProfiledUser.run_id == run_id)
        posts = int(s.execute(select(func.count()).select_from(Post).where(col(Post.created_at) <= as_of)
                              .where(col(Post.user_id).in_(users))).scalar_one())
    return inferred, posts


def _profiled(engine: Engine, run_id: int) -> int:
    """The users a run holds profiles of."""
    with session(engine) as s:
        return int(s.execute(select(func.count()).select_from(ProfiledUser)
                             .where(ProfiledUser.run_id == run_id)).scalar_one())


def latest_run(engine: Engine, kind: str = "profile") -> Run | None:
    """The most recent finished run of a kind."""
    with session(engine) as s:
        return s.exec(select(Run).where(Run.kind == kind).where(Run.status == "finished")
                      .order_by(col(Run.id).desc())).first()


def previous_run(engine: Engine, run_id: int, kind: str = "profile") -> Run | None:
    with session(engine) as s:
        return s.exec(select(Run).where(Run.kind == kind).where(Run.status == "finished")
                      .where(col(Run.id) < run_id).order_by(col(Run.id).desc())).first()
