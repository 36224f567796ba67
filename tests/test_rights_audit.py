"""Users' rights end to end (consent, opt-out, forget, export): what the rights audit found, tested."""

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from matcher.forget import forgotten_units
from matcher.ingest import ingest
from matcher.store import open_engine, session
from tests.conftest import post
from tests.test_cli_match import build_world, posts_for

runner = CliRunner()
SECRET = "zanzibarkayak"  # a word only ann writes


def files_holding(db: Path, word: str) -> dict[str, int]:
    """How often the word appears in the database's files (the main file, its write-ahead log)."""
    found = {f.name: f.read_bytes().count(word.encode()) for f in db.parent.glob(db.name + "*")}
    return {name: n for name, n in found.items() if n}


def test_a_users_file_opt_out_scrubs_the_deleted_text_from_the_database_files(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "r.db"
    engine = open_engine(str(db))
    users = [{"user_id": "ann", "consent": "opted_in"}, {"user_id": "bob", "consent": "opted_in"}]
    posts = [post(f"a{i}", "ann", f"{SECRET} trip number {i}", i) for i in range(5)] + [post("b1", "bob", "hi", 1)]
    ingest(engine, write("p.jsonl", posts), write("u.jsonl", users))
    assert files_holding(db, SECRET)  # stored: in the write-ahead log
    reports = ingest(engine, None, write("out.jsonl", [{"user_id": "ann", "consent": "opted_out"}]))
    assert reports[0].users_forgotten == 1
    assert files_holding(db, SECRET) == {}  # before: 5 copies left in r.db-wal (only `forget` scrubbed)
    engine.dispose()


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """Ann and Bob write about travel (Bob copies two of Ann's posts later), Cat about coffee; one lounge pass."""
    users = [{"user_id": u, "consent": "opted_in", "region": "US-NY"} for u in ("ann", "bob", "cat")]
    ann = posts_for("ann", f"flights airport lounge travel {SECRET}")
    copies = [p | {"post_id": f"bob-copy{i}", "user_id": "bob", "created_at": p["created_at"] + 3600}
              for i, p in enumerate(ann[:2])]
    posts = ann + posts_for("bob", "travel trips flights airport") + copies + posts_for("cat", "coffee espresso beans")
    return build_world(tmp_path, write, monkeypatch, users, posts, "2025-03-01", then=(
        ["match"], ["ingest", write("p2.jsonl", [ann[0] | {"likes": 50}])],  # a second profile run, recomputing ann
        ["profile", "--as-of", "2025-03-01"], ["match"]))


def test_forget_keeps_the_units_a_forgotten_user_used_counted_without_their_id(world) -> None:  # type: ignore[no-untyped-def]
    before = json.loads(world("brand", "lounge", "--json").stdout)
    holder = before["users"][0]["user_id"]  # the one lounge pass; the other traveller is left out for it
    assert before["assigned"] == 1 and [w["reason"] for w in before["left_out"]] == [
        "quantity: all 1 went to users it fits better"]
    assert world("forget", holder).exit_code == 0
    engine = open_engine(world.db)
    with session(engine) as s:  # before: the unit was gone with their row, and the brand read "0 of 1 used" beside
        # the other left out because "all 1 went to users it fits better"
        assert [forgotten_units(s, run, "lounge") for run in (2, 4)] == [1, 1]
        assert forgotten_units(s, 4, "beans") == 0 and forgotten_units(s, 99, "lounge") == 0
    with engine.connect() as conn:
        stats = [json.loads(row[0]) for row in conn.execute(text("SELECT stats FROM runs WHERE kind = 'match'"))]
    assert stats[0]["forgotten_units"]["lounge"] == 1 and holder not in json.dumps(stats)
    engine.dispose()
    after = json.loads(world("brand", "lounge", "--json").stdout)  # the brand is told the unit went, not to whom
    assert (after["assigned"], after["forgotten_units"], after["users"]) == (1, 1, [])
    assert "1 of 1 used" in world("brand", "lounge").stdout and "1 to users deleted since (forgotten" in world(
        "brand", "lounge").stdout
    brand = json.loads(world("brand", "lounge", "--json").stdout)["brand"]
    out = world.tmp / "brand.html"
    assert world("report", "brand", brand, "--out", str(out)).exit_code == 0
    # before: "Nobody ...: no profiled user fits"
    assert "1 unit went to a user whose data was deleted since" in out.read_text()


def test_forget_leaves_nothing_of_the_user_in_any_run_and_makes_a_copiers_posts_their_own(world) -> None:  # type: ignore[no-untyped-def]
    assert world("forget", "ann").exit_code == 0
    engine = open_engine(world.db)
    with engine.connect() as conn:
        tables = [row[0] for row in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))]
        for table in tables:  # every table, every run: no row names her; her words are left only in bob's copies
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                cells = [str(v) for v in row if isinstance(v, str)]
                assert not any(c == "ann" or c.startswith("ann-") for c in cells), (table, row)
                assert not any(SECRET in c for c in cells) or table == "posts" and "bob" in cells, (table, row)
    engine.dispose()
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    changes = world("topics", "bob", "--changes")
    assert "copy another user's earlier post word for word (they count as reshares) 1 -> 0" in \
        " ".join(changes.stdout.split())  # her posts are gone: his copies count as his own again
    for args in (("export", "bob"), ("topics", "--all", "--json"), ("match", "--json"), ("brand", "lounge", "--json")):
        shown = world(*args)
        assert shown.exit_code == 0 and '"ann' not in shown.stdout and "ann-" not in shown.stdout, args
    assert "no user 'ann' is stored" in world("export", "ann").output  # forgotten; not opted out, so not blocked


def test_an_opt_out_row_with_another_bad_field_still_opts_the_user_out(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    from matcher.forget import opted_out
    from matcher.ingest import ingest_posts, ingest_users
    from matcher.store import Post, User

    engine = open_engine(str(tmp_path / "o.db"))
    ingest_users(engine, write("u.jsonl", [{"user_id": "ann", "consent": "opted_in", "region": "US"}]))
    ingest_posts(engine, write("p.jsonl", [{"post_id": "a1", "user_id": "ann", "text": "hello there friends",
                                             "created_at": 1_735_732_800}]))
    leaving = [{"user_id": "ann", "consent": "opted_out", "region": "not a region!!"}]
    report = ingest_users(engine, write("u2.jsonl", leaving), skip_invalid=True)
    # before: the row went to the reject file whole, and ann stayed opted in, profiled and exported
    assert report.users_forgotten == 1 and report.rejected == 1
    with session(engine) as s:
        assert s.get(User, "ann") is None and not s.exec(select(Post)).all() and opted_out(s, "ann")
    engine.dispose()


def test_a_forgotten_users_words_never_come_back_as_anothers_context(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    from matcher.forget import forget
    from matcher.ingest import ingest_posts, ingest_users
    from matcher.store import Post

    engine = open_engine(str(tmp_path / "c.db"))
    ingest_users(engine, write("u.jsonl", [{"user_id": u, "consent": "opted_in"} for u in ("ann", "bob")]))
    quoted = f"my {SECRET} trip down the river"  # ann's post; bob's reply quotes it as its parent
    ingest_posts(engine, write("a.jsonl", [post("a1", "ann", quoted, 1)]))
    bobs = write("b.jsonl", [post("b1", "bob", "agreed, rivers are great", 2, context=quoted),
                             post("b2", "bob", "other thread", 3, context="Shared thread")])
    ingest_posts(engine, bobs)
    forget(engine, "ann")
    again = ingest_posts(engine, bobs)  # bob's old export, ingested again
    with session(engine) as s:
        contexts = {p.post_id: p.context for p in s.exec(select(Post)).all()}
    # before: "updated 1", and ann's words were back as b1's context
    assert contexts == {"b1": None, "b2": "Shared thread"} and (again.updated, again.unchanged) == (0, 2)
    with engine.connect() as conn:  # kept by salted hash only
        assert SECRET not in json.dumps([list(r) for r in conn.execute(text("SELECT * FROM forgotten_texts"))])
    engine.dispose()
