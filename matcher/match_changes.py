"""What changed in each user's assignments between two match runs (``assignment_changes``), and why.

For each perk a user gained or lost, or kept with another score, causes are checked in this order:
  catalog: the perk was added, changed or retired between the two catalog versions; and, for a perk lost, why this
  run withheld it from the user (its offer dates, its region, its quantity, a limit), when it did; for a perk gained,
  why the previous run withheld it, when it did;
  settings: the limits per user and per brand, or the day offer dates were checked on, differ between the runs;
  user: the user's topics changed between the profile runs behind the two match runs (new posts, new engagement,
  time passing, a refit, another user forgotten: `topics USER --changes --since RUN` says which), or they were
  profiled for the first time; for a score alone, posts behind their topics stored again since the last match, or
  the evidence posts of another profile run.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from catalog.refresh import version_diff
from matcher.change_causes import earlier_run
from matcher.records import as_of_text, utc_day
from matcher.store import (
    Assignment,
    EvidencePost,
    Post,
    ProfiledUser,
    Run,
    TopicScore,
    Withheld,
    batches,
    cited_topics,
    session,
)
from matcher.taxonomy import load_topics
from matcher.topic_records import user_opt_ins
from matcher.topic_tree import not_shown


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


def _topic_signature(engine: Engine, profile_run: int | None, users: set[str]) -> dict[str, list[tuple[str, float]]]:
    """These users' inferred topics and scores in a profile run."""
    if profile_run is None:
        return {}
    out: dict[str, list[tuple[str, float]]] = defaultdict(list)
    with session(engine) as s:
        for part in batches(sorted(users)):
            for user_id, topic_id, score in s.exec(
                    select(TopicScore.user_id, TopicScore.topic_id, TopicScore.score)
                    .where(TopicScore.run_id == profile_run).where(TopicScore.status == "inferred")
                    .where(col(TopicScore.user_id).in_(part))).all():
                out[user_id].append((topic_id, score))
    return {u: sorted(v) for u, v in out.items()}


def _profiled(engine: Engine, profile_run: int | None) -> set[str]:
    """The users a profile run profiled, with topics or without."""
    if profile_run is None:
        return set()
    with session(engine) as s:
        return set(s.exec(select(ProfiledUser.user_id).where(ProfiledUser.run_id == profile_run)).all())


def _withheld(engine: Engine, run_id: int, users: set[str]) -> dict[tuple[str, str], str]:
    """Why a match run withheld each (user, perk) it kept a reason for, of these users. Every user's, read whatever
    changed, took 0.75 GB at 40,000 users (0.95 million rows a run, two runs), the peak of `match`."""
    out: dict[tuple[str, str], str] = {}
    with session(engine) as s:
        for part in batches(sorted(users)):
            out.update(((u, p), reason) for u, p, reason in s.exec(
                select(Withheld.user_id, Withheld.perk_id, Withheld.reason).where(Withheld.run_id == run_id)
                .where(col(Withheld.user_id).in_(part))).all())
    return out


def _cited_now_sensitive(engine: Engine, run_id: int) -> set[str]:
    """The users whose assignments in this match run cite a topic not shown to them now (``topic_tree.not_shown``: the
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
    new, old = _assigned(engine, run_id), _assigned(engine, int(prev.id or 0))
    changed = []
    for user_id in sorted(set(new) | set(old)):
        now, before = new[user_id], old[user_id]
        gained, lost = sorted(now.keys() - before.keys()), sorted(before.keys() - now.keys())
        moved = [{"perk_id": p, "before": before[p], "after": now[p]}
                 for p in sorted(now.keys() & before.keys()) if now[p] != before[p]]
        if gained or lost or moved:
            changed.append((user_id, gained, lost, moved))
    if not changed:
        return []
    between = _between(engine, run, prev, {user_id for user_id, *_ in changed})
    records = []
    for user_id, gained, lost, moved in changed:
        causes = between.causes(user_id, gained, lost, moved)
        records.append({"user_id": user_id, "gained": gained, "lost": lost, "moved": moved,
                        "causes": causes or ["competition: other users' changes moved scarce perks"]})
    return records


@dataclass(frozen=True)
class _Between:
    """What differs between two match runs, read once for every user: their catalogs, their profile runs' topics,
    what each withheld, their settings, posts stored again, topics marked sensitive since."""

    prev: Run
    p_old: dict[str, Any]
    p_new: dict[str, Any]
    catalog: dict[str, str]
    topics_new: dict[str, list[tuple[str, float]]]
    topics_old: dict[str, list[tuple[str, float]]]
    profiled_old: set[str]
    withheld: dict[tuple[str, str], str]
    withheld_before: dict[tuple[str, str], str]
    settings: list[str]
    restored: set[str]
    hidden_since: set[str]

    def causes(self, user_id: str, gained: list[str], lost: list[str], moved: list[dict[str, Any]]) -> list[str]:
        """Why the user's assignments differ: each perk's causes, then the user's, then the settings."""
        causes = self._perk_causes(user_id, gained, lost, [m["perk_id"] for m in moved])
        p_old, p_new, prev = self.p_old, self.p_new, self.prev
        topics_moved = self.topics_new.get(user_id) != self.topics_old.get(user_id)
        if topics_moved:
            between = f"profile runs {p_old.get('profile_run')} and {p_new.get('profile_run')}"
            causes.append(f"user: topics changed between {between} (`topics USER --changes --since "
                          f"{p_old.get('profile_run')}` says why)"
                          if user_id in self.topics_old or user_id in self.profiled_old
                          else "user: profiled for the first time")
        if lost and user_id in self.hidden_since:  # (named by no topic: the user has not opted in to it)
            causes.append(f"user: a topic their perks of match run {prev.id} came through is now marked sensitive "
                          "in the taxonomy, and they have not opted in to it")
        if moved and user_id in self.restored:  # a score is read from the posts' vectors as they are now
            causes.append(f"user: posts behind their topics were stored again (a new text or context) after match run "
                          f"{prev.id}, and were read as they are now")
        explained = topics_moved or user_id in self.restored or any(m["perk_id"] in self.catalog for m in moved)
        if moved and not explained and p_old.get("profile_run") != p_new.get("profile_run"):
            causes.append(f"user: the evidence posts behind their topics changed between profile runs "
                          f"{p_old.get('profile_run')} and {p_new.get('profile_run')}, not their topics' scores")
        elif moved and not explained:
            causes.append("the taxonomy, the model or perkmatch's rules changed (a score moved with all else the same)")
        return causes + (self.settings if gained or lost else [])  # (limits and the offers' day move no score)

    def _perk_causes(self, user_id: str, gained: list[str], lost: list[str], moved: list[str]) -> list[str]:
        """Each perk's own causes: the catalog changed it, this run withheld it, the previous one did."""
        causes = []
        for perk_id in gained + lost + moved:
            if perk_id in self.catalog:
                causes.append(f"catalog: {perk_id} {self.catalog[perk_id]}")
            if perk_id in lost and (user_id, perk_id) in self.withheld:  # what this run says of it (dates, ...)
                causes.append(f"{perk_id} withheld: {self.withheld[(user_id, perk_id)]}")
            if perk_id in gained and (user_id, perk_id) in self.withheld_before:  # its dates opened, a unit came free
                causes.append(f"{perk_id} no longer withheld (match run {self.prev.id}: "
                              f"{self.withheld_before[(user_id, perk_id)]})")
        return causes


def _between(engine: Engine, run: Run, prev: Run, users: set[str]) -> _Between:
    """What differs between the two runs, read for these users (those whose assignments changed) where it is read
    by user."""
    p_new, p_old = json.loads(run.params), json.loads(prev.params)
    return _Between(
        prev, p_old, p_new, _catalog_changes(engine, p_old["catalog_version"], p_new["catalog_version"]),
        _topic_signature(engine, p_new.get("profile_run"), users),
        _topic_signature(engine, p_old.get("profile_run"), users),
        _profiled(engine, p_old.get("profile_run")),  # with topics or without
        _withheld(engine, int(run.id or 0), users), _withheld(engine, int(prev.id or 0), users),
        _settings(p_old, p_new, prev.as_of, run.as_of), _evidence_restored(engine, p_new.get("profile_run"), prev, run),
        _cited_now_sensitive(engine, int(prev.id or 0)))


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
