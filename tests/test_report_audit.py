"""The HTML reports tell the truth: each statement on a page checked against what the database holds.

A tiny world (fake encoder), built through the CLI: Ann writes about travel, Cat about coffee, Eve about coffee
too, two of her coffee posts only reshares. Bean offers two coffee perks, one of them only in the spring of 2025.
"""

import json
import re

import pytest

from tests.test_cli_match import build_world, posts_for

TAXONOMY = [
    {"topic_id": "travel", "name": "Travel", "description": "flights airport lounge travel trips"},
    {"topic_id": "coffee", "name": "Coffee", "description": "coffee espresso beans roast brewing"},
]
PERKS = [
    {"perk_id": "trips", "brand": "Roam", "title": "Trips credit", "description": "travel trips flights airport"},
    {"perk_id": "beans", "brand": "Bean", "title": "Beans", "description": "coffee beans roast espresso",
     "starts": "2025-01-01", "ends": "2026-12-31", "quantity": 5},
    {"perk_id": "spring", "brand": "Bean", "title": "Spring roast", "description": "coffee espresso beans brewing",
     "starts": "2025-03-01", "ends": "2025-04-30"},
]


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    users = [{"user_id": u, "consent": "opted_in", "region": "US"} for u in ("ann", "cat", "eve")]
    posts = posts_for("ann", "flights airport lounge travel") + posts_for("cat", "coffee espresso beans roast")
    for i, tail in enumerate(["alpha bravo", "kilo lima", "mike november", "oscar papa", "quebec romeo"]):
        posts.append({"post_id": f"eve-{i}", "user_id": "eve", "text": f"coffee espresso beans {tail}",
                      "created_at": 1_735_732_800 + i * 3 * 86_400, "likes": 5, "replies": 1,
                      **({"is_share": True, "likes": 40} if i >= 3 else {})})  # eve-3 and eve-4: reshares
    return build_world(tmp_path, write, monkeypatch, users, posts, "2025-03-15", PERKS, taxonomy=TAXONOMY)


def page(world, tmp_path, *args: str) -> str:  # type: ignore[no-untyped-def]
    out = tmp_path / "page.html"
    result = world("report", *args, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", "", html, flags=re.S)).split())


def test_brand_page_says_which_offers_were_open_on_the_day_the_match_checked(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # profiled as of 2025-03-15 (the spring offer open), matched as of 2025-06-01 (closed): the page gave the
    # profile's day, on which the count it quoted was false
    assert world("match", "--as-of", "2025-06-01").exit_code == 0
    shown = text_of(page(world, tmp_path, "brand", "Bean"))
    assert "2 live perks, 1 with the offer open on 2025-06-01" in shown
    assert "open on 2025-03-15" not in shown
    assert "Nobody in match run 2: the offer was not open on 2025-06-01, the day that run checked " \
           "(ended 2025-04-30)" in shown


def test_brand_page_shows_the_perk_as_matched_and_says_the_catalog_changed(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0
    changed = [p | {"title": "Beans, new look", "ends": "2027-06-30", "quantity": 9} if p["perk_id"] == "beans"
               else p for p in PERKS]
    assert world("catalog", "refresh", write("c2.yaml", changed)).exit_code == 0
    shown = text_of(page(world, tmp_path, "brand", "Bean"))
    # the match run's perk, whole: its title and quantity, and its dates (they were the new version's)
    assert "Beans beans" in shown and "of 5" in shown and "2025-01-01 – 2026-12-31 offer dates" in shown
    assert "2027-06-30" not in shown and "new look" not in shown
    assert "Note: the perk changed in the catalog after match run 2 (catalog version 1)" in shown
    user_page = text_of(page(world, tmp_path, "user", "cat"))  # the user's page says it of the perk too
    assert "The catalog has changed this perk since match run 2" in user_page


def test_brand_whose_perks_were_all_retired_is_not_called_unknown(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0
    assert world("catalog", "refresh", write("c2.yaml", PERKS[:1])).exit_code == 0
    result = world("report", "brand", "bean", "--out", str(tmp_path / "b.html"))
    assert result.exit_code == 1 and not (tmp_path / "b.html").exists()
    message = " ".join(result.stderr.split())
    assert "brand 'Bean' has no live perk in catalog version 2: every one of its perks was retired" in message
    assert "no brand" not in message


def test_reshared_evidence_is_marked_as_a_reshare(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0
    html = page(world, tmp_path, "user", "eve")
    items = re.findall(r'<li>\s*<div class="post-meta">(.*?)</div>', html, flags=re.S)
    assert any("eve-3" in m or "eve-4" in m for m in items), "the world should put a reshare among Eve's evidence"
    for meta in items:  # every evidence post, in the topic's list and under the perk: marked when it is a reshare
        assert ("· reshare" in meta) == ("eve-3" in meta or "eve-4" in meta), meta
    # and in the JSON and text answers (evidence records carry is_share)
    evidence = [e for t in json.loads(world("topics", "eve", "--json").stdout)["topics"] for e in t["evidence"]]
    assert {e["post_id"]: e["is_share"] for e in evidence}.get("eve-3") is True
    assert all(e["is_share"] == (e["post_id"] in ("eve-3", "eve-4")) for e in evidence)
    from matcher.cli.shown import evidence_lines

    reshare = next(e for e in evidence if e["is_share"])
    assert "(reshare) coffee espresso beans" in evidence_lines([reshare])  # the text answers' evidence lines


def test_perk_evidence_from_an_earlier_profile_run_is_not_said_to_be_on_the_page(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0
    assert world("taxonomy", "load", write("t2.yaml", TAXONOMY[1:])).exit_code == 0  # travel is gone
    assert world("profile", "--as-of", "2025-03-15").exit_code == 0
    html = page(world, tmp_path, "user", "ann")
    shown = text_of(html)
    assert "made on the topics of profile run 1, not on those of profile run 3" in shown
    assert "the topic's strongest are under" not in shown
    assert "Evidence for this perk from Travel in profile run 1, which the match used" in shown  # its name kept
    targets = set(re.findall(r'id="([^"]+)"', html))
    assert all(link in targets for link in re.findall(r'href="#([^"]+)"', html))  # no link leads nowhere


def test_perk_evidence_of_the_same_profile_run_points_to_the_evidence_section(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0
    html = page(world, tmp_path, "user", "ann")
    assert "Evidence for this perk from <bdi>Travel</bdi>, its posts closest to the perk (the topic's strongest are " \
        "under" in html and 'href="#ev-travel"' in html


def test_brand_page_counts_a_person_given_two_of_its_perks_once(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # "N people": the distinct users given any of the brand's perks, not the assignments
    result = world("match", "--json", "--per-brand", "2")
    bean = [r["user_id"] for r in map(json.loads, result.stdout.splitlines()) if r["brand"] == "Bean"]
    assert len(bean) > len(set(bean))  # someone has both Bean perks
    people = len(set(bean))
    assert f"{len(bean)} assigned {people} {'person' if people == 1 else 'people'}" in \
        text_of(page(world, tmp_path, "brand", "Bean"))


def test_perk_evidence_from_an_earlier_run_of_a_topic_still_shown_says_which_run(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # profiled again after the match, the topic still inferred: the perk's evidence is the earlier run's, and the
    # page says so rather than pointing to this run's evidence section as if it were the same
    assert world("match").exit_code == 0
    assert world("profile", "--as-of", "2025-03-16").exit_code == 0
    shown = text_of(page(world, tmp_path, "user", "ann"))
    assert "Evidence for this perk from Travel in profile run 1, which the match used" in shown
    assert "the topic's strongest are under" not in shown


def test_brand_page_says_when_evidence_it_shows_was_stored_again_after_the_run(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a post edited after the profile run read it is shown as it is now: the brand page says so, as the user page does
    assert world("match").exit_code == 0
    edited = [p | {"likes": p["likes"] + 7} for p in posts_for("cat", "coffee espresso beans roast")]
    assert world("ingest", write("again.jsonl", edited)).exit_code == 0
    shown = text_of(page(world, tmp_path, "brand", "Bean"))
    assert re.search(r"Note: \d+ evidence post\(s\) were stored again \(a new text or new engagement\) after profile "
                     r"run 1 read them", shown)
