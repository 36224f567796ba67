"""An operator's audit of perkmatch on PostgreSQL: what the README promises there, checked against a real server.

Each test here failed when written (helper-98's audit); see the README passages quoted in each. Needs Debian's
`postgresql` package, as tests/test_postgres.py does; the server runs as the `postgres` user on a private port and
socket folder, with trust authentication, and is stopped at the end.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from matcher.demo import run_demo
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.store import open_engine
from tests.test_postgres import fresh_database, postgres_server

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    """A private PostgreSQL server, as tests/test_postgres.py starts one: (URL, data folder)."""
    with postgres_server("perkmatch-pg-audit-") as started:
        yield started


def _cli(*args: str, code: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`perkmatch ARGS` in a process of its own (or `code`, given ARGS as sys.argv[1:]), as an operator runs it."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "matcher", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


@pytest.mark.parametrize("password", ["Kw8/Zq9x77", "Kw8#Zq9x77", "Kw8?Zq9x77", "Kw8@Zq9x77/Yv5t", "Kw8t@Zq9x77",
                                      "Kw8?Zq@9x77"])
def test_no_part_of_a_password_is_shown_whatever_it_holds(password: str) -> None:
    """README: "`postgresql://...` selects PostgreSQL; messages show its password as `***`". A password holding `/`,
    `?` or `#` (SQLAlchemy takes it unescaped, and connects with it) was printed whole; one holding `@` showed its
    tail (in the URL, or in the driver's "failed to resolve host 'Zq9x77@127.0.0.1'"). No server is needed: port 1
    refuses the connection. (`status` on a server whose role has such a password printed it too, in the table and in
    `--json`'s "database".)"""
    done = _cli("--db", f"postgresql://op:{password}@127.0.0.1:1/perk", "status")
    assert done.returncode == 1
    for part in ("Kw8", "Zq9x77", "Yv5t"):
        assert part not in done.stderr + done.stdout, (part, done.stderr)


def test_following_the_vacuum_advice_after_forget_leaves_no_trace_of_the_user(server) -> None:  # type: ignore[no-untyped-def]
    """README: `forget` "deletes every trace of the user"; on SQLite the file is scrubbed (secure_delete, VACUUM) and
    holds neither the user's id nor handle after. On PostgreSQL it says "PostgreSQL keeps deleted rows until VACUUM:
    run `VACUUM FULL posts, embeddings` ...". Done as it says, the user's handle and id stayed in the data files of
    users, topic_scores, evidence, profiled_users, withheld, assignments and their indexes: the advice names only two
    of the tables a forget deletes from."""
    from sqlalchemy import create_engine, text

    from matcher.store import db_url

    url, data = server
    url = fresh_database(url, "vacuumed")
    engine = open_engine(url)
    run_demo(engine, EmbeddingCache(engine, FakeEncoder()))
    with engine.connect() as conn:
        handle = conn.execute(text("SELECT handle FROM users WHERE user_id = 'u-maya'")).scalar()
    engine.dispose()
    assert handle
    done = _cli("--db", url, "forget", "u-maya")
    assert done.returncode == 0, done.stderr
    advised = re.search(r"run `(VACUUM[^`]*)`", done.stderr)
    assert advised, done.stderr
    admin = create_engine(db_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(advised.group(1)))  # exactly what it advises
        conn.execute(text("CHECKPOINT"))
        oid = conn.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()")).scalar()
        holding = []
        for path in sorted((data / "base" / str(oid)).iterdir()):
            if not path.is_file() or not path.name.isdigit():
                continue
            body = path.read_bytes()
            if handle.encode() in body or b"u-maya" in body:
                holding.append(conn.execute(text("SELECT relname FROM pg_class WHERE relfilenode = :n"),
                                            {"n": int(path.name)}).scalar())
    admin.dispose()
    assert [name for name in holding if name and not name.startswith("pg_")] == []
    again = _cli("--db", url, "forget", "u-maya")  # run again (an interrupted one, a script retrying): the advice too
    assert again.returncode == 0 and "was forgotten already" in again.stdout and advised.group(1) in again.stderr


WRITE_FAILS = """
import sys, threading
import matcher.encoder as encoder
import matcher.profile_run as profile_run
from sqlalchemy import create_engine, text

encoder.load_encoder = lambda *a, **k: encoder.FakeEncoder()  # no model: the fake encoder, as the tests use
real = profile_run.bulk_insert
admin_url = sys.argv.pop(1)


def dying(conn, table, columns, rows, keep_existing=False):
    # the server goes away while a chunk's evidence rows are written (rows repeated only to widen the window;
    # nothing is committed)
    if table.name != "evidence":
        return real(conn, table, columns, rows, keep_existing)
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()

    def kill():
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as a:
            a.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        admin.dispose()

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        return real(conn, table, columns, rows * 50, keep_existing)
    finally:
        killer.join()


profile_run.bulk_insert = dying
from matcher.entry import main
sys.argv[0] = "perkmatch"
main()
"""


def test_a_connection_lost_while_a_profile_writes_gives_one_line(server) -> None:  # type: ignore[no-untyped-def]
    """README: "A database that fails mid-command (a PostgreSQL server going away, ...) gives one line, 'Error: the
    database failed: ...'". Seen with `pg_ctl stop -m fast` while `profile` wrote its chunks: psycopg's own warning
    came first, "error ignored terminating <psycopg.Pipeline [BAD] at 0x7f...>: flush request failed: server closed
    the connection unexpectedly" (with "This probably means the server terminated abnormally ...", "no connection to
    the server"): up to four more lines, one of them an internal object's repr."""
    from matcher.demo import sample_path
    from matcher.ingest import ingest_posts, ingest_users
    from matcher.store import db_url

    url, _ = server
    url = fresh_database(url, "lost")
    engine = open_engine(url)
    ingest_users(engine, sample_path("users.jsonl"))
    ingest_posts(engine, sample_path("posts.jsonl"))
    engine.dispose()
    admin = db_url(url.rsplit("/", 1)[0] + "/postgres")
    done = _cli(admin, "--db", url, "profile", "--as-of", "2026-11-20T00:00:00Z", code=WRITE_FAILS)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: the database failed:"), done.stderr
    assert len(lines) == 1, done.stderr


def test_a_users_table_that_is_not_perkmatchs_is_said_to_be(server) -> None:  # type: ignore[no-untyped-def]
    """An operator points --db at a database that has a `users` table of its own (an application's). `ingest`
    said "Error: the database failed: column users.user_id does not exist. ... run the command again once the
    database is reachable": the database is reachable, and running again fails the same way. It should say that
    the database holds a `users` table that is not perkmatch's (another database, or a schema of its own)."""
    from sqlalchemy import create_engine, text

    from matcher.demo import sample_path
    from matcher.store import db_url

    url, _ = server
    url = fresh_database(url, "appdb")
    admin = create_engine(db_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE TABLE users (id serial PRIMARY KEY, email text)"))
    admin.dispose()
    done = _cli("--db", url, "ingest", sample_path("posts.jsonl"), "--users", sample_path("users.jsonl"))
    assert done.returncode == 1
    assert "once the database is reachable" not in done.stderr, done.stderr
    assert "holds a table 'users' that is not perkmatch's (it has no column" in done.stderr, done.stderr
    check = create_engine(db_url(url))
    with check.connect() as conn:  # before: perkmatch's other 18 tables were made there first
        assert conn.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
                            ).scalars().all() == ["users"]
    check.dispose()


def test_a_write_refused_by_a_read_only_session_names_postgresql_not_a_sqlite_file(server) -> None:  # type: ignore[no-untyped-def]
    """A hot standby, or a role whose transactions are read-only by default: a command that writes (`ingest` here;
    `match --dry-run` too, whose preview is written and rolled back) failed with "The database file, or its folder,
    cannot be written (SQLite writes a journal beside it): fix the permissions" (helper-123's audit): there is no file.
    It now says what PostgreSQL refused, and what to do: the primary, or a role that may write."""
    from matcher.demo import sample_path

    url, _ = server
    url = fresh_database(url, "standby")
    first = _cli("--db", url, "ingest", sample_path("posts.jsonl"), "--users", sample_path("users.jsonl"))
    assert first.returncode == 0, first.stderr
    standby = url + "?options=-c%20default_transaction_read_only%3Don"
    done = _cli("--db", standby, "consent", "u-maya", "opted_in")
    assert done.returncode == 1, done.stderr
    assert "read-only transaction" in done.stderr and "SQLite" not in done.stderr, done.stderr
    assert "run this command against the primary, or as a role whose transactions may write" in done.stderr
    shown = _cli("--db", standby, "status")
    assert shown.returncode == 0, shown.stderr  # (what only shows what is stored runs there, as the message says)


def test_two_perkmatch_databases_in_two_schemas_of_one_database_neither_wait_nor_see_each_others_runs(
        server) -> None:  # type: ignore[no-untyped-def]
    """The error above tells an operator to give perkmatch a schema of its own (?options=-csearch_path%3DNAME). Two
    such, in one database, shared its advisory locks (they belong to the database): one's profile run waited for the
    other's, and `status` of one said a profile run was under way while only the other's was. Each schema's locks
    are its own now; in `public` the keys are as they were (a run of an earlier version still excludes this one)."""
    from sqlalchemy import create_engine, text

    from matcher.locks import PROFILE_LOCK, lock_key, profile_lock, profile_running
    from matcher.store import db_url

    url, _ = server
    url = fresh_database(url, "tenants")
    admin = create_engine(db_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE SCHEMA alpha; CREATE SCHEMA beta; CREATE TABLE public.users (id serial, email text)"))
    alpha, beta = (open_engine(f"{url}?options=-csearch_path%3D{name}") for name in ("alpha", "beta"))
    for engine in (alpha, beta):
        run_demo(engine, EmbeddingCache(engine, FakeEncoder()))  # each its own tables (public's `users` is the app's)
    with admin.connect() as conn:
        assert conn.execute(text("SELECT table_schema, count(*) FROM information_schema.tables WHERE table_schema IN "
                                 "('alpha', 'beta', 'public') GROUP BY 1 ORDER BY 1")).all() == \
            [("alpha", 20), ("beta", 20), ("public", 1)]
        assert lock_key(conn, PROFILE_LOCK) == PROFILE_LOCK  # public: as before
    with profile_lock(alpha):
        assert profile_running(alpha) is True and profile_running(beta) is False  # before: True for both
        with profile_lock(beta):  # before: waited for alpha's run to end
            assert profile_running(beta) is True
    assert profile_running(alpha) is False and profile_running(beta) is False
    for engine in (alpha, beta, admin):
        engine.dispose()
