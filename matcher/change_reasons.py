"""The words of a topic's change between two profile runs: why its score moved (``why_moved``), from the facts
``change_causes.Causes`` holds.
"""

from typing import Any

from matcher.change_causes import Causes


def why_moved(topic_id: str, a: dict[str, Any] | None, b: dict[str, Any] | None, c: Causes) -> str:
    """Why a topic's score moved between two runs (``a``: its record in the earlier, ``b``: in the later, candidates
    included), in words."""
    reasons = []
    if b is None and c.topic_ids is not None and topic_id not in c.topic_ids:
        reasons.append("the topic is no longer in the taxonomy (it was replaced after the previous run)")
    if c.refitted:
        reasons.append(c.refitted)
    sensitive_new = a is None and b and b.get("status") == "inferred" and topic_id in c.sensitive and c.record_changed
    if sensitive_new:
        reasons.append("a sensitive topic, inferred only with the user's opt-in: their users record (which holds "
                       "their opt-ins) changed after the previous run")
    copied, copies_moved = _copies(topic_id, c)
    reasons += copied
    # (an earlier --as-of leaves posts out: their inputs changed too)
    posts_moved = c.new_posts or c.deleted or c.reached or c.copied or c.elapsed < 0 or copies_moved
    reasons += _posts(c)
    if c.record_changed and c.inputs_changed and not sensitive_new:  # (same inputs: not their opt-ins, then)
        reasons.append(_record_reason(bool(posts_moved)))
    reasons += _moved(a, b, c.usual, (c.kept[c.runs[0]].get(topic_id), c.kept[c.runs[1]].get(topic_id)))
    if b and b.get("status") == "candidate" and b.get("shortfalls"):  # dropped: what it now falls short of
        reasons.append("now short of: " + "; ".join(b["shortfalls"]))
    reasons += _time(c)
    return "; ".join(reasons) or "the taxonomy or the settings changed"


def _copies(topic_id: str, c: Causes) -> tuple[list[str], bool]:
    """The user's posts that copy another user's earlier post, when their count moved, on this topic or on any; and
    whether this topic's count moved."""
    out: list[str] = []
    copies = (c.copies[c.runs[0]].get(topic_id), c.copies[c.runs[1]].get(topic_id))
    copies_moved = None not in copies and copies[0] != copies[1]
    if copies_moved:
        out.append(f"posts on the topic that copy another user's earlier post word for word (they count as "
                   f"reshares) {copies[0]} -> {copies[1]}: another user's post of the same text, written earlier, "
                   "was added or deleted")
    elif c.copied and c.inputs_changed:  # a topic new to the user, or gone (no count of its own in one of the runs),
        # or one whose count did not move: a copy on another topic moves the user's usual engagement, which this one's
        # is measured against (and their inputs, which hold each post's copy flag, changed: not a re-stored original)
        out.append(f"{c.copied} of the user's posts, on any topic, turned out to copy another user's earlier post "
                   "word for word (it was stored after the previous run): they count as reshares")
    return out, copies_moved


def _posts(c: Causes) -> list[str]:
    """The user's posts added or updated, deleted, or reached by a later date, between the runs."""
    out: list[str] = []
    if c.new_posts:
        out.append(f"{c.new_posts} new or updated post(s) of the user's, on any topic (new posts, or posts "
                   "stored again with a new text, context or engagement)")
    if c.deleted:
        out.append(f"{c.deleted} post(s) of the user's, on any topic, deleted at their request after the previous "
                   "run (`perkmatch forget USER --post`)")
    if c.reached:
        out.append(f"{c.reached} post(s) of the user's, on any topic, written after the previous run's date and "
                   "by this one's, now count")
    return out


def _time(c: Causes) -> list[str]:
    """The time between the runs' dates: later (recency), or earlier (``--as-of``)."""
    out: list[str] = []
    if c.elapsed > 0:  # with new posts too: every post is older against the later date
        out.append(f"time passing: {_span(c.elapsed)} since the previous run lowers the recency weight")
    if c.elapsed < 0:
        out.append(f"this run is as of {_span(-c.elapsed)} before the previous one (--as-of): posts written "
                   "after its date are left out")
    return out


def _record_reason(posts_moved: bool) -> str:
    """The user's record and their inputs changed between the runs: their sensitive-topic opt-ins did when none of
    their posts did (a digest reads only the two), else they may have."""
    why = ("a sensitive topic counts only with an opt-in: opting in or out changes which posts count for the topics "
           "above it, and which topic is the user's strongest, the one side interests are measured against")
    if not posts_moved:
        return f"the user's sensitive-topic opt-ins changed after the previous run ({why})"
    return (f"the user's record also changed after the previous run (of what it holds, only sensitive-topic opt-ins "
            f"move topics: {why}; a change of region or handle moves none)")


def _moved(a: dict[str, Any] | None, b: dict[str, Any] | None, usual: tuple[float | None, float | None] = (None, None),
           kept: tuple[set[int] | None, set[int] | None] = (None, None)) -> list[str]:
    """How a topic's own numbers moved between two runs: its posts, their engagement, the user's usual (``usual``:
    in the earlier run and the later; ``kept``: every post of the topic each run kept,
    ``change_causes._every_post``)."""
    if not (a and b):
        return []
    out = [f"posts on the topic {a['posts']} -> {b['posts']}"] if a["posts"] != b["posts"] else []
    if a["engagement"] != b["engagement"]:
        out.append(f"engagement {a['engagement']:g} -> {b['engagement']:g}" + _same_posts(a, b, kept))
    elif a["engagement_vs_usual"] != b["engagement_vs_usual"]:  # the same reactions, weighed otherwise
        went = f"×{a['engagement_vs_usual']:.2f} -> ×{b['engagement_vs_usual']:.2f}"
        if None not in usual and usual[0] != usual[1]:
            out.append(f"the user's usual engagement moved ({usual[0]:g} -> {usual[1]:g} a post: their posts "
                   f"elsewhere), so this topic's against it went {went}")
        else:  # a refit, or posts read otherwise: each post counts for the topic in another share
            out.append(f"its posts are read as more or less about it than before (each counts for it in another "
                   f"share), so their engagement against the user's usual went {went}")
    return out


def _same_posts(a: dict[str, Any], b: dict[str, Any], kept: tuple[set[int] | None, set[int] | None]) -> str:
    """Said of engagement that moved with the same number of posts over the same dates: whether on the very posts the
    topic counted before. Known when each run kept every post of the topic (``kept``, ``change_causes._every_post``);
    else it may be either (new reactions can also move a post into a longer list's strongest)."""
    if a["posts"] != b["posts"] or (a["first"], a["last"]) != (b["first"], b["last"]):
        return ""
    before, after = kept
    if before is None or after is None:
        return (" with the same number of posts over the same dates (new likes, replies or shares on them, or a post "
                "swapped for another)")
    if before != after:
        return (f" with the same number of posts over the same dates, but not the same posts ({len(before - after)} "
                f"left, {len(after - before)} joined)")
    return " on the same posts (new likes, replies or shares on posts it already counted)"


def _span(seconds: int) -> str:
    """A time between two runs' dates, in the largest whole unit (before: "0 day(s)" for a few hours)."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}(s)"
    return f"{seconds} second(s)"
