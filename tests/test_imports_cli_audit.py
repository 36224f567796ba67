"""Audit of `perkmatch import` (``matcher.cli.imports``): what it says, on which stream, and what --out writes."""

import json
import shutil
from pathlib import Path

import pytest

from tests.test_importers import EXPORTS, import_cli

TINY = EXPORTS / "tiny.stackexchange.com"


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    return import_cli(tmp_path)


def dump(tmp_path: Path, name: str, posts: str | None = None) -> Path:
    """A copy of the tiny Stack Exchange dump in a folder of this name, its Posts.xml replaced if given."""
    folder = tmp_path / name
    shutil.copytree(TINY, folder)
    if posts is not None:
        (folder / "Posts.xml").write_text(posts, encoding="utf-8")
    return folder


def rows(*keep: str) -> str:
    """The tiny dump's Posts.xml with only the rows of these ids, in this order."""
    lines = (TINY / "Posts.xml").read_text(encoding="utf-8").splitlines()
    by_id = {line.split('Id="')[1].split('"')[0]: line for line in lines if line.strip().startswith("<row ")}
    return "\n".join([lines[0], "<posts>", *(by_id[i] for i in keep), "</posts>", ""])


def test_the_copies_warning_is_given_in_text_output_too_on_stderr(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert cli("stackexchange", str(TINY), "--consent-policy", "opt-out").exit_code == 0
    again = cli("stackexchange", str(TINY), "--site", "tiny-2016", "--consent-policy", "opt-out")
    assert again.exit_code == 0 and "4 posts read" in again.stdout and "Warning" not in again.stdout
    assert "Warning: " + str(TINY) + ": 4 of its 4 posts are stored under other users' ids too" in \
        " ".join(again.stderr.split())


def test_an_export_half_of_whose_posts_are_copies_is_warned_of(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert cli("stackexchange", str(TINY), "--consent-policy", "opt-out").exit_code == 0
    changed = rows("1", "2", "3", "4").replace("Room temperature or cold?", "Cellar or fridge?").replace(
        "Serve it at 8", "Serve it at 10")  # 2 of the 4 posts are new text
    half = cli("stackexchange", str(dump(tmp_path, "half", changed)), "--site", "tiny-half",
               "--consent-policy", "opt-out", "--json")
    assert half.exit_code == 0 and (json.loads(half.stdout)["posts"], json.loads(half.stdout)["copies"]) == (4, 2)
    assert "2 of its 4 posts are stored under other users' ids too" in " ".join(half.stderr.split())


def test_an_export_with_no_posts_is_not_warned_of_as_copies(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    feed = tmp_path / "empty.rss"
    feed.write_text('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Empty</title>'
                    "<link>https://example.com/</link><description>none yet</description></channel></rss>\n",
                    encoding="utf-8")
    result = cli("feed", str(feed), "--user-id", "ann")
    assert result.exit_code == 0 and result.stdout.startswith(f"{feed}: 0 posts read;")
    assert "stored under other users' ids" not in result.stderr


def test_what_was_left_out_is_listed_by_reason_in_order_whatever_order_the_export_had(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wiki = rows("5").splitlines()[2].replace('Id="5"', 'Id="7"')  # a second tag wiki
    posts = rows("1", "2", "6", "3", "4", "5").replace("</posts>", wiki + "\n</posts>")  # deleted account first
    folder = dump(tmp_path, "tiny.stackexchange.com", posts)
    said = (f"{folder}: left out 3 item(s): 2 not a question or an answer (a tag wiki, ...); 1 of a deleted account "
            "(no owner: no one can consent for it)")
    stored = cli("stackexchange", str(folder))
    assert stored.exit_code == 0 and said in stored.stdout.splitlines()
    written = cli("stackexchange", str(folder), "--out", str(tmp_path / "se.jsonl"))
    assert written.exit_code == 0 and said in written.stdout.splitlines()
    as_json = cli("stackexchange", str(folder), "--out", str(tmp_path / "se.jsonl"), "--json")
    assert list(json.loads(as_json.stdout)["left_out"].items()) == [
        ("not a question or an answer (a tag wiki, ...)", 2), ("of a deleted account (no owner: no one can consent for "
                                                               "it)", 1)]


def test_out_says_where_the_users_of_a_dump_went_and_says_nothing_of_users_for_one_person(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "se.jsonl"
    result = cli("stackexchange", str(TINY), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[2] == (f"3 users written to {tmp_path / 'se.users.jsonl'} (without consent: "
                                             "add consent: opted_in for those who gave it before `perkmatch ingest "
                                             "--users`)")
    reddit = cli("reddit", str(EXPORTS / "reddit"), "--user-id", "ann", "--out", str(tmp_path / "r.jsonl"))
    assert reddit.exit_code == 0
    assert reddit.stdout == f"{EXPORTS / 'reddit'}: 5 posts written to {tmp_path / 'r.jsonl'}\n"
    assert not (tmp_path / "r.users.jsonl").exists()


def test_out_must_be_json_lines_and_may_be_gzipped(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = cli("reddit", str(EXPORTS / "reddit"), "--user-id", "ann", "--out", str(tmp_path / "r.txt"))
    assert text.exit_code == 1 and "name the file .jsonl or .jsonl.gz" in " ".join(text.stderr.split())
    assert not (tmp_path / "r.txt").exists()
    gz = cli("reddit", str(EXPORTS / "reddit"), "--user-id", "ann", "--out", str(tmp_path / "r.jsonl.gz"))
    assert gz.exit_code == 0 and (tmp_path / "r.jsonl.gz").exists()


def test_out_files_a_dump_under_the_site_given(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "se.jsonl"
    result = cli("stackexchange", str(dump(tmp_path, "beer (1)")), "--site", "tiny", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["post_id"] for line in out.read_text().splitlines()] == [
        "se-tiny-1", "se-tiny-2", "se-tiny-3", "se-tiny-4"]
    users = [json.loads(line)["user_id"] for line in (tmp_path / "se.users.jsonl").read_text().splitlines()]
    assert len(users) == 3 and all(u.startswith("se-tiny-") for u in users)


def test_json_counts_an_author_with_no_record_stored_again_as_returned(cli, engine) -> None:  # type: ignore[no-untyped-def]
    from matcher.forget import forget

    archive = str(EXPORTS / "twitter")
    assert cli("twitter-archive", archive, "--user-id", "tw", "--consent-policy", "opt-out").exit_code == 0
    forget(engine, "tw")  # an author of posts only (opt-out: no users row)
    back = cli("twitter-archive", archive, "--user-id", "tw", "--consent-policy", "opt-out", "--json")
    assert back.exit_code == 0 and json.loads(back.stdout)["users_returned"] == 1  # as the text's note says
