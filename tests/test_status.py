"""`perkmatch status`: what the database holds and what to run next, on a tiny world (fake encoder)."""

import datetime as dt
import json

import pytest
from sqlmodel import select

from matcher.locks import profile_lock
from matcher.status import database_status
from matcher.store import ProfiledUser, Run, open_engine, session
from tests.test_cli_match import PERKS, TAXONOMY, build_world, posts_for

USERS = [{"user_id": "ann", "consent": "opted_in", "region": "US-NY"},
         {"user_id": "bob", "consent": "opted_in", "region": "US-NJ"},
         {"user_id": "cat", "consent": "opted_in", "region": "GB"},
         {"user_id": "eve"}]  # no consent: her posts are not even stored (under the default policy)
POSTS = (posts_for("ann", "flights airport lounge travel") + posts_for("bob", "travel trips flights airport")
         + posts_for("cat", "coffee espresso beans roast") + posts_for("eve", "coffee espresso beans roast", 3))


def status_world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    """Three people profiled and matched as of 2025-03-01, one without consent; a perk whose offer opens later."""
    perks = [*PERKS, {"perk_id": "spring-beans", "brand": "Spring", "title": "Spring beans",
                      "description": "coffee beans roast espresso", "starts": "2025-04-01", "ends": "2025-06-30"}]
    return build_world(tmp_path, write, monkeypatch, USERS, POSTS, "2025-03-01", perks=perks,
                       then=(["match", "--as-of", "2025-03-01"],))


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    return status_world(tmp_path, write, monkeypatch)


def status(world) -> dict:  # type: ignore[no-untyped-def]
    result = world("status", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_fresh_world_is_up_to_date_and_counted(world) -> None:  # type: ignore[no-untyped-def]
    report = status(world)
    assert report["next"] == [] and report["up_to_date"] is True
    assert report["users"] == {"total": 4, "opted_in": 3, "opted_out": 0, "no_consent": 1, "forgotten": 0}
    assert report["posts"] == {"total": 18, "users": 3, "reshares": 0, "after_today": 0, "first": "2025-01-01",
                               "last": "2025-01-16"}
    assert report["taxonomy"]["topics"] == len(TAXONOMY) and report["taxonomy"]["sensitive"] == 1
    assert report["catalog"]["version"] == 1 and report["catalog"]["live_perks"] == 5
    assert report["profile"]["users"] == 3 and report["profile"]["as_of"] == "2025-03-01"
    assert report["profile"]["taxonomy_digest"] == report["taxonomy"]["digest"]
    assert report["match"]["profile_run"] == report["profile"]["run_id"] and report["match"]["catalog_version"] == 1
    assert report["size_bytes"] > 0
    text = world("status")
    assert text.exit_code == 0
    assert ("users     4: 3 opted in, 1 without consent; 0 opted out, 0 forgotten (their data deleted, by forget or an "
            "opt-out)") in text.stdout
    assert text.stdout.rstrip().endswith("up to date: nothing to run")


def test_new_posts_by_consenting_users_call_for_profile_then_match(world, write) -> None:  # type: ignore[no-untyped-def]
    again = world("ingest", write("again.jsonl", POSTS))  # the same posts again: nothing changed
    assert again.exit_code == 0 and status(world)["up_to_date"]
    eve = world("ingest", write("eve.jsonl", POSTS[-3:]), "--consent-policy", "opt-out")  # stored, not opted in:
    assert eve.exit_code == 0 and status(world)["posts"]["users"] == 4  # nothing for an opt-in profile run to do
    assert status(world)["up_to_date"]
    new = posts_for("ann", "flights airport lounge travel", 8)[6:]
    assert world("ingest", write("new.jsonl", new)).exit_code == 0
    report = status(world)
    run = report["profile"]["run_id"]
    assert report["profile"]["since"]["posts"] == 2 and report["profile"]["since"]["posting_users"] == 1
    assert report["next"] == [f"perkmatch profile: profile run {run}: 2 posts by 1 user added or changed since it "
                              "started", "perkmatch match: after that profile run, whose topics the assignments "
                              "follow from"]
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    report = status(world)
    assert report["next"] == [f"perkmatch match: match run {report['match']['run_id']}: it used profile run {run}, "
                              f"the newest is {report['profile']['run_id']}"]
    assert world("match", "--as-of", "2025-03-01").exit_code == 0
    assert status(world)["up_to_date"]


def test_consent_taxonomy_and_catalog_changes_are_named(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("consent", "eve", "opted_in").exit_code == 0
    renamed = [{**TAXONOMY[0], "name": "Trips"}, *TAXONOMY[1:]]
    assert world("taxonomy", "load", write("t2.yaml", renamed)).exit_code == 0
    changed = [{**PERKS[0], "title": "Two lounge passes", "quantity": 2}, *PERKS[1:]]
    assert world("catalog", "refresh", write("c2.yaml", changed)).exit_code == 0
    report = status(world)
    run, match = report["profile"]["run_id"], report["match"]["run_id"]
    assert report["next"] == [
        f"perkmatch profile: profile run {run}: 1 user record changed in what a profile reads (consent, "
        "sensitive-topic opt-ins) since it started; the taxonomy was replaced since",
        f"perkmatch match: match run {match}: it used catalog version 1, the live one is 2"]


def test_a_region_changed_calls_for_a_match_not_a_profile_run(world, write) -> None:  # type: ignore[no-untyped-def]
    # before: "perkmatch profile: 1 user record (consent, region, opt-ins) changed", and that run would have copied
    # every user: a region is no input of a profile, only of who may get a perk
    assert world("ingest", "--users", write("moved.jsonl", [{"user_id": "cat", "region": "US-CA"}])).exit_code == 0
    report = status(world)
    since = report["profile"]["since"]
    assert since["user_records"] == 1 and since["user_records_for_profile"] == 0
    assert report["next"] == [f"perkmatch match: match run {report['match']['run_id']}: 1 user record (region, "
                              "consent, opt-ins) changed since it started"]
    assert world("match", "--as-of", "2025-03-01").exit_code == 0
    assert status(world)["up_to_date"]
    opted = [{"user_id": "cat", "sensitive_opt_in": [t["topic_id"] for t in TAXONOMY if t.get("sensitive")]}]
    assert world("ingest", "--users", write("opted.jsonl", opted)).exit_code == 0  # an input of her profile
    report = status(world)
    assert report["profile"]["since"]["user_records_for_profile"] == 1
    assert report["next"][0] == (f"perkmatch profile: profile run {report['profile']['run_id']}: 1 user record "
                                 "changed in what a profile reads (consent, sensitive-topic opt-ins) since it started")
    for step in ("profile", "match"):
        assert world(step, "--as-of", "2025-03-01").exit_code == 0
    # a record and a post of one user changed: the post says it (before, she was counted a second time, as a record)
    both = posts_for("cat", "coffee espresso beans roast", 8)[6:]
    assert world("ingest", write("both.jsonl", both), "--users",
                 write("back.jsonl", [{"user_id": "cat", "region": "GB"}])).exit_code == 0
    report = status(world)
    assert report["next"][0] == (f"perkmatch profile: profile run {report['profile']['run_id']}: 2 posts by 1 user "
                                 "added or changed since it started")


def test_under_opt_out_a_users_row_of_someone_without_posts_calls_for_nothing(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("profile", "--as-of", "2025-03-01", "--consent-policy", "opt-out").exit_code == 0
    assert world("match", "--as-of", "2025-03-01").exit_code == 0 and status(world)["up_to_date"]
    zed = [{"user_id": "zed", "region": "US-CA"}]  # no posts: an opt-out run does not profile her either
    assert world("ingest", "--users", write("zed.jsonl", zed)).exit_code == 0
    report = status(world)  # before: "1 user record changed" and a profile run to do
    assert report["profile"]["since"]["user_records"] == 0 and report["up_to_date"], report["next"]


def unfinished_run(world, state: str, completed: tuple[str, ...] = ()) -> int:  # type: ignore[no-untyped-def]
    """A profile run recorded as in this state (as a run stopped or killed leaves it), with these users completed."""
    engine = open_engine(world.db)
    with session(engine) as s:
        run = Run(kind="profile", status=state, as_of=0)
        s.add(run)
        s.commit()
        s.add_all([ProfiledUser(run_id=run.id, user_id=u, digest="x") for u in completed])
        s.commit()
        return int(run.id or 0)


def test_an_unfinished_profile_run_is_named(world) -> None:  # type: ignore[no-untyped-def]
    unfinished_run(world, "interrupted", ("ann", "bob"))
    report = status(world)
    unfinished = report["unfinished_profile"]
    assert unfinished["status"] == "interrupted" and unfinished["run_id"] == report["profile"]["run_id"] + 2
    assert unfinished["users_completed"] == 2
    assert report["next"][0].startswith(f"perkmatch profile: profile run {unfinished['run_id']} (started ")
    assert report["next"][0].endswith("; a new run reuses the 2 users it completed")
    assert "is interrupted (a run still going, or one killed before it finished)" in world("status").stdout


def test_a_run_marked_running_is_told_running_or_killed_by_the_profile_lock(world) -> None:  # type: ignore[no-untyped-def]
    run_id = unfinished_run(world, "running")
    report = status(world)  # no run holds the lock: it was killed (before: "still running, or was killed")
    assert report["unfinished_profile"]["running"] is False
    assert report["next"][0].startswith(f"perkmatch profile: profile run {run_id} (started ")
    assert "(it was killed: no run holds the profile lock); a new run reuses" in report["next"][0]
    assert "was killed before it finished" in world("status").stdout
    with profile_lock(open_engine(world.db)):  # as the run itself holds it
        report = status(world)
        assert report["unfinished_profile"]["running"] is True and not report["up_to_date"]
        assert report["next"][0].startswith(f"wait: profile run {run_id} (started ")
        assert f"run {run_id}, started " in world("status").stdout and "is running" in world("status").stdout


def test_a_profile_run_stopped_by_ctrl_c_is_said_to_be_stopped_not_running(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.profile_run as profile_run

    def stop(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    fit = profile_run._fit_topics
    monkeypatch.setattr(profile_run, "_fit_topics", stop)
    assert world("profile", "--as-of", "2025-03-02", "--refit").exit_code == 130
    report = status(world)  # before: "running" (a run still going, or one stopped) until a later run finished
    assert report["unfinished_profile"]["status"] == "stopped"
    # stopped before any user was computed: before, "a new run reuses the users it completed"
    assert report["unfinished_profile"]["users_completed"] == 0
    assert "(it was stopped); a new run reuses the texts it embedded (it completed no user)" in report["next"][0]
    assert "was stopped before it finished (Ctrl-C or a termination signal)" in world("status").stdout
    monkeypatch.setattr(profile_run, "_fit_topics", fit)
    assert world("profile", "--as-of", "2025-03-02").exit_code == 0
    engine = open_engine(world.db)
    with session(engine) as s:  # the next run's end deletes its rows, and names it as every run stopped before
        assert list(s.exec(select(Run.status).where(Run.kind == "profile").order_by(Run.id)))[-2:] == [
            "interrupted", "finished"]
    embed = profile_run.space_texts  # stopped while it embeds, before its run is recorded: recorded, as stopped
    monkeypatch.setattr(profile_run, "space_texts", stop)
    assert world("profile", "--as-of", "2025-03-03").exit_code == 130
    assert status(world)["unfinished_profile"]["status"] == "stopped"  # before: nothing said it ever started
    monkeypatch.setattr(profile_run, "space_texts", embed)
    assert world("profile", "--as-of", "2025-03-03").exit_code == 0 and status(world)["unfinished_profile"] is None


def test_offers_that_ended_or_opened_since_the_match_are_named(world) -> None:  # type: ignore[no-untyped-def]
    engine = open_engine(world.db)
    opened = database_status(engine, world.db, today=dt.date(2025, 4, 2))
    assert opened["match"]["opened_offers"] == 1 and opened["match"]["ended_offers"] == 0
    assert opened["next"][-1] == (  # before: "perkmatch match", which checked the dates against 2025-03-01 again
        "perkmatch match --as-of 2025-04-02: match run 2: offer opened after 2025-03-01 for 1 perk (offer dates are "
        "checked against the profile run's day, 2025-03-01, unless --as-of gives another)")
    assert world("match").exit_code == 0 and not database_status(engine, world.db, today=dt.date(2025, 4, 2))[
        "up_to_date"]  # a plain `match` leaves it as it was
    assert world("match", "--as-of", "2025-04-02").exit_code == 0
    assert database_status(engine, world.db, today=dt.date(2025, 6, 30))["up_to_date"]  # its last day
    ended = database_status(engine, world.db, today=dt.date(2025, 7, 1))
    assert ended["match"]["ended_offers"] == 1
    assert ended["next"][-1].startswith("perkmatch match --as-of 2025-07-01: match run 4: offer ended for 1 assigned "
                                        "perk (1 assignment)")


def test_an_empty_database_and_a_missing_one(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from matcher.cli import app

    runner = CliRunner()
    db = str(tmp_path / "e.db")
    assert runner.invoke(app, ["--db", db, "ingest", "--users", write("u.jsonl", USERS)]).exit_code == 0
    result = runner.invoke(app, ["--db", db, "status"])
    assert result.exit_code == 0, result.output
    assert "taxonomy  none loaded: the shipped default is stored at the first profile run" in result.stdout
    assert result.stdout.rstrip().endswith("next:\n  perkmatch ingest POSTS --users USERS: there are no posts yet")
    missing = runner.invoke(app, ["--db", str(tmp_path / "nothere.db"), "status"])
    assert missing.exit_code == 1 and "there is no database there" in missing.output


def test_posts_after_the_runs_as_of_day_are_named_until_a_later_run(world, write) -> None:  # type: ignore[no-untyped-def]
    april = {**posts_for("ann", "flights airport lounge travel", 7)[6], "created_at": 1_743_508_800}  # 2025-04-01
    assert world("ingest", write("april.jsonl", [april])).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0  # profiled again, as of the same day
    report = status(world)
    assert report["profile"]["posts_after_as_of"] == 1
    assert report["next"][0] == (f"perkmatch profile: profile run {report['profile']['run_id']}: 1 post written after "
                                 "its as-of day (2025-03-01), which a run with a later --as-of counts")
    assert world("profile", "--as-of", "2025-04-01").exit_code == 0
    report = status(world)
    assert report["profile"]["posts_after_as_of"] == 0 and not report["next"][0].startswith("perkmatch profile")


def test_posts_dated_after_today_are_counted_apart_and_call_for_no_run(world, write) -> None:  # type: ignore[no-untyped-def]
    # no run reads a post dated in the future until its day (a run profiles as of today): before, one such post made
    # status call for a profile run after every run, for ever
    future = {**posts_for("ann", "flights airport lounge travel", 7)[6], "created_at": 1_956_528_000}  # 2032-01-01
    assert world("ingest", write("future.jsonl", [future])).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0  # (the world's day)
    assert world("match", "--as-of", "2025-03-01").exit_code == 0
    report = database_status(open_engine(world.db), world.db, today=dt.date(2025, 3, 1))
    assert report["posts"]["after_today"] == 1 and report["profile"]["posts_after_as_of"] == 0
    assert report["up_to_date"], report["next"]
    later = database_status(open_engine(world.db), world.db, today=dt.date(2032, 1, 1))  # its day has come
    assert later["posts"]["after_today"] == 0 and later["profile"]["posts_after_as_of"] == 1
    assert later["next"][0].startswith("perkmatch profile")
    shown = world("status")
    assert "1 post dated after today, which no run reads until its day (check the source's dates)" in " ".join(
        shown.stdout.split())


def test_a_sqlite_file_of_another_program_is_refused_and_left_untouched(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from typer.testing import CliRunner

    from matcher.cli import app

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    for args in (["status"], ["topics", "--all"], ["catalog", "versions"]):
        result = CliRunner().invoke(app, ["--db", str(other), *args])
        assert result.exit_code == 1 and "this database holds no perkmatch data" in result.stderr, args
    with sqlite3.connect(other) as conn:  # before: every perkmatch table was created in it
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["notes"]


def test_runs_lists_the_newest_runs_with_their_counts(world) -> None:  # type: ignore[no-untyped-def]
    result = world("status", "--runs", "5", "--json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)["runs"]
    assert [(r["run_id"], r["kind"], r["status"]) for r in runs] == [(2, "match", "finished"), (1, "profile",
                                                                                                "finished")]
    assert runs[1]["stats"]["users"] == 3 and runs[0]["stats"]["assignments"] >= 1 and runs[0]["seconds"] >= 0
    text = world("status", "--runs", "1").stdout
    assert "runs, newest first:\n     2 match   finished " in text and "offers as of 2025-03-01: " in text
    assert "runs" not in status(world)  # not asked for
    assert world("status", "--runs", "-1").exit_code == 2


def test_only_records_of_users_the_policy_covers_call_for_a_profile(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("ingest", "--users", write("newbie.jsonl", [{"user_id": "newbie"}])).exit_code == 0
    report = status(world)  # a user without consent: nothing for an opt-in profile run to do
    assert report["profile"]["since"]["user_records"] == 0 and report["up_to_date"]


def test_a_profile_run_starts_before_its_embedding_and_its_time_includes_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import time

    from matcher.embed import EmbeddingCache
    from matcher.encoder import FakeEncoder
    from matcher.engine_local import LocalExecutor
    from matcher.ingest import ingest_posts, ingest_users
    from matcher.profile_run import run_profile

    engine = open_engine(str(tmp_path / "r.db"))
    users, posts = tmp_path / "u.jsonl", tmp_path / "p.jsonl"
    users.write_text("".join(json.dumps(u) + "\n" for u in USERS))
    posts.write_text("".join(json.dumps(p) + "\n" for p in POSTS))
    ingest_users(engine, str(users))
    ingest_posts(engine, str(posts))
    cache = EmbeddingCache(engine, FakeEncoder())
    executor, seen = LocalExecutor(), {}
    embed = executor.embed

    def slow_embed(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen["embedding"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        time.sleep(0.3)
        return embed(*args, **kwargs)

    executor.embed = slow_embed  # type: ignore[method-assign]
    summary = run_profile(engine, cache, executor=executor)
    with session(engine) as s:
        run = s.get(Run, summary.run_id)
        assert run is not None and run.started_at.replace(tzinfo=None) <= seen["embedding"]  # before: after it
    (listed,) = database_status(engine, "r.db", runs=1)["runs"]
    assert listed["seconds"] == round(summary.seconds, 2) and listed["seconds"] >= 0.3
    engine.dispose()


def test_a_forgotten_user_or_an_opt_out_calls_for_a_profile_run(world) -> None:  # type: ignore[no-untyped-def]
    assert world("consent", "bob", "opted_out").exit_code == 0  # forgotten, and kept out
    assert world("forget", "cat").exit_code == 0
    report = status(world)
    assert report["users"] == {"total": 2, "opted_in": 1, "opted_out": 1, "no_consent": 1, "forgotten": 2}  # eve: 1
    # before: "nothing to run", while the fitted topic vectors still rested on their posts
    assert report["next"][0] == (f"perkmatch profile: profile run {report['profile']['run_id']}: 2 users forgotten "
                                 "since it started: the next run fits the topic vectors again, without their posts")
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    assert not any(step.startswith("perkmatch profile") for step in status(world)["next"])
    assert world("consent", "zed", "opted_out").exit_code == 0  # nothing stored of zed: no topic vector rests on them
    assert not any(step.startswith("perkmatch profile") for step in status(world)["next"])


def test_commands_reading_an_opt_out_profile_run_say_so(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("ingest", write("eve.jsonl", POSTS[-3:]), "--consent-policy", "opt-out").exit_code == 0
    said = "was made under consent policy opt-out: it includes users who did not opt in"
    assert said not in world("match", "--as-of", "2025-03-01").stderr  # an opt-in run: nothing to say
    assert world("profile", "--as-of", "2025-03-01", "--consent-policy", "opt-out").exit_code == 0
    for command in (["match", "--as-of", "2025-03-01"], ["topics", "--all"], ["brand", "lounge"]):
        assert said in " ".join(world(*command).stderr.split()), command  # before: served with no word of it
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    assert said not in world("topics", "--all").stderr


def test_a_signal_after_a_profile_run_finished_leaves_it_finished(world) -> None:  # type: ignore[no-untyped-def]
    from matcher.profile_run import _stopped, latest_run

    engine = open_engine(world.db)
    run = latest_run(engine, "profile")
    _stopped(engine, run.started_at, run.as_of, "opt-in")  # the signal landed as the command returned
    with session(engine) as s:
        assert list(s.exec(select(Run.status).where(Run.kind == "profile"))) == ["finished"]
    assert status(world)["unfinished_profile"] is None


def test_a_run_as_of_a_moment_shows_the_moment_not_just_its_day(world) -> None:  # type: ignore[no-untyped-def]
    assert world("profile", "--as-of", "2025-03-01T00:00:00Z").exit_code == 0
    assert status(world)["profile"]["as_of"] == "2025-03-01T00:00:00Z"  # before: "2025-03-01", the day of a run as
    runs = world("status", "--runs", "3").stdout  # of 2025-03-01 23:59:59 (`--as-of 2025-03-01`) too
    assert "as of 2025-03-01T00:00:00Z:" in runs and "as of 2025-03-01:" in runs


def test_after_an_opt_out_run_new_posts_of_users_without_consent_call_for_a_profile(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("profile", "--as-of", "2025-03-01", "--consent-policy", "opt-out").exit_code == 0
    assert world("ingest", write("eve.jsonl", POSTS[-3:]), "--consent-policy", "opt-out").exit_code == 0
    report = status(world)  # eve has no consent recorded: an opt-out run profiles her (before, her posts went unseen)
    assert report["profile"]["since"]["posts"] == 3 and report["profile"]["since"]["posting_users"] == 1
    assert report["next"][0].startswith(f"perkmatch profile: profile run {report['profile']['run_id']}: 3 posts by "
                                        "1 user added or changed since it started")


def test_a_post_at_the_last_second_of_the_as_of_day_is_not_after_it(world, write) -> None:  # type: ignore[no-untyped-def]
    last = {**posts_for("ann", "flights airport lounge travel", 7)[6], "created_at": 1_740_873_599}  # 23:59:59 UTC,
    # the last second of 2025-03-01
    assert world("ingest", write("last.jsonl", [last])).exit_code == 0
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    report = status(world)  # the run read it: before, ">=" said it was written after the run's as-of day
    assert report["profile"]["posts_after_as_of"] == 0 and report["profile"]["since"]["posts"] == 0


def test_a_user_record_changed_while_the_profile_run_ran_is_named(world) -> None:  # type: ignore[no-untyped-def]
    from matcher.store import User

    engine = open_engine(world.db)
    with session(engine) as s:  # a run that took an hour, and cat's record changed in its first minute
        run = s.exec(select(Run).where(Run.kind == "profile")).one()
        run.finished_at = run.started_at + dt.timedelta(hours=1)
        cat = s.get(User, "cat")
        assert cat is not None
        cat.region, cat.updated_at = "US-CA", run.started_at + dt.timedelta(minutes=1)
        s.add_all([run, cat])
        s.commit()
    # the run may have read the record before it changed: before, only records changed after it finished counted
    assert status(world)["profile"]["since"]["user_records"] == 1


def test_as_many_changed_records_as_are_checked_are_checked(world, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.status

    monkeypatch.setattr(matcher.status, "CHECKED_RECORDS", 1)
    assert world("ingest", "--users", write("moved.jsonl", [{"user_id": "cat", "region": "US-CA"}])).exit_code == 0
    report = status(world)  # one record, the limit: checked, a region only (before, "<" left it unchecked: a profile)
    assert report["profile"]["since"]["user_records_for_profile"] == 0
    assert not any(step.startswith("perkmatch profile") for step in report["next"]), report["next"]


def test_a_perk_starting_on_the_matchs_own_day_has_not_opened_since(world, write) -> None:  # type: ignore[no-untyped-def]
    same_day = {"perk_id": "march-beans", "brand": "March", "title": "March beans", "starts": "2025-03-01",
                "description": "coffee beans roast espresso"}
    assert world("catalog", "refresh", write("c2.yaml", [*PERKS, same_day])).exit_code == 0
    assert world("match", "--as-of", "2025-03-01").exit_code == 0  # it was open on that day: the match saw it
    report = database_status(open_engine(world.db), world.db, today=dt.date(2025, 3, 5))
    assert report["match"]["opened_offers"] == 0 and report["up_to_date"], report["next"]  # before (">="): 1


def test_a_perk_opening_after_today_has_not_opened(world) -> None:  # type: ignore[no-untyped-def]
    report = database_status(open_engine(world.db), world.db, today=dt.date(2025, 3, 15))  # spring-beans: 2025-04-01
    assert report["match"]["opened_offers"] == 0 and report["up_to_date"], report["next"]


def test_an_opened_offer_ending_today_is_still_named(world) -> None:  # type: ignore[no-untyped-def]
    report = database_status(open_engine(world.db), world.db, today=dt.date(2025, 6, 30))  # spring-beans' last day
    assert report["match"]["opened_offers"] == 1  # before ("> today"): 0, as if it had ended
    assert "offer opened after 2025-03-01 for 1 perk" in report["next"][-1]


def test_a_run_marked_running_with_the_lock_state_unknown_is_said_running_or_killed(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.status

    monkeypatch.setattr(matcher.status, "profile_running", lambda engine: None)  # as a database that cannot tell
    run_id = unfinished_run(world, "running")
    report = status(world)
    assert report["unfinished_profile"]["running"] is None
    assert report["next"][0].startswith(f"perkmatch profile: profile run {run_id} (started ")
    assert "(it is still running, or was killed)" in report["next"][0]  # before: "it was killed", unknown as it was


def test_a_post_deleted_at_its_authors_request_calls_for_a_profile_run(world) -> None:  # type: ignore[no-untyped-def]
    assert world("forget", "cat", "--post", "cat-0").exit_code == 0
    report = status(world)
    assert report["profile"]["since"]["deleted_posts"] == 1
    assert report["next"][0] == (
        f"perkmatch profile: profile run {report['profile']['run_id']}: 1 post by 1 user deleted at their request "
        "since it started (`forget USER --post`): its scores still count the deleted posts; the next run works those "
        "users' topics out again without them")


def test_a_taxonomy_that_only_marks_a_topic_sensitive_is_named_as_replaced(world, write) -> None:  # type: ignore[no-untyped-def]
    # the taxonomy's digest covers each topic's sensitivity: a taxonomy differing from the run's only there (a topic
    # now inferred only with an opt-in, or now for everyone) calls for a profile run like any other change
    marked = [{**TAXONOMY[0], "sensitive": True}, *TAXONOMY[1:]]
    assert world("taxonomy", "load", write("t2.yaml", marked)).exit_code == 0
    report = status(world)
    assert report["profile"]["taxonomy_digest"] != report["taxonomy"]["digest"]
    assert any("the taxonomy was replaced since" in step for step in report["next"])


def test_status_says_a_profile_run_is_under_way_while_it_embeds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Found by helper-93. A profile run records its run row only once it has embedded every new text
    (``profile_run._profile``); until then (about 10 s of a 17 s run on 5,000 posts) `status` says "perkmatch
    profile: no profile run yet", not "wait: profile run ... is running", though the run holds the profile lock
    (which ``status.profile_running`` can see)."""
    from matcher.demo import sample_path
    from matcher.ingest import ingest_posts, ingest_users
    from matcher.locks import profile_lock
    from matcher.status import database_status, next_steps
    from matcher.store import open_engine

    engine = open_engine(str(tmp_path / "t.db"))
    ingest_users(engine, sample_path("users.jsonl"))
    ingest_posts(engine, sample_path("posts.jsonl"))
    with profile_lock(engine):  # a `profile` command in its embed stage holds this
        steps = next_steps(database_status(engine, str(tmp_path / "t.db")))
    assert any(step.startswith("wait:") for step in steps), steps
    assert next_steps(database_status(engine, str(tmp_path / "t.db")))[0] == "perkmatch profile: no profile run yet"



def test_an_unfinished_scrub_calls_for_a_profile_run_which_scrubs_the_file(world) -> None:  # type: ignore[no-untyped-def]
    """A deletion whose scrub could not finish (a command was reading): `status` said "up to date", and nothing an
    operator could run scrubbed the file (a profile run did so only when a forget had landed in it)."""
    from sqlalchemy import text

    from matcher.store import open_engine

    engine = open_engine(world.db)
    with engine.begin() as conn:  # as `forget.scrub` leaves it when it cannot finish
        conn.execute(text("INSERT INTO settings (key, value) VALUES ('scrub_pending', '2025-03-02T00:00:00')"))
    engine.dispose()
    report = status(world)
    assert report["scrub_pending"] and not report["up_to_date"]
    assert report["next"] == ["perkmatch profile: a deletion's scrub could not finish (another command was reading the "
                              "database), so SQLite's log may still hold the deleted text; a profile run scrubs the "
                              "file when it ends"]
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    after = status(world)  # (then a match, as after any profile run)
    assert not after["scrub_pending"] and not any("scrub" in step for step in after["next"]), after["next"]


def test_a_match_that_checked_offers_on_a_day_to_come_is_named(world) -> None:  # type: ignore[no-untyped-def]
    # a trial of next month's offers kept as the assignments in force: spring-beans (open from 2025-04-01) is
    # assigned though it is not open on 2025-03-15, and status said everything was up to date (helper-106)
    assert world("match", "--as-of", "2025-04-02").exit_code == 0
    engine = open_engine(world.db)
    early = database_status(engine, world.db, today=dt.date(2025, 3, 15))
    assert not early["up_to_date"]
    assert early["next"][-1].startswith(
        "perkmatch match --as-of 2025-03-15: match run 3: it checked offer dates as of 2025-04-02, a day still to "
        "come (today is 2025-03-15)")
    assert database_status(engine, world.db, today=dt.date(2025, 4, 2))["up_to_date"]  # the day came


def test_profile_rules_changed_by_an_upgrade_call_for_a_profile_run(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """After an upgrade whose rules compute profiles differently (``incremental.RULES_VERSION``), the newest run's
    scores and verdicts follow the old rules, but `status` said "up to date: nothing to run" (found by helper-120's
    review). It now names the change, and a profile run (which computes every user again) clears it."""
    import matcher.incremental as incremental

    report = status(world)
    assert report["profile"]["rules"] == report["profile"]["rules_now"] == incremental.RULES_VERSION
    now = incremental.RULES_VERSION
    monkeypatch.setattr(incremental, "RULES_VERSION", now + 1)  # the upgrade
    report = status(world)
    assert report["up_to_date"] is False
    assert report["next"][0] == (f"perkmatch profile: profile run {report['profile']['run_id']}: perkmatch's profile "
                                 f"rules changed since (version {now} -> {now + 1}, an upgrade): its scores and "
                                 "verdicts follow the old rules; the next run computes every user again")
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    assert not any(step.startswith("perkmatch profile") for step in status(world)["next"])
