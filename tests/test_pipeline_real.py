"""Integration: the whole pipeline on the shipped sample data with the real packaged model.

One database is built per test session (the demo pipeline); tests that change data work on a copy.
"""

import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from matcher.assignments import brand_view, match_records
from matcher.cli import app
from matcher.demo import AS_OF, run_demo
from matcher.embed import EmbeddingCache
from matcher.encoder import load_encoder
from matcher.explain import explain_topic
from matcher.ingest import ingest_posts, ingest_users
from matcher.profile_run import run_profile
from matcher.records import to_epoch
from matcher.store import open_engine
from matcher.topic_records import user_topics
from matcher.user_export import export_user
from tests.conftest import post

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    path = str(tmp_path_factory.mktemp("demo") / "demo.db")
    engine = open_engine(path)
    run_demo(engine, EmbeddingCache(engine, load_encoder()))
    engine.dispose()
    return path


@pytest.fixture
def demo_copy(demo_db, tmp_path) -> str:  # type: ignore[no-untyped-def]
    engine = open_engine(demo_db)
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    target = str(tmp_path / "copy.db")
    shutil.copy(demo_db, target)
    return target


@pytest.fixture(scope="session")
def demo(demo_db):  # type: ignore[no-untyped-def]
    engine = open_engine(demo_db)
    topics = {r["user_id"]: [t["topic_id"] for t in r["topics"]] for r in user_topics(engine)}
    perks: dict[str, list[dict]] = {}
    for r in match_records(engine):
        perks.setdefault(r["user_id"], []).append(r)
    return engine, topics, perks


def test_travel_poster_gets_travel_perks_with_travel_evidence(demo) -> None:  # type: ignore[no-untyped-def]
    _, topics, perks = demo
    assert topics["u-maya"][0].startswith("travel")
    maya = perks["u-maya"]
    assert maya[0]["perk_id"].startswith(("pk-skyway", "pk-harborline", "pk-wayfarer", "pk-milestone", "pk-roamly",
                                          "pk-safepassage"))
    assert sum(p["topics"][0]["topic_id"].startswith("travel") for p in maya) >= 2
    evidence = maya[0]["topics"][0]["evidence"]
    assert evidence and all({"post_id", "text", "created_at", "likes", "replies", "shares"} <= set(e) for e in evidence)


def test_each_perk_is_shown_with_the_posts_of_its_topic_closest_to_it(demo) -> None:  # type: ignore[no-untyped-def]
    engine, topics, perks = demo
    maya = {p["perk_id"]: p["topics"][0] for p in perks["u-maya"]}
    luggage, lounge = maya["pk-wayfarer-carry-on"], maya["pk-skyway-lounge"]
    assert luggage["topic_id"] == lounge["topic_id"] == "travel.air-travel"  # one topic brings both perks ...
    assert all("carry-on" in e["text"].lower() for e in luggage["evidence"][:2])  # ... each with its own posts
    assert "lounge" in lounge["evidence"][0]["text"].lower()
    topic = next(t for t in user_topics(engine, "u-maya")[0]["topics"] if t["topic_id"] == "travel.air-travel")
    assert len(topic["evidence"]) == 5  # the topic shows its strongest five, whatever its pool
    assert {e["post_id"] for e in luggage["evidence"]} != {e["post_id"] for e in topic["evidence"]}
    exported = next(t for t in export_user(engine, "u-maya")["topics"] if t["topic_id"] == "travel.air-travel")
    assert len(exported["evidence"]) == 5 and len(exported["evidence_pool"]) == 15  # what is kept is exported
    assert {e["post_id"] for e in luggage["evidence"]} <= {e["post_id"] for e in exported["evidence"]} | {
        e["post_id"] for e in exported["evidence_pool"]}


@pytest.mark.parametrize("user", ["u-firehose", "u-resharer", "u-spammer"])
def test_gaming_accounts_get_no_topic_and_no_perk(demo, user) -> None:  # type: ignore[no-untyped-def]
    _, topics, perks = demo
    assert topics.get(user, []) == []
    assert user not in perks


def test_one_viral_post_and_a_burst_make_no_topic(demo) -> None:  # type: ignore[no-untyped-def]
    _, topics, perks = demo
    assert "sports.basketball" not in topics["u-oneviral"] and "sports" not in topics["u-oneviral"]
    assert "pk-courtside-poster" not in [p["perk_id"] for p in perks.get("u-oneviral", [])]
    assert "food-and-drink.baking" in topics["u-oneviral"]
    assert not any(t.startswith("personal-finance") for t in topics.get("u-burst", []))


def test_why_the_baker_with_one_viral_basketball_post_got_no_basketball_poster(demo) -> None:  # type: ignore[no-untyped-def]
    from matcher.why_perk import explain_perk, nobody_reason

    engine, _, _ = demo
    cache = EmbeddingCache(engine, load_encoder())
    poster = explain_perk(engine, cache, "u-oneviral", "pk-courtside-poster")
    assert poster["status"] == "not_a_candidate"
    [baking] = poster["topics"]  # her one topic, and the poster is not about it
    assert baking["topic_id"] == "food-and-drink.baking" and baking["why"].startswith("it is not about Baking: rel")
    basketball = poster["perk_topics"][0]  # what the poster is about, and why that is not her topic
    assert basketball["topic_id"] == "sports.basketball"
    assert basketball["user"].startswith("not inferred: 1 original post(s); needs 3")
    assert explain_perk(engine, cache, "u-maya", "pk-skyway-lounge")["status"] == "assigned"
    seat = explain_perk(engine, cache, "u-maya", "pk-skyway-seat-upgrade")
    assert seat["status"] == "withheld" and seat["reason"].startswith("brand limit: the user already gets 1 perk(s)")
    nobody = nobody_reason(engine, cache, "pk-courtside-poster")  # the brand's side: why nobody got the poster
    assert nobody["why"].endswith("none of the topics it is about was inferred for anyone (below: and for how many "
                                  "each fell short of its thresholds)")
    assert nobody["topics"][0]["topic_id"] == "sports.basketball" and nobody["topics"][0]["fell_short"] >= 1


def test_sensitive_topics_only_for_users_who_opted_in(demo) -> None:  # type: ignore[no-untyped-def]
    _, topics, _ = demo
    assert not any(t.startswith("health") for t in topics["u-sensitive"])
    assert "health.mental-health" in topics["u-shares-health"]
    others = [t for u, ts in topics.items() if u != "u-shares-health" for t in ts]
    assert not any(t.startswith(("health", "politics", "religion")) for t in others)


def test_users_without_consent_are_not_stored(demo) -> None:  # type: ignore[no-untyped-def]
    engine, topics, _ = demo
    with engine.connect() as conn:
        stored = {r[0] for r in conn.execute(text("SELECT DISTINCT user_id FROM posts"))}
    assert "u-optout" not in stored and "u-noconsent" not in stored
    assert "u-maya" in stored


def test_explain_inferred_and_rejected_topics(demo) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = demo
    yes = explain_topic(engine, "u-maya", "travel.air-travel")
    assert yes["inferred"] and yes["verdict"].startswith("inferred") and yes["evidence"]
    # the words of the model's vocabulary the topic is also read through (chosen for this taxonomy and model)
    assert "flights" in yes["related_words"] and len(yes["related_words"]) <= 5
    no = explain_topic(engine, "u-oneviral", "sports.basketball")
    assert not no["inferred"]
    assert "1 original post(s); needs 3" in no["verdict"]
    sensitive = explain_topic(engine, "u-sensitive", "health.mental-health")
    assert "sensitive" in sensitive["verdict"]


def test_brand_view_lists_assigned_users_with_evidence(demo) -> None:  # type: ignore[no-untyped-def]
    engine, _, perks = demo
    perk_id = perks["u-maya"][0]["perk_id"]
    view = brand_view(engine, perk_id)
    assert "u-maya" in [u["user_id"] for u in view["users"]]
    assert view["quantity"] is None or view["assigned"] <= view["quantity"]
    assert all(u["topics"][0]["evidence"] for u in view["users"])


def test_quantities_regions_and_dates_are_respected(demo) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from matcher.demo import sample_path
    from matcher.perk_space import region_ok

    engine, _, perks = demo
    catalog = {p["perk_id"]: p for p in yaml.safe_load(Path(sample_path("catalog.yaml")).read_text())}
    lines = Path(sample_path("users.jsonl")).read_text().splitlines()
    users = {json.loads(line)["user_id"]: json.loads(line) for line in lines}
    counts: dict[str, int] = {}
    for user_id, records in perks.items():
        assert len(records) <= 3
        for r in records:
            perk = catalog[r["perk_id"]]
            counts[r["perk_id"]] = counts.get(r["perk_id"], 0) + 1
            assert region_ok(users[user_id].get("region"), [x.upper() for x in perk.get("regions") or []])
            assert str(perk.get("ends", "2100-01-01")) >= AS_OF[:10] >= str(perk.get("starts", "1900-01-01"))
    for perk_id, n in counts.items():
        assert catalog[perk_id].get("quantity") is None or n <= catalog[perk_id]["quantity"]


def test_second_profile_embeds_nothing_and_is_byte_identical(demo_copy) -> None:  # type: ignore[no-untyped-def]
    engine = open_engine(demo_copy)
    before = json.dumps(user_topics(engine), sort_keys=True)
    summary = run_profile(engine, EmbeddingCache(engine, load_encoder()), as_of=to_epoch(AS_OF))
    assert summary.embedded == 0
    assert json.dumps(user_topics(engine), sort_keys=True) == before


def test_cli_topics_json_follows_the_contract(demo_db) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["--db", demo_db, "topics", "u-maya", "--json"])
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["user_id"] == "u-maya"
    topic = record["topics"][0]
    assert {"topic_id", "name", "score", "confidence", "posts", "engagement", "evidence"} <= set(topic)
    scores = [t["score"] for t in record["topics"]]
    assert scores == sorted(scores, reverse=True)


def test_cli_brand_explain_and_export(demo_db) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(app, ["--db", demo_db, "explain", "u-maya"]).exit_code == 0
    out = runner.invoke(app, ["--db", demo_db, "explain", "u-maya", "travel.air-travel"])
    assert out.exit_code == 0 and "inferred: every threshold is met" in out.stdout
    assert re.search(r"clarity (0\.\d+|1\.0) \(how plainly the posts are about it\)", " ".join(out.stdout.split()))
    assert re.search(r"read through its name, description and related words: \w+", out.stdout)
    exported = runner.invoke(app, ["--db", demo_db, "export", "u-maya"])
    doc = json.loads(exported.stdout)
    assert doc["user"]["user_id"] == "u-maya" and len(doc["posts"]) > 50 and doc["topics"] and doc["assignments"]


def test_forget_leaves_no_trace_in_tables_or_file_bytes(demo_copy) -> None:  # type: ignore[no-untyped-def]
    engine = open_engine(demo_copy)
    doc = export_user(engine, "u-maya")
    sentence = max((p["text"] for p in doc["posts"]), key=len)
    engine.dispose()
    assert sentence.encode() in Path(demo_copy).read_bytes()  # the copy was checkpointed: the text is there
    result = runner.invoke(app, ["--db", demo_copy, "forget", "u-maya"])
    assert result.exit_code == 0, result.output
    engine = open_engine(demo_copy)
    with engine.connect() as conn:
        for table in ("users", "posts", "topic_scores", "evidence", "assignments", "withheld"):
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE user_id = 'u-maya'")).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM forget_audit")).scalar() == 1
    engine.dispose()
    raw = b"".join(p.read_bytes() for p in Path(demo_copy).parent.glob("copy.db*"))
    assert sentence.encode() not in raw
    assert b"u-maya" not in raw


def test_posts_the_model_cannot_read_make_no_topic_and_explain_says_so(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    # the same five posts about cycling, in English and in Dutch: the English model reads Dutch as noise that would
    # still land nearest some topic (on the dev data such users came out "into Ska")
    english = ["Rode 80 km this morning, the new gravel tyres were worth every penny.",
               "Swapped my cassette for an 11-34 and the climbs feel so much easier on the bike now.",
               "Tubeless on the road bike: three months, zero flats, and the ride is smoother.",
               "My commute by bike is faster than the bus, even with the headwind along the river.",
               "Finally did a century ride, 160 km with the club, legs are dead but worth it."]
    dutch = ["Vanochtend 80 km gefietst, de nieuwe gravelbanden waren elke cent waard.",
             "Mijn cassette vervangen door een 11-34 en de beklimmingen voelen nu veel lichter op de fiets.",
             "Tubeless op de racefiets: drie maanden, nul lekke banden, en het rijdt soepeler.",
             "Met de fiets naar het werk ben ik sneller dan de bus, zelfs met tegenwind langs de rivier.",
             "Eindelijk een tocht van 160 km gereden met de club, benen zijn kapot maar het was het waard."]
    posts = [post(f"{user}-{i}", user, t, day=10 * i, likes=6, platform="reddit")
             for user, texts in (("u-en", english), ("u-nl", dutch)) for i, t in enumerate(texts)]
    engine = open_engine(str(tmp_path / "lang.db"))
    ingest_users(engine, write("users.jsonl", [{"user_id": u, "consent": "opted_in"} for u in ("u-en", "u-nl")]))
    ingest_posts(engine, write("posts.jsonl", posts))
    run_profile(engine, EmbeddingCache(engine, load_encoder()), as_of=to_epoch("2025-03-01"))
    topics = {r["user_id"]: [t["topic_id"] for t in r["topics"]] for r in user_topics(engine)}
    assert "sports.cycling" in topics["u-en"] and topics["u-nl"] == []
    dutch_cycling = explain_topic(engine, "u-nl", "sports.cycling")
    # a Dutch sentence of short words the English vocabulary also has ("met de fiets ... ben ik ... dan de bus") may
    # be read, alone: one post makes no topic
    unread = dutch_cycling["unread_posts"]
    assert not dutch_cycling["inferred"] and unread >= 4
    assert f"{unread} of the user's posts were not read" in dutch_cycling["verdict"]
    assert "unread_posts" not in explain_topic(engine, "u-en", "sports.cycling")


def test_replies_that_say_nothing_themselves_make_no_topic_of_their_threads(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    # a reply is read with its thread's title (weight 2 for a short one): ten reactions under air-travel threads
    # read as air travel, though their author wrote nothing about it; the same threads answered in words are a topic
    threads = ["Best airport lounges for a long layover?", "Is premium economy on long-haul flights worth it?",
               "How do you sleep on a red-eye flight?", "Which airline has the best legroom in economy?",
               "Boarding groups explained: when should you line up?", "Jet lag hacks after a long flight",
               "Window or aisle seat on long-haul flights?", "Lounge access with a credit card: worth the fee?",
               "Cheapest way to fly from New York to Tokyo", "Carry-on only for two weeks: how do you pack?"]
    reactions = ["nice", "so true", "agreed", "love this", "great point", "wow", "exactly", "same here", "haha yes",
                 "amazing"]
    answers = ["The lounge at terminal 4 has showers, a lifesaver on a nine hour layover.",
               "Premium economy on the overnight flight to London was worth every mile I spent.",
               "Eye mask, neck pillow and no coffee after boarding: I sleep most of a red-eye.",
               "The exit row on the A321 has the most legroom I have found in economy.",
               "I board with group 6 every week and the overhead bins are always full by then.",
               "Sunlight on arrival and no naps fix my jet lag faster than anything else.",
               "Aisle seat on any flight over six hours, so I can walk the cabin.",
               "The card's lounge passes paid for themselves after two airport visits.",
               "Flying to Tokyo via Seoul saved me four hundred dollars on the fare.",
               "Two weeks carry-on only: packing cubes and one pair of shoes for the whole trip."]
    posts = [post(f"{user}-{i}", user, text, day=2 * i, likes=4, platform="reddit", context=threads[i])
             for user, texts in (("u-reacts", reactions), ("u-flies", answers)) for i, text in enumerate(texts)]
    engine = open_engine(str(tmp_path / "threads.db"))
    ingest_users(engine, write("users.jsonl", [{"user_id": u, "consent": "opted_in"} for u in ("u-reacts", "u-flies")]))
    ingest_posts(engine, write("posts.jsonl", posts))
    run_profile(engine, EmbeddingCache(engine, load_encoder()), as_of=to_epoch("2025-03-01"))
    topics = {r["user_id"]: [t["topic_id"] for t in r["topics"]] for r in user_topics(engine)}
    assert "travel.air-travel" in topics["u-flies"]
    assert "travel.air-travel" not in topics["u-reacts"]
    said = explain_topic(engine, "u-reacts", "travel.air-travel")
    assert not said["inferred"] and any("in its own words" in s for s in said["details"]["shortfalls"])


def test_the_readme_library_example_runs_as_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The README's "Using it as a library" block, run as a script from a folder holding the sample files."""
    import os
    import subprocess
    import sys

    from matcher.demo import sample_path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Using it as a library", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    for name in ("users.jsonl", "posts.jsonl", "catalog.yaml"):
        shutil.copy(sample_path(name), tmp_path / name)
    (tmp_path / "example.py").write_text(block, encoding="utf-8")
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'user_id': 'u-maya'" in done.stdout and "'perk_id'" in done.stdout
