"""The `ingest` command: posts and users files validated and stored, what was stored said, and what withdrawn
sensitive opt-ins shaped worked out again."""

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
    out,
    posts_counts,
    print_json,
    progress,
    say_returned,
    say_skipped,
    warn_policy,
)


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

    _check_options(posts, users, skip_invalid, rejects, db)
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
        _print_report(report, as_json)
        _say_notes(eng, model, report, policy)


def _check_options(posts: str | None, users: str | None, skip_invalid: bool, rejects: str | None,
                   db: str | None) -> None:
    """Usage errors, and a reject file that would be the database, before anything is read."""
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


def _print_report(report: Any, as_json: bool) -> None:
    """What a file's ingest stored: its record (--json), or a line of counts."""
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


def _say_notes(eng: Any, model: str | None, report: Any, policy: str) -> None:
    """A file's warnings and notes on stderr; withdrawn sensitive opt-ins worked out again (``_rework``)."""
    for problem in report.unknown_opt_ins[:10]:
        err.print(f"warning: {problem}", markup=False, highlight=False)
    if len(report.unknown_opt_ins) > 10:
        err.print(f"warning: ... and {len(report.unknown_opt_ins) - 10} more user(s) opted in to unknown topic ids")
    if report.kind == "users" and report.users_forgotten:
        common.deletion_notes(eng)
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
