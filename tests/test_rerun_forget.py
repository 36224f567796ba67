"""`forget` run again after an interruption (or twice by a script) finishes the work and deletes nothing twice; a
post id the user has on two platforms is named by its platform."""

import json

import pytest
from sqlalchemy import text

from tests.conftest import post

USERS = [{"user_id": "ann", "consent": "opted_in"}, {"user_id": "bob", "consent": "opted_in"}]


def count(db: str, sql: str) -> int:
    from matcher.store import open_engine

    with open_engine(db).connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def stored(cli, write) -> None:  # type: ignore[no-untyped-def]
    rows = [post(f"a{i}", "ann", f"kayaks on the river, day {i}", i) for i in range(3)]
    rows += [post("b1", "bob", "hello there", 1), post("a1", "bob", "a post of bob's with ann's id", 2, platform="x")]
    assert cli("ingest", write("p.jsonl", rows), "--users", write("u.jsonl", USERS)).exit_code == 0


def test_forgetting_a_forgotten_user_again_says_so_and_succeeds(cli, write) -> None:  # type: ignore[no-untyped-def]
    """Before: a forget re-run after one interrupted once committed (or a script retrying) exited 1, "no user 'ann'
    is stored", as if the first had failed."""
    stored(cli, write)
    first = cli("forget", "ann", "--json")
    assert first.exit_code == 0
    audits = count(cli.db, "SELECT COUNT(*) FROM forget_audit")
    again = cli("forget", "ann")
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("ann was forgotten already: nothing of theirs is stored")
    scripted = cli("forget", "ann", "--json")
    nothing = dict.fromkeys(json.loads(first.stdout)["deleted"], 0)  # the same counts, for a script reading them
    assert scripted.exit_code == 0 and json.loads(scripted.stdout) == {"user_id": "ann", "deleted": nothing,
                                                                        "forgotten_already": True}
    assert count(cli.db, "SELECT COUNT(*) FROM forget_audit") == audits  # no audit line for nothing done
    assert count(cli.db, "SELECT COUNT(*) FROM posts WHERE user_id = 'bob'") == 2  # nobody else touched
    assert cli("consent", "bob", "opted_out").exit_code == 0
    assert cli("forget", "bob").stdout.startswith("bob was forgotten already")  # an opt-out forgot him
    unknown = cli("forget", "carol")  # never stored: still an error, a typo must not read as done
    assert unknown.exit_code == 1 and "no user 'carol' is stored" in unknown.stderr


def test_deleting_posts_deleted_already_says_so_and_deletes_the_rest(cli, write) -> None:  # type: ignore[no-untyped-def]
    stored(cli, write)
    assert cli("forget", "ann", "--post", "a0").exit_code == 0
    deletions = count(cli.db, "SELECT COUNT(*) FROM post_deletions")
    again = cli("forget", "ann", "--post", "a0")
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("a0: deleted already (an earlier `forget --post`); nothing to do for it")
    assert "deleted 0 post(s)" not in again.stdout
    assert count(cli.db, "SELECT COUNT(*) FROM post_deletions") == deletions  # no deletion recorded for nothing
    both = cli("forget", "ann", "--post", "a0", "--post", "a2", "--json")
    said = json.loads(both.stdout)
    assert (said["deleted"]["posts"], said["deleted_already"], said["post_ids"]) == (1, ["a0"], ["a0", "a2"])
    typo = cli("forget", "ann", "--post", "a0", "--post", "a7")  # one never stored: nothing deleted, it is named
    assert typo.exit_code == 1 and "ann has no stored post a7" in typo.stderr


def test_an_empty_post_id_is_refused_before_anything_is_deleted(cli, write) -> None:  # type: ignore[no-untyped-def]
    """Before: `forget ann --post ""` (an unset shell variable) said "ann has no stored post ;"."""
    stored(cli, write)
    posts = count(cli.db, "SELECT COUNT(*) FROM posts")
    for args in (["--post", ""], ["--post", "a0", "--post", " "]):
        empty = cli("forget", "ann", *args)
        said = " ".join(empty.stderr.replace("│", " ").split())
        assert empty.exit_code == 2 and "'--post': is empty; give a value, or leave it out" in said
    assert count(cli.db, "SELECT COUNT(*) FROM posts") == posts  # a0 too is kept: the command never ran


def test_a_post_id_on_two_platforms_is_named_by_its_platform(cli, write) -> None:  # type: ignore[no-untyped-def]
    """Before: `forget ann --post 7` deleted both of ann's posts with id 7, her reddit one and her x one."""
    assert cli("ingest", write("p.jsonl", [post("7", "ann", "kayaks on the river", 1, platform="reddit"),
                                           post("7", "ann", "kayaks by the sea", 2, platform="x")]),
               "--users", write("u.jsonl", USERS[:1])).exit_code == 0
    both = cli("forget", "ann", "--post", "7")
    assert both.exit_code == 1 and "ann has post 7 on 2 platforms (reddit, x): write --post PLATFORM:7" in \
        " ".join(both.stderr.split())
    assert count(cli.db, "SELECT COUNT(*) FROM posts") == 2  # nothing deleted
    one = cli("forget", "ann", "--post", "x:7")
    assert one.exit_code == 0 and one.stdout.startswith("deleted 1 post(s) of ann")
    assert open_rows(cli.db) == [("reddit", "7")]
    again = cli("forget", "ann", "--post", "x:7")
    assert again.exit_code == 0 and again.stdout.startswith("x:7: deleted already")


def open_rows(db: str) -> list[tuple[str, str]]:
    from matcher.store import open_engine

    with open_engine(db).connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT platform, post_id FROM posts"))]


def posts_of(db: str) -> list[tuple[str, str, str]]:
    from matcher.store import open_engine

    with open_engine(db).connect() as conn:
        return sorted(tuple(r) for r in conn.execute(text("SELECT user_id, platform, post_id FROM posts")))


def test_a_rerun_never_reads_a_deleted_posts_id_as_another_posts_platform_and_id(cli, write) -> None:  # type: ignore[no-untyped-def]
    """ann's reddit post "x:7" and her x post "7": the first `--post x:7` deletes the reddit one (a post id as it is
    comes first); run again, it found no post "x:7" and deleted her x post 7 instead (helper-99)."""
    assert cli("ingest", write("p.jsonl", [post("x:7", "ann", "kayaks", 1, platform="reddit"),
                                           post("7", "ann", "sea", 2, platform="x")]),
               "--users", write("u.jsonl", USERS[:1])).exit_code == 0
    assert cli("forget", "ann", "--post", "x:7").exit_code == 0
    assert posts_of(cli.db) == [("ann", "x", "7")]
    again = cli("forget", "ann", "--post", "x:7")
    assert again.exit_code == 0 and again.stdout.startswith("x:7: deleted already")
    assert posts_of(cli.db) == [("ann", "x", "7")]


@pytest.mark.parametrize(("stored", "name"), [
    ([post("7", "ann", "kayaks", 1, platform="reddit"), post("7", "ann", "sea", 2, platform="x")], "Reddit:7"),
    ([post("m1", "ann", "kayaks", 1, platform="mastodon"), post("a2", "ann", "sea", 2)], "m1"),  # mastodon's last
    ([post("caf\u00e9", "ann", "kayaks", 1), post("a2", "ann", "sea", 2)], "cafe\u0301"),  # typed decomposed
])
def test_a_rerun_finds_the_post_deleted_however_it_was_named(cli, write, stored, name) -> None:  # type: ignore[no-untyped-def]
    """Before: a platform written capitalised, or the user's only post on its platform, was "no stored post" on the
    re-run (exit 1); a post id typed decomposed was never found."""
    assert cli("ingest", write("p.jsonl", stored), "--users", write("u.jsonl", USERS[:1])).exit_code == 0
    first = cli("forget", "ann", "--post", name)
    assert first.exit_code == 0 and first.stdout.startswith("deleted 1 post(s)"), first.output
    again = cli("forget", "ann", "--post", name)
    assert again.exit_code == 0 and "deleted already" in again.stdout, again.output


def test_a_post_another_user_deleted_is_not_this_users_deleted_post(cli, write) -> None:  # type: ignore[no-untyped-def]
    """`forget bob --post a1` after ann deleted her a1: bob never had it, so it is an error, as any id never stored
    (before: "a1: deleted already", exit 0, telling bob that someone deleted a post a1)."""
    stored(cli, write)
    assert cli("forget", "ann", "--post", "a2").exit_code == 0
    other = cli("forget", "bob", "--post", "a2")
    assert other.exit_code == 1 and "bob has no stored post a2" in other.stderr
