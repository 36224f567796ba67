"""Failures a command meets outside its input files: a damaged or busy database, output that cannot be written,
two commands at once, a mistyped --db. Each ends in one line naming the fix, never a traceback, never half a write."""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel, select
from typer.testing import CliRunner

from catalog.schema import CatalogVersion
from matcher.cli import app
from matcher.store import Run, open_engine, session
from tests.conftest import post

runner = CliRunner()
NO_WRITE = "/sys"  # a folder no file can be made in, even by root (tests run as root in CI)


def perkmatch(*args: str, **kw):  # type: ignore[no-untyped-def]
    """The CLI in a process of its own (its own stdout: a full device, a closed pipe)."""
    return subprocess.Popen([sys.executable, "-m", "matcher", *args], stderr=subprocess.PIPE, text=True, **kw)


def users_and_posts(tmp_path: Path, name: str, users: int = 200, posts: int = 2000) -> tuple[str, str]:
    users_file, posts_file = tmp_path / f"{name}-users.jsonl", tmp_path / f"{name}-posts.jsonl"
    users_file.write_text("".join(json.dumps({"user_id": f"u{i}", "handle": name, "consent": "opted_in"}) + "\n"
                                  for i in range(users)))
    posts_file.write_text("".join(json.dumps(post(f"{name}-{i}", f"u{i % users}", f"post {i}", 1)) + "\n"
                                  for i in range(posts)))
    return str(users_file), str(posts_file)


def test_two_ingests_at_once_given_the_same_new_users_both_store_and_count_right(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "race.db")
    open_engine(db).dispose()
    (u1, p1), (u2, _) = users_and_posts(tmp_path, "one"), users_and_posts(tmp_path, "two")
    runs = [perkmatch("--db", db, "ingest", p1, "--users", users, "--json", stdout=subprocess.PIPE)
            for users in (u1, u2)]  # before: the second failed on the users both inserted, with SQL and a traceback
    outputs = [run.communicate() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    records = [json.loads(line) for out, _ in outputs for line in out.splitlines()]
    users = sorted((r for r in records if r["path"] in (u1, u2)), key=lambda r: r["users_added"])
    assert [(r["users_added"], r["users_updated"]) for r in users] == [(0, 200), (200, 0)]  # one stored, one updated
    counted = sorted((r for r in records if r["path"] == p1), key=lambda r: r["added"])
    assert [(r["added"], r["unchanged"]) for r in counted] == [(0, 2000), (2000, 0)]  # before: 1000 of them unsaid


def test_a_damaged_database_is_said_in_one_line_without_sql_or_user_data(cli, write) -> None:  # type: ignore[no-untyped-def]
    users = write("users.jsonl", [{"user_id": f"secret-user-{i}", "consent": "opted_in"} for i in range(300)])
    cli("ingest", write("p.jsonl", [post(f"p{i}", f"secret-user-{i % 300}", f"words {i} " * 20, 1)
                                    for i in range(3000)]), "--users", users)
    size = Path(cli.db).stat().st_size
    with open(cli.db, "r+b") as f:  # the second half zeroed: the schema reads, the posts do not
        f.seek(size // 2)
        f.write(b"\0" * (size - size // 2))
    result = cli("export", "secret-user-1")
    assert result.exit_code == 1 and "Traceback" not in result.output
    message = " ".join(result.stderr.split())
    assert message.startswith("Error: the database failed: database disk image is malformed. The database file is "
                              "damaged: restore it from a backup") and "SELECT" not in message
    assert "secret-user-2" not in message  # before: the SQL and its parameters, users' ids among them
    with open(cli.db, "r+b") as f:  # damaged where the schema is: refused when opened, with the same advice
        f.seek(100)
        f.write(b"\0" * 8000)
    opened = cli("export", "secret-user-1")
    assert opened.exit_code == 1 and "cannot open the database" in opened.stderr
    assert "the database file is damaged: restore it from a backup" in " ".join(opened.stderr.split())


def test_a_db_path_that_is_a_folder_or_another_kind_of_file_says_so(write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Before: "unable to open database file", and for a posts file given as --db, "the database file is damaged:
    restore it from a backup" (found by helper-92)."""
    users = write("users.jsonl", [{"user_id": "ann", "consent": "opted_in"}])
    before = Path(users).read_bytes()
    for db, said in ((users, "is not a SQLite database (another kind of file: check the path"),
                     (str(tmp_path), "is a folder; give the path of the database file")):
        result = subprocess.run([sys.executable, "-m", "matcher", "--db", db, "status"], capture_output=True, text=True)
        assert result.returncode == 1 and f"Error: --db {db}: {said}" in " ".join(result.stderr.split())
        assert "damaged" not in result.stderr
    assert Path(users).read_bytes() == before


def test_output_that_cannot_be_written_is_one_line_and_a_closed_pipe_ends_quietly(cli, write) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", write("p.jsonl", [post("p1", "ann", "hello", 1)]), "--consent-policy", "opt-out")
    with open("/dev/full", "w") as full:
        for args in (["taxonomy", "show", "--json"], ["status"]):  # plain JSON, and a rich table
            run = perkmatch("--db", cli.db, *args, stdout=full)
            _, stderr = run.communicate()
            assert run.returncode == 1 and "Traceback" not in stderr, stderr  # before: an OSError traceback
            assert "Error: writing the output failed (No space left on device)" in stderr
    run = perkmatch("--db", cli.db, "status", stdout=subprocess.PIPE)
    run.stdout.close()  # the reader went away (`| head`) before the command wrote
    _, stderr = run.communicate()
    assert (run.returncode, stderr) == (141, "")  # before: 1 (rich's own exit)


def test_a_table_written_to_a_closed_pipe_ends_as_every_other_output_does(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from matcher.cli.common import print_table

    read, write = os.pipe()
    os.close(read)  # `topics --all | head -1`: the reader is gone by the time the table is written
    pipe = os.fdopen(write, "w")
    monkeypatch.setattr(sys, "stdout", pipe)
    table = Table("topic")
    table.add_row("travel")
    with pytest.raises(BrokenPipeError):  # exit 141 (``handled``); before: rich's SystemExit(1), for tables only
        print_table(table)
    monkeypatch.undo()
    with contextlib.suppress(BrokenPipeError):  # what is left in its buffer cannot go anywhere either
        pipe.close()


def test_files_that_cannot_be_written_are_refused_before_any_work(cli, write) -> None:  # type: ignore[no-untyped-def]
    bad = write("bad.jsonl", [post("p1", "ann", "hello", 1), {"post_id": "p2"}])
    result = cli("ingest", bad, "--consent-policy", "opt-out", "--skip-invalid", "--rejects", f"{NO_WRITE}/r.jsonl")
    assert result.exit_code == 1 and "Traceback" not in result.output  # before: a PermissionError traceback
    assert f"--rejects {NO_WRITE}/r.jsonl: cannot write in its folder (Permission denied)" in result.stderr
    assert "posts added" not in result.stdout
    cli("ingest", write("p.jsonl", [post(f"p{i}", "ann", f"coffee beans and espresso {i}", i) for i in range(5)]),
        "--consent-policy", "opt-out")
    cli("profile", "--consent-policy", "opt-out")
    cli("catalog", "refresh", write("c.yaml", [{"perk_id": "k", "brand": "B", "title": "Beans",
                                                "description": "Coffee beans."}]))
    result = cli("match", "--out", f"{NO_WRITE}/m.csv")
    assert result.exit_code == 1 and f"cannot write in folder {NO_WRITE} (Permission denied)" in result.stderr
    with session(open_engine(cli.db)) as s:  # before: the match ran and was kept, then its file failed
        assert s.exec(select(Run).where(Run.kind == "match")).all() == []
    catalog = write("c2.yaml", [{"perk_id": "k", "brand": "B", "title": "Beans", "description": "Coffee beans."}])
    db, wal = cli.db, cli.db + "-wal"  # before: each was replaced by the file written, with exit 0
    for command in (["match", "--out", db, "--format", "csv"], ["export", "ann", "--out", db],
                    ["report", "user", "ann", "--out", db], ["ingest", bad, "--skip-invalid", "--rejects", wal],
                    ["match", "--dry-run", "--catalog", catalog, "--out", catalog, "--format", "jsonl"]):
        result = cli(*command)
        assert result.exit_code == 1 and "which writing would replace; give another path" in result.stderr, command
    assert cli("status").exit_code == 0 and "Beans" in Path(catalog).read_text()
    changes = cli("match", "--changes", "--out", str(Path(db).parent / "changes.csv"))
    assert changes.exit_code == 2 and "prints only what changed" in changes.stderr  # before: no file, exit 0


def test_a_mistyped_db_is_never_made_into_a_new_database(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    typo = str(tmp_path / "typo.db")
    result = runner.invoke(app, ["--db", typo, "profile"])
    assert result.exit_code == 1 and "there is no database there" in result.stderr  # before: an empty run, exit 0
    shown = runner.invoke(app, ["--db", typo, "taxonomy", "show"])
    assert shown.exit_code == 0 and "travel.air-travel" in shown.stdout  # the shipped default, before any set-up
    assert "No database at" in shown.stderr
    assert not Path(typo).exists()


def test_a_sqlite_url_is_the_file_it_names(cli, write) -> None:  # type: ignore[no-untyped-def]
    # before: "folder .../sqlite:/tmp does not exist" (the URL read as a relative path)
    assert cli("ingest", write("p.jsonl", [{"post_id": "p1", "user_id": "ann", "text": "hi", "created_at": 1}]),
               "--consent-policy", "opt-out").exit_code == 0
    result = runner.invoke(app, ["--db", f"sqlite:///{cli.db}", "status", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["posts"]["total"] == 1


def test_a_command_that_fails_on_a_new_database_leaves_no_file_behind(cli, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = write("bad.jsonl", [{"post_id": "p1"}])  # no user, text or time
    typo = tmp_path / "typo.db"
    result = runner.invoke(app, ["--db", str(typo), "ingest", bad])
    assert result.exit_code == 1 and "nothing was stored" in result.stderr
    assert list(tmp_path.glob("typo.db*")) == []  # before: an empty database, to be mistaken for a real one
    refreshed = runner.invoke(app, ["--db", str(typo), "catalog", "refresh", str(tmp_path / "missing.yaml")])
    assert refreshed.exit_code == 1 and list(tmp_path.glob("typo.db*")) == []  # (it had stored the default taxonomy)
    good = write("good.jsonl", [post("p1", "u1", "hello there", 1)])
    assert runner.invoke(app, ["--db", str(typo), "ingest", good, "--consent-policy", "opt-out"]).exit_code == 0
    assert runner.invoke(app, ["--db", str(typo), "ingest", bad]).exit_code == 1
    with open_engine(str(typo)).connect() as conn:  # a database it did not make stays, whatever it holds
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM posts").scalar() == 1


def test_an_empty_new_database_another_command_is_using_is_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from matcher.store import discard_if_empty

    busy = tmp_path / "busy.db"
    open_engine(str(busy)).dispose()
    other = sqlite3.connect(busy, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another command in the middle of its first write
    assert not discard_if_empty(str(busy)) and busy.exists()
    other.execute("ROLLBACK")
    other.execute("CREATE TABLE notes (x)")  # a table that is not perkmatch's: not ours to delete
    assert not discard_if_empty(str(busy)) and busy.exists()
    other.execute("DROP TABLE notes")
    other.close()
    assert discard_if_empty(str(busy)) and not busy.exists()


def test_an_ingest_waiting_for_another_commands_write_says_so_then_stores(cli, write) -> None:  # type: ignore[no-untyped-def]
    import sqlite3
    import threading

    posts = write("posts.jsonl", [post("p1", "u1", "hello there", 1)])
    assert cli("ingest", posts, "--consent-policy", "opt-out").exit_code == 0
    other = sqlite3.connect(cli.db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another command's write, ending in a second
    threading.Timer(1.0, lambda: other.execute("COMMIT")).start()
    later = write("later.jsonl", [post("p2", "u1", "hello again", 2)])
    result = cli("ingest", later, "--consent-policy", "opt-out")
    other.close()
    assert result.exit_code == 0 and "posts added 1" in result.stdout  # before: a silent wait
    assert f"Waiting for another command writing to {cli.db} to finish (up to 60 s)" in result.stderr


def test_a_profile_waiting_for_the_run_under_way_says_so_with_no_time_limit(cli, write) -> None:  # type: ignore[no-untyped-def]
    """The profile lock waits as long as the run under way takes: before, the message said "(up to 60 s)", a write's
    limit (found by helper-93)."""
    import threading

    from matcher.locks import profile_lock
    from matcher.store import open_engine

    cli("ingest", write("posts.jsonl", [post(f"p{i}", "u1", f"coffee beans {i}", i) for i in range(3)]),
        "--consent-policy", "opt-out")
    held = threading.Event()
    release = threading.Event()

    def run_under_way() -> None:
        with profile_lock(open_engine(cli.db)):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=run_under_way)
    holder.start()
    held.wait(30)
    threading.Timer(1.0, release.set).start()
    result = cli("profile", "--consent-policy", "opt-out")
    holder.join(30)
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert f"Waiting for the profile run under way on {cli.db} to finish (this one then reuses its work)" in said
    assert "up to 60 s" not in said


def test_a_wait_that_runs_out_says_what_held_the_database(cli, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    import matcher.locks

    first = cli("ingest", write("posts.jsonl", [post("p1", "u1", "hello", 1)]), "--consent-policy", "opt-out")
    assert first.exit_code == 0
    monkeypatch.setattr(matcher.locks, "SQLITE_WAIT_S", 0.2)
    other = sqlite3.connect(cli.db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another command's long write
    result = cli("ingest", write("later.jsonl", [post("p2", "u1", "hello again", 2)]), "--consent-policy", "opt-out")
    other.execute("ROLLBACK")
    other.close()
    assert result.exit_code == 1 and "Error: the database failed: database is locked." in result.stderr
    assert "Another command kept the database busy for longer than this one waits" in " ".join(result.stderr.split())


def test_catalog_versions_json_keeps_the_fields_order_in_every_process(cli, write) -> None:  # type: ignore[no-untyped-def]
    cli("catalog", "refresh", write("c.yaml", [{"perk_id": "k", "brand": "B", "title": "T", "description": "D."}]))
    outputs = set()
    for seed in range(6):  # before: the keys came in the order the row's attributes were loaded, by hash seed
        env = os.environ | {"PYTHONHASHSEED": str(seed)}
        outputs.add(subprocess.run([sys.executable, "-m", "matcher", "--db", cli.db, "catalog", "versions", "--json"],
                                   capture_output=True, text=True, env=env, check=True).stdout)
    assert len(outputs) == 1
    assert list(json.loads(outputs.pop())) == [*CatalogVersion.model_fields, "current"]


def test_two_commands_setting_up_one_new_database_both_find_its_tables(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real, calls = SQLModel.metadata.create_all, []

    def beaten(engine, *args, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:  # another command made a table between this one's look and its CREATE
            real(engine, *args, **kw)
            raise OperationalError("CREATE TABLE topic_scores", {}, Exception("table topic_scores already exists"))
        return real(engine, *args, **kw)

    monkeypatch.setattr(SQLModel.metadata, "create_all", beaten)
    engine = open_engine(str(tmp_path / "new.db"))  # before: "cannot open the database (table ... already exists)"
    assert len(calls) == 2
    engine.dispose()


def test_loading_a_taxonomy_that_drops_the_catalogs_target_topics_says_which_perks(cli, write) -> None:  # type: ignore[no-untyped-def]
    cli("catalog", "refresh", write("c.yaml", [
        {"perk_id": "lounge", "brand": "Sky", "title": "Lounge", "description": "A lounge pass.",
         "topics": ["travel.air-travel"]},
        {"perk_id": "beans", "brand": "Bean", "title": "Beans", "description": "Coffee beans."}]))
    result = cli("taxonomy", "load", write("t.yaml", [{"topic_id": "food", "name": "Food"}]), "--json")
    assert result.exit_code == 0  # loaded all the same: the taxonomy is the operator's to choose
    assert json.loads(result.stdout)["perks_targeting_missing_topics"] == {"lounge": ["travel.air-travel"]}
    assert "Warning: 1 live perk(s) target topics this taxonomy does not have: lounge (travel.air-travel)" in \
        " ".join(result.stderr.split())  # before: nothing said; the next refresh of the same file was refused


def test_an_as_of_before_every_post_warns_and_the_last_day_a_date_can_hold_is_accepted(cli, write) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", write("p.jsonl", [post(f"p{i}", "ann", f"coffee {i}", i) for i in range(4)]), "--consent-policy",
        "opt-out")
    early = cli("profile", "--consent-policy", "opt-out", "--as-of", "1970-01-01")
    assert early.exit_code == 0 and "1 users, 0 posts" in early.stdout
    assert "Warning: --as-of 1970-01-01: none of the 1 users' posts was written by then" in \
        " ".join(early.stderr.split())  # before: said nothing, though `match` now reads an empty run
    late = cli("profile", "--consent-policy", "opt-out", "--as-of", "9999-12-31")
    assert late.exit_code == 0 and "1 users, 4 posts" in late.stdout  # before: refused, "(1970 to 9999)"
    assert "none of the" not in late.stderr


def test_an_as_of_decades_after_the_posts_warns_that_the_scores_no_longer_rank(cli, write) -> None:  # type: ignore[no-untyped-def]
    """2126 for 2026, one key off: every post's recency weight is about 2^-50, every score rounds to 0, and the rule
    that demotes a side interest to the strongest topic (0) demotes nothing (found by helper-92)."""
    cli("ingest", write("p.jsonl", [post(f"p{i}", "ann", f"coffee {i}", i) for i in range(4)]), "--consent-policy",
        "opt-out")  # (posts of January 2025)
    said = lambda r: " ".join(r.stderr.split())  # noqa: E731
    assert "years after" not in said(cli("profile", "--consent-policy", "opt-out", "--as-of", "2040-01-01"))
    late = cli("profile", "--consent-policy", "opt-out", "--as-of", "2126-01-01")
    assert late.exit_code == 0
    assert ("Warning: --as-of 2126-01-01 is 101 years after the newest post (2025-01-04): recency has halved every "
            "post's weight 50 times since, so the scores round to 0") in said(late)


def test_a_database_password_is_masked_wherever_the_url_gives_it() -> None:
    from matcher.store import shown_db

    cases = {"postgresql://ann:secretpw@db.example:5432/pm": "postgresql://ann:***@db.example:5432/pm",
             "postgresql://ann@h/pm?password=secretpw&sslmode=require": "postgresql://ann@h/pm?password=***&sslmode=require",
             "postgres://ann@h/pm?sslmode=verify-full&sslpassword=secretpw": "postgres://ann@h/pm?sslmode=verify-full&sslpassword=***",
             "postgresql://ann:pa@ss@h:5/pm": "postgresql://ann:***@h:5/pm",  # an unescaped @: masked whole
             # SQLAlchemy reads /, ? and # in a password as written: before, such a password was shown whole
             "postgresql://ann:pa/ss@h:5/pm": "postgresql://ann:***@h:5/pm",
             "postgresql://ann:pa?ss@h/pm": "postgresql://ann:***@h/pm",
             "postgresql://ann:pa#ss@h/pm": "postgresql://ann:***@h/pm",
             "postgresql://ann:p@ss/word@h:5/pm": "postgresql://ann:***@h:5/pm",
             "postgresql://ann:pw@h/pm?application_name=me@corp": "postgresql://ann:***@h/pm?application_name=me@corp",
             "postgresql://ann:pw@h/my@db": "postgresql://ann:***@h/my@db",  # an @ after the host is not the password's
             "postgresql://h:5432/pm": "postgresql://h:5432/pm", "perkmatch.db": "perkmatch.db"}
    assert {url: shown_db(url) for url in cases} == cases  # before: the query's passwords, and "ss", were shown


def test_a_password_holding_an_at_sign_is_refused_without_showing_any_of_it(cli) -> None:  # type: ignore[no-untyped-def]
    """SQLAlchemy ends the password at its first `@` and gave the rest to the driver as the host: the connection went
    to a host named "word@127.0.0.1", and its error showed the password's tail."""
    for url in ("postgresql://op:pa55@w0rdz@127.0.0.1:1/pm", "postgres://op:pa55@w0/rdz@127.0.0.1:1/pm",
                "postgresql://op:pa55?w0@rdz@127.0.0.1:1/pm"):
        result = runner.invoke(app, ["--db", url, "status"])
        assert result.exit_code == 1 and "write each '@' in them as %40" in result.stderr
        assert "pa55" not in result.stderr and "w0" not in result.stderr and "rdz" not in result.stderr


def test_the_demo_never_prints_a_servers_password(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.cli.people

    local = open_engine(str(tmp_path / "stand-in.db"))  # the server's place taken by SQLite: what is printed counts
    monkeypatch.setattr(matcher.cli.people, "engine", lambda db: local)
    result = runner.invoke(app, ["demo", "--db", "postgresql://ann:secretpw@db.example/pm"])
    assert result.exit_code == 0, result.output
    assert "secretpw" not in result.output  # before: three times, in the commands it suggests
    assert "`perkmatch --db postgresql://ann:***@db.example/pm explain USER [TOPIC|PERK_ID]`" in " ".join(
        result.stdout.split())


def test_a_users_file_given_as_posts_is_refused_as_one(cli, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    users = write("users.jsonl", [{"user_id": f"u{i}", "consent": "opted_in", "region": "US"} for i in range(3)])
    new = tmp_path / "new.db"
    result = runner.invoke(app, ["--db", str(new), "ingest", users])
    assert result.exit_code == 1 and "no row has a post_id or a text, and each has a users file's fields: this is " \
        "a users file; give it as --users FILE" in " ".join(result.stderr.split())  # before: "skipped without
    assert list(tmp_path.glob("new.db*")) == []  # consent 3", exit 0
    blank = write("blank.csv", "post_id,user_id,text,created_at\n,u1,,\n")  # a posts file, its cells blank: its rows'
    said = runner.invoke(app, ["--db", str(new), "ingest", blank, "--consent-policy", "opt-out"])  # own problems
    assert said.exit_code == 1 and "field 'post_id'" in said.stderr and "users file" not in said.stderr


def test_gzip_on_standard_input_is_named_as_such(cli, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import gzip

    data = gzip.compress((json.dumps(post("p1", "u1", "hello there", 1)) + "\n").encode())
    result = runner.invoke(app, ["--db", str(tmp_path / "g.db"), "ingest", "-"], input=data)
    assert result.exit_code == 1 and "-: standard input is gzip-compressed; give the .gz file's path instead" in \
        " ".join(result.stderr.split())  # before: "not valid UTF-8 (byte 0x8b ...)", row by row


def test_a_value_the_database_refuses_is_not_blamed_on_its_reach() -> None:
    from sqlalchemy.exc import DataError

    from matcher.cli.common import database_hint

    hint = database_hint(DataError("SELECT", {}, Exception("integer out of range")))
    assert hint.startswith("The database refused a value") and "reachable" not in hint  # before: "once the database
    # is reachable", for a PostgreSQL run id out of its 32-bit range


def test_an_out_path_on_any_of_the_databases_files_is_refused_naming_it(cli, write) -> None:  # type: ignore[no-untyped-def]
    """The database's journal and shared-memory files are the database too; the refusal names the option and the
    path given."""
    cli("ingest", write("p.jsonl", [post("p1", "ann", "hello", 1)]), "--consent-policy", "opt-out")
    for end in ("", "-journal", "-shm", "-wal"):
        result = cli("export", "ann", "--out", cli.db + end)
        assert result.exit_code == 1 and f"Error: --out {cli.db}{end}: that is the database (--db), which writing " \
            "would replace; give another path" in " ".join(result.stderr.split()), end
        assert not Path(cli.db + end).exists() or end == ""


def test_a_file_the_library_cannot_open_is_named_in_one_line(cli, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An OSError naming a file, which the library did not turn into a message of its own, is said with that file
    (not as output that could not be written)."""
    import matcher.status

    cli("ingest", write("p.jsonl", [post("p1", "ann", "hello", 1)]), "--consent-policy", "opt-out")

    def denied(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied", "/srv/perkmatch/model.bin")

    monkeypatch.setattr(matcher.status, "database_status", denied)
    result = cli("status")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr == ("Error: /srv/perkmatch/model.bin: Permission denied; check the path and its "
                             "permissions\n")


@pytest.mark.parametrize(("said", "hint"), [
    ("attempt to write a readonly database", "The database file, or its folder, cannot be written"),
    ("UNIQUE constraint failed: users.user_id", "Another command changed the same rows at the same time"),
    ('duplicate key value violates unique constraint "users_pkey"', "Another command changed the same rows"),
])
def test_a_read_only_database_and_a_lost_race_are_told_what_to_do(said, hint) -> None:  # type: ignore[no-untyped-def]
    """database_hint's advice follows what the driver said."""
    from matcher.cli.common import database_hint

    assert database_hint(OperationalError("UPDATE users", {}, Exception(said))).startswith(hint)


def test_as_of_takes_a_day_whole_and_refuses_what_is_before_1970() -> None:
    """--as-of: a date is the end of that day (UTC); the first instant of 1970 is accepted, the one before is not."""
    import typer

    from matcher.cli.common import parse_as_of

    assert parse_as_of("2026-01-31") == 1769903999 and parse_as_of(" 2026-01-31 ") == 1769903999
    assert parse_as_of("2026-01-31T00:00:00Z") == 1769817600 and parse_as_of(None) is None
    assert parse_as_of("1970-01-01T00:00:00Z") == 0
    with pytest.raises(typer.BadParameter, match="1970 to 9999"):
        parse_as_of("1969-12-31T23:59:59Z")


def test_a_sqlite_file_holding_another_programs_users_table_is_refused_and_left_as_it_was(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    """An application's database with a `users` table of its own: `ingest` made perkmatch's other tables in it, then
    failed "no such column: users.user_id ... run the command again", and failed again every time."""
    import sqlite3

    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    result = runner.invoke(app, ["--db", str(db), "ingest", "--users", write("u.jsonl", [{"user_id": "ann"}])])
    assert result.exit_code == 1
    assert "holds a table 'users' that is not perkmatch's (it has no column consent" in " ".join(result.stderr.split())
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["users"]
    from matcher.store import _create_tables

    engine = create_engine(f"sqlite:///{db}")  # as an earlier version left it: every other table made, then failed
    _create_tables(engine)
    engine.dispose()
    for args in (["status"], ["ingest", "--users", write("u.jsonl", [{"user_id": "ann"}])]):
        again = runner.invoke(app, ["--db", str(db), *args])
        assert again.exit_code == 1 and "holds a table 'users' that is not perkmatch's" in again.stderr, again.output
