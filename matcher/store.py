"""Storage: the engine (SQLite file by default, or PostgreSQL by URL), sessions on it, and the tables of matcher.

The pieces live in modules of their own, and are all importable from here as before: the tables in
``matcher.tables``, bulk helpers in ``matcher.bulk``, the --db value in ``matcher.db_url``, the words for a
database's errors in ``matcher.db_errors``, the schema brought up to date as a database is opened in
``matcher.migrations``.
"""

import os
import re
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine, select

from matcher import locks
from matcher.bulk import BOUND_LIST, batches, bulk_insert, upsert_insert
from matcher.db_errors import DAMAGED, _not_sqlite, _unwritable, database_error, is_damaged, server_hint
from matcher.db_url import check_url, db_url, shown_db
from matcher.errors import PerkmatchError, WrongArgumentError
from matcher.locks import not_a_starting_worker
from matcher.migrations import _add_columns, _add_indexes, _create_tables, _refuse_foreign_tables, _widen_integers
from matcher.tables import (
    PROFILE_ROWS,
    Assignment,
    Embedding,
    EvidencePost,
    ForgetAudit,
    ForgottenPost,
    ForgottenText,
    OptOut,
    Post,
    PostDeletion,
    ProfiledUser,
    Run,
    Setting,
    Topic,
    TopicName,
    TopicScore,
    TopicVector,
    User,
    Withheld,
    cited_topics,
    utcnow,
)

__all__ = [
    # kept here
    "DEFAULT_DB", "discard_if_empty", "has_posts", "open_engine", "require_engine", "session",
    # matcher.tables
    "PROFILE_ROWS", "Assignment", "Embedding", "EvidencePost", "ForgetAudit", "ForgottenPost", "ForgottenText",
    "OptOut", "Post", "PostDeletion", "ProfiledUser", "Run", "Setting", "Topic", "TopicName", "TopicScore",
    "TopicVector", "User", "Withheld", "cited_topics", "utcnow",
    # matcher.bulk, matcher.db_url, matcher.db_errors
    "BOUND_LIST", "batches", "bulk_insert", "upsert_insert", "check_url", "db_url", "shown_db", "DAMAGED",
    "database_error", "is_damaged", "server_hint",
]

DEFAULT_DB = "perkmatch.db"


def discard_if_empty(path: str) -> bool:
    """Delete a SQLite database file that holds nothing (and its journal files), as a command that made it and then
    failed leaves it: a mistyped --db must not leave an empty database behind to be mistaken for a real one. Nothing:
    no row but the taxonomy's and its topics' names (the default one is stored as a database is first read, and a
    command that failed stored no other). Only when no one else is using it: the file's exclusive lock is taken
    first, without waiting, and held until the file is gone (a command writing to it, or in the middle of a
    transaction, keeps it). A table that is not perkmatch's keeps it too."""
    import sqlite3

    file = Path(path).expanduser()
    try:
        conn = sqlite3.connect(file, timeout=0, isolation_level=None)
    except sqlite3.Error:
        return False
    try:
        conn.execute("BEGIN EXCLUSIVE")
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        ours = set(SQLModel.metadata.tables)
        taxonomy = (Topic.__tablename__, TopicName.__tablename__)
        if any(t not in ours and not t.startswith("sqlite_") for t in tables) or any(
                conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in tables if t not in taxonomy):
            return False
        for leftover in (file, *(file.with_name(file.name + end) for end in ("-wal", "-shm", "-journal"))):
            leftover.unlink(missing_ok=True)
        return True
    except (sqlite3.Error, OSError):
        return False
    finally:
        conn.close()


def open_engine(db: str | os.PathLike[str] = DEFAULT_DB, existing: bool = False) -> Engine:
    """Open (and create if needed) the database: a SQLite file's path (a str or a ``pathlib.Path``) or a URL. With
    ``existing``, a database without perkmatch's tables (a server's, or a SQLite file another program made) is an
    error, not one to create them in (a command that only reads results, given the wrong database)."""
    not_a_starting_worker()
    db = os.fspath(db)
    check_url(db)
    url = db_url(db)
    engine = _sqlite_engine(db, url) if url.startswith("sqlite") else _server_engine(db, url)
    try:
        if existing and not inspect(engine).has_table(Post.__tablename__):  # (a SQLite file too: another program's)
            missing = True
        else:
            missing = False
            _bring_up_schema(engine, db)
    except PerkmatchError:
        engine.dispose()
        raise
    except Exception as exc:
        raise _open_error(db, url, exc) from None
    if missing:
        engine.dispose()
        raise PerkmatchError(f"--db {shown_db(db)}: this database holds no perkmatch data; check its name (this "
                             "command reads results and does not set one up: start with `perkmatch ingest`)")
    return engine


def _sqlite_engine(db: str, url: str) -> Engine:
    """The engine on a SQLite file, whose folder must exist; each connection gets ``_sqlite_pragmas``."""
    parent = Path(db).expanduser().resolve().parent
    if not parent.is_dir():
        raise PerkmatchError(f"--db {db}: folder {parent} does not exist; create it or choose another path")
    engine = create_engine(url, connect_args={"timeout": locks.SQLITE_WAIT_S})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _server_engine(db: str, url: str) -> Engine:
    """The engine on a server's URL; a scheme perkmatch does not use, or a missing driver, is an error naming the
    fix."""
    try:
        return create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # bad dialect or missing driver
        scheme = db.split("://", 1)[0]
        if not re.fullmatch(r"postgres(ql)?(\+\w+)?", scheme, re.IGNORECASE) or "Can't load plugin" in str(exc):
            raise PerkmatchError(f"--db {shown_db(db)}: '{scheme}://' is not a database perkmatch uses: give a "
                                 "SQLite file path, or postgresql://USER:PASSWORD@HOST:PORT/DB") from None
        hint: str | None = ("for PostgreSQL install perkmatch[postgres]" if "No module named" in str(exc) else
                "check the URL: postgresql://USER:PASSWORD@HOST:PORT/DB")
        raise PerkmatchError(f"--db {shown_db(db)}: cannot use this database URL ({database_error(exc)}); "
                             f"{hint}") from None


def _bring_up_schema(engine: Engine, db: str) -> None:
    """Refuse a database holding tables that are not perkmatch's, then create and bring the schema up to date."""
    _refuse_foreign_tables(engine, db)
    _create_tables(engine)
    _add_columns(engine)
    _widen_integers(engine)
    _add_indexes(engine)


def _open_error(db: str, url: str, exc: Exception) -> PerkmatchError:
    """The error for a database that could not be opened: not a SQLite file, damaged, the server's hint, or
    unwritable."""
    hint = server_hint(exc) if not url.startswith("sqlite") else None
    other = _not_sqlite(db) if url.startswith("sqlite") else ""
    if other:
        return PerkmatchError(f"--db {db}: {other}")
    damaged = f": {DAMAGED}" if is_damaged(exc) else f"; {hint}" if hint else _unwritable(db, url)
    return PerkmatchError(f"--db {shown_db(db)}: cannot open the database ({database_error(exc)}){damaged}")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def require_engine(engine: object, who: str) -> None:
    """Refuse, naming the fix, what is not an engine (a session, a path): before, an AttributeError from deep inside
    ("'Session' object has no attribute 'url'")."""
    if isinstance(engine, Engine):
        return
    fix = ("pass the engine it was opened on; it makes its own transactions" if isinstance(engine, Session) else
           "open it with open_engine(PATH_OR_URL)")
    raise WrongArgumentError(f"{who} takes the database's engine (given: {type(engine).__name__}): {fix}")


def session(engine: Engine | Session) -> AbstractContextManager[Session]:
    """A new session on ``engine``; given a session instead, that session, left open when the block ends (a dry run
    reads back its own writes before they are rolled back: ``match.run_match``)."""
    return nullcontext(engine) if isinstance(engine, Session) else Session(engine, expire_on_commit=False)


def has_posts(s: Session, user_id: str) -> bool:
    """Whether any post of this user is stored (one indexed row read)."""
    return s.exec(select(Post.id).where(Post.user_id == user_id).limit(1)).first() is not None
