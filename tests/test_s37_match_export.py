"""Review of `match` and `export` (2026-12-07): a user dropping out of a match while it runs, exact ties for a scarce
unit, `match --dry-run` on a database it cannot write, and `export` read in one snapshot; each tested as it showed
before its fix."""

from collections.abc import Iterator
from typing import Any

import pytest

import matcher.user_export as user_export
from matcher.demo import run_demo
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.forget import forget_posts
from matcher.store import open_engine
from tests.test_postgres import fresh_database, postgres_server


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with postgres_server("perkmatch-s37-") as (url, _):
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A new database of each kind (the server is started only for the PostgreSQL one)."""
    if request.param == "sqlite":
        return str(tmp_path / "s37.db")
    return fresh_database(request.getfixturevalue("server"), "s37")


def _cited(doc: dict[str, Any]) -> set[str]:
    """The post ids an export's latest topics and its assignments cite as evidence."""
    topics = [t for t in doc["topics"] if t.get("evidence")] + [t for a in doc["assignments"] for t in a["topics"]]
    return {e["post_id"] for t in topics for e in t["evidence"]}


def test_export_reads_one_snapshot_whatever_commits_while_it_reads(monkeypatch, database) -> None:  # type: ignore[no-untyped-def]
    """`export` read its parts in a dozen transactions: a `forget --post` committing between them (here, as it reads
    the deletions) gave a document listing the post among u-maya's posts, and no deletion, while her topics and
    assignments, read after, no longer cited it (their evidence moved on to other posts). Now it is read in one
    snapshot: the document is the one an export before the deletion gives."""
    engine = open_engine(database)
    run_demo(engine, EmbeddingCache(engine, FakeEncoder()))
    before = user_export.export_user(engine, "u-maya")
    post_id = before["assignments"][0]["topics"][0]["evidence"][0]["post_id"]
    assert post_id in _cited(before)
    real = user_export.post_deletions

    def deleted_meanwhile(*args: Any) -> Any:
        forget_posts(engine, "u-maya", [post_id])  # committed while the export reads
        return real(*args)

    monkeypatch.setattr(user_export, "post_deletions", deleted_meanwhile)
    during = user_export.export_user(engine, "u-maya")
    assert during == before  # before: the post listed, cited nowhere, and no deletion
    assert _cited(during) <= {p["post_id"] for p in during["posts"]}
    monkeypatch.setattr(user_export, "post_deletions", real)
    after = user_export.export_user(engine, "u-maya")
    assert post_id not in _cited(after) | {p["post_id"] for p in after["posts"]}
    assert [d["posts"] for d in after["post_deletions"]] == [1]
    engine.dispose()
