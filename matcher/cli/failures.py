"""How a command fails (``matcher.cli.common.handled`` uses these): 'Error: <message>' and exit code 1, a stop by
Ctrl-C or SIGTERM said in one line (130, 143), what to do about a database error, and an output that cannot be
written any more."""

import sys

import typer

from matcher.cli.output import err


def fail(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(1)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager stopping the command, `kill PID`), handled as Ctrl-C is: work stops at once,
    finished work is kept, worker processes are stopped, and the exit status says so (143)."""


def interrupted(exc: KeyboardInterrupt, what: str = "finished work is kept; run the command again to continue"
                ) -> typer.Exit:
    """Say that the command was stopped, and what of its work stays; the exit status tells Ctrl-C (130) from
    SIGTERM (143)."""
    err.print(f"Interrupted: {what}.")
    return typer.Exit(143 if isinstance(exc, Terminated) else 130)


def database_hint(exc: Exception) -> str:
    """What to do about a database error (``handled``), by what the driver said."""
    from sqlalchemy.exc import DataError

    from matcher.store import DAMAGED, is_damaged, server_hint

    said = str(getattr(exc, "orig", exc)).lower()
    if is_damaged(exc):
        return DAMAGED[0].upper() + DAMAGED[1:]
    if "read-only transaction" in said:  # PostgreSQL: a hot standby, or default_transaction_read_only
        return ("The PostgreSQL server takes no writes in this session (a hot standby, or transactions read-only by "
                "default): run this command against the primary, or as a role whose transactions may write; the "
                "commands that only show what is stored (status, topics, explain, brand, export, report) run here, "
                "but match, even with --dry-run, writes (its preview is rolled back)")
    if "readonly" in said or "read-only" in said:
        return ("The database file, or its folder, cannot be written (SQLite writes a journal beside it): fix the "
                "permissions, or give a --db path that can be written")
    if "database is locked" in said:  # SQLite's writer lock, held past the wait (``locks.SQLITE_WAIT_S``)
        return ("Another command kept the database busy for longer than this one waits (an ingest holds it until its "
                "file is stored): what was committed before is kept; run this command again once that one is done")
    if hint := server_hint(exc):  # PostgreSQL refused: no such database, a wrong password, no rights, no server
        return hint[0].upper() + hint[1:]
    if isinstance(exc, DataError):  # (not the server's reach: "integer out of range" read so, for a --since id)
        return ("The database refused a value (out of the range of its column, or malformed): what was committed "
                "before is kept; check the ids, dates and counts given")
    if "unique constraint" in said or "duplicate key" in said:
        return ("Another command changed the same rows at the same time: nothing of this one's last step was kept; run "
                "it again")
    return ("What was committed before is kept (each stage commits as it goes); run the command again once the "
            "database is reachable")


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that Python's last flush at exit fails no more (it would print a
    second error)."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
