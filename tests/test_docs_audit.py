"""The docs against the product (helper s35/h3): CONTRACT.md and the README's user-facing claims, each checked by
running the CLI. Each test names the claim (README.md line) and fails on the code it was written against.

The tiny world of ``test_cli_match`` (fake encoder): ann and bob write of travel, cat of coffee, dan has no posts;
profiled as of 2025-03-01, then matched.
"""

import json

import pytest

from tests.test_cli_match import TAXONOMY, build_world, four_users


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    w = four_users(tmp_path, write, monkeypatch)
    assert w("match").exit_code == 0
    return w


def test_explain_names_a_topic_the_taxonomy_dropped_by_its_last_loaded_name(world, write) -> None:  # type: ignore[no-untyped-def]
    """README.md:104 (`taxonomy load`): "a topic it leaves out keeps its name in the runs and assignments that cited
    it (the name it was last loaded with)". The operator loads a taxonomy without Travel; `topics ann` still shows
    "Travel" (with a warning), but `explain ann travel` said "ann / travel (travel)" and `"name": "travel"`: the id
    for the name (``explain._scored_before`` made the topic from its id, from before names were kept)."""
    without = write("t2.yaml", [t for t in TAXONOMY if t["topic_id"] != "travel"])
    assert world("taxonomy", "load", without).exit_code == 0
    listed = json.loads(world("topics", "ann", "--json").stdout)
    assert [t["name"] for t in listed["topics"] if t["topic_id"] == "travel"] == ["Travel"]
    explained = world("explain", "ann", "travel", "--json")
    assert explained.exit_code == 0, explained.output
    assert json.loads(explained.stdout)["name"] == "Travel"
    assert world("explain", "ann", "travel").stdout.startswith("ann / Travel (travel): ")


def test_status_calls_for_no_run_for_a_post_dated_after_today(world, write) -> None:  # type: ignore[no-untyped-def]
    """README.md:123 (`status`): "posts dated after today no run reads until their day: they are counted apart,
    `posts.after_today`, and call for no run". One such post ingested after the profile run (a source's clock wrong)
    made `status` say "perkmatch profile: profile run 1: 1 post by 1 user added or changed since it started" (and a
    match after it): a profile run that reads nothing new, since the count of posts written since the run did not
    leave out those dated after today."""
    assert json.loads(world("status", "--json").stdout)["up_to_date"] is True
    future = write("f.jsonl", [{"post_id": "ann-f", "user_id": "ann", "text": "flights airport lounge travel soon",
                                "created_at": "2099-01-01T00:00:00Z", "likes": 3}])
    assert world("ingest", future).exit_code == 0
    status = json.loads(world("status", "--json").stdout)
    assert status["posts"]["after_today"] == 1
    assert status["next"] == [] and status["up_to_date"] is True, status["next"]


def test_match_changes_does_not_call_new_posts_stored_again(world, write) -> None:  # type: ignore[no-untyped-def]
    """README.md:111 says what "stored again" means: a post stored again (a new text or new engagement) after the run
    read it. ann writes one new post; `profile` reads it, `match --changes` gives her causes as "topics changed
    between profile runs 1 and 3" and also "posts behind their topics were stored again (a new text or context) after
    match run 2, and were read as they are now": no post of hers was stored again, and the profile run read the new
    one as it is (``changes._evidence_restored`` counted every post written since the last match, new ones too,
    before the profile run read them as well as after)."""
    new = write("n.jsonl", [{"post_id": "ann-n", "user_id": "ann", "text": "flights airport lounge travel new one",
                             "created_at": "2025-02-01T00:00:00Z", "likes": 9, "replies": 2}])
    assert world("ingest", new).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    changed = world("match", "--changes", "--json")
    assert changed.exit_code == 0, changed.output
    ann = next(r for r in map(json.loads, changed.stdout.splitlines()) if r["user_id"] == "ann")
    assert ann["moved"], ann
    assert any("topics changed" in c for c in ann["causes"]), ann
    assert not any("stored again" in c for c in ann["causes"]), ann["causes"]


def test_match_changes_still_says_a_post_stored_again_after_the_profile_run(world, write) -> None:  # type: ignore[no-untyped-def]
    """The other side of the test above: ann's evidence post stored again with a new text after profile run 1 (no
    profile since) moves her scores in the next match, and that cause is still given."""
    again = write("a.jsonl", [{"post_id": "ann-0", "user_id": "ann", "text": "coffee espresso beans roast and more",
                               "created_at": 1_735_732_800, "likes": 5, "replies": 1}])
    assert world("ingest", again).exit_code == 0
    changed = world("match", "--changes", "--json")
    assert changed.exit_code == 0, changed.output
    ann = next(r for r in map(json.loads, changed.stdout.splitlines()) if r["user_id"] == "ann")
    assert any("stored again" in c for c in ann["causes"]), ann


def test_explain_names_a_dropped_child_its_parent_counts_for_by_its_last_loaded_name(tmp_path, write,  # type: ignore[no-untyped-def]
                                                                                      monkeypatch) -> None:
    """The same claim (README.md:104), for a parent shown as covered by its inferred child: par writes of air travel
    (Air Travel, under Travel); the operator reloads the taxonomy without Air Travel. `explain par travel` said "not
    shown: its posts count for the more specific air (air), inferred instead": the child by its id twice, where
    `topics par` names it "Air Travel" (``explain._covered`` was given the loaded taxonomy's names only)."""
    from tests import test_explain_audit as tiny

    world = build_world(tmp_path, write, monkeypatch, [{"user_id": "par", "consent": "opted_in"}],
                        tiny.posts_for("par", "airline plane cabin boarding"), "2025-03-01", perks=tiny.PERKS,
                        taxonomy=tiny.TAXONOMY)
    assert world("explain", "par", "travel", "--json").exit_code == 0
    without = write("t2.yaml", [t for t in tiny.TAXONOMY if t["topic_id"] != "air"])
    assert world("taxonomy", "load", without).exit_code == 0
    said = world("explain", "par", "travel", "--json")
    assert said.exit_code == 0, said.output
    assert json.loads(said.stdout)["verdict"].startswith("not shown: its posts count for the more specific Air Travel "
                                                         "(air), inferred instead")


def test_explain_of_a_user_added_after_the_match_says_no_withheld_perk_is_hidden(world, write) -> None:  # type: ignore[no-untyped-def]
    """A user whose record came after the last match was never weighed by it: `explain USER` added "(the perks
    withheld from eve are not shown: their record changed after the last match ...)", of perks that never were
    (helper s35/h3's oddity). A user weighed by it whose record changed since is still told so."""
    from tests.test_cli_match import posts_for

    users = write("u2.jsonl", [{"user_id": "eve", "consent": "opted_in", "region": "US"}])
    assert world("ingest", write("p2.jsonl", posts_for("eve", "coffee espresso beans roast")), "--users",
                 users).exit_code == 0
    said = world("explain", "eve")
    assert said.exit_code == 0, said.output
    assert "withheld from eve are not shown" not in said.stdout
    changed = write("u3.jsonl", [{"user_id": "cat", "consent": "opted_in", "region": "US"}])
    assert world("ingest", write("p3.jsonl", []), "--users", changed).exit_code == 0
    assert "withheld from cat are not shown" in world("explain", "cat").stdout
