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


def test_a_tie_for_a_scarce_unit_goes_to_the_lower_id_when_each_contender_has_another_perk() -> None:
    """ann and zed fit the last lounge pass exactly as well, and each could take the brand's unlimited miles
    instead (one perk a brand): every choice summed the same under the (user, perk) id order, and the solver's pick
    stood, zed. Now the unit goes to the lower id, whatever order the candidates come in and whatever the perks'
    ids (the lounge's is after the miles' here, so the perk order cannot be what decides)."""
    from matcher.assign import Candidate, assign

    cands = [Candidate(u, p, "Sky", s, q) for u in ("zed", "ann")
             for p, s, q in (("zz-lounge", 1.914, 1), ("aa-miles", 1.7977, None))]
    for order in (cands, cands[::-1], cands[1::2] + cands[::2]):
        chosen = {(c.user_id, c.perk_id) for c in assign(order)}
        assert chosen == {("ann", "zz-lounge"), ("zed", "aa-miles")}  # before: zed got the lounge


WORDS = "alpha bravo charlie delta echo foxtrot golf hotel".split()


def _travel_posts(user: str, backwards: bool) -> list[dict[str, Any]]:
    """Six travel posts; ``backwards``: each with its words the other way round (the fake encoder reads words, not
    their order: the same vectors, and the posts are no copies of another user's)."""
    out = []
    for i in range(6):
        words = ["flights", "airport", "lounge", "travel", WORDS[i], WORDS[i + 1]]
        out.append({"post_id": f"{user}-{i}", "user_id": user, "text": " ".join(words[::-1] if backwards else words),
                    "created_at": 1_735_732_800 + i * 3 * 86_400, "likes": 5, "replies": 1})
    return out


@pytest.mark.parametrize("first", ["ann", "zed"])
def test_equal_profiles_get_the_same_assignments_whatever_order_they_were_ingested_in(tmp_path, write, monkeypatch,
                                                                                      first) -> None:  # type: ignore[no-untyped-def]
    """Two users with the same posts (fits tie exactly), one lounge pass and the brand's unlimited miles: in either
    order of ingest, ann (the lower id) gets the lounge and zed the miles. Before: zed got the lounge, both times."""
    import json

    from tests.test_cli_match import build_world

    order = [first, "zed" if first == "ann" else "ann"]
    perks = [{"perk_id": "lounge", "brand": "Sky", "title": "Lounge pass",
              "description": "airport lounge flights travel", "quantity": 1},
             {"perk_id": "miles", "brand": "Sky", "title": "Miles",
              "description": "travel flights airport trips miles"}]
    world = build_world(tmp_path, write, monkeypatch, [{"user_id": u, "consent": "opted_in"} for u in order],
                        [p for u in order for p in _travel_posts(u, backwards=u == "zed")], "2025-03-01", perks=perks)
    got = [json.loads(line) for line in world("match", "--json").stdout.splitlines()]
    assert [(r["user_id"], r["perk_id"]) for r in got] == [("ann", "lounge"), ("zed", "miles")]
    why = json.loads(world("explain", "zed", "lounge", "--json").stdout)["reason"]
    assert why == "quantity: all 1 went to users it fits as well or better (on an equal fit, lower user ids first)"


HEALTH_PERK = {"perk_id": "therapy", "brand": "Calm", "title": "A month of therapy",
               "description": "doctor therapy medicine", "quantity": 1}


def _health_world(tmp_path, write):  # type: ignore[no-untyped-def]
    """ann and bob opt in to Health (sensitive) and write about it, ann more (more posts): the one therapy perk
    goes to ann; bob is next best for it. Both also write about travel (a perk for everyone). Profiled, not matched."""
    from catalog.refresh import refresh
    from matcher.ingest import ingest
    from matcher.profile_run import run_profile
    from matcher.records import to_epoch
    from matcher.store import session
    from matcher.taxonomy import read_taxonomy, store_taxonomy, topic_sets
    from tests.test_cli_match import PERKS, TAXONOMY, posts_for

    engine = open_engine(str(tmp_path / "health.db"))
    cache = EmbeddingCache(engine, FakeEncoder())
    store_taxonomy(engine, read_taxonomy(write("taxonomy.yaml", TAXONOMY)))
    users = [{"user_id": u, "consent": "opted_in", "region": "US-NY", "sensitive_opt_in": ["health"]}
             for u in ("ann", "bob")]
    posts = posts_for("ann", "doctor therapy medicine", n=8) + posts_for("bob", "doctor therapy medicine", n=5)
    posts += [dict(p, post_id=p["post_id"] + "t") for u in ("ann", "bob") for p in posts_for(u, "travel trips flights")]
    ingest(engine, posts=write("posts.jsonl", posts), users=write("users.jsonl", users))
    with session(engine) as s:
        known, sensitive = topic_sets(s)
        refresh(s, write("catalog.yaml", [PERKS[1], HEALTH_PERK]), cache, topics=known, sensitive=sensitive)
    run_profile(engine, cache, as_of=to_epoch("2025-03-01"))
    return engine, cache


def stored_run(engine, run_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What a match run keeps: its assignments, the perks it withheld and its counts (``runs.stats``)."""
    import json

    from sqlalchemy import text

    with engine.connect() as conn:
        assigned = conn.execute(text("SELECT user_id, perk_id, rank, score, topics FROM assignments WHERE run_id = :r "
                                     "ORDER BY user_id, rank"), {"r": run_id}).all()
        withheld = conn.execute(text("SELECT user_id, perk_id, score, reason FROM withheld WHERE run_id = :r "
                                     "ORDER BY id"), {"r": run_id}).all()
        stats = json.loads(conn.execute(text("SELECT stats FROM runs WHERE id = :r"), {"r": run_id}).scalar())
    return {"assigned": [tuple(r) for r in assigned], "withheld": [tuple(r) for r in withheld], "stats": stats}


@pytest.mark.parametrize("drop_out", ["withdraw the opt-in", "forget", "opt out"])
def test_a_user_dropping_out_while_a_match_computes_frees_their_unit_for_the_next_best(tmp_path, write, monkeypatch,
                                                                                      drop_out) -> None:  # type: ignore[no-untyped-def]
    """ann holds the one therapy perk; she withdraws her Health opt-in (or is forgotten, or opts out) while a match
    computes. The match dropped her assignment as it wrote and the unit went to nobody, though bob, next best, gets
    it from a match started after. Now the run written is the one a match started after writes: bob has the perk."""
    import matcher.perk_candidates as perk_candidates
    from matcher.forget import forget
    from matcher.ingest import ingest
    from matcher.match import run_match

    engine, cache = _health_world(tmp_path, write)
    first = run_match(engine, cache)
    assert [(u, p) for u, p, *_ in stored_run(engine, first.run_id)["assigned"] if p == "therapy"] == [
        ("ann", "therapy")]
    act = {"withdraw the opt-in": lambda: ingest(engine, users=write("withdraw.jsonl", [
               {"user_id": "ann", "sensitive_opt_in": []}])),
           "forget": lambda: forget(engine, "ann"), "opt out": lambda: forget(engine, "ann", opt_out=True)}[drop_out]
    real, done = perk_candidates.find_candidates, []

    def then_drop_out(*args: Any) -> Any:
        found = real(*args)
        if not done:  # once: after the match has read ann and worked out her candidates
            done.append(act())
        return found

    monkeypatch.setattr(perk_candidates, "find_candidates", then_drop_out)
    during = run_match(engine, cache)
    monkeypatch.setattr(perk_candidates, "find_candidates", real)
    after = run_match(engine, cache)
    kept = stored_run(engine, during.run_id)
    assert [(u, p) for u, p, *_ in kept["assigned"] if p == "therapy"] == [("bob", "therapy")]  # before: nobody's
    assert kept == stored_run(engine, after.run_id)
    assert (during.users, during.assignments) == (after.users, after.assignments)
    engine.dispose()


def test_match_dry_run_runs_on_a_database_it_cannot_write(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A dry run keeps nothing, but wrote its run into a transaction it rolled back: on a SQLite file that cannot be
    written (opened read-only here, as a read-only file or mount opens it) it failed, "attempt to write a readonly
    database", once it had worked the match out. Now it writes the run into copies of the run tables in the
    connection's TEMP schema: the same output as on the writable file, and nothing of it stays."""
    from sqlalchemy import create_engine, event, text

    import matcher.cli.matching as matching
    from matcher import store
    from tests.test_cli_match import four_users

    world = four_users(tmp_path, write, monkeypatch)
    assert world("match").exit_code == 0
    writable = {args: world("match", "--dry-run", *args) for args in (("--json",), ("--changes",))}
    read_only = create_engine(f"sqlite:///file:{world.db}?mode=ro&uri=true")
    event.listen(read_only, "connect", store._sqlite_pragmas)
    monkeypatch.setattr(matching, "engine", lambda db, existing=False: read_only)
    assert "attempt to write a readonly database" in world("match").stderr  # (a kept match is refused, as it was)
    for args, expected in writable.items():
        result = world("match", "--dry-run", *args)
        assert result.exit_code == 0, result.output  # before: 1, "attempt to write a readonly database"
        assert result.stdout == expected.stdout and "would change since the last match" in result.stderr
    with read_only.connect() as conn:  # no copy outlives the dry run on the pooled connection
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM temp.sqlite_master").scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM runs WHERE kind = 'match'")).scalar() == 1
    read_only.dispose()


def _cited_keys(engine, run_id: int) -> dict[str, set[int]]:  # type: ignore[no-untyped-def]
    """Each user's post keys a match run's assignments cite as evidence, as stored."""
    import json

    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT user_id, topics FROM assignments WHERE run_id = :r"), {"r": run_id}).all()
    out: dict[str, set[int]] = {}
    for user_id, topics in rows:
        out.setdefault(user_id, set()).update(k for hit in json.loads(topics) for k in hit["posts"])
    return out


def test_a_post_deleted_while_a_match_computes_is_not_cited_by_the_run_it_writes(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """u-maya deletes a post (`forget --post`) that her perk cites as evidence while a match computes, after it read
    her evidence: the run kept citing the deleted post's key, which `forget --post` takes out of the assignments
    already written (and which SQLite gives the next post stored: another user's post shown as hers). Now the match,
    in its write transaction, works out again the users whose chosen perks cite a post of theirs gone since: the run
    written is the one a match started after writes."""
    import matcher.perk_candidates as perk_candidates
    from matcher.match import run_match

    engine = open_engine(str(tmp_path / "d.db"))
    cache = EmbeddingCache(engine, FakeEncoder())
    run_demo(engine, cache)
    first = run_match(engine, cache)
    key = sorted(_cited_keys(engine, first.run_id)["u-maya"])[0]
    with engine.connect() as conn:
        from sqlalchemy import text

        post_id = conn.execute(text("SELECT post_id FROM posts WHERE id = :k"), {"k": key}).scalar()
    real, done = perk_candidates.find_candidates, []

    def then_delete(*args: Any) -> Any:
        found = real(*args)
        if not done:  # once: after the match has read u-maya's evidence
            done.append(forget_posts(engine, "u-maya", [post_id]))
        return found

    monkeypatch.setattr(perk_candidates, "find_candidates", then_delete)
    during = run_match(engine, cache)
    monkeypatch.setattr(perk_candidates, "find_candidates", real)
    assert done and key not in _cited_keys(engine, during.run_id).get("u-maya", set())  # before: still cited
    after = run_match(engine, cache)
    assert stored_run(engine, during.run_id) == stored_run(engine, after.run_id)
    engine.dispose()
