"""Locks between perkmatch commands on one database: one profile run at a time, ingests one after another, and a
`forget` serialised with a run's writing of users' rows. PostgreSQL: advisory locks. SQLite: its own writer lock, and
a flock(2) on a file beside the database for the profile run. A wait is said, not silent (the CLI's
``on_lock_wait``); every lock goes with the process if it dies."""

import multiprocessing
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from matcher.errors import PerkmatchError

SQLITE_WAIT_S = 60  # how long a SQLite write waits for another command's to end before it fails ("locked")
FORGET_LOCK = 7_310_472  # a key of PostgreSQL's advisory locks, taken by `forget` and by runs writing users' rows
INGEST_LOCK = 7_310_473  # ... and one taken by ingests
PROFILE_LOCK = 7_310_474  # ... and one a profile run holds from start to end


def lock_key(conn: Connection, key: int) -> int:
    """An advisory lock's key for the schema perkmatch's tables are in (PostgreSQL's ``current_schema()``, which the
    URL's ``?options=-csearch_path%3DNAME`` sets): the key itself in ``public``, the default; elsewhere, the schema's
    CRC-32 in its upper 32 bits. Advisory locks belong to the whole database, so two perkmatch databases in two schemas
    of one shared the keys: one's profile run waited for the other's, and `status` said a profile run of the other
    was under way. The schema is read once per connection (``Connection.info``)."""
    info = conn.info
    if "perkmatch_schema" not in info:
        info["perkmatch_schema"] = conn.execute(text("SELECT current_schema()")).scalar() or "public"
    schema: str = info["perkmatch_schema"]
    return key if schema == "public" else (zlib.crc32(schema.encode("utf-8")) - (1 << 31)) << 32 | key


def hold_forget_lock(conn: Connection) -> None:
    """Serialise a `forget` with a run's writing of a chunk of users (until the transaction ends), so that a user
    forgotten meanwhile is either seen gone by the chunk's check or deleted after the chunk commits (``eligible.
    eligible_among``). PostgreSQL: a transaction-scoped advisory lock. SQLite: its single writer lock, taken now by a
    write that changes nothing; a transaction that read first and wrote later would fail ("database is locked") had
    another writer committed in between, which no wait can mend."""
    _hold_lock(conn, FORGET_LOCK)


def hold_ingest_lock(conn: Connection) -> None:
    """Serialise ingests (until the transaction ends): each reads what is stored (is this user known, is this post
    unchanged) before it writes, so two at once given the same new users would both insert them (one then failed on
    the duplicate key) and would count each other's posts wrong. The second waits for the first (SQLite: up to the
    connection's 60 s), then reads what it stored. Taken as ``hold_forget_lock`` is, under a key of its own on
    PostgreSQL (an ingest does not hold up a profile run's writing there)."""
    _hold_lock(conn, INGEST_LOCK)


def hold_deletion_locks(conn: Connection) -> None:
    """What a deletion (`forget`, an opt-out, `forget --post`) holds until its transaction ends: the ingest lock, then
    the forget lock. An ingest reads whom and what it may store (consent, opt-outs, posts deleted) before it writes,
    so on PostgreSQL, where the two are separate locks, an opt-out committed while an ingest ran was followed by the
    ingest's commit, storing the user's posts again (the ingest waits for the deletion now, or the deletion for it).
    SQLite's single writer lock did so already. Always in this order (an ingest opting someone out holds the first)."""
    hold_ingest_lock(conn)
    hold_forget_lock(conn)


@contextmanager
def profile_lock(engine: Engine) -> Iterator[None]:
    """One profile run at a time: a second waits (said as ``_hold_lock`` says it) for the first to end, then reuses
    what it embedded and computed. Before, both embedded the same texts and computed every user at once, one of them
    for nothing. PostgreSQL: a session-scoped advisory lock on a connection of its own, held with no transaction
    open. SQLite: an exclusive flock(2) on a file beside the database, ``DB.profile-lock`` (not the database file
    itself: closing any handle of it in this process would drop SQLite's own locks on it, which then failed with
    "disk I/O error"). Either goes with the process if it dies. Taken again by the thread holding it, it is held
    already (`profile --engine ray` takes it before it starts a cluster, then runs the profile)."""
    not_a_starting_worker()
    held: set[str] = _HELD.__dict__.setdefault("databases", set())
    key = engine.url.render_as_string(hide_password=True)
    if key in held:
        yield
        return
    held.add(key)
    try:
        with _profile_lock(engine):
            yield
    finally:
        held.discard(key)


def not_a_starting_worker() -> None:
    """Refuse to run in a worker process that is still starting. Python starts the workers of a profile run by
    importing the program's main script again (as ``__mp_main__``): a library script that calls perkmatch at its top
    level, not under ``if __name__ == "__main__":``, ran again in every worker, which waited for the profile lock its
    own run held, and the run waited for the workers for ever, saying nothing. Now each worker stops at its first
    call with this message, and the run with it (``engine_pool``: a worker that cannot start fails the run). The
    test is Python's own (``multiprocessing.spawn``'s "bootstrapping phase" error, raised only once a worker starts
    processes of its own)."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise PerkmatchError("perkmatch was called while a worker process started: Python starts workers by running "
                             "the main script again, so a script that uses perkmatch as a library must make its calls "
                             "under `if __name__ == \"__main__\":` (README, \"Using it as a library\")")


_HELD = threading.local()  # ``databases``: those whose profile lock the thread holds (``profile_lock``)


@contextmanager
def _profile_lock(engine: Engine) -> Iterator[None]:
    options = engine.get_execution_options()  # what to say while waiting for a run under way: no time limit, unlike a
    waiting = options.get("on_profile_wait") or options.get("on_lock_wait")  # write's wait (the CLI says which)
    if engine.dialect.name == "sqlite":
        with file_lock(_lock_file(engine), waiting):
            yield
        return
    if engine.dialect.name != "postgresql":
        yield
        return
    conn = engine.connect()
    try:
        key = lock_key(conn, PROFILE_LOCK)
        _take(lambda: bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()),
              lambda: conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key}), waiting)
        conn.commit()
        yield
    finally:
        with suppress(Exception):  # (the server gone: the lock went with the session)
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()
        conn.close()


def profile_running(engine: Engine) -> bool | None:
    """Whether a profile run holds ``profile_lock`` now (a run marked running that holds none was killed); None where
    it cannot be told (a database in memory, or no flock). PostgreSQL: read from ``pg_locks``, taking nothing.
    SQLite: a shared lock tried on the lock file and let go at once (a run starting in that instant waits for it)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:  # (a bigint key is (classid, objid): its upper and lower 32 bits, unsigned)
            key = lock_key(conn, PROFILE_LOCK) & 0xFFFF_FFFF_FFFF_FFFF
            return bool(conn.execute(text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = :high "
                "AND objid = :low AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = "
                "current_database()))"), {"high": key >> 32, "low": key & 0xFFFF_FFFF}).scalar())
    path = _lock_file(engine) if engine.dialect.name == "sqlite" else ""
    if not path:
        return None
    try:
        import fcntl

        handle = open(path, "rb")
    except FileNotFoundError:  # no run ever took it
        return False
    except (ImportError, OSError):
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _lock_file(engine: Engine) -> str:
    """The file a SQLite database's profile runs lock (``profile_lock``); none for one in memory."""
    database = engine.url.database or ""
    return f"{database}.profile-lock" if database and database != ":memory:" else ""


@contextmanager
def file_lock(path: str, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """An exclusive flock on the file, made if need be (nothing without a path, a folder that can be written, or
    flock: Windows)."""
    try:
        import fcntl

        handle = open(path, "ab")
    except (ImportError, OSError):
        yield
        return
    def attempt() -> bool:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    with handle:
        _take(attempt, lambda: fcntl.flock(handle, fcntl.LOCK_EX), waiting)
        yield


def _take(attempt: Callable[[], bool], wait: Callable[[], Any], waiting: Callable[[], None] | None) -> None:
    """Take a lock: ``attempt`` it without waiting, and when it is held elsewhere, say so (``waiting``: the CLI's
    ``on_lock_wait``, so that a wait is said, not silent) and ``wait`` for it. Without ``waiting``, just wait."""
    if waiting is None or not attempt():
        if waiting is not None:
            waiting()
        wait()


def _hold_lock(conn: Connection, key: int) -> None:
    """Take the lock, waiting for whoever holds it; first, when the engine has an ``on_lock_wait`` execution option
    (the CLI's), try without waiting and call it if the lock is taken, so that a wait is said, not silent."""
    waiting = conn.get_execution_options().get("on_lock_wait")
    if conn.dialect.name == "postgresql":
        key = lock_key(conn, key)
        _take(lambda: bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}).scalar()),
              lambda: conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key}), waiting)
    elif conn.dialect.name == "sqlite":
        take = text("DELETE FROM forget_audit WHERE 0")
        if waiting is None:
            conn.execute(take)
            return
        conn.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            conn.execute(take)
            return
        except DBAPIError as exc:
            if "locked" not in str(exc.orig).lower():
                raise
        finally:  # the connection's own wait again, for this and every later statement
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(SQLITE_WAIT_S * 1000)}")
        waiting()
        conn.execute(take)
