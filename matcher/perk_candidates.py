"""Each user's candidate perks, as `match` finds them before it assigns: the users' inferred topics read from the
profile run (``load_profiles``, their evidence a chunk at a time), a query per (user, topic) blending the topic with the
posts it shows (``topic_queries``), the catalog's FAISS index and the topic's most relevant perks searched with it,
each candidate scored (``matcher.match``'s docstring gives the formula) with the evidence it is shown with
(``perk_evidence``), and the perks a user cannot have withheld with the rule that keeps them; all of it, for the users a
match reads (``work_out``: ``Worked``)."""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine
from sqlmodel import col, select

from matcher.assign import Candidate
from matcher.classify import ClassifyParams, cosines
from matcher.embed import EmbeddingCache
from matcher.engine_local import Progress
from matcher.errors import NotReadyError
from matcher.match_table import Found, Hit
from matcher.perk_space import MatchParams, PerkSpace
from matcher.profile_chunk import load_user_posts
from matcher.store import EvidencePost, Post, TopicScore, User, batches, session
from matcher.taxonomy import not_shown, replaced_since
from matcher.topic_records import SHOWN_EVIDENCE


def load_profiles(engine: Engine, run_id: int, hidden: Callable[[str | None], frozenset[str]],
                  only: set[str] | None = None) -> tuple[dict[str, list[Any]], dict[str, str | None], dict[str, str]]:
    """The run's inferred topics (rows of user_id, topic_id, score, confidence) of users who have not opted out, but
    for sensitive topics they do not opt in to now (``taxonomy.not_shown``: withdrawn since the run), and every user's
    region and sensitive opt-ins (``only``: of these users only). Their evidence is read a chunk of users at a time
    (``chunk_evidence``)."""
    # the columns matching reads, as plain rows: whole ORM objects carry each topic's details (about 12 kB a user)
    scores_q = (select(TopicScore.user_id, TopicScore.topic_id, TopicScore.score, TopicScore.confidence)
                .where(TopicScore.run_id == run_id).where(TopicScore.status == "inferred")
                .order_by(col(TopicScore.user_id), col(TopicScore.rank)))
    users_q = select(User.user_id, User.region, User.consent, User.sensitive_opt_in)
    scores: list[Any] = []
    users: list[Any] = []
    with session(engine) as s:
        for part in [None] if only is None else batches(sorted(only)):
            for found, query, column in ((scores, scores_q, TopicScore.user_id), (users, users_q, User.user_id)):
                found += s.exec(query if part is None else query.where(col(column).in_(part))).all()
    rows: dict[str, list[Any]] = defaultdict(list)
    consent = {u: c for u, _, c, _ in users}
    opt_ins = {u: o for u, _, _, o in users}
    for r in scores:
        if consent.get(r.user_id) != "opted_out" and r.topic_id not in hidden(opt_ins.get(r.user_id)):
            rows[r.user_id].append(r)
    return dict(rows), {u: r for u, r, _, _ in users}, opt_ins


def chunk_evidence(engine: Engine, run_id: int, user_ids: list[str]) -> dict[tuple[str, str], list[int]]:
    """The evidence posts of these users' inferred topics in the run (by rank), as plain rows: the run also keeps its
    candidates' (most of the rows). Read a chunk at a time: the whole run's, read at once, made most of the 0.77 GB a
    match held at 40,000 users before it found a single candidate (now about 0.3 GB then)."""
    query = (select(EvidencePost.user_id, EvidencePost.topic_id, EvidencePost.post_pk).join(
        TopicScore, (col(TopicScore.run_id) == EvidencePost.run_id)
        & (col(TopicScore.user_id) == EvidencePost.user_id)
        & (col(TopicScore.topic_id) == EvidencePost.topic_id)).where(EvidencePost.run_id == run_id)
        .where(TopicScore.status == "inferred").where(col(EvidencePost.user_id).in_(user_ids))
        .order_by(col(EvidencePost.user_id), col(EvidencePost.topic_id), col(EvidencePost.rank)))
    evidence: dict[tuple[str, str], list[int]] = defaultdict(list)
    with session(engine) as s:
        for user_id, topic_id, post_pk in s.exec(query):
            evidence[(user_id, topic_id)].append(post_pk)
    return dict(evidence)


HIT = ("topic_id", "relevance", "fit", "score", "posts")  # a candidate's reason for one of its topics, as an assignment
# keeps it; ``posts``: the topic's evidence for this perk (``perk_evidence``); a ``Hit`` holds these fields


def find_candidates(engine: Engine, cache: EmbeddingCache, run_id: int, rows: dict[str, list[Any]],
                    regions: dict[str, str | None], ps: PerkSpace, today: dt.date, params: MatchParams,
                    progress: Progress | None, hidden: dict[str, frozenset[str]]) -> Found:
    """Each user's candidate perks (through their inferred ``rows`` of profile run ``run_id``), with their reasons
    (``HIT``), and the perks withheld from them (region, offer window, a sensitive topic), 200 users at a time; kept
    compactly (``match_table.Found``)."""
    users = sorted(rows)
    found_all = Found(users, ps.perks, ps.space.ids)
    if progress:
        progress("candidates", 0, len(users))
    for start in range(0, len(users), 200):
        chunk = users[start:start + 200]
        evidence = chunk_evidence(engine, run_id, chunk)
        pairs, queries = topic_queries(engine, cache, chunk, rows, evidence, ps.topic_vectors, params)
        results = ps.index.search(queries, params.candidates_per_topic)  # one batched search per chunk
        among = [ps.open_to(hidden[user_id], regions.get(user_id), today) for user_id, *_ in pairs]
        open_results = ps.search_open(queries, among)  # (perks a user cannot have crowd out none they can)
        found: dict[str, dict[int, list[Hit]]] = defaultdict(lambda: defaultdict(list))
        for (user_id, r, strength, pool), query, nearest, near, perks_open in zip(pairs, queries, results,
                                                                                 open_results, among, strict=True):
            column = ps.column[r.topic_id]
            weighed = ps.weighed(column, nearest) | ps.weighed_open(column, near, perks_open)
            admitted = [perk_i for perk_i in sorted(weighed) if ps.admits(perk_i, r.topic_id)]
            shown = perk_evidence(pool, ps.vectors[admitted])
            for perk_i, posts in zip(admitted, shown, strict=True):
                found[user_id][perk_i].append(_hit(ps, params, perk_i, r.topic_id, strength, query, posts))
        for user_id in chunk:
            _file(found_all, ps, user_id, found[user_id], hidden[user_id], regions.get(user_id), today)
        if progress:
            progress("candidates", len(chunk), len(users))
    return found_all


def _hit(ps: PerkSpace, params: MatchParams, perk_i: int, topic_id: str, strength: float, query: np.ndarray,
         posts: list[int]) -> Hit:
    """A perk's reason to be a candidate through one of the user's topics (``HIT``): its relevance to the topic, its
    fit (that relevance, at least ``min_relevance`` for a topic the catalog names it for, with the nearness of the
    user's own posts and the boost of a topic it targets) and its score (the fit weighed by the topic's strength)."""
    relevant = float(ps.relevance[perk_i, ps.column[topic_id]])
    targeted = ps.targeted(perk_i, topic_id)
    named = topic_id in ps.targets[perk_i]  # the brand's word: it fits at least as one that is about it
    fit = (max(relevant, params.min_relevance) if named else relevant) + params.evidence_weight * float(
        query @ ps.vectors[perk_i])
    fit += params.target_boost if targeted else 0.0
    # (a tuple: a run holds one per candidate; ``HIT`` names its fields)
    return (topic_id, round(relevant, 4), round(fit, 4), round(fit * (0.5 + 0.5 * strength), 4), posts)


def _file(found_all: Found, ps: PerkSpace, user_id: str, by_perk: dict[int, list[Hit]], hidden: frozenset[str],
          region: str | None, today: dt.date) -> None:
    """A user's candidate perks filed, each with its reasons best first (by score, then topic id): as withheld when
    the perk is not open to them (its region, its offer window, a sensitive topic), else as a candidate."""
    for perk_i, hits in sorted(by_perk.items()):
        hits = sorted(hits, key=lambda h: (-h[3], h[0]))
        reason = ps.withheld_reason(perk_i, hidden, region, today)
        if reason:
            found_all.withhold(user_id, perk_i, hits[0][3], reason)
        else:
            found_all.add(user_id, perk_i, hits[0][3], hits)


def topic_queries(engine: Engine, cache: EmbeddingCache, chunk: list[str], rows: dict[str, list[Any]],
                  evidence: dict[tuple[str, str], list[int]], topic_vecs: dict[str, np.ndarray], params: MatchParams
                  ) -> tuple[list[tuple[str, Any, float, tuple[list[int], np.ndarray]]], np.ndarray]:
    """For each (user, inferred topic): the query vector (topic blended with the evidence posts it shows), its
    strength, and its pool of evidence (the keys and vectors of the posts stored for it, ``perk_evidence``)."""
    shown = sorted({k for user_id in chunk for r in rows[user_id] for k in evidence.get((user_id, r.topic_id), ())})
    loaded = load_user_posts(engine, cache, chunk, ClassifyParams(), only=shown)  # not their every post
    pairs, queries = [], []
    dim = len(next(iter(topic_vecs.values())))
    for user_id in chunk:
        posts, vecs = loaded.get(user_id, (None, None))
        key_pos = {k: i for i, k in enumerate(posts.keys)} if posts else {}
        best = max(r.score for r in rows[user_id]) or 1.0
        for r in rows[user_id]:
            stored = evidence.get((user_id, r.topic_id), [])
            ev = [key_pos[k] for k in stored[:SHOWN_EVIDENCE] if k in key_pos]
            query = params.topic_weight * topic_vecs[r.topic_id]
            if ev and vecs is not None:
                query = query + (1 - params.topic_weight) * vecs[ev].mean(axis=0)
            queries.append(query / (np.linalg.norm(query) or 1.0))
            pool = [k for k in stored if k in key_pos]
            pool_vecs = vecs[[key_pos[k] for k in pool]] if pool and vecs is not None else np.zeros((0, dim))
            pairs.append((user_id, r, r.confidence * r.score / best, (pool, pool_vecs)))
    return pairs, np.array(queries, dtype=np.float32).reshape(len(queries), dim)


def perk_evidence(pool: tuple[list[int], np.ndarray], perk_vecs: np.ndarray) -> list[list[int]]:
    """For each of these perks, the evidence it is shown with for a topic: the ``SHOWN_EVIDENCE`` posts
    of the topic's pool (its strongest posts, ``evidence_pool``) closest to the perk, closest first (ties: the
    stronger first). A travel writer's luggage perk cites their posts about packing, the lounge pass their lounge
    reviews, not both the topic's strongest posts whatever they are about."""
    keys, vecs = pool
    if not keys or not len(perk_vecs):
        return [list(keys[:SHOWN_EVIDENCE]) for _ in range(len(perk_vecs))]
    closeness = cosines(perk_vecs, vecs)  # (perks, posts), each row's the same whatever the rows beside it
    order = np.lexsort((np.broadcast_to(np.arange(len(keys)), closeness.shape), -closeness), axis=1)
    return [[keys[i] for i in row[:SHOWN_EVIDENCE]] for row in order.tolist()]


def citing_gone(conn: Connection, chosen: list[Candidate], reasons: Found) -> set[str]:
    """The users among ``chosen`` whose perks cite (``reasons``) a post key that is no longer one of their posts: a
    `forget --post` since the match read their evidence (a key SQLite may since have given another user's post)."""
    cited = {(c.user_id, key) for c in chosen for hit in reasons[(c.user_id, c.perk_id)] for key in hit[4]}
    held: set[tuple[str, int | None]] = set()
    for part in batches(sorted({key for _, key in cited})):
        held.update((user_id, key) for key, user_id in conn.execute(
            select(col(Post.id), col(Post.user_id)).where(col(Post.id).in_(part))).all())
    return {user_id for user_id, key in cited if (user_id, key) not in held}


@dataclass(frozen=True)
class Worked:
    """What a match works out of the users it reads, before it assigns: each one's inferred topics (``rows``; users
    with none are not matched), sensitive opt-ins as read (JSON), and their candidates, each with its reasons (its
    topics: ``HIT``), and perks withheld (``found``, held compactly)."""

    rows: dict[str, list[Any]]
    opt_ins: dict[str, str | None]
    found: Found

    def redone(self, users: set[str], again: "Worked") -> "Worked":
        """These users as ``again`` (read later) has them, the others as before, in the order a match reading them all
        at once gives (by user; each user's candidates as ``find_candidates`` lists them)."""
        def mine(user_id: str) -> bool:
            return user_id not in users

        return Worked({u: r for u, r in self.rows.items() if mine(u)} | again.rows,
                      {u: o for u, o in self.opt_ins.items() if mine(u)} | again.opt_ins,
                      self.found.redone(users, again.found))


def work_out(engine: Engine, cache: EmbeddingCache, profile_run: int, ps: PerkSpace, today: dt.date,
             params: MatchParams, progress: Progress | None, only: set[str] | None = None) -> Worked:
    """The profile run's users (``only``: these of them), as stored now, with their candidates (``find_candidates``)."""
    hidden = not_shown(ps.topics)
    rows, regions, opt_ins = load_profiles(engine, profile_run, hidden, only)
    gone = sorted({r.topic_id for user_rows in rows.values() for r in user_rows} - set(ps.space.ids))
    if gone:
        raise NotReadyError(replaced_since(profile_run, gone) + ", then match")
    hides = {u: hidden(opt_ins.get(u)) for u in rows}
    found = find_candidates(engine, cache, profile_run, rows, regions, ps, today, params, progress, hides)
    return Worked(rows, {u: opt_ins.get(u) for u in rows}, found)


def again_bar(progress: Progress | None, again: set[str] | None) -> Progress | None:
    """The progress of finding candidates: the match's own stage, or, for users worked out ``again`` as the run is
    written (``match._save``), a stage of its own saying so. Before, that work showed nothing (the first reading's
    bar stood full while it ran, however many users it read again)."""
    if progress is None or not again:
        return progress
    said = f"candidates again ({len(again)} user(s) changed while the match ran)"
    return lambda stage, advance, total: progress(said if stage == "candidates" else stage, advance, total)
