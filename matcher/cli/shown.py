"""How the result commands print a post, a run's evidence and an assignment (topics, explain, match, brand)."""

import html
from typing import Any

from rich.markup import escape
from rich.text import Text

from matcher.cli.common import err, out


def short(text: str, n: int = 90) -> str:
    """A post's text on one line, as a person reads it: Reddit and Twitter send "&gt;" for ">" (JSON keeps it)."""
    text = " ".join(html.unescape(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def or_dash(value: Any) -> str:
    return "-" if value is None else str(value)


def evidence_lines(evidence: list[dict[str, Any]], limit: int = 3) -> str:
    """Evidence posts, one a line; a reply shows what it answers (its context, which is read with it)."""
    return "\n".join(f"{e['created_at'][:10]} ♥{e['likes']} ↩{e['replies']} ⇄{e['shares']}  "
                     + ("(reshare) " if e.get("is_share") else "") + short(e["text"])
                     + (f"  [in: {short(e['context'], 60)}]" if e.get("context") else "")
                     for e in evidence[:limit])


def print_assignments(records: list[dict[str, Any]]) -> None:
    for r in records:
        since = f"; {r['catalog_since']} in the catalog since" if r.get("catalog_since") else ""
        out.print(Text.assemble((r["user_id"], "bold"), f" #{r['rank']} {r['perk_id']} — {r['brand']}: {r['title']} "
                                f"(score {r['score']:.3f}{since})"))
        for t in r["topics"][:2]:
            relevance = f", relevance {t['relevance']:.2f}" if "relevance" in t else ""
            out.print(f"    because of {t['name']} (fit {t['fit']:.2f}{relevance}):")
            for line in evidence_lines(t["evidence"], 2).splitlines():
                out.print(f"      {line}", markup=False)


PERKS_TAIL = "`perkmatch explain USER PERK_ID` says why one perk was given or not"


def perks_legend(own_vote: bool | None, tail: str = PERKS_TAIL) -> str:
    """What a perk's score, fit and relevance, and the signs of its evidence, mean (``glossary``; ``own_vote``: as
    ``glossary.legend`` reads it, ``assignments_own_vote``)."""
    from matcher.glossary import legend, perk_terms  # (the catalog's index: not at the CLI's import)

    return "  " + legend(perk_terms().values(), own_vote, tail)


def brand_legend(users: list[dict[str, Any]]) -> str:
    """What `brand`'s numbers and signs mean: a perk's score, and the signs of the evidence shown (its users' top
    topic's, as ``_print_brand`` shows it)."""
    from matcher.glossary import legend, perk_terms

    evidence = [e for u in users for e in (u["topics"][0]["evidence"][:2] if u["topics"] else [])]
    return "  " + legend([perk_terms()["score"]], evidence_own_vote(evidence),
                         "`perkmatch explain USER PERK_ID` says why a user got it or not")


def assignments_own_vote(records: list[dict[str, Any]]) -> bool | None:
    """``glossary.legend``'s ``own_vote`` for these assignments as ``print_assignments`` shows them."""
    return evidence_own_vote([e for r in records for t in r["topics"][:2] for e in t["evidence"]])


def evidence_own_vote(evidence: list[dict[str, Any]]) -> bool | None:
    """``glossary.legend``'s ``own_vote`` for these evidence posts shown: None when there is none."""
    from matcher.glossary import own_vote_shown

    return own_vote_shown(evidence) if evidence else None


def match_profile_run(eng: Any) -> int | None:
    """The profile run the latest match assigned from: the topics and evidence its assignments cite."""
    from matcher.assignments import matched_profile
    from matcher.profile_run import latest_run

    return matched_profile(latest_run(eng, "match"))


def match_evidence_changed(eng: Any, records: list[dict[str, Any]]) -> str | None:
    """``topic_records.shown_again`` of these records of the latest match (the posts they show as evidence)."""
    from matcher.topic_records import shown_again

    return shown_again(records, match_profile_run(eng))


def warn_stale(note: str | None) -> None:
    """On stderr, so that --json output stays the run's records."""
    if note:
        err.print(f"[yellow]Warning:[/] {escape(note)}", markup=True)
