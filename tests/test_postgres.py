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
