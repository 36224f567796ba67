"""`topics USER --changes` (and `match --changes`) audited by mutation: each test here pins a behaviour a user reads in
what changed between two snapshots, and why, that no other test held (a small hand-written world, fake encoder).

The world is `test_explain_audit`'s: ann writes about travel on six days (2025-01-01 to 01-16); few wrote two coffee
posts in one morning (a candidate that falls short); par writes about air travel; sens about health (sensitive, no
opt-in). Profile run 1 is as of 2025-03-01.
"""

import json
import re

import pytest

from tests.test_cli_match import build_world, four_users, match_changes, rescore
from tests.test_explain_audit import PERKS, TAXONOMY, WORDS, post, posts_for


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    users = [{"user_id": u, "consent": "opted_in"} for u in ("ann", "few", "par", "sens")]
    posts = (posts_for("ann", "flights airport lounge travel")
             + [post("few-0", "few", "coffee espresso beans roast alpha", 0),
                post("few-1", "few", "coffee espresso brewing roast bravo", 0.2)]
             + posts_for("par", "airline plane cabin boarding") + posts_for("sens", "doctor therapy medicine"))
    return build_world(tmp_path, write, monkeypatch, users, posts, "2025-03-01", perks=PERKS, taxonomy=TAXONOMY)


def changes(world, user: str, *extra: str) -> dict:  # type: ignore[no-untyped-def]
    result = world("topics", user, "--changes", "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_topic(record: dict) -> dict[str, dict]:
    return {c["topic_id"]: c for c in record["changes"]}


def test_runs_a_day_apart_name_the_small_move_a_day_makes(world) -> None:  # type: ignore[no-untyped-def]
    """Daily runs: a day of recency moves a score by well under 0.01, and it is still a change, said in days."""
    assert world("profile", "--as-of", "2025-03-02").exit_code == 0
    travel = by_topic(changes(world, "ann"))["travel"]
    assert travel["change"] == "score" and travel["before"] != travel["after"]
    assert abs(travel["before"] - travel["after"]) < 0.01  # (so the test holds what it means to)
    assert travel["why"] == "time passing: 1 day(s) since the previous run lowers the recency weight"
    # (not "24 hour(s)": a whole day is said as one)


def test_a_run_as_of_an_earlier_day_says_how_much_earlier(world) -> None:  # type: ignore[no-untyped-def]
    assert world("profile", "--as-of", "2025-01-20").exit_code == 0  # 40 days before run 1's 2025-03-01
    why = by_topic(changes(world, "ann"))["travel"]["why"]
    assert why.startswith("this run is as of 40 day(s) before the previous one (--as-of): posts written after its "
                          "date are left out"), why
    assert "time passing" not in why


def test_the_first_runs_changes_list_only_inferred_topics(world) -> None:  # type: ignore[no-untyped-def]
    """A topic that fell short (few's coffee, a candidate) is no "new" topic of the first run."""
    listed = json.loads(world("topics", "few", "--candidates", "--json").stdout)["topics"]
    assert [(t["topic_id"], t["status"]) for t in listed] == [("coffee", "candidate")]
    record = changes(world, "few")
    assert record["previous_run_id"] is None and record["changes"] == []
    assert "no topics" in world("topics", "few", "--changes").stdout


def test_a_topic_that_fell_short_in_both_runs_is_no_change(world) -> None:  # type: ignore[no-untyped-def]
    """few's coffee is a candidate in both runs (its score moves with time): it was never inferred, so it is neither
    dropped nor moved."""
    assert world("profile", "--as-of", "2025-03-02").exit_code == 0
    assert changes(world, "few")["changes"] == []
    assert "few: profile run 2 against run 1\n  no topic changed" in world("topics", "few", "--changes").stdout


def test_posts_dated_after_the_later_runs_day_are_no_reason_even_when_stored_between_the_runs(world, write) -> None:  # type: ignore[no-untyped-def]
    future = [post("ann-future", "ann", "flights airport lounge travel papa golf", 200)]  # 2025-07-20
    assert world("ingest", write("future.jsonl", future)).exit_code == 0  # stored between the runs
    assert world("profile", "--as-of", "2025-03-02").exit_code == 0  # which reads up to 2025-03-02 only
    assert by_topic(changes(world, "ann"))["travel"]["why"] == (
        "time passing: 1 day(s) since the previous run lowers the recency weight")  # not "1 new or updated post(s)"


def test_a_users_record_changed_after_the_later_run_is_no_reason_for_it(world, write) -> None:  # type: ignore[no-untyped-def]
    more = [post("ann-new", "ann", "flights airport lounge travel papa golf", 20)]
    assert world("ingest", write("more.jsonl", more)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    before = by_topic(changes(world, "ann"))["travel"]["why"]
    assert "1 new or updated post(s)" in before and "record" not in before
    assert world("ingest", "--users", write("moved.jsonl", [{"user_id": "ann", "region": "US-CA"}])).exit_code == 0
    assert by_topic(changes(world, "ann"))["travel"]["why"] == before  # the run did not see it: not named


def test_a_moved_usual_engagement_is_said_in_the_order_it_moved(world, write) -> None:  # type: ignore[no-untyped-def]
    loud = [post(f"ann-c{i}", "ann", f"coffee {WORDS[2 * i]} {WORDS[2 * i + 1]}", i * 3 + 1, likes=500)
            for i in range(6)]  # ann's new posts elsewhere draw far more than her travel posts: her usual rises
    assert world("ingest", write("loud.jsonl", loud)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    travel = by_topic(changes(world, "ann"))["travel"]
    found = re.search(r"the user's usual engagement moved \(([\d.]+) -> ([\d.]+) a post", travel["why"])
    assert found, travel["why"]
    assert float(found[1]) < 10 < 400 < float(found[2])  # 5 likes and 1 reply a post before; 500 likes since


def test_a_refit_names_the_as_ofs_only_when_the_runs_read_different_days(world, write) -> None:  # type: ignore[no-untyped-def]
    def more(first: int) -> str:  # 4 new travel posts of ann's: over 10 % more posts, so the topic vectors fit again
        return write(f"more{first}.jsonl", [
            post(f"ann-n{first + i}", "ann", f"airport travel {WORDS[i + 6]} {WORDS[i + 9]} {WORDS[i + 12]} {first}",
                 20 + first + i * 3) for i in range(4)])

    assert world("ingest", more(0)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0  # the same day as run 1
    same = by_topic(changes(world, "ann"))["travel"]["why"]
    assert re.search(r"the collection changed from (\d+) to (\d+) posts; ", same), same
    assert "written by" not in same and "as-ofs" not in same
    assert world("ingest", more(10)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-02").exit_code == 0  # another day
    later = by_topic(changes(world, "ann"))["travel"]["why"]
    assert re.search(r"the collection changed from \d+ to \d+ posts written by 2025-03-01 and by 2025-03-02, the "
                     r"as-ofs the runs read; ", later), later


def test_a_taxonomy_loaded_after_the_later_run_is_no_reason_for_its_moves(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("profile", "--as-of", "2025-03-02").exit_code == 0  # par's air moves with time alone
    assert world("taxonomy", "load", write("t2.yaml", [t for t in TAXONOMY if t["topic_id"] != "air"])).exit_code == 0
    air = by_topic(changes(world, "par"))["air"]
    assert air["change"] == "score" and air["after"] is not None  # run 2 inferred it, under the taxonomy of then
    assert air["why"] == "time passing: 1 day(s) since the previous run lowers the recency weight", air["why"]


def test_a_sensitive_topic_opted_in_to_long_before_is_new_for_its_posts_not_the_opt_in(world, write) -> None:  # type: ignore[no-untyped-def]
    """Val opted in to health from the start; their third health post, stored since run 1, makes it a topic: the posts
    are the reason, not their users record, which did not change."""
    users = write("val.jsonl", [{"user_id": "val", "consent": "opted_in", "sensitive_opt_in": ["health"]}])
    first = [post(f"val-{i}", "val", f"doctor therapy medicine {WORDS[i]} {WORDS[i + 1]}", i * 3) for i in range(2)]
    assert world("ingest", write("v1.jsonl", first), "--users", users).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0  # run 2: 2 posts, not enough
    assert world("ingest", write("v2.jsonl", posts_for("val", "doctor therapy medicine")[2:])).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    health = by_topic(changes(world, "val"))["health"]
    assert health["change"] == "new" and "4 new or updated post(s) of the user's" in health["why"]
    assert "opt-in" not in health["why"] and "users record" not in health["why"], health["why"]


def test_a_changed_region_is_not_said_to_be_a_changed_opt_in_when_a_run_reads_an_earlier_day(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("ingest", "--users", write("moved.jsonl", [{"user_id": "ann", "region": "US-CA"}])).exit_code == 0
    assert world("profile", "--as-of", "2025-01-11").exit_code == 0  # ann's posts of 01-13 and 01-16 are left out
    why = by_topic(changes(world, "ann"))["travel"]["why"]
    assert "this run is as of 49 day(s) before the previous one" in why
    assert "sensitive-topic opt-ins changed" not in why, why  # her opt-ins did not: her region did, and moves nothing


def test_a_changed_region_is_no_reason_for_a_move_time_made(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("ingest", "--users", write("moved.jsonl", [{"user_id": "ann", "region": "US-CA"}])).exit_code == 0
    assert world("profile", "--as-of", "2025-03-02").exit_code == 0
    assert by_topic(changes(world, "ann"))["travel"]["why"] == (
        "time passing: 1 day(s) since the previous run lowers the recency weight")  # not "opt-ins changed"


def test_engagement_on_posts_whose_dates_moved_is_not_said_to_be_over_the_same_dates(world, write) -> None:  # type: ignore[no-untyped-def]
    first = posts_for("ann", "flights airport lounge travel")[0]
    moved = [dict(first, created_at=first["created_at"] - 2 * 86_400, likes=60)]  # re-dated to 2024-12-30, liked
    assert world("ingest", write("moved.jsonl", moved)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    why = by_topic(changes(world, "ann"))["travel"]["why"]
    assert "1 new or updated post(s)" in why and re.search(r"engagement [\d.]+ -> [\d.]+", why), why
    assert "same dates" not in why and "on the same posts" not in why, why  # the first post's date moved


def test_an_original_liked_again_does_not_make_its_earlier_copy_news(world, write) -> None:  # type: ignore[no-untyped-def]
    """cc pasted ann's first post a month after her (a copy, counted as a reshare, since run 2). Ann's post is then
    stored again with new likes, and a new taxonomy moves cc's topics: that cc's post copies hers is old news."""
    ann0 = posts_for("ann", "flights airport lounge travel")[0]
    cc = [*posts_for("cc", "coffee espresso beans roast"),
          dict(ann0, post_id="cc-copy", user_id="cc", created_at=ann0["created_at"] + 30 * 86_400)]
    users = write("cc-users.jsonl", [{"user_id": "cc", "consent": "opted_in"}])
    assert world("ingest", write("cc.jsonl", cc), "--users", users).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0  # run 2 reads the copy as one
    assert world("ingest", write("liked.jsonl", [dict(ann0, likes=99)])).exit_code == 0  # the original, stored again
    more = [*TAXONOMY, {"topic_id": "beans", "name": "Beans", "description": "coffee espresso beans roast"}]
    assert world("taxonomy", "load", write("t2.yaml", more)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    moved = by_topic(changes(world, "cc"))
    assert moved["beans"]["change"] == "new" and moved["coffee"]["change"] == "dropped"
    for change in moved.values():
        assert change["why"] == "topic vectors fitted again to the collection: the taxonomy changed (`perkmatch " \
            "taxonomy load`)", change["why"]  # not "1 of the user's posts ... turned out to copy another user's"


def test_a_kept_perks_score_that_moved_by_a_hair_is_still_said_to_have_moved(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`match --changes` lists the perks kept whose score moved, before and after: a score never moves unsaid."""
    world = four_users(tmp_path, write, monkeypatch)
    assert world("match").exit_code == 0  # run 2, on profile run 1
    kept = next(json.loads(line) for line in world("match", "--dry-run", "--json").stdout.splitlines()
                if json.loads(line)["user_id"] == "ann")
    rescore(world, 2, "ann", kept["perk_id"], kept["score"] - 0.0004)  # as rules of another version scored it
    ann = match_changes(world("match", "--dry-run", "--changes", "--json"))["ann"]
    assert [m["perk_id"] for m in ann["moved"]] == [kept["perk_id"]] and not ann["gained"] and not ann["lost"]
    assert ann["moved"][0]["after"] == kept["score"]


def test_a_topics_dates_run_from_its_first_post_to_its_last(world) -> None:  # type: ignore[no-untyped-def]
    (travel,) = json.loads(world("topics", "ann", "--json").stdout)["topics"]
    dates = [e["created_at"] for e in travel["evidence"]]
    assert travel["first"] == "2025-01-01T12:00:00Z" < travel["last"]  # ann-0, her first post, to a later one
    assert all(travel["first"] <= d <= travel["last"] for d in dates), (travel["first"], travel["last"], dates)


def test_the_engagement_against_the_usual_shown_is_the_one_a_topic_fell_short_of(world, write) -> None:  # type: ignore[no-untyped-def]
    """`topics --candidates` shows a dropped topic's engagement against the user's usual as the ratio its shortfall
    names (×0.44 and "engagement ×0.44 of the user's usual"), not its logarithm."""
    loud = [post(f"ann-c{i}", "ann", f"coffee {WORDS[2 * i]} {WORDS[2 * i + 1]}", i * 3 + 1, likes=500)
            for i in range(6)]
    assert world("ingest", write("loud.jsonl", loud)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    listed = json.loads(world("topics", "ann", "--candidates", "--json").stdout)["topics"]
    travel = next(t for t in listed if t["topic_id"] == "travel")
    short = next(s for s in travel["shortfalls"] if s.startswith("engagement ×"))
    assert short.startswith(f"engagement ×{travel['engagement_vs_usual']:.2f} of the user's usual"), (short, travel)
    assert 0 < travel["engagement_vs_usual"] < 0.5  # far below her usual, which her coffee posts raised


def test_evidence_of_a_candidate_stored_again_is_warned_of_only_where_candidates_are_shown(world, write) -> None:  # type: ignore[no-untyped-def]
    liked = [post("few-0", "few", "coffee espresso beans roast alpha", 0, likes=50)]  # few's coffee: a candidate
    assert world("ingest", write("liked.jsonl", liked)).exit_code == 0
    note = "evidence post(s) were stored again"
    assert note in " ".join(world("topics", "few", "--candidates").stderr.split())
    plain = world("topics", "few")  # no topic shown: no evidence shown, none to warn of
    assert plain.exit_code == 0 and note not in " ".join(plain.stderr.split()), plain.stderr


def test_a_topic_dropped_for_its_posts_is_not_said_gone_from_a_taxonomy_loaded_later(world, write) -> None:  # type: ignore[no-untyped-def]
    """par deletes every post on air travel; run 2 drops "air" under the taxonomy that still has it. A taxonomy
    without "air", loaded after run 2, was named as the first reason of the drop, "no longer in the taxonomy (it was
    replaced after the previous run)", a change neither run saw (helper-95)."""
    export = json.loads(world("export", "par").stdout)
    ids = [p["post_id"] for p in export["posts"]]
    assert world("forget", "par", *[a for i in ids for a in ("--post", i)]).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    assert world("taxonomy", "load", write("t2.yaml", [t for t in TAXONOMY if t["topic_id"] != "air"])).exit_code == 0
    air = by_topic(changes(world, "par"))["air"]
    assert air["change"] == "dropped" and "no longer in the taxonomy" not in air["why"], air
    assert "deleted" in air["why"], air
