"""What perkmatch's numbers and signs mean, in plain words, each said once. The legend under the `topics` table, the
legends of `explain` (a topic; a user's perks; one perk) and the notes of the user and brand report pages all read
their definitions here, so what a reader is told cannot differ from one place to the next.

The thresholds in them are read from the rules, never written here: a topic's from ``topic_verdicts.thresholds``
(``ProfileParams``, or those an explanation recorded), a perk's from ``MatchParams``. Each definition says what is
computed: a topic's score, confidence and counts in ``profile_measure._measure``, its engagement against the user's
usual in ``profiles._context`` (``post_signals``), a perk's relevance in ``perk_space.perk_relevance``, its fit and
score in ``perk_candidates._hit``.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from matcher.profile_types import ProfileParams
from matcher.topic_verdicts import thresholds as rule_thresholds

SIGNS = "♥ likes, ↩ replies, ⇄ shares; [in: ...] is what the post answers"
OWN_VOTE = "on Reddit, ♥ is the post's score, which counts the author's own +1 (engagement leaves that out)"


@dataclass(frozen=True)
class Term:
    """A number as a page names it (``name``) and as a terminal table heads it (``label``), what it means, and what a
    topic needs of it to be inferred (empty when nothing is needed)."""

    name: str
    label: str
    meaning: str
    needs: str = ""

    def said(self, label: str | None = None, needs: bool = True) -> str:
        """``label: meaning (needs ...)``, as a legend says it; ``needs=False`` where the threshold is already shown
        beside the number (`explain`)."""
        return f"{label or self.label}: {self.meaning}" + (f" (needs {self.needs})" if needs and self.needs else "")

    @property
    def sentence(self) -> str:
        """As a report page says it: ``Confidence: how sure ... (needs 0.50).``"""
        return self.said(self.name[:1].upper() + self.name[1:]) + "."


def topic_terms(thresholds: Mapping[str, Any] | None = None) -> dict[str, Term]:
    """A topic's numbers, in the order a page shows them; ``thresholds``: those a run or an explanation recorded
    (``topic_verdicts.thresholds``), by default the rules' own."""
    th = rule_thresholds(ProfileParams()) if thresholds is None else thresholds
    reshare = ProfileParams().share_originality
    return {
        "score": Term("score", "score", "how strongly the user's posts show the interest, from how many there are, "
                      "how plainly they are about it, how recent and how engaged, and the confidence; read it against "
                      "the user's other topics",
                      f"{th['share_of_strongest']:.0%} of the score of their strongest topic"),
        "confidence": Term("confidence", "conf.", "how sure perkmatch is, 0 to 1, from how many posts, days and "
                           "threads the topic rests on", f"{th['confidence']:.2f}"),
        "posts": Term("posts", "posts", "the user's own posts about it, each counted once; reshares, copies of other "
                      "users' earlier posts and repeats are not counted, though a reshare or a copy adds "
                      f"{reshare:g} of a post to the score and confidence", f"{th['posts']:g}"),
        "days": Term("distinct days", "days", "the days it was written about, each at least "
                     f"{th['day_gap_hours']:g} h after the one before", f"{th['days']:g}"),
        "threads": Term("threads", "threads", "the conversations its posts are in; a post that answers nothing is "
                        "one of its own", f"{th['threads']:g}"),
        "engagement_vs_usual": Term("engagement vs usual", "engagement vs usual", "how the reactions to its posts "
                                    "(likes, replies, shares) compare with those to the user's own typical post, "
                                    "×1.00 = as usual; read on a log scale and drawn towards ×1.00 when it rests on "
                                    "few posts, so one viral post moves it far less than its reactions",
                                    f"×{th['engagement_vs_usual']:.2f}"),
    }


def perk_terms() -> dict[str, Term]:
    """A perk's numbers for a user: its score, and the fit and relevance of the topics behind it (``MatchParams``)."""
    from matcher.perk_space import MatchParams  # (the catalog's index: not for `topics`, which shows no perk)

    p = MatchParams()
    return {
        "score": Term("a perk's score", "score", "how well the perk suits the user, its fit weighed by how strong the "
                      "topic is among theirs (the whole fit through their strongest, surest topic; less through a "
                      "weaker or less sure one)"),
        "fit": Term("fit", "fit", "how close the perk is to the topic and to the user's own posts on it: its "
                    f"relevance (at least {p.min_relevance:.2f} for a topic the catalog names for it), plus up to "
                    f"{p.evidence_weight:.2f} for its closeness to those posts, plus "
                    f"{p.target_boost:.2f} when the catalog aims the perk at the topic or one above it"),
        "relevance": Term("relevance", "relevance", "how much the perk is about this topic rather than others, 1.00 = "
                          "as much as about the topics it is closest to; under "
                          f"{p.min_relevance:.2f} it reaches no one through the topic, unless the catalog names the "
                          "topic for it"),
    }


def signs(own_vote: bool) -> str:
    """What the signs of an evidence line mean; ``own_vote``: a post shown is on a platform whose ♥ counts the
    author's own vote (``own_vote_shown``)."""
    return SIGNS + (f"; {OWN_VOTE}" if own_vote else "")


def own_vote_shown(evidence: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any of these evidence posts is on a platform that counts the author's own vote (Reddit)."""
    platforms = ProfileParams().self_vote_platforms
    return any(e.get("platform") in platforms for e in evidence)


def legend(terms: Iterable[Term], own_vote: bool | None, tail: str = "", labels: bool = True,
           needs: bool = True) -> str:
    """The terms in one line, in brackets, for under a terminal table: each by its table ``label`` (``labels=False``:
    by its name), then what the signs of an evidence line mean (``own_vote``: as ``signs``; None: no evidence line
    was shown), then ``tail``."""
    parts = [t.said(None if labels else t.name, needs) for t in terms]
    if own_vote is not None:
        parts.append(signs(own_vote))
    return "(" + ". ".join(parts + ([tail] if tail else [])) + ")"


def report_glossary(thresholds: Mapping[str, Any] | None = None) -> dict[str, dict[str, Term]]:
    """What the report pages gloss: a topic's numbers (against ``thresholds``, those the page's run recorded) and a
    perk's."""
    return {"topic": topic_terms(thresholds), "perk": perk_terms()}
