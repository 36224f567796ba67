"""Build one user's topic profile from their posts' topic memberships: often, engaged, original, recent.

Plain functions over numpy arrays. For each topic the user touches we count the support (posts,
distinct days, distinct threads), the engagement relative to the user's own usual engagement, and
a recency-weighted, sublinear score; a topic is *inferred* only when every threshold is met, and is
kept as a *candidate* with what fell short otherwise. All constants are in ``ProfileParams`` and
documented in the README ('How topics are inferred'); what each post says before any topic (engagement, originality,
repeats, days, recency) is ``matcher.post_signals``.
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from matcher.post_signals import (
    burst_share,
    copies,
    distinct_days,
    duplicate_mask,
    engagement,
    engagement_unit,
    recency,
    signed_log,
    time_order,
    usual_engagement,
)
from matcher.profile_types import ProfileParams, TopicResult, UserPosts


def build_profile(p: UserPosts, members: np.ndarray, topic_ids: list[str], parents: list[int],
                  allowed: np.ndarray, as_of: int, params: ProfileParams = ProfileParams(),
                  similarity: np.ndarray | None = None, duplicates: np.ndarray | None = None,
                  alone: Callable[[np.ndarray, int], np.ndarray] | None = None) -> list[TopicResult]:
    """Inferred topics (best first) then candidates, for one user.

    ``members`` is (n, T) post-topic membership; ``parents[k]`` is the index of topic k's parent or -1;
    ``allowed[k]`` is False for sensitive topics the user did not opt in to (they are never output).
    ``similarity`` is the (n, T) similarity of each post to each topic (``matcher.classify.topic_similarity``),
    for clarity (without it clarity is 1); ``duplicates`` is ``duplicate_mask(p, params)`` when the caller has it.
    ``alone(rows, k)`` is the similarity of these posts' own texts, read alone, to topic k or the closest under it
    (``_said_alone``; without it the rule is not applied).
    Posts' membership in topics that are not allowed is dropped first, so
    a parent is never inferred from (nor shows as evidence) posts about a sensitive child; so is the membership of
    posts the model cannot read (``p.readable``).

    A topic whose score is under ``min_share_of_best`` of the user's strongest topic is a side interest, not
    a topic: it is kept as a candidate. The levels are then evaluated again, so a parent gets back the support
    of children demoted this way. Every touched topic is measured (``_measure``, one level of the taxonomy at a
    time); only the topics returned are described with their details and evidence (``_describe``).
    """
    n = len(p.keys)
    if n == 0:
        return []
    read = np.ones(n, dtype=bool) if p.readable is None else p.readable
    veiled = _veiled(members, allowed, params)  # (read before the sensitive topics' memberships are dropped)
    # a sensitive topic lends its posts to no parent (they are not evidence); a post the model cannot read is about
    # no topic, nor one of a topic's closest posts
    members = members * allowed[None, :] * read[:, None]
    ctx = _context(p, params, as_of, duplicate_mask(p, params) if duplicates is None else duplicates)
    ctx["alone"], ctx["veiled"] = alone, veiled
    plan = _plan(members, parents, ctx, params)
    topics = plan.topics  # clarity is read for the topics measured only: their columns alone are partitioned
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
    ctx["clarity"] = dict(zip(topics, clarity.tolist(), strict=True))
    results = _levels(plan, topic_ids, allowed, ctx, params)
    best = max((r.score for r in results.values() if r.inferred), default=0.0)
    if any(r.inferred and r.score < params.min_share_of_best * best for r in results.values()):
        results = _levels(plan, topic_ids, allowed, ctx, params, best=best, previous=results)
    ordered = sorted(results.values(), key=lambda r: (not r.inferred, -r.score, topic_ids[r.k]))
    inferred = [r for r in ordered if r.inferred]
    kept = inferred + [r for r in ordered if not r.inferred][: params.max_candidates]
    return _describe(kept, p, ctx, topic_ids, params)


@dataclass(slots=True)
class _Measured:
    """One topic's numbers and verdict, before it is described (``_describe``). Not frozen, unlike what flows
    between stages: about 30 are built per user, and a frozen dataclass's ``__init__`` costs several times more.
    What fell short is put into words (``_shortfalls``) only for the topics described."""

    k: int
    column: np.ndarray  # (n,) membership counted for the topic: its own, and its children's not inferred
    total: np.ndarray  # (n,) membership including inferred children's
    inferred: bool
    score: float
    confidence: float  # not rounded: the threshold compares it as it is
    posts: int
    days: int
    threads: int
    engaged: int
    positive: float
    lift: float
    decayed: float
    mass: float
    first: int  # time of the topic's first and last original post (0 without one)
    last: int
    burst: float  # the largest share of its original posts within 24 hours (0 under ``min_posts`` posts)
    one_thread: float  # the largest share of its original posts in one thread (0 under ``min_threads`` threads: that
    # rule says it)
    closest: float  # the similarity of the user's ``clarity_post``-th closest post to it
    covered_by: list[str]
    alone: bool = True  # False: no post of it is about it read alone (``_said_alone``), checked once all else held
    shown: bool = True  # False: every original post of it is veiled (``_veiled``): it could not be shown with evidence
    best: float = 0.0  # the user's strongest score, when this topic was demoted as a side interest to it


@dataclass(frozen=True)
class _Plan:
    """What both passes of ``_levels`` walk: it depends on the memberships alone, not on any verdict, so it is found
    once per user (``_plan``)."""

    by_topic: np.ndarray  # (T, n) membership, a topic's posts side by side: a topic's column is read as one row
    present: set[int]  # the topics some post is a member of
    children: dict[int, list[int]]  # a topic's children among the touched and present topics, in index order
    topics: list[int]  # the touched topics, in index order
    levels: list[list[int]]  # the same, deepest first (``_by_depth``)


def _plan(members: np.ndarray, parents: list[int], ctx: dict[str, Any], params: ProfileParams) -> _Plan:
    """The topics to measure: those touched (a post at ``member_min`` or more, or half a post's weight in all), and
    every topic above one: support climbs every level (two grandchildren in two branches make their grandparent,
    though no post touches its children)."""
    present = set(np.flatnonzero(members.any(axis=0)).tolist())
    touched = set(np.nonzero((members >= params.member_min).any(axis=0)
                             | ((members * ctx["weight"][:, None]).sum(axis=0) > 0.5))[0].tolist())
    for k in list(touched):
        up = parents[k]
        while up >= 0 and up not in touched:
            touched.add(up)
            up = parents[up]
    children: dict[int, list[int]] = {}
    for c in sorted(touched | present):
        if parents[c] >= 0:
            children.setdefault(parents[c], []).append(c)
    topics = sorted(touched)
    return _Plan(np.ascontiguousarray(members.T), present, children, topics, _by_depth(topics, parents))


def _levels(plan: _Plan, topic_ids: list[str], allowed: np.ndarray, ctx: dict[str, Any], params: ProfileParams,
            best: float = 0.0, previous: dict[int, _Measured] | None = None) -> dict[int, _Measured]:
    """Every touched topic's verdict, the deepest level first. A parent's support (``column``) adds that of its
    children that are not inferred, which in a deeper taxonomy includes their own children's; its ``total`` adds
    every child's (``_support``).

    With ``best``, topics under ``min_share_of_best`` of it are demoted; a topic whose children kept their
    status and support in ``previous`` (an earlier pass) is not measured again."""
    results: dict[int, _Measured] = {}
    measured: set[int] = set()  # topics measured in this pass (not taken from ``previous``)
    for level in plan.levels:
        branches: list[tuple[int, list[int]]] = []  # (topic, its children to count)
        leaves = []  # topics with no children to count: their column is their own membership
        for k in level:  # (most are leaves: no children to read)
            kids = [c for c in plan.children[k] if c in results or c in plan.present] if k in plan.children else []
            if previous is not None and k in previous and (not kids or not measured.intersection(kids) and all(
                    results[c].inferred == previous[c].inferred for c in kids if c in results and c in previous)):
                results[k] = _side_interest(previous[k], best, params)
            elif not kids:
                leaves.append(k)
            else:
                branches.append((k, kids))
        if not branches and not leaves:
            continue
        todo = [k for k, _ in branches] + leaves
        measured.update(todo)
        columns, totals, covered_by = _support(plan.by_topic, branches, leaves, results, topic_ids)
        for result in _measure(todo, columns, totals, covered_by, ctx, params):
            if allowed[result.k]:
                results[result.k] = _side_interest(result, best, params) if best else result
    return results


def _support(by_topic: np.ndarray, branches: list[tuple[int, list[int]]], leaves: list[int],
             results: dict[int, _Measured], topic_ids: list[str]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """The (K, n) columns and totals of these topics, the branches' then the leaves', capped at 1, and the inferred
    children covering each: one array each, as ``_measure`` reads them (its sums over posts are one per row). A
    branch's row adds its children's, in index order, onto zeros, then its own membership: the same additions, so
    the same bits, as ``own + sum(children's, np.zeros(n))``, the last of them for all branches at once."""
    n, b = by_topic.shape[1], len(branches)
    columns, totals = np.zeros((b + len(leaves), n)), np.zeros((b + len(leaves), n))
    covered_by: list[list[str]] = []
    for (_, kids), column, total in zip(branches, columns, totals, strict=False):  # rows: views, added to in place
        covered = []
        for c in kids:
            kid = results.get(c)
            total += by_topic[c] if kid is None else kid.total
            if kid is not None and kid.inferred:
                covered.append(topic_ids[c])
            else:
                column += by_topic[c] if kid is None else kid.column
        covered_by.append(covered)
    own = by_topic[[k for k, _ in branches]]
    np.minimum(own + columns[:b], 1.0, out=columns[:b])
    np.minimum(own + totals[:b], 1.0, out=totals[:b])
    np.minimum(by_topic[leaves], 1.0, out=columns[b:])
    totals[b:] = columns[b:]
    return columns, totals, covered_by + [[] for _ in leaves]


def _by_depth(topics: list[int], parents: list[int]) -> list[list[int]]:
    """These topics grouped by depth in the taxonomy, deepest first, each group in index order: every topic comes
    after its children, and the topics of one group do not depend on each other."""
    groups: dict[int, list[int]] = {}
    for k in topics:
        d, up = 0, parents[k]
        while up >= 0:
            d, up = d + 1, parents[up]
        groups.setdefault(d, []).append(k)
    return [groups[d] for d in sorted(groups, reverse=True)]


def _side_interest(r: _Measured, best: float, params: ProfileParams) -> _Measured:
    """Demote a topic far weaker than the user's strongest one to a candidate, saying so."""
    if not best or not r.inferred or r.score >= params.min_share_of_best * best:
        return r
    return replace(r, inferred=False, best=best)


def _context(p: UserPosts, params: ProfileParams, as_of: int, dup: np.ndarray) -> dict[str, Any]:
    """What every topic's measures read of the user's posts, computed once per user."""
    eng = engagement(p, params)
    copied = copies(p, params)
    shared = p.is_share | copied
    original = ~shared & ~dup
    unit = engagement_unit(eng[original], params)
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


def _measure(todo: list[int], columns: np.ndarray, totals: np.ndarray, covered_by: list[list[str]], ctx: dict[str, Any],
             params: ProfileParams) -> list[_Measured]:
    """The verdicts of these topics, given their (K, n) columns and totals (``_support``) and the inferred children
    covering each: the sums over posts for all of them at once (one row per topic, so each sum adds the same
    numbers in the same order as a sum over one topic's column), then each topic's thresholds, read from Python
    lists (a NumPy scalar costs more to read than a float). A topic no post is a member of gives no verdict."""
    own = (columns >= params.member_min) & ctx["original"][None, :]  # each topic's original posts
    weight = columns * ctx["weight"][None, :]
    mass = weight.sum(axis=1).tolist()
    lifted = (weight * ctx["lift"][None, :]).sum(axis=1).tolist()
    decayed = (weight * ctx["recency"][None, :]).sum(axis=1).tolist()
    positive = (own * ctx["gained"]).sum(axis=1).tolist()
    engaged, ends, threads, largest = _counts(own, ctx)
    member: list[bool] = (totals >= params.member_min).any(axis=1).tolist()  # type: ignore[assignment]  # (2-D: a list)
    covered = ((totals.sum(axis=1) > 0) & (columns.sum(axis=1) == 0)).tolist()  # all support: inferred children's
    times_all = ctx["times"][np.nonzero(own[:, ctx["by_time"]])[1]].tolist()  # each topic's original posts', in order
    veiled = ctx["veiled"]
    out = []
    for i, k in enumerate(todo):
        if not member[i]:
            continue
        times = times_all[ends[i - 1] if i else 0:ends[i]]  # the topic's original posts' times, in order
        days = distinct_days(times, params)
        m = mass[i]
        lift = lifted[i] / (m + params.lift_shrinkage) if m else 0.0
        confidence = 1.0 - math.exp(-_evidence(m, days, threads[i])[0] / params.confidence_scale)
        score = (math.log2(1.0 + decayed[i]) * (1.0 + 0.5 * min(max(lift, -1.0), 2.0)) * confidence
                 * ctx["clarity"][k])
        posts = len(times)
        first, last = (times[0], times[-1]) if posts else (0, 0)
        burst = burst_share(times) if posts >= params.min_posts else 0.0
        one_thread = largest[i] / posts if threads[i] >= params.min_threads else 0.0
        # by position, each argument named as its field: about 4 times as quick as by keyword
        r = _Measured(k, columns[i], totals[i], False, round(score, 4), confidence, posts, days, threads[i],
                      engaged[i], positive[i], lift, decayed[i], m, first, last, burst, one_thread, ctx["closest"][k],
                      covered_by[i])
        # the first rule (``_shortfalls``) is read here first: most topics miss it, and putting it into words is dear
        r.inferred = not covered[i] and posts >= params.min_posts and next(_shortfalls(r, params), None) is None
        if r.inferred and veiled.any():  # a topic is shown with its evidence, and veiled posts are no one's
            r.shown = r.inferred = bool((own[i] & ~veiled).any())
        if r.inferred and ctx["alone"] is not None:
            r.alone = r.inferred = _said_alone(k, own[i], ctx["alone"], params)
        out.append(r)
    return out


def _counts(own: np.ndarray, ctx: dict[str, Any]) -> tuple[list[int], list[int], list[int], list[int]]:
    """Each topic's (row of ``own``, its original posts) engaged posts, the running total of its posts (where its
    posts end among all topics'), its distinct threads and the most of its posts in one thread: from one product
    with ``tally`` (per post: its thread, one-hot; whether engaged; 1), of whole numbers, so exact in float64."""
    counts = (own @ ctx["tally"]).astype(np.int64)
    in_thread = counts[:, :-2]
    return (counts[:, -2].tolist(), counts[:, -1].cumsum().tolist(), (in_thread > 0).sum(axis=1).tolist(),
            in_thread.max(axis=1).tolist())


def _said_alone(k: int, own: np.ndarray, alone: Callable[[np.ndarray, int], np.ndarray],
                params: ProfileParams) -> bool:
    """Whether at least one of the topic's original posts is about it in its own words: its text read alone,
    without the thread it answers (``classify.post_vectors``) or the user's other posts it is read with
    (``smooth_within_user``), reaches the membership floor (``alone_min``) for the topic or one under it. Both
    readings lend a topic to replies that say nothing themselves ("nice", "so true" under air-travel thread
    titles). Checked only for a topic that meets every other threshold: a product of its posts with the views of
    the topic and those under it."""
    return bool((alone(own.nonzero()[0], k) >= params.alone_min).any())  # (``np.flatnonzero``'s, without its wrappers)


def _evidence(mass: float, days: int, threads: int) -> tuple[float, str]:
    """How much evidence a topic has, for its confidence: the least of its mass and one more than its distinct days
    and threads (so one day's or one thread's posts count as little); and which of the three that is."""
    return min((mass, "mass"), (float(days) + 1.0, "days"), (float(threads) + 1.0, "threads"))


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
    out = []
    for i, r in enumerate(kept):
        details = {
            "posts_total": members[i][0], "threads": r.threads, "engaged_posts": r.engaged,
            "positive_engagement": r.positive, "duplicates_dropped": members[i][1], "shares": members[i][2],
            "copies": members[i][3], "usual_engagement": ctx["usual_shown"],
            "recency": round(r.decayed / r.mass, 3) if r.mass else 0.0, "clarity": round(ctx["clarity"][r.k], 3),
            "first": r.first, "last": r.last,
            "shortfalls": list(_shortfalls(r, params)), "covered_by": r.covered_by,
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


_ORDINAL = {1: "", 2: "2nd ", 3: "3rd "}


def _shortfalls(r: _Measured, params: ProfileParams) -> Iterator[str]:
    """What fell short, in words: each threshold missed, then a side interest's demotion. Lazy: a verdict needs
    only to know whether there is a first one."""
    if r.posts < params.min_posts:
        yield f"{r.posts} original post(s); needs {params.min_posts}"
    if r.days < params.min_days:
        yield f"posts on {r.days} distinct day(s); needs {params.min_days}"
    if r.threads < params.min_threads:
        yield f"posts in {r.threads} thread(s); needs {params.min_threads}"
    if r.engaged < params.min_engaged_posts:
        yield f"{r.engaged} post(s) with any engagement; needs {params.min_engaged_posts}"
    if r.lift < params.min_lift:  # as `explain` shows engagement: a multiple of the user's usual
        yield (f"engagement ×{_below(math.exp(r.lift), math.exp(params.min_lift))} of the user's usual; needs at "
               f"least ×{math.exp(params.min_lift):.2f}")
    if r.confidence < params.min_confidence:
        limit = _evidence(r.mass, r.days, r.threads)[1]
        worth = f"{r.mass:.1f} post{'' if f'{r.mass:.1f}' == '1.0' else 's'}"
        partly = r.mass < 0.95 * r.posts  # else they are wholly about it, and there are just few of them
        why = {"mass": f": its {r.posts} post(s) are only partly about it (together worth {worth})" if partly
               else f": only {r.posts} post(s)",
               "days": f": posts on only {r.days} distinct day(s)",
               "threads": f": posts in only {r.threads} thread(s)"}[limit]
        yield f"confidence {_below(r.confidence, params.min_confidence)}; needs {params.min_confidence:.2f}{why}"
    if r.one_thread > params.max_thread_share:
        yield f"{r.one_thread:.0%} of its posts are in one thread; needs at most {params.max_thread_share:.0%}"
    if r.burst > params.max_burst_share:
        yield (f"{r.burst:.0%} of its posts fall within one day (a burst); needs at most "
               f"{params.max_burst_share:.0%}")
    if r.closest < params.min_plain:
        yield (f"its {_ORDINAL.get(params.clarity_post, f'{params.clarity_post}th ')}closest post is only "
               f"{math.floor(r.closest * 100) / 100:.2f} similar to it; needs {params.min_plain:.2f} "
               "(the posts only graze it)")
    if r.posts and r.positive / r.posts < params.min_mean_engagement:  # said beside too few engaged posts, too
        yield (f"engagement {_below(r.positive / r.posts, params.min_mean_engagement)} per post; needs "
               f"{params.min_mean_engagement:g}")
    if not r.shown:
        yield ("each of its original posts is about a sensitive topic the user has not opted in to: it cannot be "
               "shown with posts of its own")
    if not r.alone:
        yield (f"none of its {r.posts} post(s) is about it in its own words (read without the thread it answers "
               f"and the user's other posts, each is under {params.alone_min:.2f} similar to it): they take the "
               "topic from their threads")
    if r.best:
        shown = _below(r.score / r.best, params.min_share_of_best, "%", 0)
        yield (f"score {r.score:.3f} is {shown} of the user's strongest topic's ({r.best:.3f}); "
               f"needs {params.min_share_of_best:.0%}")


def _below(value: float, threshold: float, kind: str = "f", decimals: int = 2) -> str:
    """A value under its threshold, to ``decimals`` decimals, or as many more as it takes not to show it equal to the
    threshold ("0.498", not "0.50; needs 0.50"; "49.95%", not "50.0%; needs 50%"); ``kind``: "f", or "%"."""
    for places in range(decimals, decimals + 6):
        shown = f"{value:.{places}{kind}}"
        if shown != f"{threshold:.{places}{kind}}":
            return shown
    return shown
