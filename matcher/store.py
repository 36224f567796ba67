"""Storage: the SQLModel tables of matcher, and the engine (SQLite file by default, or PostgreSQL by URL).

The catalog's own tables live in ``catalog.schema``; all share one metadata, so one call creates them all.
No ``from __future__ import annotations`` here: it breaks SQLModel tables.
"""

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Index, UniqueConstraint, event, inspect, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Field, Session, SQLModel, create_engine, select

import catalog.schema  # noqa: F401  (registers the catalog tables)
from matcher import locks
from matcher.errors import PerkmatchError, WrongArgumentError
from matcher.locks import not_a_starting_worker

DEFAULT_DB = "perkmatch.db"


BOUND_LIST = 500  # values bound in one IN list (PostgreSQL takes at most 65,535 in a statement, SQLite 250,000)
_T = TypeVar("_T")


def batches(items: Sequence[_T], size: int = BOUND_LIST) -> Iterator[Sequence[_T]]:
    """``items`` in consecutive slices of ``size``: each one query's IN list, however many there are."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class User(SQLModel, table=True):
    """A person whose posts we may profile, if their consent allows it."""

    __tablename__ = "users"

    user_id: str = Field(primary_key=True)
    handle: str | None = None
    region: str | None = None
    consent: str | None = None
    sensitive_opt_in: str = "[]"
    extra: str = "{}"
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Post(SQLModel, table=True):
    """One post. (platform, post_id) is unique: re-ingesting updates the row."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("platform", "post_id"), Index("ix_posts_user", "user_id", "created_at"),
                      Index("ix_posts_text", "text_key", "created_at"))  # the latter finds copies (``incremental``)

    id: int | None = Field(default=None, primary_key=True)
    post_id: str
    platform: str = "unknown"
    user_id: str
    text: str
    context: str | None = None
    created_at: int = Field(sa_type=BigInteger)  # 64-bit on PostgreSQL too: times up to 9999, counts past 2**31
    likes: int = Field(default=0, sa_type=BigInteger)
    replies: int = Field(default=0, sa_type=BigInteger)
    shares: int = Field(default=0, sa_type=BigInteger)
    is_share: bool = False
    text_key: str
    context_key: str | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Embedding(SQLModel, table=True):
    """The embedding cache: one vector per (model, content hash)."""

    __tablename__ = "embeddings"

    model: str = Field(primary_key=True)
    text_key: str = Field(primary_key=True)
    vector: bytes


class Topic(SQLModel, table=True):
    """One topic of the loaded taxonomy."""

    __tablename__ = "topics"

    topic_id: str = Field(primary_key=True)
    name: str
    parent_id: str | None = None
    description: str = ""
    sensitive: bool = False
    position: int = 0


class TopicName(SQLModel, table=True):
    """The name and parent each topic id was last loaded with, kept when a later taxonomy leaves the topic out: the
    runs and assignments that cited it go on naming it (``taxonomy.known_names``), where they fell back on its id
    before, and an opt-in withdrawn to its parent still covers it (``taxonomy.dropped_under``)."""

    __tablename__ = "topic_names"

    topic_id: str = Field(primary_key=True)
    name: str
    parent_id: str | None = None


class Run(SQLModel, table=True):
    """One profile or match run; its results are kept as a snapshot under its id."""

    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    started_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: dt.datetime | None = None
    status: str = "running"
    as_of: int = Field(default=0, sa_type=BigInteger)
    params: str = "{}"
    stats: str = "{}"


class TopicScore(SQLModel, table=True):
    """A user's topic in one profile run: inferred, or a candidate that fell short (with the numbers)."""

    __tablename__ = "topic_scores"
    __table_args__ = (Index("ix_topic_scores_run_user", "run_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    user_id: str
    topic_id: str
    status: str
    rank: int
    score: float
    confidence: float
    posts: int
    days: int
    engagement: float
    details: str = "{}"


class EvidencePost(SQLModel, table=True):
    """A post that supports a user's topic in one profile run, ranked by how much it supports it. A topic shows the
    first ``ProfileParams.evidence_posts``; an inferred topic keeps more (``evidence_pool``), that its perks' evidence
    is chosen from."""

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_run_user", "run_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    user_id: str
    topic_id: str
    post_pk: int
    rank: int
    weight: float


class ProfiledUser(SQLModel, table=True):
    """A user computed in one profile run, with a digest of the inputs the profile was computed from.

    A later run with the same basis (taxonomy, model, parameters, as_of) copies the user's rows from here
    instead of recomputing them when the digest is unchanged (see ``matcher.incremental``).
    """

    __tablename__ = "profiled_users"

    run_id: int = Field(primary_key=True)
    user_id: str = Field(primary_key=True, index=True)
    digest: str


PROFILE_ROWS = (TopicScore, EvidencePost, ProfiledUser)  # a user's rows in one profile run, by (run_id, user_id)


class Assignment(SQLModel, table=True):
    """A perk assigned to a user in one match run, with the topics behind it (JSON)."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_run_user", "run_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    user_id: str
    perk_id: str
    catalog_version: int
    rank: int
    score: float
    topics: str = "[]"


def cited_topics(topics: str | None) -> set[str]:
    """The topics an assignment cites (its ``topics`` JSON: one record per topic behind the perk)."""
    return {t.get("topic_id") for t in json.loads(topics or "[]")}


class Withheld(SQLModel, table=True):
    """A good candidate perk a user did not get in a match run, and why."""

    __tablename__ = "withheld"
    __table_args__ = (Index("ix_withheld_run_user", "run_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int
    user_id: str
    perk_id: str
    score: float
    reason: str


class TopicVector(SQLModel, table=True):
    """Topic vectors fitted to the collection by a profile run (``classify.adapt_topic_vectors``); later runs
    reuse them until the collection has grown enough to fit them again."""

    __tablename__ = "topic_vectors"

    run_id: int = Field(primary_key=True)
    topic_id: str = Field(primary_key=True)
    mass: float  # membership-weighted count of the posts plainly about the topic
    vector: bytes  # float32, unit length


class ForgetAudit(SQLModel, table=True):
    """What `forget` leaves behind: a salted hash of the user id, the time, and counts."""

    __tablename__ = "forget_audit"

    id: int | None = Field(default=None, primary_key=True)
    user_hash: str
    forgotten_at: dt.datetime = Field(default_factory=utcnow)
    counts: str = "{}"


def upsert_insert(bind: Engine | Connection) -> Callable[..., Any]:
    """The dialect's INSERT that supports ON CONFLICT (PostgreSQL or SQLite)."""
    return pg_insert if bind.dialect.name == "postgresql" else sqlite_insert


def bulk_insert(conn: Connection, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]],
                keep_existing: bool = False) -> None:
    """Insert many rows (tuples in ``columns`` order) in one statement executed many times. SQLite and PostgreSQL
    get the tuples straight through the driver (SQLAlchemy's per-row parameter handling costs a third of the time
    of a bulk insert); other drivers go through SQLAlchemy Core. ``keep_existing``: a row whose key is already
    stored is skipped (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    if mark is None:
        stmt = upsert_insert(conn)(table).on_conflict_do_nothing() if keep_existing else table.insert()
        conn.execute(stmt, [dict(zip(columns, row, strict=True)) for row in rows])
        return
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
                         + (" ON CONFLICT DO NOTHING" if keep_existing else ""), rows)


def check_url(db: str) -> None:
    """Refuse a database URL with a slash missing ("postgresql:/host/db"), which would be read as a file path; and
    one whose password holds an unescaped `@`: SQLAlchemy ends the password at the first `@`, so the rest went to
    the driver as the host, and its "failed to resolve host 'word@...'" showed the password's tail."""
    if re.match(r"(postgres(ql)?|sqlite)(\+\w+)?:/?(?!/)", db, re.IGNORECASE):
        raise PerkmatchError(f"--db {shown_db(db)}: a database URL with a slash missing, read as a file path; write "
                             f"{db.split(':', 1)[0]}://... (two slashes)")
    if re.match(r"postgres(ql)?(\+\w+)?://", db, re.IGNORECASE) and _at_in_password(db):
        raise PerkmatchError("--db postgresql://USER:***@...: the URL holds '@' more than once, so its password, or "
                             "user name, holds one: write each '@' in them as %40")


def db_url(db: str) -> str:
    """A SQLAlchemy URL for a path or URL given on the command line (``postgres://``, as many hosts write it, is
    PostgreSQL too)."""
    if "://" in db:
        for scheme in ("postgresql://", "postgres://"):
            if db.startswith(scheme):
                return "postgresql+psycopg://" + db.removeprefix(scheme)
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def shown_db(db: str) -> str:
    """The --db value as messages show it, as given but for its passwords, masked: the one after `user:`, as
    SQLAlchemy reads it (up to the first `@`: `/`, `?` and `#` are part of it), or up to a later `@` that a host
    follows when it holds one unescaped (which ``check_url`` refuses), and those given as query parameters
    (`?password=`, `sslpassword=`), which the driver reads as well."""
    if "://" not in db:
        return db
    start, end = _password_span(db)
    masked = db if start < 0 else db[:start] + "***" + db[end:]
    return re.sub(r"([?&](?:ssl)?password=)[^&#]*", r"\1***", masked, flags=re.IGNORECASE)


def _password_span(db: str) -> tuple[int, int]:
    """Where the password after `scheme://user:` lies, (-1, -1) when there is none: up to the first `@`, or to the
    last `@` before the query that a host and a path follow (an unescaped `@` in the password puts a second one
    there)."""
    head = re.match(r"[^:/]+://[^:@/?#]*:", db)
    first = db.find("@", head.end()) if head else -1
    if first < 0:
        return -1, -1
    later = [m.start() for m in re.finditer(r"@(?=[\w.\-\[\]%]+(?::\d*)?/)", db.split("?", 1)[0] if "?" not in
                                           db[:first] else db) if m.start() > first]
    return head.end(), later[-1] if later else first  # type: ignore[union-attr]


def _at_in_password(db: str) -> bool:
    """Whether a PostgreSQL URL's password (or user name) holds an unescaped `@`: SQLAlchemy ends the password at the
    first `@` and reads the rest as the host (which then holds one) or as the database name (a path with a host in
    it), so the connection goes elsewhere and the driver's error shows the password's tail."""
    rest = db.split("://", 1)[1]
    if "@" not in rest:
        return False
    host = re.split(r"[/?]", rest.split("@", 1)[1], maxsplit=1)[0]
    start, end = _password_span(db)
    return "@" in host or (start >= 0 and db.find("@", start) != end)


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
    if url.startswith("sqlite"):
        parent = Path(db).expanduser().resolve().parent
        if not parent.is_dir():
            raise PerkmatchError(f"--db {db}: folder {parent} does not exist; create it or choose another path")
        engine = create_engine(url, connect_args={"timeout": locks.SQLITE_WAIT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except Exception as exc:  # bad dialect or missing driver
            scheme = db.split("://", 1)[0]
            if not re.fullmatch(r"postgres(ql)?(\+\w+)?", scheme, re.IGNORECASE) or "Can't load plugin" in str(exc):
                raise PerkmatchError(f"--db {shown_db(db)}: '{scheme}://' is not a database perkmatch uses: give a "
                                     "SQLite file path, or postgresql://USER:PASSWORD@HOST:PORT/DB") from None
            hint: str | None = ("for PostgreSQL install perkmatch[postgres]" if "No module named" in str(exc) else
                    "check the URL: postgresql://USER:PASSWORD@HOST:PORT/DB")
            raise PerkmatchError(f"--db {shown_db(db)}: cannot use this database URL ({database_error(exc)}); "
                                 f"{hint}") from None
    try:
        if existing and not inspect(engine).has_table(Post.__tablename__):  # (a SQLite file too: another program's)
            missing = True
        else:
            missing = False
            _refuse_foreign_tables(engine, db)
            _create_tables(engine)
            _add_columns(engine)
            _widen_integers(engine)
            _add_indexes(engine)
    except PerkmatchError:
        engine.dispose()
        raise
    except Exception as exc:
        hint = server_hint(exc) if not url.startswith("sqlite") else None
        other = _not_sqlite(db) if url.startswith("sqlite") else ""
        if other:
            raise PerkmatchError(f"--db {db}: {other}") from None
        damaged = f": {DAMAGED}" if is_damaged(exc) else f"; {hint}" if hint else _unwritable(db, url)
        raise PerkmatchError(f"--db {shown_db(db)}: cannot open the database ({database_error(exc)}){damaged}"
                             ) from None
    if missing:
        engine.dispose()
        raise PerkmatchError(f"--db {shown_db(db)}: this database holds no perkmatch data; check its name (this "
                             "command reads results and does not set one up: start with `perkmatch ingest`)")
    return engine


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


def _refuse_foreign_tables(engine: Engine, db: str) -> None:
    """Refuse a database holding a table of a name perkmatch uses but not its columns (an application's `users`).
    Before, `ingest` made perkmatch's other tables there, then failed "column users.user_id does not exist ... run
    the command again once the database is reachable", every time."""
    ours = SQLModel.metadata.tables
    inspector = inspect(engine)
    there = set(inspector.get_table_names())
    # set up already: `users` and `posts` only (the names an application's tables take; a database an earlier
    # version half set up, making every other table before failing on such a one, is refused too)
    check = sorted(set(ours) & there) if not set(ours) <= there else ["posts", "users"]
    for name in check:
        lacking = sorted({c.name for c in ours[name].columns} - {c["name"] for c in inspector.get_columns(name)})
        if lacking:
            schema = (" (on PostgreSQL a schema of its own will do: add ?options=-csearch_path%3Dperkmatch to the URL, "
                      "after `CREATE SCHEMA perkmatch`)" if engine.dialect.name == "postgresql" else "")
            raise PerkmatchError(f"--db {shown_db(db)}: the database holds a table '{name}' that is not perkmatch's "
                                 f"(it has no column {', '.join(lacking)}); give perkmatch a database of its "
                                 f"own{schema}; nothing was changed")


def _create_tables(engine: Engine, tries: int = 3) -> None:
    """The tables not made yet. Two commands started at once on a new database both find a table missing and both
    create it; the second then fails ("already exists"), and looks again."""
    for attempt in range(tries):
        try:
            SQLModel.metadata.create_all(engine)
            return
        except DBAPIError as exc:
            made_meanwhile = "already exists" in str(exc.orig) or "duplicate key" in str(exc.orig)
            if not made_meanwhile or attempt == tries - 1:
                raise


_ADDED = {"topic_names": ("parent_id", "VARCHAR")}  # columns added since the table was first made


def _add_columns(engine: Engine) -> None:
    """Columns added to a table since a database was made (``create_all`` adds none to an existing table). Two
    commands opening it at once may both add one: the second finds it there."""
    for table, (name, kind) in _ADDED.items():
        if name in {c["name"] for c in inspect(engine).get_columns(table)}:
            continue
        try:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))
        except DBAPIError:
            if name not in {c["name"] for c in inspect(engine).get_columns(table)}:
                raise


_WIDE = {"posts": ("created_at", "likes", "replies", "shares"), "runs": ("as_of",)}


def _widen_integers(engine: Engine) -> None:
    """PostgreSQL databases made before these columns were 64-bit: widen them (INTEGER stops in 2038 and at 2**31
    likes). SQLite's integers are 64-bit already."""
    if engine.dialect.name != "postgresql":
        return
    columns = {table: {c["name"]: c["type"] for c in inspect(engine).get_columns(table)} for table in _WIDE}
    narrow = [(table, name) for table, names in _WIDE.items() for name in names
              if not isinstance(columns[table][name], BigInteger)]
    if narrow:
        with engine.begin() as conn:
            for table, name in narrow:
                conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN {name} TYPE BIGINT"))


def _add_indexes(engine: Engine) -> None:
    """Indexes added since a database was made (``create_all`` makes a missing table's, not an existing one's): built
    once, on the first command that opens the database (a few seconds for millions of posts)."""
    for index in Post.__table__.indexes:  # type: ignore[attr-defined]
        index.create(engine, checkfirst=True)


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


class Setting(SQLModel, table=True):
    """Small per-database settings, such as the salt of forget audit hashes."""

    __tablename__ = "settings"

    key: str = Field(primary_key=True)
    value: str


class ForgottenText(SQLModel, table=True):
    """The texts of forgotten users, by salted hash of their text key only (``forgotten.text_hashes``): a posts file
    ingested later that quotes one as a reply's context (another user's old export) stores the reply without it, so
    a forgotten user's words never come back that way."""

    __tablename__ = "forgotten_texts"

    key_hash: str = Field(primary_key=True)


class OptOut(SQLModel, table=True):
    """Users who opted out, by salted hash only, so their posts are never stored again."""

    __tablename__ = "opt_outs"

    user_hash: str = Field(primary_key=True)


class ForgottenPost(SQLModel, table=True):
    """Posts their authors had deleted (`forget USER --post`), by salted hash of (platform, post id) only, so an export
    that still holds one does not store it again."""

    __tablename__ = "forgotten_posts"

    key_hash: str = Field(primary_key=True)


class PostDeletion(SQLModel, table=True):
    """What `forget USER --post` leaves behind beside the posts' hashes: a salted hash of the user id (as
    ``ForgetAudit``'s), the time, and how many posts went. `topics --changes` and `status` name the deletion as a
    reason scores moved; forgetting the user deletes these rows too (their `forget` audit line stays)."""

    __tablename__ = "post_deletions"

    id: int | None = Field(default=None, primary_key=True)
    user_hash: str = Field(index=True)
    deleted_at: dt.datetime = Field(default_factory=utcnow)
    posts: int = 0
