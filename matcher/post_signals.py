"""What each of a user's posts says before any topic: its engagement read against the user's own usual, whether it
is the user's own words (not a reshare, a copy of another user's post or a repeat of their own), the days and
bursts its time makes, and its recency. Plain functions over a user's posts (``UserPosts``), read by
``matcher.profiles`` for every topic at once."""

import re

import numpy as np

from matcher.classify import cosines
from matcher.profile_types import ProfileParams, UserPosts
from matcher.records import embed_form

DAY = 86_400


def engagement(p: UserPosts, params: ProfileParams) -> np.ndarray:
    """Weighted engagement per post (likes net of a self-vote; may be negative)."""
    likes = p.likes - p.self_vote.astype(np.int64)
    return (params.like_weight * likes + params.reply_weight * p.replies + params.share_weight * p.shares).astype(
        np.float64)


def signed_log(x: np.ndarray) -> np.ndarray:
    logged: np.ndarray = np.sign(x) * np.log1p(np.abs(x))
    return logged


def engagement_unit(eng: np.ndarray, params: ProfileParams) -> float:
    """The unit a user's engagement is read in: ``unit_share`` of the median of their engaged original posts (their
    engaged reshares and copies when no original post is engaged; 1 when no post is: ``profiles._context``). Read in
    it, an account whose every post draws 1,000 times the reactions has the same lifts as a small one; a third of the
    median keeps a topic far below the user's usual visibly below it on the log scale (a unit of the whole median
    would squeeze everything under it between 0 and log 2)."""
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
    ordered: list[float] = sorted(values.tolist())
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
    passed_on: np.ndarray = p.is_share | copies(p, params)
    return passed_on


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


def time_order(p: UserPosts) -> np.ndarray:
    """The posts' rows oldest first; posts of the same second by (platform, post id) when known (``UserPosts.names``),
    else by key. Not by key alone: the keys follow the order the posts were stored in, and a text cross-posted to two
    platforms in one second had its repeat (weighed as nothing) chosen by which export was ingested first."""
    if p.names is None:
        return np.lexsort((np.asarray(p.keys), p.created_at))
    order = np.argsort(p.created_at, kind="stable")
    times = p.created_at[order]
    if (times[1:] != times[:-1]).all():  # no two posts of one second (nearly always): their times alone order them
        return order.astype(np.int64, copy=False)
    names = p.names
    return np.array(sorted(range(len(names)), key=lambda i: (int(p.created_at[i]), names[i])), dtype=np.int64)


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
    order = time_order(p)
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
    age_days: np.ndarray = np.maximum(as_of - created_at, 0) / DAY
    return np.power(0.5, age_days / params.half_life_days)
