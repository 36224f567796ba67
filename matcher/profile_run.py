"""The `profile` stage: embed what is new, then compute and snapshot every consenting user's profile.

Embedding is streamed and committed batch by batch (an interrupted run keeps its work). Topic vectors are
then fitted to the collection, or an earlier fit is reused (``matcher.topic_fit``). Profiles are
computed per chunk of users and written under one run id, marked finished only at the end, so readers
keep seeing the previous finished run until this one is complete. Users whose inputs did not change
since a run with the same basis are copied, not recomputed (``matcher.incremental``); that also makes
an interrupted run resume where it stopped.

The run's record in the ``runs`` table (marked stopped, its totals counted, the latest and previous finished run) is
read and marked in ``matcher.run_records``, importable from here as before.
"""

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, Engine
from threadpoolctl import threadpool_limits

from catalog.refresh import text_key
from matcher import collector, incremental, topic_fit
from matcher.classify import ClassifyParams, fit_topic_vectors
from matcher.eligible import drop_gone, drop_withdrawn_profiles, eligible_users
from matcher.embed import EmbeddingCache, drop_unreferenced, require_cache
from matcher.engine_local import Executor, Progress
from matcher.locks import profile_lock
from matcher.matter_links import link_table
from matcher.model_files import vocabulary_source
from matcher.profile_chunk import ReadUser
from matcher.profile_types import ProfileParams, TopicResult
from matcher.records import end_of_day, require_as_of
from matcher.run_records import _profiled, _stopped, _totals, latest_run, mark_finished, open_run, previous_run
from matcher.sensitive_content import matters_read
from matcher.store import (
    PROFILE_ROWS,
    EvidencePost,
    Run,
    TopicScore,
    bulk_insert,
    require_engine,
    session,
    utcnow,
)
from matcher.taxonomy import load_topics, not_shown, taxonomy_digest
from matcher.topic_space import SIMILARITY_ROWS, TopicSpace, space_texts, topic_words
from matcher.topic_tree import TopicInfo
from matcher.vocabulary import vocabulary_vectors

__all__ = ["FIT", "USER_CHUNK", "ProfileSummary", "default_as_of", "details_json", "latest_run", "previous_run",
           "run_profile", "space_basis", "write_rows"]

USER_CHUNK = 200
FIT = topic_fit.FitParams()  # when a run fits topic vectors again, and how (one value for the decision and the fit)


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


def run_profile(engine: Engine, cache: EmbeddingCache, *, policy: str = "opt-in", as_of: int | None = None,
                classify: ClassifyParams = ClassifyParams(), params: ProfileParams = ProfileParams(),
                progress: Progress | None = None, executor: Executor | None = None,
                refit: bool = False) -> ProfileSummary:
    """Embed new texts and snapshot every eligible user's profile as a new run (recomputing only the users
    whose inputs changed since a run with the same basis). Topic vectors are fitted to the collection, or an
    earlier fit reused (``matcher.topic_fit``; ``refit`` forces a new fit). Every executor gives the same
    result. On PostgreSQL one run at a time: a second waits for the first, then goes on from it (``profile_lock``)."""
    require_engine(engine, "run_profile")
    require_cache(cache, "run_profile")
    require_as_of(as_of, "run_profile")
    with profile_lock(engine), collector.frozen():
        started, began = time.perf_counter(), utcnow()
        as_of = default_as_of() if as_of is None else as_of
        users = eligible_users(engine, policy)
        if executor is None:
            from matcher.engine_pool import default_executor  # it builds on this module

            executor = default_executor(engine, len(users))
        try:
            return _profile(engine, cache, users, policy, as_of, classify, params, progress, executor, refit,
                            (started, began))
        except KeyboardInterrupt as exc:  # Ctrl-C, or a termination signal (``cli.common.Terminated``)
            interrupt = exc.with_traceback(None)  # its frames go, and the connections they hold (``_stopped``), and
            interrupt.__context__ = interrupt.__cause__ = None  # those of an error it landed in the handling of
        finally:
            close = getattr(executor, "close", None)  # a pool of worker processes stops with its run
            if close is not None:
                close()
        _stopped(engine, began, as_of, policy)
        raise interrupt


def space_basis(space: TopicSpace, model: str, policy: str, as_of: int, classify: ClassifyParams,
                params: ProfileParams) -> str:
    """A profile run's basis (``incremental.run_basis``) against its topic space, fitted (``TopicSpace.adapted``):
    what its users' profiles are computed from beyond their own inputs."""
    return incremental.run_basis(space.topics, model, policy, as_of, classify, params, related=space.related,
                                 vectors=space.vectors, links=space.links, matters=matters_read())


def _profile(engine: Engine, cache: EmbeddingCache, users: list[str], policy: str, as_of: int,
             classify: ClassifyParams, params: ProfileParams, progress: Progress | None, executor: Executor,
             refit: bool, start: tuple[float, dt.datetime]) -> ProfileSummary:
    """The run's stages in order: new texts embedded, the run opened, the topic vectors fitted (or an earlier fit
    reused), every user computed (or reused) and written a chunk at a time, the run marked finished."""
    started, began = start
    topics = load_topics(engine)
    embedded, forgotten, timing = _embed(engine, cache, topics, len(users), policy, as_of, classify, progress,
                                         executor, refit)
    space = TopicSpace.build(topics, cache, classify)
    run_id = open_run(engine, as_of, policy, began)
    fit, read = _fit_topics(engine, cache, space, users, run_id, policy, as_of, classify, params, executor, progress,
                            refit)
    space = space.adapted(fit.vectors)
    basis = space_basis(space, cache.name, policy, as_of, classify, params)
    _record_basis(engine, run_id, space, topics, cache, fit, policy, basis)
    posts, inferred, recomputed = _compute(engine, cache, space, users, run_id, basis, policy, as_of, classify,
                                           params, read, executor, progress)
    forgot = _forgets(engine) != forgotten
    return _finish(engine, cache, run_id, users, as_of, forgot, (posts, inferred, recomputed, embedded), fit.run_id,
                   started, timing)


def _forgets(engine: Engine) -> int:
    """How many forgets were done so far (``topic_fit.forgets_done``): one done during the run shows as a change."""
    with engine.connect() as conn:
        return topic_fit.forgets_done(conn)


def _embed(engine: Engine, cache: EmbeddingCache, topics: list[TopicInfo], users: int, policy: str, as_of: int,
           classify: ClassifyParams, progress: Progress | None, executor: Executor, refit: bool
           ) -> tuple[int, int, tuple[float, float]]:
    """The texts not embedded yet (posts, the taxonomy's texts, the related words' vocabulary) embedded: how many,
    the forgets done before (``_finish`` compares), and (the stage's seconds, the encoder's seconds in it)."""
    embed_started, encoder_before = time.perf_counter(), cache.encode_seconds
    topic_texts, choose_words = space_texts(topics, cache, classify)
    forgotten = _forgets(engine)
    if refit or topic_fit.fit_expected(engine, as_of, FIT):  # a new fit reads every user: workers get ready meanwhile
        executor.warm_up(users)
    with cache.recording() as stored:
        embedded = executor.embed(engine, cache, topic_texts, progress, policy)
    if _forgets(engine) != forgotten:  # a `forget` meanwhile: the vectors of its posts go
        drop_unreferenced(engine, cache.name, set(stored) - {text_key(t) for t in topic_texts})
    if choose_words:  # a new choice of related words, so a new topic fit: the workers start while they are chosen
        vocabulary_vectors(cache, topic_words(topics, cache, classify), progress)  # built once per machine
        executor.warm_up(users)
    return embedded, forgotten, (time.perf_counter() - embed_started, cache.encode_seconds - encoder_before)


def _record_basis(engine: Engine, run_id: int, space: TopicSpace, topics: list[TopicInfo], cache: EmbeddingCache,
                  fit: topic_fit.Fit, policy: str, basis: str) -> None:
    """What the run's results rest on, in its params: later runs reuse a user's results only on the same basis."""
    with session(engine) as s:
        run = s.get(Run, run_id)
        assert run is not None
        related = {t: words for t, words in zip(space.ids, space.related, strict=True) if words}
        linked = {matter: ids for matter, ids in link_table(space.topics, space.links).items() if ids}
        run.params = json.dumps({"policy": policy, "basis": basis, "rules": incremental.RULES_VERSION,
                                 "taxonomy": taxonomy_digest(topics),
                                 "related_words": related, "vocabulary": vocabulary_source(cache.encoder),
                                 "topic_vectors": fit.record(space.ids), "matter_links": linked})
        s.add(run)
        s.commit()


def _compute(engine: Engine, cache: EmbeddingCache, space: TopicSpace, users: list[str], run_id: int, basis: str,
             policy: str, as_of: int, classify: ClassifyParams, params: ProfileParams, read: dict[str, ReadUser],
             executor: Executor, progress: Progress | None) -> tuple[int, int, int]:
    """Every user computed, or their results of an earlier run on the same basis reused, and written a chunk at a
    time: (posts read, topics inferred, users recomputed)."""
    sources = incremental.source_runs(engine, basis, run_id)
    posts = inferred = recomputed = 0
    hidden = not_shown(space.topics)  # (each chunk's users who withdrew a sensitive opt-in meanwhile: ``write_rows``)
    if progress:
        progress("profile", 0, len(users))
    with threadpool_limits(1, user_api="blas"):  # per-user matrices are small: BLAS threads only spin
        jobs = (incremental.plan_chunk(engine, sources, users[i:i + USER_CHUNK], as_of)
                for i in range(0, len(users), USER_CHUNK))
        for (chunk, digests, reuse), results, n_posts, computed in executor.compute(engine, cache, space, jobs,
                                                                                    as_of, classify, params, read):
            posts += n_posts
            recomputed += len(chunk) - len(reuse)
            inferred += sum(r.inferred for rs in results.values() for r in rs)
            _write_results(engine, run_id, results, reuse, {**digests, **computed}, policy, hidden)
            if progress:
                progress("profile", len(chunk), len(users))
    return posts, inferred, recomputed


def _finish(engine: Engine, cache: EmbeddingCache, run_id: int, users: list[str], as_of: int, forgot: bool,
            counts: tuple[int, int, int, int], fit_run: int, started: float, timing: tuple[float, float]
            ) -> ProfileSummary:
    """The run's totals counted and recorded, the run marked finished, a deletion's unfinished scrub done."""
    posts, inferred, recomputed, embedded = counts
    embed_seconds, encode_seconds = timing
    # a user forgotten (or who withdrew a sensitive opt-in) during the run has no rows in it: counted in SQL then
    held = _profiled(engine, run_id)
    forgot = forgot or held != len(users)
    inferred, posts = _totals(engine, run_id, as_of, inferred, posts, recomputed < len(users) or forgot)
    profiled, reused = len(users), len(users) - recomputed
    if forgot:  # the users counted are those the run holds, recomputed and reused adding up to them
        profiled = held
        recomputed = max(0, profiled - reused)
        reused = profiled - recomputed
    seconds = time.perf_counter() - started
    stats = {"users": profiled, "posts": posts, "embedded": embedded, "inferred_topics": inferred,
             "recomputed_users": recomputed, "reused_users": reused,
             "seconds": round(seconds, 2), "encode_seconds": round(encode_seconds, 2),
             "embed_seconds": round(embed_seconds, 2), "model": cache.name}
    if options := getattr(cache.encoder, "options", ""):  # the options that gave its encoder (``status`` names them)
        stats["encoder_options"] = options
    mark_finished(engine, run_id, stats)
    return ProfileSummary(run_id, profiled, posts, embedded, inferred, seconds, encode_seconds,
                          recomputed, reused, fit_run, embed_seconds)


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
    fit_params = FIT
    fit_basis = incremental.run_basis(space.topics, cache.name, policy, 0, classify, fit_params, params,
                                      related=space.related)
    dim = space.vectors.shape[1]
    earlier = topic_fit.reusable_fit(engine, fit_basis, space.ids, dim, as_of, fit_params)
    if earlier is not None and not refit:
        return earlier, {}
    executor.warm_up(len(users))  # new vectors, a new basis: every user will be computed
    state = topic_fit.collection_state(engine, as_of)
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
    rows = [r.fit_rows() for r in read.values()]
    posts = np.concatenate([vectors for vectors, _ in rows] or [np.zeros((0, dim), np.float32)])
    closest = np.concatenate([closeness for _, closeness in rows] or [np.zeros((0, len(space.ids)), np.float32)])
    del rows
    # the rounds' products are large, in float64 (``classify.cosines``): on every core, while the workers wait
    vectors, mass = fit_topic_vectors(space.vectors, space.views, space.view_starts, posts, fit_params.rounds,
                                      classify, SIMILARITY_ROWS, closest)
    return topic_fit.store_fit(engine, fit_basis, run_id, space.ids, vectors, mass, state, earlier is not None), read


def _write_results(engine: Engine, run_id: int, results: dict[str, list[TopicResult]], reuse: dict[str, int],
                   digests: dict[str, str], policy: str = "opt-in",
                   hidden: Callable[[str | None], frozenset[str]] | None = None) -> None:
    """One transaction per chunk (``write_rows``)."""
    with engine.begin() as conn:
        write_rows(conn, run_id, results, reuse, digests, policy, hidden)


def write_rows(conn: Connection, run_id: int, results: dict[str, list[TopicResult]], reuse: dict[str, int],
               digests: dict[str, str], policy: str = "opt-in",
               hidden: Callable[[str | None], frozenset[str]] | None = None) -> None:
    """Computed users' rows, reused users' copied rows, and every digest; then the rows of any of them forgotten since
    the run read them (``eligible_among``) go again, and with ``hidden`` (``taxonomy.not_shown`` of the run's topics)
    those of anyone who withdrew a sensitive opt-in since (``drop_withdrawn_profiles``)."""
    scores: list[tuple[Any, ...]] = []
    evidence: list[tuple[Any, ...]] = []
    for user_id, topics in results.items():
        for rank, r in enumerate(topics, start=1):
            scores.append((run_id, user_id, r.topic_id, "inferred" if r.inferred else "candidate", rank, r.score,
                           r.confidence, r.posts, r.days, r.engagement, details_json(r.details)))
            evidence.extend((run_id, user_id, r.topic_id, key, i, w) for i, (key, w) in enumerate(r.evidence, start=1))
    bulk_insert(conn, TopicScore.__table__, ("run_id", *incremental.SCORE_COLS), scores)  # type: ignore[attr-defined]
    bulk_insert(conn, EvidencePost.__table__, ("run_id", *incremental.EVIDENCE_COLS), evidence)  # type: ignore[attr-defined]
    incremental.copy_users(conn, run_id, reuse)
    incremental.record_digests(conn, run_id, sorted(digests.items()))
    written, tables = set(results) | set(reuse) | set(digests), PROFILE_ROWS
    gone = drop_gone(conn, run_id, written, policy, tables)
    if hidden is not None:
        drop_withdrawn_profiles(conn, run_id, written - set(gone), hidden, tables)


def details_json(details: dict[str, Any]) -> str:
    """A topic's details as stored: JSON with sorted keys (orjson: this runs once per user and topic)."""
    return orjson.dumps(details, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()
