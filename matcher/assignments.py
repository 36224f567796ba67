"""The records of a kept match run: the contract's `match` records with their evidence, the perks a run withheld
from a user and why, and a brand's view of one perk (who got it, who was left out as its quantity ran out).

A match run is read as it was made: each perk as the catalog version it assigned from had it, each topic's evidence
from the profile run it assigned from; a perk the live catalog has changed or retired since says so.
"""

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from catalog.refresh import live_version, unknown_perk
from catalog.schema import PerkRecord
from matcher.errors import NotReadyError
from matcher.forget import forgotten_units
from matcher.perk_space import offer_closed
from matcher.profile_run import latest_run
from matcher.records import utc_day
from matcher.store import (
    Assignment,
    EvidencePost,
    ProfiledUser,
    Run,
    TopicScore,
    Withheld,
    batches,
    session,
)
from matcher.taxonomy import known_names, load_topics, not_shown
from matcher.topic_records import (
    SHOWN_EVIDENCE,
    hidden_topics,
    post_record,
    posts_by_key,
    record_changed,
    records_changed,
    stored_again,
    user_opt_ins,
)


def match_records(engine: Engine, run_id: int | None = None, user_id: str | None = None) -> list[dict[str, Any]]:
    """Contract `match` records of a match run (the latest by default), by user then rank. A ``run_id`` that is no
    match run is an error (before, its records were quietly none: a profile run's id, or a typo)."""
    run_id = latest_match_id(engine) if run_id is None else run_id
    with session(engine) as s:
        run = s.get(Run, run_id) if 0 < run_id < 2**31 else None  # (PostgreSQL's ids are 32-bit)
        if run is None or run.kind != "match":
            what = "no run" if run is None else f"a {run.kind} run"
            raise NotReadyError(f"run {run_id} is {what}, not a match run; give a match run's id (`perkmatch status "
                                "--runs N` lists them), or none for the latest")
        query = select(Assignment).where(Assignment.run_id == run_id)
        if user_id is not None:
            query = query.where(Assignment.user_id == user_id)
        rows = s.exec(query).all()
    # ordered here, not by the database: PostgreSQL's collation may sort "u_yogi" before "u-cyclist" and SQLite not
    return assignment_records(engine, sorted(rows, key=lambda r: (r.user_id, r.rank)))


def latest_match_id(engine: Engine) -> int:
    run = latest_run(engine, "match")
    if run is None:
        raise NotReadyError("no match yet; run `perkmatch match` first")
    return int(run.id or 0)


def assignment_records(engine: Engine, rows: list[Assignment], stored: bool = False) -> list[dict[str, Any]]:
    """Contract `match` records of stored assignments. A topic the user has withdrawn their opt-in to since the run
    (``taxonomy.not_shown``) is not cited, and an assignment that rested on such topics alone is not shown (the
    perk itself would tell it; the next `match` does without it), unless ``stored`` (for `export`)."""
    taxonomy = load_topics(engine)
    names, hidden = known_names(engine, taxonomy), hidden_topics(taxonomy, stored)
    latest = latest_run(engine, "profile")
    cited_by = [json.loads(r.topics) for r in rows]
    with session(engine) as s:
        perks = {v: perks_as_of(s, {r.perk_id for r in rows if r.catalog_version == v}, v)
                 for v in {r.catalog_version for r in rows}}
        newest, live = perks_as_of(s, {r.perk_id for r in rows}), live_version(s)
        profile_of = _profile_runs(s, {r.run_id for r in rows}, None if latest is None else int(latest.id or 0))
        topic_ev = _shown_evidence(s, rows, profile_of)
        posts = posts_by_key(s, {k for v in topic_ev.values() for k in v}
                             | {k for topics in cited_by for t in topics for k in t.get("posts", [])})
        again = {run: stored_again(s, posts, run) for run in set(profile_of.values()) - {None}}
        opt_ins = user_opt_ins(s, {r.user_id for r in rows})
    out = []
    for r, cited in zip(rows, cited_by, strict=True):
        perk = perks[r.catalog_version].get(r.perk_id)
        shown = [t for t in cited if t["topic_id"] not in hidden(opt_ins.get(r.user_id))]
        if cited and not shown:
            continue
        from_run = profile_of[r.run_id]
        # the topic's evidence chosen for this perk (``match.perk_evidence``); a match run before that kept none
        topics = [{"topic_id": t["topic_id"], "name": names[t["topic_id"]], "score": t["score"],
                   "fit": t["fit"], **({"relevance": t["relevance"]} if "relevance" in t else {}),
                   "evidence": [post_record(posts[k], again.get(from_run, set())) for k in t.get("posts") or
                                topic_ev[(from_run, r.user_id, t["topic_id"])] if k in posts]}
                  for t in shown]
        record = {"user_id": r.user_id, "perk_id": r.perk_id, "brand": perk.brand if perk else "",
                  "title": perk.title if perk else "", "rank": r.rank, "score": r.score, "topics": topics}
        since = _since(perk, newest.get(r.perk_id), live, r.catalog_version)
        out.append(record | ({"catalog_since": since} if since else {}))
    return out


def _shown_evidence(s: Session, rows: list[Assignment], profile_of: dict[int, int | None]
                    ) -> defaultdict[tuple[int | None, str, str], list[int]]:
    """The keys of the posts each topic shows as evidence (``SHOWN_EVIDENCE``, by rank), by (profile run, user, topic),
    for the users of ``rows``, each in the profile run its match run assigned from (``profile_of``)."""
    topic_ev: defaultdict[tuple[int | None, str, str], list[int]] = defaultdict(list)
    for profile_run in sorted({run for run in profile_of.values() if run is not None}):
        users = sorted({r.user_id for r in rows if profile_of[r.run_id] == profile_run})
        for part in batches(users):  # a bound list: PostgreSQL takes at most 65,535 of them
            for e in s.exec(select(EvidencePost).where(EvidencePost.run_id == profile_run)
                            .where(col(EvidencePost.user_id).in_(part)).where(EvidencePost.rank <= SHOWN_EVIDENCE)
                            .order_by(col(EvidencePost.rank))).all():
                topic_ev[(profile_run, e.user_id, e.topic_id)].append(e.post_pk)
    return topic_ev


def _since(matched: PerkRecord | None, newest: PerkRecord | None, live: int | None, version: int | None
           ) -> str | None:
    """'retired' or 'changed' when the live catalog has retired or changed the perk since catalog ``version``, which a
    match saw (``matched``: its record then; ``newest``: its last)."""
    if matched is None or newest is None:
        return None
    retired = newest.version_retired
    if retired is not None and live is not None and retired <= live and version is not None and retired > version:
        return "retired"
    # a perk retired and added back as it was is a new record with the same content: not a change
    return "changed" if newest.id != matched.id and newest.content_hash != matched.content_hash else None


def matched_profile(match: Run | None) -> int | None:
    """The profile run a match run assigned from: the topics and evidence its assignments cite (None for a match run
    made before runs recorded it)."""
    profile_run = json.loads(match.params or "{}").get("profile_run") if match else None
    return int(profile_run) if profile_run else None


def matched_version(s: Session, run_id: int) -> int | None:
    """The catalog version a match run assigned from."""
    run = s.get(Run, run_id)
    return json.loads(run.params or "{}").get("catalog_version") if run else None


def perks_as_of(s: Session, perk_ids: set[str], version: int | None = None) -> dict[str, PerkRecord]:
    """Each perk id's record as catalog ``version`` had it: what a match run on that version was shown (its title
    may have changed since); without a version, the newest record (retired ones included: history stays
    readable). A perk that version did not have gets its newest record: one retired before it and added back since
    was given its retired record, which `brand` then called "changed" since the match, showing its old window."""
    out: dict[str, PerkRecord] = {}
    ids = sorted(perk_ids)
    for part in batches(ids):
        for p in s.exec(select(PerkRecord).where(col(PerkRecord.perk_id).in_(part))
                        .order_by(col(PerkRecord.version_added))).all():
            if version is None or _valid(p, version) or not (p.perk_id in out and _valid(out[p.perk_id], version)):
                out[p.perk_id] = p
    return out


def _valid(perk: PerkRecord, version: int) -> bool:
    """Whether the record is the perk's in catalog ``version`` (``catalog.refresh.valid_in``)."""
    return perk.version_added <= version and (perk.version_retired is None or perk.version_retired > version)


def _profile_runs(s: Session, match_runs: set[int], latest: int | None) -> dict[int, int | None]:
    """The profile run each match run assigned from: its evidence is that run's (``latest`` for a match run made
    before runs recorded it)."""
    found = {int(r.id or 0): matched_profile(r) or latest
             for r in s.exec(select(Run).where(col(Run.id).in_(sorted(match_runs)))).all()}
    return {run_id: found.get(run_id, latest) for run_id in match_runs}


def withheld_records(engine: Engine, user_id: str, run_id: int | None = None) -> list[dict[str, Any]]:
    """The perks a match run withheld from the user, best first, with the rule that held each; none once the user's
    record changed after the run (``withheld_hidden``)."""
    run_id = run_id or latest_match_id(engine)
    if withheld_hidden(engine, user_id, run_id):
        return []
    with session(engine) as s:
        rows = sorted(s.exec(select(Withheld).where(Withheld.run_id == run_id)
                             .where(Withheld.user_id == user_id)).all(), key=lambda r: (-r.score, r.perk_id))
        perks = perks_as_of(s, {r.perk_id for r in rows}, matched_version(s, run_id))
    return [{"perk_id": r.perk_id, **named(perks.get(r.perk_id)), "score": r.score, "reason": r.reason} for r in rows]


def named(perk: PerkRecord | None) -> dict[str, str]:
    """A perk's brand and title, as a record shows them (empty for a perk no catalog version has)."""
    return {"brand": perk.brand if perk else "", "title": perk.title if perk else ""}


def withheld_hidden(engine: Engine, user_id: str, run_id: int) -> bool:
    """Whether the user's record (consent, region, opt-ins) changed after a match run, or a topic inferred for them
    in its profile run is now sensitive to them (``_now_sensitive``): its withheld perks are then not shown. A
    withheld perk keeps no topic, so one that came through a sensitive topic could not be told apart (an assignment
    can: ``assignment_records``), and the run's reasons may no longer hold; the next match weighs them again."""
    with session(engine) as s:
        run = s.get(Run, run_id)
        profile = matched_profile(run)
        weighed = run is not None and (profile is None or s.exec(  # a user the match never weighed had none withheld
            select(ProfiledUser.user_id).where(ProfiledUser.run_id == profile)
            .where(ProfiledUser.user_id == user_id)).first() is not None)  # (one added since: "none shown" was false)
    return weighed and run is not None and (record_changed(engine, user_id, run.started_at)
                                            or user_id in _now_sensitive(engine, run_id, {user_id}))


def brand_view(engine: Engine, perk_id: str) -> dict[str, Any]:
    """The users a perk is assigned to, ranked, with evidence; and who was left out as quantity ran out."""
    run_id = latest_match_id(engine)
    with session(engine) as s:
        newest = perks_as_of(s, {perk_id}).get(perk_id)
        if newest is None:
            raise NotReadyError(unknown_perk(s, perk_id))
        matched_on = matched_version(s, run_id)
        perk = perks_as_of(s, {perk_id}, matched_on)[perk_id]  # as the match run saw it: its quantity, title, regions
        rows = sorted(s.exec(select(Assignment).where(Assignment.run_id == run_id)
                             .where(Assignment.perk_id == perk_id)).all(), key=lambda r: (-r.score, r.user_id))
        left = sorted(s.exec(select(Withheld).where(Withheld.run_id == run_id).where(Withheld.perk_id == perk_id)
                             .where(col(Withheld.reason).startswith("quantity"))).all(),
                      key=lambda r: (-r.score, r.user_id))
        version = live_version(s)
        gone = forgotten_units(s, run_id, perk_id)
        started = s.get(Run, run_id).started_at  # type: ignore[union-attr]
        changed = records_changed(s, [w.user_id for w in left] + [r.user_id for r in rows], started)
    left = [w for w in left if w.user_id not in changed]  # not told once their record changed (withheld_hidden)
    sensitive_now = _now_sensitive(engine, run_id, {w.user_id for w in left})  # (read once, not once a user)
    left = [w for w in left if w.user_id not in sensitive_now]
    records = assignment_records(engine, list(rows))  # less those resting on topics now sensitive for the user
    for i, rec in enumerate(records, start=1):
        rec["brand_rank"] = i
        if rec["user_id"] in changed:  # their region, consent or opt-ins now may not be what the match checked
            rec["record_changed"] = True
    retired = newest.version_retired is not None and version is not None and newest.version_retired <= version
    out = {"perk_id": perk_id, "brand": perk.brand, "title": perk.title, "quantity": perk.quantity,
           "assigned": len(rows) + gone,  # units used: of assignments no longer shown (an opt-in withdrawn), and
           "forgotten_units": gone,  # of users forgotten since the run (counted, with no id: ``forget``), and
           "sensitive_units": len(rows) - len(records),  # of users whose topics it cited are now sensitive to them
           "retired": retired, "regions": json.loads(perk.regions),
           "offer": "retired" if retired else _offer(perk, _match_day(engine, run_id)),
           "users": records, "left_out": [{"user_id": w.user_id, "score": w.score, "reason": w.reason} for w in left],
           "catalog_version": matched_on}
    note = since_match_note(perk, newest, version, matched_on, run_id)
    if note:  # the brand sees the match as it was, and is told the catalog has moved on
        out["note"] = note
    return out


def since_match_note(matched: PerkRecord | None, newest: PerkRecord | None, live: int | None, version: int | None,
                     run_id: int) -> str | None:
    """What to say when the live catalog has retired or changed a perk since match run ``run_id`` (on catalog
    ``version``; ``_since``), whose view `brand` and `explain USER PERK` give; None when it has not."""
    since = _since(matched, newest, live, version)
    if since is None:
        return None
    done = "was retired" if since == "retired" else "changed"
    return (f"the perk {done} in the catalog after match run {run_id} (catalog version {version}); this is that "
            "run's view: run `perkmatch match` again")


def _now_sensitive(engine: Engine, run_id: int, user_ids: set[str]) -> set[str]:
    """Those of these users with a topic inferred in the match run's profile run that is not shown now (the taxonomy
    marks it sensitive, and they have not opted in to it): which of their topics brought them a perk withheld is not
    kept, so such a user's withheld perks are not shown to a brand, lest they tell the topic."""
    latest = latest_run(engine, "profile")
    with session(engine) as s:  # (a match run made before runs recorded theirs: the latest, as everywhere)
        profile_run = matched_profile(s.get(Run, run_id)) or (None if latest is None else int(latest.id or 0))
        if not user_ids or profile_run is None:
            return set()
        inferred: dict[str, set[str]] = defaultdict(set)
        for part in batches(sorted(user_ids)):
            for user_id, topic_id in s.exec(select(TopicScore.user_id, TopicScore.topic_id)
                                            .where(TopicScore.run_id == profile_run)
                                            .where(TopicScore.status == "inferred")
                                            .where(col(TopicScore.user_id).in_(part))).all():
                inferred[user_id].add(topic_id)
        opt_ins = user_opt_ins(s, set(inferred))
    hidden = not_shown(load_topics(engine))
    return {u for u, topics in inferred.items() if topics & hidden(opt_ins.get(u))}


def _match_day(engine: Engine, run_id: int) -> dt.date | None:
    """The day a match run checked offer dates against (its profile run's as-of, or `match --as-of`)."""
    with session(engine) as s:
        run = s.get(Run, run_id)
    return utc_day(run.as_of) if run else None


def _offer(perk: PerkRecord, day: dt.date | None) -> str:
    """Whether a perk's offer was open on the day (``perk_space.offer_closed``): "open", "ended YYYY-MM-DD" or
    "starts YYYY-MM-DD"."""
    closed = offer_closed(perk, day) if day is not None else None
    return f"{closed[0]} {closed[1]}" if closed else "open"
