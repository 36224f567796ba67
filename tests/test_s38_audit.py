"""Audit of December 2026 (s38): a post about a hidden sensitive topic shown as another topic's evidence, `match
--dry-run` on a read-only PostgreSQL role and on a large read-only SQLite file, topics removed from the taxonomy shown
by id, and the progress of a match working dropped-out users out again; each tested as it showed before its fix."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from matcher.cli import app
from matcher.profile_types import ProfileParams, UserPosts
from matcher.profiles import build_profile

runner = CliRunner()
DAY = 86_400
T0 = 1_700_000_000

# --- 1. a post about a sensitive topic the user has not opted in to is no other topic's evidence ---------------

TOPICS = ["running", "mental-health"]  # the second sensitive


def _user(n: int) -> UserPosts:
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((n, 16)).astype(np.float32)
    return UserPosts(keys=list(range(1, n + 1)), created_at=np.array([T0 + i * 3 * DAY for i in range(n)]),
                     likes=np.full(n, 6), replies=np.full(n, 2), shares=np.zeros(n, dtype=int),
                     is_share=np.zeros(n, dtype=bool), self_vote=np.zeros(n, dtype=bool),
                     thread=[f"t{i}" for i in range(n)], text_vecs=vecs / np.linalg.norm(vecs, axis=1, keepdims=True))


def _running(allowed: list[bool], members: np.ndarray) -> tuple[list[int], float, int]:
    results = build_profile(_user(len(members)), members, TOPICS, [-1, -1], np.array(allowed), T0 + 400 * DAY,
                            ProfileParams())
    running = next(r for r in results if r.topic_id == "running")
    return [key for key, _ in running.evidence], running.score, running.posts


def test_a_post_about_a_hidden_sensitive_topic_is_no_evidence_of_another_topic() -> None:
    """Eight posts about running, two mostly about the user's mental health (0.7, and 0.3 running: their best topic is
    hidden), one about running that is also a member of mental health (0.25). Before, all three were among Running's
    evidence (a perk cites the pool's posts closest to it: a running coach's quoted the user's depression to its
    brand). Now none is, unless the user opted in to the topic; they still count for Running (its score and posts do
    not move), and a user with no such post keeps the same evidence."""
    members = np.array([[0.9, 0.0]] * 8 + [[0.3, 0.7], [0.3, 0.7], [0.75, 0.25]], dtype=np.float32)
    hidden, opted_in = _running([True, False], members), _running([True, True], members)
    assert set(hidden[0]).isdisjoint({9, 10, 11}) and set(hidden[0]) == set(range(1, 9))
    assert {9, 10, 11} <= set(opted_in[0])  # (they are the user's to see when they opted in)
    assert hidden[1:] == opted_in[1:] and hidden[2] == 11
    plain = members[:8]
    assert _running([True, False], plain) == _running([True, True], plain)  # no post about it: nothing moves



def test_a_topic_whose_every_post_is_veiled_is_not_inferred() -> None:
    """Ten posts mostly about the user's mental health (0.6), each touching running (0.4): enough for Running by every
    count, but each post is about a sensitive topic the user has not opted in to, so none can be its evidence, and a
    topic is shown with its evidence: before, Running was inferred with none to show. One plain post about running
    is enough to show it (and is all it shows); opted in, it is inferred as before."""
    veiled = np.array([[0.4, 0.6]] * 10, dtype=np.float32)
    hidden = build_profile(_user(10), veiled, TOPICS, [-1, -1], np.array([True, False]), T0 + 400 * DAY,
                           ProfileParams())
    running = next(r for r in hidden if r.topic_id == "running")
    assert not running.inferred and not running.evidence
    assert "each of its original posts is about a sensitive topic" in " ".join(running.details["shortfalls"])
    assert _running([True, True], veiled)[0]  # opted in: inferred, its posts its evidence
    one_plain = np.concatenate([veiled, [[0.9, 0.0]]]).astype(np.float32)
    assert _running([True, False], one_plain)[0] == [11]


def test_a_topic_said_in_its_own_words_only_in_a_veiled_post_is_not_inferred() -> None:
    """"At least one post about it in its own words" is read among the posts that can be shown: nine replies that
    take Running from their threads (0.1 similar read alone) and one post that says it plainly but is as much about the
    user's mental health (0.5 / 0.5, veiled). Before, that post passed the rule for Running, which was then shown with
    the nine replies alone as its evidence. Opted in to mental health, the post can be shown: Running is inferred."""
    members = np.array([[0.9, 0.0]] * 9 + [[0.5, 0.5]], dtype=np.float32)
    said = np.array([0.1] * 9 + [0.9])

    def running(allowed: list[bool]):  # type: ignore[no-untyped-def]
        results = build_profile(_user(10), members, TOPICS, [-1, -1], np.array(allowed), T0 + 400 * DAY,
                                ProfileParams(), alone=lambda rows, k: said[rows])
        return next(r for r in results if r.topic_id == "running")

    hidden = running([True, False])
    assert not hidden.inferred
    shortfalls = " ".join(hidden.details["shortfalls"])
    assert "1 of them, each about a sensitive topic the user has not opted in to, or touching a sensitive" in shortfalls
    assert "are not read for it" in shortfalls
    assert running([True, True]).inferred

SAM_POSTS = [
    "Did a 10k tempo run along the river this morning, negative splits the whole way",
    "Marathon training week 12: 70 miles, long run of 20 miles at easy pace",
    "New running shoes arrived, carbon plate racers for the half marathon next month",
    "Interval session on the track: 8 x 800m repeats, legs are toast",
    "Parkrun PB today! 19:42 for 5k, the hill training is paying off",
    "Trail running in the hills, 15 miles of mud and switchbacks, loved every step",
    "Easy recovery jog, 5 miles, kept my heart rate low",
    "My depression has been really bad this week, couldn't get out of bed, therapist upped my sertraline",
    "Panic attacks again at work today, my anxiety disorder is winning lately",
    "Therapy session helped: we talked about my depression and intrusive thoughts",
    "Six months on antidepressants now and my mental health is slowly improving",
    "Struggling with suicidal thoughts last night, called the crisis line, grateful for my psychiatrist",
    "My bipolar diagnosis still feels heavy, mood swings all week",
    "Went running to cope with my depression and anxiety, my therapist says jogging helps my mental health",
    "Ran 5k during a panic attack, running is the only thing that calms my anxiety disorder",
    "My psychiatrist said marathon training is good for my depression, long run today",
    "10k run this morning, negative splits; the runner's high keeps my depression away for a day",
    "Half marathon training is going well, 13 miles today, although my anxiety was bad before the start",
    "Long run of 18 miles at easy pace, my antidepressants make me sluggish on the hills",
    "Parkrun today, 5k in 21 minutes, therapy later this afternoon",
    "Trail run of 12 miles, the only time my anxious brain goes quiet",
    "Running shoes, pace charts and my sertraline: the three things keeping me going this marathon block",
    "Track intervals 6 x 1k; my therapist wants me to log my mood after every run",
    "My therapist wants me to log my mood after every run; today's track session felt heavy",
    "Therapy today was about my depression; afterwards an easy 5k jog around the park",
    "Anxiety kept me up all night so the morning tempo run was slow",
    "Skipped the long run, my depression flared up again and the antidepressants make me dizzy",
    "My panic disorder makes race mornings hard, but I still ran the 10k",
    "Depression week again; a short run helped a little, therapy on Thursday",
    "Mood tracking app says my anxiety drops on days I run intervals",
    "My psychiatrist and my running coach agree: rest week for my mental health",
]
LEAKED_BEFORE = (13, 30)  # nearest Mental Health with the real model, and members of Running: quoted before


@pytest.mark.integration
def test_no_output_quotes_a_post_about_a_topic_the_user_did_not_opt_in_to(tmp_path: Path) -> None:
    """The real model: a runner who also writes plainly about their mental health, not opted in. Before, `match
    --json` and `brand` quoted "Went running to cope with my depression ..." and "My psychiatrist and my running
    coach agree ..." as Running's evidence for a running coach's perk. Now no output a brand or the user sees does
    (the export's list of the user's own posts aside), and Running is still inferred and the perk still assigned."""
    db = str(tmp_path / "sam.db")
    users, posts, catalog = tmp_path / "u.jsonl", tmp_path / "p.jsonl", tmp_path / "c.yaml"
    users.write_text(json.dumps({"user_id": "sam", "region": "US", "consent": "opted_in"}) + "\n")
    posts.write_text("".join(json.dumps({"post_id": f"s{i}", "user_id": "sam", "text": text, "likes": 8 + i % 5,
                                         "replies": 2, "created_at": 1_750_000_000 + i * 2 * DAY}) + "\n"
                             for i, text in enumerate(SAM_POSTS)))
    catalog.write_text(yaml.safe_dump([{
        "perk_id": "pk-calm-stride", "brand": "Calm Stride", "title": "Calm Stride mindful running coach, 3 months",
        "description": "Guided audio runs for people who run to clear their head, cope with stress and feel better: "
                       "mood check-ins after every run, easy jogs and breathing.", "topics": ["sports.running"]}]))

    def run(*args: str) -> str:
        result = runner.invoke(app, ["--db", db, *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    run("ingest", "--users", str(users), str(posts))
    run("catalog", "refresh", str(catalog))
    run("profile", "--as-of", "2025-09-01")
    shown = {"topics": run("topics", "sam", "--json", "--candidates"), "explain": run("explain", "sam",
             "sports.running"), "match": run("match", "--json"), "brand": run("brand", "pk-calm-stride", "--json")}
    assert '"perk_id":"pk-calm-stride"' in shown["match"].replace(" ", "")
    export = json.loads(run("export", "sam"))
    shown["export"] = json.dumps([export["topics"], export["assignments"]])
    for kind in ("user", "brand"):
        out = tmp_path / f"{kind}.html"
        run("report", kind, "sam" if kind == "user" else "Calm Stride", "--out", str(out))
        shown[f"report {kind}"] = out.read_text()
    for i in LEAKED_BEFORE:
        quoted = SAM_POSTS[i][:40]
        assert not [where for where, text in shown.items() if quoted in text.replace("\\u2019", "'")], quoted
    assert "Running" in shown["topics"] and any(f'"s{i}"' in shown["match"] for i in range(7))


# --- 5. the progress of a match working dropped-out users out again ----------------------------------------------

def test_a_match_shows_the_progress_of_working_users_out_again(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """ann withdraws her Health opt-in while a match computes, so the match works her out again as it writes its run
    (``perk_candidates.Worked.redone``). That work showed no progress (its candidates were found with no bar); now it
    has a stage of its own, counting the users read again, on the same bar as the rest of the match."""
    import matcher.perk_candidates as perk_candidates
    from matcher.ingest import ingest
    from matcher.match import run_match
    from tests.test_s37_match_export import _health_world

    engine, cache = _health_world(tmp_path, write)
    real, seen = perk_candidates.find_candidates, []

    def then_withdraw(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real(*args, **kwargs)
        if len(seen) == 0:
            seen.append(ingest(engine, users=write("withdraw.jsonl", [{"user_id": "ann", "sensitive_opt_in": []}])))
        return found

    monkeypatch.setattr(perk_candidates, "find_candidates", then_withdraw)
    steps: list[tuple[str, int, int | None]] = []
    run_match(engine, cache, progress=lambda stage, advance, total: steps.append((stage, advance, total)))
    again = [s for s in steps if s[0].startswith("candidates again")]
    assert again and {s[0] for s in again} == {"candidates again (1 user(s) changed while the match ran)"}
    assert sum(s[1] for s in again) == 1 and {s[2] for s in again} == {1}  # before: no such stage
    assert sum(s[1] for s in steps if s[0] == "candidates") == 2  # the first reading's bar as before
    engine.dispose()


# --- 4. a topic removed from the taxonomy before names were kept ---------------------------------------------------

def test_a_topic_removed_before_its_name_was_kept_is_said_to_be_removed_not_named_by_its_id(tmp_path, write,  # type: ignore[no-untyped-def]
                                                                                             monkeypatch) -> None:
    """cat's Coffee was inferred, then the taxonomy was replaced by one without it, in a database made before the names
    of replaced topics were kept (``topic_names`` lacks it). `topics`, `explain`, `topics --changes`, `brand` and
    `explain USER` named it "coffee", its bare id, as if that were its name (`"name": "coffee"`). Now they say it was
    removed; a topic whose name was kept is still shown by that name."""
    from sqlalchemy import text

    from matcher.store import open_engine
    from tests.test_cli_match import TAXONOMY, four_users

    world = four_users(tmp_path, write, monkeypatch)
    assert world("match").exit_code == 0 and world("profile").exit_code == 0
    without = write("t2.yaml", [t for t in TAXONOMY if t["topic_id"] != "coffee"])
    assert world("taxonomy", "load", without).exit_code == 0
    assert json.loads(world("topics", "cat", "--json").stdout)["topics"][0]["name"] == "Coffee"  # (kept: its name)
    engine = open_engine(world.db)
    with engine.begin() as conn:  # as in a database made before replaced topics' names were kept
        conn.execute(text("DELETE FROM topic_names WHERE topic_id = 'coffee'"))
    engine.dispose()
    label = "coffee (removed from the taxonomy)"
    assert json.loads(world("topics", "cat", "--json").stdout)["topics"][0]["name"] == label  # before: "coffee"
    assert json.loads(world("explain", "cat", "coffee", "--json").stdout)["name"] == label
    assert json.loads(world("topics", "cat", "--changes", "--json").stdout)["changes"][0]["name"] == label
    for args in (["topics", "cat"], ["explain", "cat"], ["brand", "beans"], ["topics", "cat", "--changes"]):
        assert "removed from the taxonomy" in " ".join(world(*args).stdout.split()), args
