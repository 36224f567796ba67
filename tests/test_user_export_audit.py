"""Audit of `perkmatch export USER` (``matcher.user_export``): order, evidence and pool, and what each part keeps
(fake encoder, the tiny world of ``test_cli_match``)."""

import json
import re

import pytest

from tests.test_cli_match import PERKS, TAXONOMY, WORDS, build_world, four_users, posts_for


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    return four_users(tmp_path, write, monkeypatch)


def export(world, user: str) -> dict:  # type: ignore[no-untyped-def]
    result = world("export", user)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_posts_are_exported_oldest_first_whatever_order_they_were_stored_in(world, write) -> None:  # type: ignore[no-untyped-def]
    late = [{"post_id": "dan-late", "user_id": "dan", "text": "late", "created_at": 1_740_000_000},
            {"post_id": "dan-early", "user_id": "dan", "text": "early", "created_at": 1_700_000_000}]
    assert world("ingest", write("dan.jsonl", late)).exit_code == 0
    assert [p["post_id"] for p in export(world, "dan")["posts"]] == ["dan-early", "dan-late"]


def test_a_topic_with_no_more_evidence_than_it_shows_has_no_pool(world) -> None:  # type: ignore[no-untyped-def]
    topics = export(world, "bob")["topics"]
    assert [t["topic_id"] for t in topics if t["status"] == "inferred"] == ["travel"]
    assert 0 < len(topics[0]["evidence"]) <= 5 and "evidence_pool" not in topics[0]


def test_an_earlier_runs_evidence_is_in_the_order_the_run_ranked_it(world) -> None:  # type: ignore[no-untyped-def]
    assert world("profile", "--as-of", "2025-03-02").exit_code == 0  # the same posts: the same evidence, in order
    doc = export(world, "bob")
    latest = [e["post_id"] for e in doc["topics"][0]["evidence"]]
    earlier = doc["earlier_profile_runs"][0]["topics"][0]
    assert len(latest) > 2 and [e["post_id"] for e in earlier["evidence"]] == latest
    assert earlier["evidence"] == [{"post_id": p, "platform": "unknown"} for p in latest]


def test_the_pool_follows_the_shown_evidence_in_rank_order(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    users = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY"}]
    posts = [{"post_id": f"ann-{i}", "user_id": "ann", "text": f"{'flights airport lounge travel'} {WORDS[i]} "
              f"{WORDS[(i * 7 + 3) % 15]} {i}", "created_at": 1_735_732_800 + i * 2 * 86_400, "likes": 3 + i % 4,
              "replies": 1} for i in range(14)]
    world = build_world(tmp_path, write, monkeypatch, users, posts, "2025-03-01", perks=PERKS, taxonomy=TAXONOMY,
                        then=(["profile", "--as-of", "2025-03-02"],))
    doc = export(world, "ann")
    topic = doc["topics"][0]
    assert len(topic["evidence"]) == 5 and topic.get("evidence_pool")  # more kept than shown
    shown = [e["post_id"] for e in topic["evidence"]]
    pool = [e["post_id"] for e in topic["evidence_pool"]]
    assert not set(shown) & set(pool) and all(e.keys() == {"post_id", "platform"} for e in topic["evidence_pool"])
    earlier = doc["earlier_profile_runs"][0]["topics"][0]  # the run before: the same posts, so the same rows
    assert [e["post_id"] for e in earlier["evidence"]] == shown
    assert [e["post_id"] for e in earlier["evidence_pool"]] == pool


def test_an_earlier_runs_topics_are_in_rank_order(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    users = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY"}]
    posts = posts_for("ann", "flights airport lounge travel", 8) + [
        p | {"post_id": p["post_id"] + "c"} for p in posts_for("ann", "coffee espresso beans roast", 5)]
    world = build_world(tmp_path, write, monkeypatch, users, posts, "2025-03-01",
                        then=(["profile", "--as-of", "2025-03-02"],))
    doc = export(world, "ann")
    earlier = doc["earlier_profile_runs"][0]["topics"]
    assert len(earlier) >= 2 and [t["rank"] for t in earlier] == sorted(t["rank"] for t in earlier)
    assert [t["topic_id"] for t in earlier] == [t["topic_id"] for t in doc["topics"]]


def test_a_post_deletion_is_exported_with_its_time_to_the_second(world) -> None:  # type: ignore[no-untyped-def]
    assert world("forget", "bob", "--post", "bob-1").exit_code == 0
    deletions = export(world, "bob")["post_deletions"]
    assert len(deletions) == 1 and deletions[0]["posts"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", deletions[0]["deleted_at"])


def test_assignments_are_exported_in_rank_order_and_earlier_runs_oldest_first(world) -> None:  # type: ignore[no-untyped-def]
    for args in (["match"], ["profile", "--as-of", "2025-03-02"], ["profile", "--as-of", "2025-03-03"]):
        assert world(*args).exit_code == 0
    doc = export(world, "ann")
    assert [(a["match_run"], a["rank"]) for a in doc["assignments"]] == [(2, 1), (2, 2)]
    assert [r["run_id"] for r in doc["earlier_profile_runs"]] == [1, 3]
