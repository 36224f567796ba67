"""Why the latest match run gave a user no perk (``no_perks_reason``), in plain words: no match yet, not profiled by
the profile run it used, no topic inferred or only sensitive ones not shown, every fitting perk withheld, an empty
catalog, or no live perk close enough. Why a given perk went to a user or not is ``matcher.why_perk``'s.
"""

from sqlalchemy import Engine, func
from sqlmodel import select

from catalog.refresh import live_perks
from matcher.assignments import matched_profile, matched_version
from matcher.profile_run import latest_run
from matcher.profile_types import ProfileParams
from matcher.store import Assignment, Post, Run, TopicScore, User, Withheld, session
from matcher.taxonomy import known_names, load_topics
from matcher.topic_records import not_profiled, require_user
from matcher.topic_tree import not_shown


def no_perks_reason(engine: Engine, user_id: str) -> str:
    """Why the latest match run gave a user no perk, in plain words."""
    match = latest_run(engine, "match")
    if match is None:
        return f"{user_id} has no perks: no match has run yet (`perkmatch match`)"
    profile_id = matched_profile(match)
    with session(engine) as s:
        profile = s.get(Run, profile_id) if profile_id else None
    user = require_user(engine, user_id)
    unprofiled = _unprofiled(engine, match, profile, profile_id, user)
    if unprofiled:
        return unprofiled
    with session(engine) as s:
        scored = s.exec(select(TopicScore.topic_id, TopicScore.status).where(TopicScore.run_id == profile_id)
                        .where(TopicScore.user_id == user_id)).all()
        withheld = s.exec(select(Withheld.perk_id).where(Withheld.run_id == match.id)
                          .where(Withheld.user_id == user_id)).all()
    hidden = not_shown(load_topics(engine))(user.sensitive_opt_in)  # an opt-in withdrawn since: never named
    topics = [t for t, status in scored if status == "inferred" and t not in hidden]
    if not topics:
        return _no_topic(engine, match, profile_id, user_id, list(scored), hidden)
    if withheld:
        return f"{user_id} got no perk in match run {match.id}: each perk that fits their topics was withheld (below)"
    with session(engine) as s:
        version = matched_version(s, int(match.id or 0))
        if version is not None and not live_perks(s, version):
            return (f"{user_id} got no perk in match run {match.id}: the catalog it matched against (version "
                    f"{version}) has no live perk at all")
    names = known_names(engine, load_topics(engine))
    return (f"{user_id} got no perk in match run {match.id}: no live perk fits their topics "
            f"({', '.join(sorted(names[t] for t in topics))}) closely enough")


def _unprofiled(engine: Engine, match: Run, profile: Run | None, profile_id: int | None, user: User) -> str | None:
    """Why, when the profile run the match used did not profile the user (a newer one did, perhaps)."""
    user_id = user.user_id
    missing = not_profiled(engine, profile, user) if profile else None
    newer = latest_run(engine, "profile")
    if missing and newer is not None and newer.id != profile_id and not_profiled(engine, newer, user) is None:
        return (f"{user_id} got no perk in match run {match.id}: that run used profile run {profile_id}, made before "
                f"they were profiled (profile run {newer.id}); run `perkmatch match` to match them")
    if missing:
        return f"{user_id} got no perk in match run {match.id}: {missing.split(': ', 1)[1]}"
    return None


def _no_topic(engine: Engine, match: Run, profile_id: int | None, user_id: str, scored: list[tuple[str, str]],
              hidden: frozenset[str]) -> str:
    """Why, when no topic of the user's is shown: those inferred are all sensitive ones not shown to them, none was
    inferred, or none of their posts is about any topic often enough."""
    if any(status == "inferred" for _, status in scored):  # all hidden now: counted, not named
        with session(engine) as s:  # perks it gave them through those topics are not shown either
            got = s.exec(select(Assignment.id).where(Assignment.run_id == match.id)
                         .where(Assignment.user_id == user_id)).first() is not None
        said = f"has no perk to show from match run {match.id}" if got else f"got no perk in match run {match.id}"
        return (f"{user_id} {said}: the topics inferred for them in profile "
                f"run {profile_id} are sensitive ones they have not opted in to (the taxonomy marks them so, or the "
                "user withdrew an opt-in, since that run), which are never shown or matched on")
    if scored:
        return (f"{user_id} got no perk in match run {match.id}: no topic was inferred for them in profile run "
                f"{profile_id} (`perkmatch topics {user_id} --candidates` shows what fell short)")
    with session(engine) as s:
        posts = s.exec(select(func.count()).select_from(Post).where(Post.user_id == user_id)).one()
    # a run keeps no row of a sensitive topic the user did not opt in to: their posts may be about one
    aside = (", sensitive topics aside: those are weighed only for users who opted in to them"
             if posts and hidden else "")
    return (f"{user_id} got no perk in match run {match.id}: none of their {posts} post(s) is about any topic "
            f"often enough to be weighed (a topic needs at least {ProfileParams().min_posts} posts on it){aside}")
