"""PostgreSQL as the store: a real server started by the test gives the same topics and assignments as SQLite.

Needs Debian's `postgresql` package (`.ci/run` installs it); the server runs as the `postgres` user on a private
port and socket folder, with trust authentication, and is stopped at the end.
"""

import contextlib
import glob
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from matcher.assignments import match_records
from matcher.demo import run_demo
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.status import database_status
from matcher.store import open_engine
from matcher.topic_records import user_topics


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str) -> list[str]:
    runner = shutil.which("runuser")
    return [runner, "-u", "postgres", "--", *args] if runner else list(args)


@contextlib.contextmanager
def postgres_server(prefix: str = "perkmatch-pg-"):  # type: ignore[no-untyped-def]
    """A private PostgreSQL server for a module's tests: (URL of its `postgres` database, its data folder)."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.fail("PostgreSQL is not installed: `apt-get install postgresql` (Debian), as .ci/run does")
    bindir = Path(bins[-1]).parent
    root = Path(tempfile.mkdtemp(prefix=prefix))  # pytest's folders are private to root; this one is not
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
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", data
    finally:
        subprocess.run(_as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"),
                       check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_url():  # type: ignore[no-untyped-def]
    with postgres_server() as (url, _):
        yield url


def pipeline(db: str, next_catalog: str) -> tuple[str, str, str, str, str, str, str]:
    from catalog.refresh import live_perks, refresh
    from matcher.changes import earlier_run
    from matcher.errors import PerkmatchError
    from matcher.match import run_match
    from matcher.profile_run import latest_run
    from matcher.store import session
    from matcher.taxonomy import topic_sets
    from matcher.why_perk import explain_perk, nobody_reason

    engine = open_engine(db)
    cache = EmbeddingCache(engine, FakeEncoder())
    run_demo(engine, cache)
    topics = json.dumps(user_topics(engine), sort_keys=True)
    records = match_records(engine)
    matches = json.dumps(records, sort_keys=True)
    with session(engine) as s:
        unused = sorted({p.perk_id for p in live_perks(s)} - {r["perk_id"] for r in records})[:4]
    asked = [(r["user_id"], r["perk_id"]) for r in records[:2]] + [("u-oneviral", "pk-courtside-poster"),
                                                                   ("u-maya", "pk-courtside-poster")]
    why = json.dumps([explain_perk(engine, cache, u, p) for u, p in asked]
                     + [nobody_reason(engine, cache, p) for p in unused], sort_keys=True)
    preview = run_match(engine, cache, per_user=1, read_back=lambda s, run_id: match_records(s, run_id)).preview
    with session(engine) as s:
        known, sensitive = topic_sets(s)
    staged = run_match(engine, cache, read_back=lambda s, run_id: match_records(s, run_id), stage=lambda s: refresh(
        s, next_catalog, cache, topics=known, sensitive=sensitive, commit=False)).preview  # --dry-run --catalog
    status = database_status(engine, db)  # after the dry runs: they kept no match run, and no catalog version
    matched = latest_run(engine, "match")
    since = [earlier_run(engine, int(matched.id or 0), None, "match").id]  # `match --dry-run --changes --since`
    try:  # before, on PostgreSQL: both "integer out of range" (ids are 32-bit there)
        earlier_run(engine, 99_999_999_999, latest_run(engine))
    except PerkmatchError as exc:
        since.append(str(exc))
    engine.dispose()
    when = ("started_at", "finished_at", "refreshed_at")
    for part in ("catalog", "profile", "match"):  # times and where the database is differ, the rest must not
        status[part] = {k: v for k, v in status[part].items() if k not in when}
    return topics, matches, json.dumps({k: v for k, v in status.items() if k not in ("database", "size_bytes")},
                                       sort_keys=True), why, json.dumps(preview, sort_keys=True), json.dumps(
        staged, sort_keys=True), json.dumps(since)


def test_postgres_gives_the_same_topics_and_assignments_as_sqlite(postgres_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from matcher.demo import sample_path

    sample = yaml.safe_load(Path(sample_path("catalog.yaml")).read_text())
    perks = sample["perks"] if isinstance(sample, dict) else sample
    growler = {"perk_id": "pk-growler", "brand": "Hopyard Brewing", "title": "Free growler fill",
               "description": "A free growler fill of any draft beer, for home brewers and beer fans."}
    next_catalog = tmp_path / "next.yaml"  # the sample catalog without its brewery tour, and a new beer perk
    next_catalog.write_text(yaml.safe_dump([p for p in perks if p["perk_id"] != "pk-hopyard-brewery-tour"] + [growler]))
    on_sqlite = pipeline(str(tmp_path / "s.db"), str(next_catalog))
    on_postgres = pipeline(postgres_url, str(next_catalog))
    assert json.loads(on_sqlite[0]) and json.loads(on_sqlite[1])
    assert json.loads(on_sqlite[2])["posts"]["reshares"] == 86  # `perkmatch status` too (u-resharer)
    assert len(json.loads(on_sqlite[3])) >= 5  # explain USER PERK_ID and brand's why-nobody too
    preview = json.loads(on_sqlite[4])  # `match --dry-run --per-user 1`: one perk a user, and the match kept as it was
    assert len(preview) == len({r["user_id"] for r in preview}) < len(json.loads(on_sqlite[1]))
    assert json.loads(on_sqlite[2])["match"]["assignments"] == len(json.loads(on_sqlite[1]))
    staged = {(r["user_id"], r["perk_id"]) for r in json.loads(on_sqlite[5])}  # the catalog previewed, not kept
    assert ("u-beerfan", "pk-growler") in staged and ("u-beerfan", "pk-hopyard-brewery-tour") not in staged
    assert json.loads(on_sqlite[2])["catalog"]["version"] == 1
    since = json.loads(on_sqlite[6])  # an earlier run, as `--since` reads it; and an id no run has
    assert since[0] == json.loads(on_sqlite[2])["match"]["run_id"] and "--since 99999999999: not a finished" in since[1]
    assert on_postgres == on_sqlite


def test_a_forget_racing_a_profile_chunk_on_postgres_leaves_nothing(postgres_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import threading

    from sqlalchemy import text

    import matcher.eligible as eligible
    import matcher.profile_run as profile_run
    from matcher.demo import AS_OF
    from matcher.engine_local import LocalExecutor
    from matcher.forget import forget
    from matcher.records import to_epoch

    url = fresh_database(postgres_url, "race")
    engine = open_engine(url)
    run_demo(engine, EmbeddingCache(engine, FakeEncoder()))
    real = eligible.eligible_among
    racer: list[threading.Thread] = []

    def check_then_race(conn, user_ids, policy):  # type: ignore[no-untyped-def]
        found = real(conn, user_ids, policy)  # u-maya is still there: her rows stay in this chunk
        if "u-maya" in found and not racer:  # a forget now, between the chunk's check and its commit
            racer.append(threading.Thread(target=forget, args=(engine, "u-maya")))
            racer[0].start()
            racer[0].join(1.0)  # without the lock it finishes here, before the chunk commits its rows for her
        return found

    monkeypatch.setattr(eligible, "eligible_among", check_then_race)
    profile_run.run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=to_epoch(AS_OF) + 86_400,
                            executor=LocalExecutor())
    racer[0].join(30)
    with engine.connect() as conn:
        for table in ("topic_scores", "evidence", "profiled_users", "posts", "users"):
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE user_id = 'u-maya'")).scalar() == 0, table
    engine.dispose()


def fresh_database(postgres_url: str, name: str) -> str:
    """The URL of a new, empty database of this name on the server (dropped first if there)."""
    from sqlalchemy import create_engine, text

    from matcher.store import db_url

    admin = create_engine(db_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return postgres_url.rsplit("/", 1)[0] + "/" + name


def test_postgres_stores_far_dates_big_counts_and_text_with_nul(postgres_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from matcher.ingest import ingest
    from matcher.profile_run import run_profile
    from matcher.records import to_epoch

    url = fresh_database(postgres_url, "edges")
    old = open_engine(url)  # a database made before the columns were 64-bit
    with old.begin() as conn:
        conn.execute(text("ALTER TABLE posts ALTER COLUMN created_at TYPE INTEGER"))
        conn.execute(text("ALTER TABLE runs ALTER COLUMN as_of TYPE INTEGER"))
    old.dispose()
    engine = open_engine(url)  # widened when opened
    users = tmp_path / "u.jsonl"
    users.write_text('{"user_id": "u-a", "consent": "opted_in"}\n')
    posts = tmp_path / "p.jsonl"
    rows = [{"post_id": f"f-{i}", "user_id": "u-a", "created_at": f"2039-03-0{i + 1}T10:00:00Z",
             "text": f"Booked a flight\u0000 to Tokyo for the 2039 eclipse, day {i}", "likes": 3_000_000_000}
            for i in range(3)]  # before: integer out of range, and PostgreSQL refused the NUL: a traceback
    posts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ingest(engine, str(posts), str(users))
    summary = run_profile(engine, EmbeddingCache(engine, FakeEncoder()), as_of=to_epoch("2039-03-05T00:00:00Z"))
    assert summary.posts == 3
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT created_at, likes, text FROM posts ORDER BY post_id")).all()
    assert stored[0] == (to_epoch("2039-03-01T10:00:00Z"), 3_000_000_000,
                         "Booked a flight to Tokyo for the 2039 eclipse, day 0")
    engine.dispose()


def test_postgres_urls_are_masked_in_errors_and_postgres_scheme_is_accepted() -> None:
    from matcher.errors import PerkmatchError
    from matcher.store import db_url

    assert db_url("postgres://u:p@h:5/d") == db_url("postgresql://u:p@h:5/d") == "postgresql+psycopg://u:p@h:5/d"
    with pytest.raises(PerkmatchError) as refused:
        open_engine(f"postgresql://someone:secretpw@127.0.0.1:{_free_port()}/nothing")
    message = str(refused.value)
    assert "secretpw" not in message and "someone:***@127.0.0.1" in message and "cannot open the database" in message
    assert "sqlalche.me" not in message
    assert message.endswith("; check that the server is running, and the host and port in the URL")  # before: no fix
    for url, said in (("postgresq://u@h/d", "'postgresq://' is not a database perkmatch uses"),  # not "install ..."
                      ("mysql://u@h/d", "^--db mysql://u@h/d: 'mysql://' is not a database perkmatch uses"),  # not
                      # "cannot use this database URL (No module named 'MySQLdb'); for PostgreSQL install ..."
                      ("postgresql:/u@h/d", "a database URL with a slash missing, read as a file path")):
        with pytest.raises(PerkmatchError, match=said):
            open_engine(url)


def test_nul_characters_are_dropped_from_texts_and_refused_in_ids() -> None:
    from pydantic import ValidationError

    from catalog.schema import PerkIn
    from matcher.records import PostIn, UserIn

    post = PostIn.model_validate({"post_id": "p", "user_id": "u", "text": "a\x00b", "context": "c\x00",
                                  "created_at": 1})
    assert (post.text, post.context) == ("ab", "c")  # the same on SQLite and PostgreSQL (which cannot store NUL)
    for bad in (lambda: PostIn.model_validate({"post_id": "p\x00", "user_id": "u", "text": "t", "created_at": 1}),
                lambda: UserIn.model_validate({"user_id": "u\x00"}),
                lambda: PerkIn.model_validate({"perk_id": "k", "brand": "B", "title": "T\x00", "description": "D"})):
        with pytest.raises(ValidationError, match="NUL character"):
            bad()


def test_match_records_are_in_the_same_order_whatever_the_databases_collation(postgres_url) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, text

    from matcher.store import db_url

    admin = create_engine(db_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS collated"))
        conn.execute(text("CREATE DATABASE collated TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
                          "LOCALE 'C.UTF-8'"))  # as production servers often are: "u_x" sorts before "u-y" there
    admin.dispose()
    engine = open_engine(postgres_url.rsplit("/", 1)[0] + "/collated")
    run_demo(engine, EmbeddingCache(engine, FakeEncoder()))
    first, last = (lambda users: (users[0], users[-1]))(sorted({r["user_id"] for r in match_records(engine)}))
    renamed = ((first, "u_" + first[2:]), (last, "U" + last[1:]))  # "u-beerfan" -> "u_beerfan", "u-yogi" -> "U-yogi"
    with engine.begin() as conn:  # ids that sort differently by collation than by code point
        for old, new in renamed:
            for table in ("assignments", "users", "posts", "topic_scores", "evidence", "profiled_users", "withheld"):
                conn.execute(text(f"UPDATE {table} SET user_id = :new WHERE user_id = :old"), {"new": new, "old": old})
    users = [r["user_id"] for r in match_records(engine)]
    assert users == sorted(users) and {new for _, new in renamed} <= set(users)  # code-point order, as on SQLite
    engine.dispose()


def test_a_reading_command_refuses_a_server_database_without_perkmatch_data(postgres_url) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, inspect
    from typer.testing import CliRunner

    from matcher.cli import app
    from matcher.store import db_url

    url = fresh_database(postgres_url, "empty1")
    for args in (["topics", "--all"], ["taxonomy", "show"]):  # before: taxonomy show made the tables in it
        result = CliRunner().invoke(app, ["--db", url, *args])
        assert result.exit_code == 1 and "this database holds no perkmatch data; check its name" in result.stderr
    missing = CliRunner().invoke(app, ["--db", postgres_url.rsplit("/", 1)[0] + "/nosuchdb", "status"])
    assert missing.exit_code == 1 and "create it (`createdb NAME` on the server), or check the database name" in \
        " ".join(missing.stderr.split())  # before: the server's words alone
    plain = create_engine(db_url(url))
    assert not inspect(plain).has_table("posts")  # before: all the tables were created in it
    plain.dispose()
    open_engine(url).dispose()  # a command that writes sets it up; then reading commands open it
    open_engine(url, existing=True).dispose()


def test_every_way_of_forgetting_a_user_on_postgres_reminds_to_vacuum(postgres_url, write) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from matcher.cli import app

    url = fresh_database(postgres_url, "vacuum1")
    runner = CliRunner()
    users = [{"user_id": u, "consent": "opted_in"} for u in ("a", "b", "c")]
    posts = [{"post_id": f"{u}1", "user_id": u, "text": "hello there", "created_at": 1_735_732_800}
             for u in ("a", "b", "c")]
    assert runner.invoke(app, ["--db", url, "ingest", write("p.jsonl", posts), "--users",
                               write("u.jsonl", users)]).exit_code == 0
    # every table holding their rows: before, posts and embeddings only, and the advice, followed, left the users'
    # ids, handles and regions in the data files of the others
    reminder = ("PostgreSQL keeps deleted rows until VACUUM: run `VACUUM FULL posts, embeddings, users, topic_scores, "
                "evidence, profiled_users, assignments, withheld`")
    for args in (["forget", "a"], ["consent", "b", "opted_out"],
                 ["ingest", "--users", write("out.jsonl", [{"user_id": "c", "consent": "opted_out"}])]):
        result = runner.invoke(app, ["--db", url, *args])
        assert result.exit_code == 0 and reminder in result.stderr, (args, result.output)
    unchanged = runner.invoke(app, ["--db", url, "ingest", "--users", write("u2.jsonl", users[:1])])
    assert unchanged.exit_code == 0 and reminder not in unchanged.stderr  # nobody forgotten: no reminder


def test_a_scripted_forget_on_postgres_still_says_to_vacuum(postgres_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from matcher.cli import app

    url = fresh_database(postgres_url, "scripted")
    users = tmp_path / "u.jsonl"
    users.write_text('{"user_id": "ann", "consent": "opted_in"}\n{"user_id": "bob", "consent": "opted_in"}\n')
    runner = CliRunner()
    assert runner.invoke(app, ["--db", url, "ingest", "--users", str(users)]).exit_code == 0
    forgot = runner.invoke(app, ["--db", url, "forget", "ann", "--json"])
    assert forgot.exit_code == 0 and json.loads(forgot.stdout)["user_id"] == "ann"
    assert "VACUUM" in forgot.stderr  # before: said without --json only, and scripts are who deletes in bulk
    users.write_text('{"user_id": "bob", "consent": "opted_out"}\n')
    opted_out = runner.invoke(app, ["--db", url, "ingest", "--users", str(users), "--json"])
    assert json.loads(opted_out.stdout)["users_forgotten"] == 1 and "VACUUM" in opted_out.stderr


def test_a_second_profile_run_on_postgres_waits_for_the_first(postgres_url) -> None:  # type: ignore[no-untyped-def]
    """Before, two at once both embedded every text and computed every user (the second for nothing)."""
    import threading

    from sqlalchemy import text

    from matcher.demo import sample_path
    from matcher.ingest import ingest
    from matcher.locks import PROFILE_LOCK
    from matcher.profile_run import run_profile

    url = fresh_database(postgres_url, "profiles2")
    engine = open_engine(url)
    ingest(engine, sample_path("posts.jsonl"), sample_path("users.jsonl"))
    waited: list[int] = []
    engine.update_execution_options(on_lock_wait=lambda: waited.append(1))
    elsewhere = open_engine(url)
    first = elsewhere.connect()  # a run under way elsewhere: it holds the lock
    first.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PROFILE_LOCK})
    first.commit()
    done: list = []
    second = threading.Thread(target=lambda: done.append(run_profile(engine, EmbeddingCache(engine, FakeEncoder()),
                                                                     as_of=1_760_000_000)))
    second.start()
    time.sleep(2)
    with engine.connect() as conn:  # it waits before it embeds or records anything
        assert waited == [1] and second.is_alive() and conn.execute(text("SELECT COUNT(*) FROM runs")).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM embeddings")).scalar() == 0
    first.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PROFILE_LOCK})
    first.commit()
    second.join(120)
    assert not second.is_alive() and done[0].users > 0
    assert first.execute(text("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar() == 0  # let go
    first.close()
    elsewhere.dispose()
    engine.dispose()


def test_status_on_postgres_tells_a_running_profile_run_from_a_killed_one_and_gives_its_size(postgres_url) -> None:  # type: ignore[no-untyped-def]
    from matcher.locks import profile_lock, profile_running

    engine = open_engine(fresh_database(postgres_url, "running"))
    assert profile_running(engine) is False  # read from pg_locks: nothing taken
    assert database_status(engine, "db")["size_bytes"] > 0  # (before: null on a server)
    with profile_lock(engine):
        assert profile_running(engine) is True
    assert profile_running(engine) is False
    other = open_engine(fresh_database(postgres_url, "running2"))  # another database's run is not this one's
    with profile_lock(other):
        assert profile_running(engine) is False
    engine.dispose()
    other.dispose()


def test_reading_on_a_read_only_postgres_connection(postgres_url) -> None:  # type: ignore[no-untyped-def]
    """What the reading commands call runs where every transaction is read-only (a hot standby, a read-only role):
    opening the database (its tables, widened columns and indexes there already), `status` (size, locks), topics,
    their changes, assignments and why a perk went to a user."""
    from sqlalchemy import text

    from matcher.changes import topic_changes
    from matcher.why_perk import explain_perk

    url = fresh_database(postgres_url, "readonly1")
    engine = open_engine(url)
    cache = EmbeddingCache(engine, FakeEncoder())
    run_demo(engine, cache)
    engine.dispose()
    read_only = open_engine(url + "?options=-c%20default_transaction_read_only%3Don", existing=True)
    try:
        cache = EmbeddingCache(read_only, FakeEncoder())
        assert database_status(read_only, url)["posts"]["total"] > 0
        assert user_topics(read_only, "u-maya") and match_records(read_only)
        assert {c["change"] for c in topic_changes(read_only, "u-maya")["changes"]} == {"new"}  # (the one run)
        assert explain_perk(read_only, cache, "u-oneviral", "pk-courtside-poster")
        with pytest.raises(Exception, match="read-only transaction"), read_only.begin() as conn:
            conn.execute(text("CREATE TABLE probe (i int)"))  # (the option holds: a write is refused)
    finally:
        read_only.dispose()
