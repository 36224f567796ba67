"""Who may be profiled and matched: the users whose consent allows it, read at a run's start and checked again
as each chunk of its rows is written (a user forgotten, or who withdrew consent, meanwhile leaves no row)."""

import json
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, delete, exists, func
from sqlmodel import col, select

from matcher.incremental import user_digests
from matcher.locks import hold_forget_lock
from matcher.matter_links import linked_topics
from matcher.records import check_policy
from matcher.store import Post, ProfiledUser, Run, TopicScore, User, batches, session


def eligible_users(engine: Engine, policy: str = "opt-in") -> list[str]:
    """Users whose consent allows profiling, sorted."""
    check_policy(policy)
    with session(engine) as s:
        if policy == "opt-in":
            rows = s.exec(select(User.user_id).where(User.consent == "opted_in")).all()
            return sorted(rows)
        opted_out = set(s.exec(select(User.user_id).where(User.consent == "opted_out")).all())
        return sorted(set(s.exec(select(Post.user_id).distinct()).all()) - opted_out)


def covered(policy: str) -> ColumnElement[bool]:
    """Whether a post's author is one a run under this policy profiles, as a condition on ``Post`` (for a post, the
    same as ``eligible_users``: under opt-in, a users row that opted in; under opt-out, none that opted out)."""
    check_policy(policy)
    mine = exists().where(col(User.user_id) == Post.user_id)
    return (mine.where(col(User.consent) == "opted_in") if policy == "opt-in"
            else ~mine.where(col(User.consent) == "opted_out"))


def not_opted_in(engine: Engine) -> int:
    """How many users with posts have not opted in (their consent unknown): a run under opt-in leaves them out."""
    with session(engine) as s:
        return int(s.exec(select(func.count()).select_from(
            select(Post.user_id).distinct().where(~covered("opt-in")).subquery())).one())


def eligible_among(conn: Connection, user_ids: Iterable[str], policy: str) -> set[str]:
    """Those of these users who are still eligible (``eligible_users``). A long run (profile, match) that read its
    users at the start checks this in the transaction that writes their rows, after writing them, and deletes the
    rows of anyone forgotten (or who withdrew consent) meanwhile: the write holds SQLite's lock, so a `forget`
    committed before it is seen here, and one committed after it deletes the rows itself."""
    wanted = sorted(set(user_ids))
    found: set[str] = set()
    for chunk in batches(wanted):
        if policy == "opt-in":
            found.update(conn.execute(select(User.user_id).where(col(User.user_id).in_(chunk))
                                      .where(User.consent == "opted_in")).scalars())
        else:
            out = set(conn.execute(select(User.user_id).where(col(User.user_id).in_(chunk))
                                   .where(User.consent == "opted_out")).scalars())
            found.update(set(conn.execute(select(Post.user_id).where(col(Post.user_id).in_(chunk)).distinct())
                             .scalars()) - out)
    return found


def drop_gone(conn: Connection, run_id: int, user_ids: Iterable[str], policy: str, tables: Iterable[Any]
              ) -> list[str]:
    """In the transaction that just wrote these users' rows of a run (into ``tables``): delete the rows of those
    no longer eligible (``eligible_among``), once the `forget` lock is held (``locks.hold_forget_lock``); return
    them."""
    users = set(user_ids)
    hold_forget_lock(conn)
    gone = sorted(users - eligible_among(conn, users, policy))
    for table in tables if gone else ():
        conn.execute(delete(table).where(col(table.run_id) == run_id).where(col(table.user_id).in_(gone)))
    return gone


def dropped_out(conn: Connection, read: dict[str, str | None], policy: str,
                hidden: Callable[[str | None], frozenset[str]]) -> set[str]:
    """Of the users a match read (``read``: their sensitive opt-ins then, JSON), those a match reading them now would
    read otherwise: no longer eligible (forgotten, opted out: ``eligible_among``), or whose opt-ins now hide other
    topics (``taxonomy.not_shown``: one withdrawn). Checked in the transaction that writes the run, once it holds the
    `forget` lock (``locks.hold_forget_lock``), so that none drops out between this and the commit unseen: a
    withdrawal (``forget.withdraw_opt_ins``) and a `forget` wait for the commit, then delete the rows themselves."""
    users = sorted(read)
    now: dict[str, str | None] = {}
    for chunk in batches(users):
        now.update(conn.execute(select(User.user_id, User.sensitive_opt_in).where(col(User.user_id).in_(chunk))).all())
    changed = {u for u in users if u in now and now[u] != read[u] and hidden(now[u]) != hidden(read[u])}
    return changed | (set(users) - eligible_among(conn, users, policy))


def drop_withdrawn_profiles(conn: Connection, run_id: int, user_ids: Iterable[str],
                            hidden: Callable[[str | None], frozenset[str]], tables: Iterable[Any]) -> list[str]:
    """In the transaction that just wrote these users' rows of a profile run, after ``drop_gone`` (the `forget` lock
    held): delete every row (``tables``) of those whose rows hold a sensitive topic hidden from them now (``hidden``:
    ``taxonomy.not_shown`` over the run's topics). A profile computed from their opt-ins as stored never holds one, so
    theirs was computed from an opt-in withdrawn since, whose withdrawal (``forget.withdraw_opt_ins``) found no rows
    of theirs in this run yet. Before, the finished run kept the topic, and `export` showed it. So are those of anyone
    whose inputs changed since the run read them and whose opt-ins now leave out a topic the run links to a sensitive
    matter (``_relinked``). Like an interrupted run's, they are left for the next run to compute. Return them."""
    sensitive = sorted(hidden(None))  # (no opt-in: every sensitive topic hidden)
    found = _relinked(conn, run_id, user_ids, hidden) if sensitive else set()
    for chunk in batches(sorted(set(user_ids))) if sensitive else ():
        rows = conn.execute(select(TopicScore.user_id, TopicScore.topic_id).where(col(TopicScore.run_id) == run_id)
                            .where(col(TopicScore.user_id).in_(chunk)).where(col(TopicScore.topic_id).in_(sensitive))
                            ).all()
        if rows:
            now = dict(conn.execute(select(User.user_id, User.sensitive_opt_in)
                                    .where(col(User.user_id).in_({u for u, _ in rows}))).all())
            found.update(u for u, topic_id in rows if topic_id in hidden(now.get(u)))
    for table in tables if found else ():
        conn.execute(delete(table).where(col(table.run_id) == run_id).where(col(table.user_id).in_(sorted(found))))
    return sorted(found)


def _relinked(conn: Connection, run_id: int, user_ids: Iterable[str],
              hidden: Callable[[str | None], frozenset[str]]) -> set[str]:
    """Of these users, those whose opt-ins now leave out a topic the run links to a sensitive matter (``matter_links``,
    as its params keep them) and whose inputs changed since the run read them (the digest it recorded for them is not
    theirs now: ``incremental.user_digests``): it may have read an opt-in to that topic, withdrawn since, and shown a
    post touching the matter as any topic's evidence; their rows do not tell. Only records changed since the run began
    are read again. Before, anyone whose record changed since then was taken (a region changed, or a change the run
    had read), and left out of the run."""
    started, as_of, params = conn.execute(select(Run.started_at, Run.as_of, Run.params).where(col(Run.id) == run_id)
                                          ).one()
    linked = linked_topics(json.loads(params or "{}").get("matter_links"))
    found: set[str] = set()
    for chunk in batches(sorted(set(user_ids))) if linked else ():
        changed = conn.execute(select(User.user_id, User.sensitive_opt_in).where(col(User.user_id).in_(chunk))
                               .where(col(User.updated_at) > started)).all()
        suspects = sorted(u for u, opt_in in changed if not linked.isdisjoint(hidden(opt_in)))
        read = dict(conn.execute(select(ProfiledUser.user_id, ProfiledUser.digest)
                                 .where(col(ProfiledUser.run_id) == run_id)
                                 .where(col(ProfiledUser.user_id).in_(suspects))).all()) if suspects else {}
        now = user_digests(conn, suspects, as_of) if suspects else {}
        found.update(u for u in suspects if read.get(u) != now[u])
    return found
