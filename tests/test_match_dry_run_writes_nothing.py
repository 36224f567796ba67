"""`match --dry-run` leaves the database as it was, every table: a text it has to embed (a topic's reworded by a
`taxonomy load` since the profile run, or one whose vector an older `forget` deleted with a post of the same words) is
held in memory for the dry run, not stored. Before, that vector was written through the cache's own connection, outside
the transaction the dry run rolls back: the one write it kept, and on a file that cannot be written it failed. With
`--catalog FILE` it keeps the vectors of the file's perk texts, as documented, and nothing else."""

import sqlite3

import numpy as np
import pytest

from catalog.refresh import text_key
from matcher.embed import EmbeddingCache, HeldCache, held
from matcher.encoder import FakeEncoder
from tests.test_cli_match import PERKS, TAXONOMY, four_users


def dump(db: str) -> list[str]:
    """Every table's schema and rows, as SQL (``iterdump``)."""
    with sqlite3.connect(db) as con:
        return list(con.iterdump())


def drop_vector(db: str, text: str) -> None:
    with sqlite3.connect(db) as con:
        assert con.execute("DELETE FROM embeddings WHERE text_key = ?", (text_key(text),)).rowcount == 1


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    return four_users(tmp_path, write, monkeypatch)


def test_a_dry_run_that_embeds_a_topic_text_leaves_every_table_as_it_was(world) -> None:  # type: ignore[no-untyped-def]
    expected = world("match", "--dry-run", "--json")
    drop_vector(world.db, "Travel")  # the topic Travel's name: embedded again by the next match
    before = dump(world.db)
    result = world("match", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout == expected.stdout  # the vector held in memory is the one the cache would have stored
    assert dump(world.db) == before  # before: the embeddings table held Travel's vector again
    assert world("match", "--dry-run", "--changes").exit_code == 0 and dump(world.db) == before
    assert world("match").exit_code == 0  # a match that is kept stores it, as before
    assert text_key("Travel") in {key for key, in sqlite3.connect(world.db).execute("SELECT text_key FROM embeddings")}


def test_a_dry_run_after_a_topic_was_reworded_leaves_every_table_as_it_was(world, write) -> None:  # type: ignore[no-untyped-def]
    reworded = [TAXONOMY[0] | {"description": "flights airport lounge travel trips abroad"}, *TAXONOMY[1:]]
    assert world("taxonomy", "load", write("reworded.yaml", reworded)).exit_code == 0
    before = dump(world.db)
    result = world("match", "--dry-run")  # perks are placed among the topics as loaded now: Travel's new text
    assert result.exit_code == 0, result.output
    assert dump(world.db) == before  # before: its vector was stored


def test_a_dry_run_with_a_catalog_file_keeps_the_files_perk_vectors_only(world, write) -> None:  # type: ignore[no-untyped-def]
    new = {"perk_id": "maps", "brand": "Atlas", "title": "Maps", "description": "travel maps for trips abroad"}
    drop_vector(world.db, "Travel")
    before = dump(world.db)
    result = world("match", "--dry-run", "--catalog", write("next.yaml", [*PERKS, new]))
    assert result.exit_code == 0, result.output
    added = sorted(set(dump(world.db)) - set(before))
    assert len(added) == 1 and text_key("Atlas: Maps. travel maps for trips abroad") in added[0]
    assert set(before) <= set(dump(world.db))  # nothing else changed: no catalog version, no run, no topic vector


def test_a_dry_run_embedding_a_topic_text_runs_on_a_file_it_cannot_write(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, event

    import matcher.cli.matching as matching
    from matcher import store

    expected = world("match", "--dry-run", "--json").stdout
    drop_vector(world.db, "Travel")
    read_only = create_engine(f"sqlite:///file:{world.db}?mode=ro&uri=true")
    event.listen(read_only, "connect", store._sqlite_pragmas)
    monkeypatch.setattr(matching, "engine", lambda db, existing=False: read_only)
    result = world("match", "--dry-run", "--json")
    read_only.dispose()
    assert result.exit_code == 0, result.output  # before: 1, "attempt to write a readonly database"
    assert result.stdout == expected


def test_a_held_cache_gives_the_vectors_a_cache_stores_and_stores_none(engine) -> None:  # type: ignore[no-untyped-def]
    stored = EmbeddingCache(engine, FakeEncoder())
    stored.vectors(["coffee beans"])
    holding = held(stored)
    assert isinstance(holding, HeldCache) and held(holding) is holding
    vectors = holding.vectors(["coffee beans", "espresso roast", "espresso roast"])
    assert holding.encoded == 1 and holding.missing([text_key("espresso roast")]) == set()
    assert stored.missing([text_key("espresso roast")]) == {text_key("espresso roast")}  # not in the database
    np.testing.assert_array_equal(vectors, stored.vectors(["coffee beans", "espresso roast", "espresso roast"]))
    np.testing.assert_array_equal(holding.get([text_key("espresso roast")]), stored.get([text_key("espresso roast")]))
