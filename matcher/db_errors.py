"""A database's errors in words a user can act on: the driver's error in one line, what to do about a server's
refusal, a damaged SQLite file, a path that is not a database, a folder that cannot be written."""

import os
from pathlib import Path


def server_hint(exc: BaseException) -> str | None:
    """What to do about a database server's refusal, by what its driver said (None: nothing known to say)."""
    said = str(getattr(exc, "orig", None) or exc).lower()
    if "database" in said and "does not exist" in said:
        return "create it (`createdb NAME` on the server), or check the database name at the end of the URL"
    if "password authentication failed" in said or "no password supplied" in said or (
            "role" in said and "does not exist" in said):
        return "check the user and password in the URL (or PGPASSWORD)"
    if "permission denied" in said:
        return ("the URL's user may not use perkmatch's tables: have the database's owner GRANT it their use, or "
                "connect as the owner")
    if "connection refused" in said or "could not connect" in said or "timeout expired" in said or (
            "could not translate host name" in said or "name or service not known" in said):
        return "check that the server is running, and the host and port in the URL"
    return None


def database_error(exc: BaseException) -> str:
    """A database driver's error in one line: no SQL, no parameters (they may hold posts' text), no link."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return lines[0].split("(Background on this error")[0].strip() if lines else type(orig).__name__


DAMAGED = ("the database file is damaged: restore it from a backup, or recover what can be read into a new file "
           "(`sqlite3 FILE .recover | sqlite3 NEW.db`) and use that")


def is_damaged(exc: BaseException) -> bool:
    """Whether a database error says the file itself is damaged (SQLite)."""
    said = str(getattr(exc, "orig", None) or exc).lower()
    return "malformed" in said or "not a database" in said


def _not_sqlite(db: str) -> str:
    """Why the file at a SQLite path is not a database at all, when it is not: a folder, or a file of another kind
    (a posts file given as --db). Before, both were "unable to open database file" or "the database file is damaged:
    restore it from a backup", advice for a database, not for a wrong path."""
    path = Path(db).expanduser()
    if path.is_dir():
        return "is a folder; give the path of the database file (perkmatch.db by default)"
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        return ""
    if head and head != b"SQLite format 3\x00"[:len(head)]:  # (a damaged database still starts as one)
        return ("is not a SQLite database (another kind of file: check the path; a posts or users file is given to "
                "`ingest`, not to --db)")
    return ""


def _unwritable(db: str, url: str) -> str:
    """Why a SQLite file could not be opened when its folder (or the file) cannot be written: SQLite keeps a
    write-ahead log and a shared-memory file beside the database, even to read it."""
    if not url.startswith("sqlite"):
        return ""
    path = Path(db).expanduser().resolve()
    if not os.access(path.parent, os.W_OK):
        return (f": its folder {path.parent} cannot be written, and SQLite keeps its log files beside the database, "
                "even to read it; copy the database to a folder you can write, or give write permission")
    if path.exists() and not os.access(path, os.W_OK):
        return ": the file cannot be written (its permissions); give write permission, or copy it"
    return ""
