"""Topic vectors fitted to the collection: when a profile run fits them again, and how fits are kept and reused.

A profile run reads posts against topic vectors adapted to the collection (``classify.adapt_topic_vectors``).
Fitting them again on every run would move every user's scores a little each time new posts arrive, and
would recompute every user; so a fit is kept (table ``topic_vectors``) and reused by later runs with the same
fit basis (taxonomy, related words, model, consent policy, classification parameters) until

- the collection has grown or shrunk by ``REFIT_CHANGE`` (10 %) of the posts it was fitted on, or
- a user's data was deleted (`forget`) since the fit: their posts must not shape the vectors any more, or
- the operator asks for it (``profile --refit``).

A refit is a stated reason in ``topics USER --changes``.
"""

import json
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, func, select
from sqlmodel import col

from matcher.store import ForgetAudit, Post, Run, TopicVector, session

REFIT_CHANGE = 0.10


@dataclass(frozen=True)
class Fit:
    """Where a run's topic vectors come from."""

    basis: str  # what the fit was computed from (``incremental.run_basis`` without as_of or profile parameters)
    run_id: int  # the run that fitted them
    posts: int  # posts in the collection when they were fitted
    forgotten: int  # `forget` requests carried out before the fit
    vectors: np.ndarray  # (T, d) in the taxonomy's order
    mass: np.ndarray  # (T,) membership-weighted count of the posts plainly about each topic

    def record(self, topic_ids: list[str]) -> dict:
        """What a run's params keep about its fit (``mass``: posts plainly about each topic, for `explain`)."""
        return {"basis": self.basis, "run": self.run_id, "posts": self.posts, "forgotten": self.forgotten,
                "mass": {t: round(float(m), 1) for t, m in zip(topic_ids, self.mass, strict=True) if m > 0}}


def collection_state(engine: Engine) -> tuple[int, int]:
    """(posts in the collection, `forget` requests carried out so far)."""
    with session(engine) as s:
        posts = int(s.execute(select(func.count()).select_from(Post)).scalar_one())
        forgotten = int(s.execute(select(func.count()).select_from(ForgetAudit)).scalar_one())
    return posts, forgotten


def reusable_fit(engine: Engine, fit_basis: str, topic_ids: list[str], dim: int) -> Fit | None:
    """The newest kept fit with this basis that is still fresh for the collection as it is now, if any."""
    posts, forgotten = collection_state(engine)
    with session(engine) as s:
        runs = s.execute(select(Run.params).where(Run.kind == "profile").order_by(col(Run.id).desc())).all()
    for (params,) in runs:
        fit = json.loads(params or "{}").get("topic_vectors")
        if not fit or fit.get("basis") != fit_basis:
            continue
        if fit["forgotten"] != forgotten or abs(posts - fit["posts"]) > REFIT_CHANGE * fit["posts"]:
            return None
        return _load(engine, fit, topic_ids, dim)
    return None


def _load(engine: Engine, fit: dict, topic_ids: list[str], dim: int) -> Fit | None:
    with session(engine) as s:
        rows = s.execute(select(TopicVector.topic_id, TopicVector.mass, TopicVector.vector)
                         .where(TopicVector.run_id == fit["run"])).all()
    found = {t: (m, v) for t, m, v in rows}
    if set(found) != set(topic_ids):
        return None  # the fit's rows are gone: fit again
    vectors = np.stack([np.frombuffer(found[t][1], dtype=np.float32) for t in topic_ids]).reshape(-1, dim)
    mass = np.array([found[t][0] for t in topic_ids], dtype=np.float64)
    return Fit(fit["basis"], int(fit["run"]), int(fit["posts"]), int(fit["forgotten"]), vectors, mass)


def store_fit(engine: Engine, fit_basis: str, run_id: int, topic_ids: list[str], vectors: np.ndarray,
              mass: np.ndarray) -> Fit:
    """Keep a new fit under the run that made it (one transaction)."""
    posts, forgotten = collection_state(engine)
    rows = [{"run_id": run_id, "topic_id": t, "mass": float(m), "vector": v.astype(np.float32).tobytes()}
            for t, m, v in zip(topic_ids, mass, vectors, strict=True)]
    with engine.begin() as conn:
        if rows:
            conn.execute(TopicVector.__table__.insert(), rows)  # type: ignore[attr-defined]
    return Fit(fit_basis, run_id, posts, forgotten, vectors.astype(np.float32), mass)
