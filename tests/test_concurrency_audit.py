"""Several roles on one database at once: an operator's ingest and runs, a brand's match, a user's forget, opt-out and
withdrawal of a sensitive opt-in. Whatever the order they land in, the result is one the two commands give run one
after the other: a user forgotten, opted out or withdrawn stays so."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

import matcher.ingest as ingest_module
from matcher.forget import forget, forget_posts
from matcher.ingest import ingest
from matcher.store import open_engine
from tests.conftest import post
from tests.test_postgres import fresh_database, postgres_server


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with postgres_server("perkmatch-concurrency-") as (url, _):
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A new database of each kind (the server is started only for the PostgreSQL one)."""
    if request.param == "sqlite":
        return str(tmp_path / "roles.db")
    return fresh_database(request.getfixturevalue("server"), "roles")


def paused_ingest(monkeypatch, engine, posts: str) -> tuple[threading.Thread, threading.Event, threading.Event]:  # type: ignore[no-untyped-def]
    """An ingest of ``posts`` in a thread, paused once it has written its first batch (its transaction open, the
    authors' consent read): (thread, paused, go on)."""
    paused, go_on = threading.Event(), threading.Event()
    real = ingest_module._upsert_posts

    def write_then_wait(*args: Any, **kw: Any) -> None:
        real(*args, **kw)
        paused.set()
        go_on.wait(20)

    monkeypatch.setattr(ingest_module, "_upsert_posts", write_then_wait)
    thread = threading.Thread(target=ingest, args=(engine,), kwargs={"posts": posts})
    thread.start()
    assert paused.wait(20)
    return thread, paused, go_on


def race(first: threading.Thread, go_on: threading.Event, second: Callable[[], Any]) -> None:
    """``second`` in a thread while ``first`` is paused; ``first`` goes on after a second (``second`` has finished by
    then, unless it waits for ``first``, as it must)."""
    other = threading.Thread(target=second)
    other.start()
    other.join(1.0)
    go_on.set()
    first.join(30)
    other.join(30)
    assert not first.is_alive() and not other.is_alive()


@pytest.mark.parametrize("deletion", ["opt-out", "forget", "forget --post"])
def test_a_deletion_while_an_ingest_runs_is_never_undone_by_its_commit(monkeypatch, write, database,
                                                                        deletion) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL an ingest and a forget took separate locks: an opt-out committed while an ingest of the user's
    posts was under way was followed by the ingest's commit, and the user's 77 posts were stored again, with no user
    (seen with `ingest big.jsonl` and `consent u-maya opted_out` started 10 s apart). SQLite's writer lock held."""
    engine = open_engine(database)
    users = write("users.jsonl", [{"user_id": u, "consent": "opted_in"} for u in ("ann", "bob")])
    ingest(engine, posts=write("old.jsonl", [post("p0", "ann", "an old post about sourdough", 1)]), users=users)
    rows = [post(f"p{i}", "ann" if i % 2 else "bob", f"post {i} about bread", 2) for i in range(1, 3001)]
    if deletion == "forget --post":
        rows.append(post("p0", "ann", "an old post about sourdough", 1, likes=50))  # its engagement grew
    thread, _, go_on = paused_ingest(monkeypatch, engine, write("new.jsonl", rows))
    act = {"opt-out": lambda: forget(engine, "ann", opt_out=True), "forget": lambda: forget(engine, "ann"),
           "forget --post": lambda: forget_posts(engine, "ann", ["p0"])}[deletion]
    race(thread, go_on, act)
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT post_id FROM posts WHERE user_id = 'ann'")).scalars().all()
        others = conn.execute(text("SELECT COUNT(*) FROM posts WHERE user_id = 'bob'")).scalar()
    assert ("p0" not in kept) if deletion == "forget --post" else not kept  # before, on PostgreSQL: 1,500 (or p0)
    assert others == 1500
    engine.dispose()
