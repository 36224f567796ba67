"""Build one user's topic profile from their posts' topic memberships: often, engaged, original, recent.

Plain functions over numpy arrays. For each topic the user touches we count the support (posts,
distinct days, distinct threads), the engagement relative to the user's own usual engagement, and
a recency-weighted, sublinear score; a topic is *inferred* only when every threshold is met, and is
kept as a *candidate* with what fell short otherwise. All constants are in ``ProfileParams`` and
documented in the README ('How topics are inferred'); what each post says before any topic (engagement, originality,
repeats, days, recency) is ``matcher.post_signals``.

Here: ``build_profile``, what it reads of the user's posts once (``_context``, ``_veiled``), each topic's clarity
(``_add_clarity``, ``_closest``), how focused their posts are (``_focus``) and the topics kept, in order
(``_kept``). The rest is in modules of their own, importable from here as before: the taxonomy walked level by level
in ``matcher.profile_levels``, one topic measured and judged (and what fell short, in words) in
``matcher.profile_measure``, the topics kept described with their evidence in ``matcher.profile_describe``.
"""

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from matcher.post_signals import (
    copies,
    duplicate_mask,
    engagement,
    engagement_unit,
    recency,
    signed_log,
    time_order,
    usual_engagement,
)
from matcher.profile_describe import _describe
from matcher.profile_levels import _levels, _Plan, _plan
from matcher.profile_measure import _below, _Measured, _shortfalls
from matcher.profile_types import ProfileParams, TopicResult, UserPosts

__all__ = ["ProfileParams", "TopicResult", "UserPosts", "build_profile",
           "_Measured", "_below", "_shortfalls", "_veiled"]  # (the last four: read by tests, as before)


def build_profile(p: UserPosts, members: np.ndarray, topic_ids: list[str], parents: list[int],
                  allowed: np.ndarray, as_of: int, params: ProfileParams = ProfileParams(),
                  similarity: np.ndarray | None = None, duplicates: np.ndarray | None = None,
                  alone: Callable[[np.ndarray, int], np.ndarray] | None = None,
                  touchy: np.ndarray | None = None) -> list[TopicResult]:
    """Inferred topics (best first) then candidates, for one user.

    ``members`` is (n, T) post-topic membership; ``parents[k]`` is the index of topic k's parent or -1;
    ``allowed[k]`` is False for sensitive topics the user did not opt in to (they are never output).
    ``similarity`` is the (n, T) similarity of each post to each topic (``matcher.classify.topic_similarity``),
    for clarity (without it clarity is 1); ``duplicates`` is ``duplicate_mask(p, params)`` when the caller has it.
    ``alone(rows, k)`` is the similarity of these posts' own texts, read alone, to topic k or the closest under it
    (``_said_alone``; without it the rule is not applied). ``touchy`` is (n,), the sensitive matters that veil each
    post (``sensitive_content.veiled_matters``: bits; or bool, whether any does): a post with any is veiled as the
    posts about a sensitive topic are (``_veiled``), and a topic says which of them its posts not shown touch.
    Posts' membership in topics that are not allowed is dropped first, so
    a parent is never inferred from (nor shows as evidence) posts about a sensitive child; so is the membership of
    posts the model cannot read (``p.readable``).

    A topic whose score is under ``min_share_of_best`` of the user's strongest topic is a side interest, not
    a topic: it is kept as a candidate. The levels are then evaluated again, so a parent gets back the support
    of children demoted this way. No topic is inferred from posts spread over everything (``_focus``, ``_kept``).
    Every touched topic is measured (``_measure``, one level of the taxonomy at a time); only the topics returned
    are described with their details and evidence (``_describe``).
    """
    n = len(p.keys)
    if n == 0:
        return []
    read = np.ones(n, dtype=bool) if p.readable is None else p.readable
    veiled = _veiled(members, allowed, params)  # (read before the sensitive topics' memberships are dropped)
    if touchy is not None:
        veiled |= touchy != 0
    # a sensitive topic lends its posts to no parent (they are not evidence); a post the model cannot read is about
    # no topic, nor one of a topic's closest posts
    members = members * allowed[None, :] * read[:, None]
    ctx = _context(p, params, as_of, duplicate_mask(p, params) if duplicates is None else duplicates)
    ctx["alone"], ctx["veiled"] = alone, veiled
    ctx["focus"] = _focus(members[ctx["original"]], parents, params)
    plan = _plan(members, parents, ctx, params)
    _add_clarity(ctx, plan.topics, read, similarity, params)
    kept = _kept(plan, topic_ids, allowed, ctx, params)
    return _describe(kept, p, ctx, topic_ids, params)


def _add_clarity(ctx: dict[str, Any], topics: list[int], read: np.ndarray, similarity: np.ndarray | None,
                 params: ProfileParams) -> None:
    """Each measured topic's closest-post similarity and clarity, into ``ctx`` ("closest", "clarity"). Clarity is read
    for the topics measured only: their columns alone are partitioned."""
    # of the user's own words only: a reshare or a copy says plainly what someone else wrote about; a user with none
    # (reshares only) is read by their reshares, so their candidates rank and read as before: their topics fail for
    # want of original posts, and "the posts only graze it" (0.00, none read) would be untrue
    own = ctx["original"] & read
    clear = own if own.any() else ~ctx["dup"] & read
    closest = (_closest(similarity[np.ix_(clear, topics)], params) if similarity is not None
               else np.ones(len(topics)))
    span = params.clarity_full - params.clarity_floor
    clarity = np.clip((closest - params.clarity_floor) / span, params.min_clarity, 1.0)
    ctx["closest"] = dict(zip(topics, closest.tolist(), strict=True))  # Python floats, read topic by topic
    fewer = int(clear.sum())  # the user's posts read for it: the rank ``_closest`` takes is theirs when under 3
    ctx["closest_rank"] = fewer if 0 < fewer < params.clarity_post else 0  # (0: the usual rank)
    ctx["clarity"] = dict(zip(topics, clarity.tolist(), strict=True))


def _kept(plan: _Plan, topic_ids: list[str], allowed: np.ndarray, ctx: dict[str, Any],
          params: ProfileParams) -> list[_Measured]:
    """The topics judged level by level (again, once, when a side interest was demoted), inferred ones first (best
    first, ties by topic id), then the ``max_candidates`` best-scoring candidates (in the same order). None is inferred
    while the user's posts plainly about a topic are spread over everything (``_focus``: no top-level group holds
    ``min_focus`` of them, judged from ``focus_posts`` or more): then each topic says so."""
    most, plain = ctx["focus"]
    spread = (most, plain) if plain >= params.focus_posts and most < params.min_focus * plain else (0, 0)
    results = _levels(plan, topic_ids, allowed, ctx, params, spread=spread)
    best = max((r.score for r in results.values() if r.inferred), default=0.0)
    if any(r.inferred and r.score < params.min_share_of_best * best for r in results.values()):
        results = _levels(plan, topic_ids, allowed, ctx, params, best=best, previous=results)
    ordered = sorted(results.values(), key=lambda r: (not r.inferred, -r.score, topic_ids[r.k]))
    inferred = [r for r in ordered if r.inferred]
    return inferred + [r for r in ordered if not r.inferred][: params.max_candidates]


def _focus(own: np.ndarray, parents: list[int], params: ProfileParams) -> tuple[int, int]:
    """How focused the user's own posts are (``own``: their memberships, (n, T)): the most of them plainly about any
    one top-level topic group, and how many are plainly about one (their membership in the group's topics, summed,
    at least ``focus_member``). A firehose's posts are each plainly about something, and no group holds many of them;
    a person's, however many, gather in the few groups of their interests (``_kept`` reads it)."""
    if not own.size:  # (no post of their own, or no topic)
        return 0, 0
    order, starts = _groups(tuple(parents))
    # each group's topics summed one after another, in index order: a post's sums are its own memberships' alone, the
    # same bits wherever it stands among the user's posts (a matrix product's rows may depend on their block)
    by_group = np.add.reduceat(own[:, order], starts, axis=1)
    plain = by_group.max(axis=1) >= params.focus_member
    if not plain.any():
        return 0, 0
    counts = np.bincount(by_group[plain].argmax(axis=1))
    return int(counts.max()), int(plain.sum())


@functools.lru_cache(maxsize=8)
def _groups(parents: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The topics in the order of their top-level ancestor (a group; a top-level topic is its own), in index order
    within it, and where each group's topics start in that order (``np.add.reduceat``). One per taxonomy, cached."""
    def root(k: int) -> int:
        while parents[k] >= 0:
            k = parents[k]
        return k

    order = sorted(range(len(parents)), key=lambda k: (root(k), k))
    starts = [i for i, k in enumerate(order) if not i or root(k) != root(order[i - 1])]
    return np.array(order, dtype=np.intp), np.array(starts, dtype=np.intp)


def _context(p: UserPosts, params: ProfileParams, as_of: int, dup: np.ndarray) -> dict[str, Any]:
    """What every topic's measures read of the user's posts, computed once per user."""
    eng = engagement(p, params)
    copied = copies(p, params)
    shared = p.is_share | copied
    original = ~shared & ~dup
    # an account none of whose own posts drew any reaction (reshares only, say) is read in the unit of its reshares
    # and copies: in the fallback unit of 1, a reshare's lift grew with the account's size (a property test found it)
    basis = original if (eng[original] > 0).any() else ~dup
    unit = engagement_unit(eng[basis], params)
    g = signed_log(eng / unit)
    usual = usual_engagement(g[original], params)
    weight = np.where(dup, 0.0, np.where(shared, params.share_originality, 1.0))
    lift = g - usual
    thread_of: dict[str, int] = {}  # threads numbered as met: ``_counts`` only tells them apart
    thread = [thread_of.setdefault(t, len(thread_of)) for t in p.thread]
    tally = np.zeros((len(thread), len(thread_of) + 2))  # per post: its thread (one-hot), whether engaged, 1
    tally[np.arange(len(thread)), thread] = 1.0
    tally[:, -2], tally[:, -1] = eng > 0, 1.0
    by_time = time_order(p)  # (the times alone are read in this order; the order itself breaks evidence ties)
    # a topic's members as ``_describe`` counts them: all, the repeats, and the reshares and copies kept
    kinds = np.stack([np.ones(len(dup)), dup, p.is_share & ~dup, copied & ~p.is_share & ~dup], axis=1)
    return {"gained": np.maximum(eng, 0), "lift": lift, "boost": 1.0 + np.maximum(lift, 0.0),
            "dup": dup, "original": original, "kinds": kinds,
            "weight": weight, "recency": recency(p.created_at, as_of, params),
            "usual_shown": round(math.expm1(usual) * unit, 2), "tally": tally,
            "by_time": by_time, "times": p.created_at[by_time], "arrival": _arrival(by_time)}


def _veiled(members: np.ndarray, allowed: np.ndarray, params: ProfileParams) -> np.ndarray:
    """(n,) bool: the posts about a topic not ``allowed`` (a sensitive topic the user has not opted in to): a member
    of it (``member_min``), or closer to it than to any other topic. They are no topic's evidence (``_evidence_posts``),
    so their text is never shown, nor quoted to a brand by a perk (its evidence is drawn from the topic's): before, a
    post mostly about the user's depression that also touched Running (0.73 and 0.27) was Running's evidence, and a
    running coach's perk quoted it to its brand. They still count for the other topic, as before."""
    hide = ~np.asarray(allowed, dtype=bool)
    if not hide.any() or not len(members):
        return np.zeros(len(members), dtype=bool)
    hidden = members[:, hide].max(axis=1)
    shown = members[:, ~hide].max(axis=1, initial=0.0)
    veiled: np.ndarray = (hidden >= params.member_min) | ((hidden > 0) & (hidden >= shown))
    return veiled


def _arrival(by_time: np.ndarray) -> np.ndarray:
    """Each post's place in time (``by_time``: ``post_signals.time_order``), which breaks ties between equally strong
    evidence: the earlier post first. Before, the post stored first came first, so the same posts ingested in another
    order showed another evidence."""
    place = np.empty(len(by_time), dtype=np.int64)
    place[by_time] = np.arange(len(by_time))
    return place


def _closest(similarity: np.ndarray, params: ProfileParams) -> np.ndarray:
    """How plainly the user's posts are about each topic: the similarity of their ``clarity_post``-th closest
    original post (their own words: not a repeat, a reshare or a copy) to it (their least similar one when they have
    fewer). Mapped to a clarity (``clarity_floor`` to ``clarity_full`` give 0 to 1, never under ``min_clarity``), a
    topic resting on vague posts ranks lower; under ``min_plain`` it is not inferred."""
    n = len(similarity)
    if n == 0:
        return np.zeros(similarity.shape[1])
    rank = min(params.clarity_post, n)
    closest: np.ndarray = np.partition(similarity, n - rank, axis=0)[n - rank]
    return closest
