"""Where the heavy steps of a profile run happen: the ``Executor`` interface, and ``LocalExecutor``, this process
(the default for small runs). ``matcher.engine_pool`` runs chunks on worker processes, ``matcher.engine_ray`` on a
Ray cluster; each calls the same per-chunk functions (``matcher.profile_chunk``)."""

import concurrent.futures
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from sqlalchemy import Engine

from matcher import profile_chunk
from matcher.classify import ClassifyParams
from matcher.embed import EmbeddingCache, embed_new_posts
from matcher.profile_chunk import ReadUser
from matcher.profile_types import ProfileParams, TopicResult
from matcher.topic_space import TopicSpace

Progress = Callable[[str, int, int | None], None]  # (stage, advance, total)

Job = tuple[Any, list[str]]  # (what the caller gets back with the results, the users to compute)


class Executor(Protocol):
    """Where the heavy steps of a profile run: this process, or a cluster (``matcher.engine_ray``)."""

    def embed(self, engine: Engine, cache: EmbeddingCache, extra: list[str], progress: Progress | None,
              policy: str | None = None) -> int:
        """Embed the extra texts and the posts not yet embedded of the users the policy covers (``embed_new_posts``)."""

    def warm_up(self, users: int) -> None:
        """Get ready to compute this many users (a new fit: everyone), e.g. start worker processes."""

    def fit_posts(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job],
                  classify: ClassifyParams, params: ProfileParams, as_of: int
                  ) -> Iterator[tuple[Any, dict[str, ReadUser]]]:
        """(tag, ``profile_chunk.read_users`` of the job's users) for each job, in the order of the jobs (a pool of
        worker processes gives ``engine_pool.HeldUser``s: the rest stays on the worker that read them)."""

    def compute(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job], as_of: int,
                classify: ClassifyParams, params: ProfileParams, read: dict[str, ReadUser],
                ) -> Iterator[tuple[Any, dict[str, list[TopicResult]], int, dict[str, str]]]:
        """(tag, ``profile_chunk.compute_users`` of the job's users: results, posts, digests) for each job, in the
        order of the jobs; a user in ``read`` is taken from it (``take_read``), not read again."""


class LocalExecutor:
    """Everything in this process (the default). With ``threads`` above 1, profile chunks are computed on that many
    threads, results in order: their large matrix products (``profile_chunk.user_closeness``) release the interpreter
    lock, so a run recomputing a few hundred users uses every core without the start-up of worker processes
    (``matcher.engine_pool``). The database must then be one every thread can open (not SQLite in memory)."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads

    def embed(self, engine: Engine, cache: EmbeddingCache, extra: list[str], progress: Progress | None,
              policy: str | None = None) -> int:
        return embed_new_posts(engine, cache, extra, progress, policy)

    def warm_up(self, users: int) -> None:
        pass

    def fit_posts(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job],
                  classify: ClassifyParams, params: ProfileParams, as_of: int
                  ) -> Iterator[tuple[Any, dict[str, ReadUser]]]:
        def chunk(user_ids: list[str]) -> dict[str, ReadUser]:
            return profile_chunk.read_users(engine, cache, space, user_ids, classify, params, as_of)

        for tag, read in self._threaded(chunk, jobs):
            yield tag, read or {}

    def compute(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job], as_of: int,
                classify: ClassifyParams, params: ProfileParams, read: dict[str, ReadUser],
                ) -> Iterator[tuple[Any, dict[str, list[TopicResult]], int, dict[str, str]]]:
        def chunk(user_ids: list[str], taken: dict[str, ReadUser]) -> tuple[dict[str, list[TopicResult]], int,
                                                                              dict[str, str]]:
            return profile_chunk.compute_users(engine, cache, space, user_ids, as_of, classify, params, taken)

        for tag, result in self._threaded(chunk, jobs, lambda user_ids: (take_read(read, user_ids),)):
            yield (tag, {}, 0, {}) if result is None else (tag, *result)

    def _threaded(self, fn: Callable[..., Any], jobs: Iterable[Job],
                  extra: Callable[[list[str]], tuple[Any, ...]] = lambda user_ids: ()) -> Iterator[tuple[Any, Any]]:
        """(tag, fn(users, *extra(users))) for each job, in the order of the jobs (None for a job with no users):
        here, or on ``threads`` threads with at most two jobs per thread in flight (``extra`` runs here)."""
        from matcher.workers import in_order  # it builds on this module

        if self.threads < 2:
            for tag, user_ids in jobs:
                yield tag, fn(user_ids, *extra(user_ids)) if user_ids else None
            return
        pool = concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="perkmatch-profile")
        try:
            yield from in_order(lambda user_ids: pool.submit(fn, user_ids, *extra(user_ids)),
                                lambda future: future.result(), jobs, 2 * self.threads)
        finally:  # stopped early (Ctrl-C, an error): chunks not started are dropped, running ones end first
            pool.shutdown(wait=True, cancel_futures=True)


def take_read(read: dict[str, ReadUser], user_ids: list[str]) -> dict[str, ReadUser]:
    """The entries of these users, removed from ``read`` (each is used once; memory is freed as the run goes)."""
    return {u: read.pop(u) for u in user_ids if u in read}
