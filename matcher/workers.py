"""What a worker process runs for a profile: a chunk of users fitted or profiled against the database, reading
cached vectors only (no model). Used by the local process pool (``matcher.engine_pool``) and by Ray
(``matcher.engine_ray``); both give the local run's result: the same functions, one BLAS thread each."""

from pathlib import Path

import numpy as np
from sqlalchemy import Engine
from threadpoolctl import threadpool_limits

from matcher.classify import ClassifyParams
from matcher.embed import EmbeddingCache
from matcher.errors import ModelError
from matcher.profile_run import TopicSpace, compute_users, fit_users
from matcher.profiles import ProfileParams, TopicResult

_ENGINES: dict[str, Engine] = {}


def database_arg(engine: Engine) -> str | None:
    """What a worker passes to ``open_engine``: the absolute SQLite path, or the full URL with its password;
    None for a database only this process can open (in memory)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        return str(Path(url.database).resolve())
    return url.render_as_string(hide_password=False)


def compute_chunk(db: str, model: str, dim: int, space: TopicSpace, as_of: int, classify: ClassifyParams,
                  params: ProfileParams, user_ids: list[str]) -> tuple[dict[str, list[TopicResult]], int]:
    """``compute_users`` against the database."""
    cache = _worker_cache(db, model, dim)
    with threadpool_limits(1, user_api="blas"):  # as run_profile does locally: the same BLAS path
        return compute_users(cache.engine, cache, space, user_ids, as_of, classify, params)


def fit_chunk(db: str, model: str, dim: int, space: TopicSpace, classify: ClassifyParams,
              user_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``fit_users`` against the database."""
    cache = _worker_cache(db, model, dim)
    with threadpool_limits(1, user_api="blas"):
        return fit_users(cache.engine, cache, space, user_ids, classify)


def _worker_cache(db: str, model: str, dim: int) -> EmbeddingCache:
    """A worker's read-only view of the embedding cache (its database opened once per process)."""
    from matcher.store import open_engine

    if db not in _ENGINES:
        _ENGINES[db] = open_engine(db)
    return EmbeddingCache(_ENGINES[db], StoredVectors(model, dim))


class StoredVectors:
    """An encoder stand-in for readers of the cache: the name and size of the vectors, and no model."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def encode(self, texts: list[str]) -> np.ndarray:
        raise ModelError(f"{len(texts)} text(s) have no cached vector for {self.name}; run `perkmatch profile` "
                         "to embed them first")
