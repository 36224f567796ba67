"""The library journey of the README's "Using it as a library": what a data scientist passes and what they get back,
when it is right and when it is not (the package's own errors, naming the fix, not a bare error from deep inside)."""

from pathlib import Path

from catalog.refresh import refresh
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.ingest import ingest, ingest_posts, ingest_users
from matcher.match import run_match
from matcher.profile_run import run_profile
from matcher.store import open_engine, session
from matcher.taxonomy import read_taxonomy
from matcher.topic_records import user_topics

SAMPLE = Path(__file__).resolve().parents[1] / "matcher" / "data" / "sample"


def test_files_and_the_database_may_be_given_as_pathlib_paths(tmp_path: Path) -> None:
    """Every step of the README's example takes a ``pathlib.Path`` as well as a str; before, open_engine raised
    TypeError ("expected string or bytes-like object, got 'PosixPath'") and the readers AttributeError ('PosixPath'
    object has no attribute 'lower')."""
    engine = open_engine(tmp_path / "p.db")
    cache = EmbeddingCache(engine, FakeEncoder())
    assert ingest_users(engine, SAMPLE / "users.jsonl").users_added == 32
    assert ingest_posts(engine, SAMPLE / "posts.jsonl").added == 1699
    assert [r.kind for r in ingest(engine, SAMPLE / "posts.jsonl", SAMPLE / "users.jsonl")] == ["users", "posts"]
    with session(engine) as s:
        assert refresh(s, SAMPLE / "catalog.yaml", cache).applied
    run_profile(engine, cache)
    assert run_match(engine, cache).assignments > 0
    assert user_topics(engine, "u-maya")[0]["topics"]
    assert read_taxonomy(Path(__file__).resolve().parents[1] / "matcher" / "data" / "taxonomy.yaml")
    engine.dispose()
