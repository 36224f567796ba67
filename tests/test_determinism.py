"""Same input, same output: byte for byte whatever the order of the input; and the same topics, evidence and
ranking whatever the encoder's batch size (BLAS kernels differ by batch shape, so scores may move in the last
digits on a first embedding; re-runs read the cached vectors and are byte-identical)."""

import json
import random
from pathlib import Path

import pytest

from matcher.demo import AS_OF, sample_path
from matcher.embed import EmbeddingCache
from matcher.encoder import load_encoder
from matcher.explain import user_topics
from matcher.ingest import ingest_posts, ingest_users
from matcher.profile_run import run_profile
from matcher.records import to_epoch
from matcher.store import open_engine


def profile_json(tmp_path, name: str, order_seed: int | None, batch_size: int) -> str:  # type: ignore[no-untyped-def]
    lines = Path(sample_path("posts.jsonl")).read_text(encoding="utf-8").splitlines()[:600]
    if order_seed is not None:
        random.Random(order_seed).shuffle(lines)
    posts = tmp_path / f"{name}.jsonl"
    posts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    engine = open_engine(str(tmp_path / f"{name}.db"))
    ingest_users(engine, sample_path("users.jsonl"))
    ingest_posts(engine, str(posts))
    encoder = load_encoder()
    old = encoder.batch_size  # type: ignore[attr-defined]
    encoder.batch_size = batch_size  # type: ignore[attr-defined]
    try:
        run_profile(engine, EmbeddingCache(engine, encoder), as_of=to_epoch(AS_OF))
    finally:
        encoder.batch_size = old  # type: ignore[attr-defined]
    records = user_topics(engine)
    engine.dispose()
    return json.dumps(records, sort_keys=True)


def shape(records: list[dict]) -> list[tuple]:
    return [(r["user_id"], t["topic_id"], t["posts"], t["days"], [e["post_id"] for e in t["evidence"]])
            for r in records for t in r["topics"]]


@pytest.mark.integration
def test_shuffled_input_gives_byte_identical_topics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = profile_json(tmp_path, "a", None, 64)
    assert json.loads(first)  # something was inferred
    assert profile_json(tmp_path, "b", 7, 64) == first


@pytest.mark.integration
def test_other_batch_size_gives_the_same_topics_evidence_and_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = json.loads(profile_json(tmp_path, "a", None, 64))
    b = json.loads(profile_json(tmp_path, "b", 3, 16))
    assert shape(a) == shape(b)
    scores_a = [t["score"] for r in a for t in r["topics"]]
    scores_b = [t["score"] for r in b for t in r["topics"]]
    assert max(abs(x - y) for x, y in zip(scores_a, scores_b, strict=True)) < 0.01
