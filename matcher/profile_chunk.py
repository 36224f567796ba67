"""One chunk of users through the profile stage: read their posts as every profile (and `match`) reads them, then
build their topic profiles. The local run, the worker processes (``matcher.workers``) and Ray's tasks all call
these same functions, so every executor gives the same bytes."""

import pickle
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from matcher import incremental
from matcher.classify import (
    WORDLESS_KEY,
    ClassifyParams,
    memberships_from_similarity,
    post_vectors,
    readable,
    smooth_within_user,
)
from matcher.embed import EmbeddingCache
from matcher.post_signals import own_words
from matcher.profile_types import ProfileParams, TopicResult, UserPosts
from matcher.profiles import build_profile
from matcher.sensitive_content import touches, veiled_matters
from matcher.store import Embedding, Post, batches
from matcher.taxonomy import TopicInfo, not_shown
from matcher.topic_space import SIMILARITY_ROWS, Subtrees, TopicSpace


def load_user_posts(engine: Engine, cache: EmbeddingCache, user_ids: list[str], params: ClassifyParams,
                    inputs: bool = False, vocabulary: frozenset[str] = frozenset(), as_of: int | None = None,
                    only: Sequence[int] | None = None, matters: np.ndarray | None = None
                    ) -> dict[str, tuple[UserPosts, np.ndarray]]:
    """Posts and blended post vectors of these users, each sorted by post id (``inputs``: with ``UserPosts.inputs``,
    what a run's digest of the user reads of these very posts; ``vocabulary``: with ``UserPosts.readable``, which
    posts a model knowing these words reads, ``classify.readable``; ``as_of``: only the posts written by then;
    ``only``: only the posts of these ids, asked for in lists a statement can bind, ``store.batches``; ``matters``:
    with ``UserPosts.touchy``, by these vectors of ``sensitive_content.matter_phrases()``). Posts whose
    text or context has no vector yet are left out: a profile run embeds every post first, so these were
    added or changed while it ran (an `ingest` beside it); the digest of what was read leaves them out too, so the
    next run recomputes their users. `match` reads the same way, from the posts its profile run embedded (only the
    evidence it shows: ``match.topic_queries``)."""
    text, context = aliased(Embedding), aliased(Embedding)
    columns = (*incremental.POST_INPUTS, col(Post.user_id), col(Post.post_id), col(text.vector).label("text_vec"),
               col(context.vector).label("context_vec"),
               *((Post.text, Post.context) if vocabulary or inputs or matters is not None else ()))
    stmt = (select(*columns)  # the vectors joined in: one query, not one per 500 keys
            .join(text, and_(col(text.model) == cache.name, col(text.text_key) == Post.text_key), isouter=True)
            .join(context, and_(col(context.model) == cache.name, col(context.text_key) == Post.context_key),
                  isouter=True)
            .where(col(Post.user_id).in_(user_ids)).order_by(col(Post.user_id), col(Post.id)))
    if as_of is not None:
        stmt = stmt.where(col(Post.created_at) <= as_of)
    c = _Columns(stmt.selected_columns.keys())
    with engine.connect() as conn:  # the driver's tuples, not a Row each: this is the hot path
        if only is None:
            found = conn.execute(stmt).cursor.fetchall()
        else:  # grouped by user, each one's by post id, as one statement gives them
            parts = (conn.execute(stmt.where(col(Post.id).in_(part))).cursor.fetchall()
                     for part in batches(sorted(only)))
            found = sorted((r for part in parts for r in part), key=itemgetter(c.user_id, c.id))
    rows = [r for r in found  # a post not embedded yet came after the run's embedding
            if r[c.text_vec] is not None and (r[c.context_key] is None or r[c.context_vec] is not None)]
    if not rows:
        return {}
    return _by_user(rows, c, cache.encoder.dim, params, inputs, vocabulary, matters)


class _Columns:
    """Where each of ``load_user_posts``'s columns is in its rows (``POST_INPUTS`` first, as ``post_inputs`` reads
    them)."""

    def __init__(self, names: list[str]) -> None:
        for i, name in enumerate(names):
            setattr(self, name, i)

    id: int
    platform: int
    text_key: int
    context_key: int
    text_len: int
    created_at: int
    likes: int
    replies: int
    shares: int
    is_share: int
    copied: int
    user_id: int
    post_id: int
    text_vec: int
    context_vec: int
    text: int
    context: int


def _by_user(rows: list[Any], c: _Columns, dim: int, params: ClassifyParams, inputs: bool,
             vocabulary: frozenset[str], matters: np.ndarray | None) -> dict[str, tuple[UserPosts, np.ndarray]]:
    """``load_user_posts``'s result from its rows (each user's together), read column by column."""
    column = list(zip(*rows, strict=True))
    text_vecs = np.frombuffer(b"".join(column[c.text_vec]), dtype=np.float32).reshape(len(rows), dim).copy()
    has_ctx = np.array([key is not None for key in column[c.context_key]])
    ctx_vecs = np.zeros_like(text_vecs)
    if has_ctx.any():
        ctx_vecs[has_ctx] = np.frombuffer(b"".join(v for key, v in zip(column[c.context_key], column[c.context_vec],
                                                                      strict=True) if key is not None),
                                          dtype=np.float32).reshape(-1, dim)
    blended = post_vectors(text_vecs, ctx_vecs, has_ctx, np.array(column[c.text_len]), params)
    # a post is read when the model knows its words, and it has words of its own: a bare link, even under a thread
    # title, says nothing of what its author writes about (the title is someone else's)
    wordless = np.array([key == WORDLESS_KEY for key in column[c.text_key]])
    read = readable(list(column[c.text]), list(column[c.context]), vocabulary, params) if vocabulary else None
    if wordless.any():
        read = ~wordless if read is None else read & ~wordless
    touchy = None if matters is None else _touchy(column, c, text_vecs, ctx_vecs, matters, params)
    out: dict[str, tuple[UserPosts, np.ndarray]] = {}
    users = column[c.user_id]
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or users[i] != users[start]:
            posts = _user_posts(rows[start:i], [part[start:i] for part in column], c, text_vecs[start:i],
                                inputs, None if read is None else read[start:i], texts=bool(vocabulary) or inputs,
                                touchy=None if touchy is None else touchy[start:i])
            out[users[start]] = (posts, blended[start:i])
            start = i
    return out


def _touchy(column: list[tuple[Any, ...]], c: _Columns, text_vecs: np.ndarray, ctx_vecs: np.ndarray,
            matters: np.ndarray, params: ClassifyParams) -> np.ndarray:
    """(n,) ``sensitive_content.MASK``: the sensitive matters each post's text, or its thread's, touches
    (``sensitive_content.touches``): each thread read once, however many of the posts answer it."""
    first: dict[str, int] = {}
    for i, key in enumerate(column[c.context_key]):
        if key is not None:
            first.setdefault(key, i)
    at = list(first.values())
    threads = touches([column[c.context][i] for i in at], ctx_vecs[at], matters, params)
    said = dict(zip(first, threads.tolist(), strict=True))
    out: np.ndarray = touches(column[c.text], text_vecs, matters, params)
    out |= np.array([said.get(key, 0) for key in column[c.context_key]], dtype=out.dtype)
    return out


def _user_posts(rows: list[Any], column: list[tuple[Any, ...]], c: _Columns, text_vecs: np.ndarray, inputs: bool,
                read: np.ndarray | None, texts: bool = False, touchy: np.ndarray | None = None) -> UserPosts:
    """One user's posts from their rows and the same rows' columns."""
    return UserPosts(
        keys=[int(key or 0) for key in column[c.id]],
        created_at=np.array(column[c.created_at], dtype=np.int64),
        likes=np.array(column[c.likes], dtype=np.int64),
        replies=np.array(column[c.replies], dtype=np.int64),
        shares=np.array(column[c.shares], dtype=np.int64),
        is_share=np.array(column[c.is_share], dtype=bool),
        self_vote=np.array([p in ProfileParams.self_vote_platforms for p in column[c.platform]], dtype=bool),
        thread=[ctx or key for ctx, key in zip(column[c.context_key], column[c.text_key], strict=True)],
        text_vecs=text_vecs,
        readable=read,
        texts=list(column[c.text]) if texts else None,
        copied=np.array([bool(x) for x in column[c.copied]], dtype=bool),
        inputs=incremental.post_inputs(rows) if inputs else b"",
        names=list(zip(column[c.platform], column[c.post_id], strict=True)),
        touchy=touchy,
    )


def allowed_topics(topics: list[TopicInfo], hidden: frozenset[str]) -> np.ndarray:
    """False for the sensitive topics the user does not opt in to: ``hidden``, from ``taxonomy.not_shown``, the one
    rule for inferring, showing and matching (opting in to a topic covers everything under it)."""
    return np.array([t.topic_id not in hidden for t in topics])


class ReadUser:
    """One user's posts as a profile reads them: the posts; which repeat an earlier one (``dup``) and which are the
    user's own words (``own``: neither a repeat nor a reshare, ``post_signals.own_words``); the post vectors smoothed
    within the user (``smooth_within_user``, own words as the sources); and their ``closeness`` to each topic's
    views. No topic fit changes any of it: a run with a new fit reads its fit's users once, for both.

    Pickled with its posts as one bytes object, made once and unpickled only where the posts are read: the users a
    topic fit's Ray tasks read go to the driver, which reads only their vectors and closeness (``fit_rows``), and
    back to the tasks that compute them. Unpickling and pickling again the posts' many small objects there took
    about 0.05 s of that process's CPU for each chunk of 200 users; passing bytes on is a copy. (A pool of worker
    processes keeps them where they were read: ``engine_pool.HeldUser``.)"""

    __slots__ = ("_posts", "_packed", "dup", "own", "vectors", "closeness")

    def __init__(self, posts: UserPosts | None, dup: np.ndarray, own: np.ndarray, vectors: np.ndarray,
                 closeness: np.ndarray, packed: bytes = b"") -> None:
        self._posts, self._packed = posts, packed  # (posts None: unpickled from ``packed`` when first read)
        self.dup, self.own, self.vectors, self.closeness = dup, own, vectors, closeness

    @property
    def posts(self) -> UserPosts:
        if self._posts is None:
            self._posts, self._packed = pickle.loads(self._packed), b""  # (the bytes go: read, they are not needed)
        return self._posts

    def fit_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """What a topic fit reads of the user: the vectors and the closeness of their own words (``own``)."""
        return self.vectors[self.own], self.closeness[self.own]

    def __reduce__(self) -> tuple[Any, ...]:
        if not self._packed:
            self._packed = pickle.dumps(self._posts, protocol=pickle.HIGHEST_PROTOCOL)
        return ReadUser, (None, self.dup, self.own, self.vectors, self.closeness, self._packed)


def read_users(engine: Engine, cache: EmbeddingCache, space: TopicSpace, user_ids: list[str],
               classify: ClassifyParams, params: ProfileParams, as_of: int) -> dict[str, ReadUser]:
    """These users' posts written by ``as_of``, read (``ReadUser``), for each user with such posts, in the order of
    ``user_ids``."""
    loaded = load_user_posts(engine, cache, user_ids, classify, inputs=True, vocabulary=space.vocabulary,
                             as_of=as_of, matters=space.matters)
    words = {u: own_words(loaded[u][0], params) for u in user_ids if u in loaded}
    vectors = {u: smooth_within_user(loaded[u][1], classify, sources=own) for u, (_, own) in words.items()}
    return {u: ReadUser(loaded[u][0], *words[u], vectors[u], user_closeness(space, vectors[u], words[u][1], classify))
            for u in words}


def user_closeness(space: TopicSpace, vectors: np.ndarray, own: np.ndarray, classify: ClassifyParams) -> np.ndarray:
    """One user's ``TopicSpace.closeness``: of their own words, then of their other posts (repeats, reshares,
    unread), each in a product of its own, so that a post's values depend on the user's own words alone, never on
    another user's posts or on a reshare added (a float32 product's rows depend on their block: ``cosines``)."""
    out = np.empty((len(vectors), len(space.ids)), dtype=np.float32)
    for rows in (own, ~own):
        if rows.any():
            out[rows] = space.closeness(vectors[rows], classify)
    return out


def compute_users(engine: Engine, cache: EmbeddingCache, space: TopicSpace, user_ids: list[str], as_of: int,
                  classify: ClassifyParams = ClassifyParams(), params: ProfileParams = ProfileParams(),
                  read: dict[str, ReadUser] | None = None
                  ) -> tuple[dict[str, list[TopicResult]], int, dict[str, str]]:
    """The topic results of these users (all texts already embedded), how many posts they have, and each one's
    digest (``incremental.inputs_digest``) of exactly the posts and opt-ins their profile was computed from. ``read``
    may hold some of them already read (``read_users``, by the same space's views and the same parameters)."""
    read = read or {}
    unread = [u for u in user_ids if u not in read]
    fresh = read_users(engine, cache, space, unread, classify, params, as_of) if unread else {}
    users = {u: read[u] if u in read else fresh[u] for u in user_ids if u in read or u in fresh}
    opt_ins = incremental.opt_ins(engine, user_ids)
    similarity = _by_blocks(lambda vecs, closest: space.similarity(vecs, classify, closest),
                            {u: (r.vectors, r.closeness) for u, r in users.items()})
    hidden = not_shown(space.topics)
    sensitive = np.array([t.sensitive for t in space.topics], dtype=bool)
    under = Subtrees(space, classify)
    results: dict[str, list[TopicResult]] = {}
    digests = {u: incremental.inputs_digest(users[u].posts.inputs if u in users else b"", u, opt_ins)
               for u in user_ids}
    posts = 0
    for user_id in user_ids:
        if user_id not in users:
            results[user_id] = []
            continue
        user = users[user_id]
        posts += len(user.posts.keys)
        sims = similarity[user_id]
        members = memberships_from_similarity(sims, classify)
        allowed = allowed_topics(space.topics, hidden(opt_ins.get(user_id)))
        touchy = veiled_matters(user.posts.touchy, members, allowed & sensitive, params, space.links)
        results[user_id] = build_profile(user.posts, members, space.ids, space.parents, allowed, as_of, params,
                                         similarity=sims, duplicates=user.dup,
                                         alone=space.read_alone(user.posts.text_vecs, classify, under), touchy=touchy)
    return results, posts, digests


def _by_blocks(fn: Callable[..., np.ndarray], rows: dict[str, tuple[np.ndarray, ...]]) -> dict[str, np.ndarray]:
    """``fn`` of each user's arrays, computed over blocks of about ``SIMILARITY_ROWS`` rows of users' arrays
    stacked: one large matrix product instead of one small one per user (each row of ``fn``'s result depends on
    the same row of its inputs only)."""
    out: dict[str, np.ndarray] = {}
    block: list[str] = []
    size = 0
    for user_id in [*rows, None]:
        if block and (user_id is None or size + len(rows[user_id][0]) > SIMILARITY_ROWS):
            parts = [np.concatenate([rows[u][i] for u in block]) for i in range(len(rows[block[0]]))]
            bounds = np.cumsum([len(rows[u][0]) for u in block])[:-1]
            out.update(zip(block, np.split(fn(*parts), bounds), strict=True))
            block, size = [], 0
        if user_id is not None:
            block.append(user_id)
            size += len(rows[user_id][0])
    return out
