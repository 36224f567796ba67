"""Commands that load data: ingest, taxonomy load, catalog refresh/versions/show, profile."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from matcher.cli import common
from matcher.cli.common import (
    DbOpt,
    JsonOpt,
    ModelOpt,
    PolicyOpt,
    engine,
    err,
    handled,
    out,
    parse_as_of,
    posts_counts,
    print_json,
    print_table,
    progress,
    say_returned,
    say_skipped,
    vacuum_reminder,
    warn_policy,
)
from matcher.cli.shown import warn_stale

taxonomy_app = typer.Typer(help="The topic vocabulary.", no_args_is_help=True)
catalog_app = typer.Typer(help="The perk catalog: refresh, versions, history.", no_args_is_help=True)


def ingest(
    posts: Annotated[str | None, typer.Argument(help="Posts file (.jsonl, .csv, .json, optionally .gz; '-' = stdin)",
                                                callback=common.not_blank)] = None,
    users: Annotated[str | None, typer.Option("--users", help="Users file (.jsonl, .csv, .yaml, .json)",
                                              callback=common.not_blank)] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Store valid rows; write rejected rows, with "
                                               "reasons, to a reject file.")] = False,
    rejects: Annotated[str | None, typer.Option("--rejects", help="Reject file \\[default: POSTS.rejects.jsonl]",
                                                callback=common.not_blank)] = None,
    policy: PolicyOpt = "opt-in",
    db: DbOpt = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate and store posts (and users); re-ingesting a post updates it."""
    from matcher.ingest import ingest as ingest_files

    if posts is None and users is None:
        raise typer.BadParameter("give a posts file, --users FILE, or both")
    if rejects and not skip_invalid:  # without it a bad row stops the ingest, and no reject file is written
        raise typer.BadParameter("names the reject file of --skip-invalid: give --skip-invalid too (without it, a bad "
                                 "row stops the ingest and nothing is stored)", param_hint="'--rejects'")
    if skip_invalid:  # the reject files: neither may be the database
        from matcher.ingest_report import default_reject_path

        for given, file in ((posts, rejects or (posts and default_reject_path(posts))),
                            (users, f"{rejects}.users" if rejects else users and default_reject_path(users))):
            common.refuse_overwrite(file if given else None, "--rejects", db)
    warn_policy(policy)
    eng = engine(db)
    with progress() as bar:  # users and posts in one transaction: if either file is rejected, nothing is stored
        try:
            reports = ingest_files(eng, posts, users, skip_invalid=skip_invalid, reject_path=rejects, policy=policy,
                                   progress=lambda n: bar("ingest", n, None))
        except KeyboardInterrupt as exc:  # inside ingest_files: before its commit
            raise common.interrupted(exc, "nothing was stored (an ingest is one transaction); run the command "
                                     "again") from None
    for report in reports:  # with --json, the record on stdout; the warnings and reminders on stderr all the same
        if as_json:
            print_json(report.as_dict())
        elif report.kind == "users":
            out.print(f"{report.path}: users added {report.users_added}, updated {report.users_updated}, "
                      + (f"unchanged {report.users_unchanged}, " if report.users_unchanged else "")
                      + f"forgotten (opted out) {report.users_forgotten}, "
                      + (f"opted out (nothing stored) {report.users_opted_out}, " if report.users_opted_out else "")
                      + f"rejected {report.rejected}")
        else:
            out.print(f"{report.path}: posts {posts_counts(report)}")
        for problem in report.unknown_opt_ins[:10]:
            err.print(f"warning: {problem}", markup=False, highlight=False)
        if len(report.unknown_opt_ins) > 10:
            err.print(f"warning: ... and {len(report.unknown_opt_ins) - 10} more user(s) opted in to unknown topic ids")
        if report.kind == "users" and report.users_forgotten:
            vacuum_reminder(eng)
            common.unscrubbed_note(eng)
        if report.users_withdrew:
            err.print(f"{report.users_withdrew} user(s) withdrew a sensitive opt-in: what earlier runs inferred on "
                      "those topics is deleted, with the perks it brought them (their units stay counted)")
            _rework(eng, model, report.withdrew)
        if report.users_kept_out:
            err.print(f"{report.users_kept_out} user(s) not stored: they opted out earlier and stay out (only "
                      "`perkmatch consent USER opted_in` brings one back)")
        of_users = report.kind == "users"
        say_returned(report.users_returned if of_users else 0, 0 if of_users else report.users_returned)
        say_skipped(report, policy, " (give a users file with consent: opted_in, or use --consent-policy opt-out)")
        if report.repeated:
            err.print(f"{report.repeated} row(s) gave a post an earlier row of the file gave too: the last row of "
                      "each post was kept")
        if report.reject_file:
            err.print(f"{report.rejected} rejected row(s) written to {report.reject_file}")
        if report.reject_file_emptied:
            err.print(f"no row rejected: {report.reject_file_emptied}, an earlier run's reject file, was emptied")


def taxonomy_load(
    file: Annotated[str, typer.Argument(help="Taxonomy (.yaml, .json, .jsonl, .csv, or the IAB Content Taxonomy "
                                        ".tsv)")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace the topic vocabulary (the shipped default is used until one is loaded)."""
    from catalog.refresh import listed, targets_missing, targets_sensitive
    from matcher.store import session
    from matcher.taxonomy import store_taxonomy
    from matcher.taxonomy_files import read_taxonomy

    topics = read_taxonomy(file)
    eng = engine(db)
    count = store_taxonomy(eng, topics)
    sensitive = sum(t.sensitive for t in topics)
    with session(eng) as s:
        orphaned = targets_missing(s, {t.topic_id for t in topics})
        unsafe = targets_sensitive(s, {t.topic_id for t in topics if t.sensitive})
    if as_json:
        print_json({"path": file, "topics": count, "sensitive": sensitive}
                   | ({"perks_targeting_missing_topics": orphaned} if orphaned else {})
                   | ({"perks_targeting_sensitive_topics": unsafe} if unsafe else {}))
    else:
        out.print(f"{file}: loaded {count} topics ({sensitive} sensitive)")
    if orphaned:  # loaded all the same: the taxonomy is the operator's to choose; the catalog is told to follow it
        named = listed([f"{p} ({', '.join(ids)})" for p, ids in orphaned.items()])
        err.print(f"Warning: {len(orphaned)} live perk(s) target topics this taxonomy does not have: {named}. They "
                  "now reach users by meaning alone, and a catalog refresh naming those topics is refused: update "
                  "the catalog's `topics` to ids `perkmatch taxonomy show` lists, then refresh it.")
    if unsafe:  # the same: brands cannot target a sensitive topic, so `match` no longer reads those targets
        named = listed([f"{p} ({', '.join(ids)})" for p, ids in unsafe.items()])
        err.print(f"Warning: {len(unsafe)} live perk(s) target topics this taxonomy marks sensitive: {named}. Brands "
                  "cannot target a sensitive topic: those targets are dropped (the perks reach users by meaning "
                  "alone), and a catalog refresh naming them is refused: take them out of the catalog's `topics`, "
                  "then refresh it.")


def taxonomy_show(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the topics in use: id, name, parent, and whether sensitive (the ids users' opt-ins name)."""
    from matcher.taxonomy import default_taxonomy_path, load_topics
    from matcher.taxonomy_files import read_taxonomy

    path = common.db_path(db)
    topics: list[Any]  # the stored topics, or the shipped file's rows: the same fields
    if common.no_database_at(path):  # shown, not made: a mistyped --db stays unmade
        err.print(f"No database at {path}: this is the shipped default taxonomy, which a database uses until "
                  "`perkmatch taxonomy load FILE` replaces it.")
        topics = read_taxonomy(default_taxonomy_path())
    else:
        topics = load_topics(engine(db, existing=True))  # a read: no tables made in another program's database
    if as_json:
        for t in topics:
            print_json({"topic_id": t.topic_id, "name": t.name, "parent_id": t.parent_id, "sensitive": t.sensitive,
                        "description": t.description})
        return
    parents = {t.topic_id: t.parent_id for t in topics}

    def depth(topic_id: str | None) -> int:  # the taxonomy has no loops (checked when loaded)
        return 0 if not parents.get(topic_id or "") else 1 + depth(parents[topic_id or ""])

    for t in topics:
        flag = "  [sensitive: shown only to users who opt in]" if t.sensitive else ""
        out.print(f"{'  ' * depth(t.topic_id)}{t.topic_id}  {t.name}{flag}", markup=False, highlight=False)


def catalog_refresh(
    file: Annotated[str, typer.Argument(help="Perk catalog (.yaml, .json, .jsonl, .csv, optionally .gz)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diff without applying it.")] = False,
    retire_all: Annotated[bool, typer.Option("--retire-all", help="Accept a file that retires every live perk (no "
                                             "perks in it), or most of them while adding none or holding one "
                                             "perk (else refused: a cut export must not empty the catalog).")] = False,
    db: DbOpt = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load the catalog as a new version: validate all, diff, embed only what changed, apply atomically."""
    from catalog.refresh import live_version, read_catalog, refresh
    from matcher.store import session
    from matcher.taxonomy import load_topics, topic_sets

    # a dry run with no database there previews against an empty one in memory, leaving none behind (before, a
    # mistyped --db got a database made there, holding the shipped taxonomy)
    eng = engine("sqlite://" if dry_run and common.no_database_at(common.db_path(db)) else db)
    load_topics(eng)
    with session(eng) as s:
        known, sensitive = topic_sets(s)
    if dry_run and Path(file).is_file():  # its problems before the model loads; standard input or a pipe: read once
        read_catalog(file, known, sensitive)
    with session(eng) as s:
        before = live_version(s)
    try:
        source = common.cache(eng, model)  # (stopped as the model loads: before, "finished work is kept")
        with session(eng) as s, common.progress() as bar:
            result = refresh(s, file, source, dry_run=dry_run, topics=known, sensitive=sensitive,
                             retire_all=retire_all, progress=bar)
        _report_refresh(file, result, dry_run, retire_all, as_json)
    except KeyboardInterrupt as exc:  # a refresh applies its version in one transaction (its vectors are cached)
        with session(eng) as s:
            now = live_version(s)
        raise common.interrupted(exc, "the catalog is unchanged; run the command again" if now == before else
                                 f"catalog version {now} is live (`perkmatch catalog versions` lists it)") from None


def _report_refresh(file: str, result: Any, dry_run: bool, retire_all: bool, as_json: bool) -> None:
    """A refresh's warnings, then what it did (or would do); exit 1 for a dry run that the refresh would refuse."""
    from catalog.refresh import mass_retirement

    for warning in result.warnings:  # (in --json too, as "warnings")
        warn_stale(warning)
    d = result.diff
    said = mass_retirement(d) if dry_run and not retire_all else None  # as `refresh` refuses it (a truncated export
    refused = f"{said}, which a refresh does only with --retire-all" if said else None  # must not empty the catalog)
    if as_json:
        print_json(result.summary() | {"dry_run": dry_run} | ({"refused": refused} if refused else {}))
    else:
        _print_refresh(file, result, dry_run, refused)
    if refused:  # exit 1, as the refresh itself would: a script gating on the dry run must not pass the file
        raise typer.Exit(1)


def _rework(eng: Any, model: str | None, withdrawn: dict[str, Any]) -> None:
    """Work out again what withdrawn opt-ins shaped in the stored profiles (``rework.rework_withdrawn``): committed
    already, the withdrawal stands if this is stopped; the runs not reached yet keep what the topics shaped beyond their
    own rows until the next `profile`."""
    import functools

    from matcher.rework import rework_withdrawn

    try:
        done = rework_withdrawn(eng, functools.cache(lambda: common.cache(eng, model)), withdrawn)  # loaded once
    except KeyboardInterrupt as exc:
        raise common.interrupted(exc, "the withdrawal is stored; their stored profiles were being worked out again "
                                 "without it: run `perkmatch profile` to bring them up to date") from None
    said = [f"{done['reworked']} stored run(s) worked out again for them without it" if done["reworked"] else "",
            f"{done['trimmed']} that cannot be repeated (rules, taxonomy, encoder or topic fit changed since) lost "
            "their topics above it and, where it was their strongest, those that fell short" if done["trimmed"] else "",
            f"{done['cleared']} unfinished run(s) lost their rows" if done["cleared"] else "",
            f"{done['assignments']} assignment(s) resting on what changed deleted (units stay counted)"
            if done["assignments"] else ""]
    if any(said):
        err.print("what it shaped beyond its own topics: " + "; ".join(x for x in said if x))


def _print_refresh(file: str, result: Any, dry_run: bool, refused: str | None) -> None:
    d = result.diff
    changes = not d.is_empty
    verb = (f"would be refused: {refused}; the diff" if refused else f"would be version {result.version}"
            if dry_run and changes else "no change" if not changes else f"version {result.version}")
    out.print(f"{file}: {verb}: added {len(d.added)}, changed {len(d.changed)}, retired {len(d.retired)}, "
              f"unchanged {len(d.unchanged)}, {'to embed' if dry_run else 'embedded'} {result.embedded}")
    for label, ids in (("added", d.added), ("changed", d.changed), ("retired", d.retired)):
        if ids:
            shown = ", ".join(ids[:20]) + (f" ... (+{len(ids) - 20})" if len(ids) > 20 else "")
            out.print(f"  {label}: {shown}")


def catalog_versions(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List every catalog version."""
    from rich.table import Table

    from catalog.refresh import live_version, versions
    from matcher.store import session

    with session(engine(db, existing=True)) as s:
        rows, live = versions(s), live_version(s)
    # in the fields' order: a loaded row's attributes come in no fixed order, and scripts diff this output; `status`
    # says a version was committed (every one listed is), `current` which one is served now
    records = [{k: d[k] for k in type(r).model_fields} | {"current": r.version == live}
               for r in rows for d in [r.model_dump(mode="json")]]
    if as_json:
        print_json(records)
        return
    if not rows:
        out.print("no catalog loaded yet; run `perkmatch catalog refresh FILE`")
        return
    table = Table("version", "created (UTC)", "added", "changed", "retired", "unchanged", "embedded", "source")
    for r in rows:
        table.add_row(f"{r.version} (live)" if r.version == live else str(r.version), f"{r.created_at:%Y-%m-%d %H:%M}",
                      str(r.added), str(r.changed), str(r.retired),
                      str(r.unchanged), str(r.embedded), r.source)
    print_table(table)


def catalog_show(perk_id: Annotated[str | None, typer.Argument(help="The perk's id; without it, every perk of the "
                                                                "live catalog version, one a line",
                                                                show_default=False)] = None,
                 db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """One perk's history across catalog versions; without PERK_ID, the live catalog's perks."""
    from catalog.refresh import live_perks, perk_history
    from matcher.store import session
    from matcher.taxonomy import known_names, load_topics

    eng = engine(db, existing=True)
    with session(eng) as s:
        rows = perk_history(s, perk_id) if perk_id is not None else live_perks(s)
    records = [{"perk_id": r.perk_id, "version_added": r.version_added, "version_retired": r.version_retired,
                "brand": r.brand, "title": r.title, "description": r.description, "topics": json.loads(r.topics),
                "regions": json.loads(r.regions), "quantity": r.quantity, "starts": r.starts and str(r.starts),
                "ends": r.ends and str(r.ends)} for r in rows]
    if as_json:
        print_json(records)
        return
    if perk_id is None and not records:
        out.print("no live perk: run `perkmatch catalog refresh FILE`")
    names = known_names(eng, load_topics(eng)) if perk_id is not None else {}  # targets named, not by id alone
    for r in records:
        quantity = "unlimited" if r["quantity"] is None else r["quantity"]
        regions = ", ".join(r["regions"]) or "anywhere"
        offer = f"{r['starts'] or 'any time'} to {r['ends'] or 'open-ended'}"
        if perk_id is None:  # the live catalog: one perk a line
            out.print(f"{r['perk_id']}  {r['brand']} - {r['title']} (quantity: {quantity}; regions: {regions}; offer: "
                      f"{offer})", markup=False, highlight=False)
            continue
        until = f"until version {r['version_retired']}" if r["version_retired"] else "current"
        targets = ", ".join(f"{names[t]} ({t})" if t in names else t for t in r["topics"]) or "none (placed by meaning)"
        out.print(f"v{r['version_added']} ({until}): {r['brand']} - {r['title']}: {r['description']}\n"
                  f"  quantity: {quantity}; regions: {regions}; targets: {targets}; offer: {offer}", markup=False)


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
    import contextlib

    from matcher.eligible import not_opted_in
    from matcher.engine_local import Executor
    from matcher.profile_run import run_profile

    if engine_kind not in ("local", "ray"):
        raise typer.BadParameter(f"--engine {engine_kind}: use local or ray")
    if ray_address is not None and engine_kind != "ray":
        raise typer.BadParameter("--ray-address is for --engine ray")
    warn_policy(policy)
    when = parse_as_of(as_of)
    eng = engine(db, existing=True)  # a mistyped --db in a nightly job is an error, not an empty run that "worked"
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
            summary = run_profile(eng, source, policy=policy, as_of=when, progress=bar, executor=executor,
                                  refit=refit)
    record = {"run_id": summary.run_id, "users": summary.users, "posts": summary.posts,
              "embedded": summary.embedded, "inferred_topics": summary.inferred_topics,
              "recomputed_users": summary.recomputed, "reused_users": summary.reused,
              "topic_vectors_run": summary.topic_vectors_run, "seconds": round(summary.seconds, 2),
              "embed_seconds": round(summary.embed_seconds, 2), "encode_seconds": round(summary.encode_seconds, 2)}
    if as_json:
        print_json(record)
    else:
        out.print(f"profile run {summary.run_id}: {summary.users} users, {summary.posts} posts, "
                  f"{summary.embedded} texts embedded, {summary.inferred_topics} topics inferred "
                  f"({summary.recomputed} users recomputed, {summary.reused} unchanged) in {summary.seconds:.1f}s")
        fitted = summary.topic_vectors_run == summary.run_id
        out.print("topic vectors fitted to the collection in this run" if fitted else
                  f"topic vectors of run {summary.topic_vectors_run} reused (the collection changed little since)")
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


def register(app: typer.Typer) -> None:
    app.command()(handled(ingest))
    app.command()(handled(profile))
    taxonomy_app.command("load")(handled(taxonomy_load))
    taxonomy_app.command("show")(handled(taxonomy_show))
    catalog_app.command("refresh")(handled(catalog_refresh))
    catalog_app.command("versions")(handled(catalog_versions))
    catalog_app.command("show")(handled(catalog_show))
    app.add_typer(taxonomy_app, name="taxonomy")
    app.add_typer(catalog_app, name="catalog")
