"""Ingest: formats, upserts, consent, and every error path (file, line, field; nothing half-written)."""

import gzip
import json
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from sqlmodel import select

from catalog.errors import CatalogError, InputFileError
from matcher.ingest import ingest_posts, ingest_users
from matcher.records import embed_form
from matcher.store import Post, User, session
from tests.conftest import post

USERS = [{"user_id": "ann", "consent": "opted_in", "region": "us-ny"},
         {"user_id": "bob", "consent": "opted_in"}, {"user_id": "cat"}]


def posts_in(engine) -> list[Post]:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        return list(s.exec(select(Post).order_by(Post.post_id)).all())


def test_jsonl_posts_are_stored_and_reingest_updates_engagement(engine, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS))
    first = ingest_posts(engine, write("a.jsonl", [post("p1", "ann", "hello", 1, likes=2), post("p2", "bob", "x", 2)]))
    assert (first.added, first.updated) == (2, 0)
    again = ingest_posts(engine, write("b.jsonl", [post("p1", "ann", "hello", 1, likes=40, replies=3)]))
    assert (again.added, again.updated) == (0, 1)
    stored = posts_in(engine)
    assert [p.post_id for p in stored] == ["p1", "p2"]
    assert (stored[0].likes, stored[0].replies) == (40, 3)
    same = ingest_posts(engine, write("b.jsonl", [post("p1", "ann", "hello", 1, likes=40, replies=3)]))
    assert (same.added, same.updated, same.unchanged) == (0, 0, 1)  # before: "updated", and so "new or updated"
    assert posts_in(engine)[0].updated_at == stored[0].updated_at  # for `topics --changes`: left alone


def test_a_post_given_twice_in_one_file_keeps_its_last_row_and_is_counted(engine, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.ingest

    ingest_users(engine, write("users.jsonl", USERS))
    ingest_posts(engine, write("old.jsonl", [post("p0", "ann", "old", 1)]))
    monkeypatch.setattr(matcher.ingest, "BATCH", 2)  # repeats within a batch and across batches
    rows = [post("p1", "ann", "a", 1, likes=1), post("p1", "ann", "a", 1, likes=2),
            post("p0", "ann", "old", 1, likes=5), post("p2", "bob", "b", 2), post("p3", "bob", "c", 3),
            post("p1", "ann", "a", 1, likes=9), post("p0", "ann", "old", 1, likes=7)]
    report = ingest_posts(engine, write("twice.jsonl", rows))
    assert (report.added, report.updated, report.repeated) == (3, 1, 3)  # p0 existed: one update, not two
    assert {p.post_id: p.likes for p in posts_in(engine)} == {"p0": 7, "p1": 9, "p2": 3, "p3": 3}  # the last rows
    again = ingest_posts(engine, write("twice.jsonl", rows))  # p0 and p1 go back to their earlier rows, then on
    assert (again.added, again.updated, again.unchanged, again.repeated) == (0, 2, 2, 3)
    assert report.as_dict()["repeated"] == 3


def test_csv_gz_and_iso_dates(engine, tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS))
    path = tmp_path / "posts.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("post_id,user_id,text,created_at,likes,is_share,platform\n")
        f.write('p1,ann,"a, quoted text",2025-03-01T10:00:00Z,-2,true,Reddit\n')
    report = ingest_posts(engine, str(path))
    assert report.added == 1
    p = posts_in(engine)[0]
    assert (p.text, p.likes, p.is_share, p.platform, p.created_at) == ("a, quoted text", -2, True, "reddit", 1740823200)


def test_users_region_is_normalised_and_extra_fields_kept(engine, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", [{"user_id": "ann", "region": "us-ny", "favourite": "tea"}]))
    with session(engine) as s:
        user = s.get(User, "ann")
    assert user is not None and user.region == "US-NY" and json.loads(user.extra) == {"favourite": "tea"}


def test_invalid_row_rejects_whole_file_naming_line_and_field(engine, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS))
    rows = [post("p1", "ann", "fine", 1), {"post_id": "p2", "user_id": "ann", "text": "x", "created_at": "yesterday"},
            post("p3", "ann", "fine too", 2, replies=-1), post("p4", "ann", "fine again", 3, shares=-2)]
    path = write("bad.jsonl", rows)
    with pytest.raises(InputFileError) as info:
        ingest_posts(engine, path)
    message = str(info.value)
    assert f"{path}, line 2, field 'created_at'" in message and "ISO-8601" in message
    assert f"{path}, line 3, field 'replies'" in message and f"{path}, line 4, field 'shares'" in message
    assert "--skip-invalid" in message
    assert posts_in(engine) == []


def test_skip_invalid_stores_valid_rows_and_writes_rejects(engine, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS))
    path = write("bad.jsonl", [post("p1", "ann", "fine", 1), {"post_id": "p2", "user_id": "ann"}, "not json"])
    path_text = (tmp_path / "bad.jsonl").read_text().replace('"not json"', "{not json")
    (tmp_path / "bad.jsonl").write_text(path_text)
    report = ingest_posts(engine, path, skip_invalid=True)
    assert (report.added, report.rejected) == (1, 2)
    rejects = [json.loads(line) for line in Path(report.reject_file or "").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2, 3]
    assert any("text" in reason for reason in rejects[0]["reasons"])
    assert "not valid JSON" in rejects[1]["reasons"][0]


def test_posts_of_users_without_consent_are_not_stored(engine, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS + [{"user_id": "dan", "consent": "opted_out"}]))
    rows = [post("p1", "ann", "a", 1), post("p2", "cat", "b", 1), post("p3", "dan", "c", 1), post("p4", "eve", "d", 1)]
    report = ingest_posts(engine, write("p.jsonl", rows))
    assert (report.added, report.skipped_no_consent) == (1, 3)
    opt_out = ingest_posts(engine, write("q.jsonl", rows), policy="opt-out")
    assert {p.user_id for p in posts_in(engine)} == {"ann", "cat", "eve"}
    assert opt_out.skipped_no_consent == 1
    bad = [post("p5", "cat", "e", 1) | {"likes": "many"}, post("p6", "ann", "f", 1) | {"likes": "lots"}]
    report = ingest_posts(engine, write("bad.jsonl", bad), skip_invalid=True, reject_path=str(tmp_path / "r.jsonl"))
    assert (report.rejected, report.skipped_no_consent) == (1, 1)  # cat's bad row is skipped, never copied anywhere
    kept = (tmp_path / "r.jsonl").read_text()
    assert '"user_id": "ann"' in kept and '"cat"' not in kept


def test_unknown_extension_and_missing_file_are_clear_errors(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "posts.txt").write_text("x")
    with pytest.raises(CatalogError, match="cannot tell the format"):
        ingest_posts(engine, str(tmp_path / "posts.txt"))
    with pytest.raises(CatalogError, match="no such file"):
        ingest_posts(engine, str(tmp_path / "missing.jsonl"))


def test_truncated_gzip_is_a_clear_error_and_stores_nothing(engine, tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS))
    data = gzip.compress(b"".join(json.dumps(post(f"p{i}", "ann", "t", 1)).encode() + b"\n" for i in range(3000)))
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CatalogError, match="is the file complete"):
        ingest_posts(engine, str(tmp_path / "cut.jsonl.gz"))
    assert posts_in(engine) == []


def test_stdin_is_read_as_json_lines(tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "s.db")
    users = write("users.jsonl", USERS)
    line = json.dumps(post("p1", "ann", "from stdin", 1)) + "\n"
    run = subprocess.run([sys.executable, "-m", "matcher", "--db", db, "ingest", "-", "--users", users, "--json"],
                         input=line, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1])["added"] == 1


def test_the_embedded_form_reduces_links_urls_entities_and_spaces() -> None:
    assert embed_form("See [the guide](https://x.org/a) &amp; [notes](/r/b)!") == "See the guide & notes!"
    assert embed_form("  bare https://x.org/a?b=1 and www.y.com/z\tend ") == "bare and end"
    assert embed_form("no\u00a0break\u2003em\x1cfile\n\nlines") == "no break em file lines"  # Unicode whitespace too
    assert embed_form("[not a link](ftp://x) ](/dangling") == "[not a link](ftp://x) ](/dangling"
    assert embed_form("") == ""


def test_a_rejected_posts_file_stores_nothing_of_its_users_file_either(engine, write) -> None:  # type: ignore[no-untyped-def]
    from matcher.ingest import ingest

    ingest(engine, write("a.jsonl", [post("p1", "ann", "hello", 1)]), write("users.jsonl", USERS))
    users = write("u2.jsonl", [{"user_id": "ann", "consent": "opted_out"}, {"user_id": "dan", "consent": "opted_in"}])
    bad = write("bad.jsonl", '{"post_id": "p2", "user_id": "bob", "text": "x", "created_at": 1}\n{not json\n')
    with pytest.raises(InputFileError, match="line 2: not valid JSON"):
        ingest(engine, bad, users)  # the opt-out would have forgotten ann: nothing happened
    assert [p.post_id for p in posts_in(engine)] == ["p1"]
    with session(engine) as s:
        assert sorted(s.exec(select(User.user_id)).all()) == ["ann", "bob", "cat"]


@pytest.mark.parametrize(("value", "message"), [
    (1_735_725_600_000, "outside 1970-01-01 .. 9999-12-31 in Unix seconds (it looks like milliseconds: divide by "
                        "1000)"),
    (-5, "outside 1970-01-01 .. 9999-12-31"),
    ("0001-01-01T00:00:00Z", "outside 1970-01-01 .. 9999-12-31")])
def test_times_a_date_cannot_hold_are_rejected_at_ingest(engine, write, value, message) -> None:  # type: ignore[no-untyped-def]
    # before, stored: then export, topics and reports failed for good on "year 56972 is out of range"
    with pytest.raises(InputFileError, match=r"line 1, field 'created_at': .*" + re.escape(message)):
        ingest_posts(engine, write("t.jsonl", [post("p1", "ann", "hi", 0) | {"created_at": value}]), policy="opt-out")
    assert posts_in(engine) == []


def test_rows_sqlite_cannot_hold_or_python_cannot_read_are_rejected_naming_them(engine, write) -> None:  # type: ignore[no-untyped-def]
    rows = (json.dumps(post("p1", "ann", "hi", 1, likes=10**20)) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n"
            + '{"post_id": "p3", "user_id": "ann", "text": "half \\ud83d", "created_at": 1}\n')
    with pytest.raises(InputFileError) as raised:
        ingest_posts(engine, write("p.jsonl", rows), policy="opt-out")
    text = str(raised.value)
    assert "line 1, field 'likes': Input should be less than or equal to 9223372036854775807" in text
    assert "line 2: nested too deeply to read" in text
    assert "line 3, field 'text': holds half of a character (\\ud83d, an unpaired surrogate)" in text
    assert posts_in(engine) == []


def test_bytes_that_are_not_utf8_are_named_not_silently_replaced(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "latin1.csv"
    path.write_bytes("post_id,user_id,text,created_at\np1,ann,caf\xe9 cr\xe8me,1\n".encode("latin-1"))
    with pytest.raises(InputFileError, match=r"line 2, field 'text': not valid UTF-8 \(byte 0xe9 at character 4\)"):
        ingest_posts(engine, str(path), policy="opt-out")
    skipped = ingest_posts(engine, str(path), policy="opt-out", skip_invalid=True)  # the row kept, bytes escaped
    assert json.loads(Path(skipped.reject_file or "").read_text())["text"] == "p1,ann,caf\\xe9 cr\\xe8me,1"
    long_text = tmp_path / "long.csv"  # a cell over the csv module's default limit (128 KB) is a post like another
    long_text.write_text(f"post_id,user_id,text,created_at\np1,ann,{'word ' * 40_000},1\n")
    assert ingest_posts(engine, str(long_text), policy="opt-out").added == 1
    twice = tmp_path / "twice.csv"
    twice.write_text("post_id,user_id,text,created_at,likes,likes\np2,ann,hi,1,2,3\n")
    with pytest.raises(CatalogError, match="line 1: the header names 'likes' more than once"):
        ingest_posts(engine, str(twice), policy="opt-out")


def test_a_reject_file_never_overwrites_the_input_and_keeps_unreadable_lines(engine, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from matcher.errors import PerkmatchError

    path = write("p.jsonl", '{"post_id": "p1", "user_id": "ann", "text": "x", "created_at": 1}\n{not json\n')
    before = Path(path).read_text()
    for target, says in ((path, "that is the input file"), (str(tmp_path), "is a folder"),
                         (str(tmp_path / "no" / "r.jsonl"), "its folder does not exist")):
        with pytest.raises(PerkmatchError, match=says):
            ingest_posts(engine, path, skip_invalid=True, reject_path=target, policy="opt-out")
    assert Path(path).read_text() == before and posts_in(engine) == []
    report = ingest_posts(engine, path, skip_invalid=True, policy="opt-out")
    assert report.added == 1 and report.reject_file
    assert json.loads(Path(report.reject_file).read_text())["text"] == "{not json"


def test_a_post_never_changes_author_and_a_user_is_given_once(engine, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS))
    ingest_posts(engine, write("a.jsonl", [post("p1", "ann", "my trip", 1)]))
    with pytest.raises(InputFileError, match="line 1, field 'user_id': post 'p1' is stored as ann's; a post cannot "
                       "change author"):  # before, bob took over ann's post (reported as 'updated 1')
        ingest_posts(engine, write("b.jsonl", [post("p1", "bob", "hijacked", 2)]))
    same_file = write("c.jsonl", [post("p2", "ann", "x", 1), post("p2", "bob", "y", 2)])
    with pytest.raises(InputFileError, match="line 2, field 'user_id': post 'p2' is given in this file as ann's"):
        ingest_posts(engine, same_file)
    assert [(p.post_id, p.user_id, p.text) for p in posts_in(engine)] == [("p1", "ann", "my trip")]
    # the stored author decides, whatever comes first in the file: ann's own update is kept, bob's row rejected
    mixed = ingest_posts(engine, write("d.jsonl", [post("p1", "bob", "hijacked", 2), post("p1", "ann", "my trip!", 3)]),
                         skip_invalid=True)
    assert (mixed.updated, mixed.rejected) == (1, 1)
    assert [(p.post_id, p.user_id, p.text) for p in posts_in(engine)] == [("p1", "ann", "my trip!")]
    twice = write("twice.jsonl", [{"user_id": "ann", "consent": "opted_out"},
                                  {"user_id": "ann", "consent": "opted_in"}])
    with pytest.raises(InputFileError, match="line 2, field 'user_id': 'ann' already appears on line 1"):
        ingest_users(engine, twice)
    assert [p.post_id for p in posts_in(engine)] == ["p1"]  # the opt-out on line 1 forgot nothing


def test_a_csv_without_its_header_and_a_true_for_a_count_are_named(engine, tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    headless = tmp_path / "headless.csv"
    headless.write_text("p1,ann,hello,1700000000\n")  # before: the row was taken for the header, "added 0"
    with pytest.raises(CatalogError, match="line 1: the header has no column 'post_id', 'user_id', 'text', "
                       "'created_at'; the first line must name the columns"):
        ingest_posts(engine, str(headless), policy="opt-out")
    with pytest.raises(InputFileError, match="line 1, field 'likes': true/false is not a count"):
        ingest_posts(engine, write("b.jsonl", [post("p1", "ann", "hi", 1) | {"likes": True}]), policy="opt-out")
    assert posts_in(engine) == []


def test_a_region_that_is_not_an_iso_3166_code_is_named(engine, write) -> None:  # type: ignore[no-untyped-def]
    users = write("u.jsonl", [{"user_id": "ann", "region": "us-ny"}, {"user_id": "bob", "region": "Narnia"},
                              {"user_id": "cat", "region": "US-ZZ-99"}, {"user_id": "dan", "region": "ZZ"},
                              {"user_id": "eve", "region": "UK"}, {"user_id": "fay", "region": "US-ZZ"},
                              {"user_id": "gus", "region": "gb-sct"}, {"user_id": "hal", "region": "DE"}])
    with pytest.raises(InputFileError) as raised:  # before: stored, and matching no region-limited perk, silently
        ingest_users(engine, users)
    text = str(raised.value)
    assert "line 2, field 'region': 'Narnia' is not an ISO 3166 code" in text
    assert "line 3, field 'region'" in text
    assert "line 4, field 'region': 'ZZ': 'ZZ' is not an ISO 3166 country code" in text
    assert "line 5, field 'region': 'UK' is not an ISO 3166 country code: the United Kingdom is GB" in text
    assert "line 6, field 'region': 'US-ZZ' is not an ISO 3166-2 subdivision of US" in text
    assert not {"line 1", "line 7", "line 8"} & set(re.findall(r"line \d+", text))  # us-ny, gb-sct, DE are codes


def test_reject_files_are_written_only_when_the_ingest_is_stored(engine, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from matcher.errors import PerkmatchError
    from matcher.ingest import ingest

    users = write("u.jsonl", [{"user_id": "ann", "consent": "opted_in"}, {"user_id": "bob", "consent": "maybe"}])
    posts = write("p.jsonl", [post("p1", "ann", "hello", 1)])
    with pytest.raises(PerkmatchError, match="that is the input file"):  # found after the users file was read
        ingest(engine, posts, users, skip_invalid=True, reject_path=posts)
    assert not any(p.name.startswith("p.jsonl.users") for p in tmp_path.iterdir())  # no users rejects, no .part
    reports = ingest(engine, posts, users, skip_invalid=True, reject_path=str(tmp_path / "r.jsonl"))
    assert reports[0].reject_file == str(tmp_path / "r.jsonl.users") and reports[0].rejected == 1
    assert Path(reports[0].reject_file).exists() and reports[1].added == 1


def damaged_gzip(data: bytes) -> bytes:
    """A .gz whose compressed data breaks off into an invalid block after ``data`` (zlib: "invalid block type")."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush(zlib.Z_FULL_FLUSH)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + body + b"\x07" + b"\x00" * 16


def test_a_damaged_gzip_is_a_clean_error_naming_the_file(engine, tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    from matcher.taxonomy import read_taxonomy

    ingest_users(engine, write("users.jsonl", USERS))
    rows = b"".join(json.dumps(post(f"p{i}", "ann", f"post {i}", 1)).encode() + b"\n" for i in range(3000))
    damaged = tmp_path / "damaged.jsonl.gz"
    damaged.write_bytes(damaged_gzip(rows))
    with pytest.raises(CatalogError) as raised:  # before: zlib.error, a traceback
        ingest_posts(engine, str(damaged))
    message = str(raised.value)
    assert re.fullmatch(rf"{damaged}: cannot be read after line (\d+) \(Error -3 while decompressing data: invalid "
                        r"block type\); is the file complete\? Its compressed data is damaged or cut short: download "
                        r"or copy it again", message), message
    assert 0 < int(re.findall(r"after line (\d+)", message)[0]) < 3000 and posts_in(engine) == []
    whole = gzip.compress(rows, mtime=0)
    bad_crc = tmp_path / "crc.jsonl.gz"  # found at the end: no line, the damage may be anywhere before
    bad_crc.write_bytes(whole[:-8] + bytes(b ^ 0xFF for b in whole[-8:-4]) + whole[-4:])
    with pytest.raises(CatalogError, match=rf"^{bad_crc}: cannot be read \(CRC check failed .*\); is the file "
                       "complete"):
        ingest_posts(engine, str(bad_crc))
    topics = tmp_path / "topics.yaml.gz"
    topics.write_bytes(damaged_gzip("".join(f"- {{topic_id: t{i}, name: Topic {i}}}\n" for i in range(500)).encode()))
    iab = tmp_path / "iab.tsv.gz"
    iab.write_bytes(damaged_gzip(b"Unique ID\tParent\tName\n" + b"".join(b"%d\t\tT%d\n" % (i, i) for i in range(500))))
    for path in (topics, iab):  # before: zlib.error from taxonomy load
        with pytest.raises(CatalogError, match=rf"^{path}: cannot be read \(Error -3 while decompressing data: "
                           "invalid block type\\); is the file complete"):
            read_taxonomy(str(path))


def test_every_problem_is_listed_each_kind_once_with_its_lines(engine, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import catalog.errors
    import matcher.ingest_report

    ingest_users(engine, write("users.jsonl", USERS))
    rows = [{"post_id": f"p{i}", "user_id": "ann", "created_at": 1} for i in range(150)]  # each without text
    rows[7]["text"] = rows[9]["text"] = "fine"
    rows[100]["likes"] = "many"
    path = write("many.jsonl", rows)
    with pytest.raises(InputFileError) as raised:  # before: 25 lines, then "... and 124 more"
        ingest_posts(engine, path)
    assert str(raised.value).splitlines()[:3] == [
        f"{path}: 149 problem(s), nothing was stored:",
        f"  {path}, lines 1-7, 9, 11-150 (148 rows), field 'text': Field required; give the post body as a string",
        f"  {path}, line 101, field 'likes': Input should be a valid integer, unable to parse string as an integer "
        "(got 'many'); give a whole number (negative allowed for net votes)"]
    monkeypatch.setattr(catalog.errors, "MAX_LISTED", 1)
    monkeypatch.setattr(catalog.errors, "MAX_RANGES", 2)
    monkeypatch.setattr(matcher.ingest_report, "PROBLEMS_KEPT", 100)
    monkeypatch.setattr(catalog.errors, "PROBLEMS_KEPT", 100)
    with pytest.raises(InputFileError) as raised:  # more problems than are collected: counted as "at least"
        ingest_posts(engine, path)
    assert str(raised.value).splitlines()[:3] == [
        f"{path}: at least 100 problem(s), nothing was stored:",
        f"  {path}, lines 1-7, 9, and 91 more lines (99 rows), field 'text': Field required; give the post body as "
        "a string",
        "  ... and at least 1 more, of 1 other kind(s)"]


def test_a_utf8_bom_is_skipped_on_stdin_as_in_a_file(engine, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io

    data = b"\xef\xbb\xbf" + json.dumps(post("p1", "ann", "caf\u00e9", 1)).encode() + b"\n"
    (tmp_path / "bom.jsonl").write_bytes(data)
    assert ingest_posts(engine, str(tmp_path / "bom.jsonl"), policy="opt-out").added == 1
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.replace(b'"p1"', b'"p2"'))))
    assert ingest_posts(engine, "-", policy="opt-out").added == 1  # before: "Unexpected UTF-8 BOM" on line 1
    assert [(p.post_id, p.text) for p in posts_in(engine)] == [("p1", "caf\u00e9"), ("p2", "caf\u00e9")]


def test_a_failed_or_interrupted_skip_invalid_ingest_leaves_no_reject_part_file(engine, tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", USERS))
    rows = [json.dumps(post(f"p{i}", "ann", f"post {i}", 1)).encode() for i in range(3000)]
    rows[1] = b'{"post_id": "bad", "user_id": "ann"}'  # rejected early: the reject file is started
    whole = gzip.compress(b"\n".join(rows) + b"\n")
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CatalogError, match="is the file complete"):
        ingest_posts(engine, str(cut), skip_invalid=True)
    assert sorted(p.name for p in tmp_path.iterdir() if "rejects" in p.name) == []  # before: cut...rejects.jsonl.part

    seen: list[int] = []

    def ctrl_c(advance: int) -> None:  # Ctrl-C at the 5th row, after the reject file was started
        seen.append(advance)
        if len(seen) == 5:
            raise KeyboardInterrupt

    whole_file = tmp_path / "whole.jsonl"
    whole_file.write_bytes(b"\n".join(rows[:10]) + b"\n")
    with pytest.raises(KeyboardInterrupt):
        ingest_posts(engine, str(whole_file), skip_invalid=True, progress=ctrl_c)
    assert sorted(p.name for p in tmp_path.iterdir() if "rejects" in p.name) == [] and posts_in(engine) == []
    users = tmp_path / "users.jsonl.gz"  # the same for a users file
    packed = gzip.compress(b'{"user_id": "dan", "consent": "maybe"}\n' + b"".join(
        json.dumps({"user_id": f"u{i}", "handle": f"user number {i}"}).encode() + b"\n" for i in range(3000)))
    users.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(CatalogError, match="is the file complete"):
        ingest_users(engine, str(users), skip_invalid=True)
    assert sorted(p.name for p in tmp_path.iterdir() if "rejects" in p.name) == []


def test_a_problem_in_a_pretty_printed_json_list_names_the_line_its_item_starts_on(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    users = tmp_path / "users.jsonl"
    users.write_text('{"user_id": "ann", "consent": "opted_in"}\n', encoding="utf-8")
    ingest_users(engine, str(users))
    rows = [post("a", "ann", "first", 1), post("b", "ann", "second", 2) | {"likes": "many"}]
    path = tmp_path / "posts.json"
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    start = path.read_text().splitlines().index("  {", 2) + 1  # the second item's opening brace
    assert start > 2
    with pytest.raises(InputFileError) as refused:
        ingest_posts(engine, str(path))
    assert [(p.line, p.field) for p in refused.value.problems] == [(start, "likes")]  # before: line 2, the item number


def test_ids_with_invisible_characters_are_refused_where_they_are(engine, write) -> None:  # type: ignore[no-untyped-def]
    from catalog.refresh import read_catalog

    rows = [post("p1", "ann", "hello there", 1), post("p2", "ann\u200b", "hello there", 2)]  # looks like "ann"
    with pytest.raises(InputFileError) as info:
        ingest_posts(engine, write("p.jsonl", rows), policy="opt-out")
    assert "line 2, field 'user_id'" in str(info.value) and "U+200B, ZERO WIDTH SPACE" in str(info.value)
    assert posts_in(engine) == []  # nothing half-stored
    with pytest.raises(InputFileError, match=r"field 'user_id'.*U\+202E"):
        ingest_users(engine, write("u.jsonl", [{"user_id": "\u202eann", "consent": "opted_in"}]))
    perk = {"perk_id": "lounge\u2060", "brand": "B", "title": "T", "description": "D"}
    with pytest.raises(InputFileError, match=r"field 'perk_id'.*U\+2060"):
        read_catalog(write("c.jsonl", [perk]))


def test_a_key_given_twice_in_a_json_object_is_named_not_silently_last_wins(engine, write) -> None:  # type: ignore[no-untyped-def]
    from catalog.refresh import read_catalog

    line = '{"post_id": "p1", "user_id": "ann", "text": "hi", "created_at": 1, "likes": 5, "likes": 500}\n'
    with pytest.raises(InputFileError) as info:  # before: stored with 500 likes, no word said
        ingest_posts(engine, write("p.jsonl", line), policy="opt-out")
    assert "line 1, field 'likes': given twice in this object; keep one" in str(info.value)
    doc = '[\n {"perk_id": "a", "brand": "B", "title": "T", "description": "D"},\n' \
          ' {"perk_id": "b", "brand": "B", "title": "T",\n  "quantity": 5, "description": "D", "quantity": 50}\n]\n'
    with pytest.raises(InputFileError, match=r"line 3, field 'quantity': given twice in this object"):
        read_catalog(write("c.json", doc))


def test_an_unknown_field_given_twice_is_no_error_in_any_format(engine, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the contract: unknown extra fields are kept or ignored, never an error (before: the whole file refused)
    from catalog.refresh import read_catalog
    from matcher.taxonomy import read_taxonomy

    csv_posts = tmp_path / "p.csv"
    csv_posts.write_text("post_id,user_id,text,created_at,tag,tag\np1,ann,hi,1,a,b\n")
    jsonl_posts = write("p.jsonl", '{"post_id": "p2", "user_id": "ann", "text": "hi", "created_at": 1, "x": 1, '
                                   '"x": 2}\n')
    assert [ingest_posts(engine, str(p), policy="opt-out").added for p in (csv_posts, jsonl_posts)] == [1, 1]
    perks = write("c.yaml", "- perk_id: a\n  brand: B\n  title: T\n  description: D\n  note: one\n  note: two\n")
    assert [p.perk_id for p in read_catalog(perks)] == ["a"]
    topics = write("t.json", '[{"topic_id": "t", "name": "T", "note": 1, "note": 2}]')
    assert [t.topic_id for t in read_taxonomy(topics)] == ["t"]
    users = write("u.jsonl", '{"user_id": "bo", "consent": "opted_in", "team": "x", "team": "y"}\n')
    assert ingest_users(engine, users).users_added == 1
    known_twice = write("k.yaml", "- perk_id: a\n  brand: B\n  title: T\n  description: D\n  brand: C\n")
    with pytest.raises(InputFileError, match=r"line 5, field 'brand': given twice in this item"):
        read_catalog(known_twice)

def test_a_database_made_before_the_copy_index_gets_it_when_opened(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import inspect, text

    from matcher.store import open_engine

    db = str(tmp_path / "old.db")
    engine = open_engine(db)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_posts_text"))  # as a database made before it was added
    assert "ix_posts_text" not in {i["name"] for i in inspect(engine).get_indexes("posts")}
    engine.dispose()
    engine = open_engine(db)
    assert "ix_posts_text" in {i["name"] for i in inspect(engine).get_indexes("posts")}
    engine.dispose()


def test_a_users_row_updates_only_the_fields_it_gives(engine, write) -> None:  # type: ignore[no-untyped-def]
    # a file sent to change regions must not withdraw consent or opt-ins it does not mention
    ingest_users(engine, write("u1.jsonl", [{"user_id": "ann", "handle": "ann_a", "region": "US", "consent": "opted_in",
                                             "sensitive_opt_in": ["health"], "tier": "gold"}]))
    ingest_users(engine, write("u2.jsonl", [{"user_id": "ann", "region": "CA", "city": "Toronto"}]))
    ingest_users(engine, write("u3.csv", "user_id,handle,consent\nann,,\n"))  # blank cells: not given either
    with session(engine) as s:
        ann = s.get(User, "ann")
    assert (ann.handle, ann.region, ann.consent, json.loads(ann.sensitive_opt_in)) == ("ann_a", "CA", "opted_in",
                                                                                      ["health"])
    assert json.loads(ann.extra) == {"tier": "gold", "city": "Toronto"}
    ingest_users(engine, write("u4.jsonl", [{"user_id": "ann", "sensitive_opt_in": []}]))  # given empty: cleared
    with session(engine) as s:
        assert json.loads(s.get(User, "ann").sensitive_opt_in) == []


def test_true_is_no_user_id(engine, write) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputFileError) as info:
        ingest_users(engine, write("u.jsonl", [{"user_id": True, "consent": "opted_in"}]))
    assert "user_id" in str(info.value)


def test_a_csv_cell_reads_the_same_from_a_file_and_from_gzip(engine, tmp_path, write) -> None:  # type: ignore[no-untyped-def]
    # a CRLF inside a quoted cell: the .gz reader translated it to LF, so a re-ingest of the same posts as .csv.gz
    # counted every such post as updated
    data = b'post_id,user_id,text,created_at\r\np1,ann,"first line\r\nsecond line",2025-01-02T00:00:00Z\r\n'
    (tmp_path / "p.csv").write_bytes(data)
    (tmp_path / "p.csv.gz").write_bytes(gzip.compress(data))
    ingest_users(engine, write("users.jsonl", [{"user_id": "ann", "consent": "opted_in"}]))
    ingest_posts(engine, str(tmp_path / "p.csv"))
    again = ingest_posts(engine, str(tmp_path / "p.csv.gz"))
    assert again.unchanged == 1 and again.updated == 0
    with session(engine) as s:
        assert s.exec(select(Post.text)).one() == "first line\r\nsecond line"


def test_a_users_file_given_again_is_unchanged_and_reported_as_users(engine, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from matcher.cli import app

    rows = [{"user_id": "ann", "region": "US", "consent": "opted_in", "tier": "gold"}]
    assert ingest_users(engine, write("u.jsonl", rows)).users_added == 1
    with session(engine) as s:
        stamp = s.get(User, "ann").updated_at
    again = ingest_users(engine, write("u.jsonl", rows))
    assert (again.users_updated, again.users_unchanged) == (0, 1)  # before: "updated 1", its time stamp moved
    with session(engine) as s:
        assert s.get(User, "ann").updated_at == stamp
    moved = ingest_users(engine, write("u2.jsonl", [{"user_id": "ann", "region": "CA"}]))
    assert (moved.users_updated, moved.users_unchanged) == (1, 0)
    (tmp_path / "empty.jsonl").write_text("")
    db = str(tmp_path / "cli.db")
    result = CliRunner().invoke(app, ["--db", db, "ingest", "--users", str(tmp_path / "empty.jsonl")])
    assert result.exit_code == 0 and "empty.jsonl: users added 0" in result.stdout  # before: "posts added 0"


def test_a_run_that_rejects_nothing_empties_an_earlier_reject_file(engine, write) -> None:  # type: ignore[no-untyped-def]
    # before: the earlier run's reject file stayed, listing as rejected rows this run stored
    bad = [{"post_id": "p1", "user_id": "ann", "text": "hi", "created_at": 1},
           {"post_id": "p2", "user_id": "ann", "created_at": 1}]  # no text
    path = write("p.jsonl", bad)
    first = ingest_posts(engine, path, policy="opt-out", skip_invalid=True)
    assert first.reject_file and Path(first.reject_file).read_text().count("\n") == 1
    write("p.jsonl", [bad[0], bad[1] | {"text": "fixed"}])
    second = ingest_posts(engine, path, policy="opt-out", skip_invalid=True)
    assert second.reject_file is None and second.reject_file_emptied == first.reject_file
    assert Path(first.reject_file).read_text() == ""


def test_a_file_at_the_reject_path_that_is_not_a_reject_file_is_never_replaced(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Before, `ingest - --skip-invalid` emptied (or replaced) whatever file was called rejects.jsonl in the working
    folder."""
    from typer.testing import CliRunner

    from matcher.cli import app

    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "rejects.jsonl"
    rows = json.dumps({"post_id": "p1", "user_id": "ann", "text": "hi", "created_at": 1}) + "\n"
    db = str(tmp_path / "cli.db")
    for notes, extra in (("my own notes\n", []), ("\n\n\n\n\nmy own notes\n", ["--rejects", str(mine)])):
        mine.write_text(notes)
        result = CliRunner().invoke(app, ["--db", db, "ingest", "-", "--skip-invalid", "--consent-policy", "opt-out",
                                          *extra], input=rows)
        assert result.exit_code == 1 and "not a perkmatch reject file is there" in " ".join(result.stderr.split())
        assert mine.read_text() == notes
    mine.write_text(json.dumps({"line": 2, "reasons": ["field 'text': required"], "row": {}}) + "\n")  # ours: emptied
    result = CliRunner().invoke(app, ["--db", db, "ingest", "-", "--skip-invalid", "--consent-policy", "opt-out"],
                                input=rows)
    assert result.exit_code == 0 and mine.read_text() == ""


def test_a_time_in_utc_may_end_in_a_lower_case_z() -> None:
    from matcher.records import to_epoch

    # RFC 3339 allows it (before: refused, though a lower-case 't' was taken)
    assert to_epoch("2024-01-01T00:00:00z") == to_epoch("2024-01-01T00:00:00Z") == 1_704_067_200


def test_a_field_of_the_wrong_kind_says_how_to_give_it(engine, write) -> None:  # type: ignore[no-untyped-def]
    bad = write("p.jsonl", [{"post_id": "p1", "user_id": "ann", "text": "hi", "created_at": 1, "context": 5}])
    with pytest.raises(CatalogError) as got:  # before: "Input should be a valid string (got '5')", no fix
        ingest_posts(engine, bad, policy="opt-out")
    assert "field 'context': Input should be a valid string (got '5'); give it as text, in quotes" in str(got.value)


def test_a_blank_field_in_a_later_users_file_keeps_the_stored_value(engine, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("u1.jsonl", [{"user_id": "ann", "consent": "opted_in", "region": "GB"}]))
    ingest_users(engine, write("u2.jsonl", [{"user_id": "ann", "consent": "", "region": "US"}]))
    with session(engine) as s:
        ann = s.get(User, "ann")
        assert ann is not None and (ann.consent, ann.region) == ("opted_in", "US")  # a blank is not a withdrawal


def test_a_nul_character_in_a_handle_is_refused_naming_line_and_field(engine, write) -> None:  # type: ignore[no-untyped-def]
    path = write("u.jsonl", [{"user_id": "ann", "consent": "opted_in", "handle": "a\u0000b"}])
    with pytest.raises(InputFileError, match=re.escape(f"{path}, line 1, field 'handle'")):
        ingest_users(engine, path)


def test_an_unknown_consent_policy_is_refused_by_the_library_too(engine, write) -> None:  # type: ignore[no-untyped-def]
    from matcher.eligible import eligible_users
    from matcher.errors import PerkmatchError

    with pytest.raises(PerkmatchError):
        eligible_users(engine, "optin")
    with pytest.raises(PerkmatchError):
        ingest_posts(engine, write("p.jsonl", [post("p1", "ann", "hello", 1)]), policy="optin")
