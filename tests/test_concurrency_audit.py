"""Several roles on one database at once: an operator's ingest and runs, a brand's match, a user's forget, opt-out and
withdrawal of a sensitive opt-in. Whatever the order they land in, the result is one the two commands give run one
after the other: a user forgotten, opted out or withdrawn stays so."""

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

import matcher.eligible as eligible
import matcher.ingest as ingest_module
import matcher.match as match_module
from catalog.refresh import refresh
from matcher.demo import run_demo, sample_path
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.forget import forget, forget_posts
from matcher.ingest import ingest
from matcher.match import run_match
from matcher.match_table import Found
from matcher.store import open_engine, session
from matcher.taxonomy import topic_sets
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
    real = ingest_module.upsert_posts

    def write_then_wait(*args: Any, **kw: Any) -> None:
        real(*args, **kw)
        paused.set()
        go_on.wait(20)

    monkeypatch.setattr(ingest_module, "upsert_posts", write_then_wait)
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


THERAPY = {"perk_id": "pk-calm-harbor-therapy", "brand": "Calm Harbor", "title": "A free month of online therapy",
           "description": "Mental health, anxiety, depression, therapy, therapists, panic attacks, burnout and "
                          "self-care."}  # (worded for the fake encoder: the words of the Mental Health topic)
CITES = "SELECT COUNT(*) FROM assignments WHERE user_id = 'u-shares-health' AND run_id = :run AND topics LIKE :topic"


@pytest.mark.parametrize("when", ["while it computes", "while it writes"])
def test_a_sensitive_opt_in_withdrawn_while_a_match_runs_keeps_no_perk_it_brought(monkeypatch, write, database,
                                                                                 when) -> None:  # type: ignore[no-untyped-def]
    """The demo's u-shares-health opts in to Mental Health, and a therapy perk goes to her for it. She withdrew the
    opt-in (a users file) while a match computed: the match's commit kept the perk, citing the topic, which `export`
    then showed and the withdrawal had promised to delete (seen with `match` and `ingest --users` started 3.7 s apart).
    Landing while the match writes, on PostgreSQL the withdrawal did not wait for it (an ingest's lock only)."""
    engine = open_engine(database)
    cache = EmbeddingCache(engine, FakeEncoder())
    run_demo(engine, cache)
    perks = yaml.safe_load(Path(sample_path("catalog.yaml")).read_text(encoding="utf-8")) + [THERAPY]
    with session(engine) as s:
        known, sensitive = topic_sets(s)
        refresh(s, write("catalog.yaml", perks), cache, topics=known, sensitive=sensitive)
    topic = {"run": run_match(engine, cache).run_id, "topic": '%"health.mental-health"%'}
    with engine.connect() as conn:
        assert conn.execute(text(CITES), topic).scalar() == 1  # the perk her opt-in brought

    withdrawal = write("withdraw.jsonl", [{"user_id": "u-shares-health", "sensitive_opt_in": []}])
    racer: list[threading.Thread] = []
    if when == "while it computes":
        real_assign = Found.assign  # (the first call, as it computes; the match solves again once it sees
        monkeypatch.setattr(Found, "assign", lambda *a, **kw: (  # the withdrawal, in its write transaction)
            racer or racer.append(ingest(engine, users=withdrawal)), real_assign(*a, **kw))[1])
    else:
        real_check = eligible.dropped_out

        def checked_then_withdrawn(*args: Any) -> set[str]:  # the match has checked her: a withdrawal now, before
            dropped = real_check(*args)  # it commits
            racer.append(threading.Thread(target=ingest, args=(engine,), kwargs={"users": withdrawal}))
            racer[0].start()
            racer[0].join(1.0)  # without the lock it finishes here, before the match commits the perk
            return dropped

        monkeypatch.setattr(match_module, "dropped_out", checked_then_withdrawn)
    summary = run_match(engine, cache)
    for thread in racer if when == "while it writes" else ():
        thread.join(30)
    with engine.connect() as conn:
        topic["run"] = summary.run_id
        assert conn.execute(text(CITES), topic).scalar() == 0  # before: 1
        withheld = conn.execute(text("SELECT COUNT(*) FROM withheld WHERE user_id = 'u-shares-health' AND "
                                     "run_id = :run"), topic).scalar()
        stored = conn.execute(text("SELECT COUNT(*) FROM assignments WHERE run_id = :run"), topic).scalar()
    assert summary.assignments == stored or when == "while it writes"  # (a withdrawal after the run counts it used)
    if when == "while it writes":  # the withdrawal, after the commit, deleted her withheld perks
        assert withheld == 0
    else:  # the match worked her out again: the run is the one a match started after the withdrawal writes
        from tests.test_s37_match_export import stored_run

        assert stored_run(engine, summary.run_id) == stored_run(engine, run_match(engine, cache).run_id)
    engine.dispose()


def test_a_sensitive_opt_in_withdrawn_while_a_profile_computes_is_not_kept_by_the_run(monkeypatch, write,
                                                                                      database) -> None:  # type: ignore[no-untyped-def]
    """The withdrawal landed between the computing of her chunk of users and its writing: it found no rows of hers
    in the run yet, and the run then wrote Mental Health for her, inferred; the run finished with it, and `export`
    listed it among her latest topics. Now the chunk's transaction drops her rows, and the next run computes her."""
    import matcher.profile_run as profile_run
    from matcher.demo import AS_OF
    from matcher.engine_local import LocalExecutor
    from matcher.records import to_epoch
    from matcher.user_export import export_user

    engine = open_engine(database)
    cache = EmbeddingCache(engine, FakeEncoder())
    run_demo(engine, cache)
    withdrawal = write("withdraw.jsonl", [{"user_id": "u-shares-health", "sensitive_opt_in": []}])
    real = profile_run._write_results

    def withdrawn_then_written(engine_, run_id, results, *args: Any) -> None:  # type: ignore[no-untyped-def]
        if "u-shares-health" in results:  # computed with the opt-in
            assert "health.mental-health" in {r.topic_id for r in results["u-shares-health"] if r.inferred}
            ingest(engine, users=withdrawal)
        real(engine_, run_id, results, *args)

    monkeypatch.setattr(profile_run, "_write_results", withdrawn_then_written)
    as_of = to_epoch(AS_OF) + 86_400  # the next day: everyone computed again
    summary = profile_run.run_profile(engine, cache, as_of=as_of, executor=LocalExecutor())
    with engine.connect() as conn:
        held = conn.execute(text("SELECT COUNT(*) FROM topic_scores WHERE user_id = 'u-shares-health' "
                                 "AND run_id = :run"), {"run": summary.run_id}).scalar()
        profiled = conn.execute(text("SELECT COUNT(*) FROM profiled_users WHERE run_id = :run"),
                                {"run": summary.run_id}).scalar()
    assert held == 0  # before: her 10 topics, Mental Health among them
    assert summary.users == profiled == 30
    assert not [t for t in export_user(engine, "u-shares-health")["topics"] if t["topic_id"].startswith("health")]
    monkeypatch.setattr(profile_run, "_write_results", real)
    again = profile_run.run_profile(engine, cache, as_of=as_of, executor=LocalExecutor())
    assert (again.users, again.recomputed) == (31, 1)  # the next run computes her, without it
    engine.dispose()
