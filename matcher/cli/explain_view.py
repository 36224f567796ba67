"""What `explain USER TOPIC_ID|PERK_ID` shows: which of the two the id is (or what it may have meant: a brand's
perks, a near perk id), a topic's verdict with its measures and evidence, and why the user got a perk or not."""

from typing import Any

from matcher.cli.common import out, print_json
from matcher.cli.shown import (
    assignments_own_vote,
    evidence_lines,
    evidence_own_vote,
    match_evidence_changed,
    perks_legend,
    print_assignments,
    warn_stale,
)


def is_perk(eng: Any, wanted: str) -> bool:
    """An id no topic has (now, or in the user's latest run) but a perk has, in any catalog version."""
    from sqlmodel import select

    from catalog.schema import PerkRecord
    from matcher.store import TopicScore, session
    from matcher.taxonomy import load_topics

    if any(t.topic_id == wanted for t in load_topics(eng)):
        return False
    with session(eng) as s:
        if s.exec(select(TopicScore.id).where(TopicScore.topic_id == wanted).limit(1)).first() is not None:
            return False
        return s.exec(select(PerkRecord.id).where(PerkRecord.perk_id == wanted).limit(1)).first() is not None


def perk_hint(eng: Any, wanted: str) -> str | None:
    """For an id no topic or perk has: the perks of a brand of that name, or perk ids it may have meant."""
    import difflib

    from sqlmodel import select

    from catalog.refresh import brand_perks_named, listed
    from catalog.schema import PerkRecord
    from matcher.store import session

    with session(eng) as s:
        brand = [p.perk_id for p in brand_perks_named(s, wanted)]
        ids = sorted(set(s.exec(select(PerkRecord.perk_id)).all()))
    if brand:
        return f"'{wanted}' is a brand: give one of its perks ({listed(brand)})"
    near = difflib.get_close_matches(wanted, ids, n=3, cutoff=0.75)
    if near:
        return f"for a perk, did you mean {' or '.join(near)}?"
    return "nor is it a perk's id (`perkmatch catalog show` lists the live perks)" if ids else None


def warn_topic_stale(eng: Any, record: dict[str, Any], user_id: str, topic_id: str) -> None:
    """Say when the topic's evidence, or the user's posts, changed after the run the answer is read from."""
    if record.get("evidence") and not record.get("worked_again"):  # (worked again: read as they are now)
        from matcher.topic_records import evidence_changed

        warn_stale(evidence_changed(eng, int(record["run_id"]), [user_id], topic_id, candidates=True))
    if record.get("posts_changed_since_run") and not record.get("worked_again"):  # (that one says so itself)
        warn_stale(f"{user_id}'s posts or users record changed after profile run {record['run_id']}: this answer is "
                   "that run's; `perkmatch profile` works it out again")


def print_topic(record: dict[str, Any], user_id: str, topic_id: str, votes: bool = False) -> None:
    """A topic's verdict for the user, how its vector was read, then its measures (``print_measures``; ``votes``:
    the user has posts on a platform that counts the author's own vote, ``counts_own_vote``)."""
    out.print(f"{user_id} / {record['name']} ({topic_id}): {record['verdict']}")
    if record.get("worked_again"):
        out.print(f"  ({record['worked_again']})")
    if record.get("related_words"):
        out.print(f"  read through its name, description and related words: {', '.join(record['related_words'])}")
    if record.get("fitted_on_posts"):
        plain = max(1, round(record["fitted_on_posts"]))
        out.print(f"  its vector is fitted to this collection: of all the users' posts, about {plain} "
                  f"{'are' if plain != 1 else 'is'} plainly about the topic")
    if "posts" in record:
        print_measures(record, votes)


def print_measures(record: dict[str, Any], votes: bool = False) -> None:
    """The topic's measures against the thresholds they need, when it was written about, its evidence, and what the
    measures and the evidence's signs mean (``glossary``: as the topics table and the user report say it)."""
    from matcher.glossary import legend, topic_terms

    d = record["details"]
    th = record["thresholds"]
    out.print(f"  posts {record['posts']} (needs {th['posts']}), distinct days {record['days']} (needs {th['days']}), "
              f"threads {record['threads']} (needs {th['threads']}), engaged posts {d['engaged_posts']} (needs "
              f"{th['engaged_posts']})")
    out.print(_engagement(record, votes))
    if record["first"]:
        out.print(f"  written about from {record['first'][:10]} to {record['last'][:10]}")
    for line in evidence_lines(record["evidence"], 5).splitlines():
        out.print(f"  {line}", markup=False)
    terms = topic_terms(th)  # the thresholds are said beside each number above
    said = [terms[k] for k in ("posts", "days", "threads", "confidence", "engagement_vs_usual")]
    own_vote = evidence_own_vote(record["evidence"])
    out.print(f"  {legend(said, own_vote, labels=False, needs=False)}", markup=False, highlight=False)


def counts_own_vote(eng: Any, user_id: str) -> bool:
    """Whether the user has posts on a platform that counts the author's own vote (Reddit): their usual engagement,
    read over all their posts, leaves it out."""
    from sqlmodel import col, select

    from matcher.profile_types import ProfileParams
    from matcher.store import Post, session

    with session(eng) as s:
        return s.exec(select(Post.id).where(Post.user_id == user_id)
                      .where(col(Post.platform).in_(ProfileParams().self_vote_platforms)).limit(1)).first() is not None


def _own_vote(record: dict[str, Any], votes: bool = False) -> str:
    """What the usual leaves out, said only where there is one to leave out: the user has posts on a platform that
    counts the author's own vote (``votes``), or the topic's evidence is on one (Reddit). A Stack Exchange or
    Twitter user has no such vote. (Before, only the evidence was read: a user with Reddit posts, whose topic's
    evidence is on Twitter, was not told their usual leaves their own votes out.)"""
    from matcher.glossary import own_vote_shown

    return ", beyond the author's own vote" if votes or own_vote_shown(record["evidence"]) else ""


def _engagement(record: dict[str, Any], votes: bool = False) -> str:
    """The line of the topic's engagement, confidence and what was dropped, weighed or not shown."""
    from matcher.profile_measure import NOT_SHOWN  # (NumPy: not at the CLI's import)

    d = record["details"]
    th = record["thresholds"]
    per_post = d["positive_engagement"] / record["posts"] if record["posts"] else 0.0
    whose = ("its typical post's" if record["posts"] else
             f"none of its posts counts for it: they are its inferred children's ({', '.join(d['covered_by'])})"
             if d.get("covered_by") else
             "that of posts passing on others' words or repeating the user's (it has no post in their own words)")
    needed = th["engagement_vs_usual"]  # to as many decimals as it takes not to look met when it is not
    needed_shown = f"{needed:.2f}" if f"{needed:.2f}" != f"{record['engagement_vs_usual']:.2f}" else f"{needed:g}"
    return (f"  engagement on it ×{record['engagement_vs_usual']:.2f} of the user's usual (needs "
            f"×{needed_shown}; {whose}; the usual ≈ {d['usual_engagement']} "
            f"reactions a post{_own_vote(record, votes)}), "
            f"{per_post:.2f} reactions a post on it (needs {th['engagement_per_post']:g}), "
            f"confidence {record['confidence']:.2f} (needs {th['confidence']:.2f}), "
            f"duplicates dropped {d['duplicates_dropped']}, "
            f"reshares {d['shares']}"
            + (f", copies of other users' earlier posts {d['copies']}" if d.get("copies") else "")
            + (f", not shown {d['not_shown']} ({NOT_SHOWN})" if d.get("not_shown") else "")
            + f", recency weight {d['recency']} (1 when its posts are recent; older posts count less)"
            + (f", clarity {d['clarity']} (how plainly the posts are about it)" if "clarity" in d else ""))


def show_perk(eng: Any, cache: Any, user_id: str, perk_id: str, as_json: bool) -> None:
    """Why the user got the perk, or not (`explain USER PERK_ID`)."""
    from matcher.why_perk import explain_perk

    record = explain_perk(eng, cache, user_id, perk_id)
    if record.get("status") == "assigned":
        warn_stale(match_evidence_changed(eng, [record["assignment"]]))
    warn_stale(record.get("note"))  # the perk changed or was retired in the catalog since the match
    if as_json:
        print_json(record)
        return
    out.print(f"{user_id} / {perk_id} ({record['brand']}: {record['title']}), match run {record['match_run']}: "
              f"{record['verdict']}", markup=False)
    if record.get("assignment"):
        print_assignments([record["assignment"]])
    for t in record.get("topics", []):
        out.print(f"  through {t['name']} ({t['topic_id']}): {t['why']}", markup=False)
    if record.get("status") == "not_a_candidate" and not record.get("perk_topics"):
        out.print("  the perk is about no topic closely enough to reach anyone through it", markup=False)
    if record.get("perk_topics"):
        now = f" (where they stand now: profile run {record['standing_run']})" if record.get("standing_run") else ""
        out.print(f"  the perk is about{now}:", markup=False)
        for t in record["perk_topics"]:
            out.print(f"    {t['name']} ({t['topic_id']}, relevance {t['relevance']:.2f}): {t['user']}", markup=False)
    if record.get("also"):
        out.print(f"  {record['also']}", markup=False)
    if "score" in record or record.get("topics") or record.get("perk_topics"):  # a number said: what it means
        own_vote = assignments_own_vote([record["assignment"]]) if record.get("assignment") else None
        out.print(perks_legend(own_vote, tail=""), markup=False, highlight=False)
