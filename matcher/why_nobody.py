"""Why the last match run gave a perk to nobody (`brand PERK_ID`, `match --perk`, a brand's report): the topics it
can reach users through, how many users had each inferred, how many it was withheld from, by rule. And the last match
run as both this and ``matcher.why_perk`` read it: the catalog version and profile run it used, a profile whose
topics the taxonomy has replaced since, a perk not in the version it used.
"""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlmodel import col, select

from catalog.refresh import live_perks, perk_history
from catalog.schema import PerkRecord, brand_key
from matcher.assignments import matched_profile, matched_version
from matcher.embed import EmbeddingCache
from matcher.errors import NotReadyError
from matcher.lost import BRAND_LIMIT
from matcher.match import require_profile_encoder
from matcher.perk_space import MatchParams, PerkSpace
from matcher.profile_run import latest_run
from matcher.store import Assignment, Run, TopicScore, User, Withheld, session
from matcher.taxonomy import load_topics, replaced_since
from matcher.topic_tree import not_shown


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
        withheld = s.exec(select(Withheld.user_id, Withheld.reason).where(Withheld.run_id == match.id)
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
    ps = _perk_space(engine, cache, perks, version, params, spaces)
    at = ps.position(perk_id)
    about = ps.about(at)
    counts, writers = _reach(engine, ps, about, profile)
    rules, instead = _withheld(engine, int(match.id or 0), perk_id, perks, withheld)
    sensitive = {t.topic_id for t in ps.topics if t.sensitive}
    names = {t.topic_id: t.name for t in ps.topics}
    topics = [{"topic_id": t, "name": names[t], "relevance": ps.relevance_of(at, t), **counts[t],
               **({"sensitive": True} if t in sensitive else {})} for t in about]
    parts = _why_nobody(ps, at, about, perk_id, sensitive, rules, writers, params, dry_run)
    if instead:  # after the counts by rule: which of the brand's own perks the brand limit gave them
        parts.insert(1 + bool(sensitive.intersection(about)), _said_instead(perks, perk_id, rules, instead))
    return {"match_run": match.id, "why": said + "; ".join(parts), "topics": topics, "withheld": rules} | (
        {"brand_limit_instead": instead} if instead else {})


def _withheld(engine: Engine, match_id: int, perk_id: str, perks: list[PerkRecord],
              withheld: Sequence[tuple[str, str]]) -> tuple[dict[str, int], dict[str, int]]:
    """How many users the perk was withheld from by each rule (``(user, reason)`` rows), and the brand's perks the
    brand limit gave in its place (``_instead``)."""
    rules: dict[str, int] = {}
    for _, reason in withheld:
        rule = reason.split(":", 1)[0]
        rules[rule] = rules.get(rule, 0) + 1
    by_brand = {user_id for user_id, reason in withheld if reason.split(":", 1)[0] == BRAND_LIMIT}
    return rules, _instead(engine, match_id, perk_id, perks, by_brand)


def _instead(engine: Engine, match_id: int, perk_id: str, perks: list[PerkRecord], users: set[str]) -> dict[str, int]:
    """For the ``users`` a perk was withheld from by the brand limit: the perks of its brand (``brand_key``) they
    got in the run instead, each with how many of them got it, most first (then by id)."""
    brand = brand_key(next(p.brand for p in perks if p.perk_id == perk_id))
    same = [p.perk_id for p in perks if brand_key(p.brand) == brand and p.perk_id != perk_id]
    if not users or not same:
        return {}
    with session(engine) as s:
        got = s.exec(select(Assignment.user_id, Assignment.perk_id).where(Assignment.run_id == match_id)
                     .where(col(Assignment.perk_id).in_(same))).all()
    counts: dict[str, int] = {}
    for user_id, other in got:
        if user_id in users:
            counts[other] = counts.get(other, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _said_instead(perks: list[PerkRecord], perk_id: str, rules: dict[str, int], instead: dict[str, int]) -> str:
    """The users withheld by the brand limit, and the brand's perks they got in its place, in words."""
    brand = next(p.brand for p in perks if p.perk_id == perk_id)
    return (f"the {rules.get(BRAND_LIMIT, 0)} withheld by {BRAND_LIMIT} get another {brand} perk instead: "
            + ", ".join(f"{other} ({n})" for other, n in instead.items())
            + " (`match --per-brand N` lets a user have N perks of one brand)")


def _perk_space(engine: Engine, cache: EmbeddingCache, perks: list[PerkRecord], version: int | None,
                params: MatchParams, spaces: dict[Any, PerkSpace] | None) -> PerkSpace:
    """The catalog version's perk space, built once per version, encoder and parameters in ``spaces``."""
    spaces = {} if spaces is None else spaces
    key = (version, cache.name, params)
    if key not in spaces:
        spaces[key] = PerkSpace(perks, load_topics(engine), cache, params)
    return spaces[key]


def _reach(engine: Engine, ps: PerkSpace, about: list[str], profile: Run
           ) -> tuple[dict[str, dict[str, int]], list[str]]:
    """For each topic the perk is ``about``: how many users had it inferred in the profile run, and for how many it
    fell short; and the users it could reach, by id (one of its topics inferred for them). Users opted out, and
    sensitive topics a user has not opted in to, are not counted."""
    hidden = not_shown(ps.topics)
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
    return counts, sorted(writers)


def _why_nobody(ps: PerkSpace, at: int, about: list[str], perk_id: str, sensitive: set[str], rules: dict[str, int],
                writers: list[str], params: MatchParams, dry_run: bool) -> list[str]:
    """The reasons, in words: sensitive topics, the users it was withheld from, and why it reached no one else."""
    names = {t.topic_id: t.name for t in ps.topics}
    parts = []
    if sensitive.intersection(about):  # counted above only for the users who opted in to it
        parts.append(f"it is about {', '.join(names[t] for t in about if t in sensitive)}, which the taxonomy marks "
                     "sensitive: it goes only to users who opted in to that")
    if rules:
        parts.append(f"it was withheld from {sum(rules.values())} user(s) ("
                     + ", ".join(f"{n} by {rule}" for rule, n in sorted(rules.items())) + ")")
    if not about:
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
                     + ("" if dry_run else f" (`perkmatch explain {writers[0]} {perk_id}`, for one of them: why "
                                           "this perk was not theirs)"))
    return parts


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


def _down(x: float) -> str:
    """Two decimals rounded down: a relevance of 0.896 is not shown as the 0.90 it falls short of."""
    return f"{math.floor(x * 100) / 100:.2f}"
