"""`perkmatch explain USER PERK_ID`: why a user got a perk, had it withheld, or never had it weighed (fake encoder).

The world of ``test_cli_match``: Ann (US-NY) and Bob (US-NJ) write about travel, Cat (GB) about coffee, Dan has no
posts. The one lounge pass is for US-NY; one coffee perk has ended.
"""

import json

import pytest

from tests.test_cli_match import PERKS, four_users


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """The four users, matched."""
    invoke = four_users(tmp_path, write, monkeypatch)
    assert invoke("match").exit_code == 0
    return invoke


def why(world, user: str, perk: str) -> dict:  # type: ignore[no-untyped-def]
    result = world("explain", user, perk, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_assigned_perk_is_shown_with_its_rank_and_evidence(world) -> None:  # type: ignore[no-untyped-def]
    got = why(world, "ann", "lounge")
    assert got["status"] == "assigned" and got["verdict"].startswith("assigned: their #")
    assert got["assignment"]["perk_id"] == "lounge" and got["assignment"]["topics"][0]["topic_id"] == "travel"
    text = world("explain", "ann", "lounge").stdout
    assert "ann / lounge (Sky: Lounge pass), match run" in text and "because of Travel" in text


def test_a_withheld_perk_names_the_rule_that_held_it(world) -> None:  # type: ignore[no-untyped-def]
    region = why(world, "bob", "lounge")
    assert region["status"] == "withheld" and region["reason"] == (
        "region: the perk is for US-NY; the user is in US-NJ")
    ended = why(world, "cat", "old-beans")
    assert ended["status"] == "withheld" and ended["reason"].startswith("dates: the offer ended")


def test_a_perk_never_weighed_is_explained_topic_by_topic_with_what_it_is_about(world) -> None:  # type: ignore[no-untyped-def]
    got = why(world, "cat", "trips")  # a travel credit, for a coffee writer
    assert got["status"] == "not_a_candidate" and got["verdict"].startswith("not a candidate: it fits none of cat's")
    [coffee] = got["topics"]
    assert coffee["topic_id"] == "coffee" and coffee["relevance"] < 0.9
    assert coffee["why"].startswith(f"it is not about Coffee: relevance {coffee['relevance']:.2f}, needs 0.90")
    about = got["perk_topics"][0]
    assert about["topic_id"] == "travel" and about["user"].startswith("not inferred")
    assert got["also"] == "as a candidate it would have been withheld: region: the perk is for US; the user is in GB"
    text = world("explain", "cat", "trips").stdout
    assert "through Coffee (coffee): it is not about Coffee" in text and "the perk is about:" in text
    assert "Travel (travel, relevance" in text


def test_a_user_with_no_topic_is_told_perks_go_through_topics(world) -> None:  # type: ignore[no-untyped-def]
    got = why(world, "dan", "beans")
    assert got["status"] == "not_a_candidate" and got["topics"] == []
    assert "dan had no inferred topic in profile run" in got["verdict"]


def test_a_perk_added_after_the_match_says_to_match_again(world, write) -> None:  # type: ignore[no-untyped-def]
    mugs = {"perk_id": "mugs", "brand": "Bean", "title": "Mugs", "description": "coffee mugs espresso cups"}
    assert world("catalog", "refresh", write("c2.yaml", [*PERKS, mugs])).exit_code == 0
    got = why(world, "cat", "mugs")
    assert got["status"] == "not_in_catalog"
    assert got["verdict"].endswith("it came in version 2; run `perkmatch match` to weigh it")


def test_an_unknown_id_suggests_perks_too_and_an_unknown_user_is_named(world) -> None:  # type: ignore[no-untyped-def]
    typo = world("explain", "cat", "lounje")
    assert typo.exit_code == 1 and "no topic 'lounje' in the loaded taxonomy" in typo.stderr
    assert "for a perk, did you mean lounge?" in typo.stderr
    nobody = world("explain", "zed", "lounge")
    assert nobody.exit_code == 1 and "no user 'zed' is stored" in nobody.stderr


def test_before_any_match_it_says_to_run_one(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    result = four_users(tmp_path, write, monkeypatch)("explain", "ann", "lounge")
    assert result.exit_code == 1 and "no match yet; run `perkmatch match` first" in result.stderr


def test_brand_says_why_a_perk_went_to_nobody(world) -> None:  # type: ignore[no-untyped-def]
    result = world("brand", "old-beans", "--json")  # ended before the match day: withheld from the coffee writer
    assert result.exit_code == 0, result.output
    nobody = json.loads(result.stdout)["nobody"]
    assert nobody["why"] == "nobody got it in match run 2: it was withheld from 1 user(s) (1 by dates)"
    coffee = next(t for t in nobody["topics"] if t["topic_id"] == "coffee")
    assert (coffee["inferred"], coffee["candidate"]) == (1, 0) and nobody["withheld"] == {"dates": 1}
    text = world("brand", "old-beans").stdout
    assert "Coffee (coffee, relevance" in text and "inferred for 1 user(s)" in text
    assert "nobody" not in json.loads(world("brand", "beans", "--json").stdout)  # someone got it: no such part
