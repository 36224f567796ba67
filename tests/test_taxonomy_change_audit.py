"""A taxonomy reloaded between runs, as an operator does it (helper s34/h3): a topic marked sensitive, one removed, an
opt-in withdrawn meanwhile. Each test fails on the code it was written against, because of the bug it names. The tiny
world of ``test_cli_match`` (fake encoder): ann writes of travel (no opt-in), eve of travel (opted in to it), hal of
health (opted in to it), cat of coffee; a clinic perk is about health."""

import json

import pytest

from tests.test_cli_match import PERKS, TAXONOMY, build_world, posts_for

USERS = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY"},
         {"user_id": "eve", "consent": "opted_in", "region": "US-NY", "sensitive_opt_in": ["travel"]},
         {"user_id": "hal", "consent": "opted_in", "region": "US-NY", "sensitive_opt_in": ["health"]},
         {"user_id": "cat", "consent": "opted_in", "region": "GB"}]
POSTS = (posts_for("ann", "flights airport lounge travel") + posts_for("eve", "travel trips flights airport lounge")
         + posts_for("hal", "doctor therapy medicine") + posts_for("cat", "coffee espresso beans roast"))
CLINIC = {"perk_id": "clinic", "brand": "Med", "title": "Clinic", "description": "doctor therapy medicine"}


def _said(result) -> str:  # type: ignore[no-untyped-def]
    return " ".join(result.output.split())


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """The four users profiled and matched: ann got lounge and trips (travel), hal got clinic (health)."""
    return build_world(tmp_path, write, monkeypatch, USERS, POSTS, "2025-03-01", perks=[*PERKS, CLINIC],
                       then=(["match"],))


def _travel_sensitive(write) -> str:  # type: ignore[no-untyped-def]
    return write("t2.yaml", [{**t, "sensitive": True} if t["topic_id"] == "travel" else t for t in TAXONOMY])


def test_an_opt_in_withdrawn_while_its_topic_is_out_of_the_taxonomy_is_still_shown(world, write) -> None:  # type: ignore[no-untyped-def]
    """The operator reloads the taxonomy without Health (to rework it, say); meanwhile hal withdraws his opt-in to it
    (a users file with `sensitive_opt_in: []`). The ingest does not see a withdrawal (no "withdrew a sensitive
    opt-in"), deletes nothing, and `topics hal`, `explain hal`, `brand clinic` (to the brand) and `export hal` go on
    showing Health, with his posts as evidence, to everyone: a sensitive topic shown after its opt-in was withdrawn.
    Reloading the taxonomy with Health again hides it, but the rows a withdrawal deletes are kept for good. A user
    would expect the withdrawal to be honoured whatever taxonomy is loaded that day. ``ingest.ingest_users`` computes
    ``withdrawn = hidden(new) - hidden(old)`` with ``taxonomy.not_shown`` of the *loaded* taxonomy, which only knows
    the sensitive topics it still has; every reader hides through the same ``not_shown``, so a topic the run inferred
    as sensitive but the taxonomy no longer has is hidden from no one."""
    without_health = write("t2.yaml", [t for t in TAXONOMY if t["topic_id"] != "health"])
    assert world("taxonomy", "load", without_health).exit_code == 0
    ingested = world("ingest", "--users", write("u2.jsonl", [{"user_id": "hal", "sensitive_opt_in": []}]))
    assert ingested.exit_code == 0, ingested.output
    shown = {
        "topics hal": world("topics", "hal", "--json").stdout,
        "explain hal": world("explain", "hal").stdout,
        "brand clinic": world("brand", "clinic", "--json").stdout,
    }
    leaked = [where for where, said in shown.items() if "health" in said.lower()]
    assert not leaked, f"Health, withdrawn by hal, still shown by: {leaked}; ingest said: {_said(ingested)}"


def test_match_changes_does_not_blame_competition_when_a_topic_became_sensitive(world, write) -> None:  # type: ignore[no-untyped-def]
    """Travel is marked sensitive (ann has not opted in); the operator runs `match --changes` before the next
    profile. It says "ann: lost lounge, trips (competition: other users' changes moved scarce perks)": false (trips
    is unlimited, nobody else changed); she lost them because the taxonomy now marks their topic sensitive. The
    operator expects that cause (without naming the topic to anyone who has not opted in, a count or "a topic of
    theirs is now sensitive" will do). ``changes.assignment_changes`` knows catalog, settings, withheld and topic
    signature causes; a topic hidden by today's taxonomy (``taxonomy.not_shown``) matches none of them, so it falls to
    the catch-all ``competition`` (the same for an opt-in withdrawn before the run, with its rows still there)."""
    assert world("taxonomy", "load", _travel_sensitive(write)).exit_code == 0
    changed = world("match", "--changes")
    assert changed.exit_code == 0, changed.output
    ann = next(line for line in changed.stdout.splitlines() if line.startswith("ann:"))
    assert "lost lounge, trips" in ann, changed.stdout
    assert "competition" not in ann, ann
    assert "sensitive" in ann, ann


def test_explain_user_does_not_say_no_topic_was_inferred_when_it_is_now_sensitive(world, write) -> None:  # type: ignore[no-untyped-def]
    """Travel is marked sensitive after profile run 1 inferred it for ann (no opt-in). Before the next profile,
    `explain ann` says "ann got no perk in match run 2: no topic was inferred for them in profile run 1 (`perkmatch
    topics ann --candidates` shows what fell short)": false twice: Travel was inferred, and it did not fall short.
    After `profile` alone (matched on run 1 still) it says the same. The no-perk sentence of the "not scored" branch
    was fixed to say "sensitive topics aside"; this branch was not: in ``explain.no_perks_reason``, ``if not topics
    and scored`` treats topics hidden as now sensitive like topics that fell short."""
    assert world("taxonomy", "load", _travel_sensitive(write)).exit_code == 0
    said = _said(world("explain", "ann"))
    assert "no topic was inferred for them in profile run 1" not in said, said
    assert "--candidates` shows what fell short" not in said, said


def test_explain_user_perk_does_not_say_a_perk_she_got_was_never_a_candidate(world, write) -> None:  # type: ignore[no-untyped-def]
    """Ann got lounge in match run 2. Travel is then marked sensitive. `explain ann lounge` says "match run 2: not a
    candidate: perks reach a user only through their topics, and ann had no inferred topic in profile run 1": both
    false (it was assigned to her in that run, through Travel, inferred in run 1). The assignment is hidden
    (``assignments.assignment_records`` drops one resting on topics now sensitive), and ``why_perk._not_a_candidate``
    filters the run's inferred rows through today's ``not_shown`` and then reads "no rows" as "no inferred topic".
    Expected: it says the perk was assigned on a topic the taxonomy now marks sensitive (not shown: she has not opted
    in), or at least does not say she had no topic."""
    before = json.loads(world("explain", "ann", "lounge", "--json").stdout)
    assert before.get("status") == "assigned", before
    assert world("taxonomy", "load", _travel_sensitive(write)).exit_code == 0
    said = _said(world("explain", "ann", "lounge"))
    assert "had no inferred topic in profile run 1" not in said, said
    assert "not a candidate" not in said, said
    assert json.loads(world("explain", "ann", "lounge", "--json").stdout)["status"] == "hidden"
    assert "through topics the taxonomy now marks sensitive" in said and "travel" not in said.lower(), said
