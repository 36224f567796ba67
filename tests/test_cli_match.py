"""Matching and the brand's view through the CLI, on a tiny hand-written world (fake encoder).

Two topics, three users, four perks. Ann (US-NY) and Bob (US-NJ) write about travel, Cat (GB) about coffee.
The one lounge pass is for US-NY only; one coffee perk has ended. The right answers are obvious.
"""

import csv
import json
import re
import sys

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from matcher import store
from matcher.cli import app, common
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder

runner = CliRunner()
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar".split()
TAXONOMY = [
    {"topic_id": "travel", "name": "Travel", "description": "flights airport lounge travel trips"},
    {"topic_id": "coffee", "name": "Coffee", "description": "coffee espresso beans roast brewing"},
    {"topic_id": "health", "name": "Health", "description": "doctor therapy medicine", "sensitive": True},
]
PERKS = [
    {"perk_id": "lounge", "brand": "Sky", "title": "Lounge pass", "description": "airport lounge flights travel",
     "regions": ["US-NY"], "quantity": 1},
    {"perk_id": "trips", "brand": "Roam", "title": "Trips credit", "description": "travel trips flights airport",
     "regions": ["US"]},
    {"perk_id": "beans", "brand": "Bean", "title": "Beans", "description": "coffee beans roast espresso"},
    {"perk_id": "old-beans", "brand": "Old", "title": "Old beans", "description": "coffee espresso beans brewing",
     "ends": "2020-01-01"},
]


def posts_for(user: str, words: str, n: int = 6) -> list[dict]:
    return [{"post_id": f"{user}-{i}", "user_id": user, "text": f"{words} {WORDS[i]} {WORDS[i + 1]}",
             "created_at": 1_735_732_800 + i * 3 * 86_400, "likes": 5, "replies": 1} for i in range(n)]


def build_world(tmp_path, write, monkeypatch, users: list[dict], posts: list[dict], as_of: str,  # type: ignore[no-untyped-def]
                perks: list[dict] = PERKS, then: tuple[list[str], ...] = (), taxonomy: list[dict] = TAXONOMY):
    """A database with the taxonomy, these users and posts, the perks, a profile run as of that day (and ``then``'s
    commands), all through the CLI with the fake encoder; returns ``invoke(*args)`` running a command on it."""
    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, FakeEncoder()))
    db = str(tmp_path / "w.db")
    for args in (["taxonomy", "load", write("t.yaml", taxonomy)],
                 ["ingest", write("p.jsonl", posts), "--users", write("u.jsonl", users)],
                 ["catalog", "refresh", write("c.yaml", perks)],
                 ["profile", "--as-of", as_of], *then):
        result = runner.invoke(app, ["--db", db, *args])
        assert result.exit_code == 0, result.output

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["--db", db, *args])

    invoke.db = db  # type: ignore[attr-defined]
    invoke.tmp = tmp_path  # type: ignore[attr-defined]
    return invoke


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    return four_users(tmp_path, write, monkeypatch)


def four_users(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """The world of this module's docstring, profiled as of 2025-03-01 (``build_world``)."""
    users = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY"},
             {"user_id": "bob", "consent": "opted_in", "region": "US-NJ"},
             {"user_id": "cat", "consent": "opted_in", "region": "GB"},
             {"user_id": "dan", "consent": "opted_in", "region": "GB"}]  # no posts yet: profiled, no topic
    posts = (posts_for("ann", "flights airport lounge travel") + posts_for("bob", "travel trips flights airport")
             + posts_for("cat", "coffee espresso beans roast"))
    return build_world(tmp_path, write, monkeypatch, users, posts, "2025-03-01")


def assignments(result) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        r = json.loads(line)
        out.setdefault(r["user_id"], []).append(r["perk_id"])
    return out


def test_topics_all_has_one_line_per_profiled_user(world) -> None:  # type: ignore[no-untyped-def]
    result = world("topics", "--all", "--json")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["user_id"] for r in records] == ["ann", "bob", "cat", "dan"]  # dan, with no topic, is listed too
    assert [t["topic_id"] for t in records[2]["topics"]] == ["coffee"] and records[3]["topics"] == []


def test_topics_all_reads_and_prints_a_chunk_of_users_at_a_time(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`topics --all` reads the records of a chunk of users, prints them, then reads the next: its memory does not
    grow with the users (read whole, 8,000 users' records took 0.9 GB), and its output is the same."""
    import matcher.topic_records as records

    whole = world("topics", "--all", "--json").stdout
    read, real = [], records.topic_records

    def chunk(engine, run_id, user_ids, *args, **kwargs):  # type: ignore[no-untyped-def]
        sys.stdout.flush()
        read.append((list(user_ids), sys.stdout.buffer.getvalue().count(b"\n")))  # (users, lines printed before)
        return real(engine, run_id, user_ids, *args, **kwargs)

    monkeypatch.setattr(records, "RECORD_CHUNK", 3)
    monkeypatch.setattr(records, "topic_records", chunk)
    assert world("topics", "--all", "--json").stdout == whole
    assert read == [(["ann", "bob", "cat"], 0), (["dan"], 3)]


def test_match_after_a_new_taxonomy_and_other_misuses_are_clean_errors(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = world("topics", "ann", "--changes")
    assert first.exit_code == 0 and "(the first: no earlier run to compare)" in first.stdout
    assert re.search(r"Travel \(travel\): new - -> [0-9.]+  first profile run", first.stdout)
    assert "None" not in first.stdout
    assert world("match", "--per-user", "0").exit_code == 2  # 0 perks a user would record an empty match
    folder = world("report", "user", "ann", "--out", str(tmp_path))
    assert folder.exit_code == 1 and "is a folder; give the path of the HTML file to write" in folder.stderr
    assert world("taxonomy", "load", write("other.yaml", [{"topic_id": "cooking", "name": "Cooking"}])).exit_code == 0
    result = world("match")  # the last profile's topics are gone: before, a KeyError
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "the taxonomy was replaced after profile run 1: 2 of its inferred topics are not in it (coffee, travel); " \
           "run `perkmatch profile` again" in " ".join(result.stderr.split())
    shown = world("topics", "ann", "--json")  # the run's topics, still listed, but not silently: they are stale
    assert shown.exit_code == 0 and json.loads(shown.stdout)["topics"][0]["topic_id"] == "travel"
    assert "Warning: the taxonomy was replaced after profile run 1" in " ".join(shown.stderr.split())
    assert "Warning: the taxonomy was replaced" in world("explain", "ann", "travel").stderr


def test_bad_out_paths_and_options_are_refused_before_any_work(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    def match_runs() -> int:
        with sqlite3.connect(tmp_path / "w.db") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM runs WHERE kind = 'match'").fetchone()[0])

    for args, message in ((["--out", str(tmp_path / "nowhere" / "a.csv")], "does not exist; create it"),
                          (["--out", str(tmp_path), "--format", "csv"], "is a folder; give the path of the CSV file"),
                          (["--out", str(tmp_path / "a.txt")], "cannot tell the format from the name; name the "
                                                                "file .csv or .jsonl, or give --format csv|jsonl")):
        result = world("match", *args)
        assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.output
    bare = world("match", "--format", "csv")  # before: ignored, and the table printed
    assert bare.exit_code == 2 and "give --out FILE too" in " ".join(bare.output.replace("│", " ").split())
    assert match_runs() == 0 and not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*.part"))
    first = world("match", "--changes")
    assert first.exit_code == 0 and "no earlier match run to compare with" in first.stdout
    assert "the first match run" in first.stderr
    again = world("match", "--changes")
    assert "no user's assignments changed since the last match" in again.stdout
    for args, message in ((["export", "ann", "--out", str(tmp_path)], "is a folder; give the path of the JSON file"),
                          (["export", "ann", "--out", str(tmp_path / "nowhere" / "x.json")], "does not exist"),
                          (["profile", "--consent-policy", "opt_in"], "'opt_in': use opt-in or opt-out")):
        result = world(*args)
        assert result.exit_code in (1, 2) and message in " ".join(result.output.replace("│", " ").split()), args
    wrote = world("match", "--out", str(tmp_path / "a.csv"))
    assert wrote.exit_code == 0 and (tmp_path / "a.csv").stat().st_mode & 0o044  # readable as any new file is


def test_a_user_the_profile_run_did_not_profile_is_named_not_shown_as_topicless(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def said(result) -> str:  # type: ignore[no-untyped-def]
        return " ".join(result.output.split())

    late = write("late.jsonl", posts_for("eve", "coffee espresso beans roast"))
    eve = write("eu.jsonl", [{"user_id": "eve", "consent": "opted_in"}])
    assert world("ingest", late, "--users", eve).exit_code == 0
    result = world("topics", "eve")  # before: "0 topic(s)", as if eve wrote about nothing
    assert result.exit_code == 1 and "eve is not in profile run 1: they were added after that run" in said(result)
    assert world("ingest", write("nc.jsonl", posts_for("fay", "coffee espresso beans roast")),
                 "--consent-policy", "opt-out").exit_code == 0
    for args in (["topics", "fay"], ["explain", "fay", "coffee"], ["report", "user", "fay", "--out",
                                                                   str(tmp_path / "fay.html")]):
        result = world(*args)  # before: "none of the user's posts is about this topic"
        assert result.exit_code == 1 and "fay is not in profile run 1: they have not opted in (consent: none " \
            "recorded)" in said(result), args
    assert world("match").exit_code == 0
    assert ("dan got no perk in match run 2: none of their 0 post(s) is about any topic often enough to be weighed "
            "(a topic needs at least 3 posts on it)") in said(world("explain", "dan"))  # before: pointed at an empty
    # list of candidates
    as_json = json.loads(world("explain", "dan", "--json").stdout)
    assert as_json["assignments"] == [] and as_json["reason"].startswith("dan got no perk")  # before: no reason
    assert "fay got no perk in match run 2: they have not opted in" in said(world("explain", "fay"))
    assert "eve got no perk in match run 2: they were added after that run; run `perkmatch profile`" in \
        said(world("explain", "eve"))
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0  # eve is profiled now, but not matched yet
    assert ("eve got no perk in match run 2: that run used profile run 1, made before they were profiled (profile "
            "run 3); run `perkmatch match` to match them") in said(world("explain", "eve"))  # before: "run profile"


def test_export_holds_every_run_assignments_and_withheld_perks(world) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0
    assert world("profile", "--as-of", "2025-03-02").exit_code == 0  # a second snapshot
    doc = json.loads(world("export", "bob").stdout)
    assert [(a["perk_id"], a["match_run"], a["catalog_version"]) for a in doc["assignments"]] == [("trips", 2, 1)]
    assert [(w["perk_id"], w["brand"], w["title"]) for w in doc["withheld"]] == [("lounge", "Sky", "Lounge pass")]
    assert [r["run_id"] for r in doc["earlier_profile_runs"]] == [1]
    earlier = doc["earlier_profile_runs"][0]["topics"][0]
    assert earlier["topic_id"] == "travel"
    # everything stored of that run, its evidence too (before: topics without evidence, rank or details)
    assert earlier["evidence"] and all(e["post_id"].startswith("bob-") for e in earlier["evidence"])
    assert {"rank", "engagement", "details"} <= earlier.keys()


def test_match_respects_region_quantity_dates_and_brand(world) -> None:  # type: ignore[no-untyped-def]
    result = world("match", "--json")
    assert result.exit_code == 0, result.output
    got = assignments(result)
    assert got == {"ann": ["lounge", "trips"], "bob": ["trips"], "cat": ["beans"]}
    first = json.loads(result.stdout.splitlines()[0])
    assert first["rank"] == 1 and first["topics"][0]["topic_id"] == "travel" and first["topics"][0]["evidence"]
    # every cited topic is one the perk is relevant to (coffee perks never ride on travel, nor the reverse)
    cited = [t for line in result.stdout.splitlines() for t in json.loads(line)["topics"]]
    assert all(t["relevance"] >= 0.9 and t["fit"] >= t["relevance"] for t in cited)


def test_explain_user_lists_withheld_perks_with_reasons(world) -> None:  # type: ignore[no-untyped-def]
    world("match")
    bob = json.loads(world("explain", "bob", "--json").stdout)
    reasons = {w["perk_id"]: w["reason"] for w in bob["withheld"]}
    assert reasons["lounge"].startswith("region: the perk is for US-NY; the user is in US-NJ")
    cat = json.loads(world("explain", "cat", "--json").stdout)
    assert {w["perk_id"]: w["reason"] for w in cat["withheld"]}["old-beans"] == "dates: the offer ended on 2020-01-01"


def test_per_user_cap(world) -> None:  # type: ignore[no-untyped-def]
    assert assignments(world("match", "--json", "--per-user", "1"))["ann"] == ["lounge"]


def test_brand_view_and_exports(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    world("match")
    view = json.loads(world("brand", "lounge", "--json").stdout)
    assert [u["user_id"] for u in view["users"]] == ["ann"] and view["quantity"] == 1
    assert view["users"][0]["topics"][0]["evidence"]
    out_csv = tmp_path / "a.csv"
    assert world("match", "--out", str(out_csv)).exit_code == 0
    rows = list(csv.DictReader(out_csv.read_text().splitlines()))
    assert [(r["user_id"], r["perk_id"]) for r in rows][:2] == [("ann", "lounge"), ("ann", "trips")]
    assert rows[0]["topics"] == "travel" and rows[0]["evidence_post_ids"].startswith("ann-")
    assert rows[0]["topic_names"] == "Travel"  # (before: ids only, unreadable under the IAB's numeric ids)
    out_jsonl = tmp_path / "a.out"
    assert world("match", "--out", str(out_jsonl), "--format", "jsonl").exit_code == 0
    assert len(out_jsonl.read_text().splitlines()) == 4
    bad = world("match", "--out", str(tmp_path / "a.xml"))  # before: "--format xml", an option not given
    assert bad.exit_code == 1 and "a.xml: cannot tell the format from the name" in bad.stderr
    wrong = world("match", "--out", str(tmp_path / "a.csv"), "--format", "xml")  # a bad value: 2 (before: 1)
    assert wrong.exit_code == 2 and "'xml': use csv or jsonl" in " ".join(wrong.stderr.replace("│", " ").split())
    empty = world("match", "--out", str(tmp_path / "e.csv"), "--format", "")  # before: taken for no --format, exit 0
    assert empty.exit_code == 2 and "'--format': is empty" in " ".join(empty.stderr.replace("│", " ").split())
    assert not (tmp_path / "e.csv").exists()
    ended = world("brand", "old-beans")  # its offer ended in 2020: before, shown as any other perk
    assert "(unlimited; regions: anywhere; offer ended 2020-01-01)" in ended.stdout
    assert json.loads(world("brand", "old-beans", "--json").stdout)["offer"] == "ended 2020-01-01"
    assert world("report", "brand", "Old", "--out", str(tmp_path / "old.html")).exit_code == 0
    page = (tmp_path / "old.html").read_text()
    assert "offer ended 2020-01-01" in page
    assert "<b>unlimited</b>" in page and "no limit</b> left" not in page  # before: read as "none remaining"


def test_match_changes_name_the_catalog_as_cause(world, write) -> None:  # type: ignore[no-untyped-def]
    world("match")
    assert world("catalog", "refresh", write("c2.yaml", PERKS[1:])).exit_code == 0
    result = world("match", "--changes", "--json")
    changes = {c["user_id"]: c for c in map(json.loads, result.stdout.splitlines())}
    assert changes["ann"]["lost"] == ["lounge"]
    assert "catalog: lounge retired" in changes["ann"]["causes"]
    # trips retired and added again as it was, then a per-user limit: the limit is the cause, not the catalog
    # (before: "catalog: trips changed", its records having started and ended between the two runs' versions)
    assert world("catalog", "refresh", write("c3.yaml", PERKS)).exit_code == 0
    world("match")
    assert world("catalog", "refresh", write("c4.yaml", [PERKS[0], *PERKS[2:]])).exit_code == 0
    assert world("catalog", "refresh", write("c5.yaml", PERKS)).exit_code == 0
    result = world("match", "--changes", "--json", "--per-user", "1")
    changes = {c["user_id"]: c for c in map(json.loads, result.stdout.splitlines())}
    assert changes["ann"]["lost"] == ["trips"]
    assert not any(c.startswith("catalog:") for c in changes["ann"]["causes"]), changes["ann"]


def test_match_changes_say_a_user_profiled_before_without_topics_changed_topics(world, write) -> None:  # type: ignore[no-untyped-def]
    world("match")  # dan is in profile run 1, with no posts and no topic
    assert world("ingest", write("dan.jsonl", posts_for("dan", "coffee espresso beans roast"))).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    changes = {c["user_id"]: c for c in map(json.loads, world("match", "--changes", "--json").stdout.splitlines())}
    assert changes["dan"]["gained"] and changes["dan"]["causes"] == [  # before: "user: profiled for the first time"
        "user: topics changed between profile runs 1 and 3 (`topics USER --changes --since 1` says why)"]


def test_topics_changes_after_new_posts(world, write) -> None:  # type: ignore[no-untyped-def]
    more = posts_for("cat", "coffee roast espresso brewing", 12)[6:]
    for p in more:
        p["post_id"] = p["post_id"] + "-new"
        p["created_at"] += 40 * 86_400
    assert world("ingest", write("more.jsonl", more)).exit_code == 0
    assert world("profile", "--as-of", "2025-05-01").exit_code == 0
    record = json.loads(world("topics", "cat", "--changes", "--json").stdout)
    change = next(c for c in record["changes"] if c["topic_id"] == "coffee")
    assert change["change"] == "score" and "new or updated post(s)" in change["why"]
    ann = json.loads(world("topics", "ann", "--changes", "--json").stdout)
    assert all("time passing" in c["why"] for c in ann["changes"])
    assert all("written after the previous run's date" not in c["why"] for c in ann["changes"])


def test_topics_changes_name_posts_a_later_as_of_reaches(world, write) -> None:  # type: ignore[no-untyped-def]
    late = posts_for("cat", "coffee roast espresso brewing", 3)  # stored with the rest, dated after the first run's
    for p in late:
        p["post_id"] += "-late"
        p["created_at"] = 1_741_000_000 + p["created_at"] - 1_735_732_800  # 2025-03-03 on, after its 2025-03-01
    world("ingest", write("late.jsonl", late))
    world("profile", "--as-of", "2025-03-01")
    assert world("profile", "--as-of", "2025-05-01").exit_code == 0
    change = next(c for c in json.loads(world("topics", "cat", "--changes", "--json").stdout)["changes"]
                  if c["topic_id"] == "coffee")
    assert "3 post(s) of the user's, on any topic, written after the previous run's date and by this one's, " \
           "now count" in change["why"] and "new or updated" not in change["why"]


def test_a_perk_rides_only_on_its_closest_topics_unless_the_catalog_targets_one(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from matcher.match import run_match
    from matcher.perk_space import MatchParams
    from matcher.store import Assignment, open_engine, session

    engine = open_engine(str(tmp_path / "w.db"))

    def users_of(perk: dict, closest: int) -> set[str]:
        assert world("catalog", "refresh", write("c2.yaml", [*PERKS, perk])).exit_code == 0
        run = run_match(engine, EmbeddingCache(engine, FakeEncoder()), params=MatchParams(perk_topics=closest)).run_id
        with session(engine) as s:
            return set(s.exec(select(Assignment.user_id).where(Assignment.run_id == run)
                              .where(Assignment.perk_id == perk["perk_id"])).all())

    mixed = {"perk_id": "mix", "brand": "Mix", "title": "Mixed box",
             "description": "travel flights airport lounge coffee espresso beans roast"}
    assert users_of(mixed, closest=2) == {"ann", "bob", "cat"}  # close to both topics: offered through both
    one = users_of(mixed, closest=1)
    assert one in ({"ann", "bob"}, {"cat"})  # through its closest topic only
    other = "coffee" if one == {"ann", "bob"} else "travel"
    assert users_of({**mixed, "topics": [other]}, closest=1) == {"ann", "bob", "cat"}  # a target opens it again


def test_a_topic_the_catalog_names_for_a_perk_admits_it_whatever_its_wording(world, write) -> None:  # type: ignore[no-untyped-def]
    """Before, a target was only a boost: a perk worded far from the topic its brand named (relevance under 0.90)
    reached nobody through it, and `brand` listed only the topics its words are about, never the one named."""
    worded = {"perk_id": "mugs", "brand": "Mug", "title": "Espresso mugs", "description": "coffee espresso beans roast"}
    assert world("catalog", "refresh", write("c2.yaml", [*PERKS, worded])).exit_code == 0
    assert "mugs" not in assignments(world("match", "--json", "--per-brand", "1")).get("ann", [])
    named = {**worded, "topics": ["travel"]}  # the brand's own word: for travellers
    assert world("catalog", "refresh", write("c3.yaml", [*PERKS, named])).exit_code == 0
    got = assignments(world("match", "--json"))
    assert "mugs" in got["ann"] and "mugs" in got["bob"]
    why = json.loads(world("explain", "ann", "mugs", "--json").stdout)
    assert why["status"] == "assigned" and [t["topic_id"] for t in why["assignment"]["topics"]] == ["travel"]
    listed = json.loads(world("brand", "mugs", "--json").stdout)
    assert {u["user_id"] for u in listed["users"]} >= {"ann", "bob"}


def test_a_profile_as_of_a_day_is_that_day_for_offer_dates_and_reports(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the profile ran --as-of 2025-03-01: its day is the 1st (before, the next midnight, so the 2nd), so an offer
    # ending on the 1st is still open and one starting on the 2nd is not yet
    perks = [*PERKS, {"perk_id": "last-day", "brand": "Last", "title": "Last beans",
                      "description": "coffee espresso beans roast", "ends": "2025-03-01"},
             {"perk_id": "tomorrow", "brand": "Soon", "title": "Soon beans",
              "description": "coffee espresso beans roast", "starts": "2025-03-02"}]
    assert world("catalog", "refresh", write("c2.yaml", perks)).exit_code == 0
    assert "last-day" in assignments(world("match", "--json"))["cat"]
    cat = json.loads(world("explain", "cat", "--json").stdout)
    assert {w["perk_id"]: w["reason"] for w in cat["withheld"]}["tomorrow"] == "dates: the offer starts on 2025-03-02"
    assert json.loads(world("brand", "last-day", "--json").stdout)["offer"] == "open"
    assert world("report", "user", "cat", "--out", str(tmp_path / "cat.html")).exit_code == 0
    page = (tmp_path / "cat.html").read_text()
    assert "(as of 2025-03-01)" in page


def test_the_match_summary_counts_the_users_with_topics_as_such(world) -> None:  # type: ignore[no-untyped-def]
    result = world("match")  # dan was profiled but has no topic
    assert result.exit_code == 0 and "assignment(s) among 3 user(s) with topics" in result.stderr  # before: "for 3
    # profiled user(s)", though 4 were profiled


def test_topics_changes_name_a_moved_usual_engagement_and_what_a_dropped_topic_falls_short_of(world, write) -> None:  # type: ignore[no-untyped-def]
    loud = posts_for("ann", "coffee espresso beans roast", 6)
    for i, p in enumerate(loud):  # ann's new posts elsewhere draw far more than her travel posts: her usual rises
        p.update(post_id=p["post_id"] + "-coffee", likes=500, text=f"coffee {WORDS[2 * i]} {WORDS[2 * i + 1]}")
        # (each its own words: a template with two words swapped would count once, ``post_signals.duplicate_mask``)
    assert world("ingest", write("loud.jsonl", loud)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    record = json.loads(world("topics", "ann", "--changes", "--json").stdout)
    travel = next(c for c in record["changes"] if c["topic_id"] == "travel")
    assert travel["change"] == "dropped"
    assert re.search(r"the user's usual engagement moved \([\d.]+ -> [\d.]+ a post: their posts elsewhere\), so this "
                     r"topic's against it went ×", travel["why"])  # before: only "6 new or updated post(s)", though
    # none was about travel
    assert "now short of: " in travel["why"]  # and what the dropped topic now lacks


def test_explain_shows_what_a_reply_answers_and_what_a_reddit_score_counts(world, write) -> None:  # type: ignore[no-untyped-def]
    replies = posts_for("ann", "flights airport lounge travel", 12)[6:]
    for p in replies:
        p.update(post_id=p["post_id"] + "-r", platform="reddit", context="Best airport lounges in Europe?", likes=50)
    assert world("ingest", write("r.jsonl", replies)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    said = world("explain", "ann", "travel").stdout
    assert "[in: Best airport lounges in Europe?]" in said  # before: the reply alone, not what made it count
    assert "on Reddit, ♥ is the post's score, which counts the author's own +1" in said
    table = " ".join(world("topics", "ann").stdout.split())
    assert "[in: Best airport lounges in Europe?]" in table  # text in [brackets] is not taken for rich markup


def test_match_changes_give_a_lost_perks_own_reason_and_print_only_what_moved(world, write) -> None:  # type: ignore[no-untyped-def]
    world("match")
    later = [dict(p, starts="2025-03-05") if p["perk_id"] == "beans" else p for p in PERKS]  # not open on the day
    assert world("catalog", "refresh", write("c3.yaml", later)).exit_code == 0
    record = next(c for c in map(json.loads, world("match", "--changes", "--json").stdout.splitlines())
                  if c["user_id"] == "cat")
    assert record["lost"] == ["beans"] and "catalog: beans changed" in record["causes"]
    assert "beans withheld: dates: the offer starts on 2025-03-05" in record["causes"]  # before: "changed" alone
    text = world("match", "--changes").stdout
    assert "cat: lost beans (" not in text  # nothing moved in this second run
    assert world("catalog", "refresh", write("c4.yaml", PERKS)).exit_code == 0
    line = next(x for x in world("match", "--changes").stdout.splitlines() if x.startswith("cat:"))
    assert line.startswith("cat: gained beans (") and "+-" not in line  # before: "cat: +beans --"


def test_match_as_of_checks_offer_dates_on_that_day_and_says_which(world, write) -> None:  # type: ignore[no-untyped-def]
    perks = [*PERKS[:2], {**PERKS[2], "ends": "2025-03-10"}, {**PERKS[3], "quantity": 0, "ends": None}]
    assert world("catalog", "refresh", write("c2.yaml", perks)).exit_code == 0
    first = world("match", "--json")  # on the profile run's day, 2025-03-01: the beans offer is open
    assert "offers as of 2025-03-01" in first.stderr
    assert ("cat", "beans") in {(r["user_id"], r["perk_id"]) for r in map(json.loads, first.stdout.splitlines())}
    later = world("match", "--as-of", "2025-04-01", "--json")
    assert later.exit_code == 0 and "offers as of 2025-04-01" in later.stderr
    assert "beans" not in {json.loads(line)["perk_id"] for line in later.stdout.splitlines()}
    withheld = {w["perk_id"]: w["reason"] for w in json.loads(world("explain", "cat", "--json").stdout)["withheld"]}
    assert withheld["beans"] == "dates: the offer ended on 2025-03-10"
    assert withheld["old-beans"] == "quantity: none to give (the catalog gives it quantity 0)"  # not "all 0 went"
    assert json.loads(world("brand", "beans", "--json").stdout)["offer"] == "ended 2025-03-10"  # the run's day
    assert world("match", "--as-of", "someday").exit_code == 2 and world("match", "--per-brand", "0").exit_code == 2


def test_a_withdrawn_sensitive_opt_in_hides_the_topic_before_the_next_profile(world, write) -> None:  # type: ignore[no-untyped-def]
    users = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY", "sensitive_opt_in": ["health"]}]
    health = [{**p, "post_id": p["post_id"] + "-h"} for p in posts_for("ann", "doctor therapy medicine")]
    assert world("ingest", write("h.jsonl", health), "--users", write("u.jsonl", users)).exit_code == 0
    therapy = {"perk_id": "clinic", "brand": "Calm", "title": "Therapy sessions", "description": "doctor therapy"}
    assert world("catalog", "refresh", write("c2.yaml", [*PERKS, therapy])).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0 and world("match").exit_code == 0

    def shown() -> tuple[set[str], set[str], list[str]]:
        topics = {t["topic_id"] for t in json.loads(world("topics", "ann", "--json").stdout)["topics"]}
        perks = {a["perk_id"] for a in json.loads(world("explain", "ann", "--json").stdout)["assignments"]}
        return topics, perks, [u["user_id"] for u in json.loads(world("brand", "clinic", "--json").stdout)["users"]]

    assert shown() == ({"travel", "health"}, {"lounge", "trips", "clinic"}, ["ann"])  # opted in: shown, matched on
    users[0]["sensitive_opt_in"] = []  # withdrawn; no profile run since: the stored run still holds the topic
    withdrawn = world("ingest", "--users", write("u2.jsonl", users))
    assert withdrawn.exit_code == 0 and "1 user(s) withdrew a sensitive opt-in" in withdrawn.stderr
    assert shown() == ({"travel"}, {"lounge", "trips"}, [])  # before: still listed, cited, matched until a profile
    stored = world("export", "ann").stdout  # nor is it kept: before, the stored run still held it, and `export` said so
    assert "health" not in stored and "clinic" not in stored and "travel" in stored
    assert json.loads(world("brand", "clinic", "--json").stdout)["assigned"] == 1  # the unit given stays counted
    assert world("match").exit_code == 0
    assert "clinic" not in world("match", "--json").stdout and "health" not in world("topics", "--all", "--json").stdout


def test_entities_reddit_and_twitter_send_are_shown_as_read_and_kept_in_json(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    gus = [{**p, "text": p["text"] + " &gt; tea &amp; cake"} for p in posts_for("gus", "coffee espresso beans roast")]
    users = write("g.jsonl", [{"user_id": "gus", "consent": "opted_in"}])
    assert world("ingest", write("gus.jsonl", gus), "--users", users).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    assert "> tea & cake" in world("topics", "gus").stdout  # before: "&gt; tea &amp; cake"
    assert "&gt; tea &amp; cake" in world("topics", "gus", "--json").stdout  # the stored text, as the contract has it
    assert world("report", "user", "gus", "--out", str(tmp_path / "g.html")).exit_code == 0
    page = (tmp_path / "g.html").read_text()
    assert "&gt; tea &amp; cake" in page and "&amp;gt;" not in page  # shown as "> tea & cake", escaped once


def test_brackets_in_names_titles_and_paths_are_printed_as_written(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # before: rich read "[abc]" as a style (it vanished) and "[/b]" as a closing tag (a MarkupError traceback)
    perks = [{**PERKS[1], "brand": "Roam [/b] Co", "title": "[abc] Trips credit"}]
    assert world("catalog", "refresh", write("c[v2].yaml", perks)).exit_code == 0
    versions = world("catalog", "versions")
    assert "c[v2].yaml" in versions.stdout
    matched = world("match")
    assert matched.exit_code == 0 and "Roam [/b] Co: [abc] Trips credit" in matched.stdout
    brand = world("brand", "trips")
    assert brand.exit_code == 0 and "Roam [/b] Co: [abc] Trips credit" in brand.stdout
    taxonomy = [{**TAXONOMY[0], "name": "Travel [b]and[/b] [x]"}, *TAXONOMY[1:]]
    assert world("taxonomy", "load", write("t2.yaml", taxonomy)).exit_code == 0
    assert "Travel [b]and[/b] [x]" in world("topics", "ann").stdout
    posts = write("p[1].jsonl", posts_for("ann", "flights airport lounge travel"))
    assert "p[1].jsonl: posts added 0" in " ".join(world("ingest", posts).stdout.split())


def test_a_brand_name_or_a_near_miss_given_for_a_perk_id_is_answered(world) -> None:  # type: ignore[no-untyped-def]
    world("match")
    by_brand = world("brand", "sky")  # before: "no perk 'sky' in the catalog; `catalog versions` lists loads"
    assert by_brand.exit_code == 1 and "that is a brand; its live perks are lounge" in by_brand.stderr
    assert "`perkmatch report brand 'Sky' --out F.html` for all" in " ".join(by_brand.stderr.split())
    assert "did you mean lounge?" in world("brand", "loung").stderr
    assert "that is a brand" in world("catalog", "show", "Bean").stderr
    # as the per-brand limit counts brands: width and spacing aside too ("ＳＫＹ " is Sky)
    assert "that is a brand; its live perks are lounge" in world("brand", "\uff33\uff2b\uff39 ").stderr


def test_match_csv_cells_never_run_as_formulas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from matcher.export import write_assignments

    evidence = [{"post_id": "=1+1", "platform": "reddit"}, {"post_id": "p2", "platform": "mastodon"}]
    record = {"user_id": "@ann", "rank": 1, "perk_id": "-p1", "brand": "+Brand", "title": "=HYPERLINK(\"x\")",
              "score": -0.5, "topics": [{"topic_id": "travel", "evidence": evidence}]}
    write_assignments([record], str(tmp_path / "a.csv"))
    row = next(csv.DictReader((tmp_path / "a.csv").read_text().splitlines()))
    assert (row["user_id"], row["perk_id"], row["brand"], row["title"]) == ("'@ann", "'-p1", "'+Brand",
                                                                           "'=HYPERLINK(\"x\")")
    assert row["evidence_post_ids"] == "'=1+1|p2" and row["evidence_platforms"] == "reddit|mastodon"
    assert row["score"] == "-0.5" and row["topics"] == "travel"  # numbers and plain text as they are
    assert row["topic_names"] == "travel"  # a record without names: the ids (an assignment's record has them)
    write_assignments([record], str(tmp_path / "a.jsonl"))  # JSON Lines is read by programs: unchanged
    assert json.loads((tmp_path / "a.jsonl").read_text())["title"] == "=HYPERLINK(\"x\")"


def test_export_shows_each_match_as_it_was(world, write) -> None:  # type: ignore[no-untyped-def]
    world("match")
    renamed = [dict(PERKS[2], title="Beans, new name"), *PERKS[:2], *PERKS[3:]]
    assert world("catalog", "refresh", write("c2.yaml", renamed)).exit_code == 0
    more = posts_for("cat", "coffee roast espresso brewing", 12)[6:]
    for p in more:
        p["post_id"] += "-new"
        p["created_at"] += 40 * 86_400
    assert world("ingest", write("more.jsonl", more)).exit_code == 0
    assert world("profile", "--as-of", "2025-05-01").exit_code == 0
    world("match")
    first, second = json.loads(world("export", "cat").stdout)["assignments"]
    # before: both showed the perk's newest title, and the newest profile run's evidence (posts the first match
    # never saw)
    assert first["match_run"] < second["match_run"]
    assert (first["title"], second["title"]) == ("Beans", "Beans, new name")
    assert first["catalog_since"] == "changed" and "catalog_since" not in second  # said where it is shown
    assert not any(e["post_id"].endswith("-new") for t in first["topics"] for e in t["evidence"])
    assert any(e["post_id"].endswith("-new") for t in second["topics"] for e in t["evidence"])


def test_a_perk_retired_then_added_back_as_it_was_is_named_and_not_said_to_have_changed(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0
    assert world("catalog", "refresh", write("c2.yaml", PERKS[1:])).exit_code == 0  # lounge retired
    named = world("match", "--dry-run", "--perk", "lounge")  # before: only "no assignment of the perks selected"
    assert named.exit_code == 0 and "it was retired in version 2" in named.stdout and "this dry run" in named.stdout
    assert world("catalog", "refresh", write("c3.yaml", PERKS)).exit_code == 0  # back, exactly as it was
    lounge = next(a for a in json.loads(world("export", "ann").stdout)["assignments"] if a["perk_id"] == "lounge")
    assert "catalog_since" not in lounge  # before: "changed in the catalog since"


def test_a_perk_retired_by_the_latest_refresh_is_said_retired_where_its_assignment_is_shown(world, write) -> None:  # type: ignore[no-untyped-def]
    # the refresh that retires lounge makes the live version the very one it was retired in (retired == live): the
    # assignment of the match before it, and the brand's view of it, still say so
    assert world("match").exit_code == 0
    assert world("catalog", "refresh", write("c2.yaml", PERKS[1:])).exit_code == 0  # lounge retired in version 2
    lounge = next(a for a in json.loads(world("explain", "ann", "--json").stdout)["assignments"]
                  if a["perk_id"] == "lounge")
    assert lounge["catalog_since"] == "retired"
    view = json.loads(world("brand", "lounge", "--json").stdout)
    assert view["retired"] and view["offer"] == "retired" and "was retired in the catalog after match run" in \
        view["note"]


def test_a_perk_retired_before_the_match_is_not_said_to_have_been_retired_after_it(world, write) -> None:  # type: ignore[no-untyped-def]
    # lounge retired in version 2, then a match on version 2: the brand's view says it is retired, and no note that
    # the catalog moved on after the match (it did not)
    assert world("catalog", "refresh", write("c2.yaml", PERKS[1:])).exit_code == 0
    assert world("match").exit_code == 0
    result = world("brand", "lounge", "--json")
    view = json.loads(result.stdout)
    assert view["retired"] and view["users"] == [] and view["catalog_version"] == 2
    assert "note" not in view and "after match run" not in result.stderr
    assert "nobody" not in view  # "retired" is why nobody has it: no why-nobody is worked out beside it


def test_bare_links_are_about_no_topic_even_under_a_thread_title(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    links = [{"post_id": f"eve-{i}", "user_id": "ann", "text": f"https://example.com/deal/{i} [](https://x.io/{i})",
              "context": "flights airport lounge travel trips", "created_at": 1_735_732_800 + i * 3 * 86_400,
              "likes": 50, "replies": 5} for i in range(8)]
    for p in links:
        p["user_id"] = "eve"
    users = [{"user_id": "eve", "consent": "opted_in", "region": "US"}]
    assert world("ingest", write("eve.jsonl", links), "--users", write("eve-u.jsonl", users)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    assert json.loads(world("topics", "eve", "--json").stdout)["topics"] == []
    from matcher.classify import ClassifyParams
    from matcher.profile_chunk import load_user_posts
    from matcher.store import open_engine

    engine = open_engine(str(tmp_path / "w.db"))
    loaded = load_user_posts(engine, EmbeddingCache(engine, FakeEncoder()), ["eve", "ann"], ClassifyParams())
    # before: read (as the thread's, weight 2 beside the empty text's vector), so about whatever that is near
    assert loaded["eve"][0].readable is not None and not loaded["eve"][0].readable.any()
    assert loaded["ann"][0].readable.all()  # every post of hers has words: all read, as before
    why = json.loads(world("explain", "eve", "travel", "--json").stdout)
    assert why["inferred"] is False and why["wordless_posts"] == 8
    assert "8 of the user's posts are bare links, with no words of their own" in why["verdict"]
    ann = json.loads(world("topics", "ann", "--json").stdout)["topics"]
    assert [t["topic_id"] for t in ann] == ["travel"]  # posts with words of their own are read as before


def test_brand_view_shows_the_perk_as_the_match_saw_it(world, write) -> None:  # type: ignore[no-untyped-def]
    world("match")
    renamed = [dict(PERKS[0], title="Renamed lounge", quantity=0), *PERKS[1:]]
    assert world("catalog", "refresh", write("c2.yaml", renamed)).exit_code == 0
    result = world("brand", "lounge")
    # before: "Renamed lounge (1 of 0 used ...)": the newest record beside the last match's assignments
    assert "lounge — Sky: Lounge pass (1 of 1 used" in result.stdout
    assert "changed in the catalog after match run" in result.stderr and "run `perkmatch match` again" in result.stderr
    view = json.loads(world("brand", "lounge", "--json").stdout)
    assert (view["title"], view["quantity"], view["catalog_version"]) == ("Lounge pass", 1, 1)
    assert "(score " in world("explain", "ann").stdout and "changed in the catalog since" in world("explain",
                                                                                                 "ann").stdout
    world("match")
    fresh = world("brand", "lounge")
    assert "Renamed lounge (0 of 0 used" in fresh.stdout and "changed in the catalog" not in fresh.stderr


def test_brand_view_gives_the_regions_and_offer_the_match_checked(world, write) -> None:  # type: ignore[no-untyped-def]
    # the lounge pass, since opened to all the US and ended: the brand's view of the last match gives the regions and
    # offer window that match checked (US-NY, open), beside the note that the catalog changed
    world("match")
    changed = [dict(PERKS[0], regions=["US"], ends="2020-01-01"), *PERKS[1:]]
    assert world("catalog", "refresh", write("c2.yaml", changed)).exit_code == 0
    view = json.loads(world("brand", "lounge", "--json").stdout)
    assert (view["regions"], view["offer"]) == (["US-NY"], "open") and "changed in the catalog" in view["note"]


def test_a_withheld_perk_is_named_as_the_match_saw_it(world, write) -> None:  # type: ignore[no-untyped-def]
    # bob (US-NJ) had the US-NY lounge withheld; renamed in the catalog since, it is told by the run's title
    world("match")
    renamed = [dict(PERKS[0], brand="Cloud", title="Renamed lounge"), *PERKS[1:]]
    assert world("catalog", "refresh", write("c2.yaml", renamed)).exit_code == 0
    withheld = json.loads(world("explain", "bob", "--json").stdout)["withheld"]
    assert [(w["perk_id"], w["brand"], w["title"]) for w in withheld] == [("lounge", "Sky", "Lounge pass")]


def test_explain_user_lists_the_last_matchs_withheld_perks_only_and_no_reason_beside_assignments(world) -> None:  # type: ignore[no-untyped-def]
    world("match")
    world("match")  # two runs, each withholding the lounge from bob
    bob = json.loads(world("explain", "bob", "--json").stdout)
    assert [w["perk_id"] for w in bob["withheld"]] == ["lounge"]  # once: the last run's, not every run's
    assert [a["perk_id"] for a in bob["assignments"]] == ["trips"] and "reason" not in bob  # (why none: only for none)


def test_brand_counts_units_used_by_assignments_no_longer_shown(world, write) -> None:  # type: ignore[no-untyped-def]
    hal = [{"user_id": "hal", "consent": "opted_in", "region": "US", "sensitive_opt_in": ["health"]}]
    posts = posts_for("hal", "doctor therapy medicine")
    clinic = {"perk_id": "clinic", "brand": "Care", "title": "Clinic visit", "description": "doctor therapy medicine",
              "quantity": 5}
    assert world("ingest", write("hal.jsonl", posts), "--users", write("hal-u.jsonl", hal)).exit_code == 0
    assert world("catalog", "refresh", write("c2.yaml", [*PERKS, clinic])).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    world("match")
    assert json.loads(world("brand", "clinic", "--json").stdout)["assigned"] == 1
    withdrawn = [{"user_id": "hal", "sensitive_opt_in": []}]
    assert world("ingest", "--users", write("hal-u2.jsonl", withdrawn)).exit_code == 0
    view = json.loads(world("brand", "clinic", "--json").stdout)
    # hal's assignment is no longer shown (it rested on health alone), but its unit was given: before, "0 of 5 used"
    assert view["users"] == [] and view["assigned"] == 1


def test_a_dry_run_prints_the_match_and_keeps_nothing(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, text

    def counts() -> tuple[int, ...]:
        with create_engine(f"sqlite:///{world.db}").connect() as conn:
            return tuple(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                         for t in ("runs", "assignments", "withheld"))

    first = world("match", "--dry-run", "--json")  # no match yet: a preview of the first
    assert first.exit_code == 0, first.output
    assert "dry run, not kept: 4 assignment(s) among 3 user(s)" in first.stderr
    assert "no earlier match run" in first.stderr
    assert world("brand", "lounge").exit_code == 1  # nothing was kept: there is still no match to read
    before = counts()
    kept = world("match", "--json")
    assert kept.stdout == first.stdout  # the preview is what the match then keeps, record for record
    assert counts() != before
    before = counts()
    # one perk a user: ann would lose trips to her per-user limit; nothing changes until a match keeps it
    preview = world("match", "--dry-run", "--changes", "--json", "--per-user", "1")
    assert [c["user_id"] for c in map(json.loads, preview.stdout.splitlines())] == ["ann"]
    assert "1 user(s) would change since the last match" in preview.stderr
    out_csv = tmp_path / "preview.csv"
    assert world("match", "--dry-run", "--per-user", "1", "--out", str(out_csv)).exit_code == 0
    assert [r["perk_id"] for r in csv.DictReader(out_csv.read_text().splitlines())] == ["lounge", "trips", "beans"]
    assert counts() == before
    assert assignments(world("match", "--json"))["ann"] == ["lounge", "trips"]  # the previews changed no setting
    ann = json.loads(world("explain", "ann", "--json").stdout)
    assert [a["perk_id"] for a in ann["assignments"]] == ["lounge", "trips"]
    again = world("match", "--changes", "--json")  # against the last kept run, not a preview
    assert again.exit_code == 0 and again.stdout == ""


def test_changes_say_why_a_kept_perks_score_moved(world, write) -> None:  # type: ignore[no-untyped-def]
    world("match")
    reworded = [p | {"description": "travel trips flights airport hotels"} if p["perk_id"] == "trips" else p
                for p in PERKS]  # the same perk, reworded: it fits the same users, a little otherwise
    result = world("match", "--dry-run", "--catalog", write("reworded.yaml", reworded), "--changes", "--json")
    assert result.exit_code == 0, result.output
    changes = {c["user_id"]: c for c in map(json.loads, result.stdout.splitlines())}
    ann = changes["ann"]
    assert (ann["gained"], ann["lost"], [m["perk_id"] for m in ann["moved"]]) == ([], [], ["trips"])
    assert ann["moved"][0]["before"] != ann["moved"][0]["after"] and "catalog: trips changed" in ann["causes"]
    text = world("match", "--dry-run", "--catalog", write("reworded.yaml", reworded), "--changes").stdout
    assert re.search(r"ann: trips score [\d.]+ -> [\d.]+ \(catalog: trips changed", text)  # before: "no user's
    # assignments changed since the last match", the score moved unsaid


def test_changes_say_a_kept_perks_score_moved_with_a_post_stored_again(world, write) -> None:  # type: ignore[no-untyped-def]
    world("match")
    counted = json.loads(world("topics", "ann", "--json").stdout)["topics"][0]["evidence"][0]["post_id"]
    edited = [p | {"text": "flights airport lounge travel espresso beans"} for p in
              posts_for("ann", "flights airport lounge travel") if p["post_id"] == counted]
    assert world("ingest", write("edited.jsonl", edited)).exit_code == 0  # after the match, no profile run since
    for extra in ([], ["--per-user", "4"]):  # a limit changed beside it moves no score: the post is still named
        result = world("match", "--dry-run", "--changes", "--json", *extra)
        ann = next(c for c in map(json.loads, result.stdout.splitlines()) if c["user_id"] == "ann")
        assert ann["moved"] and any(re.fullmatch(r"user: posts behind their topics were stored again \(a new text or "
                                                 r"context\) after match run \d+, and were read as they are now", c)
                                    for c in ann["causes"]), extra  # before: "the taxonomy, the model or perkmatch's
        # rules changed", or only the limit


def test_a_dry_run_previews_a_catalog_file_and_makes_nothing_live(world, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    world("match")
    jetset = {"perk_id": "jetset", "brand": "Jet", "title": "Jet miles", "description": "flights airport trips travel"}
    nxt = write("next.yaml", [*PERKS[1:], jetset])  # the lounge pass retired, a travel perk added
    result = world("match", "--dry-run", "--catalog", nxt, "--changes", "--json")
    assert result.exit_code == 0, result.output
    assert "next.yaml as catalog version 2 (not kept): added 1, changed 0, retired 1" in " ".join(result.stderr.split())
    changes = {c["user_id"]: c for c in map(json.loads, result.stdout.splitlines())}
    assert "lounge" in changes["ann"]["lost"] and "catalog: lounge retired" in changes["ann"]["causes"]
    assert "jetset" in changes["ann"]["gained"] and "catalog: jetset added" in changes["ann"]["causes"]
    previewed = assignments(world("match", "--dry-run", "--catalog", nxt, "--json"))
    assert "jetset" in previewed["ann"] and "lounge" not in previewed["ann"]
    # nothing went live: one catalog version, no such perk, and the match kept is the last one
    assert [json.loads(v)["version"] for v in world("catalog", "versions", "--json").stdout.splitlines()] == [1]
    assert world("catalog", "show", "jetset").exit_code == 1
    assert world("brand", "jetset").exit_code == 1 and world("brand", "lounge").exit_code == 0
    assert assignments(world("match", "--json"))["ann"] == ["lounge", "trips"]
    bad = world("match", "--dry-run", "--catalog", write("bad.yaml", [{"perk_id": "x", "brand": "X"}]))
    assert bad.exit_code == 1 and "bad.yaml" in bad.stderr and "title" in bad.stderr
    assert world("match", "--catalog", nxt).exit_code == 2  # a preview only: refused without --dry-run
    # another encoder than the profile run's (a forgotten --encoder): refused, for every command reading the run's
    # vectors; before, the match ran, reading none of the users' posts, and placed perks in another space
    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, FakeEncoder(dim=32)))
    for command in (["match", "--dry-run", "--catalog", nxt, "--json"], ["match"], ["explain", "ann", "beans"],
                    ["brand", "old-beans"]):
        other = world(*command)
        assert other.exit_code == 1 and "profile run 1 was made with the encoder fake-64, and this command's is " \
            "fake-32: give it `--encoder torch` and the same --model as the profile run was given" in " ".join(
                other.stderr.split()), command
    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, FakeEncoder()))
    assert world("catalog", "refresh", write("c-next.yaml", PERKS[1:])).exit_code == 0
    listed = [json.loads(v) for v in world("catalog", "versions", "--json").stdout.splitlines()]
    assert [(v["version"], v["status"], v["current"]) for v in listed] == [(1, "live", False), (2, "live", True)]
    assert "2 (live)" in world("catalog", "versions").stdout  # which one is served: before, every one said "live"


def test_a_catalog_read_from_a_pipe_or_with_no_perks_is_previewed(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import threading

    world("match")
    pipe = tmp_path / "next.jsonl"
    os.mkfifo(pipe)
    rows = "".join(json.dumps(p) + "\n" for p in PERKS[1:])

    def unblock() -> None:  # a command opening the pipe again waits for a writer: give it an empty one, not a hang
        try:
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass  # no reader waiting

    for args in (["catalog", "refresh", "--dry-run"], ["match", "--dry-run", "--changes", "--catalog"]):
        feeder = threading.Thread(target=pipe.write_text, args=(rows,))
        feeder.start()
        timer = threading.Timer(15, unblock)
        timer.start()
        result = world(*args, str(pipe))  # before: the early check read the pipe, and the refresh waited for more
        timer.cancel()
        feeder.join(timeout=5)
        assert result.exit_code == 0, result.output
        assert "retired 1" in " ".join((result.stdout + result.stderr).split()), args  # the lounge pass, no more
    # a file with no perks: refused as a refresh (a truncated export), previewed as what it would do
    empty, nxt_ok = write("empty.jsonl", ""), write("ok.jsonl", PERKS[1:])
    result = world("match", "--dry-run", "--changes", "--json", "--catalog", empty)
    assert result.exit_code == 0, result.output
    assert "retired 4" in result.stderr
    assert {c["user_id"] for c in map(json.loads, result.stdout.splitlines())} == {"ann", "bob", "cat"}
    assert world("catalog", "refresh", empty).exit_code == 1
    dry = world("catalog", "refresh", "--dry-run", empty)  # before: "would be version 2", and the refresh refused
    assert dry.exit_code == 1 and "would be refused: the file has no perks" in " ".join(dry.stdout.split())
    refused = world("catalog", "refresh", "--dry-run", "--json", empty)  # exit 1 as the refresh: a gate must not pass
    assert refused.exit_code == 1 and json.loads(refused.stdout)["refused"].startswith("the file has no perks")
    assert "refused" not in json.loads(world("catalog", "refresh", "--dry-run", "--json", nxt_ok).stdout)


def test_a_dry_run_cannot_be_committed_and_an_interrupted_one_says_nothing_was_kept(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.match
    from matcher.match import run_match
    from matcher.store import open_engine

    eng = open_engine(world.db)
    cache = EmbeddingCache(eng, FakeEncoder())
    with pytest.raises(RuntimeError, match="about to be committed"):  # a helper reading it back that commits
        run_match(eng, cache, read_back=lambda s, run_id: s.commit())
    assert world("brand", "lounge").exit_code == 1  # still no match kept
    with pytest.raises(ValueError):
        run_match(eng, cache, stage=lambda s: None)  # staged changes without a dry run would be committed

    def stopped(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(matcher.match, "run_match", stopped)
    result = world("match", "--dry-run")
    assert result.exit_code == 130 and "Interrupted: a dry run keeps nothing" in result.stderr
    assert "finished work is kept" in world("match").stderr


def test_match_perk_and_brand_select_what_is_printed_and_written(world, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    world("match")
    assert assignments(world("match", "--dry-run", "--json", "--perk", "lounge")) == {"ann": ["lounge"]}
    assert assignments(world("match", "--dry-run", "--json", "--brand", " SKY ")) == {"ann": ["lounge"]}
    both = world("match", "--dry-run", "--json", "--perk", "trips", "--perk", "beans")
    assert assignments(both) == {"ann": ["trips"], "bob": ["trips"], "cat": ["beans"]}
    assert "4 assignment(s) among 3 user(s)" in both.stderr  # the summary still counts the whole match
    unmoved = world("match", "--dry-run", "--changes", "--per-user", "1", "--perk", "beans")  # ann's trips moved
    assert unmoved.stdout.strip() == "no user's assignments of the perks selected changed since the last match"
    mixed = world("match", "--dry-run", "--json", "--perk", "trips", "--brand", "Bean")  # before: quietly nothing
    assert mixed.exit_code == 1 and "--perk trips: not a perk of 'Bean'" in mixed.stderr
    out_csv = tmp_path / "sky.csv"
    assert world("match", "--dry-run", "--brand", "Sky", "--out", str(out_csv)).exit_code == 0
    assert [r["perk_id"] for r in csv.DictReader(out_csv.read_text().splitlines())] == ["lounge"]
    # the changes of the perks selected: a catalog retiring both of ann's perks, told of trips alone
    moved = world("match", "--dry-run", "--changes", "--json", "--catalog", write("less.yaml", PERKS[2:]),
                  "--perk", "trips")
    changes = {c["user_id"]: c for c in map(json.loads, moved.stdout.splitlines())}
    assert {u: (c["gained"], c["lost"]) for u, c in changes.items()} == {"ann": ([], ["trips"]), "bob": ([], ["trips"])}
    assert changes["ann"]["causes"] == ["catalog: trips retired"]  # not "catalog: lounge retired"
    typo = world("match", "--perk", "loung")  # refused before the match runs: nothing kept
    assert typo.exit_code == 1 and "did you mean lounge" in typo.stderr
    assert "did you mean Sky" in world("match", "--dry-run", "--brand", "Skyy").stderr
    # a perk only a previewed catalog has is selected through it
    jetset = {"perk_id": "jetset", "brand": "Jet", "title": "Jet miles", "description": "flights airport trips travel"}
    nxt = write("next.yaml", [*PERKS, jetset])
    assert "jetset" in assignments(world("match", "--dry-run", "--json", "--catalog", nxt, "--perk", "jetset"))["ann"]
    assert world("match", "--dry-run", "--perk", "jetset").exit_code == 1
    # a perk the preview gives to nobody: why, in the preview's terms (a brand trying a perk before it goes live)
    paris = {"perk_id": "paris", "brand": "Roam", "title": "Paris trip", "description": "travel trips flights airport",
             "regions": ["FR"]}
    said = world("match", "--dry-run", "--catalog", write("fr.yaml", [*PERKS, paris]), "--brand", "Roam")
    assert said.exit_code == 0 and "#1 trips" in said.stdout
    assert "paris: nobody would get it in this dry run: it was withheld from 2 user(s) (2 by region)" in \
        " ".join(said.stdout.split())
    kept = " ".join(world("match", "--perk", "old-beans").stdout.split())  # a kept match names its run
    assert "old-beans: nobody got it in match run" in kept and "(1 by dates)" in kept
    written = world("match", "--dry-run", "--perk", "old-beans", "--out", str(tmp_path / "old.csv"))  # said with --out
    assert "wrote 0 assignment(s)" in written.stderr and "old-beans: nobody would get it" in written.stderr


def test_match_json_keeps_why_a_perk_went_to_nobody_off_its_records(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # with --json, stdout is the records, one JSON object a line: why old-beans went to nobody goes to stderr, and
    # --out writes the assignments alone, printing none of them
    shown = world("match", "--dry-run", "--json", "--perk", "old-beans", "--perk", "beans")
    assert shown.exit_code == 0 and assignments(shown) == {"cat": ["beans"]}  # (each line parses as a record)
    assert "old-beans: nobody would get it" in shown.stderr and "old-beans" not in shown.stdout
    written = world("match", "--dry-run", "--json", "--out", str(tmp_path / "all.jsonl"))
    assert written.stdout == "" and len((tmp_path / "all.jsonl").read_text().splitlines()) == 4


def test_catalog_show_lists_the_live_perks_and_unknown_ids_point_to_it(world) -> None:  # type: ignore[no-untyped-def]
    listed = world("catalog", "show")
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["beans", "lounge", "old-beans", "trips"]
    assert "lounge  Sky - Lounge pass (quantity: 1; regions: US-NY; offer: any time to open-ended)" in listed.stdout
    assert [r["perk_id"] for r in map(json.loads, world("catalog", "show", "--json").stdout.splitlines())] == [
        "beans", "lounge", "old-beans", "trips"]
    # before: "`perkmatch catalog versions` lists what was loaded" (counts only), and explain named topics alone
    assert world("match").exit_code == 0
    assert "`perkmatch catalog show` lists the live perks" in world("brand", "zzz").stderr
    assert "nor is it a perk's id (`perkmatch catalog show`" in " ".join(world("explain", "ann", "zzz").stderr.split())


def test_explain_says_when_a_topics_engagement_is_its_reshares_alone(world, write) -> None:  # type: ignore[no-untyped-def]
    shares = [p | {"is_share": True} for p in posts_for("dan", "flights airport lounge travel")]
    assert world("ingest", write("dan.jsonl", shares)).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    said = " ".join(world("explain", "dan", "travel").stdout.split())
    assert "not inferred" in said and "that of posts passing on others' words or repeating the user's (it has no " \
        "post in their own words)" in said  # before: as if of their own posts
    assert "(not their own posts')" in world("topics", "dan", "--candidates").stdout  # the table says so too
    assert "its typical post's" in " ".join(world("explain", "ann", "travel").stdout.split())  # of their own posts


def test_evidence_stored_again_after_the_run_is_said_to_be_shown_as_it_is_now(world, write) -> None:  # type: ignore[no-untyped-def]
    # before: a topic's evidence showed the posts' new text and likes as if the run had read them, without a word
    assert world("match").exit_code == 0
    edited = posts_for("ann", "flights airport lounge travel")[:2]
    for p in edited:
        p["likes"] = 500
    assert world("ingest", write("edited.jsonl", edited)).exit_code == 0
    said = "2 evidence post(s) were stored again (a new text or new engagement) after profile run 1 read them"
    for args in (["topics", "ann"], ["explain", "ann", "travel"], ["brand", "lounge"], ["explain", "ann"],
                 ["explain", "ann", "lounge"]):
        assert said in " ".join(world(*args).stderr.split()), args
    assert "stored again" not in world("explain", "ann", "coffee").stderr  # another topic's evidence: not told
    for kind, who in (("user", "ann"), ("brand", "Sky")):  # the report pages say it too
        page = world.tmp / f"{kind}.html"
        assert world("report", kind, who, "--out", str(page)).exit_code == 0
        assert said in " ".join(page.read_text().split()), kind
    assert said not in world("topics", "bob").stderr  # bob's posts were not touched
    flagged = {e["post_id"] for t in json.loads(world("topics", "ann", "--json").stdout)["topics"]
               for e in t["evidence"] if e.get("stored_again")}  # and the JSON says which, for scripts
    assert flagged == {p["post_id"] for p in edited}
    cited = [e for r in map(json.loads, world("match", "--dry-run", "--json").stdout.splitlines())
             if r["user_id"] == "ann" for t in r["topics"] for e in t["evidence"]]
    assert {e["post_id"] for e in cited if e.get("stored_again")} == flagged & {e["post_id"] for e in cited}
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    assert "stored again" not in world("topics", "ann").stderr
    assert "stored_again" not in world("topics", "ann", "--json").stdout


def test_a_pool_post_no_view_shows_stored_again_is_not_warned_of(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    users = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY"}]
    invoke = build_world(tmp_path, write, monkeypatch, users, posts_for("ann", "flights airport lounge travel", 12),
                         "2025-03-01", perks=PERKS[:1], then=(["match"],))  # one perk: 5 posts it shows
    [topic] = json.loads(invoke("export", "ann").stdout)["topics"]
    shown = {e["post_id"] for e in topic["evidence"]} | {e["post_id"] for r in map(
        json.loads, invoke("match", "--dry-run", "--json").stdout.splitlines()) for t in r["topics"]
        for e in t["evidence"]}
    unshown = sorted({e["post_id"] for e in topic["evidence_pool"]} - shown)  # kept to choose perks' evidence from
    assert unshown
    edited = [p | {"likes": 500} for p in posts_for("ann", "flights airport lounge travel", 12)
              if p["post_id"] == unshown[0]]
    assert invoke("ingest", write("edited.jsonl", edited)).exit_code == 0
    for args in (["brand", "lounge"], ["explain", "ann"], ["explain", "ann", "lounge"], ["topics", "ann"]):
        result = invoke(*args)  # before: "1 evidence post(s) were stored again" beside assignments that show none
        assert result.exit_code == 0 and "stored again" not in result.stderr, args
    page = tmp_path / "brand.html"
    assert invoke("report", "brand", "Sky", "--out", str(page)).exit_code == 0
    assert "stored again" not in page.read_text()


def test_a_match_stopped_after_it_was_kept_says_so_and_how_to_see_its_changes(world, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.cli.matching as matching

    assert world("match").exit_code == 0
    assert world("catalog", "refresh", write("c2.yaml", PERKS[1:])).exit_code == 0  # lounge retired

    def stopped(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    report = matching._report_match
    monkeypatch.setattr(matching, "_report_match", stopped)  # Ctrl-C once the run is kept, before it is printed
    cut = world("match", "--changes")
    assert cut.exit_code == 130 and "match run 3 had finished and is kept" in " ".join(cut.stderr.split())
    assert "the same command with --dry-run --since 2 prints it" in " ".join(cut.stderr.split())
    # before: "finished work is kept; run the command again", and the run again printed no change (against run 3)
    monkeypatch.setattr(matching, "_report_match", report)
    seen = world("match", "--dry-run", "--changes", "--since", "2", "--json")
    assert seen.exit_code == 0 and [json.loads(line) for line in seen.stdout.splitlines()] == [
        {"user_id": "ann", "gained": [], "lost": ["lounge"], "moved": [], "causes": ["catalog: lounge retired"]}]
    assert world("match", "--changes", "--json").stdout.strip() == ""  # against run 3: nothing changed
    wrong = world("match", "--changes", "--since", "1")  # a profile run
    assert wrong.exit_code == 1 and "--since 1: not a finished match run; earlier finished match runs: 4, 3, 2" in \
        " ".join(wrong.stderr.split())
    assert json.loads(world("status", "--json").stdout)["match"]["run_id"] == 4  # refused before it ran: no run 5
    assert world("match", "--since", "2").exit_code == 2  # goes with --changes


def test_match_before_any_catalog_is_refused_and_keeps_no_run(cli, write) -> None:  # type: ignore[no-untyped-def]
    users = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY"}]
    for args in (["taxonomy", "load", write("t.yaml", TAXONOMY)],
                 ["ingest", write("p.jsonl", posts_for("ann", "flights airport lounge travel")), "--users",
                  write("u.jsonl", users)], ["profile", "--as-of", "2025-03-01"]):
        assert cli(*args).exit_code == 0
    result = cli("match")
    assert result.exit_code == 1 and "no catalog yet; run `perkmatch catalog refresh FILE` first" in result.stderr
    assert "no match yet" in cli("explain", "ann").stderr  # no run was kept


def test_a_catalog_with_no_live_perk_is_named_as_the_reason(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("catalog", "refresh", write("none.yaml", []), "--retire-all").exit_code == 0
    matched = world("match")
    assert matched.exit_code == 0 and "catalog version 2 has no live perk: nothing to assign" in matched.stderr
    said = json.loads(world("explain", "ann", "--json").stdout)["reason"]
    assert said == "ann got no perk in match run 2: the catalog it matched against (version 2) has no live perk at " \
        "all"  # before: "no live perk fits their topics (Travel) closely enough"
    assert json.loads(world("status", "--json").stdout)["next"] == [
        "perkmatch catalog refresh FILE: the live catalog, version 2, has no perk"]  # before: "up to date"


def test_reading_commands_run_on_a_read_only_database(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Commands that show what is stored write nothing, not even in a transaction rolled back: they run where the
    database cannot be written (a brand's read-only copy). SQLite's ``query_only`` refuses every write. The world
    has a second profile run (eve's first) and a match, and no `forget` yet: no salt (``forget.kept_hash``)."""
    world = four_users(tmp_path, write, monkeypatch)
    assert world("ingest", write("eve.jsonl", posts_for("eve", "coffee espresso beans roast")), "--users",
                 write("eve-user.jsonl", [{"user_id": "eve", "consent": "opted_in"}])).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0 and world("match").exit_code == 0
    pragmas = store._sqlite_pragmas

    def read_only(connection, record) -> None:  # type: ignore[no-untyped-def]
        pragmas(connection, record)
        connection.execute("PRAGMA query_only = ON")

    monkeypatch.setattr(store, "_sqlite_pragmas", read_only)
    assert "attempt to write a readonly database" in world("ingest", write("more.jsonl", posts_for("ann", "coffee"))) \
        .stderr.replace("\n", " ")  # (the pragma holds: a writing command is refused)
    for command in (["status", "--runs", "3"], ["topics", "--all", "--json"], ["topics", "eve", "--changes"],
                    ["topics", "ann", "--changes", "--since", "1"], ["explain", "eve"], ["explain", "ann", "travel"],
                    ["explain", "cat", "lounge"], ["brand", "lounge"], ["export", "ann"], ["catalog", "show"],
                    ["catalog", "versions"], ["taxonomy", "show"],
                    ["report", "user", "ann", "--out", str(tmp_path / "u.html")],
                    ["report", "brand", "Sky", "--out", str(tmp_path / "b.html")]):
        result = world(*command)
        assert result.exit_code == 0, (command, result.output)
    # before: `topics eve --changes` (first profiled in the newer run) failed: it asked whether eve's data had been
    # deleted by making the salt


def test_why_a_user_got_no_perk_never_names_a_topic_now_sensitive(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("catalog", "refresh", write("travel.yaml", PERKS[:2])).exit_code == 0  # nothing about coffee
    assert world("match").exit_code == 0
    assert "no live perk fits their topics (Coffee) closely enough" in world("explain", "cat").stdout
    sensitive = [dict(t, sensitive=True) if t["topic_id"] == "coffee" else t for t in TAXONOMY]
    assert world("taxonomy", "load", write("t2.yaml", sensitive)).exit_code == 0  # coffee is sensitive now
    why = world("explain", "cat")
    assert "cat got no perk in match run" in why.stdout and "offee" not in why.output  # before: "(Coffee)"


def test_a_topic_marked_sensitive_after_the_profile_run_plays_no_part_in_matching(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """eve writes about health (not sensitive when profiled) and travel; then the taxonomy marks health sensitive,
    and she has not opted in to it: the match and `explain eve PERK` read her as if health had never been
    inferred."""
    plain = [dict(t, sensitive=False) for t in TAXONOMY]
    posts = posts_for("eve", "doctor therapy medicine", n=10) + [
        dict(p, post_id=p["post_id"] + "t") for p in posts_for("eve", "travel trips flights airport", n=5)]
    world = build_world(tmp_path, write, monkeypatch, [{"user_id": "eve", "consent": "opted_in", "region": "US"}],
                        posts, "2025-03-01", taxonomy=plain)
    topics = {t["topic_id"]: t for t in json.loads(world("topics", "eve", "--json").stdout)["topics"]}
    assert topics["health"]["score"] > topics["travel"]["score"]  # her strongest, when profiled

    def trips() -> dict:  # type: ignore[type-arg]
        assert world("match").exit_code == 0
        return next(r for r in map(json.loads, world("match", "--json").stdout.splitlines()) if r["perk_id"] == "trips")

    before = trips()  # a topic's strength: its confidence, times its score against her strongest topic's
    strength = topics["travel"]["confidence"] * topics["travel"]["score"] / topics["health"]["score"]
    assert abs(before["score"] - before["topics"][0]["fit"] * (0.5 + 0.5 * strength)) < 5e-4
    assert world("taxonomy", "load", write("t2.yaml", TAXONOMY)).exit_code == 0  # health is sensitive now
    after = trips()
    for args in (["explain", "eve", "--json"], ["explain", "eve", "beans", "--json"], ["match", "--json"]):
        result = world(*args)
        assert result.exit_code == 0 and "health" not in result.stdout.lower(), (args, result.stdout)
    assert after["topics"][0]["topic_id"] == "travel"  # now her strongest topic: measured against itself
    assert abs(after["score"] - after["topics"][0]["fit"] * (0.5 + 0.5 * topics["travel"]["confidence"])) < 5e-4


def test_withheld_perks_are_not_shown_once_the_users_region_changed(world, write) -> None:  # type: ignore[no-untyped-def]
    """cat is in GB: the lounge (US-NY) and the trips credit (US) are withheld from her by region. Once her record
    says US, those reasons no longer hold: they are not shown (the next match weighs them again)."""
    assert world("match").exit_code == 0
    assert json.loads(world("explain", "cat", "--json").stdout)["withheld"]
    assert world("ingest", "--users", write("us.jsonl", [{"user_id": "cat", "consent": "opted_in",
                                                          "region": "US"}])).exit_code == 0
    assert json.loads(world("explain", "cat", "--json").stdout)["withheld"] == []


def forget_when_match_assigns(world, monkeypatch, user_id: str) -> None:  # type: ignore[no-untyped-def]
    """Make the next match forget the user after it has read them, before it writes (as `assign` first starts: the
    match solves again, in its write transaction, once it sees them gone)."""
    from matcher.forget import forget
    from matcher.match_table import Found
    from matcher.store import open_engine

    real, done = Found.assign, []

    def forget_then_assign(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not done:
            engine = open_engine(world.db)
            done.append(forget(engine, user_id))
            engine.dispose()
        return real(*args, **kwargs)

    monkeypatch.setattr(Found, "assign", forget_then_assign)  # (the candidates' assignment, as `match` first solves it)


def test_a_user_forgotten_while_a_match_runs_leaves_no_withheld_perk(world, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """cat (GB, coffee) is assigned nothing from a catalog without the live beans: the ended coffee offer is withheld
    from her. Forgotten after the match read her, before it wrote, none of her rows stays in its run
    (``eligible.dropped_out``, over the users with only withheld perks too)."""
    from sqlmodel import select

    from matcher.store import Assignment, Withheld, open_engine, session

    assert world("catalog", "refresh", write("no-beans.yaml", [p for p in PERKS if p["perk_id"] != "beans"])) \
        .exit_code == 0
    assert world("match").exit_code == 0
    engine = open_engine(world.db)
    with session(engine) as s:
        assert s.exec(select(Withheld.perk_id).where(Withheld.user_id == "cat")).all()  # (a match withholds some)
        assert not s.exec(select(Assignment.perk_id).where(Assignment.user_id == "cat")).all()  # and assigns none
    forget_when_match_assigns(world, monkeypatch, "cat")
    assert world("match").exit_code == 0
    with session(engine) as s:
        assert s.exec(select(Assignment.perk_id).where(Assignment.user_id == "ann")).all()  # the others' stay
        assert not s.exec(select(Withheld.perk_id).where(Withheld.user_id == "cat")).all()
        assert not s.exec(select(Assignment.perk_id).where(Assignment.user_id == "cat")).all()
    engine.dispose()


def test_a_user_forgotten_while_a_match_runs_is_not_counted_in_its_summary(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # ann (lounge and trips) is forgotten after the match read her, before it wrote: her assignments are dropped, and
    # the summary (and the run's stats) count neither her nor them
    forget_when_match_assigns(world, monkeypatch, "ann")
    result = world("match", "--json")
    assert result.exit_code == 0 and assignments(result) == {"bob": ["trips"], "cat": ["beans"]}
    assert "2 assignment(s) among 2 user(s) with topics" in result.stderr  # before forgetting: 4 among 3
    last = json.loads(world("status", "--json").stdout)["match"]
    assert (last["assignments"], last["users"]) == (2, 2)


def travel_mug_world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """ann (US) writes about travel and, with less engagement, coffee; the one perk, a travel mug, names both topics.
    Returns the world and the perk."""
    posts = posts_for("ann", "flights airport lounge travel") + [
        dict(p, post_id=p["post_id"] + "c", likes=1) for p in posts_for("ann", "coffee espresso beans roast")]
    both = {"perk_id": "both", "brand": "Duo", "title": "Travel mug", "description": "coffee travel mug for flights",
            "topics": ["travel", "coffee"]}
    world = build_world(tmp_path, write, monkeypatch, [{"user_id": "ann", "consent": "opted_in", "region": "US"}],
                        posts, "2025-03-01", perks=[both])
    return world, both


def test_a_perk_reaching_a_user_through_two_topics_scores_as_the_better_and_lists_it_first(tmp_path, write,  # type: ignore[no-untyped-def]
                                                                                            monkeypatch) -> None:
    world, _ = travel_mug_world(tmp_path, write, monkeypatch)
    record = json.loads(world("match", "--json").stdout)
    cited = [t["score"] for t in record["topics"]]
    assert len(cited) == 2 and cited == sorted(cited, reverse=True) and record["score"] == cited[0]


def test_each_perk_cites_the_topics_posts_closest_to_it(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # ann writes about airport lounges and about trips, all of it Travel: the lounge pass cites her lounge posts first,
    # the trips credit her trips posts, not both the topic's strongest posts whatever they are about
    posts = posts_for("ann", "airport lounge lounge travel", 5) + [
        dict(p, post_id=p["post_id"] + "-trip", created_at=p["created_at"] + 3600)
        for p in posts_for("ann", "travel trips trips flights", 5)]
    world = build_world(tmp_path, write, monkeypatch, [{"user_id": "ann", "consent": "opted_in", "region": "US-NY"}],
                        posts, "2025-03-01", perks=PERKS[:2])
    cited = {r["perk_id"]: [e["post_id"] for e in r["topics"][0]["evidence"]]
             for r in map(json.loads, world("match", "--json").stdout.splitlines())}
    assert not cited["lounge"][0].endswith("-trip") and cited["trips"][0].endswith("-trip")
    shown = {r["perk_id"]: [e["post_id"] for e in r["topics"][0]["evidence"]]
             for r in json.loads(world("explain", "ann", "--json").stdout)["assignments"]}
    assert shown == cited  # read back as the match chose them


def test_a_perk_withheld_through_two_topics_keeps_the_better_score(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # the travel mug reaches ann through travel and coffee; limited to GB, it is withheld from her at the score it
    # would have been assigned with (the better topic's), not the other's
    world, both = travel_mug_world(tmp_path, write, monkeypatch)
    assigned = json.loads(world("match", "--json").stdout)
    assert len({t["score"] for t in assigned["topics"]}) == 2  # two topics, two scores
    assert world("catalog", "refresh", write("gb.yaml", [dict(both, regions=["GB"])])).exit_code == 0
    assert world("match").exit_code == 0
    withheld = json.loads(world("explain", "ann", "--json").stdout)["withheld"]
    assert [(w["perk_id"], w["score"]) for w in withheld] == [("both", assigned["score"])]
    assert withheld[0]["reason"].startswith("region: the perk is for GB")


def test_why_nobody_got_a_perk_says_when_its_topics_only_fell_short(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    posts = posts_for("ann", "flights airport lounge travel") + [
        dict(p, post_id=p["post_id"] + "c") for p in posts_for("ann", "coffee espresso beans roast", n=2)]
    world = build_world(tmp_path, write, monkeypatch, [{"user_id": "ann", "consent": "opted_in", "region": "US"}],
                        posts, "2025-03-01", then=(["match"],))
    nobody = json.loads(world("brand", "beans", "--json").stdout)["nobody"]  # ann's 2 coffee posts: a candidate
    assert nobody["why"] == ("nobody got it in match run 2: none of the topics it is about was inferred for anyone "
                             "(below: and for how many each fell short of its thresholds)")
    assert [(t["topic_id"], t["inferred"], t["fell_short"]) for t in nobody["topics"]] == [("coffee", 0, 1)]


def match_changes(result) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return {c["user_id"]: c for c in map(json.loads, result.stdout.splitlines())}


def rescore(world, run_id: int, user_id: str, perk_id: str, score: float) -> None:  # type: ignore[no-untyped-def]
    """Sets a stored assignment's score, as another version of perkmatch's rules would have scored it."""
    from sqlmodel import select

    from matcher.store import Assignment, open_engine, session

    engine = open_engine(world.db)
    with session(engine) as s:
        row = s.exec(select(Assignment).where(Assignment.run_id == run_id).where(Assignment.user_id == user_id)
                     .where(Assignment.perk_id == perk_id)).one()
        row.score = score
        s.add(row)
        s.commit()
    engine.dispose()


def test_match_changes_name_a_changed_per_brand_limit(world, write) -> None:  # type: ignore[no-untyped-def]
    more = {"perk_id": "trips-plus", "brand": "Roam", "title": "More trips", "description": "travel trips flights"}
    assert world("catalog", "refresh", write("c2.yaml", [*PERKS, more])).exit_code == 0
    assert world("match").exit_code == 0  # one Roam perk a user
    ann = match_changes(world("match", "--dry-run", "--per-brand", "2", "--changes", "--json"))["ann"]
    assert ann["gained"] == ["trips-plus"] and "settings: --per-brand 1 -> 2" in ann["causes"], ann  # before: only
    # the per-user limit was compared


def test_a_kept_perks_score_moved_by_its_catalog_change_names_that_alone(world, write) -> None:  # type: ignore[no-untyped-def]
    world("match")
    reworded = [p | {"description": "travel trips flights airport hotels"} if p["perk_id"] == "trips" else p
                for p in PERKS]
    ann = match_changes(world("match", "--dry-run", "--catalog", write("reworded.yaml", reworded), "--changes",
                              "--json"))["ann"]
    assert ann["moved"] and ann["causes"] == ["catalog: trips changed"]  # before: a rules change was blamed beside it


def test_a_score_moved_on_the_same_profile_run_is_not_blamed_on_its_evidence_posts(world) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0  # run 2, on profile run 1
    rescore(world, 2, "ann", "trips", 0.01)  # as rules of another version scored it
    ann = match_changes(world("match", "--dry-run", "--changes", "--json"))["ann"]
    assert ann["moved"] and ann["causes"] == [
        "the taxonomy, the model or perkmatch's rules changed (a score moved with all else the same)"]
    # before: "the evidence posts behind their topics changed between profile runs 1 and 1"


def test_a_changed_limit_is_not_named_for_a_score_that_only_moved(world) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0
    rescore(world, 2, "ann", "trips", 0.01)
    ann = match_changes(world("match", "--dry-run", "--per-user", "4", "--changes", "--json"))["ann"]
    assert ann["moved"] and not ann["gained"] and not ann["lost"]
    assert not any(c.startswith("settings:") for c in ann["causes"]), ann  # a limit moves no score


def test_posts_stored_again_after_the_later_match_are_no_cause_of_its_changes(world, write) -> None:  # type: ignore[no-untyped-def]
    from matcher.changes import assignment_changes
    from matcher.store import open_engine

    assert world("match").exit_code == 0 and world("match").exit_code == 0  # runs 2 and 3
    rescore(world, 2, "ann", "trips", 0.01)
    counted = json.loads(world("topics", "ann", "--json").stdout)["topics"][0]["evidence"][0]["post_id"]
    edited = [p | {"text": "flights airport lounge travel espresso beans"} for p in
              posts_for("ann", "flights airport lounge travel") if p["post_id"] == counted]
    assert world("ingest", write("edited.jsonl", edited)).exit_code == 0  # after run 3: it read the post as it was
    engine = open_engine(world.db)
    (ann,) = [c for c in assignment_changes(engine, 3) if c["user_id"] == "ann"]
    engine.dispose()
    assert not any("stored again" in c for c in ann["causes"]), ann["causes"]


def test_a_user_whose_fitting_perks_were_all_withheld_is_told_so(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("catalog", "refresh", write("ny.yaml", PERKS[:1])).exit_code == 0  # the lounge pass: US-NY only
    assert world("match").exit_code == 0
    said = json.loads(world("explain", "bob", "--json").stdout)  # bob, in US-NJ: withheld by its region
    assert said["reason"] == ("bob got no perk in match run 2: each perk that fits their topics was withheld (below)")
    assert [w["perk_id"] for w in said["withheld"]] == ["lounge"]  # before: "no live perk fits their topics
    # (Travel) closely enough", of a perk that fits them and was kept from them


def test_export_holds_only_the_users_own_rows_of_earlier_profile_runs(world) -> None:  # type: ignore[no-untyped-def]
    # an earlier run's snapshot in bob's export is bob's rows only: another user's topics of that run are not his
    import sqlite3

    assert world("profile", "--as-of", "2025-03-02").exit_code == 0
    with sqlite3.connect(world.db) as conn:
        stored = conn.execute("SELECT topic_id, rank FROM topic_scores WHERE user_id = 'bob' AND run_id = 1 "
                              "ORDER BY rank").fetchall()
    doc = json.loads(world("export", "bob").stdout)
    [earlier] = doc["earlier_profile_runs"]
    assert stored and [(t["topic_id"], t["rank"]) for t in earlier["topics"]] == stored


def test_export_holds_a_topic_stored_before_the_taxonomy_marked_it_sensitive(world, write) -> None:  # type: ignore[no-untyped-def]
    # views hide such a topic from a user who has not opted in; the export, all that is stored, still lists it
    marked = [{**TAXONOMY[0], "sensitive": True}, *TAXONOMY[1:]]
    assert world("taxonomy", "load", write("t2.yaml", marked)).exit_code == 0
    assert "travel" not in world("topics", "bob").stdout
    doc = json.loads(world("export", "bob").stdout)
    assert "travel" in [t["topic_id"] for t in doc["topics"] if t["status"] == "inferred"]


def test_export_gives_each_withheld_perk_its_reason(world) -> None:  # type: ignore[no-untyped-def]
    # why a perk that fit was not given is stored with it, so the export holds it
    assert world("match").exit_code == 0
    doc = json.loads(world("export", "bob").stdout)
    assert [w["reason"].startswith("region: the perk is for US-NY; the user is in US-NJ") for w in doc["withheld"]] \
        == [True]


def test_match_csv_cells_starting_with_a_tab_or_carriage_return_never_run_as_formulas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # spreadsheets skip a leading tab or carriage return and read the formula after it (OWASP's list)
    from matcher.export import write_assignments

    record = {"user_id": "\t=1+1", "rank": 1, "perk_id": "\r=2+2", "brand": "B", "title": "T", "score": 0.5,
              "topics": []}
    write_assignments([record], str(tmp_path / "a.csv"))
    with open(tmp_path / "a.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert (row["user_id"], row["perk_id"]) == ("'\t=1+1", "'\r=2+2")


def test_export_names_a_withheld_perk_as_its_match_runs_catalog_had_it(world, write) -> None:  # type: ignore[no-untyped-def]
    # the perk withheld is the one the match weighed: a title changed in the catalog since is not put in its place
    assert world("match").exit_code == 0
    retitled = [{**PERKS[0], "title": "Gold lounge pass"}, *PERKS[1:]]
    assert world("catalog", "refresh", write("c2.yaml", retitled)).exit_code == 0
    doc = json.loads(world("export", "bob").stdout)
    assert [(w["perk_id"], w["title"]) for w in doc["withheld"]] == [("lounge", "Lounge pass")]


def test_topics_candidates_and_explain_of_a_user_with_no_perk_say_what_fell_short(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`topics USER --candidates` counts the candidates that fell short and labels each one; `explain USER` of a user
    with no perk says why, as its first line and as "reason" in --json."""
    users = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY"},
             {"user_id": "dan", "consent": "opted_in", "region": "GB"}]
    world = build_world(tmp_path, write, monkeypatch, users, posts_for("ann", "flights airport lounge travel")
                        + posts_for("dan", "coffee espresso beans roast", 2), "2025-03-01", then=(["match"],))
    shown = world("topics", "dan", "--candidates")
    assert shown.exit_code == 0 and shown.stdout.startswith("dan: 0 topic(s), 1 candidate(s) that fell short\n")
    assert "Coffee (candidate)" in shown.stdout
    reason = "dan got no perk in match run 2: no topic was inferred for them in profile run 1"
    explained = world("explain", "dan")
    assert explained.exit_code == 0 and explained.stdout.startswith(reason)
    record = json.loads(world("explain", "dan", "--json").stdout)
    assert record["assignments"] == [] and record["reason"].startswith(reason)


def test_an_empty_out_path_is_refused_before_the_match_runs_not_printed_instead(world) -> None:  # type: ignore[no-untyped-def]
    """`--out ""` (an unset shell variable) is an empty path, as `export` says, not no --out at all."""
    def runs() -> int:
        with store.open_engine(world.db).connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM runs")).scalar_one())

    before = runs()
    for extra in ([], ["--format", "csv"]):
        result = world("match", "--out", "", *extra)
        assert result.exit_code == 1, result.output  # before: the assignments printed, exit 0 (or, with --format,
        assert "--out: the path is empty" in result.stderr and result.stdout == ""  # "give --out FILE too")
    assert runs() == before  # no match run was made


def test_import_with_an_empty_out_path_is_refused_not_stored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.test_importers import EXPORTS, import_cli

    result = import_cli(tmp_path)("twitter-archive", str(EXPORTS / "twitter"), "--user-id", "tw", "--out", "",
                                  "--consent-policy", "opt-out")
    assert result.exit_code == 1 and "--out: the path is empty" in result.stderr  # before: 5 posts stored, exit 0
    with store.open_engine(str(tmp_path / "test.db")).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM posts")).scalar_one() == 0


def test_a_holder_whose_record_changed_since_the_match_is_marked_in_brand_and_its_report(tmp_path, write,  # type: ignore[no-untyped-def]
                                                                                          monkeypatch) -> None:
    """Ann (US-NY) holds the US-NY-only lounge pass; a users file then moves her to US-NJ. `brand` and `report brand`
    show the last match, but the report's region column reads her record as it is now: before, a US-NJ holder of a
    US-NY-only perk, with no word (found by helper-94)."""
    world = four_users(tmp_path, write, monkeypatch)
    assert world("match").exit_code == 0
    before = json.loads(world("brand", "lounge", "--json").stdout)["users"]
    assert before[0]["user_id"] == "ann" and "record_changed" not in before[0]
    assert world("ingest", "--users", write("moved.jsonl", [{"user_id": "ann", "region": "US-NJ"}])).exit_code == 0
    after = json.loads(world("brand", "lounge", "--json").stdout)["users"]
    assert after[0]["user_id"] == "ann" and after[0]["record_changed"] is True
    assert "ann score" in (text := world("brand", "lounge").stdout) and \
        "their record changed since the match; the next match checks it again" in text
    out = tmp_path / "sky.html"
    assert world("report", "brand", "Sky", "--out", str(out)).exit_code == 0
    assert "US-NJ <span class=\"tag\">changed since the match, which checked the record then</span>" in out.read_text()
