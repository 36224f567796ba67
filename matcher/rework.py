"""A stored profile run worked out again for some of its users, as it computed them: its taxonomy, model, rules and
fitted topic vectors (its basis, checked whole), the posts written by its as-of day.

`explain` does it for a topic a run weighed but did not keep (``work_again.worked_again``). A withdrawn sensitive-topic
opt-in does it for good (``rework_withdrawn``): `ingest --users` deletes at once what the stored runs inferred on the
withdrawn topics (``forget.withdraw_opt_ins``), but those topics shaped more than their own rows: their posts count
for the topics above them (and are their evidence), and the user's strongest topic sets the bar their side interests
are measured against. So every stored run that profiled the user is repeated for them from their record as it is
now, and their rows in it replaced; a run that cannot be repeated has those rows trimmed instead.
"""

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from matcher import topic_fit
from matcher.classify import ClassifyParams
from matcher.embed import EmbeddingCache
from matcher.incremental import RULES_VERSION
from matcher.matter_links import linked_topics
from matcher.profile_chunk import compute_users
from matcher.profile_run import space_basis, write_rows
from matcher.profile_types import ProfileParams
from matcher.store import (
    PROFILE_ROWS,
    Assignment,
    EvidencePost,
    ProfiledUser,
    Run,
    TopicScore,
    batches,
    cited_topics,
    session,
)
from matcher.taxonomy import load_topics, taxonomy_digest
from matcher.topic_space import TopicSpace
from matcher.topic_tree import lineage


def run_space(engine: Engine, load: Callable[[], EmbeddingCache], run: Run) -> tuple[EmbeddingCache, TopicSpace] | str:
    """The embedding cache and the fitted topic space a profile run computed its users with; or, when it cannot be
    had again, why (the rules or the taxonomy changed since, another encoder, or its topic fit was deleted by a
    `forget`). The cache (``load``: it loads the model) is loaded only once the cheaper checks pass."""
    made = json.loads(run.params or "{}")
    topics = load_topics(engine)
    classify = ClassifyParams()
    if made.get("rules") != RULES_VERSION:
        return "perkmatch's profile rules changed since the run; run `perkmatch profile`"
    if not made.get("topic_vectors") or made.get("taxonomy") != taxonomy_digest(topics):
        return "the taxonomy was replaced since the run; run `perkmatch profile`"
    cache = load()
    if (made_with := json.loads(run.stats or "{}").get("model")) not in (None, cache.name):
        from matcher.backends import encoder_option

        # (before, the reason alone: the other reasons name their fix, and `match` names this one)
        return f"the run was made with another encoder, {made_with}: give {encoder_option(made_with)} as it was given"
    space = TopicSpace.build(topics, cache, classify)
    fit = topic_fit.load_fit(engine, made["topic_vectors"], space.ids, space.vectors.shape[1])
    if fit is None:
        return "the topic vectors it fitted were deleted by a `forget` since; run `perkmatch profile`"
    space = space.adapted(fit.vectors)
    if space_basis(space, cache.name, made.get("policy", "opt-in"), run.as_of, classify, ProfileParams()) != made.get(
            "basis"):
        return "what the run was computed from cannot be had again (its settings differ); run `perkmatch profile`"
    return cache, space


def rework_withdrawn(engine: Engine, load: Callable[[], EmbeddingCache],
                     withdrawn: dict[str, tuple[frozenset[str], list[int]]]) -> dict[str, int]:
    """After withdrawals are committed (``withdrawn``: each user's topics, and the runs where one was their strongest,
    from ``forget.withdraw_opt_ins``), what the topics shaped beyond their own rows, run by run:

    - a finished run that can be repeated (``run_space``) is worked out again for the users, from their records as
      they are now, and their rows and digests in it replaced: what is kept is what a run now computes;
    - one that cannot (its rules or taxonomy replaced, another encoder, or its topic fit deleted by a `forget`) loses
      their rows of the topics above the withdrawn ones, and, where one was their strongest, of those that fell short
      (all their rows, when a withdrawn one was linked to a sensitive matter in it: ``_resting``);
    - an unfinished one (interrupted: what a later run may copy) loses their rows and digests, to be computed again.

    An assignment, in a match on such a run, citing a topic above a withdrawn one (any topic, when a withdrawn one was
    linked to a sensitive matter in the run) whose status or evidence changed, or that went, is deleted (its unit stays
    counted, as after `forget`); a topic elsewhere does not rest on the withdrawn ones (a change of its own since the
    run, new likes say, is no reason to take a perk back). Returns the runs of each kind and the assignments deleted;
    one transaction per run."""
    lines = lineage(load_topics(engine))
    with session(engine) as s:
        matches = s.exec(select(Run.id, Run.params).where(Run.kind == "match")).all()
    runs: dict[str, set[int]] = {"reworked": set(), "trimmed": set(), "cleared": set()}
    assignments = 0
    for part in batches(sorted(withdrawn)):  # (each query's IN list: PostgreSQL takes 65,535 values at most)
        assignments += _rework_users(engine, load, {u: withdrawn[u] for u in part}, lines, matches, runs)
    return {kind: len(ids) for kind, ids in runs.items()} | {"assignments": assignments}


def _rework_users(engine: Engine, load: Callable[[], EmbeddingCache],
                  withdrawn: dict[str, tuple[frozenset[str], list[int]]], lines: dict[str, tuple[str, ...]],
                  matches: Sequence[Any], done: dict[str, set[int]]) -> int:
    """``rework_withdrawn`` for at most ``BOUND_LIST`` users: each run, by what became of it, into ``done``; returns
    the assignments deleted."""
    above = {u: {up for t in topics for up in lines.get(t, ())[1:]} for u, (topics, _) in withdrawn.items()}
    with session(engine) as s:
        mine = [select(table.run_id).where(col(table.user_id).in_(list(withdrawn))) for table in
                (ProfiledUser, TopicScore)]
        runs = s.exec(select(Run).where(Run.kind == "profile").where(col(Run.id).in_(mine[0].union(mine[1])))
                      .order_by(col(Run.id))).all()
    deleted = 0
    for run in runs:
        kind, assignments = _rework_run(engine, load, run, withdrawn, above, matches)
        deleted += assignments
        done[kind].add(int(run.id or 0))
    return deleted


def _rework_run(engine: Engine, load: Callable[[], EmbeddingCache], run: Run,
                withdrawn: dict[str, tuple[frozenset[str], list[int]]], above: dict[str, set[str]],
                matches: Sequence[Any]) -> tuple[str, int]:
    """One run, for the users of ``withdrawn`` it holds: worked out again ("reworked": every row of theirs written
    again), "trimmed" (the topics above a withdrawn one dropped: a run that cannot be repeated) or "cleared" (an
    unfinished run: their rows deleted); then the assignments resting on a topic that moved. Returns what became of
    the run and how many assignments were deleted. One transaction."""
    from matcher.deletion import delete_assignments

    run_id = int(run.id or 0)
    with session(engine) as s:
        users = sorted({u for table in (ProfiledUser, TopicScore) for u in s.exec(
            select(table.user_id).where(table.run_id == run_id).where(col(table.user_id).in_(list(withdrawn))))})
    space = run_space(engine, load, run) if run.status == "finished" else None
    before = _rows(engine, run_id, users)
    above = _resting(run, users, withdrawn, above, before)
    computed = compute_users(engine, space[0], space[1], users, run.as_of) if isinstance(space, tuple) else None
    deleted = 0
    with session(engine) as s:
        _rewrite(s, run, space, computed, users, before, withdrawn, above)
        s.flush()
        after = _rows(s, run_id, users)
        on_run = [int(m) for m, params in matches if json.loads(params or "{}").get("profile_run") == run_id]
        for user_id in users:
            moved = {t for t in above[user_id] & set(before.get(user_id, {}))
                     if before[user_id][t] != after.get(user_id, {}).get(t)}
            cited = [int(a.id or 0) for a in s.exec(select(Assignment).where(col(Assignment.run_id).in_(on_run))
                                                      .where(Assignment.user_id == user_id))
                     if moved & cited_topics(a.topics)]
            deleted += delete_assignments(s, user_id, cited)
        s.commit()
    return "cleared" if space is None else "reworked" if isinstance(space, tuple) else "trimmed", deleted


def _resting(run: Run, users: list[str], withdrawn: dict[str, tuple[frozenset[str], list[int]]],
             above: dict[str, set[str]], before: dict[str, dict[str, tuple[str, tuple[int, ...]]]]
             ) -> dict[str, set[str]]:
    """Each user's topics of the run that rested on the withdrawn ones: those above them; and all of them when one
    withdrawn was linked to a sensitive matter in the run (``matter_links``, as its params keep them): a post touching
    it was then shown, and a topic inferred, wherever the model placed it."""
    linked = linked_topics(json.loads(run.params or "{}").get("matter_links"))
    return {u: set(before.get(u, {})) | above[u] if linked & withdrawn[u][0] else above[u] for u in users}


def _rewrite(s: Session, run: Run, space: tuple[EmbeddingCache, TopicSpace] | str | None, computed: Any,
             users: list[str], before: dict[str, dict[str, tuple[str, tuple[int, ...]]]],
             withdrawn: dict[str, tuple[frozenset[str], list[int]]], above: dict[str, set[str]]) -> None:
    """The users' rows of the run in ``s``: all deleted, and written again as the run computes them now
    (``computed``) when its ``space`` is had (none for an unfinished run); or, for a run that cannot be repeated
    (``space`` says why), their topics above a withdrawn one deleted (and, where it was their strongest, those that
    fell short)."""
    run_id = int(run.id or 0)
    if space is None or isinstance(space, tuple):  # every row of theirs goes (and is written again)
        for table in PROFILE_ROWS:
            s.execute(delete(table).where(col(table.run_id) == run_id).where(col(table.user_id).in_(users)))
    if isinstance(space, tuple):
        results, _, digests = computed
        write_rows(s.connection(), run_id, results, {}, digests, json.loads(run.params or "{}").get("policy", "opt-in"))
    elif isinstance(space, str):
        for user_id in users:
            fell_short = run_id in withdrawn[user_id][1]
            stale = [t for t, (status, _) in before.get(user_id, {}).items()
                     if t in above[user_id] or (fell_short and status != "inferred")]
            for table in (TopicScore, EvidencePost):
                s.execute(delete(table).where(col(table.run_id) == run_id).where(col(table.user_id) == user_id)
                          .where(col(table.topic_id).in_(stale)))


def _rows(store: Any, run_id: int, users: list[str]) -> dict[str, dict[str, tuple[str, tuple[int, ...]]]]:
    """Each user's stored topics in a run: status and evidence posts, by topic (what an assignment citing it rests
    on: a score moved by likes given since the run does not undo one)."""
    with session(store) as s:
        scores = s.exec(select(TopicScore.user_id, TopicScore.topic_id, TopicScore.status)
                        .where(TopicScore.run_id == run_id).where(col(TopicScore.user_id).in_(users))).all()
        evidence = s.exec(select(EvidencePost.user_id, EvidencePost.topic_id, EvidencePost.post_pk)
                          .where(EvidencePost.run_id == run_id).where(col(EvidencePost.user_id).in_(users))
                          .order_by(col(EvidencePost.rank))).all()
    posts: dict[tuple[str, str], list[int]] = {}
    for user_id, topic_id, post_pk in evidence:
        posts.setdefault((user_id, topic_id), []).append(post_pk)
    out: dict[str, dict[str, tuple[str, tuple[int, ...]]]] = {}
    for user_id, topic_id, status in scores:
        out.setdefault(user_id, {})[topic_id] = (status, tuple(posts.get((user_id, topic_id), [])))
    return out
