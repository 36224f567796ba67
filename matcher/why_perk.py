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

Why a perk went to nobody (`brand PERK_ID`) is ``matcher.why_nobody``'s, importable from here as before.
"""

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from catalog.refresh import live_perks, live_version, perk_history
from catalog.schema import PerkRecord
from matcher.assignments import match_records, since_match_note, withheld_hidden
from matcher.embed import EmbeddingCache
from matcher.errors import NotReadyError
from matcher.explain import explain_topic
from matcher.match import require_profile_encoder
from matcher.perk_candidates import topic_queries
from matcher.perk_space import MatchParams, PerkSpace
from matcher.profile_run import latest_run
from matcher.records import utc_day
from matcher.store import Assignment, EvidencePost, Run, TopicScore, User, Withheld, session
from matcher.taxonomy import load_topics
from matcher.topic_records import not_profiled, record_changed, require_user
from matcher.topic_tree import not_shown
from matcher.why_nobody import _down, _last_match, _not_in_version, _replaced, nobody_reason

__all__ = ["explain_perk", "nobody_reason"]  # (why a perk went to nobody is ``why_nobody``'s; importable from here)


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
        assigned, withheld = _outcome(s, match, user_id, perk_id)
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
    answer = _weighed(engine, match, user_id, perk_id, assigned, withheld)
    if answer is not None:
        return out | answer
    return out | _not_a_candidate(engine, cache, user, perk, perks, profile, match_id, int(match.as_of or 0), params)


def _outcome(s: Session, match: Run, user_id: str, perk_id: str) -> tuple[Assignment | None, Withheld | None]:
    """The match run's assignment of this perk to the user, and its withholding of it, if any."""
    assigned = s.exec(select(Assignment).where(Assignment.run_id == match.id)
                      .where(Assignment.user_id == user_id).where(Assignment.perk_id == perk_id)).first()
    withheld = s.exec(select(Withheld).where(Withheld.run_id == match.id)
                      .where(Withheld.user_id == user_id).where(Withheld.perk_id == perk_id)).first()
    return assigned, withheld


def _weighed(engine: Engine, match: Run, user_id: str, perk_id: str, assigned: Assignment | None,
             withheld: Withheld | None) -> dict[str, Any] | None:
    """The answer for a perk the match run assigned or withheld (or one no longer answered from it: the user's record
    changed since, or it is not shown); None for a perk that was not a candidate."""
    match_id = int(match.id or 0)
    record = None if assigned is None else next(
        (r for r in match_records(engine, match_id, user_id) if r["perk_id"] == perk_id), None)
    if assigned is not None and record is not None:  # (not shown: it came through an opt-in withdrawn since)
        return {"status": "assigned", "score": assigned.score, "assignment": record,
                "verdict": f"assigned: their #{assigned.rank} perk (score {assigned.score:.3f})"}
    if record_changed(engine, user_id, match.started_at):
        # a region, consent or opt-in changed since: the match's reasons (and what the perk went through: a
        # sensitive topic withdrawn since is never named) are no longer theirs to give
        return {"status": "changed", "verdict": f"not answered from match run {match_id}: {user_id}'s record "
                "(consent, region or opt-ins) changed after it; run `perkmatch match` to weigh their perks again"}
    if assigned is not None:  # assigned, not shown: every topic it cited is sensitive to them now (never named)
        return {"status": "hidden", "verdict": f"not shown from match run {match_id}: it reached {user_id} "
                "through topics the taxonomy now marks sensitive, which they have not opted in to; the next "
                "`perkmatch match` goes without it"}
    if withheld is not None and withheld_hidden(engine, user_id, match_id):  # a topic of theirs is sensitive now
        return {"status": "hidden", "verdict": f"not shown from match run {match_id}: a topic inferred for "
                f"{user_id} is now marked sensitive, which they have not opted in to, and what a withheld perk "
                "came through is not kept; the next `perkmatch match` weighs it again"}
    if withheld is not None:
        return {"status": "withheld", "score": withheld.score, "reason": withheld.reason,
                "verdict": f"withheld (score {withheld.score:.3f}): {withheld.reason}"}
    return None


def _not_a_candidate(engine: Engine, cache: EmbeddingCache, user: User, perk: PerkRecord, perks: list[PerkRecord],
                     profile: Run, match_id: int, as_of: int, params: MatchParams) -> dict[str, Any]:
    """The perk never was a candidate: topic by topic, the first step of ``match`` it failed, and what it is about."""
    profile_id = int(profile.id or 0)
    replaced = _replaced(engine, profile, user.user_id)
    if replaced:
        raise NotReadyError(replaced)
    ps = PerkSpace(perks, load_topics(engine), cache, params)
    hidden = not_shown(ps.topics)(user.sensitive_opt_in)
    inferred, rows, evidence = _user_topics(engine, ps, user, profile_id, hidden)
    at = ps.position(perk.perk_id)
    out = _what_it_is_about(engine, cache, ps, at, user, profile_id, {r.topic_id for r in rows}, hidden, as_of)
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
    topics = _topic_steps(engine, cache, ps, at, user, rows, evidence, hidden, as_of, params)
    return out | {"topics": topics, "verdict": f"not a candidate: it fits none of {user.user_id}'s topics closely "
                  "enough (each below)"}


def _user_topics(engine: Engine, ps: PerkSpace, user: User, profile_id: int,
                 hidden: frozenset[str]) -> tuple[list[TopicScore], list[TopicScore], list[tuple[str, int]]]:
    """The user's inferred topics in the profile run, those a perk can reach them through (shown to them, in the
    taxonomy, the user not opted out), and their evidence posts (topic, post) in order."""
    names = {t.topic_id: t.name for t in ps.topics}
    with session(engine) as s:
        inferred = s.exec(select(TopicScore).where(TopicScore.run_id == profile_id)
                          .where(TopicScore.user_id == user.user_id).where(TopicScore.status == "inferred")
                          .order_by(col(TopicScore.rank))).all()
        rows = [r for r in inferred if r.topic_id not in hidden and r.topic_id in names and user.consent != "opted_out"]
        evidence = s.exec(select(EvidencePost.topic_id, EvidencePost.post_pk)
                          .where(EvidencePost.run_id == profile_id).where(EvidencePost.user_id == user.user_id)
                          .order_by(col(EvidencePost.topic_id), col(EvidencePost.rank))).all()
    return list(inferred), rows, list(evidence)


def _what_it_is_about(engine: Engine, cache: EmbeddingCache, ps: PerkSpace, at: int, user: User, profile_id: int,
                      inferred: set[str], hidden: frozenset[str], as_of: int) -> dict[str, Any]:
    """The topics the perk is about and where the user stands on each (now, when a later profile run was made), and
    whether as a candidate it would have been withheld (region, dates)."""
    names = {t.topic_id: t.name for t in ps.topics}
    latest = latest_run(engine, "profile")
    shared: dict[str, Any] = {}  # what explaining the user's topics reads once (``explain_topic``)
    out: dict[str, Any] = {"status": "not_a_candidate", "perk_topics": [
        {"topic_id": t, "name": names[t], "relevance": ps.relevance_of(at, t),
         "user": _standing(engine, cache, user.user_id, t, inferred, hidden, shared)}
        for t in ps.about(at)]}
    if latest is not None and latest.id != profile_id:  # where the user stands on them now, not at the match
        out["standing_run"] = latest.id
    region = ps.withheld_reason(at, hidden, user.region, utc_day(as_of))
    if region:
        out["also"] = f"as a candidate it would have been withheld: {region}"
    return out


def _topic_steps(engine: Engine, cache: EmbeddingCache, ps: PerkSpace, at: int, user: User, rows: list[TopicScore],
                 evidence: list[tuple[str, int]], hidden: frozenset[str], as_of: int,
                 params: MatchParams) -> list[dict[str, Any]]:
    """For each of the user's topics, the first step of ``match`` the perk failed through it, with its numbers."""
    ev: dict[tuple[str, str], list[int]] = {}
    for topic_id, post_pk in evidence:
        ev.setdefault((user.user_id, topic_id), []).append(post_pk)
    pairs, queries = topic_queries(engine, cache, [user.user_id], {user.user_id: rows}, ev, ps.topic_vectors, params)
    names = {t.topic_id: t.name for t in ps.topics}
    topics = []
    among = ps.open_to(hidden, user.region, utc_day(as_of))
    nearest = ps.index.search(queries, params.candidates_per_topic)
    for (_, r, *_), hits, near_open in zip(pairs, nearest, ps.search_open(queries, [among] * len(queries)),
                                          strict=True):
        k = ps.column[r.topic_id]
        near = ps.weighed(k, hits) | ps.weighed_open(k, near_open, among)  # the perks ``match`` weighs for it
        rel = float(ps.relevance[at, k])
        name = names[r.topic_id]
        why = _why_not(ps.admits(at, r.topic_id), at in near, rel, name, among is None, params)
        topics.append({"topic_id": r.topic_id, "name": name, "relevance": round(rel, 4), "why": why})
    return topics


def _why_not(admitted: bool, near: bool, rel: float, name: str, anyone: bool, params: MatchParams) -> str:
    """The first step of ``match`` a perk failed through a topic (``name``): not about it, not one of the topics it
    reaches users through, not near the user's posts on it; or none (the match was run on other data)."""
    if not admitted and rel < params.min_relevance:
        return (f"it is not about {name}: relevance {_down(rel)}, needs {params.min_relevance:.2f} (its similarity "
                "to the topic over its usual similarity to its closest topics)")
    if not admitted:
        return (f"{name} is not one of the {params.perk_topics} topics it is closest to, and the catalog does not "
                f"target it at {name} or a topic above it")
    if not near:
        others = "other perks" if anyone else "other perks they could be given"
        return (f"it fits {name} (relevance {rel:.2f}), but {params.candidates_per_topic} {others} sit nearer "
                f"to the user's posts on it, and it is not one of the {params.topic_perks} perks most about it")
    return (f"it fits {name} (relevance {rel:.2f}) and would be a candidate now: the last match was run on "
            "other data; run `perkmatch match`")


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
