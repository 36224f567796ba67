"""Storing vectors while the next batch is encoded (``matcher.embed.Storing``): in order, on a thread of its own for a
database every thread opens, and an embedding stopped or failed keeps every batch it encoded before."""

import threading

import numpy as np
import pytest

import matcher.embed as embed
from catalog.refresh import text_key
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.store import open_engine

TEXTS = [f"post number {i} about espresso" for i in range(8)]


class Stopped(FakeEncoder):
    """A fake encoder stopped (Ctrl-C) as it starts its `at`-th batch."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.calls + 1 == self.at:  # (``calls``: FakeEncoder's count of the batches it encoded)
            raise KeyboardInterrupt
        return super().encode(texts)


def _batches_of_two(monkeypatch) -> dict[str, str]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(embed, "WRITE_BATCH", 2)
    return {text_key(t): t for t in TEXTS}


def _stored(cache: EmbeddingCache, texts: dict[str, str]) -> set[str]:
    return set(texts) - cache.missing(texts)


def test_a_batch_is_stored_while_the_next_is_encoded(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The first batch's transaction waits until the encoder has the second batch: storing it on the encoding thread
    would never let the encoder start (the wait would time out)."""
    texts = _batches_of_two(monkeypatch)
    second = threading.Event()

    class Watched(FakeEncoder):
        def encode(self, texts: list[str]) -> np.ndarray:
            if self.calls == 1:
                second.set()
            return super().encode(texts)

    class Waiting(EmbeddingCache):
        def _keep(self, keys: list[str], vectors: np.ndarray) -> None:
            assert second.wait(10), "the first batch was stored before the second was encoded"
            super()._keep(keys, vectors)

    cache = Waiting(engine, Watched())
    assert cache.fill(texts) == len(TEXTS) and _stored(cache, texts) == set(texts)
    assert cache.get(sorted(texts)).tobytes() == FakeEncoder().encode([texts[k] for k in sorted(texts)]).tobytes()
    assert not any(t.name == "perkmatch-store" for t in threading.enumerate())  # the thread ends with the fill


def test_an_embedding_stopped_at_a_batch_keeps_the_batches_encoded_before_it(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    texts = _batches_of_two(monkeypatch)
    cache = EmbeddingCache(engine, Stopped(at=3))
    order = [k for batch in cache.batches(texts) for k in batch]
    with pytest.raises(KeyboardInterrupt):
        cache.fill(texts)
    assert _stored(cache, texts) == set(order[:4]) and cache.encoded == 4  # both batches before the stop
    again = FakeEncoder()
    assert EmbeddingCache(engine, again).fill(texts) == 4 and again.encoded_texts == 4  # a re-run: the rest only


def test_a_batch_that_cannot_be_stored_fails_the_embedding_and_no_later_batch_is_stored(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    texts = _batches_of_two(monkeypatch)

    class Full(EmbeddingCache):
        kept = 0

        def _keep(self, keys: list[str], vectors: np.ndarray) -> None:
            self.kept += 1
            if self.kept == 2:
                raise OSError("disk full")
            super()._keep(keys, vectors)

    cache = Full(engine, FakeEncoder())
    first = cache.batches(texts)[0]
    with pytest.raises(OSError, match="disk full"):
        cache.fill(texts)
    assert _stored(cache, texts) == set(first)  # the batch before; none after, though some were encoded meanwhile


def test_a_database_in_memory_stores_on_the_encoding_thread(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """SQLite in memory is a database per thread in SQLAlchemy's pool: a thread of its own would store into another."""
    texts = _batches_of_two(monkeypatch)
    where: set[str] = set()

    class Watched(EmbeddingCache):
        def _keep(self, keys: list[str], vectors: np.ndarray) -> None:
            where.add(threading.current_thread().name)
            super()._keep(keys, vectors)

    cache = Watched(open_engine(":memory:"), FakeEncoder())
    assert cache.fill(texts) == len(TEXTS) and _stored(cache, texts) == set(texts)
    assert where == {threading.current_thread().name}
