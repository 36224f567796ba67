"""Consent and forgetting: opt-out forgets and blocks, forget removes every row, export round-trips."""

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from catalog.refresh import text_key
from matcher import topic_fit
from matcher.cli import app, common
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.forget import forget
from matcher.ingest import ingest_posts, ingest_users
from matcher.profile_run import run_profile
from matcher.records import embed_form
from matcher.store import Embedding, open_engine, session
from matcher.user_export import export_user
from tests.conftest import post

runner = CliRunner()
USERS = [{"user_id": "ann", "consent": "opted_in", "region": "GB", "sensitive_opt_in": "health"},
         {"user_id": "bob", "consent": "opted_in"}]


def setup(engine, write, fake_cache) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("u.jsonl", USERS))
    rows = [post(f"a{i}", "ann", f"my unmistakable sentence number {i} about kayaks", i, context="Shared thread")
            for i in range(4)] + [post("b1", "bob", "hello there", 1, context="Shared thread")]
    ingest_posts(engine, write("p.jsonl", rows))
    run_profile(engine, fake_cache, as_of=1_740_000_000)


def count(engine, sql: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def test_forget_removes_rows_and_unshared_embeddings_only(engine, write, fake_cache) -> None:  # type: ignore[no-untyped-def]
    setup(engine, write, fake_cache)
    embeddings_before = count(engine, "SELECT COUNT(*) FROM embeddings")
    assert forget(engine, "never-ingested")["topic_fits"] == 0  # an opt-out before any post: in no fit, none goes
    assert count(engine, "SELECT COUNT(*) FROM topic_vectors") > 0
    counts = forget(engine, "ann")
    assert counts["posts"] == 4 and counts["users"] == 1 and counts["embeddings"] == 4
    for table in ("users", "posts", "topic_scores", "evidence", "assignments", "withheld"):
        assert count(engine, f"SELECT COUNT(*) FROM {table} WHERE user_id = 'ann'") == 0
    assert count(engine, "SELECT COUNT(*) FROM embeddings") == embeddings_before - 4  # the shared thread stays
    # the kept topic fit (a mean over posts, hers among them) went too, and the next run fits again without her
    assert counts["topic_fits"] == 1 and count(engine, "SELECT COUNT(*) FROM topic_vectors") == 0
    again = run_profile(engine, fake_cache, as_of=1_740_000_000)
    assert again.topic_vectors_run == again.run_id and count(engine, "SELECT COUNT(*) FROM topic_vectors") > 0
    audits = engine.connect().execute(text("SELECT user_hash, counts FROM forget_audit")).all()
    assert sorted(json.loads(c)["posts"] for _, c in audits) == [0, 4]
    assert all(raw not in ("ann", "never-ingested") and len(raw) == 64 for raw, _ in audits)


def test_forget_removes_the_users_words_quoted_as_other_posts_context(engine, write, fake_cache) -> None:  # type: ignore[no-untyped-def]
    setup(engine, write, fake_cache)
    quoted = "my unmistakable sentence number 2 about kayaks"  # ann's post a2, bob's reply quotes it as its parent
    ingest_posts(engine, write("r.jsonl", [post("b2", "bob", "agreed, kayaks are great", 2, context=quoted),
                                           post("b3", "bob", "other thread", 3, context="Shared thread")]))
    run_profile(engine, fake_cache, as_of=1_740_000_000)
    counts = forget(engine, "ann")
    assert counts["quoted_contexts"] == 1 and counts["embeddings"] == 4  # the quote's vector went with her post's
    assert count(engine, "SELECT COUNT(*) FROM posts WHERE context LIKE '%unmistakable%'") == 0
    assert count(engine, "SELECT COUNT(*) FROM posts WHERE post_id = 'b2' AND text = 'agreed, kayaks are great' "
                         "AND context IS NULL AND context_key IS NULL") == 1  # bob keeps his own words
    assert count(engine, "SELECT COUNT(*) FROM posts WHERE post_id = 'b3' AND context = 'Shared thread'") == 1
    run_profile(engine, fake_cache, as_of=1_740_000_000)
    assert "unmistakable" not in json.dumps(export_user(engine, "bob"))  # nor in what is shown about bob


def test_forgetting_one_post_deletes_it_and_its_traces_and_an_export_holding_it_stores_it_no_more(
        engine, write, fake_cache, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    setup(engine, write, fake_cache)
    with engine.connect() as conn:  # one of ann's posts that is evidence, quoted by bob's reply
        target, quoted = conn.execute(text("SELECT posts.post_id, posts.text FROM evidence JOIN posts ON posts.id = "
                                           "evidence.post_pk WHERE posts.user_id = 'ann' ORDER BY 1")).first()
    ingest_posts(engine, write("r.jsonl", [post("b2", "bob", "agreed, kayaks are great", 2, context=quoted)]))
    run_profile(engine, fake_cache, as_of=1_740_000_000)
    cited = count(engine, "SELECT COUNT(*) FROM evidence JOIN posts ON posts.id = evidence.post_pk "
                          f"WHERE posts.post_id = '{target}'")
    assert cited > 0
    monkeypatch.setattr(common, "cache", lambda eng, model: fake_cache)
    db = engine.url.database
    missing = runner.invoke(app, ["--db", db, "forget", "ann", "--post", target, "--post", "a9"])
    assert missing.exit_code == 1 and "ann has no stored post a9" in missing.stderr  # nothing deleted then
    assert count(engine, f"SELECT COUNT(*) FROM posts WHERE post_id = '{target}'") == 1
    with engine.connect() as conn:
        deletions = topic_fit.forgets_done(conn)
    result = runner.invoke(app, ["--db", db, "forget", "ann", "--post", target, "--json"])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:  # a profile run embedding meanwhile drops what it stored of it, as for a user
        assert topic_fit.forgets_done(conn) > deletions
    deleted = json.loads(result.stdout)["deleted"]
    assert (deleted["posts"], deleted["quoted_contexts"], deleted["evidence"]) == (1, 1, cited)
    assert deleted["topic_fits"] >= 1 and count(engine, "SELECT COUNT(*) FROM topic_vectors") == 0  # a mean over it
    assert count(engine, f"SELECT COUNT(*) FROM posts WHERE post_id = '{target}' OR context = '{quoted}'") == 0
    assert count(engine, "SELECT COUNT(*) FROM posts WHERE user_id = 'ann'") == 3  # her other posts, and she, stay
    assert count(engine, "SELECT COUNT(*) FROM users WHERE user_id = 'ann'") == 1
    # by salted hashes only: of (platform, post id), and of each name ann may give it again (`forget_posts`)
    assert count(engine, "SELECT COUNT(*) FROM forgotten_posts") == 3
    assert count(engine, "SELECT COUNT(*) FROM forget_audit") == 0  # she was not forgotten
    again = ingest_posts(engine, write("p2.jsonl", [post(f"a{i}", "ann", f"my unmistakable sentence number {i} about "
                                                              "kayaks", i, context="Shared thread") for i in range(4)]))
    assert (again.skipped_deleted, again.added) == (1, 0)  # an export still holding it does not bring it back
    assert count(engine, f"SELECT COUNT(*) FROM posts WHERE post_id = '{target}'") == 0
    assert quoted not in json.dumps(export_user(engine, "ann")) + json.dumps(export_user(engine, "bob"))


def test_forget_removes_the_title_of_the_users_question_from_its_answers(engine, write, fake_cache) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("u.jsonl", USERS))
    question = "What is a citra hop, and how does it differ from other hops?"
    rows = [post("q1", "ann", f"{question}\n\nI keep seeing it on IPA labels.", 1),  # a Stack Exchange question
            post("a1", "bob", "A hop variety with citrus notes.", 2, context=question),  # its answer: the title only
            post("a2", "bob", "Try a single-hop beer.", 3, context=question)]
    ingest_posts(engine, write("se.jsonl", rows))
    run_profile(engine, fake_cache, as_of=1_740_000_000)
    counts = forget(engine, "ann")
    assert counts["quoted_contexts"] == 2  # before: 0, her title stayed on bob's answers
    assert count(engine, "SELECT COUNT(*) FROM posts WHERE context LIKE '%citra%'") == 0
    assert count(engine, "SELECT COUNT(*) FROM posts WHERE user_id = 'bob'") == 2  # bob keeps his answers
    with session(engine) as s:
        assert s.get(Embedding, (fake_cache.name, text_key(embed_form(question)))) is None  # the title's vector too


def test_opting_out_forgets_and_blocks_future_posts(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, FakeEncoder()))
    db = str(tmp_path / "c.db")
    posts = write("p.jsonl", [post("a1", "ann", "kayaks", 1)])
    assert runner.invoke(app, ["--db", db, "ingest", posts, "--users", write("u.jsonl", USERS)]).exit_code == 0
    result = runner.invoke(app, ["--db", db, "consent", "ann", "opted_out"])
    assert result.exit_code == 0 and "opted out and was forgotten" in result.stdout
    again = runner.invoke(app, ["--db", db, "ingest", posts, "--consent-policy", "opt-out", "--json"])
    assert json.loads(again.stdout.splitlines()[-1])["skipped_no_consent"] == 1
    # under the default policy too, the fix offered is the one that works (before: "give a users file with consent:
    # opted_in", which does not bring an opted-out user back)
    said = " ".join(runner.invoke(app, ["--db", db, "ingest", posts]).stderr.split())
    assert "1 post(s) not stored: their authors opted out (a users file does not bring them back; only `perkmatch " \
        "consent USER opted_in` does)" in said and "have not opted in" not in said
    engine = open_engine(db)
    assert count(engine, "SELECT COUNT(*) FROM posts") == 0
    assert count(engine, "SELECT COUNT(*) FROM opt_outs") == 1
    back = runner.invoke(app, ["--db", db, "consent", "ann", "opted_in"])  # she was forgotten: her opt-out is lifted
    assert back.exit_code == 0 and "ann had opted out (nothing about them was kept); that is lifted" in \
        " ".join(back.stderr.split())  # before: "nothing was stored about ann before ... check the id"
    # before: "their posts will be profiled from the next `perkmatch profile`", though none is stored
    assert "no post of theirs is stored; ingest their posts" in " ".join(back.stdout.split())
    other = runner.invoke(app, ["--db", db, "consent", "bo", "opted_in"])  # a mistyped id: said so
    assert "nothing was stored about bo before: a new user was recorded" in " ".join(other.stderr.split())
    assert json.loads(runner.invoke(app, ["--db", db, "ingest", posts, "--json"]).stdout)["added"] == 1
    again = runner.invoke(app, ["--db", db, "consent", "ann", "opted_in"])  # known now: no note
    assert again.exit_code == 0 and "new user" not in again.stderr
    assert again.stdout == "ann had opted in already: nothing changed\n"  # before: "will be profiled from the next"
    cy = tmp_path / "cy.jsonl"  # stored without consent (an opt-out policy ingest), then opting in
    cy.write_text(json.dumps({"post_id": "c1", "user_id": "cy", "text": "hi", "created_at": "2025-01-01"}) + "\n")
    assert runner.invoke(app, ["--db", db, "ingest", str(cy), "--consent-policy", "opt-out"]).exit_code == 0
    joined = runner.invoke(app, ["--db", db, "consent", "cy", "opted_in"])
    assert "cy opted in: their posts will be profiled from the next" in " ".join(joined.stdout.split())


def test_users_file_opt_out_forgets_existing_user(engine, write, fake_cache) -> None:  # type: ignore[no-untyped-def]
    setup(engine, write, fake_cache)
    report = ingest_users(engine, write("u2.jsonl", [{"user_id": "ann", "consent": "opted_out"}]))
    assert report.users_forgotten == 1
    assert count(engine, "SELECT COUNT(*) FROM posts WHERE user_id = 'ann'") == 0


def test_export_round_trips_into_a_new_database(engine, write, fake_cache, tmp_path) -> None:  # type: ignore[no-untyped-def]
    setup(engine, write, fake_cache)
    doc = export_user(engine, "ann")
    assert doc["user"]["sensitive_opt_in"] == ["health"] and len(doc["posts"]) == 4
    json.dumps(doc)  # a plain JSON document
    other = open_engine(str(tmp_path / "other.db"))
    ingest_users(other, write("u3.jsonl", [doc["user"] | {"sensitive_opt_in": doc["user"]["sensitive_opt_in"]}]))
    report = ingest_posts(other, write("p3.jsonl", [p | {"user_id": "ann"} for p in doc["posts"]]))
    assert report.added == 4
    again = export_user(other, "ann")
    assert [p["text"] for p in again["posts"]] == [p["text"] for p in doc["posts"]]
    assert again["user"] == doc["user"]


def test_an_opted_out_user_stays_out_whatever_a_later_users_file_says(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from matcher.ingest import ingest
    from matcher.store import Post, User, session

    engine = open_engine(str(tmp_path / "p.db"))

    def write(name: str, rows: list[dict]) -> str:
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return str(path)

    posts = write("posts.jsonl", [{"post_id": f"z{i}", "user_id": "zed", "text": "trip", "created_at": 1_700_000_000}
                                  for i in range(3)])
    ingest(engine, posts, write("u.jsonl", [{"user_id": "zed", "consent": "opted_in"}]))
    forget(engine, "zed", opt_out=True)
    for rows in ([{"user_id": "zed", "handle": "z"}], [{"user_id": "zed", "consent": "opted_in"}]):  # no consent;
        reports = ingest(engine, posts, write("again.jsonl", rows), policy="opt-out")  # an old file saying opted_in
        assert reports[0].users_kept_out == 1 and reports[1].skipped_no_consent == 3
    with session(engine) as s:
        assert s.exec(select(User)).all() == [] and s.exec(select(Post)).all() == []


def test_the_forget_lock_on_sqlite_is_the_writer_lock_taken_at_once(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from matcher.locks import hold_forget_lock

    other = sqlite3.connect(str(tmp_path / "test.db"), timeout=0.1)
    with engine.begin() as conn:
        hold_forget_lock(conn)  # before: nothing until the first write, so a forget or a fit that read first and
        # wrote later failed ("database is locked") when another writer committed in between
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("INSERT INTO settings (key, value) VALUES ('x', 'y')")
    other.execute("INSERT INTO settings (key, value) VALUES ('x', 'y')")  # free again once it commits
    other.commit()
    other.close()


def test_an_opt_out_for_a_mistyped_database_or_id_says_what_happened(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    typo = str(tmp_path / "typo.db")
    result = runner.invoke(app, ["--db", typo, "consent", "ann", "opted_out"])  # before: a new database, "forgotten"
    assert result.exit_code == 1 and "there is no database there" in result.output and not Path(typo).exists()
    db = str(tmp_path / "c.db")
    assert runner.invoke(app, ["--db", db, "ingest", "--users", write("u.jsonl", USERS)]).exit_code == 0
    unknown = runner.invoke(app, ["--db", db, "consent", "an", "opted_out"])
    assert unknown.exit_code == 0 and "nothing was stored about them; the opt-out is recorded" in \
        " ".join(unknown.stdout.split()) and "was forgotten" not in unknown.stdout


def test_export_of_a_user_who_opted_out_says_what_is_kept(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "c.db")
    assert runner.invoke(app, ["--db", db, "ingest", "--users", write("u.jsonl", USERS)]).exit_code == 0
    assert runner.invoke(app, ["--db", db, "consent", "ann", "opted_out"]).exit_code == 0
    asked = runner.invoke(app, ["--db", db, "export", "ann"])  # a right-of-access request after the opt-out
    assert asked.exit_code == 1 and "they opted out and were forgotten; only a salted hash of their id is kept" in \
        " ".join(asked.output.split())  # before: "no user 'ann' is stored; check the id"
    other = runner.invoke(app, ["--db", db, "export", "zed"])
    assert other.exit_code == 1 and "no user 'zed' is stored; check the id" in " ".join(other.output.split())


def test_a_forgotten_user_stored_again_by_a_users_file_is_noted(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # forget deletes; a routine ingest of the same users file then stores them again: before, without a word
    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, FakeEncoder()))
    db = str(tmp_path / "f.db")
    users = write("u.jsonl", USERS)
    assert runner.invoke(app, ["--db", db, "ingest", "--users", users]).exit_code == 0
    assert runner.invoke(app, ["--db", db, "forget", "ann"]).exit_code == 0
    again = runner.invoke(app, ["--db", db, "ingest", "--users", users, "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["users_returned"] == 1
    said = runner.invoke(app, ["--db", db, "ingest", "--users", write("u2.jsonl", [USERS[1] | {"region": "GB"}])])
    assert "forgotten earlier" not in said.stderr  # bob was never forgotten
    assert runner.invoke(app, ["--db", db, "forget", "ann"]).exit_code == 0
    noted = runner.invoke(app, ["--db", db, "ingest", "--users", users])
    assert "Note: 1 user(s) added were forgotten earlier (`perkmatch forget`) and are stored again" in " ".join(
        noted.stderr.split())


def test_a_forgotten_users_posts_stored_again_under_opt_out_are_noted(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    # under opt-out, posts need no users record: before, a forgotten user's posts came back from the next routine
    # ingest of the same export without a word (a users file bringing them back was noted; a posts file was not)
    db = str(tmp_path / "o.db")
    rows = [post(f"c{i}", "cy", f"cy's words {i}", i) for i in range(3)] + [post("d1", "dee", "dee's words", 1)]
    posts = write("p.jsonl", rows)
    opt_out = ["--consent-policy", "opt-out"]
    assert runner.invoke(app, ["--db", db, "ingest", posts, *opt_out]).exit_code == 0
    assert runner.invoke(app, ["--db", db, "forget", "cy"]).exit_code == 0
    again = runner.invoke(app, ["--db", db, "ingest", posts, *opt_out, "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["users_returned"] == 1  # cy, not dee (never forgotten)
    assert json.loads(again.stdout)["added"] == 3
    assert "Note: 1 author(s) of posts stored were forgotten earlier (`perkmatch forget`) and are stored again" in \
        " ".join(again.stderr.split())
    quiet = runner.invoke(app, ["--db", db, "ingest", posts, *opt_out, "--json"])  # cy has posts now: not again
    assert json.loads(quiet.stdout)["users_returned"] == 0 and "forgotten earlier" not in quiet.stderr
    # a users file giving cy back in the same ingest: noted once, as a user added, not again as an author
    assert runner.invoke(app, ["--db", db, "forget", "cy"]).exit_code == 0
    both = runner.invoke(app, ["--db", db, "ingest", posts, "--users", write("u.jsonl", [{"user_id": "cy"}]),
                               *opt_out, "--json"])
    reports = [json.loads(line) for line in both.stdout.splitlines()]
    assert [r["users_returned"] for r in reports] == [1, 0] and reports[1]["added"] == 3
    # under opt-in, a forgotten user's posts are not stored at all: nothing comes back, nothing to note
    assert runner.invoke(app, ["--db", db, "forget", "cy"]).exit_code == 0
    opt_in = runner.invoke(app, ["--db", db, "ingest", posts, "--json"])
    assert json.loads(opt_in.stdout)["users_returned"] == 0 and json.loads(opt_in.stdout)["added"] == 0


def test_a_user_forgotten_and_given_again_without_consent_during_a_run_is_no_longer_eligible(engine, write) -> None:  # type: ignore[no-untyped-def]
    """A long run checks, as it writes, who is still eligible (``eligible_among``): one forgotten meanwhile and
    stored again by a users file that gives no consent has a record, but has not opted in."""
    from matcher.eligible import eligible_among

    ingest_users(engine, write("u.jsonl", USERS))
    ingest_posts(engine, write("p.jsonl", [post("a1", "ann", "kayaks", 1), post("b1", "bob", "hello", 1),
                                           post("c1", "cy", "cy's words", 1)]), policy="opt-out")
    forget(engine, "ann")
    ingest_users(engine, write("again.jsonl", [{"user_id": "ann", "region": "GB"}]))  # no consent given
    ingest_users(engine, write("out.jsonl", [{"user_id": "bob", "consent": "opted_out"}]))
    with engine.connect() as conn:
        assert eligible_among(conn, ["ann", "bob", "cy", "nobody"], "opt-in") == set()
        assert eligible_among(conn, ["ann", "bob", "cy", "nobody"], "opt-out") == {"cy"}  # ann: no post left
    ingest_posts(engine, write("p2.jsonl", [post("a2", "ann", "kayaks again", 2)]), policy="opt-out")
    ingest_users(engine, write("in.jsonl", [{"user_id": "cy", "consent": "opted_in"}]))
    with engine.connect() as conn:
        assert eligible_among(conn, ["ann", "bob", "cy"], "opt-in") == {"cy"}
        assert eligible_among(conn, ["ann", "bob", "cy"], "opt-out") == {"ann", "cy"}


def test_a_profile_run_reads_no_post_of_a_user_it_does_not_profile(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Before, every stored post was embedded, consent or not: an opt-in run read the words of people it did not
    profile (stored by an opt-out ingest or import), and with nobody opted in it said only "0 users"."""
    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, FakeEncoder()))
    db = str(tmp_path / "c.db")
    rows = [post(f"c{i}", "cy", f"cy's own words number {i}", i, context=f"cy thread {i}") for i in range(3)]
    assert runner.invoke(app, ["--db", db, "ingest", write("p.jsonl", rows), "--consent-policy", "opt-out"]
                         ).exit_code == 0
    first = runner.invoke(app, ["--db", db, "profile", "--json"])
    assert first.exit_code == 0 and json.loads(first.stdout)["users"] == 0
    assert "none of the 1 users with posts has opted in (their consent is unknown), and their posts were not " \
        "read" in " ".join(first.stderr.split()) and "--consent-policy opt-out" in first.stderr
    engine = open_engine(db)
    keys = [text_key(embed_form(r[k])) for r in rows for k in ("text", "context")]
    assert count(engine, "SELECT COUNT(*) FROM embeddings WHERE text_key IN ({})".format(
        ",".join(f"'{k}'" for k in keys))) == 0  # the run's own texts (the topics') only
    later = runner.invoke(app, ["--db", db, "profile", "--consent-policy", "opt-out", "--json"])
    assert json.loads(later.stdout)["users"] == 1 and json.loads(later.stdout)["embedded"] == 6
    assert "opted in" not in later.stderr


def test_a_post_deletion_is_kept_by_a_salted_hash_exported_to_its_user_and_goes_when_they_are_forgotten(  # type: ignore[no-untyped-def]
        engine, write, fake_cache) -> None:
    from matcher.forget import forget_posts

    setup(engine, write, fake_cache)
    forget_posts(engine, "ann", ["a1"])
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT user_hash, posts FROM post_deletions")).all()
    assert [n for _, n in kept] == [1] and all(h != "ann" and len(h) == 64 for h, _ in kept)  # never the raw id
    assert [d["posts"] for d in export_user(engine, "ann")["post_deletions"]] == [1]  # when, and how many
    assert export_user(engine, "bob")["post_deletions"] == []
    forget(engine, "ann")
    assert count(engine, "SELECT COUNT(*) FROM post_deletions") == 0  # the audit line says enough


def test_an_export_holds_every_field_the_users_file_gave(engine, write, fake_cache) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("u.jsonl", [dict(USERS[0], favourite="tea")]))
    assert export_user(engine, "ann")["user"]["favourite"] == "tea"


def test_a_mistyped_consent_state_changes_nothing(engine, write, fake_cache) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("u.jsonl", [{"user_id": "cy"}]))  # no consent recorded
    result = runner.invoke(app, ["--db", engine.url.database, "consent", "cy", "opted-in"])
    assert result.exit_code == 2 and "write opted_in or opted_out" in " ".join(result.output.split())
    assert count(engine, "SELECT COUNT(*) FROM users WHERE user_id = 'cy' AND consent IS NOT NULL") == 0


def test_withdrawing_an_opt_in_deletes_its_evidence_and_the_withheld_perks(engine, write, fake_cache) -> None:  # type: ignore[no-untyped-def]
    from matcher.forget import withdraw_opt_ins
    from matcher.store import EvidencePost, Withheld

    setup(engine, write, fake_cache)
    with session(engine) as s:  # a run's rows of hers on health (sensitive, opted in to) and on kayaks, and a match's
        s.add_all([EvidencePost(run_id=1, user_id="ann", topic_id=t, post_pk=1, rank=1, weight=1.0)
                   for t in ("health", "kayaks")])
        s.add(Withheld(run_id=1, user_id="ann", perk_id="p", score=1.0, reason="region: the perk is for US"))
        s.commit()
        withdraw_opt_ins(s, "ann", frozenset({"health"}))
        s.commit()
    assert count(engine, "SELECT COUNT(*) FROM evidence WHERE user_id = 'ann' AND topic_id = 'health'") == 0
    assert count(engine, "SELECT COUNT(*) FROM evidence WHERE user_id = 'ann' AND topic_id = 'kayaks'") == 1
    assert count(engine, "SELECT COUNT(*) FROM withheld WHERE user_id = 'ann'") == 0  # (they keep no topic)


def test_forget_says_what_it_deleted_and_refuses_an_unknown_user(cli, write) -> None:  # type: ignore[no-untyped-def]
    """`forget USER --post ID` says how many posts of whom went (--json: the post ids, each once, sorted);
    `forget USER` says whom it forgot; an id nobody has is an error (exit 1) naming it, not a silent success."""
    posts = write("p.jsonl", [post(f"a{i}", "ann", f"kayaks {i}", i) for i in range(3)])
    assert cli("ingest", posts, "--users", write("u.jsonl", USERS)).exit_code == 0
    unknown = cli("forget", "an")
    assert unknown.exit_code == 1 and "no user 'an' is stored" in unknown.stderr
    record = cli("forget", "ann", "--post", "a2", "--post", "a0", "--post", "a2", "--json")
    assert record.exit_code == 0, record.output
    said = json.loads(record.stdout)
    assert said["user_id"] == "ann" and said["post_ids"] == ["a0", "a2"] and said["deleted"]["posts"] == 2
    one = cli("forget", "ann", "--post", "a1")
    assert one.exit_code == 0 and one.stdout.startswith("deleted 1 post(s) of ann: posts 1, ")
    whole = cli("forget", "ann")
    assert whole.exit_code == 0 and whole.stdout.startswith("forgot ann: ")


def test_export_to_a_file_writes_it_whole_and_refuses_the_database_or_a_folder(cli, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`export --out FILE` writes the document, as written (not \\u escapes), to FILE and says so on stderr, leaving
    stdout empty; an --out that is the database or a folder is refused, naming --out, before anything is written."""
    assert cli("ingest", "--users", write("u.jsonl", [{"user_id": "ann", "consent": "opted_in",
                                                        "handle": "Zoë"}])).exit_code == 0
    before = Path(cli.db).read_bytes()
    refused = cli("export", "ann", "--out", cli.db)
    assert refused.exit_code == 1 and f"--out {cli.db}: that is the database (--db)" in " ".join(refused.stderr.split())
    assert Path(cli.db).read_bytes() == before
    folder = cli("export", "ann", "--out", str(tmp_path))
    assert folder.exit_code == 1 and f"--out {tmp_path}: is a folder; give the path of the JSON file to write" in \
        " ".join(folder.stderr.split())
    target = tmp_path / "ann.json"
    result = cli("export", "ann", "--out", str(target))
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == f"wrote {target}\n"
    assert '"handle": "Zoë"' in target.read_text(encoding="utf-8")
    assert json.loads(target.read_text(encoding="utf-8"))["user"]["user_id"] == "ann"
