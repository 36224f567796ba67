"""Explanations in plain words: why a topic was inferred about a user or what fell short, against the thresholds,
with the evidence; and why a user got no perk.

The records these explanations rest on are read by ``matcher.topic_records`` (profile runs) and
``matcher.assignments`` (match runs); why a perk went to a user or to nobody is ``matcher.why_perk``.
"""

import dataclasses
import difflib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import col, select

from catalog.refresh import live_perks
from matcher.assignments import matched_profile, matched_version
from matcher.classify import WORDLESS_KEY, ClassifyParams, readable
from matcher.embed import EmbeddingCache
from matcher.encoder import known_words
from matcher.errors import UnknownTopicError
from matcher.incremental import user_digests
from matcher.profile_chunk import compute_users
from matcher.profile_run import details_json, latest_run
from matcher.profile_types import ProfileParams, TopicResult
from matcher.rework import run_space
from matcher.store import (
    Assignment,
    EvidencePost,
    Post,
    ProfiledUser,
    Run,
    TopicScore,
    Withheld,
    session,
)
from matcher.taxonomy import TopicInfo, known_names, load_topics, not_shown
from matcher.topic_records import (
    SHOWN_EVIDENCE,
    not_profiled,
    posts_by_key,
    record_changed,
    require_profile,
    require_profiled,
    require_user,
    topic_record,
    topic_records,
)


def no_perks_reason(engine: Engine, user_id: str) -> str:
    """Why the latest match run gave a user no perk, in plain words."""
    match = latest_run(engine, "match")
    if match is None:
        return f"{user_id} has no perks: no match has run yet (`perkmatch match`)"
    profile_id = matched_profile(match)
    with session(engine) as s:
        profile = s.get(Run, profile_id) if profile_id else None
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
    if not topics and any(status == "inferred" for _, status in scored):  # all hidden now: counted, not named
        with session(engine) as s:  # perks it gave them through those topics are not shown either
            got = s.exec(select(Assignment.id).where(Assignment.run_id == match.id)
                         .where(Assignment.user_id == user_id)).first() is not None
        said = f"has no perk to show from match run {match.id}" if got else f"got no perk in match run {match.id}"
        return (f"{user_id} {said}: the topics inferred for them in profile "
                f"run {profile_id} are sensitive ones they have not opted in to (the taxonomy marks them so, or the "
                "user withdrew an opt-in, since that run), which are never shown or matched on")
    if not topics and scored:
        return (f"{user_id} got no perk in match run {match.id}: no topic was inferred for them in profile run "
                f"{profile_id} (`perkmatch topics {user_id} --candidates` shows what fell short)")
    if not topics:
        with session(engine) as s:
            posts = s.exec(select(func.count()).select_from(Post).where(Post.user_id == user_id)).one()
        # a run keeps no row of a sensitive topic the user did not opt in to: their posts may be about one
        aside = (", sensitive topics aside: those are weighed only for users who opted in to them"
                 if posts and hidden else "")
        return (f"{user_id} got no perk in match run {match.id}: none of their {posts} post(s) is about any topic "
                f"often enough to be weighed (a topic needs at least {ProfileParams().min_posts} posts on it){aside}")
    if withheld:
        return f"{user_id} got no perk in match run {match.id}: each perk that fits their topics was withheld (below)"
    with session(engine) as s:
        version = matched_version(s, int(match.id or 0))
        if version is not None and not live_perks(s, version):
            return (f"{user_id} got no perk in match run {match.id}: the catalog it matched against (version "
                    f"{version}) has no live perk at all")
    names = known_names(engine, load_topics(engine))
    return (f"{user_id} got no perk in match run {match.id}: no live perk fits their topics "
            f"({', '.join(sorted(names.get(t, t) for t in topics))}) closely enough")


def explain_topic(engine: Engine, user_id: str, topic_id: str, shared: dict[str, Any] | None = None,
                  cache: Callable[[], EmbeddingCache] | None = None) -> dict[str, Any]:
    """Why a topic was, or was not, inferred for a user: verdict, numbers, thresholds, evidence. ``shared``: what
    explaining one user's topics reads every time (their records, their posts' readability), kept there across calls
    by a caller explaining many of them (the user report: before, a user of 20,000 posts took 0.5 s a topic).
    ``cache``: the embedding cache, loaded when needed, to work out again a topic the run weighed but did not keep
    (``worked_again``); without it such a topic is said to be not among those kept."""
    once = _Once({} if shared is None else shared)
    taxonomy = once("taxonomy", lambda: load_topics(engine))
    topic: TopicInfo | None
    try:
        topic = known_topic(taxonomy, topic_id)
    except UnknownTopicError:  # a topic of the latest run for this user, gone from a taxonomy loaded since: as listed
        topic = _scored_before(engine, user_id, topic_id)
        if topic is None:
            raise
    user = once("user", lambda: require_user(engine, user_id))
    run = once("run", lambda: require_profile(engine))
    once("profiled", lambda: require_profiled(engine, run, user))
    params = ProfileParams()
    records = once("records", lambda: topic_records(engine, int(run.id or 0), [user_id], candidates=True)[0]["topics"])
    record = next((t for t in records if t["topic_id"] == topic_id), None)
    out = _topic_context(engine, run, user_id, topic_id, topic.name, params, once)
    shown = not_shown(taxonomy)
    hidden = shown(user.sensitive_opt_in)
    if topic_id in hidden:
        out.update(inferred=False, verdict="not inferred: this is a sensitive topic and the user has not opted in "
                   "to it, so perkmatch never infers or shows it")
        return out
    if record is not None:
        details = _stored_details(engine, run, user_id, topic_id)
    else:
        late = topic_id in shown(None) and record_changed(engine, user_id, run.started_at)
        # (opted in since the run, perhaps: it weighed the topic only if they had by then)
        worked = _not_kept(engine, run, user_id, topic_id, late, params, cache, once, out)
        if worked is None:
            return out
        record = _worked_record(engine, run, user_id, worked, {t.topic_id: t.name for t in taxonomy})
        details = record.pop("details")
    if details.get("covered_by"):  # never name a sensitive child the user does not (or no longer) opt in to
        details["covered_by"] = [k for k in details["covered_by"] if k not in hidden]
    verdict = _verdict(engine, record, details, params, taxonomy, once, _unread(engine, run, user_id, once))
    out.update(inferred=record["status"] == "inferred", verdict=verdict, details=details,
               **{k: record[k] for k in ("score", "confidence", "posts", "days", "threads", "engagement",
                                         "engagement_vs_usual", "first", "last", "evidence")})
    return out


class _Once:
    """What explaining one user's topics reads every time, read once: kept in ``shared`` under a key."""

    def __init__(self, shared: dict[str, Any]) -> None:
        self.shared = shared

    def __call__(self, key: str, read: Callable[[], Any]) -> Any:
        if key not in self.shared:
            self.shared[key] = read()
        return self.shared[key]


def _topic_context(engine: Engine, run: Run, user_id: str, topic_id: str, name: str, params: ProfileParams,
                   once: _Once) -> dict[str, Any]:
    """What every answer about the topic says, whatever its verdict: the thresholds, the words and collection posts
    that shaped the topic in the run, the user's posts the model cannot read, and whether their posts changed since."""
    out: dict[str, Any] = {"user_id": user_id, "topic_id": topic_id, "name": name, "run_id": run.id,
                           "thresholds": thresholds(params)}
    run_params = json.loads(run.params or "{}")
    related = run_params.get("related_words", {}).get(topic_id)
    if related:
        out["related_words"] = related  # posts naming these count as about the topic too
    fitted = run_params.get("topic_vectors", {}).get("mass", {}).get(topic_id)
    if fitted:
        out["fitted_on_posts"] = fitted  # posts in the collection plainly about the topic, shaping its vector
    unread, wordless = _unread(engine, run, user_id, once)
    if unread:
        out["unread_posts"] = unread  # the user's posts the model cannot read: about no topic at all
    if wordless:
        out["wordless_posts"] = wordless  # bare links: about no topic either
    if once("changed_since", lambda: changed_since(engine, run, user_id)):
        out["posts_changed_since_run"] = True  # the verdict is the run's: `profile` works it out again
    return out


def _unread(engine: Engine, run: Run, user_id: str, once: _Once) -> tuple[int, int]:
    """The user's posts the model cannot read, and their bare links (``_unread_posts``), read once."""
    vocabulary = json.loads(run.params or "{}").get("vocabulary")
    counts: tuple[int, int] = once("unread", lambda: _unread_posts(engine, user_id, vocabulary))
    return counts


def _stored_details(engine: Engine, run: Run, user_id: str, topic_id: str) -> dict[str, Any]:
    """The details the run stored for the user's topic (``TopicScore.details``)."""
    with session(engine) as s:
        details: dict[str, Any] = json.loads(s.exec(select(TopicScore.details).where(TopicScore.run_id == run.id)
                                                    .where(TopicScore.user_id == user_id)
                                                    .where(TopicScore.topic_id == topic_id)).one())
    return details


def _not_kept(engine: Engine, run: Run, user_id: str, topic_id: str, late: bool, params: ProfileParams,
              cache: Callable[[], EmbeddingCache] | None, once: _Once, out: dict[str, Any]) -> TopicResult | None:
    """A topic the run keeps no record of for the user: worked out again when the run may have weighed it and not
    kept it, or the user's data changed since (a run a withdrawn opt-in could not be repeated for keeps fewer of the
    topics that fell short: ``rework.rework_withdrawn``), and returned; or None, with the verdict put in ``out``
    (opted in since the run, no post about it, or absent from the run)."""
    short_listed = _short_listed(engine, run, user_id, params)
    again = None if late or cache is None or not (short_listed or once(
        "changed_since", lambda: changed_since(engine, run, user_id))) else once(
        "worked_again", lambda: worked_again(engine, cache, run, user_id))
    if isinstance(again, tuple):
        kept = (f"profile run {run.id} keeps only the {params.max_candidates} topics closest to being inferred "
                "that fell short, and this is not one of them" if short_listed else
                f"profile run {run.id} keeps no score of this topic for the user")
        out["worked_again"] = (f"{kept}: worked out again for this answer, as the run worked it out" + (
            "" if again[1] else ", but from the user's posts and record as they are now, which changed after the "
            "run (`perkmatch profile` brings it up to date)"))
        out["posts_changed_since_run"] = out.get("posts_changed_since_run", False) or not again[1]
    found: TopicResult | None = again[0].get(topic_id) if isinstance(again, tuple) else None
    if found is None:
        reason = (_opted_in_since(run, user_id) if late else _no_post_about(params) if isinstance(again, tuple)
                  else _absent(engine, run, user_id, params) + (f" (it cannot be worked out again: {again})"
                                                                if again else ""))
        unread, wordless = _unread(engine, run, user_id, once)
        out.update(inferred=False, verdict="not inferred: " + "; ".join([reason] + _unread_words(unread, wordless)))
    return found


def _verdict(engine: Engine, record: dict[str, Any], details: dict[str, Any], params: ProfileParams,
             taxonomy: list[TopicInfo], once: _Once, unread: tuple[int, int]) -> str:
    """The verdict on a topic the run weighed: inferred, covered by inferred children, or what fell short."""
    if record["status"] == "inferred":
        return "inferred: every threshold is met"
    if details.get("covered_by"):
        # (a child the taxonomy dropped since the run keeps the name it was last loaded with, as `topics` shows it)
        return _covered(details, record["posts"], once("names", lambda: known_names(engine, taxonomy)))
    counted = _short_on_posts(record, details, params)
    reasons = details.get("shortfalls", []) + (_not_original(details) if counted else []) + _unread_words(*unread)
    return "not inferred: " + "; ".join(reasons)


def _scored_before(engine: Engine, user_id: str, topic_id: str) -> TopicInfo | None:
    """A topic the latest profile run scored for the user but the taxonomy no longer has (replaced since the run):
    `topics` still lists the run's topics, with a warning, so `explain` answers from the run too, naming the topic as
    `topics` does: by the name it was last loaded with (``taxonomy.known_names``; its id when none was kept)."""
    run = latest_run(engine, "profile")
    if run is None:
        return None
    with session(engine) as s:
        scored = s.exec(select(TopicScore.id).where(TopicScore.run_id == run.id).where(TopicScore.user_id == user_id)
                        .where(TopicScore.topic_id == topic_id).limit(1)).first()
    if scored is None:
        return None
    name = known_names(engine, []).get(topic_id, topic_id)  # (the loaded taxonomy lacks it: the kept names alone)
    return TopicInfo(topic_id, name, None, "", False)


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
            "engagement_vs_usual": round(math.exp(params.min_lift), 4), "burst_share": params.max_burst_share,
            "thread_share": params.max_thread_share,
            "confidence": params.min_confidence, "plain": params.min_plain, "own_words": params.alone_min,
            "share_of_strongest": params.min_share_of_best}


def changed_since(engine: Engine, run: Run, user_id: str) -> bool:
    """Whether what a profile run read of the user changed since (their digest: their posts written by its as-of day,
    and their opt-ins): what it says of them is then not what it would say now."""
    with session(engine) as s:
        read = s.exec(select(ProfiledUser.digest).where(ProfiledUser.run_id == run.id)
                      .where(ProfiledUser.user_id == user_id)).first()
    return read is not None and read != user_digests(engine, [user_id], run.as_of)[user_id]


def _absent(engine: Engine, run: Run, user_id: str, params: ProfileParams) -> str:
    """Why a run kept no score of a topic for the user: no post of theirs is about it, or it was not among the
    candidates kept (``ProfileParams.max_candidates``, the closest that fell short)."""
    if _short_listed(engine, run, user_id, params):
        return (f"it is not among the {params.max_candidates} topics closest to being inferred that fell short, the "
                f"only ones kept (`perkmatch topics {user_id} --candidates` lists them)")
    return _no_post_about(params)


def _no_post_about(params: ProfileParams) -> str:
    return (f"none of the user's posts is about this topic (membership {params.member_min:g} or more: a post belongs "
            f"to the {ClassifyParams().top_k} topics it is closest to at most, and only as much as it is closer to "
            "them than to the others)")


def _short_listed(engine: Engine, run: Run, user_id: str, params: ProfileParams) -> bool:
    """Whether the run kept as many topics that fell short as it keeps (so it may have weighed others)."""
    with session(engine) as s:
        kept = s.exec(select(func.count()).select_from(TopicScore).where(TopicScore.run_id == run.id)
                      .where(TopicScore.user_id == user_id).where(TopicScore.status != "inferred")).one()
    return bool(kept >= params.max_candidates)


def worked_again(engine: Engine, load: Callable[[], EmbeddingCache], run: Run, user_id: str
                 ) -> tuple[dict[str, TopicResult], bool] | str:
    """Every topic the run weighed for the user, kept or not (it keeps only the ``max_candidates`` closest to being
    inferred that fell short), worked out again as the run worked them out (``rework.run_space``). Returns the topics
    by id, and whether the user's posts and opt-ins are still those the run read (their digest, and no post of theirs
    stored since the run started: a new one has no vector until `profile`, so the digest cannot see it); or, when the
    run cannot be repeated, why."""
    space = run_space(engine, load, run)
    if isinstance(space, str):
        return space
    every = dataclasses.replace(ProfileParams(), max_candidates=len(space[1].ids))  # what is kept, not how measured
    results, _, digests = compute_users(engine, space[0], space[1], [user_id], run.as_of, ClassifyParams(), every)
    with session(engine) as s:
        read = s.exec(select(ProfiledUser.digest).where(ProfiledUser.run_id == run.id)
                      .where(ProfiledUser.user_id == user_id)).first()
        stored_since = s.exec(select(Post.id).where(Post.user_id == user_id)
                              .where(col(Post.updated_at) > run.started_at).limit(1)).first()
    return {r.topic_id: r for r in results.get(user_id, [])}, read == digests.get(user_id) and stored_since is None


def _worked_record(engine: Engine, run: Run, user_id: str, found: TopicResult, names: dict[str, str]
                   ) -> dict[str, Any]:
    """A topic worked out again (``worked_again``) as ``topic_records`` gives a stored one, with its details."""
    score = TopicScore(run_id=int(run.id or 0), user_id=user_id, topic_id=found.topic_id,
                       status="inferred" if found.inferred else "candidate", rank=0, score=found.score,
                       confidence=found.confidence, posts=found.posts, days=found.days, engagement=found.engagement,
                       details=details_json(found.details))
    evidence = [EvidencePost(run_id=int(run.id or 0), user_id=user_id, topic_id=found.topic_id, post_pk=key, rank=i,
                             weight=w) for i, (key, w) in enumerate(found.evidence[:SHOWN_EVIDENCE], start=1)]
    with session(engine) as s:
        posts = posts_by_key(s, {e.post_pk for e in evidence})
    return topic_record(score, names, evidence, posts) | {"details": json.loads(score.details)}


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
    return bool(record["posts"] < params.min_posts or record["days"] < params.min_days
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
    were, are, its = ("was", "is", "its") if unread == 1 else ("were", "are", "their")
    return ([f"{unread} of the user's posts {were} not read: fewer than half of {its} words are words the model "
             f"knows (written in another language?), so {'it is' if unread == 1 else 'they are'} about no topic"]
            if unread else []) + (
        [f"{wordless} of the user's posts {'is a bare link' if wordless == 1 else 'are bare links'}, with no words of "
         f"{'its' if wordless == 1 else 'their'} own, so {'it is' if wordless == 1 else 'they are'} about no topic"]
        if wordless else [])
