"""Forgetting a user and the contexts of other users' posts: what quotes their words goes, what quotes words another
user still posts (a copy of theirs, a common phrase) stays."""

from sqlalchemy import text

from matcher.forget import forget
from matcher.ingest import ingest_posts, ingest_users
from matcher.profile_run import run_profile
from tests.conftest import post

HOTEL = "The boutique hotel in Athens has a record player in every room"
LINK = "https://www.instagram.com/ann_smith_private/"


def contexts(engine) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT post_id, context FROM posts")).all())  # type: ignore[arg-type]


def setup(engine, write, fake_cache, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("u.jsonl", [{"user_id": u, "consent": "opted_in"} for u in ("ann", "bob", "cat")]))
    ingest_posts(engine, write("p.jsonl", rows))
    run_profile(engine, fake_cache, as_of=1_740_000_000)


def test_forget_removes_a_links_only_post_quoted_as_another_posts_context(engine, write, fake_cache) -> None:  # type: ignore[no-untyped-def]
    setup(engine, write, fake_cache, [post("a1", "ann", LINK, 1), post("a2", "ann", "kayaks on the lake", 2),
                                      post("c1", "cat", "nice profile pic", 3, context=LINK)])
    counts = forget(engine, "ann")
    # before: a text that is links only has no key (nothing is left to embed), so cat's reply kept ann's link
    assert counts["quoted_contexts"] == 1 and contexts(engine) == {"c1": None}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM posts WHERE context LIKE '%ann_smith%'")).scalar() == 0


def test_forget_keeps_a_context_quoting_words_another_user_still_posts(engine, write, fake_cache) -> None:  # type: ignore[no-untyped-def]
    setup(engine, write, fake_cache, [
        post("a1", "ann", HOTEL, 1), post("a2", "ann", "my unmistakable sentence about kayaks", 2),
        post("b1", "bob", HOTEL, 3),  # bob copies ann's post word for word (a reshare, ``post_signals.copies``)
        post("c1", "cat", "I want to stay there", 4, context=HOTEL),  # quotes bob's post, or ann's: the same words
        post("c2", "cat", "agreed, kayaks are great", 5, context="my unmistakable sentence about kayaks")])
    counts = forget(engine, "ann")
    # before: cat's reply lost its context too, though the words are still bob's post (nothing of ann's is left in it)
    assert counts["quoted_contexts"] == 1 and contexts(engine) == {"b1": None, "c1": HOTEL, "c2": None}
    with engine.connect() as conn:  # the quoted words' vector is still used, by bob's post and cat's context
        assert conn.execute(text("SELECT COUNT(*) FROM posts p JOIN embeddings e ON e.text_key = p.context_key "
                                 "WHERE p.post_id = 'c1'")).scalar() == 1
    assert forget(engine, "bob")["quoted_contexts"] == 1 and contexts(engine) == {"c1": None, "c2": None}


def test_match_out_format_is_read_in_any_case(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from matcher.export import assignment_format, write_assignments

    assert assignment_format(str(tmp_path / "a.txt"), "CSV") == "csv"  # before: "--format CSV: use csv or jsonl"
    write_assignments([], str(tmp_path / "b.txt"), "JSONL")
    assert (tmp_path / "b.txt").read_text() == ""
