"""The `profile` stage: embed what is new, then compute and snapshot every consenting user's profile.

Embedding is streamed and committed batch by batch (an interrupted run keeps its work). Topic vectors are
then fitted to the collection, or an earlier fit is reused (``matcher.topic_fit``). Profiles are
computed per chunk of users and written under one run id, marked finished only at the end, so readers
keep seeing the previous finished run until this one is complete. Users whose inputs did not change
since a run with the same basis are copied, not recomputed (``matcher.incremental``); that also makes
an interrupted run resume where it stopped.
"""

import concurrent.futures
import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import orjson
from sqlalchemy import Connection, Engine, and_, delete, func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from threadpoolctl import threadpool_limits

from catalog.refresh import text_key
from matcher import incremental, topic_fit
from matcher.classify import (
    WORDLESS_KEY,
    ClassifyParams,
    fit_topic_vectors,
    memberships_from_similarity,
    post_vectors,
    readable,
    smooth_within_user,
)
from matcher.embed import EmbeddingCache, drop_unreferenced, embed_new_posts
from matcher.encoder import vocabulary_source
from matcher.profiles import ProfileParams, TopicResult, UserPosts, build_profile, own_words
from matcher.records import check_policy
from matcher.store import (
    Embedding,
    EvidencePost,
    Post,
    ProfiledUser,
    Run,
    TopicScore,
    User,
    bulk_insert,
    hold_forget_lock,
    session,
    utcnow,
)
from matcher.taxonomy import TopicInfo, load_topics, not_shown, taxonomy_digest
from matcher.topic_space import SIMILARITY_ROWS, TopicSpace, space_texts, topic_words
from matcher.vocabulary import vocabulary_vectors

USER_CHUNK = 200

Progress = Callable[[str, int, int | None], None]  # (stage, advance, total)


@dataclass(frozen=True)
class ProfileSummary:
    run_id: int
    users: int
    posts: int
    embedded: int
    inferred_topics: int
    seconds: float
    encode_seconds: float  # inside the encoder (on Ray: the driver's wait for the encoding actors)
    recomputed: int = 0
    reused: int = 0
    topic_vectors_run: int = 0  # the run whose fitted topic vectors this run read posts against
    embed_seconds: float = 0.0  # the embed stage: finding new texts, encoding them, storing their vectors


def default_as_of(now: float | None = None) -> int:
    """The end of the current UTC day (its last second, ``end_of_day``): runs on the same day share a basis, so they
    reuse each other's users."""
    return end_of_day(dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC).date())


def end_of_day(day: dt.date) -> int:
    """The last second of a UTC day: posts written that day count, and the run's day (for offer dates, reports) is
    that day, not the next."""
    return int(dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC).timestamp())  # (9999-12-31 has no next day)


def eligible_users(engine: Engine, policy: str = "opt-in") -> list[str]:
    """Users whose consent allows profiling, sorted."""
    check_policy(policy)
    with session(engine) as s:
        if policy == "opt-in":
            rows = s.exec(select(User.user_id).where(User.consent == "opted_in")).all()
            return sorted(rows)
        opted_out = set(s.exec(select(User.user_id).where(User.consent == "opted_out")).all())
        return sorted(set(s.exec(select(Post.user_id).distinct()).all()) - opted_out)


def eligible_among(conn: Connection, user_ids: Iterable[str], policy: str) -> set[str]:
    """Those of these users who are still eligible (``eligible_users``). A long run (profile, match) that read its
    users at the start checks this in the transaction that writes their rows, after writing them, and deletes the
    rows of anyone forgotten (or who withdrew consent) meanwhile: the write holds SQLite's lock, so a `forget`
    committed before it is seen here, and one committed after it deletes the rows itself."""
    wanted = sorted(set(user_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        if policy == "opt-in":
            found.update(conn.execute(select(User.user_id).where(col(User.user_id).in_(chunk))
                                      .where(User.consent == "opted_in")).scalars())
        else:
            out = set(conn.execute(select(User.user_id).where(col(User.user_id).in_(chunk))
                                   .where(User.consent == "opted_out")).scalars())
            found.update(set(conn.execute(select(Post.user_id).where(col(Post.user_id).in_(chunk)).distinct())
                             .scalars()) - out)
    return found


def drop_gone(conn: Connection, run_id: int, user_ids: Iterable[str], policy: str, tables: Iterable[Any]
              ) -> list[str]:
    """In the transaction that just wrote these users' rows of a run (into ``tables``): delete the rows of those
    no longer eligible (``eligible_among``), once the `forget` lock is held (``store.hold_forget_lock``); return
    them."""
    users = set(user_ids)
    hold_forget_lock(conn)
    gone = sorted(users - eligible_among(conn, users, policy))
    for table in tables if gone else ():
        conn.execute(delete(table).where(col(table.run_id) == run_id).where(col(table.user_id).in_(gone)))
    return gone


def load_user_posts(engine: Engine, cache: EmbeddingCache, user_ids: list[str], params: ClassifyParams,
                    inputs: bool = False, vocabulary: frozenset[str] = frozenset(), as_of: int | None = None
                    ) -> dict[str, tuple[UserPosts, np.ndarray]]:
    """Posts and blended post vectors of these users, each sorted by post id (``inputs``: with ``UserPosts.inputs``,
    what a run's digest of the user reads of these very posts; ``vocabulary``: with ``UserPosts.readable``, which
    posts a model knowing these words reads, ``classify.readable``; ``as_of``: only the posts written by then).
    Posts whose text or context has no vector yet are left out: a profile run embeds every post first, so these were
    added or changed while it ran (an `ingest` beside it); the digest of what was read leaves them out too, so the
    next run recomputes their users. `match` reads the same way, from the posts its profile run embedded."""
    text, context = aliased(Embedding), aliased(Embedding)
    columns = (*incremental.POST_INPUTS, Post.user_id, text.vector.label("text_vec"),
               context.vector.label("context_vec"), *((Post.text, Post.context) if vocabulary or inputs else ()))
    stmt = (select(*columns)  # the vectors joined in: one query, not one per 500 keys
            .join(text, and_(text.model == cache.name, text.text_key == Post.text_key), isouter=True)
            .join(context, and_(context.model == cache.name, context.text_key == Post.context_key), isouter=True)
            .where(col(Post.user_id).in_(user_ids)).order_by(col(Post.user_id), col(Post.id)))
    if as_of is not None:
        stmt = stmt.where(col(Post.created_at) <= as_of)
    with engine.connect() as conn:  # plain rows, no ORM session: this is the hot path
        rows = [r for r in conn.execute(stmt).all()  # a post not embedded yet came after the run's embedding
                if r.text_vec is not None and (r.context_key is None or r.context_vec is not None)]
    if not rows:
        return {}
    dim = cache.encoder.dim
    text_vecs = np.frombuffer(b"".join(r.text_vec for r in rows), dtype=np.float32).reshape(len(rows), dim).copy()
    has_ctx = np.array([r.context_key is not None for r in rows])
    ctx_vecs = np.zeros_like(text_vecs)
    if has_ctx.any():
        ctx_vecs[has_ctx] = np.frombuffer(b"".join(r.context_vec for r in rows if r.context_key is not None),
                                          dtype=np.float32).reshape(-1, dim)
    lengths = np.array([r.text_len for r in rows])
    blended = post_vectors(text_vecs, ctx_vecs, has_ctx, lengths, params)
    # a post is read when the model knows its words, and it has words of its own: a bare link, even under a thread
    # title, says nothing of what its author writes about (the title is someone else's)
    wordless = np.array([r.text_key == WORDLESS_KEY for r in rows])
    read = readable([r.text for r in rows], [r.context for r in rows], vocabulary, params) if vocabulary else None
    if wordless.any():
        read = ~wordless if read is None else read & ~wordless
    out: dict[str, tuple[UserPosts, np.ndarray]] = {}
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i].user_id != rows[start].user_id:
            part = rows[start:i]
            posts = _user_posts(part, text_vecs[start:i], inputs, None if read is None else read[start:i],
                                texts=bool(vocabulary) or inputs)
            out[part[0].user_id] = (posts, blended[start:i])
            start = i
    return out


def _user_posts(rows: list[Any], text_vecs: np.ndarray, inputs: bool, read: np.ndarray | None,
                texts: bool = False) -> UserPosts:
    return UserPosts(
        keys=[int(r.id or 0) for r in rows],
        created_at=np.array([r.created_at for r in rows], dtype=np.int64),
        likes=np.array([r.likes for r in rows], dtype=np.int64),
        replies=np.array([r.replies for r in rows], dtype=np.int64),
        shares=np.array([r.shares for r in rows], dtype=np.int64),
        is_share=np.array([r.is_share for r in rows], dtype=bool),
        self_vote=np.array([r.platform in ProfileParams.self_vote_platforms for r in rows], dtype=bool),
        thread=[r.context_key or r.text_key for r in rows],
        text_vecs=text_vecs,
        readable=read,
        texts=[r.text for r in rows] if texts else None,
        copied=np.array([bool(r.copied) for r in rows], dtype=bool),
        inputs=b"".join(incremental.post_inputs(r) for r in rows) if inputs else b"",
    )


def allowed_topics(topics: list[TopicInfo], hidden: frozenset[str]) -> np.ndarray:
    """False for the sensitive topics the user does not opt in to: ``hidden``, from ``taxonomy.not_shown``, the one
    rule for inferring, showing and matching (opting in to a topic covers everything under it)."""
    return np.array([t.topic_id not in hidden for t in topics])


@dataclass(frozen=True)
class ReadUser:
    """One user's posts as a profile reads them: the posts; which repeat an earlier one (``dup``) and which are the
    user's own words (``own``: neither a repeat nor a reshare, ``profiles.own_words``); the post vectors smoothed
    within the user (``smooth_within_user``, own words as the sources); and their ``closeness`` to each topic's
    views. No topic fit changes any of it: a run with a new fit reads its fit's users once, for both."""

    posts: UserPosts
    dup: np.ndarray
    own: np.ndarray
    vectors: np.ndarray
    closeness: np.ndarray


def read_users(engine: Engine, cache: EmbeddingCache, space: TopicSpace, user_ids: list[str],
               classify: ClassifyParams, params: ProfileParams, as_of: int) -> dict[str, ReadUser]:
    """These users' posts written by ``as_of``, read (``ReadUser``), for each user with such posts, in the order of
    ``user_ids``."""
    loaded = load_user_posts(engine, cache, user_ids, classify, inputs=True, vocabulary=space.vocabulary,
                             as_of=as_of)
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
    under = space.subtrees()
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
        results[user_id] = build_profile(user.posts, memberships_from_similarity(sims, classify), space.ids,
                                         space.parents, allowed_topics(space.topics, hidden(opt_ins.get(user_id))),
                                         as_of, params, similarity=sims, duplicates=user.dup,
                                         alone=space.read_alone(user.posts.text_vecs, classify, under))
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


Job = tuple[Any, list[str]]  # (what the caller gets back with the results, the users to compute)


class Executor(Protocol):
    """Where the heavy steps of a profile run: this process, or a cluster (``matcher.engine_ray``)."""

    def embed(self, engine: Engine, cache: EmbeddingCache, extra: list[str], progress: Progress | None) -> int: ...

    def warm_up(self, users: int) -> None:
        """Get ready to compute this many users (a new fit: everyone), e.g. start worker processes."""

    def fit_posts(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job],
                  classify: ClassifyParams, params: ProfileParams, as_of: int
                  ) -> Iterator[tuple[Any, dict[str, ReadUser]]]:
        """(tag, ``read_users`` of the job's users) for each job, in the order of the jobs."""

    def compute(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job], as_of: int,
                classify: ClassifyParams, params: ProfileParams, read: dict[str, ReadUser],
                ) -> Iterator[tuple[Any, dict[str, list[TopicResult]], int, dict[str, str]]]:
        """(tag, ``compute_users`` of the job's users: results, posts, digests) for each job, in the order of the
        jobs; a user in ``read`` is taken from it (``take_read``), not read again."""


class LocalExecutor:
    """Everything in this process (the default). With ``threads`` above 1, profile chunks are computed on that many
    threads, results in order: their large matrix products (``user_closeness``) release the interpreter lock, so a
    run recomputing a few hundred users uses every core without the start-up of worker processes
    (``matcher.engine_pool``). The database must then be one every thread can open (not SQLite in memory)."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads

    def embed(self, engine: Engine, cache: EmbeddingCache, extra: list[str], progress: Progress | None) -> int:
        return embed_new_posts(engine, cache, extra, progress)

    def warm_up(self, users: int) -> None:
        pass

    def fit_posts(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job],
                  classify: ClassifyParams, params: ProfileParams, as_of: int
                  ) -> Iterator[tuple[Any, dict[str, ReadUser]]]:
        for tag, read in self._threaded(
                lambda user_ids: read_users(engine, cache, space, user_ids, classify, params, as_of), jobs):
            yield tag, read or {}

    def compute(self, engine: Engine, cache: EmbeddingCache, space: TopicSpace, jobs: Iterable[Job], as_of: int,
                classify: ClassifyParams, params: ProfileParams, read: dict[str, ReadUser],
                ) -> Iterator[tuple[Any, dict[str, list[TopicResult]], int, dict[str, str]]]:
        def chunk(user_ids: list[str], taken: dict[str, ReadUser]) -> tuple[dict[str, list[TopicResult]], int,
                                                                              dict[str, str]]:
            return compute_users(engine, cache, space, user_ids, as_of, classify, params, taken)

        for tag, result in self._threaded(chunk, jobs, lambda user_ids: (take_read(read, user_ids),)):
            yield (tag, {}, 0, {}) if result is None else (tag, *result)

    def _threaded(self, fn: Callable[..., Any], jobs: Iterable[Job],
                  extra: Callable[[list[str]], tuple] = lambda user_ids: ()) -> Iterator[tuple[Any, Any]]:
        """(tag, fn(users, *extra(users))) for each job, in the order of the jobs (None for a job with no users):
        here, or on ``threads`` threads with at most two jobs per thread in flight (``extra`` runs here)."""
        from matcher.workers import in_order  # it builds on this module

        if self.threads < 2:
            for tag, user_ids in jobs:
                yield tag, fn(user_ids, *extra(user_ids)) if user_ids else None
            return
        pool = concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="perkmatch-profile")
        try:
            yield from in_order(lambda user_ids: pool.submit(fn, user_ids, *extra(user_ids)),
                                lambda future: future.result(), jobs, 2 * self.threads)
        finally:  # stopped early (Ctrl-C, an error): chunks not started are dropped, running ones end first
            pool.shutdown(wait=True, cancel_futures=True)


def take_read(read: dict[str, ReadUser], user_ids: list[str]) -> dict[str, ReadUser]:
    """The entries of these users, removed from ``read`` (each is used once; memory is freed as the run goes)."""
    return {u: read.pop(u) for u in user_ids if u in read}


def run_profile(engine: Engine, cache: EmbeddingCache, *, policy: str = "opt-in", as_of: int | None = None,
                classify: ClassifyParams = ClassifyParams(), params: ProfileParams = ProfileParams(),
                progress: Progress | None = None, executor: Executor | None = None,
                refit: bool = False) -> ProfileSummary:
    """Embed new texts and snapshot every eligible user's profile as a new run (recomputing only the users
    whose inputs changed since a run with the same basis). Topic vectors are fitted to the collection, or an
    earlier fit reused (``matcher.topic_fit``; ``refit`` forces a new fit). Every executor gives the same
    result."""
    started, began = time.perf_counter(), utcnow()
    as_of = default_as_of() if as_of is None else as_of
    users = eligible_users(engine, policy)
    if executor is None:
        from matcher.engine_pool import default_executor  # it builds on this module

        executor = default_executor(engine, len(users))
    try:
        return _profile(engine, cache, users, policy, as_of, classify, params, progress, executor, refit,
                        (started, began))
    finally:
        close = getattr(executor, "close", None)  # a pool of worker processes stops with its run
        if close is not None:
            close()


def _profile(engine: Engine, cache: EmbeddingCache, users: list[str], policy: str, as_of: int,
             classify: ClassifyParams, params: ProfileParams, progress: Progress | None, executor: Executor,
             refit: bool, start: tuple[float, dt.datetime]) -> ProfileSummary:
    started, began = start
    topics = load_topics(engine)
    embed_started, encoder_before = time.perf_counter(), cache.encode_seconds
    topic_texts, choose_words = space_texts(topics, cache, classify)
    with engine.connect() as conn:
        forgotten = topic_fit.forgets_done(conn)
    with cache.recording() as stored:
        embedded = executor.embed(engine, cache, topic_texts, progress)
    with engine.connect() as conn:
        gone = topic_fit.forgets_done(conn) != forgotten
    if gone:  # a `forget` meanwhile: the vectors of its posts go
        drop_unreferenced(engine, cache.name, set(stored) - {text_key(t) for t in topic_texts})
    if choose_words:  # a new choice of related words, so a new topic fit: the workers start while they are chosen
        vocabulary_vectors(cache, topic_words(topics, cache, classify), progress)  # built once per machine
        executor.warm_up(len(users))
    embed_seconds = time.perf_counter() - embed_started
    encode_seconds = cache.encode_seconds - encoder_before
    space = TopicSpace.build(topics, cache, classify)
    with session(engine) as s:
        # started when the run began, before its embedding: what is stored after that is "since it started"
        run = Run(kind="profile", as_of=as_of, params=json.dumps({"policy": policy}), started_at=began)
        s.add(run)
        s.commit()
        run_id = int(run.id or 0)
    fit, read = _fit_topics(engine, cache, space, users, run_id, policy, as_of, classify, params, executor, progress,
                            refit)
    space = space.adapted(fit.vectors)
    basis = incremental.run_basis(topics, cache.name, policy, as_of, classify, params, related=space.related,
                                  vectors=fit.vectors)
    with session(engine) as s:
        run = s.get(Run, run_id)
        assert run is not None
        related = {t: words for t, words in zip(space.ids, space.related, strict=True) if words}
        run.params = json.dumps({"policy": policy, "basis": basis, "rules": incremental.RULES_VERSION,
                                 "taxonomy": taxonomy_digest(topics),
                                 "related_words": related, "vocabulary": vocabulary_source(cache.encoder),
                                 "topic_vectors": fit.record(space.ids)})
        s.add(run)
        s.commit()
    sources = incremental.source_runs(engine, basis, run_id)
    posts = inferred = recomputed = 0
    if progress:
        progress("profile", 0, len(users))
    with threadpool_limits(1, user_api="blas"):  # per-user matrices are small: BLAS threads only spin
        jobs = (_plan(engine, sources, users[i:i + USER_CHUNK], as_of) for i in range(0, len(users), USER_CHUNK))
        for (chunk, digests, reuse), results, n_posts, computed in executor.compute(engine, cache, space, jobs,
                                                                                    as_of, classify, params, read):
            posts += n_posts
            recomputed += len(chunk) - len(reuse)
            inferred += sum(r.inferred for rs in results.values() for r in rs)
            _write_results(engine, run_id, results, reuse, {**digests, **computed}, policy)
            if progress:
                progress("profile", len(chunk), len(users))
    inferred, posts = _totals(engine, run_id, as_of, inferred, posts, recomputed < len(users))
    seconds = time.perf_counter() - started
    stats = {"users": len(users), "posts": posts, "embedded": embedded, "inferred_topics": inferred,
             "recomputed_users": recomputed, "reused_users": len(users) - recomputed,
             "seconds": round(seconds, 2), "encode_seconds": round(encode_seconds, 2),
             "embed_seconds": round(embed_seconds, 2), "model": cache.name}
    with session(engine) as s:
        run = s.get(Run, run_id)
        assert run is not None
        run.status, run.finished_at, run.stats = "finished", utcnow(), json.dumps(stats)
        s.add(run)
        s.commit()
    incremental.drop_interrupted(engine, run_id)
    return ProfileSummary(run_id, len(users), posts, embedded, inferred, seconds, encode_seconds,
                          recomputed, len(users) - recomputed, fit.run_id, embed_seconds)


def _fit_topics(engine: Engine, cache: EmbeddingCache, space: TopicSpace, users: list[str], run_id: int,
                policy: str, as_of: int, classify: ClassifyParams, params: ProfileParams, executor: Executor,
                progress: Progress | None, refit: bool) -> tuple[topic_fit.Fit, dict[str, ReadUser]]:
    """A fresh earlier fit of the topic vectors, or a new one over the eligible users' posts (at most
    ``FitParams.max_posts`` of them, read as profiles read them), kept under this run; and, for a new fit, the
    users it read (``ReadUser``: every user is computed next, and those need not be read again). The executor
    reads the posts (``fit_posts``: on the worker processes or the cluster when it has them); the rounds run in
    this process, their cost bounded by ``max_posts`` whatever the collection's size
    (``classify.fit_topic_vectors``). Only a user's own words shape the vectors: reshares and repeats are left
    out, so an account posting one text 30 times weighs as one post."""
    fit_params = topic_fit.FitParams()
    fit_basis = incremental.run_basis(space.topics, cache.name, policy, 0, classify, fit_params, params,
                                      related=space.related)
    dim = space.vectors.shape[1]
    earlier = topic_fit.reusable_fit(engine, fit_basis, space.ids, dim, fit_params)
    if earlier is not None and not refit:
        return earlier, {}
    executor.warm_up(len(users))  # new vectors, a new basis: every user will be computed
    state = topic_fit.collection_state(engine)
    sample = topic_fit.fit_sample(engine, users, fit_params)
    if progress:
        progress("fit topics", 0, len(sample))
    read: dict[str, ReadUser] = {}
    with threadpool_limits(1, user_api="blas"):
        jobs = ((len(chunk), chunk) for chunk in (sample[i:i + USER_CHUNK] for i in range(0, len(sample), USER_CHUNK)))
        for users_read, part in executor.fit_posts(engine, cache, space, jobs, classify, params, as_of):
            read.update(part)
            if progress:
                progress("fit topics", users_read, len(sample))
    posts = np.concatenate([r.vectors[r.own] for r in read.values()] or [np.zeros((0, dim), np.float32)])
    closest = np.concatenate([r.closeness[r.own] for r in read.values()] or
                             [np.zeros((0, len(space.ids)), np.float32)])
    # the rounds' products are large, in float64 (``classify.cosines``): on every core, while the workers wait
    vectors, mass = fit_topic_vectors(space.vectors, space.views, space.view_starts, posts, fit_params.rounds,
                                      classify, SIMILARITY_ROWS, closest)
    return topic_fit.store_fit(engine, fit_basis, run_id, space.ids, vectors, mass, state, earlier is not None), read


def _plan(engine: Engine, sources: list[int], chunk: list[str], as_of: int) -> Job:
    """A chunk's digests and reusable users (kept for writing), and the users left to compute. With no earlier
    run to copy from, every user is computed, and their digests come with their results (``compute_users``)."""
    if not sources:
        return (chunk, {}, {}), chunk
    digests = incremental.user_digests(engine, chunk, as_of)
    reuse = incremental.reusable(engine, sources, digests)
    return (chunk, digests, reuse), [u for u in chunk if u not in reuse]


def _totals(engine: Engine, run_id: int, as_of: int, inferred: int, posts: int, reused_any: bool) -> tuple[int, int]:
    """Inferred topics and posts over the whole run (counted in SQL when some users were copied)."""
    if not reused_any:
        return inferred, posts
    with session(engine) as s:
        inferred = int(s.execute(select(func.count()).select_from(TopicScore).where(TopicScore.run_id == run_id)
                                 .where(TopicScore.status == "inferred")).scalar_one())
        users = select(ProfiledUser.user_id).where(ProfiledUser.run_id == run_id)
        posts = int(s.execute(select(func.count()).select_from(Post).where(col(Post.created_at) <= as_of)
                              .where(col(Post.user_id).in_(users))).scalar_one())
    return inferred, posts


def _write_results(engine: Engine, run_id: int, results: dict[str, list[TopicResult]], reuse: dict[str, int],
                   digests: dict[str, str], policy: str = "opt-in") -> None:
    """One transaction per chunk: computed users' rows, reused users' copied rows, and every digest; then the rows
    of any of them forgotten since the run read them (``eligible_among``) go again."""
    scores, evidence = [], []
    for user_id, topics in results.items():
        for rank, r in enumerate(topics, start=1):
            scores.append((run_id, user_id, r.topic_id, "inferred" if r.inferred else "candidate", rank, r.score,
                           r.confidence, r.posts, r.days, r.engagement, _details_json(r.details)))
            evidence.extend((run_id, user_id, r.topic_id, key, i, w) for i, (key, w) in enumerate(r.evidence, start=1))
    with engine.begin() as conn:
        bulk_insert(conn, TopicScore.__table__, ("run_id", *incremental.SCORE_COLS), scores)
        bulk_insert(conn, EvidencePost.__table__, ("run_id", *incremental.EVIDENCE_COLS), evidence)
        incremental.copy_users(conn, run_id, reuse)
        incremental.record_digests(conn, run_id, sorted(digests.items()))
        drop_gone(conn, run_id, set(results) | set(reuse) | set(digests), policy, (TopicScore, EvidencePost,
                                                                                   ProfiledUser))


def _details_json(details: dict) -> str:
    """A topic's details as stored: JSON with sorted keys (orjson: this runs once per user and topic)."""
    return orjson.dumps(details, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()


def latest_run(engine: Engine, kind: str = "profile") -> Run | None:
    """The most recent finished run of a kind."""
    with session(engine) as s:
        return s.exec(select(Run).where(Run.kind == kind).where(Run.status == "finished")
                      .order_by(col(Run.id).desc())).first()


def previous_run(engine: Engine, run_id: int, kind: str = "profile") -> Run | None:
    with session(engine) as s:
        return s.exec(select(Run).where(Run.kind == kind).where(Run.status == "finished")
                      .where(col(Run.id) < run_id).order_by(col(Run.id).desc())).first()


