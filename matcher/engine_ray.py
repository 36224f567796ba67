"""Embedding and profiling on a Ray cluster (``--engine ray``), with the same result as the local run.

- **Embedding** runs on Ray Data. The texts with no cached vector are cut into exactly the batches the local
  run encodes (``EmbeddingCache.batches``: per chunk of the missing-text stream, sorted by length); each batch
  is one block of a dataset of (key, text) rows, and ``map_batches`` sends it whole to a pool of actors, each
  of which builds the encoder once from a picklable zero-argument factory. The driver stores the vectors as
  they come back (``EmbeddingCache.store_vectors``), one transaction per batch: an interrupted run keeps its
  work and a re-run embeds only what is left. Same texts in the same batch give the same float32 vectors, so
  the cache holds the same bytes as after a local run (on nodes with the same CPU kind and library versions).
- **Profiling**: each chunk of users to recompute is one Ray task. Workers open the database themselves from
  its URL and only read cached vectors (no model). The topic fit runs on the driver, as locally: it reads at
  most ``FitParams.max_posts`` posts, whatever the collection's size. The driver computes the digests, copies
  unchanged users and writes the results chunk by chunk in order, as the local run does, so incremental reuse
  is unchanged.

Every node must reach the database: SQLite works on a one-machine cluster only; a real cluster needs
PostgreSQL. Here: the executor and its tasks; the cluster is ``matcher.ray_cluster``'s, the embedding
``matcher.ray_embed``'s. Ray is imported only when this engine is used (``ray_cluster.import_ray``).
"""

import os
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import Engine

from matcher import workers
from matcher.classify import ClassifyParams
from matcher.embed import EmbeddingCache
from matcher.engine_local import Job, Progress, take_read
from matcher.errors import ClusterError
from matcher.profile_chunk import ReadUser
from matcher.profile_types import ProfileParams, TopicResult
from matcher.ray_cluster import cluster_cpus, import_ray, ray_cluster, worker_errors
from matcher.ray_embed import EncoderFactory, embed_new_posts_ray
from matcher.topic_space import TopicSpace

__all__ = ["RayExecutor", "database_arg", "embed_new_posts_ray", "ray_cluster"]


class RayExecutor:
    """Runs a profile's embedding and profiling on the connected Ray cluster (see ``ray_cluster``).

    ``encoder_factory`` is a picklable zero-argument callable that builds the same encoder as the driver's
    cache (e.g. ``functools.partial(load_encoder, model)``). Each encoder actor takes ``threads`` CPUs and
    runs torch on that many threads (default: as many as a local run here), as many actors as the cluster's
    CPUs hold: torch's float32 kernels give the same bits only for the same thread count."""

    def __init__(self, encoder_factory: EncoderFactory, threads: int | None = None) -> None:
        self.encoder_factory = encoder_factory
        self.threads = threads

    def embed(self, engine: Engine, cache: EmbeddingCache, extra: list[str], progress: Progress | None,
              policy: str | None = None) -> int:
        return embed_new_posts_ray(engine, cache, extra, progress, encoder_factory=self.encoder_factory,
                                   threads=self.threads, policy=policy)

    def warm_up(self, users: int) -> None:
        pass  # the cluster's workers are already running

    def fit_posts(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job],
                  classify: ClassifyParams, params: ProfileParams, as_of: int
                  ) -> Iterator[tuple[Any, dict[str, ReadUser]]]:
        """The topic fit's posts, each job's users read by a Ray task, in the order of the jobs."""
        yield from _in_order(workers.fit_chunk, (database_arg(engine), cache.name, cache.encoder.dim, space, classify,
                                                 params, as_of), jobs)

    def compute(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job], as_of: int,
                classify: ClassifyParams, params: ProfileParams, read: dict[str, ReadUser],
                ) -> Iterator[tuple[Any, dict[str, list[TopicResult]], int, dict[str, str]]]:
        """Each job's users computed by a Ray task (with those of them the fit read); results come back in the
        order of the jobs."""
        fixed = (database_arg(engine), cache.name, cache.encoder.dim, space, as_of, classify, params)
        for tag, result in _in_order(workers.compute_chunk, fixed, jobs, lambda user_ids: (take_read(read, user_ids),)):
            yield (tag, {}, 0, {}) if result is None else (tag, *result)  # None: every user of the chunk is reused


def _in_order(fn: Callable[..., Any], fixed: tuple[Any, ...], jobs: Iterable[tuple[Any, list[str]]],
              extra: Callable[[list[str]], tuple[Any, ...]] = lambda user_ids: ()) -> Iterator[tuple[Any, Any]]:
    """(tag, fn(*fixed, users, *extra(users))) for each job, each a Ray task (the topic space put in the object
    store once), in the order of the jobs, with at most two tasks per cluster CPU in flight."""
    ray = import_ray()
    task = ray.remote(num_cpus=1)(_on_node)
    fixed = tuple(ray.put(x) if isinstance(x, TopicSpace) else x for x in fixed)

    def result(ref: Any) -> Any:
        with worker_errors(ray):
            return ray.get(ref)

    yield from workers.in_order(lambda user_ids: task.remote(fn, *fixed, user_ids, *extra(user_ids)), result, jobs,
                                2 * cluster_cpus(ray))


def _on_node(fn: Callable[..., Any], db: str, *args: Any) -> Any:
    """``fn(db, *args)`` on a Ray worker, once it is sure the database is there: opening a SQLite path on a node
    without the file created an empty database there, and every user computed on that node had no posts."""
    if "://" not in db and not os.path.isfile(db):
        raise ClusterError(f"--db {db}: this SQLite file is not on the Ray node {socket.gethostname()}; a cluster "
                           "of several machines needs a database every node can reach: give --db a postgresql:// URL")
    return fn(db, *args)


def database_arg(engine: Engine) -> str:
    """What a worker passes to ``open_engine`` (``workers.database_arg``); an in-memory database is refused."""
    db = workers.database_arg(engine)
    if db is None:
        raise ClusterError("--engine ray needs a database the workers can open: give --db a file or a "
                           "postgresql:// URL")
    return db
