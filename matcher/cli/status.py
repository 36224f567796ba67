"""`perkmatch status`: what the database holds and what to run next (``matcher.status``); `perkmatch prune`: old runs
deleted (``matcher.prune``)."""

from typing import Annotated, Any

import typer

from matcher.cli.common import DbOpt, JsonOpt, engine, handled, out, print_json


def status(runs: Annotated[int, typer.Option("--runs", min=0, help="Also list the newest N runs (profile and match, "
                                              "unfinished ones too), with their times and counts.")] = 0,
           db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """What the database holds, what its newest runs used, and what to run next (changes nothing)."""
    from matcher.cli.common import db_path
    from matcher.status import database_status

    report = database_status(engine(db, existing=True), db_path(db), runs=runs)
    if as_json:
        print_json(report)
        return
    for label, text in lines(report):
        out.print(f"{label:<9} {text}")
    if report.get("runs"):
        out.print()
        out.print("runs, newest first:")
        for run in report["runs"]:
            out.print(f"  {run_line(run)}")
    out.print()
    if report["up_to_date"]:
        out.print("up to date: nothing to run")
    else:
        out.print("next:")
        for step in report["next"]:
            out.print(f"  {step}")


def lines(r: dict[str, Any]) -> list[tuple[str, str]]:
    """The report as labelled lines of text."""
    from matcher.next_steps import plural

    users, posts, tax = r["users"], r["posts"], r["taxonomy"]
    size = f" ({r['size_bytes'] / 1e6:,.1f} MB)" if r["size_bytes"] is not None else ""
    rows = [("database", f"{r['database']}{size}"),
            ("users", f"{users['total']:,}: {users['opted_in']:,} opted in, {users['no_consent']:,} without consent; "
                      f"{users['opted_out']:,} opted out, {users['forgotten']:,} forgotten (their data deleted, by "
                      "forget or an opt-out), kept as salted hashes only"),
            ("posts", f"{posts['total']:,} by {posts['users']:,} users ({plural(posts['reshares'], 'reshare')})"
                      + (f", written {posts['first']} to {posts['last']}" if posts["total"] else "")
                      + (f"; {plural(posts['after_today'], 'post')} dated after today, which no run reads until its "
                         "day (check the source's dates)" if posts.get("after_today") else ""))]
    rows += [("vectors", f"{count:,} texts embedded by {model}") for model, count in r["embeddings"].items()]
    rows.append(("taxonomy", f"{tax['topics']:,} topics ({tax['top_level']:,} top-level, {tax['sensitive']:,} "
                             "sensitive)" if tax["loaded"] else
                             "none loaded: the shipped default is stored at the first profile run"))
    catalog = r["catalog"]
    rows.append(("catalog", f"version {catalog['version']}, refreshed {catalog['refreshed_at']} from "
                            f"{catalog['source']}: {catalog['live_perks']:,} live perks" if catalog else "none loaded"))
    rows.append(("profile", _profile_line(r["profile"])))
    if r["unfinished_profile"]:
        run = r["unfinished_profile"]
        state = ("was stopped before it finished (Ctrl-C or a termination signal)" if run["status"] == "stopped" else
                 "is running" if run.get("running") else
                 "was killed before it finished" if run.get("running") is False else
                 f"is {run['status']} (a run still going, or one killed before it finished)")
        rows.append(("", f"run {run['run_id']}, started {run['started_at']}, {state}"))
    match = r["match"]
    rows.append(("match", f"run {match['run_id']} finished {match['finished_at']}: {match['assignments']:,} "
                          f"assignments among {match['users']:,} users with topics "
                          f"(catalog version {match['catalog_version']}, "
                          f"profile run {match['profile_run']})" if match else "none yet"))
    return rows


def _profile_line(run: dict[str, Any] | None) -> str:
    if run is None:
        return "none finished yet"
    return (f"run {run['run_id']} finished {run['finished_at']} (as of {run['as_of']}, {run['policy']}): "
            f"{run['users']:,} users, {run['posts']:,} posts, {run['inferred_topics']:,} topics inferred, "
            f"by {run['model']}")


def run_line(run: dict[str, Any]) -> str:
    """One run of the history: id, kind, state, when, how long, and its counts."""
    from matcher.next_steps import plural

    stats = run["stats"]
    took = f", {run['seconds']:,.1f} s" if run["seconds"] is not None else ""
    head = f"{run['run_id']:>4} {run['kind']:<7} {run['status']} {run['finished_at'] or run['started_at']}{took}"
    if run["kind"] == "profile" and stats:
        return (f"{head}, as of {run['as_of']}: {stats.get('users', 0):,} users, {stats.get('posts', 0):,} posts, "
                f"{stats.get('embedded', 0):,} texts embedded, {stats.get('inferred_topics', 0):,} topics inferred, "
                f"{plural(stats.get('recomputed_users', 0), 'user')} computed")
    if run["kind"] == "match" and stats:
        return (f"{head}, offers as of {run['as_of']}: {stats.get('assignments', 0):,} assignments among "
                f"{stats.get('users', 0):,} users with topics, catalog version {stats.get('catalog_version')}")
    return head


def prune(keep: Annotated[int, typer.Option("--keep", min=1, help="How many of the newest finished profile runs, and "
                                            "of match runs, to keep (and any a kept run still reads).")] = 2,
          dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go; delete nothing.")] = False,
          db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Delete old profile and match runs (their topics, evidence, assignments), keeping the newest --keep of each."""
    from matcher.next_steps import plural
    from matcher.prune import prune_runs

    report = prune_runs(engine(db, existing=True), keep=keep, dry_run=dry_run)
    if as_json:
        print_json({"kept": report.kept, "pruned": report.pruned, "rows": report.rows, "dry_run": report.dry_run})
        return
    gone = [f"{plural(len(ids), kind + ' run')} ({', '.join(map(str, ids))})"
            for kind, ids in report.pruned.items() if ids]
    if not gone:
        out.print(f"nothing to prune: no finished run is older than the newest {keep} of its kind, or each is still "
                  "read by a kept run")
        return
    rows = ", ".join(f"{n:,} {table}" for table, n in report.rows.items() if n and table != "runs")
    verb = "would delete" if dry_run else "deleted"
    out.print(f"{verb} {' and '.join(gone)}: {rows or 'no rows'}")
    kept = [f"{kind} runs {', '.join(map(str, ids))}" for kind, ids in report.kept.items() if ids]
    out.print("kept: " + "; ".join(kept))
    if not dry_run:
        out.print("(SQLite reuses the freed pages; `VACUUM` shrinks the file)" if report.sqlite else
                  "(PostgreSQL reuses the space once VACUUM, or autovacuum, has run)")


def register(app: typer.Typer) -> None:
    app.command()(handled(status))
    app.command()(handled(prune))
