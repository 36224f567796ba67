"""An opt-out of an id perkmatch never stored anything under (`consent USER opted_out`, or a users file's
`consent: opted_out`) is an opt-out on record, which keeps that id's posts out, and no deletion of anyone's data:
`status` counts it opted out, not forgotten, and the commands that name the id say so. Before, `consent` wrote it an
audit line of deletions (all zeros), `status` counted a person forgotten, and `forget` and `export` said they were."""

import json
import sqlite3

import pytest

from tests.conftest import post


@pytest.fixture
def world(cli, write):  # type: ignore[no-untyped-def]
    users = [{"user_id": "ann", "consent": "opted_in"}, {"user_id": "zed", "consent": "opted_out"}]
    assert cli("ingest", write("p.jsonl", [post("p1", "ann", "espresso roast notes", 1)]),
               "--users", write("u.jsonl", users)).exit_code == 0
    return cli


def users_status(cli) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return dict(json.loads(cli("status", "--json").stdout)["users"])


def test_an_opt_out_of_an_id_never_stored_is_counted_opted_out_not_forgotten(world, write) -> None:  # type: ignore[no-untyped-def]
    said = world("consent", "nobody", "opted_out")
    assert said.exit_code == 0 and "nobody opted out: nothing was stored about them; the opt-out is recorded" in \
        " ".join(said.stdout.split())
    assert users_status(world) == {"total": 1, "opted_in": 1, "opted_out": 2, "no_consent": 0,
                                   "forgotten": 0}  # before: forgotten 1
    assert "2 opted out, 0 forgotten (their data deleted, by forget or an opt-out)" in \
        " ".join(world("status").stdout.split())
    with sqlite3.connect(world.db) as con:
        assert con.execute("SELECT COUNT(*) FROM forget_audit").fetchone() == (0,)  # no deletion was carried out
    ingest = world("ingest", write("later.jsonl", [post("n1", "nobody", "hello there", 2)]), "--json")
    assert json.loads(ingest.stdout)["skipped_opted_out"] == 1  # the record still keeps their posts out
    assert world("forget", "ann").exit_code == 0  # a forget of a stored user is counted, as before
    assert users_status(world)["forgotten"] == 1


def test_forget_and_export_of_an_id_that_opted_out_with_nothing_stored_say_nothing_was_forgotten(world) -> None:  # type: ignore[no-untyped-def]
    for user in ("zed", "nobody"):  # by a users file, and by `consent`
        assert world("consent", user, "opted_out").exit_code == 0
        forget = world("forget", user)
        assert forget.exit_code == 0
        assert forget.stdout == (f"{user} opted out before anything of theirs was stored: there is nothing to forget "
                                 "(only a salted hash of the id is kept, so that their posts are never stored)\n")
        export = " ".join(world("export", user).output.split())  # before: "they opted out and were forgotten"
        assert f"nothing about '{user}' is stored: they opted out before anything of theirs was stored;" in export
    assert world("consent", "ann", "opted_out").exit_code == 0  # a stored user who opts out is forgotten
    assert "they opted out and were forgotten" in " ".join(world("export", "ann").output.split())
    assert world("forget", "ann").stdout.startswith("ann was forgotten already")


def test_an_audit_line_of_zeros_from_before_counts_no_one_forgotten(world) -> None:  # type: ignore[no-untyped-def]
    # a database where `consent nobody opted_out` wrote an audit line deleting nothing (the versions before this)
    from matcher.forget import FORGET_COUNTS
    from matcher.forgotten import audit_hash
    from matcher.store import ForgetAudit, open_engine, session

    assert world("consent", "nobody", "opted_out").exit_code == 0
    engine = open_engine(world.db)
    with session(engine) as s:
        s.add(ForgetAudit(user_hash=audit_hash(s, "nobody"), counts=json.dumps(dict.fromkeys(FORGET_COUNTS, 0))))
        s.commit()
    engine.dispose()
    assert users_status(world)["forgotten"] == 0  # before: 1
    assert world("forget", "nobody").stdout.startswith("nobody opted out before anything of theirs was stored")
