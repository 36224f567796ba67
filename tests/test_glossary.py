"""One glossary (``matcher.glossary``) says what perkmatch's numbers and signs mean, and every surface that explains
them shows its words: the `topics` table's legend, `explain USER` (the perks), `explain USER TOPIC`, `explain USER
PERK`, and the user and brand report pages. Before, each worded them its own way (a perk's "fit" was "about 1 or more
is close" in one, a threshold of 20 h was written as a literal in the page), so they could drift apart."""

import html
import json

import pytest

from matcher.glossary import OWN_VOTE, SIGNS, legend, own_vote_shown, perk_terms, report_glossary, topic_terms
from matcher.perk_space import MatchParams
from matcher.profile_types import ProfileParams
from matcher.topic_verdicts import thresholds
from tests.test_person_view import person_world, said

TABLE = ("score", "confidence", "posts", "days", "engagement_vs_usual")  # the numbers the `topics` table shows


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """ann writes about travel (a topic and the lounge perk of the brand Sky); dan's two coffee posts fall short."""
    return person_world(tmp_path, write, monkeypatch)


def test_topics_table_is_headed_and_glossed_in_the_glossarys_words(world) -> None:  # type: ignore[no-untyped-def]
    text = said(world("topics", "ann"))
    terms = topic_terms()
    for key in TABLE:
        assert terms[key].said() in text, key  # "conf.: how sure perkmatch is ... (needs 0.50)"
    assert f"{SIGNS}." in text and OWN_VOTE not in text  # no post of ann's is on Reddit
    header = next(line for line in world("topics", "ann").stdout.splitlines() if "topic" in line and "score" in line)
    assert [h.strip() for h in header.strip("┃│ ").split("┃")][1:-1] == [terms[k].label for k in TABLE]


def test_topics_all_says_what_its_numbers_mean_once(world) -> None:  # type: ignore[no-untyped-def]
    text = said(world("topics", "--all"))
    assert text.count(topic_terms()["confidence"].said()) == 1  # before: `--all` never said it (records read once)


def test_explain_user_glosses_each_perk_number(world) -> None:  # type: ignore[no-untyped-def]
    text = said(world("explain", "ann"))
    assert "because of Travel (fit" in text
    for term in perk_terms().values():
        assert term.said() in text, term.name
    assert f"{SIGNS}. `perkmatch explain USER PERK_ID`" in text


def test_explain_user_perk_glosses_each_perk_number(world) -> None:  # type: ignore[no-untyped-def]
    perk = json.loads(world("explain", "ann", "--json").stdout)["assignments"][0]["perk_id"]
    text = said(world("explain", "ann", perk))
    assert "assigned: their #1 perk" in text  # before: its score, fit and relevance were said with no word on them
    for term in perk_terms().values():
        assert term.said() in text, term.name


def test_explain_topic_glosses_its_measures_in_the_glossarys_words(world) -> None:  # type: ignore[no-untyped-def]
    text = said(world("explain", "ann", "travel"))
    terms = topic_terms()
    for key in ("posts", "days", "threads", "confidence", "engagement_vs_usual"):
        assert f"{terms[key].name}: {terms[key].meaning}" in text, key  # its thresholds are beside its numbers
    assert "confidence: how sure perkmatch is" in text and "(needs 0.50). " not in text
    assert f"{SIGNS})" in text


def test_user_report_glosses_every_number_in_the_glossarys_words(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "ann.html"
    assert world("report", "user", "ann", "--out", str(page)).exit_code == 0
    text = html.unescape(" ".join(page.read_text(encoding="utf-8").split()))
    for term in [*topic_terms().values(), *perk_terms().values()]:
        assert term.sentence in text, term.name  # "Confidence: how sure perkmatch is ... (needs 0.50)."
    assert "20 hours" not in text  # before: the day gap written as a literal beside ProfileParams' own


def test_brand_report_glosses_a_perks_numbers(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "sky.html"
    assert world("report", "brand", "Sky", "--out", str(page)).exit_code == 0
    text = html.unescape(" ".join(page.read_text(encoding="utf-8").split()))
    assert "fit " in text  # before: fit and relevance shown with no word on what they are
    for term in perk_terms().values():
        assert term.sentence in text, term.name


def test_json_output_carries_no_glossary(world) -> None:  # type: ignore[no-untyped-def]
    words = [t.meaning for t in [*topic_terms().values(), *perk_terms().values()]] + [SIGNS]
    for args in (("topics", "ann"), ("explain", "ann"), ("explain", "ann", "travel"), ("explain", "ann", "lounge")):
        out = world(*args, "--json").stdout
        json.loads(out.splitlines()[0])
        assert not any(w in out for w in words), args


def test_thresholds_are_read_from_the_rules_never_written() -> None:
    rules = ProfileParams(min_posts=7, min_days=5, day_gap_hours=13, min_threads=6, min_confidence=0.77,
                          min_lift=-1.1, min_share_of_best=0.61)
    terms = topic_terms(thresholds(rules))
    assert [terms[k].needs for k in ("posts", "days", "threads", "confidence", "engagement_vs_usual", "score")] == [
        "7", "5", "6", "0.77", "×0.33", "61% of the score of their strongest topic"]
    assert "each at least 13 h after the one before" in terms["days"].meaning
    said = " ".join(t.said() for t in terms.values())
    assert not any(n in said for n in ("0.50", "20 h", "needs 3", "needs 2", "50%"))
    assert report_glossary(thresholds(rules))["topic"] == terms  # a report page's: its run's thresholds
    match = MatchParams()
    perks = " ".join(t.meaning for t in perk_terms().values())
    assert f"under {match.min_relevance:.2f} it reaches no one" in perks
    assert f"plus up to {match.evidence_weight:.2f}" in perks and f"plus {match.target_boost:.2f} when" in perks


def test_the_own_vote_is_said_only_where_a_post_shown_counts_one() -> None:
    reddit, twitter = {"platform": "reddit"}, {"platform": "twitter"}
    assert own_vote_shown([twitter, reddit]) and not own_vote_shown([twitter]) and not own_vote_shown([])
    terms = list(topic_terms().values())[:1]
    assert legend(terms, True).endswith(f"{SIGNS}; {OWN_VOTE})")
    assert legend(terms, False).endswith(f"{SIGNS})")
    assert SIGNS not in legend(terms, None)  # no evidence line shown: no sign to say


def test_a_page_term_is_the_legends_in_a_sentence() -> None:
    confidence = topic_terms()["confidence"]
    assert confidence.said() == f"conf.: {confidence.meaning} (needs 0.50)"
    assert confidence.sentence == f"Confidence: {confidence.meaning} (needs 0.50)."
    assert perk_terms()["score"].sentence.startswith("A perk's score: how well the perk suits the user")


def test_match_and_brand_gloss_the_numbers_they_show_in_the_glossarys_words(world) -> None:  # type: ignore[no-untyped-def]
    """`match` shows each perk's score, fit and relevance, `brand` each user's score: before, with no word on them."""
    text = said(world("match", "--dry-run"))
    assert "because of Travel (fit" in text
    for term in perk_terms().values():
        assert text.count(term.said()) == 1, term.name
    perk = json.loads(world("explain", "ann", "--json").stdout)["assignments"][0]["perk_id"]
    shown = said(world("brand", perk))
    assert perk_terms()["score"].said() in shown and perk_terms()["fit"].said() not in shown  # (it shows no fit)
    assert f"{SIGNS}." in shown and "`perkmatch explain USER PERK_ID` says why a user got it or not" in shown
    assert SIGNS not in said(world("match", "--dry-run", "--json"))  # the contract's JSON carries none of it
