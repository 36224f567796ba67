"""Where a dry run (`match --dry-run`) writes the match run it reads back, then rolls back: the database's own tables,
or, on a SQLite database that cannot be written (a read-only file: a brand's copy), copies of them in the
connection's TEMP schema, which SQLite reads in place of the database's tables of the same names and writes even where
the file is read-only. The copies are made in the dry run's transaction, and go with its rollback.
"""

import re

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from matcher.locks import hold_forget_lock
from matcher.store import Assignment, Run, Withheld

SHADOWED = tuple(str(model.__tablename__) for model in (Run, Assignment, Withheld))  # what a match run writes


def open_preview(s: Session) -> bool:
    """Start a dry run's write transaction in ``s``: with the `forget` lock, as a match's (``locks.hold_forget_lock``),
    where the database takes writes; on a SQLite database that does not, with the tables a match run writes copied
    into the TEMP schema (``_shadow``), the dry run's writes and reads going there, and no lock taken (nothing is
    kept). Whether the database takes writes. Before, a dry run there failed, "attempt to write a readonly database",
    once it had worked the whole match out."""
    try:
        hold_forget_lock(s.connection())
        return True
    except DBAPIError as exc:
        if s.connection().dialect.name != "sqlite" or "readonly" not in str(exc.orig).lower():
            raise
    s.rollback()
    _shadow(s.connection())
    return False


def _shadow(conn: Connection) -> None:
    """Copy ``SHADOWED`` into the TEMP schema, each with its columns, key and indexes (as the database's schema
    gives them) and its rows, in a transaction begun here (the driver begins none for DDL: the copies would outlive
    the dry run on the pooled connection)."""
    conn.exec_driver_sql("BEGIN")
    for table in SHADOWED:
        made = conn.exec_driver_sql("SELECT type, sql FROM main.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                                    "ORDER BY type = 'index'", (table,)).all()
        for kind, sql in made:
            conn.exec_driver_sql(re.sub(r"^CREATE TABLE ", "CREATE TEMP TABLE ", sql) if kind == "table" else
                                 re.sub(r"^CREATE (UNIQUE )?INDEX ", r"CREATE \1INDEX temp.", sql))
        conn.exec_driver_sql(f'INSERT INTO temp."{table}" SELECT * FROM main."{table}"')
