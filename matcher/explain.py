"""Explanations: every topic and every assignment with its evidence, as plain dicts ready for output.

This is the read side of the pipeline: the contract's `topics`, `match` and `brand` records, the
answer to "why (not) this topic?", what changed between profile runs, and a user's full export.
"""

import datetime as dt
import difflib
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from catalog.refresh import live_version, unknown_perk
from catalog.schema import PerkRecord
from matcher.classify import WORDLESS_KEY, readable
from matcher.encoder import known_words
from matcher.errors import NotReadyError, UnknownTopicError, UnknownUserError
from matcher.forget import forgotten_units
from matcher.match import offer_closed
from matcher.profile_run import latest_run
from matcher.profiles import ProfileParams
from matcher.records import utc_day
from matcher.store import (
    Assignment,
    EvidencePost,
    Post,
    ProfiledUser,
    Run,
    TopicScore,
    User,
    Withheld,
    session,
)
from matcher.taxonomy import TopicInfo, load_topics, not_shown, replaced_since, taxonomy_digest, topic_ids_in


def iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def post_record(p: Post) -> dict[str, Any]:
    """A post as evidence: ``is_share`` says it passes on someone else's content (not the user's own words)."""
    return {"post_id": p.post_id, "platform": p.platform, "text": p.text, "context": p.context,
            "created_at": iso(p.created_at), "likes": p.likes, "replies": p.replies, "shares": p.shares,
            "is_share": p.is_share}


def _posts(s: Session, keys: set[int]) -> dict[int, Post]:
    out: dict[int, Post] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        for p in s.exec(select(Post).where(col(Post.id).in_(ordered[start:start + 500]))).all():
            out[int(p.id or 0)] = p
    return out


def require_profile(engine: Engine) -> Run:
    run = latest_run(engine, "profile")
    if run is None:
        raise NotReadyError("no profile yet; run `perkmatch profile` first")
    return run


def require_user(engine: Engine, user_id: str) -> User:
    from matcher.forget import opted_out, was_forgotten

    with session(engine) as s:
        user = s.get(User, user_id)
        has_posts = s.exec(select(Post.id).where(Post.user_id == user_id).limit(1)).first() is not None
        out = user is None and not has_posts and opted_out(s, user_id)
        gone = user is None and not has_posts and not out and was_forgotten(s, user_id)
    if out:  # the answer to a right-of-access request, too: what is kept, and why
        raise UnknownUserError(f"nothing about '{user_id}' is stored: they opted out and were forgotten; only a "
                               "salted hash of their id is kept, so that their posts are never stored again")
    if gone:
        raise UnknownUserError(f"no user '{user_id}' is stored: they were forgotten (`perkmatch forget`); only a "
                               "salted hash of their id is kept, in the audit log of deletions")
    if user is None and not has_posts:
        raise UnknownUserError(f"no user '{user_id}' is stored; check the id (`perkmatch topics --all` lists users)")
    return user or User(user_id=user_id)


def require_profiled(engine: Engine, run: Run, user: User) -> None:
    """Refuse to describe the topics of a user the run did not profile (an empty list would read as "writes about
    nothing"), saying why they are not in it and what to do."""
    why = not_profiled(engine, run, user)
    if why:
        raise NotReadyError(why)


def not_profiled(engine: Engine, run: Run, user: User) -> str | None:
    """Why a profile run has no profile of this user (None when it has one)."""
    with session(engine) as s:
        found = s.exec(select(ProfiledUser.user_id).where(ProfiledUser.run_id == run.id)
                       .where(ProfiledUser.user_id == user.user_id)).first()
    if found is not None:
        return None
    policy = json.loads(run.params or "{}").get("policy", "opt-in")
    if user.consent == "opted_out" or (policy == "opt-in" and user.consent != "opted_in"):
        why = (f"they have not opted in (consent: {user.consent or 'none recorded'}), and only users who opted in are "
               f"profiled; if they did, record it (`perkmatch consent {user.user_id} opted_in`), then run "
               "`perkmatch profile`")
    else:
        why = "they were added after that run; run `perkmatch profile` to profile them"
    return f"{user.user_id} is not in profile run {run.id}: {why}"


def no_perks_reason(engine: Engine, user_id: str) -> str:
    """Why the latest match run gave a user no perk, in plain words."""
    match = latest_run(engine, "match")
    if match is None:
        return f"{user_id} has no perks: no match has run yet (`perkmatch match`)"
    profile_id = json.loads(match.params or "{}").get("profile_run")
    with session(engine) as s:
        profile = s.get(Run, profile_id)
    user = require_user(engine, user_id)
    missing = not_profiled(engine, profile, user) if profile else None
    newer = latest_run(engine, "profile")
    if missing and newer is not None and newer.id != profile_id and not_profiled(engine, newer, user) is None:
        return (f"{user_id} got no perk in match run {match.id}: that run used profile run {profile_id}, made before "
                f"they were profiled (profile run {newer.id}); run `perkmatch match` to match them")
    if missing:
        return f"{user_id} got no perk in match run {match.id}: {missing.split(': ', 1)[1]}"
    with session(engine) as s:
        scored = s.exec(select(TopicScore.topic_id, TopicScore.status).where(TopicScore.run_id == profile_id)
                        .where(TopicScore.user_id == user_id)).all()
        withheld = s.exec(select(Withheld.perk_id).where(Withheld.run_id == match.id)
                          .where(Withheld.user_id == user_id)).all()
    hidden = not_shown(load_topics(engine))(user.sensitive_opt_in)  # an opt-in withdrawn since: never named
    topics = [t for t, status in scored if status == "inferred" and t not in hidden]
    if not topics and scored:
        return (f"{user_id} got no perk in match run {match.id}: no topic was inferred for them in profile run "
                f"{profile_id} (`perkmatch topics {user_id} --candidates` shows what fell short)")
    if not topics:
        with session(engine) as s:
            posts = s.exec(select(func.count()).select_from(Post).where(Post.user_id == user_id)).one()
        return (f"{user_id} got no perk in match run {match.id}: none of their {posts} post(s) is about any topic "
                f"often enough to be weighed (a topic needs at least {ProfileParams().min_posts} posts on it)")
    if withheld:
        return f"{user_id} got no perk in match run {match.id}: each perk that fits their topics was withheld (below)"
    names = {t.topic_id: t.name for t in load_topics(engine)}
    return (f"{user_id} got no perk in match run {match.id}: no live perk fits their topics "
            f"({', '.join(sorted(names.get(t, t) for t in topics))}) closely enough")


def topic_records(engine: Engine, run_id: int, user_ids: list[str] | None = None,
                  candidates: bool = False, stored: bool = False) -> list[dict[str, Any]]:
    """Contract records `{"user_id", "topics": [...]}` of one profile run, ordered by user id; without the
    sensitive topics a user has withdrawn their opt-in to since the run, unless ``stored`` (all that is stored,
    for `export`)."""
    taxonomy = load_topics(engine)
    names, hidden = {t.topic_id: t.name for t in taxonomy}, _hidden(taxonomy, stored)
    with session(engine) as s:
        query = select(TopicScore).where(TopicScore.run_id == run_id)
        if not candidates:
            query = query.where(TopicScore.status == "inferred")
        if user_ids is not None:
            query = query.where(col(TopicScore.user_id).in_(user_ids))
        scores = s.exec(query.order_by(col(TopicScore.user_id), col(TopicScore.rank))).all()
        ev_query = select(EvidencePost).where(EvidencePost.run_id == run_id)
        if user_ids is not None:
            ev_query = ev_query.where(col(EvidencePost.user_id).in_(user_ids))
        evidence: dict[tuple[str, str], list[EvidencePost]] = defaultdict(list)
        for e in s.exec(ev_query.order_by(col(EvidencePost.rank))).all():
            evidence[(e.user_id, e.topic_id)].append(e)
        posts = _posts(s, {e.post_pk for lst in evidence.values() for e in lst})
        opt_ins = _opt_ins(s, {r.user_id for r in scores})
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in scores:
        if r.topic_id not in hidden(opt_ins.get(r.user_id)):  # a sensitive topic they have withdrawn since the run
            by_user[r.user_id].append(_topic_record(r, names, evidence[(r.user_id, r.topic_id)], posts))
    if user_ids is None:  # every user the run profiled, those it found no topic for included
        with session(engine) as s:
            user_ids = list(s.exec(select(ProfiledUser.user_id).where(ProfiledUser.run_id == run_id)).all())
            user_ids += s.exec(select(TopicScore.user_id).where(TopicScore.run_id == run_id).distinct()).all()
    users = sorted(set(user_ids))
    return [{"user_id": u, "topics": by_user.get(u, [])} for u in users]


def _hidden(taxonomy: list[TopicInfo], stored: bool) -> Callable[[str | None], frozenset[str]]:
    return (lambda _: frozenset()) if stored else not_shown(taxonomy)


def _opt_ins(s: Session, user_ids: set[str]) -> dict[str, str | None]:
    """Each user's stored sensitive-topic opt-ins (JSON), for ``taxonomy.not_shown``."""
    ids, out = sorted(user_ids), {}
    for start in range(0, len(ids), 500):
        out.update(s.exec(select(User.user_id, User.sensitive_opt_in)
                          .where(col(User.user_id).in_(ids[start:start + 500]))).all())
    return out


def _topic_record(r: TopicScore, names: dict[str, str], evidence: list[EvidencePost],
                  posts: dict[int, Post]) -> dict[str, Any]:
    d = json.loads(r.details)
    return {
        "topic_id": r.topic_id, "name": names.get(r.topic_id, r.topic_id), "status": r.status,
        "score": r.score, "confidence": r.confidence, "posts": r.posts, "days": r.days,
        "threads": d.get("threads", 0), "engagement": d.get("positive_engagement", 0.0),
        "engagement_vs_usual": round(math.exp(r.engagement), 2),
        "first": iso(d["first"]) if d.get("first") else None, "last": iso(d["last"]) if d.get("last") else None,
        **({"shortfalls": d.get("shortfalls", [])} if r.status != "inferred" else {}),
        "evidence": [post_record(posts[e.post_pk]) for e in evidence if e.post_pk in posts],
    }


def user_topics(engine: Engine, user_id: str | None = None, candidates: bool = False) -> list[dict[str, Any]]:
    """The latest profile's topics for one user, or for every profiled user."""
    run = require_profile(engine)
    if user_id is not None:
        require_profiled(engine, run, require_user(engine, user_id))
    return topic_records(engine, int(run.id or 0), None if user_id is None else [user_id], candidates)


def stale_taxonomy(engine: Engine) -> str | None:
    """What to warn when the taxonomy was replaced after the latest profile run: the run inferred topics it no longer
    has (the topics shown are the run's, by id, until the next `profile`), or its content differs from the one the
    run used (a topic added or redescribed, which the run did not weigh); None when it is the run's."""
    run = latest_run(engine, "profile")
    if run is None:
        return None
    with session(engine) as s:
        inferred = s.exec(select(TopicScore.topic_id).where(TopicScore.run_id == run.id)
                          .where(TopicScore.status == "inferred").distinct()).all()
        gone = sorted(set(inferred) - topic_ids_in(s))
    if gone:
        return replaced_since(int(run.id or 0), gone)
    used = json.loads(run.params or "{}").get("taxonomy")  # its digest (runs before it was recorded: none)
    if used and used != taxonomy_digest(load_topics(engine)):
        return (f"the taxonomy was replaced after profile run {run.id} (topics added, renamed or redescribed): what "
                "is shown is that run's, which did not weigh the new taxonomy; run `perkmatch profile` again")
    return None


def explain_topic(engine: Engine, user_id: str, topic_id: str) -> dict[str, Any]:
    """Why a topic was, or was not, inferred for a user: verdict, numbers, thresholds, evidence."""
    taxonomy = load_topics(engine)
    try:
        topic = known_topic(taxonomy, topic_id)
    except UnknownTopicError:  # a topic of the latest run for this user, gone from a taxonomy loaded since: as listed
        topic = _scored_before(engine, user_id, topic_id)
        if topic is None:
            raise
    user = require_user(engine, user_id)
    run = require_profile(engine)
    require_profiled(engine, run, user)
    params = ProfileParams()
    records = topic_records(engine, int(run.id or 0), [user_id], candidates=True)[0]["topics"]
    record = next((t for t in records if t["topic_id"] == topic_id), None)
    out: dict[str, Any] = {"user_id": user_id, "topic_id": topic_id, "name": topic.name, "run_id": run.id,
                           "thresholds": thresholds(params)}
    run_params = json.loads(run.params or "{}")
    related = run_params.get("related_words", {}).get(topic_id)
    if related:
        out["related_words"] = related  # posts naming these count as about the topic too
    fitted = run_params.get("topic_vectors", {}).get("mass", {}).get(topic_id)
    if fitted:
        out["fitted_on_posts"] = fitted  # posts in the collection plainly about the topic, shaping its vector
    unread, wordless = _unread_posts(engine, user_id, run_params.get("vocabulary"))
    if unread:
        out["unread_posts"] = unread  # the user's posts the model cannot read: about no topic at all
    if wordless:
        out["wordless_posts"] = wordless  # bare links: about no topic either
    shown = not_shown(taxonomy)
    hidden = shown(user.sensitive_opt_in)
    if topic_id in hidden:
        out.update(inferred=False, verdict="not inferred: this is a sensitive topic and the user has not opted in "
                   "to it, so perkmatch never infers or shows it")
        return out
    if record is None:
        late = topic_id in shown(None) and record_changed(engine, user_id, run.started_at)
        # (opted in since the run, perhaps: it weighed the topic only if they had by then)
        out.update(inferred=False, verdict="not inferred: " + "; ".join(
            ([_opted_in_since(run, user_id)] if late else [_absent(engine, run, user_id, params)])
            + _unread_words(unread, wordless)))
        return out
    with session(engine) as s:
        score = s.exec(select(TopicScore).where(TopicScore.run_id == run.id).where(TopicScore.user_id == user_id)
                       .where(TopicScore.topic_id == topic_id)).one()
    details = json.loads(score.details)
    if details.get("covered_by"):  # never name a sensitive child the user does not (or no longer) opt in to
        details["covered_by"] = [k for k in details["covered_by"] if k not in hidden]
    inferred = score.status == "inferred"
    if inferred:
        verdict = "inferred: every threshold is met"
    elif details.get("covered_by"):
        verdict = _covered(details, record["posts"], {t.topic_id: t.name for t in taxonomy})
    else:
        counted = _short_on_posts(record, details, params)
        reasons = details.get("shortfalls", []) + (_not_original(details) if counted else []) + _unread_words(
            unread, wordless)
        verdict = "not inferred: " + "; ".join(reasons)
    out.update(inferred=inferred, verdict=verdict, details=details, **{k: record[k] for k in (
        "score", "confidence", "posts", "days", "threads", "engagement", "engagement_vs_usual", "first", "last",
        "evidence")})
    return out


def _scored_before(engine: Engine, user_id: str, topic_id: str) -> TopicInfo | None:
    """A topic the latest profile run scored for the user but the taxonomy no longer has (replaced since the run):
    `topics` still lists the run's topics, with a warning, so `explain` answers from the run too (its id for name)."""
    run = latest_run(engine, "profile")
    if run is None:
        return None
    with session(engine) as s:
        scored = s.exec(select(TopicScore.id).where(TopicScore.run_id == run.id).where(TopicScore.user_id == user_id)
                        .where(TopicScore.topic_id == topic_id).limit(1)).first()
    return TopicInfo(topic_id, topic_id, None, "", False) if scored is not None else None


def known_topic(taxonomy: list[TopicInfo], topic_id: str) -> TopicInfo:
    """The loaded taxonomy's topic of this id; else an error naming the topics meant most likely (its name given
    for its id, another case, a typo)."""
    for topic in taxonomy:
        if topic.topic_id == topic_id:
            return topic
    wanted = topic_id.strip().casefold()
    near = [t for t in taxonomy if wanted in (t.topic_id.casefold(), t.name.casefold())]
    if not near:
        keys: dict[str, TopicInfo] = {}
        for t in taxonomy:
            keys.setdefault(t.topic_id.casefold(), t)
            keys.setdefault(t.name.casefold(), t)
        near = list({keys[k].topic_id: keys[k] for k in difflib.get_close_matches(wanted, keys, n=5, cutoff=0.75)}
                    .values())
    hint = (": did you mean " + " or ".join(f"'{t.topic_id}' ({t.name})" for t in near[:3]) + "?") if near else ";"
    raise UnknownTopicError(f"no topic '{topic_id}' in the loaded taxonomy{hint} `perkmatch taxonomy show` lists the "
                            "ids in use")


def thresholds(params: ProfileParams) -> dict[str, float]:
    """Every threshold a topic must meet to be inferred (README, "How topics are inferred", step 9), by name."""
    return {"posts": params.min_posts, "days": params.min_days, "day_gap_hours": params.day_gap_hours,
            "threads": params.min_threads, "engaged_posts": params.min_engaged_posts,
            "engagement_per_post": params.min_mean_engagement,
            "engagement_vs_usual": round(math.exp(params.min_lift), 2), "burst_share": params.max_burst_share,
            "confidence": params.min_confidence, "plain": params.min_plain, "own_words": params.alone_min,
            "share_of_strongest": params.min_share_of_best}


def _absent(engine: Engine, run: Run, user_id: str, params: ProfileParams) -> str:
    """Why a run kept no score of a topic for the user: no post of theirs is about it, or it was not among the
    candidates kept (``ProfileParams.max_candidates``, the closest that fell short)."""
    with session(engine) as s:
        kept = s.exec(select(func.count()).select_from(TopicScore).where(TopicScore.run_id == run.id)
                      .where(TopicScore.user_id == user_id).where(TopicScore.status != "inferred")).one()
    if kept >= params.max_candidates:
        return (f"it is not among the {params.max_candidates} topics closest to being inferred that fell short, the "
                f"only ones kept (`perkmatch topics {user_id} --candidates` lists them)")
    return f"none of the user's posts is about this topic (membership {params.member_min:g} or more)"


def record_changed(engine: Engine, user_id: str, after: dt.datetime, until: dt.datetime | None = None) -> bool:
    """Whether the user's stored record (consent, opt-ins, region) changed after ``after`` (and by ``until``). Asked
    of the database: a user with posts but no record has none to have changed."""
    return bool(records_changed(engine, [user_id], after, until))


def records_changed(engine: Engine | Session, user_ids: Iterable[str], after: dt.datetime,
                    until: dt.datetime | None = None) -> set[str]:
    """The users among ``user_ids`` whose stored record changed after ``after`` (and by ``until``)."""
    ids, out = sorted(set(user_ids)), set()
    with session(engine) as s:
        for start in range(0, len(ids), 500):
            query = (select(User.user_id).where(col(User.user_id).in_(ids[start:start + 500]))
                     .where(col(User.updated_at) > after))
            if until is not None:
                query = query.where(col(User.updated_at) <= until)
            out.update(s.exec(query).all())
    return out


def _opted_in_since(run: Run, user_id: str) -> str:
    return (f"this sensitive topic is weighed only for users who opted in to it, and the user's record (which holds "
            f"their opt-ins) changed after profile run {run.id}: run `perkmatch profile` to weigh it for {user_id} now")


def _covered(details: dict[str, Any], posts: int, names: dict[str, str]) -> str:
    """The verdict on a parent topic whose posts count for its inferred children (README, step 10)."""
    kids = ", ".join(f"{names.get(k, k)} ({k})" for k in details["covered_by"])
    said = (f"not shown: its posts count for the more specific {kids}, inferred instead (a parent is shown only when "
            "its posts beyond its inferred children's meet every threshold on their own)")
    if posts and details.get("shortfalls"):  # with none beyond them, every threshold "falls short" of nothing
        said += "; beyond them: " + "; ".join(details["shortfalls"])
    return said


def _short_on_posts(record: dict[str, Any], details: dict[str, Any], params: ProfileParams) -> bool:
    """Whether a topic falls short on a count of its original posts (posts, days, threads, engaged posts, or the
    confidence they give): then the posts that did not count as original say why."""
    return (record["posts"] < params.min_posts or record["days"] < params.min_days
            or record["threads"] < params.min_threads or details.get("engaged_posts", 0) < params.min_engaged_posts
            or record["confidence"] < params.min_confidence)


def _not_original(details: dict[str, Any]) -> list[str]:
    """What of a topic's posts did not count as the user's own (reshares, copies, repeats), when any did not."""
    kinds = [(details.get("shares", 0), "reshare(s) (each counts 0.2 of a post)"),
             (details.get("copies", 0), "post(s) copying another user's earlier post (counted as reshares)"),
             (details.get("duplicates_dropped", 0), "repeat(s) of an earlier post of theirs (not counted)")]
    parts = [f"{n} {what}" for n, what in kinds if n]
    if not parts:
        return []
    return [f"of its {details.get('posts_total', 0)} post(s), {', '.join(parts)}: only the user's own posts, "
            "each counted once, are original"]


def _unread_posts(engine: Engine, user_id: str, vocabulary: str | None) -> tuple[int, int]:
    """How many of the user's posts the latest run's model could not read (``classify.readable``; 0 when its model
    reads every post or its vocabulary file is gone), and how many are bare links, with no words of their own
    (``classify.WORDLESS_KEY``): neither kind is about any topic."""
    with session(engine) as s:
        rows = s.execute(select(Post.text, Post.context, Post.text_key).where(Post.user_id == user_id)).all()
    wordless = sum(r.text_key == WORDLESS_KEY for r in rows)
    if vocabulary is None or not Path(vocabulary).exists():
        return 0, wordless
    read = readable([r.text for r in rows], [r.context for r in rows], known_words(vocabulary))
    return sum(not ok and r.text_key != WORDLESS_KEY for ok, r in zip(read, rows, strict=True)), wordless


def _unread_words(unread: int, wordless: int) -> list[str]:
    return ([f"{unread} of the user's posts were not read: fewer than half of their words are words the model "
             "knows (written in another language?), so they are about no topic"] if unread else []) + (
        [f"{wordless} of the user's posts are bare links, with no words of their own, so they are about no topic"]
        if wordless else [])


def match_records(engine: Engine, run_id: int | None = None, user_id: str | None = None) -> list[dict[str, Any]]:
    """Contract `match` records of a match run (the latest by default), by user then rank."""
    run_id = run_id or latest_match_id(engine)
    with session(engine) as s:
        query = select(Assignment).where(Assignment.run_id == run_id)
        if user_id is not None:
            query = query.where(Assignment.user_id == user_id)
        rows = s.exec(query).all()
    # ordered here, not by the database: PostgreSQL's collation may sort "u_yogi" before "u-cyclist" and SQLite not
    return _assignment_records(engine, sorted(rows, key=lambda r: (r.user_id, r.rank)))


def latest_match_id(engine: Engine) -> int:
    run = latest_run(engine, "match")
    if run is None:
        raise NotReadyError("no match yet; run `perkmatch match` first")
    return int(run.id or 0)


def _assignment_records(engine: Engine, rows: list[Assignment], stored: bool = False) -> list[dict[str, Any]]:
    """Contract `match` records of stored assignments. A topic the user has withdrawn their opt-in to since the run
    (``taxonomy.not_shown``) is not cited, and an assignment that rested on such topics alone is not shown (the
    perk itself would tell it; the next `match` does without it), unless ``stored`` (for `export`)."""
    taxonomy = load_topics(engine)
    names, hidden = {t.topic_id: t.name for t in taxonomy}, _hidden(taxonomy, stored)
    latest = latest_run(engine, "profile")
    topic_ev: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    with session(engine) as s:
        perks = {v: _perks(s, {r.perk_id for r in rows if r.catalog_version == v}, v)
                 for v in {r.catalog_version for r in rows}}
        newest, live = _perks(s, {r.perk_id for r in rows}), live_version(s)
        profile_of = _profile_runs(s, {r.run_id for r in rows}, None if latest is None else int(latest.id or 0))
        for profile_run in sorted(set(profile_of.values()) - {None}):
            users = sorted({r.user_id for r in rows if profile_of[r.run_id] == profile_run})
            for e in s.exec(select(EvidencePost).where(EvidencePost.run_id == profile_run)
                            .where(col(EvidencePost.user_id).in_(users)).order_by(col(EvidencePost.rank))).all():
                topic_ev[(profile_run, e.user_id, e.topic_id)].append(e.post_pk)
        posts = _posts(s, {k for v in topic_ev.values() for k in v})
        opt_ins = _opt_ins(s, {r.user_id for r in rows})
    out = []
    for r in rows:
        perk = perks[r.catalog_version].get(r.perk_id)
        cited = json.loads(r.topics)
        shown = [t for t in cited if t["topic_id"] not in hidden(opt_ins.get(r.user_id))]
        if cited and not shown:
            continue
        from_run = profile_of[r.run_id]
        topics = [{"topic_id": t["topic_id"], "name": names.get(t["topic_id"], t["topic_id"]), "score": t["score"],
                   "fit": t["fit"], **({"relevance": t["relevance"]} if "relevance" in t else {}),
                   "evidence": [post_record(posts[k]) for k in topic_ev[(from_run, r.user_id, t["topic_id"])]
                                if k in posts]}
                  for t in shown]
        record = {"user_id": r.user_id, "perk_id": r.perk_id, "brand": perk.brand if perk else "",
                  "title": perk.title if perk else "", "rank": r.rank, "score": r.score, "topics": topics}
        since = _since(perk, newest.get(r.perk_id), live, r.catalog_version)
        out.append(record | ({"catalog_since": since} if since else {}))
    return out


def _since(matched: PerkRecord | None, newest: PerkRecord | None, live: int | None, version: int | None
           ) -> str | None:
    """'retired' or 'changed' when the live catalog has retired or changed the perk since catalog ``version``, which a
    match saw (``matched``: its record then; ``newest``: its last)."""
    if matched is None or newest is None:
        return None
    retired = newest.version_retired
    if retired is not None and live is not None and retired <= live and version is not None and retired > version:
        return "retired"
    return "changed" if newest.id != matched.id else None


def _matched_version(s: Session, run_id: int) -> int | None:
    """The catalog version a match run assigned from."""
    run = s.get(Run, run_id)
    return json.loads(run.params or "{}").get("catalog_version") if run else None


def _perks(s: Session, perk_ids: set[str], version: int | None = None) -> dict[str, PerkRecord]:
    """Each perk id's record as catalog ``version`` had it: what a match run on that version was shown (its title
    may have changed since); without a version, the newest record (retired ones included: history stays
    readable)."""
    out: dict[str, PerkRecord] = {}
    ids = sorted(perk_ids)
    for start in range(0, len(ids), 500):
        for p in s.exec(select(PerkRecord).where(col(PerkRecord.perk_id).in_(ids[start:start + 500]))
                        .order_by(col(PerkRecord.version_added))).all():
            if version is None or p.version_added <= version or p.perk_id not in out:
                out[p.perk_id] = p
    return out


def _profile_runs(s: Session, match_runs: set[int], latest: int | None) -> dict[int, int | None]:
    """The profile run each match run assigned from: its evidence is that run's (``latest`` for a match run made
    before runs recorded it)."""
    found = {int(r.id or 0): json.loads(r.params or "{}").get("profile_run", latest)
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
        perks = _perks(s, {r.perk_id for r in rows}, _matched_version(s, run_id))
    return [{"perk_id": r.perk_id, **_named(perks.get(r.perk_id)), "score": r.score, "reason": r.reason} for r in rows]


def _named(perk: PerkRecord | None) -> dict[str, str]:
    """A perk's brand and title, as a record shows them (empty for a perk no catalog version has)."""
    return {"brand": perk.brand if perk else "", "title": perk.title if perk else ""}


def withheld_hidden(engine: Engine, user_id: str, run_id: int) -> bool:
    """Whether the user's record (consent, region, opt-ins) changed after a match run: its withheld perks are then
    not shown. A withheld perk keeps no topic, so one that came through a sensitive topic whose opt-in the user has
    withdrawn since could not be told apart (an assignment can: ``_assignment_records``), and the run's reasons may
    no longer hold; the next match weighs them again."""
    with session(engine) as s:
        run = s.get(Run, run_id)
    return run is not None and record_changed(engine, user_id, run.started_at)


def brand_view(engine: Engine, perk_id: str) -> dict[str, Any]:
    """The users a perk is assigned to, ranked, with evidence; and who was left out as quantity ran out."""
    run_id = latest_match_id(engine)
    with session(engine) as s:
        newest = _perks(s, {perk_id}).get(perk_id)
        if newest is None:
            raise NotReadyError(unknown_perk(s, perk_id))
        matched_on = _matched_version(s, run_id)
        perk = _perks(s, {perk_id}, matched_on)[perk_id]  # as the match run saw it: its quantity, title, regions
        rows = sorted(s.exec(select(Assignment).where(Assignment.run_id == run_id)
                             .where(Assignment.perk_id == perk_id)).all(), key=lambda r: (-r.score, r.user_id))
        left = sorted(s.exec(select(Withheld).where(Withheld.run_id == run_id).where(Withheld.perk_id == perk_id)
                             .where(col(Withheld.reason).startswith("quantity"))).all(),
                      key=lambda r: (-r.score, r.user_id))
        version = live_version(s)
        gone = forgotten_units(s, run_id, perk_id)
        started = s.get(Run, run_id).started_at  # type: ignore[union-attr]
        changed = records_changed(s, (w.user_id for w in left), started)
    left = [w for w in left if w.user_id not in changed]  # not told once their record changed (withheld_hidden)
    records = _assignment_records(engine, list(rows))
    for i, rec in enumerate(records, start=1):
        rec["brand_rank"] = i
    retired = newest.version_retired is not None and version is not None and newest.version_retired <= version
    out = {"perk_id": perk_id, "brand": perk.brand, "title": perk.title, "quantity": perk.quantity,
           "assigned": len(rows) + gone,  # units used: of assignments no longer shown (an opt-in withdrawn), and
           "forgotten_units": gone,  # of users forgotten since the run (counted, with no id: ``forget``)
           "retired": retired, "regions": json.loads(perk.regions),
           "offer": "retired" if retired else _offer(perk, _match_day(engine, run_id)),
           "users": records, "left_out": [{"user_id": w.user_id, "score": w.score, "reason": w.reason} for w in left],
           "catalog_version": matched_on}
    since = _since(perk, newest, version, matched_on)
    if since:  # the brand sees the match as it was, and is told the catalog has moved on
        done = "was retired" if since == "retired" else "changed"
        out["note"] = (f"the perk {done} in the catalog after match run {run_id} (catalog version {matched_on}); this "
                       "is that run's view: run `perkmatch match` again")
    return out


def _match_day(engine: Engine, run_id: int) -> dt.date | None:
    """The day a match run checked offer dates against (its profile run's as-of, or `match --as-of`)."""
    with session(engine) as s:
        run = s.get(Run, run_id)
    return utc_day(run.as_of) if run else None


def _offer(perk: PerkRecord, day: dt.date | None) -> str:
    """Whether a perk's offer was open on the day (``match.offer_closed``): "open", "ended YYYY-MM-DD" or
    "starts YYYY-MM-DD"."""
    closed = offer_closed(perk, day) if day is not None else None
    return f"{closed[0]} {closed[1]}" if closed else "open"


def export_user(engine: Engine, user_id: str) -> dict[str, Any]:
    """Everything stored about a user, as one JSON-ready document (the right of access)."""
    user = require_user(engine, user_id)
    with session(engine) as s:
        posts = s.exec(select(Post).where(Post.user_id == user_id).order_by(col(Post.created_at), col(Post.id))).all()
        assigned = s.exec(select(Assignment).where(Assignment.user_id == user_id)
                          .order_by(col(Assignment.run_id), col(Assignment.rank))).all()
        withheld = s.exec(select(Withheld).where(Withheld.user_id == user_id)
                          .order_by(col(Withheld.run_id), col(Withheld.id))).all()
        held = {run_id: _perks(s, {w.perk_id for w in withheld if w.run_id == run_id}, _matched_version(s, run_id))
                for run_id in {w.run_id for w in withheld}}  # each perk as its match run's catalog version had it
        scored = s.exec(select(TopicScore).where(TopicScore.user_id == user_id)
                        .order_by(col(TopicScore.run_id), col(TopicScore.rank))).all()
        cited: dict[tuple[int, str], list[int]] = defaultdict(list)  # each run's evidence of each topic, ranked
        for e in s.exec(select(EvidencePost).where(EvidencePost.user_id == user_id)
                        .order_by(col(EvidencePost.run_id), col(EvidencePost.rank))).all():
            cited[(e.run_id, e.topic_id)].append(e.post_pk)
    run = latest_run(engine, "profile")
    topics = [] if run is None else topic_records(engine, int(run.id or 0), [user_id], True, stored=True)[0]["topics"]
    keys = {p.id: {"post_id": p.post_id, "platform": p.platform} for p in posts}  # evidence names the export's posts
    earlier: dict[int, list[dict[str, Any]]] = defaultdict(list)  # what earlier profile runs kept (snapshots)
    for r in scored:
        if run is None or r.run_id != run.id:
            earlier[r.run_id].append({"topic_id": r.topic_id, "status": r.status, "rank": r.rank, "score": r.score,
                                      "confidence": r.confidence, "posts": r.posts, "days": r.days,
                                      "engagement": r.engagement, "details": json.loads(r.details or "{}"),
                                      "evidence": [keys[k] for k in cited[(r.run_id, r.topic_id)] if k in keys]})
    record = json.loads(user.extra or "{}") | {  # the users-file shape, so an export can be ingested again
        "user_id": user.user_id, "handle": user.handle, "region": user.region, "consent": user.consent,
        "sensitive_opt_in": json.loads(user.sensitive_opt_in or "[]")}
    return {"user": record,
            "posts": [post_record(p) for p in posts],
            "topics": topics,
            "earlier_profile_runs": [{"run_id": k, "topics": v} for k, v in sorted(earlier.items())],
            "assignments": [a | {"match_run": row.run_id, "catalog_version": row.catalog_version} for a, row in
                            zip(_assignment_records(engine, list(assigned), stored=True), assigned, strict=True)],
            "withheld": [{"match_run": w.run_id, "perk_id": w.perk_id, **_named(held[w.run_id].get(w.perk_id)),
                          "score": w.score, "reason": w.reason} for w in withheld]}
