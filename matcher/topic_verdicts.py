"""The words of a verdict on a topic (``matcher.explain``): the thresholds by name, what fell short, the posts that
did not count as the user's own, the posts the model cannot read, and why a topic has no score at all.
"""

import math
from typing import Any

from matcher.classify import ClassifyParams
from matcher.profile_types import ProfileParams
from matcher.store import Run


def thresholds(params: ProfileParams) -> dict[str, float]:
    """Every threshold a topic must meet to be inferred (README, "How topics are inferred", step 9), by name."""
    return {"posts": params.min_posts, "days": params.min_days, "day_gap_hours": params.day_gap_hours,
            "threads": params.min_threads, "engaged_posts": params.min_engaged_posts,
            "engagement_per_post": params.min_mean_engagement,
            "engagement_vs_usual": round(math.exp(params.min_lift), 4), "burst_share": params.max_burst_share,
            "thread_share": params.max_thread_share,
            "confidence": params.min_confidence, "plain": params.min_plain, "own_words": params.alone_min,
            "share_of_strongest": params.min_share_of_best}


def no_post_about(params: ProfileParams) -> str:
    return (f"none of the user's posts is about this topic (membership {params.member_min:g} or more: a post belongs "
            f"to the {ClassifyParams().top_k} topics it is closest to at most, and only as much as it is closer to "
            "them than to the others)")


def opted_in_since(run: Run, user_id: str) -> str:
    return (f"this sensitive topic is weighed only for users who opted in to it, and the user's record (which holds "
            f"their opt-ins) changed after profile run {run.id}: run `perkmatch profile` to weigh it for {user_id} now")


def covered(details: dict[str, Any], posts: int, names: dict[str, str]) -> str:
    """The verdict on a parent topic whose posts count for its inferred children (README, step 10)."""
    kids = ", ".join(f"{names[k]} ({k})" for k in details["covered_by"])
    said = (f"not shown: its posts count for the more specific {kids}, inferred instead (a parent is shown only when "
            "its posts beyond its inferred children's meet every threshold on their own)")
    if posts and details.get("shortfalls"):  # with none beyond them, every threshold "falls short" of nothing
        said += "; beyond them: " + "; ".join(details["shortfalls"])
    return said


def short_on_posts(record: dict[str, Any], details: dict[str, Any], params: ProfileParams) -> bool:
    """Whether a topic falls short on a count of its original posts (posts, days, threads, engaged posts, or the
    confidence they give): then the posts that did not count as original say why."""
    return bool(record["posts"] < params.min_posts or record["days"] < params.min_days
            or record["threads"] < params.min_threads or details.get("engaged_posts", 0) < params.min_engaged_posts
            or record["confidence"] < params.min_confidence)


def not_original(details: dict[str, Any]) -> list[str]:
    """What of a topic's posts did not count as the user's own (reshares, copies, repeats), when any did not."""
    kinds = [(details.get("shares", 0), "reshare(s) (each counts 0.2 of a post)"),
             (details.get("copies", 0), "post(s) copying another user's earlier post (counted as reshares)"),
             (details.get("duplicates_dropped", 0), "repeat(s) of an earlier post of theirs (not counted)")]
    parts = [f"{n} {what}" for n, what in kinds if n]
    if not parts:
        return []
    return [f"of its {details.get('posts_total', 0)} post(s), {', '.join(parts)}: only the user's own posts, "
            "each counted once, are original"]


def unread_words(unread: int, wordless: int) -> list[str]:
    were, are, its = ("was", "is", "its") if unread == 1 else ("were", "are", "their")
    return ([f"{unread} of the user's posts {were} not read: fewer than half of {its} words are words the model "
             f"knows (written in another language?), so {'it is' if unread == 1 else 'they are'} about no topic"]
            if unread else []) + (
        [f"{wordless} of the user's posts {'is a bare link' if wordless == 1 else 'are bare links'}, with no words of "
         f"{'its' if wordless == 1 else 'their'} own, so {'it is' if wordless == 1 else 'they are'} about no topic"]
        if wordless else [])
