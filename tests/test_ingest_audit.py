"""Ingest and importer edge cases found in an audit: reject files, Reddit CSV cells and encodings, feed paths."""

import csv
from pathlib import Path

import pytest

from matcher.errors import ImportFormatError, PerkmatchError
from matcher.importers import read_posts
from matcher.ingest import ingest
from tests.conftest import post

RD_FIX = ("give the folder or zip of the Reddit data export (reddit.com/settings/data-request) with its CSV files "
          "as sent")


def _comments(folder: Path, *rows: list[str]) -> Path:
    """A Reddit export folder whose comments.csv holds these rows, written as Reddit's CSV writer does."""
    folder.mkdir()
    with (folder / "comments.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "permalink", "date", "subreddit", "link", "parent", "body"])
        writer.writerows(rows)
    return folder


def test_reddit_comment_with_line_separator_characters_is_one_comment(tmp_path: Path) -> None:
    body = "first line\u2028second\x0cpage \x85 and \x1c"  # left unquoted by a CSV writer: not line ends for it
    folder = _comments(tmp_path / "rd", ["c1", "/r/beer/x", "2023-03-01 12:34:56 UTC", "beer", "", "", body],
                       ["c2", "/r/beer/y", "2023-03-01 12:34:57 UTC", "beer", "", "", "next"])
    posts = list(read_posts("reddit", str(folder), "ann"))
    assert [(p["post_id"], p["text"]) for p in posts] == [("rd-t1_c1", body), ("rd-t1_c2", "next")]


def test_reddit_csv_not_utf8_is_an_error_naming_the_cell_not_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "rd"
    folder.mkdir()
    (folder / "comments.csv").write_bytes(b"id,date,subreddit,body\nc1,2023-03-01 12:34:56 UTC,beer,caf\xe9\n")
    with pytest.raises(ImportFormatError) as info:
        list(read_posts("reddit", str(folder), "ann"))
    assert str(info.value) == (f"{folder / 'comments.csv'}, line 2, column 'body': not UTF-8 (byte 0xe9), and "
                               "Reddit's export is UTF-8: the file looks saved again in another encoding; " + RD_FIX)


def test_reddit_row_without_id_is_an_error_not_post_rd_t1_(tmp_path: Path) -> None:
    folder = _comments(tmp_path / "rd", ["", "/r/beer/x", "2023-03-01 12:34:56 UTC", "beer", "", "", "no id"],
                       ["c2", "/r/beer/y", "2023-03-01 12:34:57 UTC", "beer", "", "", "reply"])
    with pytest.raises(ImportFormatError) as info:
        list(read_posts("reddit", str(folder), "ann"))
    assert str(info.value) == (f"{folder / 'comments.csv'}, line 2, column 'id': empty: every comment and post has "
                               "an id in the export; " + RD_FIX)


def test_reddit_csv_saved_as_utf16_is_named_as_an_encoding_not_missing_columns(tmp_path: Path) -> None:
    folder = tmp_path / "rd"
    folder.mkdir()
    (folder / "comments.csv").write_bytes("id,date,subreddit,body\nc1,2023-03-01 12:34:56 UTC,beer,hi\n"
                                          .encode("utf-16"))
    with pytest.raises(ImportFormatError) as info:
        list(read_posts("reddit", str(folder), "ann"))
    assert str(info.value) == (f"{folder / 'comments.csv'}, line 1 (header): not UTF-8 (byte 0xff), and Reddit's "
                               "export is UTF-8: the file looks saved again in another encoding; " + RD_FIX)


def test_a_reject_file_never_overwrites_the_other_input_file(engine, write) -> None:  # type: ignore[no-untyped-def]
    users = write("users.jsonl", [{"user_id": "ann", "consent": "opted_in"}])
    posts = write("posts.jsonl", [post("p1", "ann", "a", 1), {"post_id": "p2", "user_id": "ann"}])
    before = Path(users).read_text()
    with pytest.raises(PerkmatchError, match=f"^--rejects {users}: that is the input file; give another path"):
        ingest(engine, posts, users, skip_invalid=True, reject_path=users)
    assert Path(users).read_text() == before  # was replaced by the posts' reject file


def test_a_feed_path_that_is_a_folder_is_called_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match=f"^{tmp_path}: a folder, not a feed file; check the path"):
        list(read_posts("feed", str(tmp_path), "ann"))
