"""What differs between two runs, read from the database: the earlier run a change is measured from
(``earlier_run``), and, for one user between two profile runs, every fact that can move their topics' scores
(``Causes``: new, deleted and reached posts, time, a refit, copies, their record and inputs, ...), which
``change_reasons.why_moved`` puts in words.
"""

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, exists
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from matcher.errors import PerkmatchError
from matcher.forgotten import kept_hash, post_deletions
from matcher.records import as_of_text
from matcher.store import EvidencePost, ForgetAudit, Post, ProfiledUser, Run, TopicScore, User, session
from matcher.taxonomy import load_topics, taxonomy_digest
from matcher.topic_records import record_changed
from matcher.topic_tree import not_shown


def earlier_run(engine: Engine, run_id: int, latest: Run | None, kind: str = "profile") -> Run:
    """The finished run ``run_id`` of this kind, earlier than ``latest`` (None: one about to be made); else an error
    listing the ones there are."""
    finished = select(Run.id).where(Run.kind == kind).where(Run.status == "finished")
    if latest is not None:
        finished = finished.where(col(Run.id) < int(latest.id or 0))
    with session(engine) as s:  # (PostgreSQL's ids are 32-bit: a larger one is no run, not "integer out of range")
        run = s.get(Run, run_id) if 0 < run_id < 2**31 else None
        kept = s.exec(finished.order_by(col(Run.id).desc())).all()
    if run is not None and run.kind == kind and run.status == "finished" and run.id in kept:
        return run
    more = f" and {len(kept) - 10} earlier (`perkmatch status --runs N` lists them)" if len(kept) > 10 else ""
    there = (f"earlier finished {kind} runs: {', '.join(map(str, kept[:10]))}{more}" if kept
             else f"there is no earlier finished {kind} run")
    if run is not None and run.kind == kind and run.status != "finished":
        there = f"run {run_id} did not finish ({run.status}); {there}"
    before = "" if latest is None else f" before the latest ({latest.id})"
    raise PerkmatchError(f"--since {run_id}: not a finished {kind} run{before}; {there}")


def deleted_since(engine: Engine, user_id: str, run: Run) -> dt.datetime | None:
    """When the user's data was last deleted (an opt-out or `forget`, kept by a salted hash of their id) after this
    run started: its rows of them went with it. Reads only (``kept_hash``)."""
    with session(engine) as s:
        hashed = kept_hash(s, user_id)
        return None if hashed is None else s.exec(
            select(func.max(ForgetAudit.forgotten_at)).where(ForgetAudit.user_hash == hashed)
            .where(col(ForgetAudit.forgotten_at) >= run.started_at)).one()


@dataclass(frozen=True)
class Causes:
    """What changed between two profile runs for one user, to name as the reasons a topic's score moved."""

    new_posts: int  # the user's posts added or updated between the runs, that the later run reads
    deleted: int  # the user's posts deleted at their request between the runs (`forget USER --post`)
    reached: int  # stored before the earlier run, written after its date and by the later one's (``--as-of``)
    elapsed: int  # seconds between the runs' dates
    refitted: str | None  # why the topic vectors or the rules differ (``_refitted``)
    copies: dict[int, dict[str, int]]  # per run, per topic: posts copying another user's earlier post
    copied: int  # the user's posts whose original (another user's earlier post) was stored between the runs
    runs: tuple[int, int]  # (earlier, later) run ids
    record_changed: bool  # the user's record (consent, opt-ins, region) changed between the runs
    inputs_changed: bool  # the user's digest differs between the runs: their posts' inputs or their opt-ins
    usual: tuple[float | None, float | None]  # the user's usual engagement a post in each run (None: no topic)
    kept: dict[int, dict[str, set[int]]]  # per run, per topic kept with all its posts as evidence: those posts
    sensitive: frozenset[str]  # the taxonomy's topics inferred only with an opt-in
    topic_ids: frozenset[str] | None  # the later run's taxonomy's (None: the loaded one is another, loaded since)


def read_causes(engine: Engine, run: Run, prev: Run, user: User) -> Causes:
    """The changes between two profile runs that can move a user's scores (``change_reasons.why_moved`` says which
    did, per topic)."""
    user_id = user.user_id
    with session(engine) as s:
        new_posts, reached, copied = _post_counts(s, user_id, run, prev)
        deleted = sum(n for _, n in post_deletions(s, user_id, prev.started_at, run.started_at))
        ids = (int(prev.id or 0), int(run.id or 0))
        digests = dict(s.exec(select(ProfiledUser.run_id, ProfiledUser.digest).where(ProfiledUser.user_id == user_id)
                              .where(col(ProfiledUser.run_id).in_(ids))).all())
    taxonomy = load_topics(engine)
    changed = record_changed(engine, user_id, prev.started_at, run.started_at)
    details = {rid: _details(engine, rid, user_id) for rid in ids}
    return Causes(new_posts, deleted, reached, run.as_of - prev.as_of, _refitted(run, prev),
                  {rid: {t: int(d.get("copies", 0)) for t, d in details[rid].items()} for rid in ids}, copied, ids,
                  changed, digests.get(ids[0]) != digests.get(ids[1]),
                  tuple(next((d["usual_engagement"] for d in details[rid].values() if "usual_engagement" in d), None)
                        for rid in ids),  # type: ignore[arg-type]
                  {rid: _every_post(engine, rid, user_id, details[rid]) for rid in ids},
                  not_shown(taxonomy)(None), frozenset(t.topic_id for t in taxonomy)
                  if json.loads(run.params or "{}").get("taxonomy") == taxonomy_digest(taxonomy) else None)


def _post_counts(s: Session, user_id: str, run: Run, prev: Run) -> tuple[int, int, int]:
    """The user's posts that move their scores between the runs: new or updated, reached by a later date, and found to
    copy another user's earlier post."""
    # added or updated after the earlier run started and before this one did: posts stored since this run are
    # no reason for what it found, nor are posts written after its date (it does not read them)
    new_posts = s.exec(select(func.count()).select_from(Post).where(Post.user_id == user_id)
                       .where(col(Post.updated_at) > prev.started_at)
                       .where(col(Post.updated_at) <= run.started_at)
                       .where(col(Post.created_at) <= run.as_of)).one()
    # stored before, but written after the previous run's date (``--as-of``): this run reads them, that one did not
    reached = s.exec(select(func.count()).select_from(Post).where(Post.user_id == user_id)
                     .where(col(Post.updated_at) <= prev.started_at)
                     .where(col(Post.created_at) > prev.as_of).where(col(Post.created_at) <= run.as_of)).one()
    # the user's posts that turned out to copy another user's earlier post: that post was stored between the runs
    earlier = aliased(Post)
    copied = s.exec(select(func.count()).select_from(Post).where(Post.user_id == user_id)
                    .where(col(Post.created_at) <= run.as_of)
                    .where(exists().where(col(earlier.text_key) == Post.text_key,
                                          col(earlier.user_id) != Post.user_id,
                                          col(earlier.created_at) < Post.created_at,
                                          col(earlier.updated_at) > prev.started_at,
                                          col(earlier.updated_at) <= run.started_at))).one()
    return new_posts, reached, copied


def _details(engine: Engine, run_id: int, user_id: str) -> dict[str, dict[str, Any]]:
    """The details of each topic of the user in this run: among them its posts that copy another user's earlier post
    (``copies``, ``post_signals.copies``), and the user's usual engagement (the same in each)."""
    with session(engine) as s:
        rows = s.exec(select(TopicScore.topic_id, TopicScore.details).where(TopicScore.run_id == run_id)
                      .where(TopicScore.user_id == user_id)).all()
    return {topic_id: json.loads(details or "{}") for topic_id, details in rows}


def _every_post(engine: Engine, run_id: int, user_id: str, details: dict[str, dict[str, Any]]) -> dict[str, set[int]]:
    """The topics of the user in this run whose evidence rows hold every post counted for them (each member post but
    its repeats: an inferred topic keeps up to ``ProfileParams.evidence_pool``, a candidate its first few), and those
    posts."""
    with session(engine) as s:
        rows = s.exec(select(EvidencePost.topic_id, EvidencePost.post_pk).where(EvidencePost.run_id == run_id)
                      .where(EvidencePost.user_id == user_id)).all()
    posts: dict[str, set[int]] = defaultdict(set)
    for topic_id, post_pk in rows:
        posts[topic_id].add(post_pk)
    return {t: posts[t] for t, d in details.items()
            if "posts_total" in d and len(posts[t]) >= d["posts_total"] - d.get("duplicates_dropped", 0)}


def _refitted(run: Run, prev: Run) -> str | None:
    """Why the topic vectors or the rules differ between two runs, if they do (``matcher.topic_fit``)."""
    params = [json.loads(r.params or "{}") for r in (run, prev)]
    reasons = []
    rules = [p.get("rules") for p in params]  # runs before rules version 5 did not record it
    if None not in rules and rules[0] != rules[1]:
        reasons.append(f"perkmatch's profile rules changed (version {rules[1]} -> {rules[0]}): every user was "
                       "recomputed")
    now, before = (p.get("topic_vectors") or {} for p in params)
    if now.get("run") != before.get("run"):
        if now.get("basis") != before.get("basis"):
            cause = _basis_moved(run, prev, rules_said=bool(reasons))
        elif now.get("forced"):  # the earlier fit was still fresh
            cause = "asked for with --refit"
        elif now.get("forgotten") != before.get("forgotten"):
            cause = "a user's data, or some of their posts, were deleted since the last fit"
        elif now.get("posts") != before.get("posts"):
            dates = (f" written by {as_of_text(prev.as_of)} and by {as_of_text(run.as_of)}, the as-ofs the runs read"
                     if run.as_of != prev.as_of else "")
            cause = f"the collection changed from {before.get('posts', 0)} to {now.get('posts', 0)} posts{dates}"
        else:
            cause = "asked for with --refit"
        reasons.append(f"topic vectors fitted again to the collection: {cause}")
    return "; ".join(reasons) or None


def _basis_moved(run: Run, prev: Run, rules_said: bool = False) -> str:
    """What moved the basis of the topic fit between two runs, as far as the runs record it: the taxonomy (its
    digest), the model, perkmatch's rules (``rules_said``: named already, as the reason every user was recomputed);
    else the settings."""
    params = [json.loads(r.params or "{}") for r in (prev, run)]
    models = [json.loads(r.stats or "{}").get("model") for r in (prev, run)]
    said = []
    if None not in (taxonomies := [p.get("taxonomy") for p in params]) and taxonomies[0] != taxonomies[1]:
        said.append("the taxonomy changed (`perkmatch taxonomy load`)")
    if None not in models and models[0] != models[1]:
        said.append(f"the model changed ({models[0]} -> {models[1]})")
    if None not in (rules := [p.get("rules") for p in params]) and rules[0] != rules[1]:
        said.append("the new rules" if rules_said else "perkmatch's rules changed")
    return " and ".join(said) or "the settings, the taxonomy, the model or perkmatch's rules changed"
