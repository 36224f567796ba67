"""Ingest: ids given as JSON numbers, and report counts that do not depend on where the batches end."""

import pytest
from sqlalchemy import text
from sqlmodel import select

import matcher.ingest
from catalog.errors import InputFileError
from matcher.errors import PerkmatchError
from matcher.ingest import ingest, ingest_posts, ingest_users
from matcher.store import Post, User, session
from tests.conftest import post


def stored(engine) -> tuple[list[str], list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        users = sorted(s.exec(select(User.user_id)).all())
        posts = sorted((p, u) for p, u in s.exec(select(Post.post_id, Post.user_id)).all())
    return users, posts


def test_json_ids_that_are_whole_numbers_are_stored_as_their_digits(engine, write) -> None:  # type: ignore[no-untyped-def]
    users = write("users.jsonl", [{"user_id": 12.0, "consent": "opted_in"}, {"user_id": 13, "consent": "opted_in"}])
    posts = write("posts.jsonl", [post(5.0, 12.0, "a", 1), post(-0.0, 13, "b", 1), post(7, 13, "c", 1),
                                  post(12345678901234567890, 13, "d", 1), post(2.0**53 - 1, "13", "e", 1)])
    ingest(engine, posts, users)
    assert stored(engine) == (["12", "13"], [("0", "13"), ("12345678901234567890", "13"), ("5", "12"), ("7", "13"),
                                             ("9007199254740991", "13")])
    # before: "12.0" and "5.0" (so user 12's posts given as "12" elsewhere were someone else's)


def test_json_ids_with_a_fraction_or_lost_digits_are_refused_naming_file_line_and_field(engine, write) -> None:  # type: ignore[no-untyped-def]
    posts = write("posts.jsonl", [post(1e20, "ann", "a", 1), post("p2", 12.5, "b", 1),
                                  post(1.2345678901234568e18, "ann", "c", 1), post("p4", float("nan"), "d", 1)])
    with pytest.raises(InputFileError) as info:
        ingest_posts(engine, posts, policy="opt-out")
    assert [str(p) for p in info.value.problems] == [
        f"{posts}, line 1, field 'post_id': 1e+20 is a number too large for JSON to keep every digit; "
        "write the id in quotes, as a string (got '1e+20'); give every post its id on the platform",
        f"{posts}, line 2, field 'user_id': 12.5 is a number with a fraction, not an id; write the id in "
        "quotes, as a string (got '12.5'); give the author's user id",
        f"{posts}, line 3, field 'post_id': 1.2345678901234568e+18 is a number too large for JSON to "
        "keep every digit; write the id in quotes, as a string (got '1.2345678901234568e+18'); give every post its "
        "id on the platform",
        f"{posts}, line 4, field 'user_id': nan is a number with a fraction, not an id; write the id in "
        "quotes, as a string (got 'nan'); give the author's user id",
    ]  # before: stored as posts "1e+20" and "1.2345678901234568e+18", and users "12.5" and "nan"
    users = write("users.jsonl", [{"user_id": 1e20, "consent": "opted_in"}])
    with pytest.raises(InputFileError) as info:
        ingest_users(engine, users)
    assert [str(p) for p in info.value.problems] == [
        f"{users}, line 1, field 'user_id': 1e+20 is a number too large for JSON to keep every digit; "
        "write the id in quotes, as a string (got '1e+20'); give the user's id"]
    assert stored(engine) == ([], [])


def test_csv_ids_are_kept_as_written(engine, write) -> None:  # type: ignore[no-untyped-def]
    users = write("users.csv", "user_id,consent\n12.0,opted_in\n1e20,opted_in\n")
    posts = write("posts.csv", "post_id,user_id,text,created_at\n1e20,12.0,a,1735732800\n5.0,1e20,b,1735732800\n")
    ingest(engine, posts, users)
    assert stored(engine) == (["12.0", "1e20"], [("1e20", "12.0"), ("5.0", "1e20")])


def test_an_invalid_row_by_a_whole_number_author_without_consent_is_skipped_not_rejected(engine, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", [{"user_id": "12", "consent": "opted_out"}, {"user_id": "ann"}]))
    report = ingest_posts(engine, write("posts.jsonl", [{"post_id": "p1", "user_id": 12.0, "created_at": "x"}]))
    assert (report.skipped_no_consent, report.rejected) == (1, 0)  # before: rejected, the file with it


@pytest.fixture
def batches_of_two(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(matcher.ingest, "BATCH", 2)


def counts(report) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    return report.added, report.updated, report.unchanged, report.repeated


USERS = [{"user_id": "ann", "consent": "opted_in"}]


def test_a_post_given_again_batches_later_is_repeated_when_the_file_is_ingested_again(engine, write,  # type: ignore[no-untyped-def]
                                                                                      batches_of_two) -> None:
    ingest_users(engine, write("users.jsonl", USERS))
    rows = [post(f"p{i}", "ann", f"text {i}", i) for i in range(1, 6)]
    path = write("posts.jsonl", [*rows, rows[0]])  # p1 again, two batches after its first row
    assert counts(ingest_posts(engine, path)) == (5, 0, 0, 1)
    assert counts(ingest_posts(engine, path)) == (0, 0, 5, 1)  # before: 6 unchanged of 5 posts, 0 repeated
    assert counts(ingest_posts(engine, path)) == (0, 0, 5, 1)


def test_a_post_left_unchanged_then_changed_batches_later_is_updated_once(engine, write, batches_of_two) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS))
    ingest_posts(engine, write("old.jsonl", [post("p1", "ann", "old", 1, likes=1)]))
    rows = [post("p1", "ann", "old", 1, likes=1), *(post(f"p{i}", "ann", f"t{i}", i) for i in range(2, 6)),
            post("p1", "ann", "old", 1, likes=9), post("p1", "ann", "old", 1, likes=9)]
    report = ingest_posts(engine, write("posts.jsonl", rows))
    assert counts(report) == (4, 1, 0, 2)  # before: (4, 1, 1, 1): p1 both unchanged and updated, and not repeated
    with session(engine) as s:
        assert s.exec(select(Post.likes).where(Post.post_id == "p1")).one() == 9


def test_counts_are_the_same_whatever_the_batch_size(engine, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS))
    ingest_posts(engine, write("old.jsonl", [post(f"p{i}", "ann", f"t{i}", i) for i in range(0, 8, 2)]))
    rows = [post(f"p{i % 7}", "ann", f"t{i % 7}", i % 7) for i in range(20)]  # p0..p6, again and again
    path = write("posts.jsonl", rows)
    seen = set()
    for size in (1, 2, 3, 1000):
        monkeypatch.setattr(matcher.ingest, "BATCH", size)
        with session(engine) as s:  # the same database each time: p0, p2, p4, p6 stored, the others not
            s.execute(text("DELETE FROM posts WHERE post_id IN ('p1', 'p3', 'p5')"))
            s.commit()
        seen.add(counts(ingest_posts(engine, path)))
    assert seen == {(3, 0, 4, 13)}


def test_a_failed_ingest_leaves_nothing_behind_for_the_next(engine, write, batches_of_two) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS))
    rows = [post(f"p{i}", "ann", f"text {i}", i) for i in range(1, 6)]
    path = write("posts.jsonl", rows)
    ingest_posts(engine, path)
    with pytest.raises(InputFileError):  # unchanged posts recorded over several batches, then a bad row
        ingest_posts(engine, write("bad.jsonl", [*rows, rows[0], {"post_id": "p9", "user_id": "ann"}]))
    assert counts(ingest_posts(engine, write("again.jsonl", [*rows, rows[0]]))) == (0, 0, 5, 1)
    assert counts(ingest_posts(engine, path)) == (0, 0, 5, 0)


def test_json_null_for_platform_or_is_share_is_not_given(engine, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS))
    row = post("p1", "ann", "a", 1, platform=None, is_share=None, replies=None, context=None)
    report = ingest_posts(engine, write("posts.jsonl", [row]))  # before: rejected (platform and is_share)
    assert report.added == 1
    with session(engine) as s:
        assert s.exec(select(Post.platform, Post.is_share, Post.replies)).one() == ("unknown", False, 0)


def test_posts_and_users_both_from_standard_input_are_refused(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PerkmatchError) as info:
        ingest(engine, "-", "-")
    assert str(info.value) == ("--users -: the posts are read from standard input too, which can be read once; give "
                               "the users (or the posts) as a file")  # before: the posts read nothing, exit 0


def test_perk_and_topic_ids_given_as_json_floats_are_kept_exactly_or_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest
    from pydantic import ValidationError

    from catalog.schema import PerkIn
    from matcher.taxonomy import TopicIn

    perk = {"brand": "B", "title": "T", "description": "d"}
    assert PerkIn(perk_id=12.0, **perk).perk_id == "12"  # before: "12.0", another perk than 12
    assert TopicIn(topic_id=3.0, name="N", parent_id=1.0).parent_id == "1"
    for bad in (1e20, 1.5):
        with pytest.raises(ValidationError, match="write the id in quotes"):
            PerkIn(perk_id=bad, **perk)
        with pytest.raises(ValidationError, match="write the id in quotes"):
            TopicIn(topic_id=bad, name="N")
    assert PerkIn(perk_id="p", brand="B", title=1.5, description="d").title == "1.5"  # text fields as before
