"""`perkmatch prune`: old profile and match runs deleted with their rows, never one a kept run still reads, and what
every command reads left as it was."""

import json
from typing import Any

import pytest
from sqlalchemy import text

from matcher.errors import WrongArgumentError
from matcher.prune import prune_runs
from matcher.store import open_engine
from tests.test_cli_match import posts_for
from tests.test_status import status_world

TABLES = ("topic_scores", "evidence", "profiled_users", "topic_vectors", "assignments", "withheld")


def counts(db: str) -> dict[int, dict[str, int]]:
    """Rows of each table by run id, and the runs."""
    eng = open_engine(db)
    out: dict[int, dict[str, int]] = {}
    with eng.connect() as conn:
        for (run_id,) in conn.execute(text("SELECT id FROM runs")).all():
            out[run_id] = {t: conn.execute(text(f"SELECT count(*) FROM {t} WHERE run_id = :r"), {"r": run_id}).scalar()
                           for t in TABLES}
    eng.dispose()
    return out


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """Profile run 1 and match run 2 (``status_world``), new posts, profile run 3 (which reuses run 1's topic fit) and
    match run 4, then profile run 5 (every user reused) and match run 6."""
    invoke = status_world(tmp_path, write, monkeypatch)
    assert invoke("ingest", write("more.jsonl", posts_for("ann", "coffee espresso beans roast", n=4))).exit_code == 0
    for args in (["profile", "--as-of", "2025-03-01"], ["match", "--as-of", "2025-03-01"]) * 2:
        assert invoke(*args).exit_code == 0
    return invoke


def test_prune_keeps_the_newest_runs_and_those_they_read_and_changes_nothing_commands_show(world) -> None:  # type: ignore[no-untyped-def]
    before = counts(world.db)
    assert sorted(before) == [1, 2, 3, 4, 5, 6] and before[3]["topic_vectors"] == 0  # run 3 read run 1's fit
    shown = {args: world(*args).stdout for args in (("topics", "--all", "--json"), ("brand", "lounge", "--json"),
                                                    ("explain", "ann", "travel", "--json"))}
    dry = world("prune", "--keep", "1", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert report["pruned"] == {"profile": [3], "match": [4, 2]} and report["dry_run"] is True
    assert report["kept"] == {"profile": [5, 1], "match": [6]}  # run 1: the topic fit run 5 reads
    assert counts(world.db) == before  # a dry run deletes nothing
    done = world("prune", "--keep", "1", "--json")
    assert json.loads(done.stdout)["rows"] == report["rows"] and report["rows"]["runs"] == 3
    after = counts(world.db)
    assert sorted(after) == [1, 5, 6] and all(after[r] == before[r] for r in after)
    assert {args: world(*args).stdout for args in shown} == shown  # (`export` shows every run kept: fewer now)
    assert [r["run_id"] for r in json.loads(world("export", "ann").stdout)["earlier_profile_runs"]] == [1]
    assert json.loads(world("topics", "ann", "--changes", "--json").stdout)["previous_run_id"] == 1  # (was 3)
    again = world("profile", "--as-of", "2025-03-01")  # still incremental: every user copied from run 5, fit reused
    assert again.exit_code == 0 and "0 users recomputed" in again.stdout, again.stdout
    assert world("prune", "--keep", "1").stdout.startswith("nothing to prune")  # match run 6 still reads run 5
    assert world("match", "--as-of", "2025-03-01").exit_code == 0
    assert world("prune", "--keep", "1").stdout.startswith("deleted 1 profile run (5) and 1 match run (6): ")
    assert world("status").exit_code == 0


def test_prune_said_in_words_and_nothing_to_prune(world) -> None:  # type: ignore[no-untyped-def]
    said = world("prune", "--keep", "2", "--dry-run")
    assert said.exit_code == 0
    assert said.stdout.splitlines()[0].startswith("would delete 1 match run (2): ")
    assert "kept: profile runs 5, 3, 1; match runs 6, 4" in said.stdout
    assert world("prune", "--keep", "3").stdout.startswith("nothing to prune")


@pytest.mark.parametrize("keep", [0, -1, True, 1.5])
def test_keeping_no_run_is_refused(world, keep: Any) -> None:  # type: ignore[no-untyped-def]
    eng = open_engine(world.db)
    with pytest.raises(WrongArgumentError, match="keep takes a whole number of runs, 1 or more"):
        prune_runs(eng, keep=keep)
    eng.dispose()
    assert world("prune", "--keep", "0").exit_code == 2  # the CLI refuses it as a bad option



@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    from tests.test_postgres import postgres_server

    with postgres_server("perkmatch-prune-") as (url, _):
        yield url


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_prune_through_the_library_on_both_databases(tmp_path, request, kind: str) -> None:  # type: ignore[no-untyped-def]
    from matcher.demo import run_demo
    from matcher.embed import EmbeddingCache
    from matcher.encoder import FakeEncoder
    from matcher.match import run_match
    from matcher.profile_run import run_profile
    from matcher.topic_records import topic_records
    from tests.test_postgres import fresh_database

    db = str(tmp_path / "p.db") if kind == "sqlite" else fresh_database(request.getfixturevalue("server"), "prune")
    eng = open_engine(db)
    cache = EmbeddingCache(eng, FakeEncoder())
    run_demo(eng, cache)  # profile run 1, match run 2
    profile = run_profile(eng, cache, as_of=1_795_132_800)
    match = run_match(eng, cache)
    shown = topic_records(eng, profile.run_id, ["u-maya"])
    report = prune_runs(eng, keep=1)
    assert report.kept["match"] == [match.run_id] and profile.run_id in report.kept["profile"]
    assert report.pruned["match"] == [2] and report.rows["assignments"] > 0
    assert report.sqlite == (kind == "sqlite")  # (what the CLI says of the space freed)
    with eng.connect() as conn:
        left = {r for (r,) in conn.execute(text("SELECT DISTINCT run_id FROM assignments")).all()}
    assert left == {match.run_id}
    assert topic_records(eng, profile.run_id, ["u-maya"]) == shown
    eng.dispose()
