"""Why a user got, or did not get, one perk in the last match run: `perkmatch explain USER PERK_ID`.

The question Klout never answered: "I write about travel all the time; why did I not get the travel perk?" A perk
reaches a user only through one of their inferred topics (``matcher.match``): it must be about the topic (its
relevance, ``perk_space.perk_relevance``, at least ``MatchParams.min_relevance``); the topic must be one of the few the
perk is closest to, or one the catalog targets it at; and it must be among the perks nearest the user's own posts
on the topic, or among the topic's most relevant perks (of all perks, and of those open to the user: ``PerkSpace.
weighed_open``), or one the catalog names the topic for (always weighed). Then its region and dates are checked, and the
assignment weighs it against the limits (a *withheld* perk, with the limit that held it). For a perk that was
not a candidate, the answer goes through the user's topics one by one and names the first of these steps that
failed, with its numbers; then it says what the perk is about and where the user stands on those topics.
"""

import math
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlmodel import col, select

from catalog.refresh import live_perks, live_version, perk_history
from catalog.schema import PerkRecord
from matcher.assignments import match_records, matched_profile, matched_version, since_match_note, withheld_hidden
from matcher.embed import EmbeddingCache
from matcher.errors import NotReadyError
from matcher.explain import explain_topic
from matcher.match import require_profile_encoder
from matcher.perk_candidates import topic_queries
from matcher.perk_space import MatchParams, PerkSpace
from matcher.profile_run import latest_run
from matcher.records import utc_day
from matcher.store import Assignment, EvidencePost, Run, TopicScore, User, Withheld, session
from matcher.taxonomy import load_topics, replaced_since
from matcher.topic_records import not_profiled, record_changed, require_user
from matcher.topic_tree import not_shown


def explain_perk(engine: Engine, cache: EmbeddingCache, user_id: str, perk_id: str,
                 params: MatchParams = MatchParams()) -> dict[str, Any]:
    """Why the latest match run gave the user this perk, withheld it, or never weighed it (see the module)."""
    user = require_user(engine, user_id)
    match, version, profile = _last_match(engine)
    require_profile_encoder(profile, cache)
    with session(engine) as s:
        perks = live_perks(s, version)
        perk = next((p for p in perks if p.perk_id == perk_id), None)
        history = perk_history(s, perk_id, "in the catalog")
        assigned = s.exec(select(Assignment).where(Assignment.run_id == match.id)
                          .where(Assignment.user_id == user_id).where(Assignment.perk_id == perk_id)).first()
        withheld = s.exec(select(Withheld).where(Withheld.run_id == match.id)
                          .where(Withheld.user_id == user_id).where(Withheld.perk_id == perk_id)).first()
        live = live_version(s)
    shown = perk or history[-1]
    match_id = int(match.id or 0)
    out: dict[str, Any] = {"user_id": user_id, "perk_id": perk_id, "brand": shown.brand, "title": shown.title,
                           "match_run": match.id, "catalog_version": version, "profile_run": profile.id}
    if perk is None:
        return out | {"status": "not_in_catalog", "verdict": _not_in_version(history, version, f"match run {match_id}")}
    note = since_match_note(perk, history[-1], live, version, match_id)  # the answer is that run's: before, a perk
    if note:  # re-dated since was said to be withheld as its old dates had it, and nothing said the catalog moved on
        out["note"] = note
    record = None if assigned is None else next(
        (r for r in match_records(engine, match_id, user_id) if r["perk_id"] == perk_id), None)
    if assigned is not None and record is not None:  # (not shown: it came through an opt-in withdrawn since)
        return out | {"status": "assigned", "score": assigned.score, "assignment": record,
                      "verdict": f"assigned: their #{assigned.rank} perk (score {assigned.score:.3f})"}
    if record_changed(engine, user_id, match.started_at):
        # a region, consent or opt-in changed since: the match's reasons (and what the perk went through: a
        # sensitive topic withdrawn since is never named) are no longer theirs to give
        return out | {"status": "changed", "verdict": f"not answered from match run {match_id}: {user_id}'s record "
                      "(consent, region or opt-ins) changed after it; run `perkmatch match` to weigh their perks again"}
    if assigned is not None:  # assigned, not shown: every topic it cited is sensitive to them now (never named)
        return out | {"status": "hidden", "verdict": f"not shown from match run {match_id}: it reached {user_id} "
                      "through topics the taxonomy now marks sensitive, which they have not opted in to; the next "
                      "`perkmatch match` goes without it"}
    if withheld is not None and withheld_hidden(engine, user_id, match_id):  # a topic of theirs is sensitive now
        return out | {"status": "hidden", "verdict": f"not shown from match run {match_id}: a topic inferred for "
                      f"{user_id} is now marked sensitive, which they have not opted in to, and what a withheld perk "
                      "came through is not kept; the next `perkmatch match` weighs it again"}
    if withheld is not None:
        return out | {"status": "withheld", "score": withheld.score, "reason": withheld.reason,
                      "verdict": f"withheld (score {withheld.score:.3f}): {withheld.reason}"}
    return out | _not_a_candidate(engine, cache, user, perk, perks, profile, match_id, int(match.as_of or 0), params)


def _last_match(engine: Engine) -> tuple[Run, int | None, Run]:
    """The latest match run, the catalog version it used and the profile run it used (the latest profile run for a
    match run made before runs recorded theirs, as ``explain`` reads them)."""
    match = latest_run(engine, "match")
    if match is None:
        raise NotReadyError("no match yet; run `perkmatch match` first")
    profile_id = matched_profile(match)
    with session(engine) as s:
        profile = s.get(Run, profile_id) if profile_id else None
        version = matched_version(s, int(match.id or 0))
    profile = profile or latest_run(engine, "profile")
    if profile is None:
        raise NotReadyError("no profile yet; run `perkmatch profile` first")
    return match, version, profile


def _replaced(engine: Engine, profile: Run, user_id: str | None = None) -> str | None:
    """What to say when the profile run's inferred topics (of this user, or anyone's) are not all in the loaded
    taxonomy, as ``match`` says it; None when they are."""
    names = {t.topic_id for t in load_topics(engine)}
    query = select(TopicScore.topic_id).where(TopicScore.run_id == profile.id).where(TopicScore.status == "inferred")
    if user_id is not None:
        query = query.where(TopicScore.user_id == user_id)
    with session(engine) as s:
        gone = sorted(set(s.exec(query.distinct()).all()) - names)
    return replaced_since(int(profile.id or 0), gone) + ", then match" if gone else None


def _not_in_version(history: list[PerkRecord], version: int | None, run: str) -> str:
    """Why a perk the catalog has had was not in the version a match run used."""
    first = history[0].version_added
    if version is not None and first > version:
        return (f"not in catalog version {version}, which {run} used: it came in version {first}; run "
                "`perkmatch match` to weigh it")
    retired = max((r.version_retired for r in history if r.version_retired is not None
                   and (version is None or r.version_retired <= version)), default=None)
    when = f"it was retired in version {retired}" if retired is not None else "it was retired"
    return (f"not in catalog version {version}, which {run} used: {when} (`perkmatch catalog show` "
            "has its history)")


def _not_a_candidate(engine: Engine, cache: EmbeddingCache, user: User, perk: PerkRecord, perks: list[PerkRecord],
                     profile: Run, match_id: int, as_of: int, params: MatchParams) -> dict[str, Any]:
    """The perk never was a candidate: topic by topic, the first step of ``match`` it failed, and what it is about."""
    profile_id = int(profile.id or 0)
    replaced = _replaced(engine, profile, user.user_id)
    if replaced:
        raise NotReadyError(replaced)
    ps = PerkSpace(perks, load_topics(engine), cache, params)
    names = {t.topic_id: t.name for t in ps.topics}
    hidden = not_shown(ps.topics)(user.sensitive_opt_in)
    with session(engine) as s:
        inferred = s.exec(select(TopicScore).where(TopicScore.run_id == profile_id)
                          .where(TopicScore.user_id == user.user_id).where(TopicScore.status == "inferred")
                          .order_by(col(TopicScore.rank))).all()
        rows = [r for r in inferred if r.topic_id not in hidden and r.topic_id in names and user.consent != "opted_out"]
        evidence = s.exec(select(EvidencePost.topic_id, EvidencePost.post_pk)
                          .where(EvidencePost.run_id == profile_id).where(EvidencePost.user_id == user.user_id)
                          .order_by(col(EvidencePost.topic_id), col(EvidencePost.rank))).all()
    at = ps.position(perk.perk_id)
    latest = latest_run(engine, "profile")
    shared: dict[str, Any] = {}  # what explaining the user's topics reads once (``explain_topic``)
    out: dict[str, Any] = {"status": "not_a_candidate", "perk_topics": [
        {"topic_id": t, "name": names[t], "relevance": ps.relevance_of(at, t),
         "user": _standing(engine, cache, user.user_id, t, {r.topic_id for r in rows}, hidden, shared)}
        for t in ps.about(at)]}
    if latest is not None and latest.id != profile_id:  # where the user stands on them now, not at the match
        out["standing_run"] = latest.id
    region = ps.withheld_reason(at, hidden, user.region, utc_day(as_of))
    if region:
        out["also"] = f"as a candidate it would have been withheld: {region}"
    missing = not_profiled(engine, profile, user)
    if missing:
        return out | {"topics": [], "verdict": f"not a candidate: match run {match_id} used profile run {profile_id}, "
                      f"and {missing.split(': ', 1)[1]}"}
    if not rows and any(r.topic_id in hidden for r in inferred):  # counted, never named
        return out | {"topics": [], "verdict": f"not a candidate: perks reach a user only through their topics, and "
                      f"those inferred for {user.user_id} in profile run {profile_id}, which match run {match_id} "
                      "used, are sensitive ones they have not opted in to (marked so, or an opt-in withdrawn, since)"}
    if not rows:
        return out | {"topics": [], "verdict": f"not a candidate: perks reach a user only through their topics, and "
                      f"{user.user_id} had no inferred topic in profile run {profile_id}, which match run {match_id} "
                      f"used (`perkmatch explain {user.user_id}` says why)"}
    ev: dict[tuple[str, str], list[int]] = {}
    for topic_id, post_pk in evidence:
        ev.setdefault((user.user_id, topic_id), []).append(post_pk)
    pairs, queries = topic_queries(engine, cache, [user.user_id], {user.user_id: rows}, ev, ps.topic_vectors, params)
    topics = []
    among = ps.open_to(hidden, user.region, utc_day(as_of))
    nearest = ps.index.search(queries, params.candidates_per_topic)
    for (_, r, *_), hits, near_open in zip(pairs, nearest, ps.search_open(queries, [among] * len(queries)),
                                          strict=True):
        k = ps.column[r.topic_id]
        near = ps.weighed(k, hits) | ps.weighed_open(k, near_open, among)  # the perks ``match`` weighs for it
        rel = float(ps.relevance[at, k])
        name = names[r.topic_id]
        admitted = ps.admits(at, r.topic_id)
        if not admitted and rel < params.min_relevance:
            why = (f"it is not about {name}: relevance {_down(rel)}, needs {params.min_relevance:.2f} (its similarity "
                   "to the topic over its usual similarity to its closest topics)")
        elif not admitted:
            why = (f"{name} is not one of the {params.perk_topics} topics it is closest to, and the catalog does not "
                   f"target it at {name} or a topic above it")
        elif at not in near:
            others = "other perks" if among is None else "other perks they could be given"
            why = (f"it fits {name} (relevance {rel:.2f}), but {params.candidates_per_topic} {others} sit nearer "
                   f"to the user's posts on it, and it is not one of the {params.topic_perks} perks most about it")
        else:
            why = (f"it fits {name} (relevance {rel:.2f}) and would be a candidate now: the last match was run on "
                   "other data; run `perkmatch match`")
        topics.append({"topic_id": r.topic_id, "name": name, "relevance": round(rel, 4), "why": why})
    return out | {"topics": topics, "verdict": f"not a candidate: it fits none of {user.user_id}'s topics closely "
                  "enough (each below)"}


def _down(x: float) -> str:
    """Two decimals rounded down: a relevance of 0.896 is not shown as the 0.90 it falls short of."""
    return f"{math.floor(x * 100) / 100:.2f}"


def _standing(engine: Engine, cache: EmbeddingCache, user_id: str, topic_id: str, inferred: set[str],
              hidden: frozenset[str], shared: dict[str, Any]) -> str:
    """Where the user stands on a topic a perk is about: inferred, or why not (``explain_topic``'s verdict, a topic
    the run did not keep worked out again)."""
    if topic_id in inferred:
        return "inferred for them"
    if topic_id in hidden:
        return "a sensitive topic they have not opted in to: never inferred or matched"
    try:
        return str(explain_topic(engine, user_id, topic_id, shared, cache=lambda: cache)["verdict"])
    except NotReadyError as exc:
        return str(exc)


def nobody_reason(engine: Engine, cache: EmbeddingCache, perk_id: str, params: MatchParams = MatchParams(),
                  spaces: dict[Any, PerkSpace] | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Why the latest match run gave a perk to nobody (``brand``): the topics it can reach users through, with how
    many users had each inferred (and for how many it fell short of its thresholds) in the profile run
    it used; and how many users it was withheld from, by rule. ``spaces`` keeps the catalog's perk space across
    calls (a brand's page asks for each of its perks nobody got: the space is built once). ``dry_run``: the latest
    run is a dry run's, read through its session (`match --dry-run --perk`), which `explain` cannot read later."""
    match, version, profile = _last_match(engine)
    require_profile_encoder(profile, cache)
    with session(engine) as s:
        perks = live_perks(s, version)
        withheld = s.exec(select(Withheld.reason).where(Withheld.run_id == match.id)
                          .where(Withheld.perk_id == perk_id)).all()
        history = perk_history(s, perk_id)
    said = "nobody would get it in this dry run: " if dry_run else f"nobody got it in match run {match.id}: "
    if perk_id not in {p.perk_id for p in perks}:
        run = "this dry run" if dry_run else f"match run {match.id}"
        return {"match_run": match.id, "why": said + "it was " + _not_in_version(history, version, run),
                "topics": [], "withheld": {}}
    replaced = _replaced(engine, profile)
    if replaced:
        return {"match_run": match.id, "why": said + "why cannot be told now: " + replaced, "topics": [],
                "withheld": {}}
    spaces = {} if spaces is None else spaces
    key = (version, cache.name, params)
    if key not in spaces:
        spaces[key] = PerkSpace(perks, load_topics(engine), cache, params)
    ps = spaces[key]
    names = {t.topic_id: t.name for t in ps.topics}
    hidden = not_shown(ps.topics)
    at = ps.position(perk_id)
    about = ps.about(at)
    with session(engine) as s:
        scored = s.exec(select(TopicScore.topic_id, TopicScore.status, User.sensitive_opt_in, User.consent,  # type: ignore[call-overload]  # (SQLModel: 4 columns at most)
                               TopicScore.user_id)
                        .join(User, User.user_id == TopicScore.user_id)
                        .where(TopicScore.run_id == profile.id)
                        .where(col(TopicScore.topic_id).in_(about))).all() if about else []
    counts = {t: {"inferred": 0, "fell_short": 0} for t in about}
    writers = set()  # the users it could reach: one of its topics inferred for them
    for topic_id, status, opt_in, consent, user_id in scored:
        if consent != "opted_out" and topic_id not in hidden(opt_in):
            counts[topic_id]["inferred" if status == "inferred" else "fell_short"] += 1
            if status == "inferred":
                writers.add(user_id)
    rules: dict[str, int] = {}
    for reason in withheld:
        rule = reason.split(":", 1)[0]
        rules[rule] = rules.get(rule, 0) + 1
    sensitive = {t.topic_id for t in ps.topics if t.sensitive}
    topics = [{"topic_id": t, "name": names[t], "relevance": ps.relevance_of(at, t), **counts[t],
               **({"sensitive": True} if t in sensitive else {})} for t in about]
    parts = []
    if sensitive.intersection(about):  # counted above only for the users who opted in to it
        parts.append(f"it is about {', '.join(names[t] for t in about if t in sensitive)}, which the taxonomy marks "
                     "sensitive: it goes only to users who opted in to that")
    if rules:
        parts.append(f"it was withheld from {sum(rules.values())} user(s) ("
                     + ", ".join(f"{n} by {rule}" for rule, n in sorted(rules.items())) + ")")
    if not topics:
        nearest = [ps.space.ids[k] for k in np.argsort(-ps.relevance[at], kind="stable")[:params.perk_topics]]
        parts.append("it is about no topic closely enough to reach anyone through it (its closest: "
                     + ", ".join(f"{names[t]} {_down(ps.relevance_of(at, t))}" for t in nearest)
                     + f"; a topic needs relevance {params.min_relevance:.2f})")
    elif not writers:
        parts.append("none of the topics it is about was inferred for anyone (below: and for how many each fell "
                     "short of its thresholds)")
    elif len(writers) > sum(rules.values()):
        parts.append(("for the other users" if rules else "for the users") + " who write about its topics, other "
                     "perks sat nearer their posts or fit them better"
                     + ("" if dry_run else f" (`perkmatch explain USER {perk_id}` for one of them)"))
    return {"match_run": match.id, "why": said + "; ".join(parts), "topics": topics, "withheld": rules}
