"""The schema brought up to date as a database is opened (``store.open_engine``): a table of another program's
refused, the missing tables made, columns, widths and indexes added since a database was first made."""

from sqlalchemy import BigInteger, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from matcher.db_url import shown_db
from matcher.errors import PerkmatchError
from matcher.tables import Post


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
