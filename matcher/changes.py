"""What changed between runs, and why: a user's topics between the last two profile runs (``topic_changes``), and
each user's assignments between two match runs (``assignment_changes``, ``matcher.match_changes``).

A topic's score moves only for a stated reason: new or updated posts the later run read, posts a later ``--as-of``
reaches, engagement on the same posts, the user's usual engagement, time passing, a refit of the topic vectors or
new rules, an opt-in, a topic gone from the taxonomy, or another user's earlier post of the same text. The facts are
read by ``matcher.change_causes``, and put in words by ``matcher.change_reasons``.
"""

from typing import Any

from sqlalchemy import Engine

from matcher.change_causes import deleted_since, earlier_run, read_causes
from matcher.change_reasons import why_moved
from matcher.match_changes import assignment_changes
from matcher.profile_run import previous_run
from matcher.taxonomy import known_names, load_topics
from matcher.topic_records import (
    not_profiled,
    require_profile,
    require_profiled,
    require_user,
    topic_records,
)

__all__ = ["assignment_changes", "earlier_run", "topic_changes"]


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
            {"topic_id": k, "name": names[k], "change": "new", "before": None, "after": t["score"],
             "why": "first profile run"} for k, t in now.items()]}
    before = {t["topic_id"]: t for t in topic_records(engine, int(prev.id or 0), [user_id])[0]["topics"]}
    if not before and not_profiled(engine, prev, user):
        deleted = deleted_since(engine, user_id, prev)
        first = (f"profiled again in this run: what profile run {prev.id} found was deleted with their data on "
                 f"{deleted:%Y-%m-%d} (an opt-out or `perkmatch forget`)" if deleted
                 else f"first profiled in this run (they were not in profile run {prev.id})")
        return {"user_id": user_id, "run_id": run.id, "previous_run_id": prev.id, "changes": [
            {"topic_id": k, "name": names[k], "change": "new", "before": None, "after": t["score"],
             "why": first} for k, t in now.items()]}
    causes = read_causes(engine, run, prev, user)
    changes = []
    for k in sorted(set(now) | set(before)):
        a, b = before.get(k), now.get(k)
        if a and b and abs(a["score"] - b["score"]) < 1e-9:
            continue
        change = "new" if a is None else "dropped" if b is None else "score"
        changes.append({"topic_id": k, "name": names[k], "change": change, "before": a and a["score"],
                        "after": b and b["score"], "why": why_moved(k, a, b or every.get(k), causes)})
    stored = topic_records(engine, int(prev.id or 0), [user_id], stored=True)[0]["topics"]
    hidden = len({t["topic_id"] for t in stored} - set(before))  # (only a sensitive topic is ever hidden)
    return {"user_id": user_id, "run_id": run.id, "previous_run_id": prev.id, "changes": changes,
            **({"now_sensitive": hidden} if hidden else {})}
