"""Bulk helpers: IN lists in batches a statement can bind, and many rows inserted in one statement."""

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

BOUND_LIST = 500  # values bound in one IN list (PostgreSQL takes at most 65,535 in a statement, SQLite 250,000)
_T = TypeVar("_T")


def batches(items: Sequence[_T], size: int = BOUND_LIST) -> Iterator[Sequence[_T]]:
    """``items`` in consecutive slices of ``size``: each one query's IN list, however many there are."""
    for start in range(0, len(items), size):
        yield items[start:start + size]



def upsert_insert(bind: Engine | Connection) -> Callable[..., Any]:
    """The dialect's INSERT that supports ON CONFLICT (PostgreSQL or SQLite). PostgreSQL's is imported here, for a
    PostgreSQL database only: SQLAlchemy's PostgreSQL dialect (with its asyncpg, pg8000 and psycopg modules) took
    about 50 ms of every command's start, and of a profile run's worker processes', on SQLite."""
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    return sqlite_insert


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
