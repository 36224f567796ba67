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
