"""Same input, same output: byte for byte whatever the order of the input and whatever the encoder's batch size
(the default encoder gives a text the same vector whatever it is batched with)."""

import json
import random
from pathlib import Path

import pytest

from matcher.demo import AS_OF, sample_path
from matcher.embed import EmbeddingCache
from matcher.encoder import load_encoder
from matcher.ingest import ingest_posts, ingest_users
from matcher.profile_run import run_profile
from matcher.records import to_epoch
from matcher.store import open_engine
from matcher.topic_records import user_topics


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


@pytest.mark.integration
def test_shuffled_input_gives_byte_identical_topics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = profile_json(tmp_path, "a", None, 64)
    assert json.loads(first)  # something was inferred
    assert profile_json(tmp_path, "b", 7, 64) == first


@pytest.mark.integration
def test_other_batch_size_gives_byte_identical_topics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert profile_json(tmp_path, "b", 3, 16) == profile_json(tmp_path, "a", None, 64)
