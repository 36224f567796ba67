"""The topics a user's profile keeps, described (``profiles.build_profile``): their numbers, details and best
evidence posts."""

from typing import Any

import numpy as np

from matcher.profile_measure import _Measured, _shortfalls
from matcher.profile_types import ProfileParams, TopicResult, UserPosts


def _describe(kept: list[_Measured], p: UserPosts, ctx: dict[str, Any], topic_ids: list[str],
              params: ProfileParams) -> list[TopicResult]:
    """The measured topics as they are kept: their numbers, details and best evidence posts. Their arrays are
    stacked, one row per topic, so that each count and strength is one operation for all of them (element by
    element: the same numbers as topic by topic)."""
    if not kept:
        return []
    is_member = np.array([r.total for r in kept]) >= params.member_min  # ``np.array``: ``np.stack``'s result, quicker
    members = (is_member @ ctx["kinds"]).astype(np.int64).tolist()  # whole numbers, exact in float64
    evidence = _evidence_posts(np.array([r.column for r in kept]), [r.inferred for r in kept], p, ctx, params)
    # its posts never shown (``profiles._veiled``): counted, so `explain` can say why it shows fewer than it counts
    veiled = ((is_member.astype(np.int64) @ ctx["veiled"].astype(np.int64)).tolist() if ctx["veiled"].any()
              else [0] * len(kept))
    out = []
    for i, r in enumerate(kept):
        details = {
            "posts_total": members[i][0], "threads": r.threads, "engaged_posts": r.engaged,
            "positive_engagement": r.positive, "duplicates_dropped": members[i][1], "shares": members[i][2],
            "copies": members[i][3], "usual_engagement": ctx["usual_shown"],
            "recency": round(r.decayed / r.mass, 3) if r.mass else 0.0, "clarity": round(ctx["clarity"][r.k], 3),
            "first": r.first, "last": r.last,
            "shortfalls": list(_shortfalls(r, params)), "covered_by": r.covered_by,
            **({"not_shown": veiled[i]} if veiled[i] else {}),
        }
        out.append(TopicResult(topic_ids[r.k], inferred=r.inferred, score=r.score, confidence=round(r.confidence, 3),
                               posts=r.posts, days=r.days, engagement=round(r.lift, 3), details=details,
                               evidence=evidence[i]))
    return out


def _evidence_posts(columns: np.ndarray, inferred: list[bool], p: UserPosts, ctx: dict[str, Any],
                    params: ProfileParams) -> list[list[tuple[int, float]]]:
    """Each topic's (row of ``columns``) strongest posts as (post key, strength), strongest first (ties: the earlier
    first, ``_arrival``): ``evidence_pool`` of them for an inferred topic, ``evidence_posts`` for a candidate. A post's
    strength is its membership, weight, engagement boost and recency (a member's: ``member_min`` or more)."""
    strength = columns * ctx["weight"] * ctx["boost"] * ctx["recency"] * (columns >= params.member_min) * ~ctx["veiled"]
    some = strength > 0
    row, post = np.nonzero(some)
    value = strength[row, post]
    order = np.lexsort((ctx["arrival"][post], -value, row))  # by topic (as ``nonzero`` gave them), strength, time
    posts, values = post[order].tolist(), value[order].tolist()
    ends = some.sum(axis=1).cumsum().tolist()
    out = []
    for i, is_inferred in enumerate(inferred):
        start = ends[i - 1] if i else 0
        end = min(ends[i], start + (params.evidence_pool if is_inferred else params.evidence_posts))
        out.append([(p.keys[j], round(v, 4)) for j, v in zip(posts[start:end], values[start:end], strict=True)])
    return out
