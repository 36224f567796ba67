"""`forget` and `forget --post` delete the vectors of the posts they delete that no other post uses, but keep those
whose text is also a text no one wrote: a topic's view or related word, a perk's text. Before, a post "Travel" took
the topic Travel's vector with it, and the next `profile` (or `match`) embedded it again."""

import json
import sqlite3

import pytest

from catalog.refresh import text_key
from tests.test_cli_match import PERKS, build_world, posts_for

PERK_TEXT = "Sky: Lounge pass. airport lounge flights travel"  # the lounge perk's text (``PerkIn.embed_text``)
PRIVATE = "my grandmother's recipe for plum dumplings"


def vector_keys(db: str) -> set[str]:
    with sqlite3.connect(db) as con:
        return {key for key, in con.execute("SELECT text_key FROM embeddings")}


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """Bob writes about travel; Ann posts a topic's name, a perk's text, a related word chosen for a topic and words
    of her own."""
    users = [{"user_id": "ann", "consent": "opted_in"}, {"user_id": "bob", "consent": "opted_in"}]
    ann = [{"post_id": f"a{i}", "user_id": "ann", "text": text, "created_at": 1_735_732_800 + i * 86_400}
           for i, text in enumerate(["Travel", PERK_TEXT, "espresso", PRIVATE, "Coffee"])]
    invoke = build_world(tmp_path, write, monkeypatch, users, posts_for("bob", "travel trips flights airport") + ann,
                         "2025-03-01")
    with sqlite3.connect(invoke.db) as con:  # a related word chosen for a topic (the fake encoder has no vocabulary)
        con.execute("INSERT INTO settings (key, value) VALUES ('related_words:test', ?)",
                    (json.dumps([["espresso"], [], []]),))
    return invoke


def test_forget_keeps_the_vectors_of_topic_and_perk_texts_and_deletes_the_rest(world) -> None:  # type: ignore[no-untyped-def]
    assert PERK_TEXT == f"{PERKS[0]['brand']}: {PERKS[0]['title']}. {PERKS[0]['description']}"
    public = {text_key(t) for t in ("Travel", PERK_TEXT, "espresso", "Coffee")}
    assert public | {text_key(PRIVATE)} <= vector_keys(world.db)
    result = world("forget", "ann", "--json")
    assert result.exit_code == 0, result.output
    deleted = json.loads(result.stdout)["deleted"]
    assert deleted["posts"] == 5 and deleted["users"] == 1
    assert deleted["embeddings"] == 1  # her own words' vector, the one vector deleted (before: 5)
    kept = vector_keys(world.db)
    assert public <= kept and text_key(PRIVATE) not in kept
    with sqlite3.connect(world.db) as con:  # her posts, their texts and her record go all the same
        assert con.execute("SELECT COUNT(*) FROM posts WHERE user_id = 'ann' OR text IN ('Travel', ?, ?)",
                           (PERK_TEXT, PRIVATE)).fetchone() == (0,)
        assert con.execute("SELECT COUNT(*) FROM users WHERE user_id = 'ann'").fetchone() == (0,)
        audit = json.loads(con.execute("SELECT counts FROM forget_audit").fetchone()[0])
    assert audit["embeddings"] == 1  # the audit line counts what was deleted, as the command says
    profile = world("profile", "--as-of", "2025-03-01", "--json")
    assert profile.exit_code == 0, profile.output
    runs = json.loads(world("status", "--json", "--runs", "1").stdout)["runs"]
    assert runs[0]["stats"]["embedded"] == 0  # before: 2 (Travel's and Coffee's views, embedded again)
    assert world("match").exit_code == 0
    assert vector_keys(world.db) == kept  # nor does `match` embed the perk's text again


def test_forget_post_keeps_a_topic_texts_vector_and_says_it_deleted_none(world) -> None:  # type: ignore[no-untyped-def]
    result = world("forget", "ann", "--post", "a4")  # "Coffee": the topic Coffee's name
    assert result.exit_code == 0, result.output
    assert "deleted 1 post(s) of ann: posts 1, quoted_contexts 0, embeddings 0," in result.stdout  # before: 1
    assert text_key("Coffee") in vector_keys(world.db)
    gone = world("forget", "ann", "--post", "a3", "--json")  # her own words: their vector goes
    assert json.loads(gone.stdout)["deleted"]["embeddings"] == 1 and text_key(PRIVATE) not in vector_keys(world.db)


def test_a_users_file_opting_out_several_users_keeps_the_public_vectors_of_each(world, write) -> None:  # type: ignore[no-untyped-def]
    # one transaction forgets both (the topic texts' keys are read once in it): each keeps the public vectors
    bob = {text_key(p["text"]) for p in posts_for("bob", "travel trips flights airport")}
    out = [{"user_id": "bob", "consent": "opted_out"}, {"user_id": "ann", "consent": "opted_out"}]
    assert world("ingest", "--users", write("out.jsonl", out)).exit_code == 0
    kept = vector_keys(world.db)
    assert {text_key(t) for t in ("Travel", PERK_TEXT, "espresso", "Coffee")} <= kept
    assert not kept & (bob | {text_key(PRIVATE)})  # their own words' vectors went
    with sqlite3.connect(world.db) as con:
        assert con.execute("SELECT COUNT(*) FROM posts").fetchone() == (0,)
