"""Audit of `perkmatch status` (its text) and of the demo (``matcher.demo``), with the fake encoder."""

import datetime as dt
import json
import re

import pytest

from matcher.sensitive_content import matter_phrases
from matcher.store import Run, open_engine, session
from tests.test_status import status_world

TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """``test_status``'s world: three people profiled and matched as of 2025-03-01, one without consent."""
    return status_world(tmp_path, write, monkeypatch)


def shown(world, *args: str) -> list[str]:  # type: ignore[no-untyped-def]
    """`status ARGS`' lines, with times, durations and the test folder made stable."""
    result = world("status", *args)
    assert result.exit_code == 0, result.output
    text = re.sub(TIME, "TIME", result.stdout.replace(str(world.tmp), "TMP"))
    return re.sub(r"\d+\.\d s\b", "N s", text).splitlines()


def test_status_text_shows_each_part_of_the_report(world) -> None:  # type: ignore[no-untyped-def]
    lines = shown(world, "--runs", "2")
    size = json.loads(world("status", "--json").stdout)["size_bytes"]
    assert lines[0] == f"database  TMP/w.db ({size / 1e6:,.1f} MB)"  # megabytes
    assert lines[1:] == [
        "users     4: 3 opted in, 1 without consent; 0 opted out, 0 forgotten (their data deleted, by forget or an "
        "opt-out), kept as salted hashes only",
        "posts     18 by 3 users (0 reshares), written 2025-01-01 to 2025-01-16",
        f"vectors   {32 + len(matter_phrases())} texts embedded by fake-64",  # the embeddings, by model (and the
        # sensitive matters' phrases: ``sensitive_content``)
        "taxonomy  3 topics (3 top-level, 1 sensitive)",
        "catalog   version 1, refreshed TIME from TMP/c.yaml: 5 live perks",
        "profile   run 1 finished TIME (as of 2025-03-01, opt-in): 3 users, 18 posts, 3 topics inferred, by fake-64",
        "match     run 2 finished TIME: 4 assignments among 3 users with topics (catalog version 1, profile run 1)",
        "",
        "runs, newest first:",
        "     2 match   finished TIME, N s, offers as of 2025-03-01: 4 assignments among 3 users with topics, "
        "catalog version 1",
        f"     1 profile finished TIME, N s, as of 2025-03-01: 3 users, 18 posts, {27 + len(matter_phrases())} texts "
        "embedded, 3 topics "
        "inferred, 3 users computed",
        "",
        "up to date: nothing to run"]


def test_a_run_line_shows_when_it_finished_not_when_it_started(world) -> None:  # type: ignore[no-untyped-def]
    engine = open_engine(world.db)
    with session(engine) as s:  # a match that took an hour
        run = s.get(Run, 2)
        assert run is not None and run.finished_at is not None
        run.started_at = run.finished_at - dt.timedelta(hours=1)
        s.add(run)
        s.commit()
        finished = run.finished_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    engine.dispose()
    text = world("status", "--runs", "1").stdout
    assert f"     2 match   finished {finished}, 3,600.0 s, offers as of 2025-03-01" in text


def test_status_text_tells_opt_outs_from_forgotten_users_and_a_rerun_computing_nobody(world) -> None:  # type: ignore[no-untyped-def]
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0  # nothing changed: every user reused
    assert world("consent", "cat", "opted_out").exit_code == 0
    assert world("forget", "bob").exit_code == 0
    lines = shown(world, "--runs", "3")
    assert lines[1] == ("users     2: 1 opted in, 1 without consent; 1 opted out, 2 forgotten (their data deleted, by "
                        "forget or an opt-out), kept as salted hashes only")
    assert "     3 profile finished TIME, N s, as of 2025-03-01: 3 users, 18 posts, 0 texts embedded, 3 topics " \
        "inferred, 0 users computed" in lines


# --- the demo (fake encoder: the `cli` fixture)


def test_the_demo_profiles_as_of_its_fixed_day_and_shows_every_gaming_account(cli) -> None:  # type: ignore[no-untyped-def]
    from matcher.demo import GAMING

    result = cli("demo")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    gaming = lines.index("Activity is not influence: gaming earns nothing:")
    assert [line.split(" (")[0].strip() for line in lines[gaming + 1:gaming + 6]] == [
        "u-firehose", "u-oneviral", "u-burst", "u-spammer", "u-resharer"] == list(GAMING)
    assert "  u-burst (15 crypto posts in one day): " in result.stdout
    status = json.loads(cli("status", "--json").stdout)
    assert status["profile"]["as_of"] == "2026-11-20T00:00:00Z"  # the sample data's day, whatever today is: repeatable


def test_the_demo_refuses_a_database_with_another_taxonomy(cli, write) -> None:  # type: ignore[no-untyped-def]
    taxonomy = [{"topic_id": "knitting", "name": "Knitting", "description": "yarn needles wool"}]
    assert cli("taxonomy", "load", write("t.yaml", taxonomy)).exit_code == 0
    result = cli("demo")
    assert result.exit_code == 1 and "this database holds another taxonomy;" in " ".join(result.stderr.split())
    assert json.loads(cli("status", "--json").stdout)["users"]["total"] == 0  # nothing of the sample stored


def test_the_demo_names_everything_it_refuses_a_database_for(cli, write) -> None:  # type: ignore[no-untyped-def]
    taxonomy = [{"topic_id": "knitting", "name": "Knitting", "description": "yarn needles wool"}]
    perks = [{"perk_id": "yarn", "brand": "Wool", "title": "Free yarn", "description": "yarn needles wool"}]
    assert cli("taxonomy", "load", write("t.yaml", taxonomy)).exit_code == 0
    assert cli("catalog", "refresh", write("c.yaml", perks)).exit_code == 0
    result = cli("demo")
    assert result.exit_code == 1
    assert "this database holds another taxonomy and another catalog;" in " ".join(result.stderr.split())


def test_the_demo_refuses_a_database_with_another_catalog(cli, write) -> None:  # type: ignore[no-untyped-def]
    perks = [{"perk_id": "yarn", "brand": "Wool", "title": "Free yarn", "description": "yarn needles wool"}]
    assert cli("catalog", "refresh", write("c.yaml", perks)).exit_code == 0
    result = cli("demo")
    assert result.exit_code == 1 and "this database holds another catalog;" in " ".join(result.stderr.split())
    shown = json.loads(cli("catalog", "show", "yarn", "--json").stdout.splitlines()[-1])
    assert shown["perk_id"] == "yarn" and json.loads(cli("status", "--json").stdout)["catalog"]["live_perks"] == 1


def test_the_demo_refuses_a_database_holding_posts_of_an_author_with_no_record(cli, write) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import post

    stored = cli("ingest", write("p.jsonl", [post("z1", "zed", "hello there", 1)]), "--consent-policy", "opt-out")
    assert stored.exit_code == 0 and json.loads(cli("status", "--json").stdout)["users"]["total"] == 0
    result = cli("demo")  # zed has posts but no users row: still another person's data
    assert result.exit_code == 1
    assert "this database holds other people's posts or users;" in " ".join(result.stderr.split())
