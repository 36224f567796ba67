"""PostgreSQL as the store: a real server started by the test gives the same topics and assignments as SQLite.

Needs Debian's `postgresql` package (`.ci/run` installs it); the server runs as the `postgres` user on a private
port and socket folder, with trust authentication, and is stopped at the end.
"""

import glob
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from matcher.demo import run_demo
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.explain import match_records, user_topics
from matcher.store import open_engine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str) -> list[str]:
    runner = shutil.which("runuser")
    return [runner, "-u", "postgres", "--", *args] if runner else list(args)


@pytest.fixture(scope="module")
def postgres_url():  # type: ignore[no-untyped-def]
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.fail("PostgreSQL is not installed: `apt-get install postgresql` (Debian), as .ci/run does")
    bindir = Path(bins[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="perkmatch-pg-"))  # pytest's folders are private to root; this one is not
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    shutil.chown(root, "postgres")
    shutil.chown(sock, "postgres")
    subprocess.run(_as_postgres(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"),
                   check=True, capture_output=True)
    port = _free_port()
    subprocess.run(_as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                                f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"),
                   check=True, capture_output=True)
    try:
        time.sleep(0.5)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"),
                       check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def pipeline(db: str) -> tuple[str, str]:
    engine = open_engine(db)
    run_demo(engine, EmbeddingCache(engine, FakeEncoder()))
    topics = json.dumps(user_topics(engine), sort_keys=True)
    matches = json.dumps(match_records(engine), sort_keys=True)
    engine.dispose()
    return topics, matches


def test_postgres_gives_the_same_topics_and_assignments_as_sqlite(postgres_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    on_sqlite = pipeline(str(tmp_path / "s.db"))
    on_postgres = pipeline(postgres_url)
    assert json.loads(on_sqlite[0]) and json.loads(on_sqlite[1])
    assert on_postgres == on_sqlite


def test_a_forget_racing_a_profile_chunk_on_postgres_leaves_nothing(postgres_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import threading

    from sqlalchemy import create_engine, text

    import matcher.profile_run as profile_run
    from matcher.demo import AS_OF
    from matcher.forget import forget
    from matcher.records import to_epoch
    from matcher.store import db_url

    admin = create_engine(db_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS race"))
        conn.execute(text("CREATE DATABASE race"))
    admin.dispose()
    url = postgres_url.rsplit("/", 1)[0] + "/race"
    engine = open_engine(url)
    run_demo(engine, EmbeddingCache(engine, FakeEncoder()))
    real = profile_run.eligible_among
    racer: list[threading.Thread] = []

    def check_then_race(conn, user_ids, policy):  # type: ignore[no-untyped-def]
        found = real(conn, user_ids, policy)  # u-maya is still there: her rows stay in this chunk
        if "u-maya" in found and not racer:  # a forget now, between the chunk's check and its commit
            racer.append(threading.Thread(target=forget, args=(engine, "u-maya")))
            racer[0].start()
            racer[0].join(1.0)  # without the lock it finishes here, before the chunk commits its rows for her
        return found

    monkeypatch.setattr(profile_run, "eligible_among", check_then_race)
    profile_run.run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=to_epoch(AS_OF) + 86_400,
                            executor=profile_run.LocalExecutor())
    racer[0].join(30)
    with engine.connect() as conn:
        for table in ("topic_scores", "evidence", "profiled_users", "posts", "users"):
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE user_id = 'u-maya'")).scalar() == 0, table
    engine.dispose()
