"""The `profile` command: embed new posts and compute every consenting user's topic profile, here or on a Ray
cluster, and warn of a run that profiled no one or an --as-of that empties it."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from matcher.cli import common
from matcher.cli.common import (
    DbOpt,
    JsonOpt,
    ModelOpt,
    PolicyOpt,
    engine,
    err,
    out,
    parse_as_of,
    print_json,
    progress,
    warn_policy,
)

if TYPE_CHECKING:
    from matcher.profile_run import ProfileSummary


def profile(
    db: DbOpt = None,
    model: ModelOpt = None,
    policy: PolicyOpt = "opt-in",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Profile as of this ISO date/time (a date alone: "
                                              "the end of that day, UTC) \\[default: the end of today]; only posts "
                                              "written by then count, and recency counts from it.",
                                              show_default=False)] = None,
    engine_kind: Annotated[str, typer.Option("--engine", help="Where to embed and profile: local (this machine; "
                                             "runs of 500+ users use a worker process per core) "
                                             "or ray (a Ray cluster; pip install 'perkmatch\\[ray]'). Same result.")]
    = "local",
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="The Ray cluster for --engine ray: "
                                                    "HOST:6379, auto (the one started on this node), or local (a "
                                                    "cluster started for this run) \\[default: $RAY_ADDRESS, else "
                                                    "local]",
                                                    show_default=False)] = None,
    refit: Annotated[bool, typer.Option("--refit", help="Fit the topic vectors to the collection again now "
                                        "(otherwise an earlier fit is reused until the posts have changed by "
                                        "10%, or a user's data was deleted).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Embed new posts and compute every consenting user's topic profile (a new snapshot)."""
    if engine_kind not in ("local", "ray"):
        raise typer.BadParameter(f"--engine {engine_kind}: use local or ray")
    if ray_address is not None and engine_kind != "ray":
        raise typer.BadParameter("--ray-address is for --engine ray")
    warn_policy(policy)
    when = parse_as_of(as_of)
    eng = engine(db, existing=True)  # a mistyped --db in a nightly job is an error, not an empty run that "worked"
    summary = _run(eng, model, policy, when, engine_kind, ray_address, refit)
    _print_summary(summary, as_json)
    _warn_after(eng, summary, policy, as_of, when)


def _run(eng: Any, model: str | None, policy: str, when: int | None, engine_kind: str, ray_address: str | None,
         refit: bool) -> "ProfileSummary":
    """The profile run under a progress bar, here or on a Ray cluster (started, or joined, under the profile lock)."""
    import contextlib

    from matcher.engine_local import Executor
    from matcher.profile_run import run_profile

    executor: Executor | None = None
    with contextlib.ExitStack() as stack:
        if engine_kind == "ray":
            from matcher.engine_ray import RayExecutor
            from matcher.locks import profile_lock
            from matcher.ray_cluster import ray_cluster

            stack.enter_context(profile_lock(eng))  # a run under way: wait for it before starting a cluster
            err.print(stack.enter_context(ray_cluster(ray_address)), style="dim")
            executor = RayExecutor(common.encoder_factory(model))
        source = common.cache(eng, model)
        with progress() as bar:
            return run_profile(eng, source, policy=policy, as_of=when, progress=bar, executor=executor, refit=refit)


def _print_summary(summary: "ProfileSummary", as_json: bool) -> None:
    """The run's record (`--json`) or its two lines: what it read, embedded and inferred; the topic vectors used."""
    record = {"run_id": summary.run_id, "users": summary.users, "posts": summary.posts,
              "embedded": summary.embedded, "inferred_topics": summary.inferred_topics,
              "recomputed_users": summary.recomputed, "reused_users": summary.reused,
              "topic_vectors_run": summary.topic_vectors_run, "seconds": round(summary.seconds, 2),
              "embed_seconds": round(summary.embed_seconds, 2), "encode_seconds": round(summary.encode_seconds, 2)}
    if as_json:
        print_json(record)
        return
    out.print(f"profile run {summary.run_id}: {summary.users} users, {summary.posts} posts, "
              f"{summary.embedded} texts embedded, {summary.inferred_topics} topics inferred "
              f"({summary.recomputed} users recomputed, {summary.reused} unchanged) in {summary.seconds:.1f}s")
    fitted = summary.topic_vectors_run == summary.run_id
    out.print("topic vectors fitted to the collection in this run" if fitted else
              f"topic vectors of run {summary.topic_vectors_run} reused (the collection changed little since)")


def _warn_after(eng: Any, summary: "ProfileSummary", policy: str, as_of: str | None, when: int | None) -> None:
    """Warnings on stderr for a run that profiled no one for want of consent, or read no post or only faded ones by
    its --as-of day (`match` reads the run all the same)."""
    from matcher.eligible import not_opted_in

    if not summary.users and policy == "opt-in" and (waiting := not_opted_in(eng)):
        err.print(f"Warning: no user was profiled: none of the {waiting:,} users with posts has opted in (their "
                  "consent is unknown), and their posts were not read. Record consent with "
                  "`perkmatch ingest --users USERS` (consent: opted_in); or, where your terms allow profiling "
                  "everyone who has not opted out, run `perkmatch profile --consent-policy opt-out`")
    if summary.users and not summary.posts and as_of:  # a typo in the date: the run is the one `match` reads now
        err.print(f"Warning: --as-of {as_of}: none of the {summary.users} users' posts was written by then, so every "
                  "profile of this run is empty, and `match` now reads it; run `perkmatch profile` with the date meant")
    elif summary.posts and as_of and (faded := _faded(eng, when)):
        years, day, halvings = faded
        err.print(f"Warning: --as-of {as_of} is {years:,.0f} years after the newest post ({day}): recency has halved "
                  f"every post's weight {halvings:,} times since, so the scores round to 0 and no longer rank topics "
                  "(a topic resting on posts that count for nothing may be inferred), and `match` now reads this run; "
                  "if the year was mistyped, run `perkmatch profile` with the date meant")


def _faded(eng: Any, when: int | None) -> tuple[float, str, int] | None:
    """How many years ``when`` is after the newest post written by then, that post's day, and how many half-lives
    (``ProfileParams.half_life_days``) have passed since, when more than ten: scores, kept to 4 decimals, are 0 from
    about there."""
    import datetime as dt

    from sqlalchemy import func, select
    from sqlmodel import col

    from matcher.profile_types import ProfileParams
    from matcher.store import Post, session

    if when is None:
        return None
    with session(eng) as s:
        newest = s.execute(select(func.max(Post.created_at)).where(col(Post.created_at) <= when)).scalar()
    if newest is None:  # (no post written by then)
        return None
    halvings = int((when - newest) / (ProfileParams.half_life_days * 86_400))
    if halvings <= 10:
        return None
    return (when - newest) / (365.25 * 86_400), dt.datetime.fromtimestamp(newest, dt.UTC).date().isoformat(), halvings
