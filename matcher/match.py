"""The `match` stage: find candidate perks for each user's inferred topics, check eligibility, assign.

How well a perk fits a topic is judged twice: its **relevance** to the topic (``matcher.perk_space``: the catalog
placed in the taxonomy), and its closeness to the user's own posts. For each inferred topic the candidates are the
perks the catalog's FAISS index finds nearest to
the query vector (the topic's vector blended with the centroid of the user's evidence posts), plus the
topic's ``topic_perks`` most relevant perks. A candidate's

    fit   = relevance + evidence_weight × cosine(query, perk)  (+ target_boost when the perk's ``topics``
                                                                  name the topic or one above; for a topic
                                                                  named itself, relevance counts as at least
                                                                  ``min_relevance``)
    score = fit × (0.5 + 0.5 × strength),   strength = confidence × topic score / user's best topic score

Candidates under ``min_relevance`` are dropped, and so is a perk for a topic outside its ``perk_topics`` most
relevant ones, unless the catalog targets that topic or one above it. A topic the catalog names for the perk itself
admits it whatever its relevance, and its perks are always among its candidates: the brand's word stands (before, a
beer kit aimed at Alcoholic Beverages but worded like a household product reached no one, and nothing said why).
Naming a parent admits the perk through the children it is about, not every child.
Ineligible candidates (a perk about a sensitive topic the user does not opt in to, region, offer window) are
recorded with the reason; the rest go to the exact assignment. Finding the candidates is ``matcher.perk_candidates``;
this module reads the catalog, assigns (``matcher.assign``) and writes the run.
"""

import datetime as dt
import gc
import itertools
import json
import numbers
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, event, insert
from sqlmodel import Session

from catalog.refresh import live_perks, live_version
from catalog.schema import PerkRecord
from matcher import perk_candidates
from matcher.assign import Candidate
from matcher.eligible import dropped_out
from matcher.embed import EmbeddingCache, held, require_cache
from matcher.engine_local import Progress
from matcher.errors import NotReadyError, WrongArgumentError
from matcher.locks import hold_forget_lock
from matcher.lost import lost_reasons
from matcher.match_table import Excluded, Found
from matcher.perk_candidates import HIT, Worked, again_bar, perk_evidence, topic_queries, work_out
from matcher.perk_space import MatchParams, PerkSpace, perk_topic_space
from matcher.preview import open_preview
from matcher.profile_run import latest_run
from matcher.records import require_as_of, utc_day
from matcher.store import Assignment, Run, Withheld, require_engine, session, utcnow
from matcher.taxonomy import load_topics, not_shown

WITHHELD_ROWS = 20_000  # perks withheld written in one statement
__all__ = ["MatchSummary", "lost_reasons", "perk_evidence", "run_match", "topic_queries"]  # (the last three:
# ``lost``'s and ``perk_candidates``')


@dataclass(frozen=True)
class MatchSummary:
    run_id: int
    users: int
    assignments: int
    catalog_version: int
    as_of: int  # offer dates were checked against this time's day (the profile run's as-of, or match --as-of)
    preview: Any = None  # a dry run's reading of the run it did not keep (``run_match``'s ``read_back``)
    staged: Any = None  # what a dry run's ``stage`` returned
    perks: int = 0  # the live perks of the catalog version it matched against


def require_profile_encoder(profile: Run, cache: EmbeddingCache) -> None:
    """Refuse to read a profile run with another encoder than the one it was made with: matching reads the users'
    post vectors and the topic space under the encoder's name, and another's would leave every post unread and place
    perks in another space, quietly (vectors of two encoders are never mixed)."""
    made = json.loads(profile.stats or "{}").get("model")
    if made and made != cache.name:
        from matcher.backends import encoder_option

        raise NotReadyError(f"profile run {profile.id} was made with the encoder {made}, and this command's is "
                            f"{cache.name}: give it {encoder_option(made)} as the profile run was given, or run "
                            "`perkmatch profile` with this one first")


def _require_limits(per_user: object, per_brand: object) -> None:
    """Refuse a per-user or per-brand limit that is not a whole number of 0 or more (0: nobody gets a perk), naming
    it: before, a negative one gave no assignment and said nothing, 2.5 ran, and a str failed deep in the assignment."""
    for name, value in (("per_user", per_user), ("per_brand", per_brand)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:  # NumPy's ints too
            raise WrongArgumentError(f"run_match: {name} takes a whole number of perks, 0 or more (given "
                                     f"{type(value).__name__} {value!r})")


def run_match(engine: Engine, cache: EmbeddingCache, *, per_user: int = 3, per_brand: int = 1,
              as_of: int | None = None, params: MatchParams = MatchParams(),
              progress: Progress | None = None, read_back: Callable[[Session, int], Any] | None = None,
              stage: Callable[[Session], Any] | None = None) -> MatchSummary:
    """Assign perks to every profiled user and keep the result as a match run (``progress``: the users whose
    candidates are found, then the assignment, solved at once, and its writing).

    With ``read_back``, a dry run: nothing is kept. The run is written as always, in one transaction,
    ``read_back(session, run_id)`` reads it through that session (the records `match` prints, what changed since the
    last match), and the transaction is rolled back (a commit meanwhile is an error). Its result is the summary's
    ``preview``; the run id is then no run's. A text it embeds (a topic's reworded since the profile run) is held in
    memory, not stored (``embed.HeldCache``): the database is left as it was. ``stage``, in a dry run only:
    ``stage(session)`` writes changes of its own into that transaction before the catalog is read (a catalog version:
    `match --dry-run --catalog FILE`), rolled back with the run; its result is the summary's ``staged``."""
    _require_arguments(engine, cache, as_of, per_user, per_brand, stage, read_back)
    cache = cache if read_back is None else held(cache)
    started = utcnow()  # before the users' records are read: one changed after this calls for another match
    profile = _profile(engine, cache)
    topics = load_topics(engine)
    # the topics' texts embedded first (when not cached yet): what ``stage`` writes holds SQLite's write lock until
    # the rollback, and the cache writes through a connection of its own
    space = perk_topic_space(topics, cache)
    with _staging(engine, stage) as (store, staged):
        version, perks = _catalog(store)
        as_of = profile.as_of if as_of is None else as_of
        today = utc_day(as_of)
        ps = PerkSpace(perks, topics, cache, params, space)
        policy = json.loads(profile.params or "{}").get("policy", "opt-in")

        def work(users: set[str] | None = None) -> Worked:
            return work_out(engine, cache, int(profile.id or 0), ps, today, params, again_bar(progress, users), users)

        again = _again(policy, ps, work)
        with _no_cycle_collection():
            worked = work()
            chosen = _assign(worked, per_user, per_brand, progress)
            summary = _save(store, worked, chosen, again, version, profile, as_of, (per_user, per_brand), params,
                            started, read_back)
    if progress:
        progress("assign, write", 1, 2)
    return replace(summary, staged=staged, perks=len(perks))


@contextmanager
def _staging(engine: Engine, stage: Callable[[Session], Any] | None) -> Iterator[tuple[Engine | Session, Any]]:
    """Where ``run_match`` reads the catalog and writes its run, and ``stage``'s result: the engine, and None; with
    ``stage`` (a dry run's), a session holding what ``stage(session)`` wrote, rolled back with the run."""
    if stage is None:
        yield engine, None
        return
    with session(engine) as staging:
        yield staging, stage(staging)


def _assign(worked: Worked, per_user: int, per_brand: int, progress: Progress | None) -> list[Candidate]:
    """The assignment of ``worked`` (``match_table.Found.assign``), solved at once: the first of the two steps of
    "assign, write" (``progress``)."""
    if progress:
        progress("assign, write", 0, 2)
    chosen = worked.found.assign(per_user, per_brand)
    if progress:
        progress("assign, write", 1, 2)
    return chosen


def _again(policy: str, ps: PerkSpace, work: Callable[[set[str]], Worked]
           ) -> Callable[[Connection, Worked, list[Candidate]], Worked]:
    """What ``_save`` calls as it writes the run: ``again(conn, worked, chosen)`` is ``worked`` as a match started now
    works it out: the users who dropped out since it read them (``eligible.dropped_out``: forgotten, opted out, a
    sensitive opt-in withdrawn), and those whose ``chosen`` perks cite a post of theirs deleted since
    (``perk_candidates.citing_gone``), read and worked out again (``work``)."""
    def again(conn: Connection, worked: Worked, chosen: list[Candidate]) -> Worked:
        changed = dropped_out(conn, worked.opt_ins, policy, not_shown(ps.topics))
        changed |= perk_candidates.citing_gone(conn, chosen, worked.found)
        return worked.redone(changed, work(changed)) if changed else worked

    return again


def _require_arguments(engine: Engine, cache: EmbeddingCache, as_of: int | None, per_user: int, per_brand: int,
                       stage: Callable[[Session], Any] | None, read_back: Callable[[Session, int], Any] | None) -> None:
    """``run_match``'s arguments checked, each refused naming the fix."""
    if stage is not None and read_back is None:
        raise ValueError("run_match: `stage` is for a dry run only (the run's commit would keep what it wrote)")
    require_engine(engine, "run_match")
    require_cache(cache, "run_match")
    require_as_of(as_of, "run_match")
    _require_limits(per_user, per_brand)


def _profile(engine: Engine, cache: EmbeddingCache) -> Run:
    """The latest profile run, which the match reads (made with this encoder)."""
    profile = latest_run(engine, "profile")
    if profile is None:
        raise NotReadyError("no profile yet; run `perkmatch profile` first")
    require_profile_encoder(profile, cache)
    return profile


def _catalog(store: Engine | Session) -> tuple[int, list[PerkRecord]]:
    """The live catalog version and its perks (that version's, even if a refresh lands between the two reads)."""
    with session(store) as s:
        version = live_version(s)
        perks = live_perks(s, version)
    if version is None:
        raise NotReadyError("no catalog yet; run `perkmatch catalog refresh FILE` first")
    return version, perks


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while a match finds its candidates, assigns and writes them. Since candidates are
    held as arrays (``matcher.match_table``), a match keeps few objects (about 37,000 more at 800 users, once its
    candidates are found); but reading the users' rows and evidence posts makes and drops many small containers, none
    in a cycle, and their allocations set the collector off again and again: about 400 collections at 800 users, two
    of them full (walking every object of the modules loaded too), 0.1-0.15 s of the match's 3.4 s of CPU, at the
    same peak memory (``scripts/bench.py --posts 20000 --encoder fake``, 2026-12-07). On again after, whatever
    happens."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _save(engine: Engine | Session, worked: Worked, chosen: list[Candidate],
          again: Callable[[Connection, Worked, list[Candidate]], Worked], version: int, profile: Run, as_of: int,
          limits: tuple[int, int], params: MatchParams, started: dt.datetime,
          read_back: Callable[[Session, int], Any] | None) -> MatchSummary:
    """Write the run (``chosen``: the assignment of ``worked``), in one transaction that first takes the `forget` lock
    (``locks.hold_forget_lock``). A user who dropped out while the match computed (forgotten, opted out, a sensitive
    opt-in withdrawn) is worked out again (``again``), and the assignment solved again, so the units they held go to
    whom a match started now gives them; one who drops out once the lock is held waits for the commit, and their
    deletion then deletes their rows. Before, the run was written, then their rows deleted, and their units went to
    nobody."""
    per_user, per_brand = limits
    with session(engine) as s:
        if read_back is None:
            hold_forget_lock(s.connection())
        else:  # (on a database that cannot be written, into copies of its tables: ``preview``)
            open_preview(s)
        redone = again(s.connection(), worked, chosen)
        while redone is not worked:  # (rare: the lock is held meanwhile, so solved again only then, and it settles)
            worked, chosen = redone, redone.found.assign(per_user, per_brand)
            redone = again(s.connection(), worked, chosen)
        run = Run(kind="match", as_of=as_of, started_at=started, params=json.dumps(
            {"per_user": per_user, "per_brand": per_brand, "catalog_version": version, "profile_run": profile.id}))
        s.add(run)
        s.flush()  # its id; the run and its rows are one transaction: an interrupted match leaves nothing behind
        run_id = int(run.id or 0)
        _write_assignments(s.connection(), run_id, chosen, worked.found, version)
        s.flush()  # the assignments first, then every exclusion
        _write_withheld(s.connection(), run_id, worked.found.excluded(chosen, per_user, per_brand,
                                                                      params.withheld_per_user))
        run.status, run.finished_at = "finished", utcnow()
        run.stats = json.dumps({"users": len(worked.rows), "assignments": len(chosen), "catalog_version": version})
        s.add(run)
        summary = MatchSummary(run_id, len(worked.rows), len(chosen), version, as_of)
        if read_back is None:
            s.commit()
            return summary
        return _read_back(s, summary, read_back)


def _write_assignments(conn: Connection, run_id: int, chosen: list[Candidate], found: Found, version: int) -> None:
    """The assignments, ranked by user, each with its reasons (``HIT``), in one statement, as plain rows: ORM objects
    of every assignment took about 0.1 GB at 8,000 users."""
    rank: dict[str, int] = defaultdict(int)
    rows = []
    for c in chosen:
        rank[c.user_id] += 1
        rows.append({"run_id": run_id, "user_id": c.user_id, "perk_id": c.perk_id, "catalog_version": version,
                     "rank": rank[c.user_id], "score": c.score, "topics": json.dumps(
                         [dict(zip(HIT, hit, strict=True)) for hit in found[(c.user_id, c.perk_id)]])})
    if rows:
        conn.execute(insert(Assignment), rows)


def _read_back(s: Session, summary: MatchSummary, read_back: Callable[[Session, int], Any]) -> MatchSummary:
    """A dry run: the run read back through its own transaction (``read_back``), which is then rolled back."""
    s.flush()
    event.listen(s, "before_commit", _dry_run_commits)
    try:
        return replace(summary, preview=read_back(s, summary.run_id))
    finally:
        event.remove(s, "before_commit", _dry_run_commits)
        s.rollback()


def _write_withheld(conn: Connection, run_id: int, excluded: Iterator[Excluded]) -> None:
    """Every user's perks lost to the assignment's limits and withheld by a rule (``Found.excluded``: a user's at a
    time), in statements of ``WITHHELD_ROWS`` rows: one list of them all took about 0.7 GB at 40,000 users, and the
    reasons of every user's lost perks, put into words at once, about 0.2 GB more."""
    rows = ({"run_id": run_id, "user_id": user_id, "perk_id": perk_id, "score": score, "reason": reason}
            for user_id, perk_id, score, reason in excluded)
    while part := list(itertools.islice(rows, WITHHELD_ROWS)):
        conn.execute(insert(Withheld), part)


def _dry_run_commits(_: Session) -> None:
    """A helper reading a dry run back through its session must not commit it (``session`` hands the same one on)."""
    raise RuntimeError("a dry run's match was about to be committed")
