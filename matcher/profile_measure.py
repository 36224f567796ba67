"""One topic of a user's profile measured and judged (``profiles.build_profile``): its support, engagement and score
from its (K, n) columns, each threshold's verdict, and what fell short, in words.

Plain functions over numpy arrays; the thresholds are ``ProfileParams``' (README, 'How topics are inferred').
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.post_signals import burst_share, distinct_days
from matcher.profile_types import ProfileParams


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
    veiled: int = 0  # its original posts veiled, which ``_said_alone`` does not read (said when that rule fails)
    best: float = 0.0  # the user's strongest score, when this topic was demoted as a side interest to it
    rank: int = 0  # the rank of the post ``closest`` is of, when the user has fewer than ``clarity_post`` (their last)
    spread: tuple[int, int] = (0, 0)  # (most in one group, all) of the user's posts plainly about a topic, when they
    # were too spread for any topic (``profiles._focus``, ``min_focus``)


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
    veiled, clarity, closest, rank = ctx["veiled"], ctx["clarity"], ctx["closest"], ctx.get("closest_rank", 0)
    any_veiled = bool(veiled.any())
    out = []
    for i, k in enumerate(todo):
        if not member[i]:
            continue
        times = times_all[ends[i - 1] if i else 0:ends[i]]  # the topic's original posts' times, in order
        days = distinct_days(times, params)
        m = mass[i]
        lift = lifted[i] / (m + params.lift_shrinkage) if m else 0.0
        # ``_evidence``'s amount, its least value without which of the three it is (the same float)
        confidence = 1.0 - math.exp(-min(m, days + 1.0, threads[i] + 1.0) / params.confidence_scale)
        score = math.log2(1.0 + decayed[i]) * (1.0 + 0.5 * min(max(lift, -1.0), 2.0)) * confidence * clarity[k]
        posts = len(times)
        first, last = (times[0], times[-1]) if posts else (0, 0)
        burst = burst_share(times) if posts >= params.min_posts else 0.0
        one_thread = largest[i] / posts if threads[i] >= params.min_threads else 0.0
        # by position, each argument named as its field: about 4 times as quick as by keyword
        r = _Measured(k, columns[i], totals[i], False, round(score, 4), confidence, posts, days, threads[i],
                      engaged[i], positive[i], lift, decayed[i], m, first, last, burst, one_thread, closest[k],
                      covered_by[i])
        if rank:  # (a user with fewer posts than ``clarity_post``: rare)
            r.rank = rank
        # the first rule (``_shortfalls``) is read here first: most topics miss it, and putting it into words is dear
        r.inferred = not covered[i] and posts >= params.min_posts and next(_shortfalls(r, params), None) is None
        if r.inferred and any_veiled:  # a topic is shown with its evidence, and veiled posts are no one's
            r.shown = r.inferred = bool((own[i] & ~veiled).any())
        if r.inferred and ctx["alone"] is not None:  # (in a post that can be shown: not a veiled one)
            showable = own[i] & ~veiled
            r.alone = r.inferred = _said_alone(k, showable, ctx["alone"], params)
            r.veiled = posts - int(showable.sum())
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
    rows = own.nonzero()[0]  # (``np.flatnonzero``'s, without its wrappers)
    reaches = getattr(alone, "reaches", None)  # ``topic_space.ReadAlone``'s: the same answer, most often quicker
    if reaches is not None:
        return bool(reaches(rows, k, params.alone_min))
    return bool((alone(rows, k) >= params.alone_min).any())


def _evidence(mass: float, days: int, threads: int) -> tuple[float, str]:
    """How much evidence a topic has, for its confidence: the least of its mass and one more than its distinct days
    and threads (so one day's or one thread's posts count as little); and which of the three that is."""
    return min((mass, "mass"), (float(days) + 1.0, "days"), (float(threads) + 1.0, "threads"))


_ORDINAL = {1: "", 2: "2nd ", 3: "3rd "}
# a veiled post (``profiles._veiled``, ``sensitive_content``), as a shortfall names it
VEILED = ("about a sensitive topic the user has not opted in to, or touching a sensitive matter (health, pregnancy, "
          "medication, sexuality, relationships, religion, politics, grief, crime, money trouble) their opt-ins do not "
          "cover")
NOT_SHOWN = f"each {VEILED}: counted, never quoted"  # what a topic's posts not shown are (`explain`, `topics`, report)


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
    if r.closest < params.min_plain:  # (before, a user with 2 posts was told of "its 3rd closest post")
        which = (f"its {_ORDINAL.get(params.clarity_post, f'{params.clarity_post}th ')}closest post" if not r.rank
                 else f"the least similar of the user's {r.rank} post(s) of their own")
        yield (f"{which} is only {math.floor(r.closest * 100) / 100:.2f} similar to it; needs {params.min_plain:.2f} "
               "(the posts only graze it)")
    if r.posts and r.positive / r.posts < params.min_mean_engagement:  # said beside too few engaged posts, too
        yield (f"engagement {_below(r.positive / r.posts, params.min_mean_engagement)} per post; needs "
               f"{params.min_mean_engagement:g}")
    if not r.shown:
        yield (f"each of its original posts is {VEILED}: it cannot be shown with posts of its own")
    if not r.alone:
        yield (f"none of its {r.posts} post(s) is about it in its own words (read without the thread it answers "
               f"and the user's other posts, each is under {params.alone_min:.2f} similar to it): they take the "
               "topic from their threads" + (f"; {r.veiled} of them, each {VEILED}, are not read for it "
               "(they are not shown)" if r.veiled else ""))
    if r.spread[1]:
        most, plain = r.spread
        yield (f"the user's posts are spread over everything: of their {plain} posts plainly about a topic, at most "
               f"{most} ({_below(most / plain, params.min_focus, '%', 0)}) are about any one topic group; needs "
               f"{params.min_focus:.0%} (a firehose, not an interest)")
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
