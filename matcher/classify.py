"""Assign posts to topics: cosine similarity of each post's vector to each topic's vector, zero-shot.

A post's vector blends its own text with its ``context`` (thread title or parent post): short replies
lean on their context more. A post's similarity to a topic blends the cosine to the topic as a whole with
the cosine to its closest view (name or keyword phrase). Membership is a softmax over the post's nearest
topics, gated by an absolute similarity floor so that posts about nothing in the taxonomy belong to no topic.

A post is read only when the model can read it (``readable``): when at least half the words of its opening and of
its context's are words the model's vocabulary knows whole. An English model reads Dutch or Finnish as noise that
still lands nearest *some* topic (on the dev data, Dutch, Serbian and Finnish users were all "into Ska"), so such
posts are about no topic and shape no topic's fitted vector.

Topic vectors are then adapted to the collection (``fit_topic_vectors``): each topic's vector is blended with the
mean of the posts plainly about it, so the way people actually write about a topic ("my build got nerfed this
patch") counts, not only the taxonomy's wording ("Video Games"). The fit takes a few rounds, each reading the
posts against the previous round's vectors, so that posts only the fitted vectors recognise shape the topic too.
"""

import re
from dataclasses import dataclass

import numpy as np

from catalog.refresh import text_key
from matcher.records import embed_form


def cosines(rows: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(n, m) dot products of unit vectors, as float32, each row's the same whatever the other rows beside it.

    A float32 matrix product does not promise that: on some CPUs OpenBLAS rounds a row's products differently by
    its position in the block and the block's height (on AMD EPYC's kernels about 2 % of the values move by a bit
    or so), so a user's posts would score differently when another user's posts, or a reshare, sat in the same
    block, and byte-for-byte output would depend on how users fell into chunks. In float64 those differences are
    a million times smaller than float32's rounding step and vanish in the cast (none in 24 million products
    measured). Float64 takes about 2.5 times float32's time: the one large product, posts by topic views, stays in
    float32 and is computed one user's own posts at a time instead (``profile_chunk.user_closeness``)."""
    return (rows.astype(np.float64, copy=False) @ others.astype(np.float64, copy=False).T).astype(np.float32)


@dataclass(frozen=True)
class ClassifyParams:
    """Defaults for all-MiniLM-L6-v2 cosines (documented in README, 'How topics are inferred')."""

    context_weight_short: float = 2.0  # weight of the context vector for texts shorter than short_chars
    context_weight_long: float = 1.0
    short_chars: int = 120
    floor: float = 0.25  # cosine below which a post is not about a topic at all
    ramp: float = 0.10  # membership grows linearly from floor to floor + ramp
    temperature: float = 0.03  # softmax temperature over cosines
    view_weight: float = 0.5  # share of the topic's closest view (name or keyword phrase) in a post's similarity
    top_k: int = 3  # a post belongs to at most this many topics
    related_words: int = 5  # a topic is also read through up to this many words of the model's vocabulary ...
    related_min: float = 0.5  # ... that are at least this similar to it and most similar to it of all topics
    neighbours: int = 10  # a post is read together with up to this many similar posts of the same user
    neighbour_min: float = 0.3  # ... whose cosine is at least this
    neighbour_weight: float = 2.0  # weight of the (similarity-weighted) neighbours against the post itself
    prototype_member: float = 0.85  # a post this plainly about one topic (membership) shapes the topic's vector
    prototype_weight: float = 4.0  # weight of those posts' mean against the topic's own text vector ...
    prototype_shrink: float = 5.0  # ... times mass / (mass + this): a topic with few such posts moves little
    read_share: float = 0.5  # a post is read when this share of its words are words the model knows whole ...
    read_min_words: int = 3  # ... judged only with at least this many words (text and context together) ...
    read_chars: tuple[int, int] = (300, 120)  # ... among the first this many characters of its text and context
    matter_alone: float = 0.55  # a post (or its thread) this similar to a sensitive matter's phrase is not shown,
    matter_with_word: float = 0.35  # nor one this similar holding a word that may name it (``sensitive_content``)


_WORD = re.compile(r"[^\W\d_]{2,}")  # a word: two or more letters
WORDLESS_KEY = text_key("")  # the text key of a post with no words of its own: a bare link, once links are reduced


def readable(texts: list[str], contexts: list[str | None], vocabulary: frozenset[str],
             params: ClassifyParams = ClassifyParams()) -> np.ndarray:
    """(n,) bool: which posts the model can read. A post is read when at least ``read_share`` of the words of
    its opening and its context's (``read_chars``), as they are embedded (``embed_form``: so the verdict follows
    the posts' text keys), are in ``vocabulary`` (lower case), the words the model knows whole; with fewer than
    ``read_min_words`` words there is too little to tell, and it is read. An empty vocabulary (a model without a
    ``vocab.txt``) reads every post. Accents are kept: "café" is not "cafe" (dropping them, as the default model's
    tokenizer does, read more Danish, French and German posts on the dev data)."""
    out = np.ones(len(texts), dtype=bool)
    if not vocabulary:
        return out
    known, (text_chars, context_chars) = vocabulary.__contains__, params.read_chars
    for i, (text, context) in enumerate(zip(texts, contexts, strict=True)):
        opening = f"{embed_form(text)[:text_chars]} {embed_form(context or '')[:context_chars]}"
        words = _WORD.findall(opening.lower())
        if len(words) >= params.read_min_words:
            out[i] = sum(map(known, words)) >= params.read_share * len(words)
    return out


def post_vectors(text_vecs: np.ndarray, context_vecs: np.ndarray, has_context: np.ndarray,
                 text_lengths: np.ndarray, params: ClassifyParams = ClassifyParams()) -> np.ndarray:
    """Blend text and context vectors (n, d) into unit-norm post vectors."""
    weight = np.where(text_lengths < params.short_chars, params.context_weight_short, params.context_weight_long)
    weight = np.where(has_context, weight, 0.0).astype(np.float32)[:, None]
    blended = text_vecs + weight * context_vecs
    norms = np.linalg.norm(blended, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: np.ndarray = (blended / norms).astype(np.float32)
    return unit


def smooth_within_user(post_vecs: np.ndarray, params: ClassifyParams = ClassifyParams(),
                       sources: np.ndarray | None = None) -> np.ndarray:
    """Blend each post with its nearest posts by the same user (a person's related posts explain each other).

    A short reply that says little on its own is read alongside the user's other posts on the same subject;
    posts unlike any other stay as they are. ``sources`` (a mask; default every post) limits which posts may be
    read alongside others: profiles leave out a user's repeats and reshares, or 30 pasted copies of one text would
    be every related post's nearest neighbours. Rows are processed in blocks, so memory stays bounded.
    """
    n = len(post_vecs)
    src = np.arange(n) if sources is None else np.flatnonzero(sources)
    if n < 2 or len(src) == 0 or params.neighbours <= 0:
        return post_vecs
    pool = post_vecs[src]
    k = min(params.neighbours, len(src))
    position = np.full(n, -1)
    position[src] = np.arange(len(src))
    out = np.empty_like(post_vecs)
    pool64 = pool.astype(np.float64)  # cast once (``cosines``); blocks of 512 rows keep its products' memory bounded
    for start in range(0, n, 512):
        block = post_vecs[start:start + 512]
        sims = cosines(block, pool64)
        rows = np.arange(len(block))
        own = position[start:start + len(block)]
        sims[rows[own >= 0], own[own >= 0]] = -1.0  # a post is not its own neighbour
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.take_along_axis(sims, nearest, axis=1)
        weights = np.where(weights >= params.neighbour_min, weights, 0.0)
        mixed = block + params.neighbour_weight * np.einsum("rk,rkd->rd", weights, pool[nearest])
        out[start:start + len(block)] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out.astype(np.float32)


def topic_similarity(post_vecs: np.ndarray, topic_vecs: np.ndarray, view_vecs: np.ndarray, view_starts: np.ndarray,
                     params: ClassifyParams = ClassifyParams(), closest: np.ndarray | None = None) -> np.ndarray:
    """(n, T) similarity of posts to topics: the cosine to the whole topic's vector, blended with the cosine to
    the topic's closest view (its name, "name: description", each keyword phrase of its description), so a post
    plainly about one of the things a topic lists counts as about the topic. ``view_vecs`` holds each topic's
    views contiguously, topic k's starting at ``view_starts[k]`` (every topic has at least one). The views do
    not change when topic vectors are fitted: ``closest`` (``view_closeness``) may be given, computed once."""
    whole = cosines(post_vecs, topic_vecs)
    if len(post_vecs) == 0 or len(view_vecs) == 0 or params.view_weight == 0:
        return whole.astype(np.float32)
    if closest is None:
        closest = view_closeness(post_vecs, view_vecs, view_starts)
    return ((1 - params.view_weight) * whole + params.view_weight * closest).astype(np.float32)


def view_closeness(post_vecs: np.ndarray, view_vecs: np.ndarray, view_starts: np.ndarray) -> np.ndarray:
    """(n, T) cosine of each post to each topic's closest view. A float32 product (the largest of a profile run,
    several thousand views): a row's values may move by a bit with the other rows given with it (``cosines``), so
    profiles give each call one user's posts of one kind only (``profile_chunk.user_closeness``)."""
    if len(post_vecs) == 0 or len(view_vecs) == 0:
        return np.zeros((len(post_vecs), len(view_starts)), dtype=np.float32)
    return np.maximum.reduceat(post_vecs @ view_vecs.T, view_starts, axis=1)


def related_words(closeness: np.ndarray, owner: np.ndarray, params: ClassifyParams = ClassifyParams()
                  ) -> list[list[int]]:
    """For each topic, the indices of its related words, closest first (at most ``related_words``).

    ``closeness`` is the (T, words) cosine of each word to each topic's vector, ``owner`` the (words,) topic each
    word is most similar to by ``topic_similarity`` (views included). A topic's related words are the words it
    owns with closeness at least ``related_min``: a post that names a thing ("capcom", "manga") rather than its
    topic is then read as about the topic. A word near two topics goes to one only, and a word that another
    topic lists in its description ("hacking" for Cybersecurity, not Travel Hacking) is that topic's. Ties break
    on the word's index."""
    out: list[list[int]] = [[] for _ in range(len(closeness))]
    if params.related_words <= 0 or closeness.size == 0:
        return out
    for k in range(len(closeness)):
        mine = np.nonzero((owner == k) & (closeness[k] >= params.related_min))[0]
        order = np.lexsort((mine, -closeness[k, mine]))
        out[k] = mine[order][: params.related_words].tolist()
    return out


def memberships_from_similarity(sims: np.ndarray, params: ClassifyParams = ClassifyParams()) -> np.ndarray:
    """(n, T) membership of each post in each topic, in [0, 1]; each row sums to at most 1."""
    n, t = sims.shape if sims.ndim == 2 else (0, 0)
    out = np.zeros((n, t), dtype=np.float32)
    if n == 0 or t == 0:
        return out
    top = top_columns(sims, min(params.top_k, t))
    top_sims = np.take_along_axis(sims, top, axis=1)
    logits = (top_sims - top_sims[:, :1]) / params.temperature
    soft = np.exp(logits)
    soft /= soft.sum(axis=1, keepdims=True)
    gate = np.clip((top_sims - params.floor) / params.ramp, 0.0, 1.0)
    np.put_along_axis(out, top, (soft * gate).astype(np.float32), axis=1)
    return out


def top_columns(values: np.ndarray, k: int) -> np.ndarray:
    """(n, k) column indices of each row's k largest values, largest first, ties to the lower index: exactly
    ``np.argsort(-values, axis=1, kind="stable")[:, :k]``, about 3x faster (a partition, then a sort of k values;
    rows with a tie at the k-th value take the full sort)."""
    n, t = values.shape
    if n == 0 or k >= t:
        return np.argsort(-values, axis=1, kind="stable")[:, :k]
    kth = -np.partition(-values, k - 1, axis=1)[:, k - 1:k]
    chosen = values >= kth
    plain = chosen.sum(axis=1) == k
    cols = np.empty((n, k), dtype=np.intp)
    cols[plain] = np.nonzero(chosen[plain])[1].reshape(-1, k)  # ascending column order within each row
    if not plain.all():
        cols[~plain] = np.argsort(-values[~plain], axis=1, kind="stable")[:, :k]
    order = np.argsort(-np.take_along_axis(values, cols, axis=1), axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1)


def prototype_sums(members: np.ndarray, post_vecs: np.ndarray, params: ClassifyParams = ClassifyParams()
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(T, d) membership-weighted sums of the posts plainly about each topic (membership at least
    ``prototype_member``) and (T,) their mass, in float64 so that sums over many chunks stay exact enough to be
    deterministic."""
    weights = np.where(members >= params.prototype_member, members, 0.0)
    rows = np.nonzero(weights.any(axis=1))[0]  # most posts are plainly about nothing
    weights = weights[rows].astype(np.float64)
    return weights.T @ post_vecs[rows].astype(np.float64), weights.sum(axis=0)


def fit_topic_vectors(topic_vecs: np.ndarray, view_vecs: np.ndarray, view_starts: np.ndarray, post_vecs: np.ndarray,
                      rounds: int, params: ClassifyParams = ClassifyParams(), block: int = 4096,
                      closest: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The (T, d) topic vectors adapted to these (n, d) posts, and the (T,) mass of the posts plainly about each
    topic in the last round. Round 1 reads the posts against the taxonomy's own vectors (``topic_vecs``); each
    later round reads them against the previous round's result, so a post that only the fitted vector
    recognises as plainly about a topic shapes it too. Every round blends with ``topic_vecs``
    (``adapt_topic_vectors``), never with the previous round's vectors: a topic does not drift away from its
    definition. Posts are read ``block`` rows at a time (sums in float64, in order: deterministic). ``closest``,
    the posts' ``view_closeness`` (which no round changes), may be given, computed where the posts were read."""
    starts = range(0, len(post_vecs), block)
    near_views: list[np.ndarray | None] = [None] * len(starts)
    if params.view_weight:
        near_views = [view_closeness(post_vecs[i:i + block], view_vecs, view_starts) if closest is None
                      else closest[i:i + block] for i in starts]
    vectors = topic_vecs
    mass = np.zeros(len(topic_vecs), dtype=np.float64)
    for _ in range(rounds):
        sums, mass = np.zeros((len(topic_vecs), topic_vecs.shape[1])), np.zeros(len(topic_vecs))
        for part, near in zip(starts, near_views, strict=True):
            rows = post_vecs[part:part + block]
            sims = topic_similarity(rows, vectors, view_vecs, view_starts, params, closest=near)
            add, weight = prototype_sums(memberships_from_similarity(sims, params), rows, params)
            sums += add
            mass += weight
        vectors = adapt_topic_vectors(topic_vecs, sums, mass, params)
    return vectors, mass


def adapt_topic_vectors(topic_vecs: np.ndarray, sums: np.ndarray, mass: np.ndarray,
                        params: ClassifyParams = ClassifyParams()) -> np.ndarray:
    """(T, d) unit topic vectors blended with the mean direction of the posts plainly about each topic:
    ``topic + prototype_weight * mass / (mass + prototype_shrink) * unit(sum)``. A topic no post is plainly
    about keeps its own vector."""
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    direction = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
    weight = params.prototype_weight * mass / (mass + params.prototype_shrink) if len(mass) else mass
    blended = topic_vecs.astype(np.float64) + weight[:, None] * direction
    lengths = np.linalg.norm(blended, axis=1, keepdims=True)
    lengths[lengths == 0] = 1.0
    unit: np.ndarray = (blended / lengths).astype(np.float32)
    return unit
