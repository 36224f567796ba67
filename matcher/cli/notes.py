"""Notes and warnings several commands print to stderr (``matcher.cli.common`` re-exports them): a consent policy
checked and opt-out warned about, what an ingest skipped or stored again, and what a deletion leaves to do (VACUUM,
a scrub not finished)."""

from typing import Any

import typer

from matcher.cli.output import err

# every table a forget deletes a user's rows from (posts and vectors, and their id and record: their handle, region)
FORGOTTEN_TABLES = ("posts", "embeddings", "users", "topic_scores", "evidence", "profiled_users", "assignments",
                    "withheld")


def vacuum_reminder(eng) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL, deleted text stays in the data files until VACUUM: say so wherever a user is forgotten
    (`forget`, `consent USER opted_out`, an opt-out in a users file)."""
    if eng.dialect.name == "postgresql":
        err.print(f"PostgreSQL keeps deleted rows until VACUUM: run `VACUUM FULL {', '.join(FORGOTTEN_TABLES)}` (or "
                  "let autovacuum run) so the text, and the user's id and record, leave the data files.")


def unscrubbed_note(eng) -> None:  # type: ignore[no-untyped-def]
    """Say when a deletion (`forget`, an opt-out by `consent` or in a users file) is committed but the file could not
    be scrubbed (``forget.scrub``)."""
    from matcher.forget import scrub_unfinished

    if scrub_unfinished(eng):
        err.print("note: another command is reading the database (a profile or match run, say), so SQLite's "
                  "write-ahead log may keep the deleted text until it ends; a profile run scrubs the file when it "
                  "ends, and so does the next forget or opt-out")


def deletion_notes(eng) -> None:  # type: ignore[no-untyped-def]
    """What a deletion (`forget`, an opt-out by `consent` or in a users file) leaves to do, on stderr, with --json
    too (a scripted deletion needs it most): VACUUM on PostgreSQL, and a scrub of the SQLite file not finished."""
    vacuum_reminder(eng)
    unscrubbed_note(eng)


def warn_policy(policy: str) -> None:
    """Refuse a policy that is not one of the two (a typo must never include people who did not opt in), and warn
    about opt-out."""
    from matcher.records import POLICIES

    if policy not in POLICIES:  # a usage error here, before any work (``records.check_policy`` in the library)
        raise typer.BadParameter(f"{policy!r}: use opt-in or opt-out", param_hint="'--consent-policy'")
    if policy == "opt-out":
        err.print("[yellow]Warning:[/] consent policy opt-out: users who did not opt in are included "
                  "(everyone except opted_out). Use this only where the law and your users allow it.", markup=True)


def warn_run_policy(eng: Any) -> None:
    """Warn, as ``warn_policy`` does, when the latest profile run, which `match`, `topics` and `brand` read, was made
    under opt-out: these commands take no policy of their own, and would otherwise serve users who never opted in
    without a word."""
    import json

    from matcher.profile_run import latest_run

    run = latest_run(eng, "profile")
    if run is not None and json.loads(run.params or "{}").get("policy") == "opt-out":
        err.print(f"[yellow]Warning:[/] profile run {run.id} was made under consent policy opt-out: it includes users "
                  "who did not opt in (everyone except opted_out); `perkmatch profile` makes an opt-in one.",
                  markup=True)


def posts_counts(report: Any) -> str:
    """What a posts ingest (``ingest.IngestReport``) did, in words: added, updated, unchanged, rejected, skipped."""
    return (f"added {report.added}, updated {report.updated}, "
            + (f"unchanged {report.unchanged}, " if report.unchanged else "")
            + f"rejected {report.rejected}, skipped without consent {report.skipped_no_consent}"
            + (f", skipped as deleted by their authors {report.skipped_deleted}" if report.skipped_deleted else ""))


def say_skipped(report: Any, policy: str, what_to_do: str) -> None:
    """Why posts were not stored: their authors opted out, or (``what_to_do`` follows) have not opted in."""
    opted = report.skipped_opted_out
    if opted:
        err.print(f"{opted} post(s) not stored: their authors opted out (a users file does not bring them back; only "
                  "`perkmatch consent USER opted_in` does)")
    if report.skipped_no_consent - opted and policy != "opt-out":
        err.print(f"{report.skipped_no_consent - opted} post(s) not stored: their authors have not opted in"
                  f"{what_to_do}")


def say_returned(users: int, authors: int, source: str = "this file") -> None:
    """A note on users a `forget` deleted whom this ingest stores again (``IngestReport.users_returned``): ``users``
    added by a users file, ``authors`` with no record whose posts were stored (--consent-policy opt-out)."""
    if not users and not authors:
        return
    again = " and ".join(part for part in (f"{users} user(s) added" if users else "",
                                           f"{authors} author(s) of posts stored" if authors else "") if part)
    err.print(f"Note: {again} were forgotten earlier (`perkmatch forget`) and are stored again from {source}"
              + (" (--consent-policy opt-out stores the posts of everyone who has not opted out)" if authors else "")
              + "; if one asked to stay out, record it (`perkmatch consent USER opted_out`, or consent: opted_out in "
              "a users file): an opt-out keeps them out of every later ingest")
