"""Pruning old runs (`perkmatch prune`): every profile and match run is kept as a snapshot, and at scale each adds to
the database for ever (at 40,000 users about 0.23 GB a profile run, every user's topics and evidence, and 0.09 GB a
match run). Pruning deletes the rows of finished runs older than the newest ``keep`` of each kind, and the runs
themselves, but never a run still in use: the profile run a kept match run read, the run whose topic fit a kept
profile run reuses, and any run not finished (`status` names those; the next profile run resumes or drops them).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, func
from sqlmodel import col, select

from matcher.errors import WrongArgumentError
from matcher.locks import hold_forget_lock
from matcher.store import (
    PROFILE_ROWS,
    Assignment,
    Run,
    TopicVector,
    Withheld,
    require_engine,
    session,
)

ROWS = {"profile": (*PROFILE_ROWS, TopicVector), "match": (Assignment, Withheld)}


@dataclass(frozen=True)
class PruneReport:
    """The runs kept and pruned (ids, newest first), and the rows deleted (or, in a dry run, that would be) by table."""

    kept: dict[str, list[int]]
    pruned: dict[str, list[int]]
    rows: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    sqlite: bool = True  # where freed space is reused at once (PostgreSQL: after VACUUM)


def prune_runs(engine: Engine, keep: int = 2, dry_run: bool = False) -> PruneReport:
    """Delete the finished profile and match runs older than the newest ``keep`` of each kind (and interrupted ones,
    whose rows a later run deleted already), with their rows, but those a kept run still reads; one transaction, under
    the `forget` lock (so no match writes meanwhile). ``dry_run``: count, delete nothing."""
    require_engine(engine, "prune_runs")
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise WrongArgumentError(f"prune_runs: keep takes a whole number of runs, 1 or more (given {keep!r}): the "
                                 "newest run of each kind is what every command reads")
    with session(engine) as s:
        hold_forget_lock(s.connection())
        runs = [(int(i or 0), kind, status, params) for i, kind, status, params in s.exec(
            select(Run.id, Run.kind, Run.status, Run.params).order_by(col(Run.id).desc())).all()]
        kept = _kept(runs, keep)
        pruned = {kind: [i for i, k, status, _ in runs if k == kind and status in ("finished", "interrupted")
                         and i not in kept[kind]] for kind in ROWS}
        rows: dict[str, int] = {}
        for kind, tables in ROWS.items():
            for table in tables:
                where = col(table.run_id).in_(pruned[kind])
                rows[str(table.__tablename__)] = int(s.exec(select(func.count()).select_from(table).where(where)).one())
                if not dry_run and pruned[kind]:
                    s.execute(delete(table).where(where))
        rows["runs"] = sum(len(ids) for ids in pruned.values())
        if not dry_run:
            s.execute(delete(Run).where(col(Run.id).in_([i for ids in pruned.values() for i in ids])))
            s.commit()
    return PruneReport({k: sorted(v, reverse=True) for k, v in kept.items()}, pruned, rows, dry_run,
                       engine.dialect.name == "sqlite")


def _kept(runs: Sequence[tuple[int, str, str, str | None]], keep: int) -> dict[str, set[int]]:
    """The runs pruning leaves: the newest ``keep`` finished runs of each kind, any run not finished, the profile run
    each kept match run read (``profile_run``), and the run whose topic fit a kept profile run reads
    (``topic_vectors.run``)."""
    kept: dict[str, set[int]] = {kind: set() for kind in ROWS}
    for kind in ROWS:
        finished = [i for i, k, status, _ in runs if k == kind and status == "finished"]
        kept[kind] |= set(finished[:keep])
        kept[kind] |= {i for i, k, status, _ in runs if k == kind and status not in ("finished", "interrupted")}
    params = {i: json.loads(p or "{}") for i, _, _, p in runs}
    for match_id in kept["match"]:
        if params[match_id].get("profile_run") is not None:
            kept["profile"].add(int(params[match_id]["profile_run"]))
    for profile_id in list(kept["profile"]):
        fit = (params.get(profile_id) or {}).get("topic_vectors") or {}
        if fit.get("run") is not None:
            kept["profile"].add(int(fit["run"]))
    return kept
