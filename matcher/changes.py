"""What changed between runs, and why: a user's topics between the last two profile runs (``topic_changes``), and
each user's assignments between two match runs (``assignment_changes``).

A topic's score moves only for a stated reason: new or updated posts the later run read, posts a later ``--as-of``
reaches, engagement on the same posts, the user's usual engagement, time passing, a refit of the topic vectors or
new rules, an opt-in, a topic gone from the taxonomy, or another user's earlier post of the same text.

For assignments, causes are checked in this order for each perk a user gained or lost, or kept with another score:
  catalog: the perk was added, changed or retired between the two catalog versions; and, for a perk lost, why this
  run withheld it from the user (its offer dates, its region, its quantity, a limit), when it did; for a perk gained,
  why the previous run withheld it, when it did;
  settings: the limits per user and per brand, or the day offer dates were checked on, differ between the runs;
  user: the user's topics changed between the profile runs behind the two match runs (new posts, new engagement,
  time passing, a refit, another user forgotten: `topics USER --changes --since RUN` says which), or they were
  profiled for the first time; for a score alone, posts behind their topics stored again since the last match, or
  the evidence posts of another profile run.
"""

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, exists
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select

from catalog.refresh import version_diff
from matcher.errors import PerkmatchError
from matcher.forgotten import kept_hash, post_deletions
from matcher.profile_run import previous_run
from matcher.records import as_of_text, utc_day
from matcher.store import (
    Assignment,
    EvidencePost,
    ForgetAudit,
    Post,
    ProfiledUser,
    Run,
    TopicScore,
    User,
    Withheld,
    cited_topics,
    session,
)
from matcher.taxonomy import known_names, load_topics, not_shown, taxonomy_digest
from matcher.topic_records import (
    not_profiled,
    record_changed,
    require_profile,
    require_profiled,
    require_user,
    topic_records,
    user_opt_ins,
)


def _runs(engine: Engine, run_id: int) -> tuple[Run | None, Run | None]:
    with session(engine) as s:
        run = s.get(Run, run_id)
        prev = s.exec(select(Run).where(Run.kind == "match").where(Run.status == "finished")
                      .where(col(Run.id) < run_id).order_by(col(Run.id).desc())).first()
    return run, prev


def _assigned(engine: Engine, run_id: int) -> dict[str, dict[str, float]]:
    """Each user's assigned perks in a match run, with their scores."""
    with session(engine) as s:
        rows = s.exec(select(Assignment.user_id, Assignment.perk_id, Assignment.score)
                      .where(Assignment.run_id == run_id)).all()
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for user_id, perk_id, score in rows:
        out[user_id][perk_id] = score
    return out


def _catalog_changes(engine: Engine, old: int, new: int) -> dict[str, str]:
    """perk_id -> 'added' | 'changed' | 'retired' between two catalog versions, by content: a perk changed and changed
    back, or retired and added again as it was, is the same perk in both (``catalog.refresh.version_diff``)."""
    if old == new:
        return {}
    with session(engine) as s:
        diff = version_diff(s, old, new)
    out = dict.fromkeys(diff.added, "added")
    out.update(dict.fromkeys(diff.changed, "changed"))
    out.update(dict.fromkeys(diff.retired, "retired"))
    return out


def _topic_signature(engine: Engine, profile_run: int | None) -> dict[str, list[tuple[str, float]]]:
    if profile_run is None:
        return {}
    with session(engine) as s:
        rows = s.exec(select(TopicScore.user_id, TopicScore.topic_id, TopicScore.score)
                      .where(TopicScore.run_id == profile_run).where(TopicScore.status == "inferred")).all()
    out: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for user_id, topic_id, score in rows:
        out[user_id].append((topic_id, score))
    return {u: sorted(v) for u, v in out.items()}


def _profiled(engine: Engine, profile_run: int | None) -> set[str]:
    """The users a profile run profiled, with topics or without."""
    if profile_run is None:
        return set()
    with session(engine) as s:
        return set(s.exec(select(ProfiledUser.user_id).where(ProfiledUser.run_id == profile_run)).all())


def _withheld(engine: Engine, run_id: int) -> dict[tuple[str, str], str]:
    """Why a match run withheld each (user, perk) it kept a reason for."""
    with session(engine) as s:
        return {(u, p): reason for u, p, reason in s.exec(
            select(Withheld.user_id, Withheld.perk_id, Withheld.reason).where(Withheld.run_id == run_id)).all()}


def _cited_now_sensitive(engine: Engine, run_id: int) -> set[str]:
    """The users whose assignments in this match run cite a topic not shown to them now (``taxonomy.not_shown``: the
    taxonomy marked it sensitive since, and they have not opted in to it)."""
    hidden = not_shown(load_topics(engine))
    with session(engine) as s:
        cited = s.exec(select(Assignment.user_id, Assignment.topics).where(Assignment.run_id == run_id)).all()
        opt_ins = user_opt_ins(s, {u for u, _ in cited})
    return {u for u, topics in cited
            if not cited_topics(topics).isdisjoint(hidden(opt_ins.get(u)))}


def _settings(p_old: dict[str, Any], p_new: dict[str, Any], old_day: int, new_day: int) -> list[str]:
    """The match settings that differ between two runs: the limits per user and per brand, and the day offer dates
    were checked on (``match --as-of``)."""
    out = [f"settings: --{key.replace('_', '-')} {p_old[key]} -> {p_new[key]}" for key in ("per_user", "per_brand")
           if key in p_old and key in p_new and p_old[key] != p_new[key]]
    if utc_day(old_day) != utc_day(new_day):  # the day they are checked on (a moment of the same day checks the same)
        out.append(f"settings: offer dates checked as of {as_of_text(old_day)} -> {as_of_text(new_day)}")
    return out


def assignment_changes(engine: Engine, run_id: int, since: int | None = None) -> list[dict[str, Any]]:
    """One record per user whose assignments differ from the previous match run (or the earlier match run
    ``since``): the perks gained and lost, and those kept whose score moved (``moved``), with causes. A score never
    moves unsaid: that is how the last generation of tools lost their users' trust (74, 78, 74, and no word why)."""
    run, prev = _runs(engine, run_id)
    if run is not None and since is not None:
        prev = earlier_run(engine, since, run, "match")
    if run is None or prev is None:
        return []
    p_new, p_old = json.loads(run.params), json.loads(prev.params)
    catalog = _catalog_changes(engine, p_old["catalog_version"], p_new["catalog_version"])
    topics_new = _topic_signature(engine, p_new.get("profile_run"))
    topics_old = _topic_signature(engine, p_old.get("profile_run"))
    profiled_old = _profiled(engine, p_old.get("profile_run"))  # with topics or without
    withheld, withheld_before = _withheld(engine, run_id), _withheld(engine, int(prev.id or 0))
    settings = _settings(p_old, p_new, prev.as_of, run.as_of)
    new, old = _assigned(engine, run_id), _assigned(engine, int(prev.id or 0))
    restored = _evidence_restored(engine, p_new.get("profile_run"), prev, run)
    hidden_since = _cited_now_sensitive(engine, int(prev.id or 0))
    records = []
    for user_id in sorted(set(new) | set(old)):
        now, before = new[user_id], old[user_id]
        gained, lost = sorted(now.keys() - before.keys()), sorted(before.keys() - now.keys())
        moved = [{"perk_id": p, "before": before[p], "after": now[p]}
                 for p in sorted(now.keys() & before.keys()) if now[p] != before[p]]
        if not gained and not lost and not moved:
            continue
        causes = []
        for perk_id in gained + lost + [m["perk_id"] for m in moved]:
            if perk_id in catalog:
                causes.append(f"catalog: {perk_id} {catalog[perk_id]}")
            if perk_id in lost and (user_id, perk_id) in withheld:  # what this run says of it (dates, quantity, ...)
                causes.append(f"{perk_id} withheld: {withheld[(user_id, perk_id)]}")
            if perk_id in gained and (user_id, perk_id) in withheld_before:  # its dates opened, a unit came free, ...
                causes.append(f"{perk_id} no longer withheld (match run {prev.id}: "
                              f"{withheld_before[(user_id, perk_id)]})")
        topics_moved = topics_new.get(user_id) != topics_old.get(user_id)
        if topics_moved:
            between = f"profile runs {p_old.get('profile_run')} and {p_new.get('profile_run')}"
            causes.append(f"user: topics changed between {between} (`topics USER --changes --since "
                          f"{p_old.get('profile_run')}` says why)"
                          if user_id in topics_old or user_id in profiled_old else "user: profiled for the first time")
        if lost and user_id in hidden_since:  # (named by no topic: the user has not opted in to it)
            causes.append(f"user: a topic their perks of match run {prev.id} came through is now marked sensitive "
                          "in the taxonomy, and they have not opted in to it")
        if moved and user_id in restored:  # a score is read from the posts' vectors as they are now
            causes.append(f"user: posts behind their topics were stored again (a new text or context) after match run "
                          f"{prev.id}, and were read as they are now")
        explained = topics_moved or user_id in restored or any(m["perk_id"] in catalog for m in moved)
        if moved and not explained and p_old.get("profile_run") != p_new.get("profile_run"):
            causes.append(f"user: the evidence posts behind their topics changed between profile runs "
                          f"{p_old.get('profile_run')} and {p_new.get('profile_run')}, not their topics' scores")
        elif moved and not explained:
            causes.append("the taxonomy, the model or perkmatch's rules changed (a score moved with all else the same)")
        causes += settings if gained or lost else []  # (limits and the offers' day move no score)
        records.append({"user_id": user_id, "gained": gained, "lost": lost, "moved": moved,
                        "causes": causes or ["competition: other users' changes moved scarce perks"]})
    return records


def _evidence_restored(engine: Engine, profile_run: int | None, prev: Run, run: Run) -> set[str]:
    """The users whose evidence posts in this profile run (any the run kept, its pool) were stored again between two
    match runs, after the profile run read them: a match reads their vectors as they are, so the second read them
    otherwise. A post stored before the profile run started (a new post it read, say) is the profile run's, not
    stored again: the score moved with the run (before, a user's new posts were said to be "stored again")."""
    if profile_run is None:
        return set()
    with session(engine) as s:
        read = s.get(Run, profile_run)
        since = max(prev.started_at, read.started_at) if read is not None else prev.started_at
        return set(s.exec(select(EvidencePost.user_id).join(Post, col(Post.id) == EvidencePost.post_pk)
                          .where(EvidencePost.run_id == profile_run)
                          .where(col(Post.updated_at) > since)
                          .where(col(Post.updated_at) <= run.started_at).distinct()).all())


def topic_changes(engine: Engine, user_id: str, since: int | None = None) -> dict[str, Any]:
    """What changed in a user's topics since the previous profile run (or since the finished profile run ``since``,
    any earlier snapshot), and why; each change names its topic. Topics of the earlier run that the taxonomy now
    marks sensitive, which the user has not opted in to, are neither shown nor named: they are counted
    (``now_sensitive``, when there are any), so that their going is not "no topic changed"."""
    run = require_profile(engine)
    names = known_names(engine, load_topics(engine))
    user = require_user(engine, user_id)
    require_profiled(engine, run, user)  # else "no topic changed" would be said of a user the run did not profile
    prev = previous_run(engine, int(run.id or 0)) if since is None else earlier_run(engine, since, run)
    every = {t["topic_id"]: t for t in topic_records(engine, int(run.id or 0), [user_id], candidates=True)[0]["topics"]}
    now = {k: t for k, t in every.items() if t["status"] == "inferred"}
    if prev is None:
        return {"user_id": user_id, "run_id": run.id, "previous_run_id": None, "changes": [
            {"topic_id": k, "name": names.get(k, k), "change": "new", "before": None, "after": t["score"],
             "why": "first profile run"} for k, t in now.items()]}
    before = {t["topic_id"]: t for t in topic_records(engine, int(prev.id or 0), [user_id])[0]["topics"]}
    if not before and not_profiled(engine, prev, user):
        deleted = _deleted_since(engine, user_id, prev)
        first = (f"profiled again in this run: what profile run {prev.id} found was deleted with their data on "
                 f"{deleted:%Y-%m-%d} (an opt-out or `perkmatch forget`)" if deleted
                 else f"first profiled in this run (they were not in profile run {prev.id})")
        return {"user_id": user_id, "run_id": run.id, "previous_run_id": prev.id, "changes": [
            {"topic_id": k, "name": names.get(k, k), "change": "new", "before": None, "after": t["score"],
             "why": first} for k, t in now.items()]}
    causes = _causes(engine, run, prev, user)
    changes = []
    for k in sorted(set(now) | set(before)):
        a, b = before.get(k), now.get(k)
        if a and b and abs(a["score"] - b["score"]) < 1e-9:
            continue
        change = "new" if a is None else "dropped" if b is None else "score"
        changes.append({"topic_id": k, "name": names.get(k, k), "change": change, "before": a and a["score"],
                        "after": b and b["score"], "why": _why(k, a, b or every.get(k), causes)})
    stored = topic_records(engine, int(prev.id or 0), [user_id], stored=True)[0]["topics"]
    hidden = len({t["topic_id"] for t in stored} - set(before))  # (only a sensitive topic is ever hidden)
    return {"user_id": user_id, "run_id": run.id, "previous_run_id": prev.id, "changes": changes,
            **({"now_sensitive": hidden} if hidden else {})}


def _deleted_since(engine: Engine, user_id: str, run: Run) -> dt.datetime | None:
    """When the user's data was last deleted (an opt-out or `forget`, kept by a salted hash of their id) after this
    run started: its rows of them went with it. Reads only (``kept_hash``)."""
    with session(engine) as s:
        hashed = kept_hash(s, user_id)
        return None if hashed is None else s.exec(
            select(func.max(ForgetAudit.forgotten_at)).where(ForgetAudit.user_hash == hashed)
            .where(col(ForgetAudit.forgotten_at) >= run.started_at)).one()


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


@dataclass(frozen=True)
class _Causes:
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


def _causes(engine: Engine, run: Run, prev: Run, user: User) -> _Causes:
    """The changes between two profile runs that can move a user's scores (``_why`` says which did, per topic)."""
    user_id = user.user_id
    with session(engine) as s:
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
        deleted = sum(n for _, n in post_deletions(s, user_id, prev.started_at, run.started_at))
        ids = (int(prev.id or 0), int(run.id or 0))
        digests = dict(s.exec(select(ProfiledUser.run_id, ProfiledUser.digest).where(ProfiledUser.user_id == user_id)
                              .where(col(ProfiledUser.run_id).in_(ids))).all())
    taxonomy = load_topics(engine)
    changed = record_changed(engine, user_id, prev.started_at, run.started_at)
    details = {rid: _details(engine, rid, user_id) for rid in ids}
    return _Causes(new_posts, deleted, reached, run.as_of - prev.as_of, _refitted(run, prev),
                   {rid: {t: int(d.get("copies", 0)) for t, d in details[rid].items()} for rid in ids}, copied, ids,
                   changed, digests.get(ids[0]) != digests.get(ids[1]),
                   tuple(next((d["usual_engagement"] for d in details[rid].values() if "usual_engagement" in d), None)
                         for rid in ids),  # type: ignore[arg-type]
                   {rid: _every_post(engine, rid, user_id, details[rid]) for rid in ids},
                   not_shown(taxonomy)(None), frozenset(t.topic_id for t in taxonomy)
                   if json.loads(run.params or "{}").get("taxonomy") == taxonomy_digest(taxonomy) else None)


def _span(seconds: int) -> str:
    """A time between two runs' dates, in the largest whole unit (before: "0 day(s)" for a few hours)."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}(s)"
    return f"{seconds} second(s)"


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


def _details(engine: Engine, run_id: int, user_id: str) -> dict[str, dict[str, Any]]:
    """The details of each topic of the user in this run: among them its posts that copy another user's earlier post
    (``copies``, ``post_signals.copies``), and the user's usual engagement (the same in each)."""
    with session(engine) as s:
        rows = s.exec(select(TopicScore.topic_id, TopicScore.details).where(TopicScore.run_id == run_id)
                      .where(TopicScore.user_id == user_id)).all()
    return {topic_id: json.loads(details or "{}") for topic_id, details in rows}


def _why(topic_id: str, a: dict[str, Any] | None, b: dict[str, Any] | None, c: _Causes) -> str:
    """Why a topic's score moved between two runs (``a``: its record in the earlier, ``b``: in the later, candidates
    included), in words."""
    reasons = []
    if b is None and c.topic_ids is not None and topic_id not in c.topic_ids:
        reasons.append("the topic is no longer in the taxonomy (it was replaced after the previous run)")
    if c.refitted:
        reasons.append(c.refitted)
    sensitive_new = a is None and b and b.get("status") == "inferred" and topic_id in c.sensitive and c.record_changed
    if sensitive_new:
        reasons.append("a sensitive topic, inferred only with the user's opt-in: their users record (which holds "
                       "their opt-ins) changed after the previous run")
    copies = (c.copies[c.runs[0]].get(topic_id), c.copies[c.runs[1]].get(topic_id))
    copies_moved = None not in copies and copies[0] != copies[1]
    if copies_moved:
        reasons.append(f"posts on the topic that copy another user's earlier post word for word (they count as "
                       f"reshares) {copies[0]} -> {copies[1]}: another user's post of the same text, written earlier, "
                       "was added or deleted")
    elif c.copied and c.inputs_changed:  # a topic new to the user, or gone (no count of its own in one of the runs),
        # or one whose count did not move: a copy on another topic moves the user's usual engagement, which this one's
        # is measured against (and their inputs, which hold each post's copy flag, changed: not a re-stored original)
        reasons.append(f"{c.copied} of the user's posts, on any topic, turned out to copy another user's earlier post "
                       "word for word (it was stored after the previous run): they count as reshares")
    # (an earlier --as-of leaves posts out: their inputs changed too)
    posts_moved = c.new_posts or c.deleted or c.reached or c.copied or c.elapsed < 0 or copies_moved
    if c.new_posts:
        reasons.append(f"{c.new_posts} new or updated post(s) of the user's, on any topic (new posts, or posts "
                       "stored again with a new text, context or engagement)")
    if c.deleted:
        reasons.append(f"{c.deleted} post(s) of the user's, on any topic, deleted at their request after the previous "
                       "run (`perkmatch forget USER --post`)")
    if c.reached:
        reasons.append(f"{c.reached} post(s) of the user's, on any topic, written after the previous run's date and "
                       "by this one's, now count")
    if c.record_changed and c.inputs_changed and not sensitive_new:  # (same inputs: not their opt-ins, then)
        reasons.append(_record_reason(bool(posts_moved)))
    reasons += _moved(a, b, c.usual, (c.kept[c.runs[0]].get(topic_id), c.kept[c.runs[1]].get(topic_id)))
    if b and b.get("status") == "candidate" and b.get("shortfalls"):  # dropped: what it now falls short of
        reasons.append("now short of: " + "; ".join(b["shortfalls"]))
    if c.elapsed > 0:  # with new posts too: every post is older against the later date
        reasons.append(f"time passing: {_span(c.elapsed)} since the previous run lowers the recency weight")
    if c.elapsed < 0:
        reasons.append(f"this run is as of {_span(-c.elapsed)} before the previous one (--as-of): posts written "
                       "after its date are left out")
    return "; ".join(reasons) or "the taxonomy or the settings changed"


def _record_reason(posts_moved: bool) -> str:
    """The user's record and their inputs changed between the runs: their sensitive-topic opt-ins did when none of
    their posts did (a digest reads only the two), else they may have."""
    why = ("a sensitive topic counts only with an opt-in: opting in or out changes which posts count for the topics "
           "above it, and which topic is the user's strongest, the one side interests are measured against")
    if not posts_moved:
        return f"the user's sensitive-topic opt-ins changed after the previous run ({why})"
    return (f"the user's record also changed after the previous run (of what it holds, only sensitive-topic opt-ins "
            f"move topics: {why}; a change of region or handle moves none)")


def _moved(a: dict[str, Any] | None, b: dict[str, Any] | None, usual: tuple[float | None, float | None] = (None, None),
           kept: tuple[set[int] | None, set[int] | None] = (None, None)) -> list[str]:
    """How a topic's own numbers moved between two runs: its posts, their engagement, the user's usual (``usual``:
    in the earlier run and the later; ``kept``: every post of the topic each run kept, ``_every_post``)."""
    if not (a and b):
        return []
    out = [f"posts on the topic {a['posts']} -> {b['posts']}"] if a["posts"] != b["posts"] else []
    if a["engagement"] != b["engagement"]:
        out.append(f"engagement {a['engagement']:g} -> {b['engagement']:g}" + _same_posts(a, b, kept))
    elif a["engagement_vs_usual"] != b["engagement_vs_usual"]:  # the same reactions, weighed otherwise
        went = f"×{a['engagement_vs_usual']:.2f} -> ×{b['engagement_vs_usual']:.2f}"
        if None not in usual and usual[0] != usual[1]:
            out.append(f"the user's usual engagement moved ({usual[0]:g} -> {usual[1]:g} a post: their posts "
                       f"elsewhere), so this topic's against it went {went}")
        else:  # a refit, or posts read otherwise: each post counts for the topic in another share
            out.append(f"its posts count for it in other shares, so their engagement against the user's usual went "
                       f"{went}")
    return out


def _same_posts(a: dict[str, Any], b: dict[str, Any], kept: tuple[set[int] | None, set[int] | None]) -> str:
    """Said of engagement that moved with the same number of posts over the same dates: whether on the very posts the
    topic counted before. Known when each run kept every post of the topic (``kept``, ``_every_post``); else it may be
    either (new reactions can also move a post into a longer list's strongest)."""
    if a["posts"] != b["posts"] or (a["first"], a["last"]) != (b["first"], b["last"]):
        return ""
    before, after = kept
    if before is None or after is None:
        return (" with the same number of posts over the same dates (new likes, replies or shares on them, or a post "
                "swapped for another)")
    if before != after:
        return (f" with the same number of posts over the same dates, but not the same posts ({len(before - after)} "
                f"left, {len(after - before)} joined)")
    return " on the same posts (new likes, replies or shares on posts it already counted)"
