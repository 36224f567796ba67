"""Topic vectors fitted to the collection: when a profile run fits them again, and how fits are kept and reused.

A profile run reads posts against topic vectors adapted to the collection (``classify.adapt_topic_vectors``).
Fitting them again on every run would move every user's scores a little each time new posts arrive, and
would recompute every user; so a fit is kept (table ``topic_vectors``) and reused by later runs with the same
fit basis (taxonomy, related words, model, consent policy, classification parameters) until

- the collection has grown or shrunk by ``FitParams.refit_change`` (10 %) of the posts it was fitted on (counting
  the posts written by the day each run reads as of: a run as of an earlier day reads fewer), or
- a user's data was deleted (`forget`) since the fit: their posts must not shape the vectors any more, or
- the operator asks for it (``profile --refit``).

A refit is a stated reason in ``topics USER --changes``. A fit reads at most ``FitParams.max_posts`` posts: whole
users, in an order fixed by a hash of their ids (so neither input order nor batch sizes matter), until that
many. A mean over 20,000 posts is nearly as good as over more (dev topic F1@3 0.367 against 0.368 from 50,000,
measured with one round), and the fit's cost stays flat as the collection grows.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, select
from sqlmodel import col

from matcher.locks import hold_forget_lock
from matcher.store import ForgetAudit, ForgottenPost, Post, Run, TopicVector, session


@dataclass(frozen=True)
class FitParams:
    max_posts: int = 20_000  # posts a fit reads at most (whole users, in hash order)
    rounds: int = 3  # each round reads the posts against the previous round's vectors (classify.fit_topic_vectors)
    refit_change: float = 0.10  # a fit is redone once the collection's posts have changed by this share


@dataclass(frozen=True)
class Fit:
    """Where a run's topic vectors come from."""

    basis: str  # what the fit was computed from (``incremental.run_basis`` without as_of or profile parameters)
    run_id: int  # the run that fitted them
    posts: int  # posts in the collection when they were fitted, written by the day the fit read as of
    forgotten: int  # `forget` requests carried out before the fit
    vectors: np.ndarray  # (T, d) in the taxonomy's order
    mass: np.ndarray  # (T,) membership-weighted count of the posts plainly about each topic
    forced: bool = False  # fitted because the operator asked (``profile --refit``), not because it was stale

    def record(self, topic_ids: list[str]) -> dict[str, Any]:
        """What a run's params keep about its fit (``mass``: posts plainly about each topic, for `explain`)."""
        return {"basis": self.basis, "run": self.run_id, "posts": self.posts, "forgotten": self.forgotten,
                "mass": {t: round(float(m), 1) for t, m in zip(topic_ids, self.mass, strict=True) if m > 0},
                **({"forced": True} if self.forced else {})}


def collection_state(engine: Engine, as_of: int) -> tuple[int, int]:
    """(posts in the collection written by ``as_of``, the posts a run as of then reads; `forget` requests carried out
    so far). Counted by the day a run reads as of: a fit made as of 2030 from 3,000 posts is not "the collection
    changed little" for a run as of 2011 that reads 233 of them."""
    with engine.connect() as conn:
        posts = conn.execute(select(func.count()).select_from(Post).where(col(Post.created_at) <= as_of))
        return int(posts.scalar_one()), forgets_done(conn)


def forgets_done(conn: Connection) -> int:
    """A count that grows with every deletion `forget` carries out: of users (one audit line each) and of single posts
    (their hashes, ``forget --post``). A change says someone's data was deleted: a run embedding meanwhile drops the
    vectors it stored of it, and the kept fit is not reused."""
    return int(conn.execute(select(func.count()).select_from(ForgetAudit)).scalar_one()
               + conn.execute(select(func.count()).select_from(ForgottenPost)).scalar_one())


def fit_sample(engine: Engine, user_ids: list[str], params: FitParams = FitParams()) -> list[str]:
    """The users a fit reads, sorted: whole users in the order of a hash of their ids, until ``max_posts``."""
    with session(engine) as s:
        counts: dict[str, int] = dict(s.execute(select(col(Post.user_id), func.count()).group_by(Post.user_id)).all())
    chosen, total = [], 0
    for user_id in sorted(user_ids, key=lambda u: (hashlib.blake2b(u.encode(), digest_size=8).digest(), u)):
        if total >= params.max_posts:
            break
        chosen.append(user_id)
        total += counts.get(user_id, 0)
    return sorted(chosen)


def reusable_fit(engine: Engine, fit_basis: str, topic_ids: list[str], dim: int, as_of: int,
                 params: FitParams = FitParams()) -> Fit | None:
    """The newest kept fit with this basis that is still fresh for the collection as a run as of ``as_of`` reads it,
    if any."""
    fit = _fresh_fit(engine, as_of, params, fit_basis)
    return None if fit is None else load_fit(engine, fit, topic_ids, dim)


def fit_expected(engine: Engine, as_of: int, params: FitParams = FitParams()) -> bool:
    """Whether a run as of ``as_of`` will fit its topic vectors again: no kept fit, of any basis, is fresh for the
    collection. Known before the run embeds anything (the basis needs the topics' vectors), so a run can get ready
    for a fit while it embeds; a fit of another basis (a new taxonomy) is not told apart, and a run reading one
    just finds out later."""
    return _fresh_fit(engine, as_of, params) is None


def _fresh_fit(engine: Engine, as_of: int, params: FitParams, fit_basis: str | None = None) -> dict[str, Any] | None:
    """The newest kept fit's record (``Fit.record``) with this basis (any, without one), if it is still fresh for the
    collection as a run as of ``as_of`` reads it."""
    posts, forgotten = collection_state(engine, as_of)
    with session(engine) as s:
        runs = s.execute(select(col(Run.params)).where(col(Run.kind) == "profile").order_by(col(Run.id).desc())).all()
    for (run_params,) in runs:
        fit: dict[str, Any] | None = json.loads(run_params or "{}").get("topic_vectors")
        if not fit or fit_basis is not None and fit.get("basis") != fit_basis:
            continue
        if fit["forgotten"] != forgotten or abs(posts - fit["posts"]) > params.refit_change * fit["posts"]:
            return None
        return fit
    return None


def load_fit(engine: Engine, fit: dict[str, Any], topic_ids: list[str], dim: int) -> Fit | None:
    """A kept fit (as a run's params record it, ``Fit.record``) read back; None when its rows are gone."""
    with session(engine) as s:
        rows = s.execute(select(col(TopicVector.topic_id), col(TopicVector.mass), col(TopicVector.vector))
                         .where(col(TopicVector.run_id) == fit["run"])).all()
    found = {t: (m, v) for t, m, v in rows}
    if set(found) != set(topic_ids):
        return None  # the fit's rows are gone: fit again
    vectors = np.stack([np.frombuffer(found[t][1], dtype=np.float32) for t in topic_ids]).reshape(-1, dim)
    mass = np.array([found[t][0] for t in topic_ids], dtype=np.float64)
    return Fit(fit["basis"], int(fit["run"]), int(fit["posts"]), int(fit["forgotten"]), vectors, mass)


def store_fit(engine: Engine, fit_basis: str, run_id: int, topic_ids: list[str], vectors: np.ndarray,
              mass: np.ndarray, state: tuple[int, int], forced: bool = False) -> Fit:
    """Keep a new fit under the run that made it (one transaction), with the ``collection_state`` taken before it
    read its posts: a `forget` while it read them makes the next run fit again. Such a fit (it may have read the
    forgotten user's posts) is used by its own run but not kept: `forget` deleted the kept fits, and this one must
    not outlive it."""
    posts, forgotten = state
    rows = [{"run_id": run_id, "topic_id": t, "mass": float(m), "vector": v.astype(np.float32).tobytes()}
            for t, m, v in zip(topic_ids, mass, vectors, strict=True)]
    with engine.begin() as conn:
        hold_forget_lock(conn)  # a forget either committed before this check or waits for this insert to commit
        if rows and forgets_done(conn) == forgotten:
            conn.execute(TopicVector.__table__.insert(), rows)  # type: ignore[attr-defined]
    return Fit(fit_basis, run_id, posts, forgotten, vectors.astype(np.float32), mass, forced)
