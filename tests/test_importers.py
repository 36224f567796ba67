"""Importers of platform exports and `perkmatch import`: counts, engagement, shares, contexts, clean errors."""

import json
import shutil
import tarfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlmodel import select
from typer.testing import CliRunner

from matcher.cli.imports import register
from matcher.errors import ImportFormatError, PerkmatchError
from matcher.forget import forget
from matcher.importers import import_posts, read_posts, read_users, users_file_for, write_jsonl
from matcher.importers.common import html_to_text
from matcher.ingest import ingest_users
from matcher.store import Post, User, session
from tests.conftest import SHARED

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
SE_BEER = SHARED / "data" / "se-beer"
FIELDS = ["post_id", "user_id", "text", "created_at", "platform", "likes", "replies", "shares", "context", "is_share",
          "source"]
TW_FIX = "give the untouched data/tweets.js, or the archive zip as downloaded from 'Download an archive of your data'"
MD_FIX = "give the outbox.json, or the archive (.zip or .tar.gz) from Preferences > Import and export > Data export"
RD_FIX = ("give the folder or zip of the Reddit data export (reddit.com/settings/data-request) with its CSV files "
          "as sent")
SE_FIX = "give the site's folder from the Stack Exchange data dump with Posts.xml and Users.xml unpacked whole"
FEED_FIX = "give the feed file (RSS 2.0 or Atom) as the blog serves it, saved whole"


def posts_of(kind: str, path: Path | str, user_id: str | None = "ann") -> dict[str, dict[str, Any]]:
    posts = list(read_posts(kind, str(path), user_id))
    assert all(list(p) == FIELDS for p in posts)
    by_id = {p["post_id"]: p for p in posts}
    assert len(by_id) == len(posts)
    return by_id


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for file in sorted(folder.rglob("*")):
            zf.write(file, prefix + file.relative_to(folder).as_posix())
    return target


def truncated(source: Path, target: Path, keep: int) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes()[:keep])
    return target


def raises_format_error(kind: str, path: Path, user_id: str | None = "ann") -> str:
    with pytest.raises(ImportFormatError) as info:
        list(read_posts(kind, str(path), user_id))
    return str(info.value)


# --- twitter-archive


def test_twitter_archive_maps_engagement_retweets_and_own_thread_context() -> None:
    posts = posts_of("twitter-archive", EXPORTS / "twitter")
    assert list(posts) == ["tw-1050118621198921728", "tw-1050305521367281665", "tw-1051000000000000001",
                           "tw-1052000000000000002", "tw-1060000000000000003"]  # tweets.js, then tweets-part1.js
    first = posts["tw-1050118621198921728"]
    assert first["text"] == "Brewed my first hazy IPA today with Citra & Mosaic hops: https://example.com/brew-day"
    assert (first["likes"], first["shares"], first["replies"], first["platform"]) == (12, 3, 0, "twitter")
    assert first["created_at"] == "2018-10-10T20:19:24Z" and first["source"] == "twitter-archive"
    assert posts["tw-1050305521367281665"]["context"] == first["text"]  # parent in the archive
    assert posts["tw-1051000000000000001"]["context"] is None  # parent is someone else's
    retweet = posts["tw-1052000000000000002"]
    assert retweet["is_share"] and (retweet["likes"], retweet["shares"]) == (0, 0)
    assert sum(p["is_share"] for p in posts.values()) == 1


def test_twitter_archive_zip_and_single_js_file(tmp_path: Path) -> None:
    archive = zip_folder(EXPORTS / "twitter", tmp_path / "twitter-2024-01-01-abc.zip")
    assert posts_of("twitter-archive", archive) == posts_of("twitter-archive", EXPORTS / "twitter")
    whole = posts_of("twitter-archive", EXPORTS / "twitter")
    assert posts_of("twitter-archive", EXPORTS / "twitter" / "data" / "tweets.js") == whole  # its parts came along
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(EXPORTS / "twitter" / "data" / "tweets.js", alone / "my-backup.js")  # another name: read alone
    assert len(posts_of("twitter-archive", alone / "my-backup.js")) == len(whole) - 1 == 4


def test_twitter_truncated_js_names_line_and_column(tmp_path: Path) -> None:
    bad = truncated(EXPORTS / "twitter" / "data" / "tweets.js", tmp_path / "tweets.js", 500)
    assert raises_format_error("twitter-archive", bad) == (
        f"{bad}, line 17, column 9: not valid JSON (Unterminated string starting at); the file looks truncated or "
        f"edited; {TW_FIX}")


def test_twitter_bad_prefix_field_and_truncated_zip(tmp_path: Path) -> None:
    no_prefix = tmp_path / "tweets.js"
    no_prefix.write_text('[{"tweet": {}}]')
    assert raises_format_error("twitter-archive", no_prefix) == (
        f"{no_prefix}, line 1: does not start with 'window.YTD.tweets.part0 = ['; {TW_FIX}")
    no_date = tmp_path / "dated.js"
    no_date.write_text('window.YTD.tweets.part0 = [{"tweet": {"id_str": "1", "full_text": "hi", "created_at": "x"}}]')
    assert raises_format_error("twitter-archive", no_date) == (
        f"{no_date}, JSON path $[0].tweet.created_at: 'x' is not a time like 'Wed Oct 10 20:19:24 +0000 2018'; "
        f"{TW_FIX}")
    archive = zip_folder(EXPORTS / "twitter", tmp_path / "archive.zip")
    cut = truncated(archive, tmp_path / "cut.zip", archive.stat().st_size // 2)
    assert raises_format_error("twitter-archive", cut) == (
        f"{cut}: not a readable .zip or .tar.gz archive (its end is missing or damaged); the download looks "
        "truncated: download the export again")


def _tweet(id_: str, text: str, when: str, likes: int = 0, reply_to: str | None = None,
           edits: list[str] | None = None, urls: list[dict] | None = None) -> dict[str, Any]:
    tweet: dict[str, Any] = {"id_str": id_, "full_text": text, "created_at": when, "favorite_count": str(likes),
                             "retweet_count": "0", "entities": {"urls": urls or []}}
    if reply_to:
        tweet["in_reply_to_status_id_str"] = reply_to
    if edits:
        first = {"editTweetIds": edits, "editableUntil": "2023-02-10T16:04:05.000Z", "editsRemaining": "4",
                 "isEditEligible": True}
        tweet["edit_info"] = ({"initial": first} if id_ == edits[0] else
                              {"edit": {"initialTweetId": edits[0], "editControlInitial": first}})
    return {"tweet": tweet}


def _js(path: Path, name: str, items: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"window.YTD.{name}.part0 = " + json.dumps(items, indent=1), encoding="utf-8")


LONG = ("Three weeks into marathon training and the long runs finally feel easy. Here is what changed: slower easy "
        "days, a proper fuelling plan with gels every 40 minutes, and new shoes with a rocker sole that saved my "
        "calves. Next up is a 30 km run on Sunday along the river, then a taper. Notes in the blog post: "
        "https://t.co/BlogLink1")


def _archive(folder: Path) -> Path:
    """An archive with a long tweet (cut in tweets.js, whole in note-tweet.js), a reply to it that is long too, a
    Circle tweet and a public reply to it, a tweet edited once, and a tweet posted to a Community."""
    data = folder / "data"
    _js(data / "tweets.js", "tweets", [
        _tweet("1624000000000000001", LONG[:270] + "\u2026 https://t.co/NoteLink01", "Fri Feb 10 15:04:05 +0000 2023",
               40),
        _tweet("1624000000000000002", "@friend @club " + LONG[:250] + "\u2026", "Fri Feb 10 15:20:00 +0000 2023",
               reply_to="1624000000000000001"),
        _tweet("1624000000000000003", "Only for my close friends: my knee is acting up again.",
               "Sat Feb 11 09:00:00 +0000 2023", 3),
        _tweet("1624000000000000004", "Hope it gets better soon", "Sat Feb 11 10:00:00 +0000 2023",
               reply_to="1624000000000000003"),
        _tweet("1624000000000000005", "Race day tomorow!", "Sun Feb 12 18:00:00 +0000 2023", 5,
               edits=["1624000000000000005", "1624000000000000006"]),
        _tweet("1624000000000000006", "Race day tomorrow!", "Sun Feb 12 18:02:00 +0000 2023", 7,
               edits=["1624000000000000005", "1624000000000000006"]),
    ])
    _js(data / "note-tweet.js", "note_tweet", [
        {"noteTweet": {"noteTweetId": "1623999999999999991", "createdAt": "2023-02-10T15:04:05.000Z",
                       "core": {"text": "Another long post from the same second, about something else entirely."}}},
        {"noteTweet": {"noteTweetId": "1623999999999999990", "createdAt": "2023-02-10T15:04:05.000Z",
                       "core": {"text": LONG, "urls": [{"shortUrl": "https://t.co/BlogLink1",
                                                        "expandedUrl": "https://example.com/marathon"}]}}},
        {"noteTweet": {"noteTweetId": "1623999999999999992", "createdAt": "2023-02-10T15:20:00.000Z",
                       "core": {"text": LONG + " (and a reply)"}}},
    ])
    _js(data / "community-tweet.js", "community_tweet",
        [_tweet("1624000000000000007", "Our running club's route for Sunday: 30 km along the river.",
                "Mon Feb 13 08:00:00 +0000 2023", 9)])
    _js(data / "twitter-circle-tweet.js", "twitter_circle_tweet",
        [_tweet("1624000000000000003", "Only for my close friends: my knee is acting up again.",
                "Sat Feb 11 09:00:00 +0000 2023")])
    return folder


def test_twitter_long_tweets_circles_edits_and_communities(tmp_path: Path) -> None:
    folder = _archive(tmp_path / "export")
    posts = posts_of("twitter-archive", folder)
    whole = LONG.replace("https://t.co/BlogLink1", "https://example.com/marathon")
    # the long tweet's whole text from its note (the other note of that second is not its), links expanded
    assert posts["tw-1624000000000000001"]["text"] == whole
    reply = posts["tw-1624000000000000002"]  # a long reply keeps the @mentions its note leaves out
    assert reply["text"] == "@friend @club " + LONG + " (and a reply)" and reply["context"] == whole
    # the Circle tweet is not public: not a post, and not the context of the public reply to it
    assert "tw-1624000000000000003" not in posts and posts["tw-1624000000000000004"]["context"] is None
    # the edited tweet is one post, its latest text, with both versions' likes
    assert "tw-1624000000000000005" not in posts
    assert (posts["tw-1624000000000000006"]["text"], posts["tw-1624000000000000006"]["likes"]) == (
        "Race day tomorrow!", 12)
    # a tweet posted to a Community is public: read too
    assert posts["tw-1624000000000000007"]["likes"] == 9 and "running club" in posts["tw-1624000000000000007"]["text"]
    assert len(posts) == 5
    left_out: Counter[str] = Counter()
    assert len(list(read_posts("twitter-archive", str(folder), "ann", left_out=left_out))) == 5
    assert left_out == {"for a Twitter Circle only (not public)": 1,
                        "an earlier version of an edited tweet (its likes and retweets go to the latest)": 1}
    # the same from the zip, and from data/tweets.js given alone (the files beside it are read)
    assert posts_of("twitter-archive", zip_folder(folder, tmp_path / "x.zip")) == posts
    assert posts_of("twitter-archive", folder / "data" / "tweets.js") == posts


def test_twitter_note_and_edit_errors_name_file_and_field(tmp_path: Path) -> None:
    folder = _archive(tmp_path / "export")
    notes = folder / "data" / "note-tweet.js"
    _js(notes, "note_tweet", [{"noteTweet": {"noteTweetId": "1", "createdAt": "yesterday", "core": {"text": "x"}}}])
    assert raises_format_error("twitter-archive", folder) == (
        f"{notes}, JSON path $[0].noteTweet.createdAt: 'yesterday' is not a time like '2023-02-10T15:04:05.000Z'; "
        f"{TW_FIX}")
    _js(notes, "note_tweet", [{"noteTweet": {"noteTweetId": "1", "createdAt": "2023-02-10T15:04:05.000Z"}}])
    assert raises_format_error("twitter-archive", folder) == (
        f"{notes}, JSON path $[0].noteTweet.core.text: missing, or not a string; {TW_FIX}")
    notes.unlink()
    tweets = folder / "data" / "tweets.js"
    _js(tweets, "tweets", [{"tweet": {**_tweet("7", "hi", "Fri Feb 10 15:04:05 +0000 2023")["tweet"],
                                      "edit_info": {"initial": {"editTweetIds": "7"}}}}])
    assert raises_format_error("twitter-archive", folder) == (
        f"{tweets}, JSON path $[0].tweet.edit_info: editTweetIds is not a list of tweet ids; {TW_FIX}")


# --- mastodon


def test_mastodon_outbox_html_boosts_and_context() -> None:
    posts = posts_of("mastodon", EXPORTS / "mastodon" / "outbox.json")
    assert len(posts) == 4  # 3 notes and 1 boost; the Like is not the person's writing
    first = posts["md-mastodon.social-110270000000000001"]
    assert first["text"] == ("Sourdough bake number 12: finally an open crumb! #baking\n"
                             "Recipe & notes: https://example.com/sourdough")
    assert (first["created_at"], first["platform"], first["likes"], first["replies"], first["shares"]) == (
        "2023-05-01T09:30:00Z", "mastodon", 0, 0, 0)
    reply = posts["md-mastodon.social-110270000000000002"]
    assert reply["text"] == "Hydration was 78%,\nbulk ferment 5 hours at 24°C." and reply["context"] == first["text"]
    assert posts["md-mastodon.social-110280000000000003"]["text"] == (
        "food opinions\n\n@bob Rye starters are more forgiving than wheat ones.")
    assert posts["md-mastodon.social-110280000000000003"]["context"] is None
    boost = posts["md-mastodon.social-110290000000000004"]
    assert boost["is_share"] and boost["text"] == "https://fosstodon.org/users/bob/statuses/110289999999999999"


def test_mastodon_tar_gz_and_zip_exports(tmp_path: Path) -> None:
    expected = posts_of("mastodon", EXPORTS / "mastodon" / "outbox.json")
    tgz = tmp_path / "archive-20230601-abc.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(EXPORTS / "mastodon" / "outbox.json", "outbox.json")
    assert posts_of("mastodon", tgz) == expected
    assert posts_of("mastodon", zip_folder(EXPORTS / "mastodon", tmp_path / "export.zip")) == expected


def test_mastodon_truncated_or_wrong_json_is_rejected(tmp_path: Path) -> None:
    bad = truncated(EXPORTS / "mastodon" / "outbox.json", tmp_path / "outbox.json", 800)
    assert raises_format_error("mastodon", bad) == (
        f"{bad}, line 21, column 25: not valid JSON (Unterminated string starting at); the file looks truncated or "
        f"edited; {MD_FIX}")
    bad.write_text('{"type": "OrderedCollection"}')
    assert raises_format_error("mastodon", bad) == (
        f"{bad}, JSON path $.orderedItems: missing: this is not an ActivityPub outbox; {MD_FIX}")
    reddit = EXPORTS / "reddit"
    assert raises_format_error("mastodon", reddit) == f"{reddit}: no outbox.json found; {MD_FIX}"


# --- reddit


def test_reddit_posts_and_comments_with_contexts() -> None:
    posts = posts_of("reddit", EXPORTS / "reddit")
    assert list(posts) == ["rd-t3_15abcde", "rd-t3_15bbbbb", "rd-t1_k1a2b3c", "rd-t1_k1a9x8y", "rd-t1_k2zz001"]
    assert posts["rd-t3_15abcde"]["text"] == ("First NEIPA, tips?\n\nPlanning my first New England IPA this weekend. "
                                             "Any tips on the water profile?")
    assert posts["rd-t3_15abcde"]["context"] is None
    assert posts["rd-t3_15bbbbb"]["text"] == "Crumb shot of today's loaf"  # a link post: title only
    assert posts["rd-t1_k1a2b3c"]["context"] == "First NEIPA, tips?"  # own thread: its title
    assert posts["rd-t1_k1a9x8y"]["context"] == "Thanks all, I'll mash lower and dry hop on day 3."  # own parent
    assert posts["rd-t1_k1a9x8y"]["text"] == "Update: it worked.\nHazy, juicy, no astringency."
    assert posts["rd-t1_k2zz001"]["context"] == "r/running"  # someone else's thread: only its subreddit is known
    assert posts["rd-t1_k1a2b3c"]["created_at"] == "2023-08-01T18:22:05Z"
    # no score in the export: 1, Reddit's for a post nobody voted on, read as no votes (before: 0, a down-vote)
    assert all((p["likes"], p["replies"], p["shares"], p["is_share"]) == (1, 0, 0, False) for p in posts.values())


def test_reddit_zip_and_single_csv(tmp_path: Path) -> None:
    archive = zip_folder(EXPORTS / "reddit", tmp_path / "export_ann_20230901.zip")
    assert posts_of("reddit", archive) == posts_of("reddit", EXPORTS / "reddit")
    only = posts_of("reddit", EXPORTS / "reddit" / "comments.csv")
    assert len(only) == 3 and only["rd-t1_k1a2b3c"]["context"] == "r/Homebrewing"  # no posts.csv: no titles


def test_reddit_truncated_csv_missing_column_and_bad_date(tmp_path: Path) -> None:
    bad = truncated(EXPORTS / "reddit" / "comments.csv", tmp_path / "comments.csv", 300)
    assert raises_format_error("reddit", bad) == (
        f"{bad}, line 2: not valid CSV (unexpected end of data); the file looks truncated or edited; {RD_FIX}")
    bad.write_text("id,permalink,date,body\nabc,x,2023-01-01 00:00:00 UTC,hi\n")
    assert raises_format_error("reddit", bad) == f"{bad}, line 1 (header): missing column(s) subreddit; {RD_FIX}"
    bad.write_text("id,date,subreddit,body\nabc,yesterday,beer,hi\n")
    assert raises_format_error("reddit", bad) == (
        f"{bad}, line 2, column 'date': 'yesterday' is not a time like '2023-03-01 12:34:56 UTC'; {RD_FIX}")


# --- stackexchange


def test_stackexchange_fixture_titles_scores_and_users() -> None:
    posts = posts_of("stackexchange", EXPORTS / "tiny.stackexchange.com", None)
    assert list(posts) == ["se-tiny-1", "se-tiny-2", "se-tiny-3", "se-tiny-4"]  # no tag wiki, no deleted account
    question = posts["se-tiny-1"]
    assert question["text"] == "What is a citra hop?\n\nWhat are citra hops?\nWhy should I care?"
    assert (question["user_id"], question["likes"], question["replies"], question["context"]) == (
        "se-tiny-7", 5, 3, None)  # 2 comments and 1 answer: before, its answers were not counted as replies
    assert posts["se-tiny-2"]["likes"] == -2 and posts["se-tiny-2"]["context"] == "What is a citra hop?"
    assert posts["se-tiny-2"]["text"] == "Citra is a hop variety with citrus notes."
    assert posts["se-tiny-3"]["context"] == "What temperature should I serve a stout at?"  # question comes later
    assert posts["se-tiny-3"]["text"] == "Serve it at 8–12 °C."
    users = list(read_users("stackexchange", str(EXPORTS / "tiny.stackexchange.com")))
    assert [(u["user_id"], u["handle"]) for u in users] == [
        ("se-tiny--1", "Community"), ("se-tiny-7", "Hop Head"), ("se-tiny-12", "Stout Fan")]


def test_stackexchange_real_beer_sample() -> None:
    posts = list(read_posts("stackexchange", str(SE_BEER)))
    assert len(posts) == 1884  # 561 questions + 1330 answers, less 7 from deleted accounts
    answers = [p for p in posts if p["context"] is not None]
    assert len(answers) == 1325 and len(posts) - len(answers) == 559
    assert len({p["user_id"] for p in posts}) == 685
    assert any(p["likes"] < 0 for p in posts) and all(p["replies"] >= 0 for p in posts)
    first_answer = next(p for p in posts if p["post_id"] == "se-beer-4")
    assert first_answer["context"] == "What is a citra hop, and how does it differ from other hops?"
    assert (first_answer["user_id"], first_answer["likes"], first_answer["platform"]) == (
        "se-beer-12", 12, "stackexchange")
    assert sum(1 for _ in read_users("stackexchange", str(SE_BEER))) == 3658


def test_stackexchange_truncated_xml_and_user_id_refused(tmp_path: Path) -> None:
    bad = truncated(EXPORTS / "tiny.stackexchange.com" / "Posts.xml", tmp_path / "dump" / "Posts.xml", 700)
    assert raises_format_error("stackexchange", bad.parent, None) == (
        f"{bad}, line 4, column 2: not well-formed XML (unclosed token); the file looks truncated or edited; {SE_FIX}")
    with pytest.raises(PerkmatchError, match=r"leave out the user id \(--user-id\)"):
        read_posts("stackexchange", str(SE_BEER), "ann")


def copy_dump(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in ("Posts.xml", "Users.xml"):
        (target / name).write_bytes((EXPORTS / "tiny.stackexchange.com" / name).read_bytes())
    return target


def test_stackexchange_site_is_the_resolved_folder_name_or_given(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dump = copy_dump(tmp_path / "beer.stackexchange.com")
    monkeypatch.chdir(dump)
    for spelled in (".", "Posts.xml", f"../{dump.name}/", str(dump)):  # before: "." gave se-site-1
        assert list(posts_of("stackexchange", spelled, None))[0] == "se-beer-1", spelled
        assert [u["user_id"] for u in read_users("stackexchange", spelled)][1] == "se-beer-7", spelled
    copy = copy_dump(tmp_path / "beer (1)")  # before: se-beer (1)-7, everyone again under new ids
    assert raises_format_error("stackexchange", copy, None) == (
        f"{copy}: cannot tell the site from the name 'beer (1)' (a site's name is lowercase letters, digits and "
        "hyphens); give it with --site NAME (such as --site beer for beer.stackexchange.com), the same every time "
        "this site is imported: user and post ids are se-<site>-<Id>, so another name stores everyone again under "
        "new ids")
    with pytest.raises(ImportFormatError, match=r"cannot tell the site from the name 'beer \(1\)'"):
        list(read_users("stackexchange", str(copy)))
    assert [p["user_id"] for p in read_posts("stackexchange", str(copy), site="beer")] == [
        p["user_id"] for p in read_posts("stackexchange", ".")]
    assert [u["user_id"] for u in read_users("stackexchange", str(copy), site="beer")][1] == "se-beer-7"
    with pytest.raises(ImportFormatError, match=r"^--site 'Beer 1': not a site name \(lowercase letters, digits "
                       r"and hyphens\); give the site's short name \(such as --site beer"):
        list(read_posts("stackexchange", str(dump), site="Beer 1"))
    with pytest.raises(PerkmatchError, match=r"^--site is for stackexchange dumps only \(it names the site in their "
                       r"ids, se-<site>-<Id>\); leave it out for reddit$"):
        read_posts("reddit", str(EXPORTS / "reddit"), "ann", site="beer")


def test_stackexchange_meta_sites_get_ids_of_their_own(tmp_path) -> None:
    for folder, site in (("beer.meta.stackexchange.com", "beer-meta"), ("meta.askubuntu.com", "askubuntu-meta"),
                         ("meta.stackexchange.com", "meta"), ("askubuntu.com", "askubuntu"), ("se-beer", "beer")):
        dump = copy_dump(tmp_path / folder)  # before: beer.meta.* gave se-beer-<Id>, its main site's ids
        assert list(posts_of("stackexchange", dump, None))[0] == f"se-{site}-1", folder
    archive = zip_folder(tmp_path / "beer.meta.stackexchange.com", tmp_path / "beer.meta.stackexchange.com.zip")
    assert [u["user_id"] for u in read_users("stackexchange", str(archive))][1] == "se-beer-meta-7"


def test_a_renamed_copy_imported_with_its_site_stores_nothing_twice(cli, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = cli("stackexchange", str(copy_dump(tmp_path / "beer.stackexchange.com")), "--consent-policy", "opt-out")
    assert first.exit_code == 0, first.output
    copy = copy_dump(tmp_path / "dumps" / "beer (1)")
    refused = cli("stackexchange", str(copy), "--consent-policy", "opt-out")
    assert refused.exit_code == 1 and f"\nError: {copy}: cannot tell the site from the name" in refused.stderr
    again = cli("stackexchange", str(copy), "--site", "beer", "--consent-policy", "opt-out", "--json")
    assert again.exit_code == 0, again.output
    counts = json.loads(again.stdout)
    assert (counts["added"], counts["unchanged"], counts["users_added"]) == (0, 4, 0)
    with session(engine) as s:
        assert len(s.exec(select(Post)).all()) == 4 and len(s.exec(select(User)).all()) == 3
    other = cli("feed", str(EXPORTS / "feed" / "blog.rss"), "--user-id", "ann", "--site", "beer")
    assert (other.exit_code, other.stderr) == (1, "Error: --site is for stackexchange dumps only (it names the site "
                                                  "in their ids, se-<site>-<Id>); leave it out for feed\n")


# --- feed


def test_rss_feed_entries() -> None:
    posts = list(read_posts("feed", str(EXPORTS / "feed" / "blog.rss"), "ann"))
    assert [p["text"] for p in posts] == [
        "Water chemistry for hazy IPAs\n\nAim for a chloride to sulfate ratio of about 2:1.\nCalcium chloride\n"
        "Gypsum, a little",
        "Ten weeks of trail running\n\nWhat I learned running trails & hills twice a week."]
    assert [p["created_at"] for p in posts] == ["2023-06-10T08:00:00Z", "2023-05-24T15:30:00Z"]
    assert [p["replies"] for p in posts] == [4, 0]
    assert all(p["platform"] == "blog" and p["post_id"].startswith("blog-") and len(p["post_id"]) == 21
               for p in posts)
    assert [p["post_id"] for p in posts] == [p["post_id"] for p in read_posts("feed", str(EXPORTS / "feed" /
                                                                                            "blog.rss"), "ann")]


def test_atom_feed_entries_use_content_then_updated() -> None:
    posts = list(read_posts("feed", str(EXPORTS / "feed" / "blog.atom"), "ann"))
    assert [(p["text"], p["created_at"]) for p in posts] == [
        ("Rye & spelt sourdough\n\nA 30% rye loaf with spelt.\nLong, cold proof.", "2023-06-01T12:00:00Z"),
        ("Notes from the brew club\n\nWe tasted six saisons.", "2023-05-20T18:00:00Z")]


def test_truncated_feed_and_not_a_feed(tmp_path: Path) -> None:
    bad = truncated(EXPORTS / "feed" / "blog.rss", tmp_path / "blog.rss", 900)
    assert raises_format_error("feed", bad) == (
        f"{bad}, line 16, column 53: not well-formed XML (unclosed CDATA section); the file looks truncated or "
        f"edited; {FEED_FIX}")
    bad.write_text("<html><body>hello</body></html>")
    assert raises_format_error("feed", bad) == f"{bad}, line 1: not an RSS or Atom feed; {FEED_FIX}"


# --- shared parts


def test_html_to_text_keeps_blocks_and_drops_scripts() -> None:
    assert html_to_text("<p>a &amp; <b>b</b></p><script>x()</script><ul><li>c</li><li>d</li></ul>") == "a & b\nc\nd"
    assert html_to_text(None) == ""


def test_one_person_kinds_need_a_user_id_and_kinds_are_checked() -> None:
    with pytest.raises(PerkmatchError, match="twitter-archive is one person's export"):
        read_posts("twitter-archive", str(EXPORTS / "twitter"))
    with pytest.raises(PerkmatchError, match="unknown export kind 'facebook'; use one of: twitter-archive, mastodon"):
        read_posts("facebook", "x", "ann")


def test_write_jsonl_is_atomic_and_users_file_sits_beside(tmp_path: Path) -> None:
    target = tmp_path / "posts.jsonl"
    target.write_text("old\n")

    def failing() -> Any:
        yield {"a": 1}
        raise ImportFormatError("boom")

    with pytest.raises(ImportFormatError):
        write_jsonl(failing(), str(target))
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["posts.jsonl"]
    with pytest.raises(PerkmatchError, match="folder .*nowhere does not exist; create it or choose another path"):
        write_jsonl([], str(tmp_path / "nowhere" / "posts.jsonl"))
    assert users_file_for("out/se.jsonl") == "out/se.users.jsonl"
    assert users_file_for("se.jsonl.gz") == "se.users.jsonl.gz"


# --- into the database


def stored(engine) -> list[Post]:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        return list(s.exec(select(Post).order_by(Post.platform, Post.post_id)).all())


def test_one_person_many_networks_merge_under_one_user(engine, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", [{"user_id": "ann", "consent": "opted_in"}]))
    for kind, path in (("twitter-archive", "twitter"), ("mastodon", "mastodon"), ("reddit", "reddit"),
                       ("feed", "feed/blog.rss")):
        result = import_posts(engine, kind, str(EXPORTS / path), "ann")
        assert result.posts_report.added == result.posts and result.posts_report.path == str(EXPORTS / path)
    posts = stored(engine)
    assert {p.user_id for p in posts} == {"ann"} and len(posts) == 5 + 4 + 5 + 2
    assert {p.platform for p in posts} == {"twitter", "mastodon", "reddit", "blog"}
    again = import_posts(engine, "twitter-archive", str(EXPORTS / "twitter"), "ann")
    assert (again.posts_report.added, again.posts_report.updated, again.posts_report.unchanged) == (0, 0, 5)


def test_stackexchange_import_adds_new_users_without_touching_consent(engine, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", [{"user_id": "se-tiny-7", "consent": "opted_in", "region": "US"}]))
    result = import_posts(engine, "stackexchange", str(EXPORTS / "tiny.stackexchange.com"))
    assert (result.posts, result.users, result.users_new) == (4, 3, 2)
    assert (result.posts_report.added, result.posts_report.skipped_no_consent) == (2, 2)
    with session(engine) as s:
        hop_head, stout_fan = s.get(User, "se-tiny-7"), s.get(User, "se-tiny-12")
    assert hop_head is not None and (hop_head.consent, hop_head.region) == ("opted_in", "US")
    assert stout_fan is not None and (stout_fan.handle, stout_fan.consent) == ("Stout Fan", None)
    assert [p.post_id for p in stored(engine)] == ["se-tiny-1", "se-tiny-3"]


# --- the command


def import_cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``invoke(*args)``: `perkmatch import ARGS` on a test database in this folder."""
    app = typer.Typer()

    @app.callback()
    def _main() -> None:
        """Test app."""

    register(app)
    runner = CliRunner()
    db = str(tmp_path / "test.db")

    def invoke(*args: str) -> Any:
        return runner.invoke(app, ["import", *args, "--db", db])

    return invoke


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    return import_cli(tmp_path)


def test_cli_import_ingests_posts_of_a_consenting_user(cli, engine, write) -> None:  # type: ignore[no-untyped-def]
    ingest_users(engine, write("users.jsonl", [{"user_id": "ann", "consent": "opted_in"}]))
    path = str(EXPORTS / "twitter")
    result = cli("twitter-archive", path, "--user-id", "ann")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: 5 posts read; added 5, updated 0, rejected 0, skipped without consent 0\n"
    result = cli("twitter-archive", path, "--user-id", "ann", "--json")
    assert json.loads(result.stdout) == {"path": path, "kind": "twitter-archive", "posts": 5, "users": 0,
                                         "users_added": 0, "added": 0, "updated": 0, "unchanged": 5, "rejected": 0,
                                         "skipped_no_consent": 0, "skipped_opted_out": 0, "skipped_deleted": 0,
                                         "users_updated": 0,
                                         "users_unchanged": 0, "left_out": {}, "copies": 0, "users_forgotten": 0,
                                         "users_kept_out": 0, "users_opted_out": 0, "users_withdrew": 0,
                                         "users_returned": 0, "repeated": 0, "reject_file": None, "unknown_opt_ins": []}


def test_cli_import_stackexchange_counts_posts_without_consent(cli) -> None:  # type: ignore[no-untyped-def]
    path = str(EXPORTS / "tiny.stackexchange.com")
    result = cli("stackexchange", path)
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"{path}: 4 posts read; added 0, updated 0, rejected 0, skipped without consent 4\n"
                             f"{path}: left out 2 item(s): 1 not a question or an answer (a tag wiki, ...); 1 of a "
                             "deleted account (no owner: no one can consent for it)\n"
                             f"{path}: 3 users listed, 3 new ones added (stored users are left as they are)\n")
    assert "4 post(s) not stored: their authors have not opted in, and import never grants consent" in result.stderr


def test_cli_import_json_counts_the_users_it_added(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("stackexchange", str(EXPORTS / "tiny.stackexchange.com"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["users_added"] == 3  # before: the posts report's own 0 won the merge
    again = json.loads(cli("stackexchange", str(EXPORTS / "tiny.stackexchange.com"), "--json").stdout)
    assert (again["users"], again["users_added"], again["users_updated"], again["users_unchanged"]) == (3, 0, 0, 3)


def test_cli_import_notes_forgotten_users_it_stores_again(cli, engine) -> None:  # type: ignore[no-untyped-def]
    # importing the same dump again re-adds its users; before, one deleted by `forget` came back without a word
    dump = str(EXPORTS / "tiny.stackexchange.com")
    assert json.loads(cli("stackexchange", dump, "--json").stdout)["users_returned"] == 0
    forget(engine, "se-tiny-7")
    again = cli("stackexchange", dump, "--json")
    assert json.loads(again.stdout)["users_returned"] == 1  # the users report's, merged (before: the posts' 0)
    assert "Note: 1 user(s) added were forgotten earlier (`perkmatch forget`) and are stored again from this " \
        "export" in " ".join(again.stderr.split())
    # an export with no users list, under opt-out: its author has no record, only posts
    archive = str(EXPORTS / "twitter")
    assert cli("twitter-archive", archive, "--user-id", "tw", "--consent-policy", "opt-out").exit_code == 0
    forget(engine, "tw")
    back = cli("twitter-archive", archive, "--user-id", "tw", "--consent-policy", "opt-out")
    assert back.exit_code == 0 and "Note: 1 author(s) of posts stored were forgotten earlier" in \
        " ".join(back.stderr.split())


def test_cli_import_out_writes_neither_file_when_users_xml_is_damaged(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dump = tmp_path / "tiny.stackexchange.com"
    dump.mkdir()
    (dump / "Posts.xml").write_bytes((EXPORTS / "tiny.stackexchange.com" / "Posts.xml").read_bytes())
    users = (EXPORTS / "tiny.stackexchange.com" / "Users.xml").read_bytes()
    (dump / "Users.xml").write_bytes(users[: len(users) // 2])  # cut short
    out = tmp_path / "se.jsonl"
    result = cli("stackexchange", str(dump), "--out", str(out))
    assert result.exit_code == 1 and "Users.xml" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.stackexchange.com"]  # before: se.jsonl was written


def test_cli_import_out_writes_json_lines_and_users_file(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "se.jsonl"
    result = cli("stackexchange", str(EXPORTS / "tiny.stackexchange.com"), "--out", str(out))
    assert result.exit_code == 0, result.output
    users_file = tmp_path / "se.users.jsonl"
    assert result.stdout.splitlines()[:2] == [
        f"{EXPORTS / 'tiny.stackexchange.com'}: 4 posts written to {out}",
        f"{EXPORTS / 'tiny.stackexchange.com'}: left out 2 item(s): 1 not a question or an answer (a tag wiki, ...); "
        "1 of a deleted account (no owner: no one can consent for it)"]  # before: nothing said of them
    assert [json.loads(line)["post_id"] for line in out.read_text().splitlines()] == [
        "se-tiny-1", "se-tiny-2", "se-tiny-3", "se-tiny-4"]
    assert len(users_file.read_text().splitlines()) == 3
    reddit_out = tmp_path / "reddit.jsonl"
    result = cli("reddit", str(EXPORTS / "reddit"), "--user-id", "ann", "--out", str(reddit_out), "--json")
    assert json.loads(result.stdout) == {"path": str(EXPORTS / "reddit"), "kind": "reddit", "posts": 5,
                                         "out": str(reddit_out), "users": 0, "users_file": None, "left_out": {}}


def test_cli_import_errors_are_one_line_with_exit_1(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = cli("mastodon", str(EXPORTS / "mastodon"))
    assert result.exit_code == 1
    assert result.stderr == ("Error: mastodon is one person's export: give the user id to file the posts under "
                             "(--user-id ID; use the same id for every network of that person)\n")
    result = cli("myspace", "x")
    assert result.exit_code == 2  # a usage error, as any bad value on the command line (before: 1)
    assert "'myspace': use one of twitter-archive, mastodon, reddit, stackexchange, feed" in " ".join(
        result.stderr.replace("│", " ").split())
    cases = [("twitter-archive", EXPORTS / "twitter" / "data" / "tweets.js", 500, "line 17, column 9: not valid JSON"),
             ("mastodon", EXPORTS / "mastodon" / "outbox.json", 800, "line 21, column 25: not valid JSON"),
             ("reddit", EXPORTS / "reddit" / "comments.csv", 300, "line 2: not valid CSV"),
             ("stackexchange", EXPORTS / "tiny.stackexchange.com" / "Posts.xml", 700, "line 4, column 2: not well"),
             ("feed", EXPORTS / "feed" / "blog.rss", 900, "line 16, column 53: not well-formed XML")]
    for kind, source, keep, place in cases:
        bad = truncated(source, tmp_path / kind / source.name, keep)
        args = [kind, str(bad.parent if kind == "stackexchange" else bad)]
        result = cli(*args) if kind == "stackexchange" else cli(*args, "--user-id", "ann")
        assert result.exit_code == 1, kind
        assert result.stderr.startswith(f"Error: {bad}, {place}") and "Traceback" not in result.output, kind
        assert result.stderr.count("\n") == 1 and result.stdout == "", kind


def test_cli_out_does_not_leave_a_file_on_error(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = truncated(EXPORTS / "twitter" / "data" / "tweets.js", tmp_path / "tweets.js", 500)
    out = tmp_path / "out" / "posts.jsonl"
    out.parent.mkdir()
    result = cli("twitter-archive", str(bad), "--user-id", "ann", "--out", str(out))
    assert result.exit_code == 1 and list(out.parent.iterdir()) == []
    (out.parent / "folder.jsonl").mkdir()
    for name, message in (("posts.csv", "the posts are written as JSON Lines; name the file .jsonl"),
                          ("folder.jsonl", "is a folder; give the path of the JSON Lines file to write")):
        result = cli("twitter-archive", str(EXPORTS / "twitter"), "--user-id", "ann", "--out", str(out.parent / name))
        assert result.exit_code == 1 and message in result.stderr, name  # before: JSON Lines named .csv; a traceback
    assert list(out.parent.iterdir()) == [out.parent / "folder.jsonl"]



# --- bad values: one clean error naming the export's file, item and field; nothing stored

OUT_OF_RANGE = "is out of range: a post's time must be in the years 1970 to 9999"


def tweets_js(path: Path, **fields: Any) -> Path:
    tweet = {"id_str": "1", "created_at": "Wed Oct 10 20:19:24 +0000 2018", "full_text": "hello"} | fields
    path.write_text("window.YTD.tweets.part0 = " + json.dumps([{"tweet": tweet}]))
    return path


def se_dump(folder: Path, post: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "Posts.xml").write_text(f'<?xml version="1.0" encoding="utf-8"?>\n<posts>\n  {post}\n</posts>\n')
    (folder / "Users.xml").write_text('<users>\n  <row Id="7" DisplayName="brewer" />\n'
                                      '  <row Id="8" DisplayName="other" />\n</users>\n')
    return folder


def import_fails(engine, kind: str, path: Path, user_id: str | None = "ann") -> str:  # type: ignore[no-untyped-def]
    """The message of an import (with the opt-out policy, so posts would be stored) that fails storing nothing."""
    with pytest.raises(PerkmatchError) as info:
        import_posts(engine, kind, str(path), user_id, policy="opt-out")
    with session(engine) as s:
        assert s.exec(select(Post)).all() == [] and s.exec(select(User)).all() == []
    return str(info.value)


def test_cli_stackexchange_too_large_score_stores_no_users(cli, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dump = se_dump(tmp_path / "se-beer", '<row Id="1" PostTypeId="1" CreationDate="2020-01-01T10:00:00.000" '
                   'Score="100000000000000000000" Body="&lt;p&gt;IPA?&lt;/p&gt;" OwnerUserId="7" Title="Best IPA?" />')
    result = cli("stackexchange", str(dump), "--consent-policy", "opt-out")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.endswith(
        f"Error: {dump / 'Posts.xml'}, <row> #1 (Id=1), attribute Score: '100000000000000000000' is too large (at "
        f"most 9223372036854775807); {SE_FIX}\n")
    with session(engine) as s:
        assert s.exec(select(User)).all() == [] and s.exec(select(Post)).all() == []


def test_twitter_too_large_count_is_refused(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    big = tweets_js(tmp_path / "tweets.js", favorite_count=10**20)
    assert import_fails(engine, "twitter-archive", big) == (
        f"{big}, JSON path $[0].tweet.favorite_count: 100000000000000000000 is too large (at most "
        f"9223372036854775807); {TW_FIX}")
    inf = tmp_path / "inf.js"
    inf.write_text(tweets_js(inf).read_text().replace('"hello"', '"hello", "retweet_count": 1e400'))
    assert import_fails(engine, "twitter-archive", inf) == (
        f"{inf}, JSON path $[0].tweet.retweet_count: Infinity is not a whole number; {TW_FIX}")


def test_errors_name_the_export_and_a_fix_not_a_temp_file(cli, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = cli("twitter-archive", str(tweets_js(tmp_path / "tweets.js")), "--user-id", " ")
    assert (result.exit_code, result.stderr) == (1, "Error: --user-id ' ' is blank: give a non-empty --user-id (the "
                                                    "same id for every network of that person)\n")
    comments = tmp_path / "reddit" / "comments.csv"
    comments.parent.mkdir()
    comments.write_text("id,date,subreddit,body\nc1,0001-01-01 00:00:00 UTC,beer,hi\n")
    assert import_fails(engine, "reddit", comments.parent) == (
        f"{comments}, line 2, column 'date': '0001-01-01 00:00:00 UTC' {OUT_OF_RANGE}; {RD_FIX}")


def test_an_empty_user_id_is_refused_never_taken_for_none_given(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`--user-id "$ID"` with ID unset. Before, a Stack Exchange dump took `--user-id ""` for no --user-id and was
    imported, and one person's export asked for the id it had been given."""
    dump = str(EXPORTS / "tiny.stackexchange.com")
    result = cli("stackexchange", dump, "--user-id", "", "--out", str(tmp_path / "se.jsonl"))
    assert (result.exit_code, result.stderr) == (1, "Error: stackexchange holds every user of the site (ids like "
                                                    "se-<site>-<Id>): leave out the user id (--user-id)\n")
    assert not (tmp_path / "se.jsonl").exists()
    result = cli("feed", str(EXPORTS / "feed" / "blog.rss"), "--user-id", "")
    assert (result.exit_code, result.stderr) == (1, "Error: --user-id '' is blank: give a non-empty --user-id (the "
                                                    "same id for every network of that person)\n")
    assert [p["user_id"] for p in read_posts("feed", str(EXPORTS / "feed" / "blog.rss"), " ann ")] == ["ann", "ann"]
    assert len(list(read_posts("stackexchange", dump))) == 4  # left out, as before


def test_posts_the_model_refuses_are_reported_against_the_export() -> None:
    from matcher.importers import _checked

    post = {"post_id": "rd-t1_c1", "user_id": "ann", "text": "hi", "created_at": "2023-03-01T12:34:56Z",
            "replies": -1}
    with pytest.raises(ImportFormatError) as info:
        list(_checked("export.zip", iter([post]), Counter()))
    assert str(info.value) == ("export.zip, post 'rd-t1_c1', field 'replies': got -1: Input should be greater than or "
                               "equal to 0; correct or remove that item in the export, or give the export as "
                               "downloaded")


def test_stackexchange_entities_are_refused(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dump = se_dump(tmp_path / "se-beer", '<row Id="1" PostTypeId="1" CreationDate="2020-01-01T10:00:00.000" '
                   'Body="&x;" OwnerUserId="7" Title="t" />')
    posts = dump / "Posts.xml"
    posts.write_text(posts.read_text().replace("<posts>", '<!DOCTYPE posts [<!ENTITY x "boom">]>\n<posts>'))
    assert import_fails(engine, "stackexchange", dump, None) == (
        f"{posts}, DOCTYPE: declares the entity 'x', and entities are not allowed (a data dump has none: the file "
        f"looks edited); {SE_FIX}")


def test_stackexchange_bytes_that_are_not_utf8_are_named_not_called_truncation(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    row = ('<row Id="1" PostTypeId="1" CreationDate="2020-01-01T10:00:00.000" Body="caf\u00e9" OwnerUserId="7" '
           'Title="t" />')
    dump = se_dump(tmp_path / "se-beer", "")
    posts = dump / "Posts.xml"
    posts.write_bytes(f'<?xml version="1.0" encoding="utf-8"?>\n<posts>\n  {row}\n</posts>\n'.encode("latin-1"))
    assert import_fails(engine, "stackexchange", dump, None) == (  # before: "the file looks truncated or edited"
        f"{posts}, line 3, column 77: not UTF-8 (byte 0xe9), and a dump's XML is UTF-8 throughout: the file looks "
        f"saved again in another encoding, or damaged; {SE_FIX}")
    archive = zip_folder(dump, tmp_path / "beer.stackexchange.com.zip")  # read again from the archive too
    assert import_fails(engine, "stackexchange", archive, None).startswith(
        f"{archive}:Posts.xml, line 3, column 77: not UTF-8 (byte 0xe9)")
    control = row.replace("caf\u00e9", "caf\x01")  # UTF-8, but a character XML does not allow
    posts.write_text(f"<posts>\n  {control}\n</posts>\n")
    assert import_fails(engine, "stackexchange", dump, None) == (
        f"{posts}, line 2, column 77: not well-formed XML (invalid token: a character XML does not allow here); the "
        f"file looks edited or damaged; {SE_FIX}")


def test_times_outside_1970_to_9999_name_the_field(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dump = se_dump(tmp_path / "se-beer", '<row Id="1" PostTypeId="1" CreationDate="0001-01-01T00:00:00+05:00" '
                   'OwnerUserId="7" Title="t" />')
    assert import_fails(engine, "stackexchange", dump, None) == (
        f"{dump / 'Posts.xml'}, <row> #1 (Id=1), attribute CreationDate: '0001-01-01T00:00:00+05:00' {OUT_OF_RANGE}; "
        f"{SE_FIX}")
    outbox = tmp_path / "outbox.json"
    outbox.write_text(json.dumps({"orderedItems": [{"type": "Create", "published": "0001-01-01T00:00:00+01:00",
                                                    "object": {"type": "Note", "id": "https://m.s/statuses/1"}}]}))
    assert import_fails(engine, "mastodon", outbox) == (
        f"{outbox}, JSON path $.orderedItems[0].object.published: '0001-01-01T00:00:00+01:00' {OUT_OF_RANGE}; "
        f"{MD_FIX}")
    old = tweets_js(tmp_path / "tweets.js", created_at="Wed Oct 10 20:19:24 +0000 1969")
    assert import_fails(engine, "twitter-archive", old) == (
        f"{old}, JSON path $[0].tweet.created_at: 'Wed Oct 10 20:19:24 +0000 1969' {OUT_OF_RANGE}; {TW_FIX}")


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("entities", "oops", 'entities: expected an object {...}, found "oops"'),
    ("id_str", {"a": 1}, 'id_str: expected a string or a whole number, found {"a": 1}'),
    ("full_text", ["x"], 'full_text: expected a string, found ["x"]'),
    ("entities", {"urls": "x"}, 'entities.urls: expected a list, found "x"'),
])
def test_twitter_wrong_types_are_refused(engine, tmp_path, field, value, expected) -> None:  # type: ignore[no-untyped-def]
    bad = tweets_js(tmp_path / "tweets.js", **{field: value})
    assert import_fails(engine, "twitter-archive", bad) == f"{bad}, JSON path $[0].tweet.{expected}; {TW_FIX}"


def test_deeply_nested_json_is_refused(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    deep = tmp_path / "tweets.js"
    deep.write_text("window.YTD.tweets.part0 = " + "[" * 100_000)
    assert import_fails(engine, "twitter-archive", deep) == (
        f"{deep}: the JSON is nested too deeply to be a list of tweets; the file looks edited; {TW_FIX}")
    outbox = tmp_path / "outbox.json"
    outbox.write_text('{"orderedItems": ' + "[" * 100_000)
    assert import_fails(engine, "mastodon", outbox) == (
        f"{outbox}: the JSON is nested too deeply to be an outbox; the file looks edited; {MD_FIX}")


def test_an_import_with_more_problems_than_are_collected_says_at_least(engine, write, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import catalog.errors
    import matcher.ingest_report

    for module in (catalog.errors, matcher.ingest_report):
        monkeypatch.setattr(module, "PROBLEMS_KEPT", 1000)
    ingest_users(engine, write("users.jsonl", [{"user_id": "ann", "consent": "opted_in"},
                                               {"user_id": "bob", "consent": "opted_in"}]))
    tweets = [{"tweet": {"id_str": str(i), "created_at": "Wed Oct 10 20:19:24 +0000 2018", "full_text": f"t{i}"}}
              for i in range(1, 1101)]
    archive = tmp_path / "tweets.js"
    archive.write_text("window.YTD.tweets.part0 = " + json.dumps(tweets))
    assert import_posts(engine, "twitter-archive", str(archive), "ann").posts_report.added == 1100
    with pytest.raises(ImportFormatError) as raised:  # every post is ann's; ingest stops collecting at 1000
        import_posts(engine, "twitter-archive", str(archive), "bob")
    assert ("field 'user_id': a post is stored as ann's; a post cannot change author: give this one its own post_id "
            "(at least 1000 posts: tw-1, tw-2, tw-3, ...); nothing was stored") in str(raised.value)
    # each kind once: before, the first three problems, the same one three times "(and at least 997 more)"


def test_importing_a_feed_under_another_user_id_names_the_export(cli) -> None:  # type: ignore[no-untyped-def]
    feed = str(EXPORTS / "feed" / "blog.rss")
    assert cli("feed", feed, "--user-id", "ann", "--consent-policy", "opt-out").exit_code == 0
    result = cli("feed", feed, "--user-id", "bob", "--consent-policy", "opt-out")
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert f"{feed}, its posts: cannot be stored: field 'user_id': a post is stored as ann's" in message
    assert "(2 posts: blog-" in message
    assert "perkmatch-import-" not in message and "--skip-invalid" not in message  # no temp file, no foreign option


def test_a_folder_with_an_unreadable_subfolder_is_searched_past_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dump = tmp_path / "tiny.stackexchange.com"
    dump.mkdir()
    for name in ("Posts.xml", "Users.xml"):
        (dump / name).write_bytes((EXPORTS / "tiny.stackexchange.com" / name).read_bytes())
    (dump / "private").mkdir()
    (dump / "private" / "socket").write_text("")
    is_file = Path.is_file

    def refuse(self):  # type: ignore[no-untyped-def]
        if self.parent.name == "private":  # as /proc's entries are, or another user's files (the tests run as root)
            raise PermissionError(13, "Permission denied", str(self))
        return is_file(self)

    monkeypatch.setattr(Path, "is_file", refuse)
    posts = list(read_posts("stackexchange", str(dump)))  # before: PermissionError escaped from rglob, a traceback
    assert [p["post_id"] for p in posts] == ["se-tiny-1", "se-tiny-2", "se-tiny-3", "se-tiny-4"]


def test_a_folder_is_searched_only_as_deep_as_exports_nest_their_files(tmp_path: Path) -> None:
    from matcher.importers.common import MAX_DEPTH

    deep = tmp_path / "home"
    for _ in range(MAX_DEPTH + 1):  # one folder deeper than any export nests its files
        deep = deep / "more"
    deep.mkdir(parents=True)
    (deep / "Posts.xml").write_bytes((EXPORTS / "tiny.stackexchange.com" / "Posts.xml").read_bytes())
    with pytest.raises(ImportFormatError, match="no Posts.xml found"):  # before: / was walked whole, for minutes
        list(read_posts("stackexchange", str(tmp_path / "home"), site="tiny"))
    found = list(read_posts("stackexchange", str(deep.parent), site="tiny"))  # within reach
    assert len(found) == 4


def test_cli_import_interrupted_says_nothing_was_stored_and_stores_nothing(cli, engine, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.ingest

    ingest_users(engine, write("users.jsonl", [{"user_id": "ann", "consent": "opted_in"}]))
    real = matcher.ingest.ingest_posts

    def stopped(*args: Any, **kwargs: Any) -> Any:  # Ctrl-C once every post is read, before the commit
        real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(matcher.ingest, "ingest_posts", stopped)
    result = cli("twitter-archive", str(EXPORTS / "twitter"), "--user-id", "ann")
    assert result.exit_code == 130  # before: "finished work is kept; run the command again to continue"
    assert "nothing was stored or written (an import is one transaction)" in " ".join(result.stderr.split())
    with session(engine) as s:
        assert s.exec(select(Post)).all() == []


def test_converting_an_export_reports_progress(engine) -> None:  # type: ignore[no-untyped-def]
    from matcher.importers import counted

    steps: list[int] = []
    assert len(list(counted(({"n": i} for i in range(2500)), steps.append))) == 2500
    assert steps == [1000, 1000, 500]  # a bar's advances, adding up to the posts converted
    seen: list[int] = []
    result = import_posts(engine, "stackexchange", str(EXPORTS / "tiny.stackexchange.com"), converted=seen.append)
    assert sum(seen) == result.posts == 4  # before: nothing moved on screen until the conversion was done


def test_the_same_dump_imported_under_another_name_is_warned_of(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Before, a Stack Exchange dump whose folder was renamed came in as a second site, every person twice."""
    first = cli("stackexchange", str(EXPORTS / "tiny.stackexchange.com"), "--consent-policy", "opt-out", "--json")
    assert first.exit_code == 0 and json.loads(first.stdout)["copies"] == 0 and "same text" not in first.stderr
    again = cli("stackexchange", str(EXPORTS / "tiny.stackexchange.com"), "--site", "tiny-2016",
                "--consent-policy", "opt-out", "--json")
    posts = json.loads(again.stdout)["posts"]
    assert again.exit_code == 0 and json.loads(again.stdout)["copies"] == posts > 0
    assert f"{posts:,} of its {posts:,} posts are stored under other users' ids too, the same text at the same " \
        "time" in " ".join(again.stderr.split())
