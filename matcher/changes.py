"""What changed between two match runs, per user, and whether the catalog or the user caused it.

Causes, checked in this order for each perk a user gained or lost:
  catalog: the perk was added, changed or retired between the two catalog versions; and, for a perk lost, why this
  run withheld it from the user (its offer dates, its region, its quantity, a limit), when it did; for a perk gained,
  why the previous run withheld it, when it did;
  settings: the limits per user and per brand, or the day offer dates were checked on, differ between the runs;
  user: the user's topics changed between the profile runs behind the two match runs (new posts, new engagement,
  time passing, a refit, another user forgotten: `topics USER --changes` says which), or they were profiled for the
  first time.
"""

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from catalog.refresh import version_diff
from matcher.store import Assignment, Run, TopicScore, Withheld, session


def _runs(engine: Engine, run_id: int) -> tuple[Run | None, Run | None]:
    with session(engine) as s:
        run = s.get(Run, run_id)
        prev = s.exec(select(Run).where(Run.kind == "match").where(Run.status == "finished")
                      .where(col(Run.id) < run_id).order_by(col(Run.id).desc())).first()
    return run, prev


def _assigned(engine: Engine, run_id: int) -> dict[str, set[str]]:
    with session(engine) as s:
        rows = s.exec(select(Assignment.user_id, Assignment.perk_id).where(Assignment.run_id == run_id)).all()
    out: dict[str, set[str]] = defaultdict(set)
    for user_id, perk_id in rows:
        out[user_id].add(perk_id)
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


def _withheld(engine: Engine, run_id: int) -> dict[tuple[str, str], str]:
    """Why a match run withheld each (user, perk) it kept a reason for."""
    with session(engine) as s:
        return {(u, p): reason for u, p, reason in s.exec(
            select(Withheld.user_id, Withheld.perk_id, Withheld.reason).where(Withheld.run_id == run_id)).all()}


def _settings(p_old: dict[str, Any], p_new: dict[str, Any], old_day: int, new_day: int) -> list[str]:
    """The match settings that differ between two runs: the limits per user and per brand, and the day offer dates
    were checked on (``match --as-of``)."""
    out = [f"settings: --{key.replace('_', '-')} {p_old[key]} -> {p_new[key]}" for key in ("per_user", "per_brand")
           if key in p_old and key in p_new and p_old[key] != p_new[key]]
    if old_day != new_day:
        out.append(f"settings: offer dates checked as of {_day(old_day)} -> {_day(new_day)}")
    return out


def _day(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def assignment_changes(engine: Engine, run_id: int) -> list[dict[str, Any]]:
    """One record per user whose assignments differ from the previous match run, with causes."""
    run, prev = _runs(engine, run_id)
    if run is None or prev is None:
        return []
    p_new, p_old = json.loads(run.params), json.loads(prev.params)
    catalog = _catalog_changes(engine, p_old["catalog_version"], p_new["catalog_version"])
    topics_new = _topic_signature(engine, p_new.get("profile_run"))
    topics_old = _topic_signature(engine, p_old.get("profile_run"))
    withheld, withheld_before = _withheld(engine, run_id), _withheld(engine, int(prev.id or 0))
    settings = _settings(p_old, p_new, prev.as_of, run.as_of)
    new, old = _assigned(engine, run_id), _assigned(engine, int(prev.id or 0))
    records = []
    for user_id in sorted(set(new) | set(old)):
        gained, lost = sorted(new[user_id] - old[user_id]), sorted(old[user_id] - new[user_id])
        if not gained and not lost:
            continue
        causes = []
        for perk_id in gained + lost:
            if perk_id in catalog:
                causes.append(f"catalog: {perk_id} {catalog[perk_id]}")
            if perk_id in lost and (user_id, perk_id) in withheld:  # what this run says of it (dates, quantity, ...)
                causes.append(f"{perk_id} withheld: {withheld[(user_id, perk_id)]}")
            if perk_id in gained and (user_id, perk_id) in withheld_before:  # its dates opened, a unit came free, ...
                causes.append(f"{perk_id} no longer withheld (match run {prev.id}: "
                              f"{withheld_before[(user_id, perk_id)]})")
        if topics_new.get(user_id) != topics_old.get(user_id):
            between = f"profile runs {p_old.get('profile_run')} and {p_new.get('profile_run')}"
            causes.append(f"user: topics changed between {between} (`topics USER --changes` says why)"
                          if user_id in topics_old else "user: profiled for the first time")
        causes += settings
        records.append({"user_id": user_id, "gained": gained, "lost": lost,
                        "causes": causes or ["competition: other users' changes moved scarce perks"]})
    return records
