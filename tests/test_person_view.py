"""What a profiled person reads about themselves: `topics USER` (with `--candidates`), `explain USER`, `explain USER
TOPIC` and `report user`. Every number and sign shown is said in plain words where it is shown, a candidate says why
it fell short in the table too (not only in --json), and a user with no topic is told where to look next. Found by
reading the dev data's users as they would (helper-141)."""

import html
import re

import pytest

from tests.test_cli_match import build_world, posts_for


def person_world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """ann writes about travel (a topic, perks); dan wrote two coffee posts (a candidate that falls short)."""
    users = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY"},
             {"user_id": "dan", "consent": "opted_in", "region": "GB"}]
    posts = posts_for("ann", "flights airport lounge travel") + posts_for("dan", "coffee espresso beans roast", 2)
    return build_world(tmp_path, write, monkeypatch, users, posts, "2025-03-01", then=(["match"],))


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    return person_world(tmp_path, write, monkeypatch)


def said(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.split())


def test_topics_table_says_what_its_numbers_and_signs_mean(world) -> None:  # type: ignore[no-untyped-def]
    text = said(world("topics", "ann"))
    for gloss in ("score: how strongly the user's posts show the interest", "conf.: how sure perkmatch is, 0 to 1",
                  "engagement vs usual: how the reactions to its posts (likes, replies, shares) compare with those to "
                  "the user's own typical post", "♥ likes, ↩ replies, ⇄ shares"):
        assert gloss in text, gloss  # before: score, conf., ♥ ↩ ⇄ were shown with no word on what they are
    assert text.count("score: how strongly") == 1
    assert "score: how strongly" not in world("topics", "ann", "--json").stdout  # JSON Lines stay records


def test_topics_candidates_table_says_why_each_fell_short(world) -> None:  # type: ignore[no-untyped-def]
    text = said(world("topics", "dan", "--candidates"))
    assert "why it fell short" in text and "Coffee (candidate)" in text
    # before: only --json gave the shortfalls; the table showed "(candidate)" and no reason
    assert "1 original post(s), needs 3" in text and "confidence 0.33, needs 0.50: only 1 post(s)" in text


def test_topics_of_a_user_with_no_topic_points_at_the_candidates(world) -> None:  # type: ignore[no-untyped-def]
    result = world("topics", "dan")
    assert result.stdout.startswith("dan: 0 topic(s)\n")  # before: that line alone
    assert "`perkmatch topics dan --candidates` shows the topics that came closest" in said(result)
    assert "--candidates` shows" not in said(world("topics", "dan", "--candidates"))  # not where they are shown


def test_explain_user_says_what_score_fit_and_relevance_mean(world) -> None:  # type: ignore[no-untyped-def]
    text = said(world("explain", "ann"))
    assert re.search(r"because of Travel \(fit [\d.]+, relevance [\d.]+\)", text)
    assert "(score: how well the perk suits the user, its fit weighed by how strong the topic is among theirs" in text
    assert "relevance: how much the perk is about this topic rather than others" in text
    assert "score: how well" not in said(world("explain", "dan"))  # no perk and none withheld: nothing to gloss


def test_explain_topic_names_the_unit_of_each_number(world) -> None:  # type: ignore[no-untyped-def]
    text = said(world("explain", "ann", "travel"))
    assert re.search(r"[\d.]+ reactions a post on it \(needs 0.5\)", text)  # before: "1.67 a post"
    assert re.search(r"confidence [\d.]+ \(needs 0.50\)", text)
    assert "confidence: how sure perkmatch is, 0 to 1, from how many posts, days and threads the topic rests on" in text
    assert re.search(r"recency weight [\d.]+ \(1 when its posts are recent; older posts count less\)", text)
    assert "♥ likes, ↩ replies, ⇄ shares; [in: ...] is what the post answers)" in text  # no Reddit post: no vote


def test_user_report_glosses_topic_and_perk_numbers(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "ann.html"
    assert world("report", "user", "ann", "--out", str(page)).exit_code == 0
    text = html.unescape(" ".join(page.read_text(encoding="utf-8").split()))
    assert "Confidence: how sure perkmatch is, 0 to 1" in text
    assert "Score: how strongly the user's posts show the interest" in text
    assert "Fit: how close the perk is to the topic and to the user's own posts on it" in text
