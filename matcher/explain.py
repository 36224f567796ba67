"""Explanations in plain words: why a topic was inferred about a user or what fell short, against the thresholds,
with the evidence; a topic the run weighed but did not keep is worked out again (``matcher.work_again``).

The records these explanations rest on are read by ``matcher.topic_records`` (profile runs); the words of a verdict
are ``matcher.topic_verdicts``'. Why a user got no perk is ``matcher.why_no_perk``; why a perk went to a user or to
nobody, ``matcher.why_perk``.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import select

from catalog.rows import meant_ids
from matcher.classify import WORDLESS_KEY, readable
from matcher.embed import EmbeddingCache
from matcher.errors import UnknownTopicError
from matcher.incremental import user_digests
from matcher.model_files import known_words
from matcher.profile_run import latest_run
from matcher.profile_types import ProfileParams, TopicResult
from matcher.store import Post, ProfiledUser, Run, TopicScore, session
from matcher.taxonomy import TopicNames, known_names, load_topics
from matcher.topic_records import (
    record_changed,
    require_profile,
    require_profiled,
    require_user,
    topic_records,
)
from matcher.topic_tree import TopicInfo, not_shown
from matcher.topic_verdicts import (
    covered,
    no_post_about,
    not_original,
    opted_in_since,
    short_on_posts,
    thresholds,
    unread_words,
)
from matcher.work_again import worked_again, worked_record

__all__ = ["changed_since", "explain_topic", "known_topic", "thresholds"]


def explain_topic(engine: Engine, user_id: str, topic_id: str, shared: dict[str, Any] | None = None,
                  cache: Callable[[], EmbeddingCache] | None = None) -> dict[str, Any]:
    """Why a topic was, or was not, inferred for a user: verdict, numbers, thresholds, evidence. ``shared``: what
    explaining one user's topics reads every time (their records, their posts' readability), kept there across calls
    by a caller explaining many of them (the user report: before, a user of 20,000 posts took 0.5 s a topic).
    ``cache``: the embedding cache, loaded when needed, to work out again a topic the run weighed but did not keep
    (``worked_again``); without it such a topic is said to be not among those kept."""
    once = _Once({} if shared is None else shared)
    taxonomy = once("taxonomy", lambda: load_topics(engine))
    topic = _topic(engine, taxonomy, user_id, topic_id)
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
        record = worked_record(engine, run, user_id, worked, TopicNames({t.topic_id: t.name for t in taxonomy}))
        details = record.pop("details")
    if details.get("covered_by"):  # never name a sensitive child the user does not (or no longer) opt in to
        details["covered_by"] = [k for k in details["covered_by"] if k not in hidden]
    verdict = _verdict(engine, record, details, params, taxonomy, once, _unread(engine, run, user_id, once))
    out.update(inferred=record["status"] == "inferred", verdict=verdict, details=details,
               **{k: record[k] for k in _FROM_RECORD})
    return out


_FROM_RECORD = ("score", "confidence", "posts", "days", "threads", "engagement", "engagement_vs_usual", "first", "last",
                "evidence")  # what an explanation shows of the topic's record, as ``topics`` gives it


def _topic(engine: Engine, taxonomy: list[TopicInfo], user_id: str, topic_id: str) -> TopicInfo:
    """The topic in the taxonomy; one of the latest run for this user, gone from a taxonomy loaded since, as listed
    (``_scored_before``); otherwise ``UnknownTopicError``."""
    try:
        return known_topic(taxonomy, topic_id)
    except UnknownTopicError:
        topic = _scored_before(engine, user_id, topic_id)
        if topic is None:
            raise
        return topic


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
        reason = (opted_in_since(run, user_id) if late else no_post_about(params) if isinstance(again, tuple)
                  else _absent(engine, run, user_id, params) + (f" (it cannot be worked out again: {again})"
                                                                if again else ""))
        unread, wordless = _unread(engine, run, user_id, once)
        out.update(inferred=False, verdict="not inferred: " + "; ".join([reason] + unread_words(unread, wordless)))
    return found


def _verdict(engine: Engine, record: dict[str, Any], details: dict[str, Any], params: ProfileParams,
             taxonomy: list[TopicInfo], once: _Once, unread: tuple[int, int]) -> str:
    """The verdict on a topic the run weighed: inferred, covered by inferred children, or what fell short."""
    if record["status"] == "inferred":
        return "inferred: every threshold is met"
    if details.get("covered_by"):
        # (a child the taxonomy dropped since the run keeps the name it was last loaded with, as `topics` shows it)
        return covered(details, record["posts"], once("names", lambda: known_names(engine, taxonomy)))
    counted = short_on_posts(record, details, params)
    reasons = details.get("shortfalls", []) + (not_original(details) if counted else []) + unread_words(*unread)
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
    name = known_names(engine, [])[topic_id]  # (the loaded taxonomy lacks it: the kept names alone)
    return TopicInfo(topic_id, name, None, "", False)


def known_topic(taxonomy: list[TopicInfo], topic_id: str) -> TopicInfo:
    """The loaded taxonomy's topic of this id; else an error naming the topics meant most likely (its name given
    for its id, another case, a typo)."""
    for topic in taxonomy:
        if topic.topic_id == topic_id:
            return topic
    by_id = {t.topic_id: t for t in taxonomy}
    near = [by_id[i] for i in meant_ids(topic_id, {t.topic_id: t.name for t in taxonomy})]
    hint = (": did you mean " + " or ".join(f"'{t.topic_id}' ({t.name})" for t in near) + "?") if near else ";"
    raise UnknownTopicError(f"no topic '{topic_id}' in the loaded taxonomy{hint} `perkmatch taxonomy show` lists the "
                            "ids in use")


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
    return no_post_about(params)


def _short_listed(engine: Engine, run: Run, user_id: str, params: ProfileParams) -> bool:
    """Whether the run kept as many topics that fell short as it keeps (so it may have weighed others)."""
    with session(engine) as s:
        kept = s.exec(select(func.count()).select_from(TopicScore).where(TopicScore.run_id == run.id)
                      .where(TopicScore.user_id == user_id).where(TopicScore.status != "inferred")).one()
    return bool(kept >= params.max_candidates)


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
