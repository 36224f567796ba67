"""The embedding cache: each distinct text is embedded once per model, keyed by its content hash.

``EmbeddingCache`` is also the catalog's ``VectorSource``. New texts are sorted by length before
batching (less padding), encoded in batches, and committed batch by batch, so an interrupted run
keeps what it finished and a re-run embeds only what is left. ``embed_new_posts`` streams the post
texts and contexts not yet cached from the database in chunks, so memory does not grow with the
number of posts.

Here: the cache (and ``HeldCache``, a dry run's, which writes nothing), its stored rows read, and
``embed_new_posts``. The rest is in modules of its own, importable from here as before: the post texts with no
vector yet (counted, streamed; vectors no post uses dropped) in ``matcher.embed_missing``, the model a database's
vectors were made with (checked, claimed) in ``matcher.embed_model``.
"""

import contextlib
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine
from sqlmodel import col, select

from catalog.refresh import text_key
from matcher.embed_missing import FILL_CHUNK, count_missing, drop_unreferenced, missing_chunks
from matcher.embed_model import MODEL_SETTING, check_model, claim_model
from matcher.encoder import Encoder, checked_vectors, encoded
from matcher.errors import WrongArgumentError
from matcher.store import Embedding, batches, bulk_insert, require_engine

__all__ = ["WRITE_BATCH", "EmbeddingCache", "HeldCache", "Progress", "deferred_interrupt", "embed_new_posts", "held",
           "require_cache", "stored_rows",
           # matcher.embed_missing, matcher.embed_model
           "FILL_CHUNK", "count_missing", "drop_unreferenced", "missing_chunks", "MODEL_SETTING", "check_model",
           "claim_model"]


WRITE_BATCH = 512


Progress = Callable[[int], None]


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Ctrl-C (SIGINT) and SIGTERM wait until the block is done, then act as usual. An interrupt landing inside the
    encoder's native code (OpenVINO's inference threads) aborted the whole process ("FATAL: exception not
    rethrown", a core dump) instead of stopping it cleanly; one call encodes a chunk, a second or so."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    deferred = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, deferred)  # both handlers swap as one: none lands in between
    try:
        previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in deferred}
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, deferred)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, deferred)
        try:
            for s, handler in previous.items():
                signal.signal(s, handler)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, deferred)
    if caught:
        first = signal.SIGTERM if signal.SIGTERM in caught else signal.Signals(caught[0])  # stop outranks Ctrl-C
        handler = previous[first]
        if callable(handler):
            handler(first, None)  # Python's own (KeyboardInterrupt for Ctrl-C) or the CLI's
        elif handler != signal.SIG_IGN:
            signal.raise_signal(first)  # the default action


class EmbeddingCache:
    """Vectors for texts, from the database when known, from the encoder otherwise."""

    def __init__(self, engine: Engine, encoder: Encoder) -> None:
        require_engine(engine, "EmbeddingCache")
        if not all(hasattr(encoder, name) for name in ("name", "dim", "encode")):
            raise WrongArgumentError(f"EmbeddingCache takes an encoder, with name, dim and encode(texts) (given: "
                                     f"{type(encoder).__name__}): load_encoder() or one of your own")
        self.engine = engine
        self.encoder = encoder
        self.name = encoder.name
        self.encoded = 0
        self.encode_seconds = 0.0  # wall time spent encoding (or, on Ray, waiting for it): the rest is overhead
        self._recording: list[str] | None = None
        self._claimed = check_model(engine, encoder)  # whether the database names this model for the name already

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[str]]:
        """The keys of the vectors stored inside the block (``store_vectors``), in order."""
        self._recording = []
        try:
            yield self._recording
        finally:
            self._recording = None

    def missing(self, keys: Iterable[str]) -> set[str]:
        """The keys with no stored vector for this model."""
        wanted = sorted(set(keys))
        with self.engine.connect() as conn:
            known = {key for key, in stored_rows(conn, self.name, wanted, vectors=False)}
        return set(wanted) - known

    def batches(self, texts: dict[str, str], known_missing: bool = False) -> list[list[str]]:
        """The keys of the texts not yet cached, sorted by length, cut into the batches they are encoded in
        (any engine that encodes these batches as they are stores the same vectors as ``fill``).
        ``known_missing``: the texts were just found missing (``missing_chunks``), so they are not looked up
        again (a run beside this one may then encode some of them too; the first vector stored is kept)."""
        order = sorted(texts if known_missing else self.missing(texts), key=lambda k: (len(texts[k]), k))
        return [order[start:start + WRITE_BATCH] for start in range(0, len(order), WRITE_BATCH)]

    def store_vectors(self, keys: list[str], vectors: np.ndarray) -> None:
        """Store one batch of vectors (one transaction; a vector already stored for a key is kept), checked as the
        encoder's (``encoder.checked_vectors``: they may come from elsewhere, a Ray cluster's encoders)."""
        self._store(keys, checked_vectors(self.encoder, len(keys), vectors))

    def _store(self, keys: list[str], vectors: np.ndarray) -> None:
        """``store_vectors`` of vectors checked already (``encode``'s)."""
        self._keep(keys, np.ascontiguousarray(vectors))
        self.encoded += len(keys)
        if self._recording is not None:
            self._recording.extend(keys)

    def _keep(self, keys: list[str], vectors: np.ndarray) -> None:
        """Write these vectors to the database, in one transaction (one stored already for a key is kept)."""
        with self.engine.begin() as conn:
            self._claimed = self._claimed or claim_model(conn, self.encoder)
            bulk_insert(conn, Embedding.__table__, ("model", "text_key", "vector"),  # type: ignore[attr-defined]
                        [(self.name, key, vector.tobytes()) for key, vector in zip(keys, vectors, strict=True)],
                        keep_existing=True)

    def fill(self, texts: dict[str, str], progress: Progress | None = None, known_missing: bool = False) -> int:
        """Embed and store every text (key -> text) not yet cached; return how many were encoded. Each batch is
        stored while the next is encoded (``Storing``); stopped or failed, the batches encoded are stored first."""
        batches = self.batches(texts, known_missing)
        with Storing(self._store, len(batches) > 1 and shared(self.engine)) as store:
            for keys in batches:
                store(keys, self.encode([texts[k] for k in keys]))  # (checked as encoded)
                if progress:
                    progress(len(keys))
        return sum(len(keys) for keys in batches)

    def encode(self, texts: list[str]) -> np.ndarray:
        """The encoder's vectors for these texts (not stored), checked (``encoder.encoded``), its time counted in
        ``encode_seconds``."""
        started = time.perf_counter()
        with deferred_interrupt():
            vectors = encoded(self.encoder, texts)
        self.encode_seconds += time.perf_counter() - started
        return vectors

    def get(self, keys: list[str]) -> np.ndarray:
        """The stored vectors for these keys, in order (every key must be cached)."""
        return self._rows(keys, self._stored(keys))

    def vectors(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts, embedding the ones not cached yet (looked up once: those found are not read again)."""
        keys = [text_key(t) for t in texts]
        found = self._stored(keys)
        new = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if new:
            self.fill(new, known_missing=True)
            found.update(self._stored(list(new)))
        return self._rows(keys, found)

    def _stored(self, keys: list[str]) -> dict[str, bytes]:
        """The stored vectors (bytes) of those of these keys that have one."""
        with self.engine.connect() as conn:
            return dict(stored_rows(conn, self.name, sorted(set(keys))))

    def _rows(self, keys: list[str], found: dict[str, bytes]) -> np.ndarray:
        """The vectors of these keys, in order, from ``_stored``'s bytes."""
        blob = b"".join(found[key] for key in keys)
        return np.frombuffer(blob, dtype=np.float32).reshape(len(keys), self.encoder.dim).copy()


class Storing:
    """Batches of vectors stored on a thread of their own, in order, while the caller encodes the next (with
    ``threaded`` false, at once, on the caller's thread). At most one batch waits; leaving the block waits until
    every batch given is stored, then raises the first error storing met. Storing 512 vectors took about 15 ms, a
    third of it CPU and the rest the database writing, outside the interpreter lock: the encoder loses at most that
    third (0.7 % of its time, 2-core AMD EPYC, OpenVINO), and the time outside it at 20,000 posts went from
    0.39-0.52 s to 0.17-0.25 s. (Tried when rows went through SQLAlchemy's per-row handling, encoding ran at half
    speed.) A daemon thread: a command stopping while it waits abandons its transaction, which the database rolls
    back."""

    def __init__(self, store: Callable[[list[str], np.ndarray], None], threaded: bool) -> None:
        self._store, self._raised = store, False
        self._error: BaseException | None = None
        self._queue: queue.Queue[tuple[list[str], np.ndarray] | None] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="perkmatch-store", daemon=True) if threaded else None

    def __enter__(self) -> Callable[[list[str], np.ndarray], None]:
        if self._thread is None:
            return self._store
        self._thread.start()
        return self._put

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._raise()

    def _put(self, keys: list[str], vectors: np.ndarray) -> None:
        self._raise()
        self._queue.put((keys, vectors))

    def _raise(self) -> None:
        if self._error is not None and not self._raised:
            self._raised = True
            raise self._error

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._error is None:  # after an error, the batches still given are taken and dropped
                try:
                    self._store(*batch)
                except BaseException as exc:  # (raised on the caller's thread)
                    self._error = exc


def shared(engine: Engine) -> bool:
    """Whether every thread of this process opens the same database (not a SQLite database in memory, which is one
    per connection and, in SQLAlchemy's pool for it, per thread)."""
    return not (engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"))


class HeldCache(EmbeddingCache):
    """An embedding cache that writes nothing: the vectors it encodes are held in memory for its life, beside those the
    database holds. A dry run's (`match --dry-run`), which must leave the database as it was: before, a topic's text
    with no vector (reworded by a `taxonomy load` since the profile run, or its vector deleted by a `forget` of a post
    of the same words) was embedded and stored, the one write a dry run kept."""

    def __init__(self, cache: EmbeddingCache) -> None:
        super().__init__(cache.engine, cache.encoder)
        self._held: dict[str, bytes] = {}

    def missing(self, keys: Iterable[str]) -> set[str]:
        return super().missing(set(keys) - self._held.keys())

    def _keep(self, keys: list[str], vectors: np.ndarray) -> None:
        for key, vector in zip(keys, vectors, strict=True):
            self._held.setdefault(key, vector.tobytes())

    def _stored(self, keys: list[str]) -> dict[str, bytes]:
        kept = {key: self._held[key] for key in keys if key in self._held}
        return super()._stored([key for key in keys if key not in kept]) | kept


def held(cache: EmbeddingCache) -> EmbeddingCache:
    """``cache`` as a dry run reads it: writing nothing (``HeldCache``)."""
    return cache if isinstance(cache, HeldCache) else HeldCache(cache)


def stored_rows(conn: Connection, model: str, keys: list[str], vectors: bool = True) -> Iterator[tuple[Any, ...]]:
    """(key, vector bytes), or (key,) without ``vectors``, of those of these keys stored for this model, asked in lists
    a statement can bind (``batches``). On SQLite and PostgreSQL the statement goes through the driver: SQLAlchemy
    renders an IN list's bound values anew at each execution, which took a profile run about 0.05 s for the 4,000
    texts of its topic space, each time it looked them up (the same rows either way)."""
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    for chunk in batches(keys):
        if mark is None:
            columns = (Embedding.text_key, Embedding.vector) if vectors else (Embedding.text_key,)
            yield from conn.execute(select(*columns).where(Embedding.model == model)
                                    .where(col(Embedding.text_key).in_(chunk))).tuples()
            continue
        sql = (f"SELECT text_key{', vector' if vectors else ''} FROM {Embedding.__tablename__} WHERE model = {mark} "
               f"AND text_key IN ({', '.join([mark] * len(chunk))})")
        yield from conn.exec_driver_sql(sql, (model, *chunk)).cursor.fetchall()


def require_cache(cache: object, who: str) -> None:
    """Refuse, naming the fix, what is not an embedding cache: an encoder given as one is the usual slip (before, an
    AttributeError from deep inside: "'FakeEncoder' object has no attribute 'missing'")."""
    if not all(hasattr(cache, name) for name in ("encoder", "fill", "missing", "vectors")):
        wrap = " (an encoder: wrap it, EmbeddingCache(engine, encoder))" if hasattr(cache, "dim") else ""
        given = type(cache).__name__
        raise WrongArgumentError(f"{who} takes an EmbeddingCache(engine, encoder) (given: {given}){wrap}")


def embed_new_posts(engine: Engine, cache: EmbeddingCache, extra: Iterable[str] = (),
                    progress: Callable[[str, int, int | None], None] | None = None, policy: str | None = None) -> int:
    """Embed the extra texts (e.g. topic descriptions) and every post text and context not yet cached (with
    ``policy``: of the users a profile run under that consent policy profiles; no one else's words are read),
    streaming; return how many texts were embedded."""
    done = cache.fill({text_key(x): x for x in extra})
    total = count_missing(engine, cache.name, policy) if progress else None  # counting is a query of its own
    if progress:
        progress("embed", 0, total)
    for chunk in missing_chunks(engine, cache.name, policy=policy):
        done += cache.fill(chunk, (lambda n: progress("embed", n, total)) if progress else None, known_missing=True)
    return done
