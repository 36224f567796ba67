"""`perkmatch explain USER PERK_ID`: why a user got a perk, had it withheld, or never had it weighed (fake encoder).

The world of ``test_cli_match``: Ann (US-NY) and Bob (US-NJ) write about travel, Cat (GB) about coffee, Dan has no
posts. The one lounge pass is for US-NY; one coffee perk has ended.
"""

import json
import math

import pytest

from tests.test_cli_match import PERKS, assignments, build_world, four_users, posts_for


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
    shown = math.floor(coffee["relevance"] * 100) / 100  # rounded down: 0.896 is not shown as 0.90
    assert coffee["why"].startswith(f"it is not about Coffee: relevance {shown:.2f}, needs 0.90")
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
    assert "'sky' is a brand: give one of its perks (lounge)" in world("explain", "cat", "sky").stderr
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
    assert (coffee["inferred"], coffee["fell_short"]) == (1, 0) and nobody["withheld"] == {"dates": 1}
    text = world("brand", "old-beans").stdout
    assert "Coffee (coffee, relevance" in text and "inferred for 1 user(s)" in text
    assert "nobody" not in json.loads(world("brand", "beans", "--json").stdout)  # someone got it: no such part


def test_an_opt_in_withdrawn_since_the_match_is_never_told(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    users = [{"user_id": "eve", "consent": "opted_in", "region": "GB", "sensitive_opt_in": ["health"]}]
    clinic = {"perk_id": "clinic", "brand": "Care", "title": "Therapy session",
              "description": "doctor therapy medicine"}
    invoke = build_world(tmp_path, write, monkeypatch, users, posts_for("eve", "doctor therapy medicine"),
                         "2025-03-01", perks=[*PERKS, clinic], then=(["match"],))
    assert why(invoke, "eve", "clinic")["status"] == "assigned"  # while she opts in
    assert invoke("ingest", "--users", write("u2.jsonl", [{**users[0], "sensitive_opt_in": []}])).exit_code == 0
    for perk in ("clinic", "beans"):  # neither the perk she got through Health, nor any other, is answered from it
        got = why(invoke, "eve", perk)
        assert got["status"] == "changed" and "Health" not in json.dumps(got) and "sensitive" not in got["verdict"]
    said = invoke("explain", "eve").stdout  # nor says her perks' explanation which topic she had
    assert "Health" not in said and "health" not in said


def test_a_replaced_taxonomy_is_said_as_match_says_it(world, write) -> None:  # type: ignore[no-untyped-def]
    other = [{"topic_id": "tea", "name": "Tea", "description": "tea leaves kettle"}]
    assert world("taxonomy", "load", write("t2.yaml", other)).exit_code == 0
    result = world("explain", "cat", "trips")
    assert result.exit_code == 1 and "the taxonomy was replaced after profile run 1" in result.stderr
    said = json.loads(world("brand", "old-beans", "--json").stdout)["nobody"]["why"]
    assert said.startswith("nobody got it in match run 2: why cannot be told now: the taxonomy was replaced")
    warned = world("brand", "lounge")  # before: no word, and a topic gone since cited by its id
    assert "Warning: the taxonomy was replaced after profile run 1" in " ".join(warned.stderr.split())


def test_a_perk_someone_got_before_being_forgotten_is_not_said_to_have_gone_to_nobody(world) -> None:  # type: ignore[no-untyped-def]
    assert world("forget", "ann").exit_code == 0  # ann had the one lounge pass
    record = json.loads(world("brand", "lounge", "--json").stdout)
    assert record["users"] == [] and record["assigned"] == 1 and "nobody" not in record


def test_a_perk_retired_before_the_match_names_the_version(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("catalog", "refresh", write("c2.yaml", [p for p in PERKS if p["perk_id"] != "beans"])).exit_code == 0
    assert world("match").exit_code == 0
    assert world("catalog", "refresh", write("c3.yaml", PERKS)).exit_code == 0  # back again, after the match
    got = why(world, "cat", "beans")
    assert got["status"] == "not_in_catalog" and "it was retired in version 2" in got["verdict"]


def test_withheld_and_left_out_perks_are_not_told_once_the_record_changed(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # one unit of a therapy perk, two users opted in to Health: one gets it, the other is left out; and one GB user
    # has a US-only one withheld. Once they withdraw their opt-ins, neither the user nor the brand is told of them
    users = [{"user_id": u, "consent": "opted_in", "region": "GB", "sensitive_opt_in": ["health"]}
             for u in ("eve", "fay")]
    perks = [*PERKS, {"perk_id": "clinic", "brand": "Care", "title": "Therapy session", "quantity": 1,
                      "description": "doctor therapy medicine"},
             {"perk_id": "us-clinic", "brand": "Cure", "title": "Clinic visit", "regions": ["US"],
              "description": "doctor medicine therapy"}]
    posts = posts_for("eve", "doctor therapy medicine") + posts_for("fay", "doctor therapy medicine")
    invoke = build_world(tmp_path, write, monkeypatch, users, posts, "2025-03-01", perks=perks, then=(["match"],))
    left = [w["user_id"] for w in json.loads(invoke("brand", "clinic", "--json").stdout)["left_out"]]
    withheld = {u: [w["perk_id"] for w in json.loads(invoke("explain", u, "--json").stdout)["withheld"]]
                for u in ("eve", "fay")}
    assert len(left) == 1 and all("us-clinic" in w for w in withheld.values())  # as matched
    assert invoke("ingest", "--users", write("u2.jsonl", [{**u, "sensitive_opt_in": []} for u in users])).exit_code == 0
    assert json.loads(invoke("brand", "clinic", "--json").stdout)["left_out"] == []
    for u in ("eve", "fay"):
        assert json.loads(invoke("explain", u, "--json").stdout)["withheld"] == []
        assert "are not shown: their record changed after the last match" in invoke("explain", u).stdout


def test_a_perk_about_a_sensitive_topic_goes_only_to_users_who_opt_in_to_it(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # a perk about Travel and Health reaches its users through Travel; before, it went to a travel writer who never
    # opted in to Health, telling them what they were taken to be into (an adult store's voucher, through Shopping)
    users = [{"user_id": "ann", "consent": "opted_in", "region": "GB"},
             {"user_id": "eve", "consent": "opted_in", "region": "GB", "sensitive_opt_in": ["health"]}]
    clinic = {"perk_id": "clinic", "brand": "Care", "title": "Travel clinic",
              "description": "doctor therapy medicine for flights"}
    posts = posts_for("ann", "flights airport lounge travel") + posts_for("eve", "flights airport lounge travel")
    invoke = build_world(tmp_path, write, monkeypatch, users, posts, "2025-03-01", perks=[*PERKS, clinic],
                         then=(["match"],))
    assert why(invoke, "eve", "clinic")["status"] == "assigned"
    got = why(invoke, "ann", "clinic")
    assert got["status"] == "withheld" and got["reason"] == (
        "sensitive: the perk is about Health, a sensitive topic they have not opted in to (a perk about one goes only "
        "to users who opted in to it)")
    brand = json.loads(invoke("brand", "clinic", "--json").stdout)
    assert [u["user_id"] for u in brand["users"]] == ["eve"]


def test_a_perk_assigned_through_a_topic_marked_sensitive_since_is_not_said_assigned(world, write) -> None:  # type: ignore[no-untyped-def]
    from tests.test_cli_match import TAXONOMY

    sensitive = [dict(t, sensitive=True) if t["topic_id"] == "travel" else t for t in TAXONOMY]
    assert world("taxonomy", "load", write("t2.yaml", sensitive)).exit_code == 0  # ann never opted in to travel
    got = why(world, "ann", "lounge")  # before: "assigned: their #1 perk", with no assignment to show
    assert got["status"] != "assigned" and "assignment" not in got, got


def test_a_perk_retired_again_after_the_match_names_the_retirement_before_it(world, write) -> None:  # type: ignore[no-untyped-def]
    without = write("c2.yaml", [p for p in PERKS if p["perk_id"] != "beans"])
    assert world("catalog", "refresh", without).exit_code == 0  # version 2: beans retired
    assert world("match").exit_code == 0
    assert world("catalog", "refresh", write("c3.yaml", PERKS)).exit_code == 0  # back in version 3
    assert world("catalog", "refresh", without).exit_code == 0  # and retired again in version 4
    got = why(world, "cat", "beans")  # before: "retired in version 4", after the match on version 2
    assert got["status"] == "not_in_catalog" and "it was retired in version 2 " in got["verdict"], got["verdict"]


def test_a_perk_the_catalog_targets_at_a_topic_is_not_said_to_be_not_about_it(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from matcher.embed import EmbeddingCache
    from matcher.encoder import FakeEncoder
    from matcher.match import run_match
    from matcher.perk_space import MatchParams
    from matcher.store import open_engine

    flask = {"perk_id": "flask", "brand": "Flask", "title": "Travel flask", "description": "travel trips flights",
             "topics": ["coffee"], "regions": ["US"]}  # worded for travel, targeted at coffee; not for GB
    assert world("catalog", "refresh", write("c2.yaml", [*PERKS, flask])).exit_code == 0
    engine = open_engine(str(tmp_path / "w.db"))  # a match keeping no exclusion: cat's is not told as withheld
    run_match(engine, EmbeddingCache(engine, FakeEncoder()), params=MatchParams(withheld_per_user=0))
    engine.dispose()
    got = why(world, "cat", "flask")
    [coffee] = got["topics"]
    assert got["status"] == "not_a_candidate" and coffee["relevance"] < 0.9  # not about coffee by its words, but
    assert not coffee["why"].startswith("it is not about Coffee"), coffee["why"]  # the catalog takes it there


def test_a_perk_about_no_topic_names_its_closest_topics_most_relevant_first(world, write) -> None:  # type: ignore[no-untyped-def]
    import re

    odd = {"perk_id": "odd", "brand": "Odd", "title": "Odd thing", "description": "garden shovel hose rake"}
    assert world("catalog", "refresh", write("c2.yaml", [*PERKS, odd])).exit_code == 0
    assert world("match").exit_code == 0
    said = json.loads(world("brand", "odd", "--json").stdout)["nobody"]["why"]
    closest = re.search(r"its closest: (.*); a topic needs", said)
    assert closest, said
    relevance = [float(x.rsplit(" ", 1)[1]) for x in closest.group(1).split(", ")]
    assert len(relevance) == 3 and relevance == sorted(relevance, reverse=True) and relevance[0] > relevance[-1], said


def test_the_withheld_note_of_a_perk_never_weighed_checks_the_matchs_day(world, write) -> None:  # type: ignore[no-untyped-def]
    ended = {"perk_id": "winter", "brand": "Winter", "title": "Winter trips", "description": "travel trips flights",
             "ends": "2025-03-15"}  # open on the profile run's day, 2025-03-01; ended by the match's
    assert world("catalog", "refresh", write("c2.yaml", [*PERKS, ended])).exit_code == 0
    assert world("match", "--as-of", "2025-04-02").exit_code == 0
    got = why(world, "cat", "winter")
    assert got["status"] == "not_a_candidate"
    assert got.get("also") == "as a candidate it would have been withheld: dates: the offer ended on 2025-03-15"


def test_a_user_the_matchs_profile_run_did_not_profile_is_not_said_to_have_no_topic(world, write) -> None:  # type: ignore[no-untyped-def]
    fay = write("fay.jsonl", posts_for("fay", "coffee espresso beans roast"))
    assert world("ingest", fay, "--users", write("fu.jsonl", [{"user_id": "fay"}]),
                 "--consent-policy", "opt-out").exit_code == 0
    assert world("match").exit_code == 0  # on profile run 1, which did not profile fay: she has not opted in
    got = why(world, "fay", "beans")
    assert got["status"] == "not_a_candidate" and "had no inferred topic" not in got["verdict"], got["verdict"]
    assert got["verdict"].startswith("not a candidate: match run 3 used profile run 1, and they have not opted in")


def test_a_perk_the_brand_limit_gave_to_nobody_names_the_brands_perks_they_got_instead(  # type: ignore[no-untyped-def]
        tmp_path, write, monkeypatch) -> None:
    """A brand's second coffee perk goes to nobody: its one writer already gets the brand's first (one perk a brand
    per user). Before, `brand` said "withheld from 1 user(s) (1 by brand limit)" and `explain` "already gets 1
    perk(s) from Bean": the brand could not tell which of its own perks took the user. Both name it now."""
    mug = {"perk_id": "mug", "brand": "bean ", "title": "Mug", "description": "coffee espresso beans roast mug"}
    users = [{"user_id": "cat", "consent": "opted_in", "region": "GB"}]
    world = build_world(tmp_path, write, monkeypatch, users, posts_for("cat", "coffee espresso beans roast"),
                        "2025-03-01", perks=[*PERKS, mug], then=(["match"],))
    got = assignments(world("match", "--dry-run", "--json"))["cat"]
    kept, lost = ("beans", "mug") if "beans" in got else ("mug", "beans")
    assert kept in got and lost not in got
    record = json.loads(world("brand", lost, "--json").stdout)["nobody"]
    assert record["withheld"] == {"brand limit": 1} and record["brand_limit_instead"] == {kept: 1}
    owner = "bean" if lost == "mug" else "Bean"  # the brand as the perk that went to nobody writes it (trimmed)
    assert record["why"] == (f"nobody got it in match run 2: it was withheld from 1 user(s) (1 by brand limit); the 1 "
                             f"withheld by brand limit get another {owner} perk instead: {kept} (1) (`match "
                             "--per-brand N` lets a user have N perks of one brand)")
    assert why(world, "cat", lost)["reason"] == f"brand limit: the user already gets 1 perk(s) from {owner} ({kept})"
    assert "brand_limit_instead" not in json.loads(world("brand", "old-beans", "--json").stdout)["nobody"]


def test_a_perk_other_perks_outdid_names_a_user_to_ask_about() -> None:
    """Before, the brand was told "`perkmatch explain USER PERK` for one of them" and given no user to try (helper-140,
    as a brand on the dev data, had to query the database for one): the first by id of those it could reach is named."""
    from types import SimpleNamespace

    from matcher.perk_space import MatchParams
    from matcher.why_nobody import _why_nobody

    ps = SimpleNamespace(topics=[SimpleNamespace(topic_id="travel", name="Travel", sensitive=False)])
    parts = _why_nobody(ps, 0, ["travel"], "trips", set(), {"per-user limit": 1}, ["ann", "bob"],  # type: ignore[arg-type]
                        MatchParams(), dry_run=False)
    assert parts[-1].endswith("other perks sat nearer their posts or fit them better (`perkmatch explain ann trips`, "
                              "for one of them: why this perk was not theirs)")
    assert "explain" not in _why_nobody(ps, 0, ["travel"], "trips", set(), {}, ["ann"], MatchParams(),  # type: ignore[arg-type]
                                        dry_run=True)[-1]  # a dry run keeps no match to explain
