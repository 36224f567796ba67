"""Build one user's topic profile from their posts' topic memberships: often, engaged, original, recent.

Plain functions over numpy arrays. For each topic the user touches we count the support (posts,
distinct days, distinct threads), the engagement relative to the user's own usual engagement, and
a recency-weighted, sublinear score; a topic is *inferred* only when every threshold is met, and is
kept as a *candidate* with what fell short otherwise. All constants are in ``ProfileParams`` and
documented in the README ('How topics are inferred').
"""

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from matcher.classify import cosines
from matcher.records import embed_form

DAY = 86_400


@dataclass(frozen=True)
class ProfileParams:
    """Thresholds and weights of topic inference."""

    like_weight: float = 1.0
    reply_weight: float = 2.0  # a reply costs the reader more than a like
    share_weight: float = 3.0  # a reshare puts the post in front of new people
    self_vote_platforms: tuple[str, ...] = ("reddit",)  # net score starts at 1: the author's own vote
    unit_share: float = 1 / 3  # engagement is counted in units of this share of the user's median engaged post
    prior_engagement: float = math.log1p(1.0)  # log-engagement (in the user's units) assumed before evidence
    prior_weight: float = 2.0  # the prior counts as this many posts when estimating a user's usual
    lift_shrinkage: float = 2.0  # pseudo-posts of zero lift added to each topic's engagement lift
    share_originality: float = 0.2  # a reshare counts this much of an original post
    duplicate_cosine: float = 0.95  # posts of one user this similar collapse to one ...
    duplicate_words: float = 0.5  # ... and so do posts sharing this share of their words (a template, words swapped)
    duplicate_min_words: int = 4  # ... when both have at least this many words (3+ letters, links and numbers out;
    # shorter posts: when their 2 or more words are all the same)
    duplicate_words_cosine: float = 0.8  # ... and are this similar in meaning (only such pairs' words are compared)
    member_min: float = 0.2  # membership at which a post counts as "about" the topic
    alone_min: float = 0.25  # a topic needs a post this similar to it read alone (classify's membership floor)
    half_life_days: float = 730.0  # recency weight halves every two years
    min_posts: int = 3
    min_days: int = 2
    day_gap_hours: float = 20.0  # posts closer than this count as the same day
    max_burst_share: float = 0.8  # at most this share of a topic's posts may fall within any 24 hours
    max_thread_share: float = 0.8  # ... and at most this share in any one thread (one thread's crowd of posts)
    min_threads: int = 2
    min_engaged_posts: int = 2  # posts with engagement above zero
    min_mean_engagement: float = 0.5  # weighted engagement per original post on the topic (absolute floor)
    min_lift: float = -0.7  # topic engagement may not sit far below the user's usual (log scale)
    min_confidence: float = 0.5
    confidence_scale: float = 2.5  # confidence = 1 - exp(-evidence / scale)
    clarity_post: int = 3  # clarity is the similarity of the user's 3rd closest post to the topic ...
    clarity_floor: float = 0.2  # ... mapped linearly from this similarity (clarity ~0) ...
    clarity_full: float = 0.5  # ... to this one (clarity 1)
    min_clarity: float = 0.03  # clarity never drops below this (a score stays comparable)
    min_plain: float = 0.30  # the 3rd closest post must be this similar to the topic: three posts at least halfway
    # into the membership ramp (classify: similarity 0.25 to 0.35), not chatter that only grazes the topic
    min_share_of_best: float = 0.5  # a topic's score must reach this share of the user's strongest topic's
    evidence_posts: int = 5  # a topic's evidence: its strongest posts (``_describe``'s strength), shown with it
    evidence_pool: int = 20  # an inferred topic keeps this many, its evidence first: the posts a perk it brings is
    # shown with are chosen from them, those closest to the perk (``match``), not the topic's best whatever the perk
    max_candidates: int = 8


@dataclass(frozen=True)
class UserPosts:
    """One user's posts as arrays, row i = post i (sorted by post key for determinism)."""

    keys: list[int]  # database ids of the posts
    created_at: np.ndarray  # int64 Unix seconds
    likes: np.ndarray
    replies: np.ndarray
    shares: np.ndarray
    is_share: np.ndarray  # bool
    self_vote: np.ndarray  # bool: platform counts the author's own vote
    thread: list[str]  # context key, or the post's own key when it answers nothing
    text_vecs: np.ndarray  # (n, d) text-only vectors, for near-duplicate detection
    readable: np.ndarray | None = None  # bool: posts the model can read (``classify.readable``); None: all
    texts: list[str] | None = None  # the posts' texts, for near-duplicates by words (``word_set``); None: unknown
    copied: np.ndarray | None = None  # bool: another user posted the same text earlier (``copies``); None: none did
    inputs: bytes = b""  # read for a profile run: the posts' inputs as its digests read them (``matcher.incremental``)


@dataclass(frozen=True)
class TopicResult:
    """One topic of one user: the numbers, the verdict and the evidence."""

    topic_id: str
    inferred: bool
    score: float
    confidence: float
    posts: int
    days: int
    engagement: float  # lift over the user's usual, log scale (0 = usual)
    details: dict[str, float | int | str | list[str]] = field(default_factory=dict)
    evidence: list[tuple[int, float]] = field(default_factory=list)  # (post key, weight)


def engagement(p: UserPosts, params: ProfileParams) -> np.ndarray:
    """Weighted engagement per post (likes net of a self-vote; may be negative)."""
    likes = p.likes - p.self_vote.astype(np.int64)
    return (params.like_weight * likes + params.reply_weight * p.replies + params.share_weight * p.shares).astype(
        np.float64)


def signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def engagement_unit(eng: np.ndarray, params: ProfileParams) -> float:
    """The unit a user's engagement is read in: ``unit_share`` of the median of their engaged original posts (of
    1 when none is engaged). Read in it, an account whose every post draws 1,000 times the reactions has the same
    lifts as a small one; a third of the median keeps a topic far below the user's usual visibly below it on the
    log scale (a unit of the whole median would squeeze everything under it between 0 and log 2)."""
    positive = eng[eng > 0]
    return params.unit_share * (_median(positive) if len(positive) else 1.0)


def usual_engagement(g: np.ndarray, params: ProfileParams) -> float:
    """A user's usual log-engagement: the median of their original posts, shrunk towards the prior."""
    n = len(g)
    median = _median(g) if n else 0.0
    return (n * median + params.prior_weight * params.prior_engagement) / (n + params.prior_weight)


def _median(values: np.ndarray) -> float:
    """``np.median`` of these (finite) values, the same float: the middle one, or the middle two's sum halved (as
    ``np.mean`` of two takes it). A sort of a user's few dozen values in Python is several times quicker than its
    dozen NumPy calls."""
    ordered = sorted(values.tolist())
    half = len(ordered) // 2
    # summed from +0.0, as NumPy's mean sums (so the sign of a zero is its: -0.0 alone gives 0.0)
    return 0.0 + ordered[half] if len(ordered) % 2 else (0.0 + ordered[half - 1] + ordered[half]) / 2


def own_words(p: UserPosts, params: ProfileParams) -> tuple[np.ndarray, np.ndarray]:
    """(duplicates, own): the posts that repeat an earlier one (``duplicate_mask``), and the user's own words:
    neither a repeat nor a reshare, and readable by the model. Only own words shape the topic fit and how a user's
    other posts are read."""
    dup = duplicate_mask(p, params)
    own = ~(dup | reshared(p, params))
    return dup, own if p.readable is None else own & p.readable


def reshared(p: UserPosts, params: ProfileParams) -> np.ndarray:
    """The posts that pass on someone else's words: reshares (``is_share``) and ``copies``."""
    return p.is_share | copies(p, params)


def copies(p: UserPosts, params: ProfileParams) -> np.ndarray:
    """The posts that copy another user's earlier post word for word (``UserPosts.copied``), of at least
    ``duplicate_min_words`` words: pasting someone's post is passing it on, as a reshare does, not writing. A short
    text ("Thanks for sharing this!") is said the same way by many people, and stays the user's own."""
    if p.copied is None:
        return np.zeros(len(p.keys), dtype=bool)
    if p.texts is None:
        return p.copied
    out = np.zeros(len(p.keys), dtype=bool)
    for i in np.flatnonzero(p.copied).tolist():  # few: words are read for these alone
        out[i] = len(word_set(p.texts[i])) >= params.duplicate_min_words
    return out


_WORD = re.compile(r"[^\W\d_]{3,}")  # three or more letters: no numbers, emoji or punctuation


def word_set(text: str) -> frozenset[str]:
    """A post's words as the near-duplicate rule compares them: lower-case runs of 3+ letters of its embedded form
    (``embed_form``: links reduced to their words, URLs out)."""
    return frozenset(_WORD.findall(embed_form(text).lower()))


def duplicate_mask(p: UserPosts, params: ProfileParams) -> np.ndarray:
    """True for posts that repeat (near enough) an earlier post of the same user; the earliest is kept. Near enough:
    text vectors at least ``duplicate_cosine`` alike; or at least ``duplicate_words_cosine`` alike and, both with
    ``duplicate_min_words`` words or more, sharing ``duplicate_words`` of their words (Jaccard): a template posted
    again and again with a few words swapped ("Copped the new X size 10 🔥") stays under the first cosine but shares
    most of its words; a shorter one repeats when its 2 or more words are all the same ("{n} days until kickoff ⚽":
    numbers, emoji and punctuation are not words). Words are read only for pairs that close in meaning
    (``UserPosts.texts``; none: vectors only)."""
    n = len(p.keys)
    dup = np.zeros(n, dtype=bool)
    if n < 2:
        return dup
    order = np.lexsort((np.asarray(p.keys), p.created_at))
    vecs = p.text_vecs[order].astype(np.float64)  # cast once for ``cosines``, in blocks of 512 rows
    words: dict[int, frozenset[str]] = {}  # computed for the posts of a pair close in meaning only: few
    for start in range(0, n, 512):
        sims = np.triu(cosines(vecs[start:start + 512], vecs), start + 1)  # later posts
        close = sims >= params.duplicate_cosine
        if p.texts is not None:
            for row, other in zip(*np.nonzero((sims >= params.duplicate_words_cosine) & ~close), strict=True):
                close[row, other] = _share_words(p.texts, order[start + row], order[other], words, params)
        for row in np.flatnonzero(close.any(axis=1)).tolist():  # most posts repeat none: no row to visit
            if not dup[order[start + row]]:
                dup[order[np.flatnonzero(close[row])]] = True
    return dup


def _share_words(texts: list[str], i: int, j: int, words: dict[int, frozenset[str]], params: ProfileParams) -> bool:
    """Whether posts i and j share ``duplicate_words`` of their words (Jaccard), both having enough of them; or,
    shorter, have the same 2 or more words (one word, "Go Leafs!" and "Leafs go", is too little to call a repeat)."""
    for k in (i, j):
        if k not in words:
            words[k] = word_set(texts[k])
    a, b = words[i], words[j]
    if min(len(a), len(b)) < params.duplicate_min_words:  # a short template: the same 2 or 3 words, its numbers,
        return len(a) >= 2 and a == b  # emoji or punctuation changed ("Leafs win 4-2!", "Leafs win 3-1!!")
    shared = len(a & b)
    return shared >= params.duplicate_words * (len(a) + len(b) - shared)


def distinct_days(times: list[int], params: ProfileParams) -> int:
    """Days with posts (``times`` in order), counted robustly: posts at least `day_gap_hours` after the last
    counted one. Calendar dates would let a burst around midnight count as two days."""
    count, last, gap = 0, None, params.day_gap_hours * 3600
    for t in times:
        if last is None or t - last >= gap:
            count, last = count + 1, t
    return count


def burst_share(times: list[int]) -> float:
    """The largest share of these posts (``times`` in order) that falls within any 24-hour window."""
    most, end = 0, 0
    for start, t in enumerate(times):  # the window from each post on: ``end`` only moves forward
        while end < len(times) and times[end] < t + DAY:
            end += 1
        most = max(most, end - start)
    return most / len(times) if times else 0.0


def recency(created_at: np.ndarray, as_of: int, params: ProfileParams) -> np.ndarray:
    age_days = np.maximum(as_of - created_at, 0) / DAY
    return np.power(0.5, age_days / params.half_life_days)


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
    # a sensitive topic lends its posts to no parent (they are not evidence); a post the model cannot read is about
    # no topic, nor one of a topic's closest posts
    members = members * allowed[None, :] * read[:, None]
    ctx = _context(p, params, as_of, duplicate_mask(p, params) if duplicates is None else duplicates)
    ctx["alone"] = alone
    plan = _plan(members, parents, ctx, params)
    topics = plan.topics  # clarity is read for the topics measured only: their columns alone are partitioned
    closest = (_closest(similarity[np.ix_(~ctx["dup"] & read, topics)], params) if similarity is not None
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


def _plan(members: np.ndarray, parents: list[int], ctx: dict, params: ProfileParams) -> _Plan:
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


def _levels(plan: _Plan, topic_ids: list[str], allowed: np.ndarray, ctx: dict, params: ProfileParams,
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


def _context(p: UserPosts, params: ProfileParams, as_of: int, dup: np.ndarray) -> dict[str, np.ndarray | float]:
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
    by_time = np.argsort(p.created_at, kind="stable")
    # a topic's members as ``_describe`` counts them: all, the repeats, and the reshares and copies kept
    kinds = np.stack([np.ones(len(dup)), dup, p.is_share & ~dup, copied & ~p.is_share & ~dup], axis=1)
    return {"gained": np.maximum(eng, 0), "lift": lift, "boost": 1.0 + np.maximum(lift, 0.0),
            "dup": dup, "original": original, "kinds": kinds,
            "weight": weight, "recency": recency(p.created_at, as_of, params),
            "usual_shown": round(math.expm1(usual) * unit, 2), "tally": tally,
            "by_time": by_time, "times": p.created_at[by_time], "keys": np.asarray(p.keys, dtype=np.int64)}


def _measure(todo: list[int], columns: np.ndarray, totals: np.ndarray, covered_by: list[list[str]], ctx: dict,
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
    member = (totals >= params.member_min).any(axis=1).tolist()
    covered = ((totals.sum(axis=1) > 0) & (columns.sum(axis=1) == 0)).tolist()  # all support: inferred children's
    times_all = ctx["times"][np.nonzero(own[:, ctx["by_time"]])[1]].tolist()  # each topic's original posts', in order
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
        if r.inferred and ctx["alone"] is not None:
            r.alone = r.inferred = _said_alone(k, own[i], ctx["alone"], params)
        out.append(r)
    return out


def _counts(own: np.ndarray, ctx: dict) -> tuple[list[int], list[int], list[int], list[int]]:
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


def _describe(kept: list[_Measured], p: UserPosts, ctx: dict, topic_ids: list[str],
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


def _evidence_posts(columns: np.ndarray, inferred: list[bool], p: UserPosts, ctx: dict,
                    params: ProfileParams) -> list[list[tuple[int, float]]]:
    """Each topic's (row of ``columns``) strongest posts as (post key, strength), strongest first (ties: by key):
    ``evidence_pool`` of them for an inferred topic, ``evidence_posts`` for a candidate. A post's strength is its
    membership, weight, engagement boost and recency (a member's: ``member_min`` or more)."""
    strength = columns * ctx["weight"] * ctx["boost"] * ctx["recency"] * (columns >= params.member_min)
    some = strength > 0
    row, post = np.nonzero(some)
    value = strength[row, post]
    order = np.lexsort((ctx["keys"][post], -value, row))  # by topic (as ``nonzero`` gave them), then strength, key
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
    (non-duplicate) post to it (their least similar one when they have fewer). Mapped to a clarity
    (``clarity_floor`` to ``clarity_full`` give 0 to 1, never under ``min_clarity``), a topic resting on vague posts
    ranks lower; under ``min_plain`` it is not inferred."""
    n = len(similarity)
    if n == 0:
        return np.zeros(similarity.shape[1])
    rank = min(params.clarity_post, n)
    return np.partition(similarity, n - rank, axis=0)[n - rank]


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
