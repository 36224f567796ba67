"""Embedding on Ray Data for ``--engine ray`` (``embed_new_posts_ray``): the texts with no cached vector, cut into
exactly the batches the local run encodes, each batch one block of a dataset sent whole to a pool of encoder actors;
the driver stores the vectors as they come back, one transaction per batch, so the cache holds the same bytes as
after a local run.
"""

import itertools
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, or_
from sqlmodel import col, select

from catalog.refresh import text_key
from matcher.embed import EmbeddingCache, count_missing, missing_chunks
from matcher.encoder import Encoder
from matcher.engine_local import Progress
from matcher.errors import ModelError
from matcher.ray_cluster import cluster_cpus, import_ray, node_cpus, worker_errors
from matcher.store import Embedding, Post, batches, session

WINDOW = 65_536  # texts per Ray Data dataset: each dataset starts its actors (and their models) once

EncoderFactory = Callable[[], Encoder]


def embed_new_posts_ray(engine: Engine, cache: EmbeddingCache, extra: Iterable[str] = (),
                        progress: Progress | None = None, *, encoder_factory: EncoderFactory,
                        threads: int | None = None, policy: str | None = None) -> int:
    """``embed_new_posts`` on Ray Data (the encoder built on the workers by ``encoder_factory``): the same
    texts, in the same batches, give the same cached vectors; return how many texts were embedded."""
    ray = import_ray()
    encode = _Encoding(ray, cache, encoder_factory, threads or local_threads())
    extras = {text_key(x): x for x in extra}
    new_extras = cache.missing(extras)
    total = len(new_extras) + count_missing(engine, cache.name, policy)
    if progress:
        progress("embed", 0, total)
    tick = (lambda n: progress("embed", n, total)) if progress else None
    # The local run stores the extra texts, then the post texts, then the contexts, each before the next is
    # looked up. A stage joins the previous one's dataset only when none of its texts can be among the
    # previous one's (then its chunks and batches are the same); otherwise it waits for them to be stored.
    stages: list[list[Iterable[dict[str, str]]]] = [[[extras]]]
    if _posts_mention(engine, new_extras):
        stages.append([])
    stages[-1].append(missing_chunks(engine, cache.name, which_texts=("text",), policy=policy))
    if _contexts_are_new_texts(engine, cache.name):
        stages.append([])
    stages[-1].append(missing_chunks(engine, cache.name, which_texts=("context",), policy=policy))
    return sum(encode.run(itertools.chain(*streams), tick) for streams in stages)


def _posts_mention(engine: Engine, keys: set[str]) -> bool:
    """Whether any post's text or context is one of these texts."""
    wanted = sorted(keys)
    with session(engine) as s:
        for chunk in batches(wanted):
            if s.execute(select(Post.id).where(or_(col(Post.text_key).in_(chunk), col(Post.context_key).in_(chunk)))
                         .limit(1)).first():
                return True
    return False


def _contexts_are_new_texts(engine: Engine, model: str) -> bool:
    """Whether a context with no vector yet is also some post's text (and so is embedded with the texts)."""
    new_contexts = (select(Post.context_key).join(Embedding, and_(col(Embedding.model) == model,
                                                                   col(Embedding.text_key) == Post.context_key),
                                                  isouter=True)
                    .where(col(Embedding.text_key).is_(None)).where(col(Post.context_key).is_not(None)))
    with session(engine) as s:
        return s.execute(select(Post.id).where(col(Post.text_key).in_(new_contexts)).limit(1)).first() is not None


class _Encoding:
    """Encodes chunks of texts on Ray Data, up to WINDOW texts per dataset, and stores the vectors."""

    def __init__(self, ray: Any, cache: EmbeddingCache, factory: EncoderFactory, threads: int) -> None:
        self.ray, self.cache, self.factory = ray, cache, factory
        self.threads = max(1, min(threads, node_cpus(ray)))  # an actor must fit on one node
        self.actors = max(1, cluster_cpus(ray) // self.threads)

    def run(self, chunks: Iterable[dict[str, str]], tick: Callable[[int], None] | None) -> int:
        done = 0
        window: list[tuple[list[str], list[str]]] = []
        for chunk in chunks:
            window.extend((keys, [chunk[k] for k in keys]) for keys in self.cache.batches(chunk))
            if sum(len(keys) for keys, _ in window) >= WINDOW:
                done += self._dataset(window, tick)
                window = []
        return done + (self._dataset(window, tick) if window else 0)

    def _dataset(self, batches: list[tuple[list[str], list[str]]], tick: Callable[[int], None] | None) -> int:
        import pyarrow as pa

        blocks = [pa.table({"key": keys, "text": texts}) for keys, texts in batches]  # one block = one batch
        encoded = self.ray.data.from_arrow(blocks).map_batches(
            _EncodeBatch, fn_constructor_args=(self.factory, self.cache.name, self.threads), batch_size=None,
            batch_format="numpy", num_cpus=self.threads,
            compute=self.ray.data.ActorPoolStrategy(size=max(1, min(self.actors, len(blocks)))))
        done = 0
        waiting = time.perf_counter()
        with worker_errors(self.ray):
            for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
                self.cache.encode_seconds += time.perf_counter() - waiting  # the driver waits on the encoders
                keys = [str(k) for k in batch["key"]]
                self.cache.store_vectors(keys, np.asarray(batch["vector"], dtype=np.float32))
                waiting = time.perf_counter()
                done += len(keys)
                if tick:
                    tick(len(keys))
        return done


class _EncodeBatch:
    """A Ray Data actor: builds the encoder once, then encodes whole batches."""

    def __init__(self, factory: EncoderFactory, name: str, threads: int) -> None:
        self.encoder = factory()
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
        if self.encoder.name != name:
            raise ModelError(f"the Ray workers' encoder is {self.encoder.name}, the driver's {name}: install the "
                             "same perkmatch, model and libraries on every node")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"key": batch["key"], "vector": self.encoder.encode([str(t) for t in batch["text"]])}


def local_threads() -> int:
    """How many threads torch's kernels use in a local run on this machine (1 without torch)."""
    try:
        import torch
    except ImportError:
        return 1
    return int(torch.get_num_threads())
