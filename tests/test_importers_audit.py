"""Importer edge cases found in an audit: Reddit placeholders and CSV read as ingest reads it, feeds with HTML
entities or unreadable dates, ids and counts that are not what the export holds, --out onto the export itself."""

import codecs
import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from matcher.errors import ImportFormatError, PerkmatchError
from matcher.importers import read_posts, read_users, write_jsonl_files
from matcher.importers.common import html_to_text
from tests.test_importers import EXPORTS, FEED_FIX, MD_FIX, RD_FIX, SE_FIX, TW_FIX, import_cli

THREAD = "https://www.reddit.com/r/beer/comments/p1/slug/"


def fails(kind: str, path: Path, user_id: str | None = "ann") -> str:
    with pytest.raises(ImportFormatError) as info:
        list(read_posts(kind, str(path), user_id))
    return str(info.value)


def reddit(folder: Path, comments: list[list[str]], posts: list[list[str]] = ()) -> Path:  # type: ignore[assignment]
    """A Reddit export folder written as Reddit's CSV writer does."""
    folder.mkdir()
    with (folder / "comments.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "permalink", "date", "ip", "subreddit", "gildings", "link", "parent", "body", "media"])
        writer.writerows([[i, "", "2023-03-01 12:34:56 UTC", "", "beer", "0", THREAD, parent, body, ""]
                          for i, parent, body in comments])
    if posts:
        with (folder / "posts.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "permalink", "date", "ip", "subreddit", "gildings", "title", "url", "body"])
            writer.writerows([[i, THREAD, "2023-03-01 12:00:00 UTC", "", "beer", "0", title, THREAD, body]
                              for i, title, body in posts])
    return folder


# --- reddit


def test_reddit_deleted_and_removed_placeholders_are_neither_posts_nor_contexts(tmp_path: Path) -> None:
    folder = reddit(tmp_path / "rd", [["c1", "t3_p1", "[deleted]"], ["c2", "t1_c1", "I agree with that"],
                                      ["c3", "t3_p1", " [removed] "], ["c4", "t3_p2", "Nice stout"]],
                    [["p1", "Best IPA?", "[removed]"], ["p2", "[deleted]", "[deleted]"]])
    posts = {p["post_id"]: p for p in read_posts("reddit", str(folder), "ann")}
    assert list(posts) == ["rd-t3_p1", "rd-t1_c2", "rd-t1_c4"]  # before: all 6, "[deleted]" stored as writing
    assert posts["rd-t3_p1"]["text"] == "Best IPA?"  # the title is still theirs; before: "Best IPA?\n\n[removed]"
    assert posts["rd-t1_c2"]["context"] == "Best IPA?"  # its parent is gone: the thread's title; before: "[deleted]"
    assert posts["rd-t1_c4"]["context"] == "r/beer"  # a thread whose title is gone: the subreddit


def test_reddit_csv_cells_are_as_long_as_ingest_allows_whatever_ran_before(tmp_path: Path) -> None:
    long_body = "hops " * 40_000  # 200,000 characters: more than the csv module's default limit
    folder = reddit(tmp_path / "rd", [["c1", "t3_p1", long_body]])
    before = csv.field_size_limit(131_072)  # as in a fresh process, before any ingest raised it
    try:
        assert [p["text"] for p in read_posts("reddit", str(folder), "ann")] == [long_body]  # before: an error
    finally:
        csv.field_size_limit(before)


def test_reddit_broken_quotes_name_where_the_record_starts_and_ends(tmp_path: Path) -> None:
    folder = tmp_path / "rd"
    folder.mkdir()
    header = "id,date,subreddit,body\n"
    (folder / "comments.csv").write_text(header + 'c1,2023-03-01 12:34:56 UTC,beer,"never closed\n'
                                         "c2,2023-03-01 12:34:57 UTC,beer,next\nc3,2023-03-01 12:34:58 UTC,beer,last\n")
    assert fails("reddit", folder) == (
        f"{folder / 'comments.csv'}, line 2 (the record read on to line 4): not valid CSV (unexpected end of data); "
        f"the file looks truncated or edited; {RD_FIX}")
    (folder / "comments.csv").write_text(header + 'c1,2023-03-01 12:34:56 UTC,beer,"quoted" then more\n')
    assert fails("reddit", folder) == (
        f"{folder / 'comments.csv'}, line 2: not valid CSV (',' expected after '\"': a cell goes on after its "
        f"closing quote, or a quote opened earlier was never closed); the file looks truncated or edited; {RD_FIX}")


def test_reddit_header_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "rd"
    folder.mkdir()
    (folder / "comments.csv").write_text("id,date,subreddit,body,body\nc1,2023-03-01 12:34:56 UTC,beer,kept,lost\n")
    assert fails("reddit", folder) == (  # before: the second body silently won
        f"{folder / 'comments.csv'}, line 1 (header): names 'body' more than once; {RD_FIX}")


# --- feeds


def rss(path: Path, items: str) -> Path:
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>B</title>'
                    f"<link>https://b.example/</link>\n{items}", encoding="utf-8")
    return path


ITEM = ("<item><title>Caf&eacute; &amp; bar</title><guid>https://b.example/1</guid>"
        "<pubDate>Sat, 10 Jun 2023 08:00:00 +0000</pubDate><description>Stout&nbsp;tasting &mdash; "
        "<![CDATA[<p>&eacute;t&eacute;</p>]]></description></item>\n")


def test_feed_with_html_entities_is_read_and_a_break_after_them_still_found(tmp_path: Path) -> None:
    feed = rss(tmp_path / "blog.rss", ITEM + "</channel></rss>\n")
    assert [p["text"] for p in read_posts("feed", str(feed), "ann")] == [
        "Café & bar\n\nStout tasting —\nété"]  # before: "not well-formed XML (undefined entity) ... truncated"
    cut = rss(tmp_path / "cut.rss", ITEM + "<item><title>Half")
    assert fails("feed", cut) == (f"{cut}, line 4, column 17: not well-formed XML (no element found); the file looks "
                                  f"truncated or edited; {FEED_FIX}")
    bogus = rss(tmp_path / "bogus.rss", ITEM.replace("&mdash;", "&bogus;") + "</channel></rss>\n")
    assert fails("feed", bogus) == (
        f"{bogus}, line 3, column 156: not well-formed XML (undefined entity: one that neither XML nor HTML "
        f"defines); the file looks truncated or edited; {FEED_FIX}")


def test_feed_date_that_cannot_be_read_is_named_not_called_missing(tmp_path: Path) -> None:
    feed = rss(tmp_path / "blog.rss", ITEM.replace("Sat, 10 Jun 2023 08:00:00 +0000", "yesterday")
               + "</channel></rss>\n")
    assert fails("feed", feed) == (
        f"{feed}, entry 1 ('Café & bar'): 'yesterday' is not a date (RSS: like 'Sat, 10 Jun 2023 08:00:00 +0000'; "
        "Atom: like '2023-06-10T08:00:00Z'); give every entry a <pubDate> (RSS) or <published> (Atom)")


def test_feed_comment_count_too_large_names_the_entry(tmp_path: Path) -> None:
    feed = rss(tmp_path / "blog.rss", ITEM.replace("</item>", "<slash:comments>1" + "0" * 20 + "</slash:comments>"
                                                   "</item>") + "</channel></rss>\n")
    feed.write_text(feed.read_text().replace('<rss version="2.0">', '<rss version="2.0" '
                                             'xmlns:slash="http://purl.org/rss/1.0/modules/slash/">'))
    assert fails("feed", feed) == (
        f"{feed}, entry 1 ('Café & bar'), <slash:comments>: '1{'0' * 20}' is too large (at most "
        f"9223372036854775807); {COMMENTS_FIX}")


COMMENTS_FIX = "give <slash:comments> as a whole number of comments, or leave it out"


def test_feed_comment_count_that_is_not_a_whole_number_is_refused(tmp_path: Path) -> None:
    for count in ("lots", "2.5"):  # before: read as 0, silently
        feed = rss(tmp_path / "blog.rss", ITEM.replace("</item>", f"<slash:comments>{count}</slash:comments></item>")
                   + "</channel></rss>\n")
        feed.write_text(feed.read_text().replace('<rss version="2.0">', '<rss version="2.0" '
                                                 'xmlns:slash="http://purl.org/rss/1.0/modules/slash/">'))
        assert fails("feed", feed) == (
            f"{feed}, entry 1 ('Café & bar'), <slash:comments>: '{count}' is not a whole number; {COMMENTS_FIX}")


def test_a_feed_not_in_the_encoding_it_declares_is_refused_with_its_line_not_garbled(tmp_path: Path) -> None:
    # one stray Latin-1 byte in a UTF-8 feed: feedparser read the whole file as windows-1252, and the other entries'
    # text came out garbled ("Paris æ—¥æœ¬"), with exit 0
    second = ITEM.replace("https://b.example/1", "https://b.example/2").replace("Caf&eacute;", "Caf\u00e9")
    feed = rss(tmp_path / "blog.rss", ITEM.replace("Caf&eacute;", "Paris \u65e5\u672c") + second + "</channel></rss>\n")
    data = feed.read_bytes().replace("Caf\u00e9".encode(), "Caf\u00e9".encode("latin-1"))
    feed.write_bytes(data)
    at = data.index(b"\xe9")
    line = data[:at].count(b"\n") + 1
    assert fails("feed", feed) == (
        f"{feed}, line {line}, byte {at}: not UTF-8 text (byte 0xe9), the encoding it "
        "declares; save the file as UTF-8, or declare the encoding it is saved in")
    latin = data.replace("Paris \u65e5\u672c".encode(), b"Paris").replace(b'encoding="UTF-8"',
                                                                          b'encoding="ISO-8859-1"')
    feed.write_bytes(latin)
    assert [p["text"][:9] for p in read_posts("feed", str(feed), "ann")] == ["Paris & b", "Caf\u00e9 & ba"]
    # and, as before, what XML reads right is read: a declaration with spaces, a byte-order mark (UTF-16, with no
    # declaration or another one), a file mislabelled but wholly UTF-8
    plain = ("<item><title>\u0141\u00f3d\u017a &amp; Caf&eacute; bars</title><guid>https://b.example/{}</guid>"
             "<pubDate>Sat, 10 Jun 2023 08:00:00 +0000</pubDate></item>\n")  # (entities: in UTF-16 too; before,
    # refused there as undefined)
    utf8 = rss(tmp_path / "plain.rss", plain.format(1) + plain.format(2) + "</channel></rss>\n").read_bytes()
    for variant in (latin.replace(b'encoding="ISO-8859-1"', b'encoding = "ISO-8859-1"'),
                    codecs.BOM_UTF16_LE + utf8.decode().replace('encoding="UTF-8"', "").encode("utf-16-le"),
                    codecs.BOM_UTF16_LE + utf8.decode().encode("utf-16-le"),
                    utf8.replace(b'encoding="UTF-8"', b'encoding="us-ascii"')):
        feed.write_bytes(variant)
        assert len(list(read_posts("feed", str(feed), "ann"))) == 2
    feed.write_bytes(codecs.BOM_UTF16_LE + utf8.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
                     .encode("utf-16-le"))
    assert [p["text"] for p in read_posts("feed", str(feed), "ann")] == ["\u0141\u00f3d\u017a & Caf\u00e9 bars"] * 2

# --- ids, counts and times the export does not hold


def test_missing_times_say_missing(tmp_path: Path) -> None:
    dump = tmp_path / "beer.stackexchange.com"
    dump.mkdir()
    (dump / "Posts.xml").write_text('<posts><row Id="1" PostTypeId="1" OwnerUserId="7" Title="t" /></posts>')
    assert fails("stackexchange", dump, None) == (  # before: "None is not an ISO-8601 time"
        f"{dump / 'Posts.xml'}, <row> #1 (Id=1), attribute CreationDate: missing; {SE_FIX}")
    outbox = tmp_path / "outbox.json"
    outbox.write_text(json.dumps({"orderedItems": [{"type": "Announce", "id": "https://m.s/users/a/statuses/1/activity",
                                                    "object": "https://o.s/statuses/2"}]}))
    assert fails("mastodon", outbox) == f"{outbox}, JSON path $.orderedItems[0].published: missing; {MD_FIX}"


@pytest.mark.parametrize(("value", "shown"), [(True, "true"), (2.5, "2.5"), ([], "[]"), ("1_000", "'1_000'")])
def test_twitter_counts_that_are_not_whole_numbers_are_refused(tmp_path: Path, value: Any, shown: str) -> None:
    tweet = {"id_str": "1", "created_at": "Wed Oct 10 20:19:24 +0000 2018", "full_text": "hi",
             "favorite_count": value, "retweet_count": "3"}
    js = tmp_path / "tweets.js"
    js.write_text("window.YTD.tweets.part0 = " + json.dumps([{"tweet": tweet}]))
    assert fails("twitter-archive", js) == (  # before: true was 1 like, 2.5 was 2, [] none, "1_000" a thousand
        f"{js}, JSON path $[0].tweet.favorite_count: {shown} is not a whole number; {TW_FIX}")
    js.write_text(js.read_text().replace(json.dumps(value), '"12"'))  # the archive writes counts as strings
    assert [(p["likes"], p["shares"]) for p in read_posts("twitter-archive", str(js), "ann")] == [(12, 3)]


def test_mastodon_id_that_is_not_a_url_is_refused(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.json"
    outbox.write_text(json.dumps({"orderedItems": [{"type": "Create", "object": {
        "type": "Note", "id": 12345, "published": "2023-05-01T09:30:00Z", "content": "<p>hi</p>"}}]}))
    assert fails("mastodon", outbox) == (  # before: stored as md--12345, the same id for every server's post 12345
        f"{outbox}, JSON path $.orderedItems[0].object.id: expected the post's URL "
        f"(https://<server>/users/<name>/statuses/<id>), found 12345; {MD_FIX}")


def test_stackexchange_ids_must_be_whole_numbers(tmp_path: Path) -> None:
    dump = tmp_path / "beer.stackexchange.com"
    dump.mkdir()
    row = '<row Id="1" PostTypeId="1" CreationDate="2014-01-21T20:26:05" OwnerUserId="7 8" Title="t" />'
    (dump / "Posts.xml").write_text(f"<posts>{row}</posts>")
    (dump / "Users.xml").write_text('<users><row Id="x" DisplayName="a" /></users>')
    assert fails("stackexchange", dump, None) == (  # before: user se-beer-7 8
        f"{dump / 'Posts.xml'}, <row> #1 (Id=1), attribute OwnerUserId: '7 8' is not a whole number; {SE_FIX}")
    with pytest.raises(ImportFormatError) as info:
        list(read_users("stackexchange", str(dump)))
    assert str(info.value) == f"{dump / 'Users.xml'}, <row> #1, attribute Id: 'x' is not a whole number; {SE_FIX}"


def test_html_to_text_separates_table_cells_and_keeps_cdata_text() -> None:
    assert html_to_text("<table><tr><td>IPA</td><td>6.5%</td></tr></table>") == "IPA\n6.5%"  # before: "IPA6.5%"
    assert html_to_text("<p><![CDATA[kept]]> too</p>") == "kept too"  # before: " too"


# --- --out


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    return import_cli(tmp_path)


def test_out_onto_the_export_itself_is_refused_and_leaves_it(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    feed = tmp_path / "feed.jsonl"  # a feed saved under any name
    feed.write_bytes((EXPORTS / "feed" / "blog.rss").read_bytes())
    for spelled in (str(feed), f"{tmp_path}/../{tmp_path.name}/feed.jsonl"):
        result = cli("feed", str(feed), "--user-id", "ann", "--out", spelled)
        assert (result.exit_code, result.stderr) == (1, f"Error: --out {spelled}: that is a file of the export being "
                                                        "converted, which would be replaced; give another path (the "
                                                        "export is left as it was)\n")
    assert feed.read_bytes() == (EXPORTS / "feed" / "blog.rss").read_bytes()  # before: replaced by the posts
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.jsonl"]
    posts = tmp_path / "posts.jsonl"
    assert cli("feed", str(feed), "--user-id", "ann", "--out", str(posts)).exit_code == 0
    assert len(posts.read_text().splitlines()) == 2


def test_write_jsonl_files_refuses_an_export_file_it_read(tmp_path: Path) -> None:
    dump = tmp_path / "tiny.stackexchange.com"
    dump.mkdir()
    for name in ("Posts.xml", "Users.xml"):
        (dump / name).write_bytes((EXPORTS / "tiny.stackexchange.com" / name).read_bytes())
    users = dump / "Users.xml"
    with pytest.raises(PerkmatchError, match="that is a file of the export being converted"):
        write_jsonl_files([(read_posts("stackexchange", str(dump)), str(tmp_path / "posts.jsonl")),
                           (read_users("stackexchange", str(dump)), str(users))])
    assert users.read_bytes() == (EXPORTS / "tiny.stackexchange.com" / "Users.xml").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.stackexchange.com"]


def test_a_folder_or_archive_holding_two_exports_is_refused(tmp_path: Path) -> None:
    import zipfile

    outbox = (EXPORTS / "mastodon" / "outbox.json").read_bytes()
    archive = tmp_path / "exports.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ann/outbox.json", outbox)
        zf.writestr("bob/outbox.json", outbox.replace(b"mastodon.social", b"other.example"))
    assert fails("mastodon", archive) == (  # before: ann's read, bob's passed over without a word
        f"{archive}: holds outbox.json in 2 folders (ann/, bob/): more than one export; give the folder or archive "
        "of one export at a time")
    tweets = (EXPORTS / "twitter" / "data" / "tweets.js").read_bytes()
    for person in ("ann", "bob"):
        (tmp_path / "twitter" / person / "data").mkdir(parents=True)
        (tmp_path / "twitter" / person / "data" / "tweets.js").write_bytes(tweets)
    assert fails("twitter-archive", tmp_path / "twitter") == (  # before: bob's tweets filed under ann's id
        f"{tmp_path / 'twitter'}: holds data/tweets.js in 2 folders (ann/data/, bob/data/): more than one export; "
        "give the folder or archive of one export at a time")
    assert len(list(read_posts("twitter-archive", str(tmp_path / "twitter" / "ann"), "ann"))) == 4


def test_mastodon_imports_only_what_the_person_made_public(tmp_path: Path) -> None:
    public, followers = "https://www.w3.org/ns/activitystreams#Public", "https://m.s/users/ann/followers"

    def note(n: int, text: str, to: list[str], cc: list[str], reply_to: int | None = None) -> dict[str, Any]:
        url = f"https://m.s/users/ann/statuses/{n}"
        obj = {"type": "Note", "id": url, "published": f"2023-05-0{n}T09:30:00Z", "content": f"<p>{text}</p>",
               "to": to, "cc": cc, "inReplyTo": f"https://m.s/users/ann/statuses/{reply_to}" if reply_to else None}
        return {"type": "Create", "id": f"{url}/activity", "published": obj["published"], "to": to, "cc": cc,
                "object": obj}

    items = [note(1, "open to all", [public], [followers]),
             note(2, "unlisted, still public", [followers], [public]),
             note(3, "for my followers only", [followers], []),
             note(4, "a direct message to bob", ["https://b.s/users/bob"], []),
             note(5, "my public reply to that followers-only post", [public], [], reply_to=3),
             {"type": "Announce", "id": "https://m.s/users/ann/statuses/6/activity", "to": [followers], "cc": [],
              "published": "2023-05-06T09:00:00Z", "object": "https://b.s/users/bob/statuses/9"}]  # a private boost
    outbox = tmp_path / "outbox.json"
    outbox.write_text(json.dumps({"orderedItems": items}))
    left_out: Counter[str] = Counter()
    posts = list(read_posts("mastodon", str(outbox), "ann", left_out=left_out))
    assert [p["text"] for p in posts] == ["open to all", "unlisted, still public",
                                          "my public reply to that followers-only post"]
    assert left_out == {"not public (a direct message, or for followers only)": 3}  # counted, and said (import)
    assert posts[2].get("context") is None  # the followers-only parent is never quoted


def test_out_onto_the_export_file_is_refused_before_converting_it(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.importers

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the export was converted before --out was checked")

    monkeypatch.setattr(matcher.importers, "read_posts", never)
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes((EXPORTS / "feed" / "blog.rss").read_bytes())
    result = cli("feed", str(feed), "--user-id", "ann", "--out", str(feed))
    assert result.exit_code == 1 and "that is a file of the export being converted" in result.stderr


def test_mastodon_image_descriptions_are_part_of_the_post(tmp_path: Path) -> None:
    public = "https://www.w3.org/ns/activitystreams#Public"
    obj = {"type": "Note", "id": "https://m.s/users/ann/statuses/1", "published": "2023-05-01T09:30:00Z",
           "content": "", "to": [public], "cc": [],
           "attachment": [{"type": "Document", "mediaType": "image/jpeg", "url": "https://m.s/1.jpg",
                           "name": "Latte art heart in a blue cup"},
                          {"type": "Document", "mediaType": "image/jpeg", "url": "https://m.s/2.jpg", "name": None}]}
    outbox = tmp_path / "outbox.json"
    outbox.write_text(json.dumps({"orderedItems": [{"type": "Create", "id": obj["id"] + "/activity", "to": [public],
                                                    "cc": [], "published": obj["published"], "object": obj}]}))
    (post,) = read_posts("mastodon", str(outbox), "ann")
    assert post["text"] == "Latte art heart in a blue cup"  # before: empty, a photo post about nothing


def test_mastodon_favourites_and_boosts_are_the_posts_likes_and_shares_and_a_poll_keeps_its_options(
        tmp_path: Path) -> None:
    # Mastodon writes `likes` and `shares` collections with their sizes on its own server's posts (NoteSerializer);
    # before, every post came in with 0 of each, so a Mastodon-only user never met the engagement rules
    public = "https://www.w3.org/ns/activitystreams#Public"

    def note(number: int, **fields: Any) -> dict[str, Any]:
        obj = {"type": "Note", "id": f"https://m.s/users/ann/statuses/{number}", "published": "2023-05-01T09:30:00Z",
               "content": "<p>Sourdough day 10</p>", "to": [public], "cc": [], **fields}
        return {"type": "Create", "id": obj["id"] + "/activity", "to": [public], "cc": [],
                "published": obj["published"], "object": obj}

    outbox = tmp_path / "outbox.json"
    outbox.write_text(json.dumps({"orderedItems": [
        note(1, likes={"type": "Collection", "totalItems": 42}, shares={"type": "Collection", "totalItems": 7},
             replies={"type": "Collection", "first": {"type": "CollectionPage", "items": []}}),
        note(2),  # an older export, or another server's post: no counts
        note(3, type="Question", content="<p>Which distro for a gaming rig?</p>",
             oneOf=[{"type": "Note", "name": "Arch"}, {"type": "Note", "name": "Pop!_OS"}]),
        note(4, type="Question", content="<p>Which do you bake?</p>",  # a poll of several answers
             anyOf=[{"type": "Note", "name": "Rye"}, {"type": "Note", "name": "Spelt"}])]}))
    posts = list(read_posts("mastodon", str(outbox), "ann"))
    assert [(p["likes"], p["replies"], p["shares"]) for p in posts] == [(42, 0, 7), (0, 0, 0), (0, 0, 0), (0, 0, 0)]
    assert [p["text"] for p in posts[2:]] == [  # before: the options were lost
        "Which distro for a gaming rig?\n\nArch\nPop!_OS", "Which do you bake?\n\nRye\nSpelt"]
    outbox.write_text(outbox.read_text().replace('"totalItems": 42', '"totalItems": "many"'))
    assert fails("mastodon", outbox) == (
        f"{outbox}, JSON path $.orderedItems[0].object.likes.totalItems: 'many' is not a whole number; {MD_FIX}")


def test_a_photo_tweets_own_link_is_left_out_of_its_text(tmp_path: Path) -> None:
    def tweet(number: int, text: str) -> dict[str, Any]:
        return {"tweet": {"id_str": str(number), "created_at": "Wed Oct 10 20:19:24 +0000 2018", "full_text": text,
                          "entities": {"urls": [], "media": [{"url": f"https://t.co/m{number}",
                                                              "expanded_url": f"https://x.com/ann/status/{number}"
                                                                              "/photo/1"}]}}}

    archive = tmp_path / "tweets.js"
    archive.write_text("window.YTD.tweets.part0 = " + json.dumps([
        tweet(1, "Latte art, day 40 https://t.co/m1"), tweet(2, "https://t.co/m2"),
        tweet(3, "nice https://t.co/m3 shot, see https://t.co/m3x")]))
    posts = list(read_posts("twitter-archive", str(archive), "ann"))
    # before: "Latte art, day 40 https://t.co/m1", a link of nothing in every photo tweet
    assert [p["text"] for p in posts] == ["Latte art, day 40", "https://x.com/ann/status/2/photo/1",
                                          "nice shot, see https://t.co/m3x"]  # another link it begins is not it


def test_a_gzipped_export_file_is_read_as_its_content(tmp_path: Path) -> None:
    import gzip

    for kind, plain in (("mastodon", EXPORTS / "mastodon" / "outbox.json"), ("feed", EXPORTS / "feed" / "blog.rss")):
        packed = tmp_path / f"{plain.name}.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        # before: "not UTF-8 text" and "not well-formed XML ... looks truncated or edited"
        assert list(read_posts(kind, str(packed), "ann")) == list(read_posts(kind, str(plain), "ann"))
    fake = tmp_path / "outbox.json.gz"
    fake.write_text("{}")
    with pytest.raises(ImportFormatError, match="outbox.json.gz, reading: the file cannot be read"):
        list(read_posts("mastodon", str(fake), "ann"))


def test_blank_posts_of_an_export_are_left_out_and_counted(tmp_path: Path) -> None:
    folder = tmp_path / "reddit"
    folder.mkdir()
    (folder / "comments.csv").write_text(
        "id,permalink,date,ip,subreddit,gildings,link,parent,body,media\n"
        "c1,/r/x,2024-03-01 12:34:56 UTC,,beer,0,,t3_p1,hello there,\n"
        'c2,/r/x,2024-03-02 12:34:56 UTC,,beer,0,,t1_c1,"   ",\n'  # before: stored as a post of three spaces
        "c3,/r/x,2024-03-03 12:34:56 UTC,,beer,0,,t1_c1,[deleted],\n")
    left_out: Counter[str] = Counter()
    assert [p["post_id"] for p in read_posts("reddit", str(folder), "ann", left_out=left_out)] == ["rd-t1_c1"]
    assert left_out == {"blank (no text)": 1, "deleted or removed (Reddit left a placeholder for the text)": 1}


def test_counts_below_zero_are_read_as_zero_not_refused(tmp_path: Path) -> None:
    # no platform counts below none: a negative count in an export is read as 0 (not stored below zero, not an error)
    js = tmp_path / "tweets.js"
    js.write_text("window.YTD.tweets.part0 = " + json.dumps([{"tweet": {
        "id_str": "1", "created_at": "Wed Oct 10 20:19:24 +0000 2018", "full_text": "hi", "favorite_count": "-5",
        "retweet_count": "3"}}]))
    assert [(p["likes"], p["shares"]) for p in read_posts("twitter-archive", str(js), "ann")] == [(0, 3)]
    feed = rss(tmp_path / "blog.rss", ITEM.replace("</item>", "<slash:comments>-1</slash:comments></item>")
               + "</channel></rss>\n")
    feed.write_text(feed.read_text().replace('<rss version="2.0">', '<rss version="2.0" '
                                             'xmlns:slash="http://purl.org/rss/1.0/modules/slash/">'))
    assert [p["replies"] for p in read_posts("feed", str(feed), "ann")] == [0]


def test_a_tweet_marked_retweeted_is_a_share_even_without_rt_in_its_text(tmp_path: Path) -> None:
    # an archive may mark a retweet by "retweeted": true alone; its counts are the original's, not the person's
    js = tmp_path / "tweets.js"
    js.write_text("window.YTD.tweets.part0 = " + json.dumps([{"tweet": {
        "id_str": "1", "created_at": "Wed Oct 10 20:19:24 +0000 2018", "full_text": "Great hazy IPA recipe",
        "retweeted": True, "favorite_count": "40", "retweet_count": "9"}}]))
    (post,) = read_posts("twitter-archive", str(js), "ann")
    assert post["is_share"] and (post["likes"], post["shares"]) == (0, 0)


def test_reddit_a_comment_on_a_post_takes_the_posts_title_even_if_a_comment_has_the_same_id(tmp_path: Path) -> None:
    # t3_ (a post) and t1_ (a comment) ids are separate: a reply to post t3_abc must not quote comment abc's body
    folder = reddit(tmp_path / "rd", [["abc", "t3_p1", "Some other comment"], ["c2", "t3_abc", "I brew it too"]],
                    [["abc", "Best stout?", "Which one?"]])
    posts = {p["post_id"]: p for p in read_posts("reddit", str(folder), "ann")}
    assert posts["rd-t1_c2"]["context"] == "Best stout?"


def _create(n: int, obj_to: list[str] | None, obj_cc: list[str] | None, to: list[str], text: str) -> dict[str, Any]:
    """A Mastodon Create activity addressed `to`, of a Note with its own addressing (None: the key left out)."""
    url = f"https://m.s/users/ann/statuses/{n}"
    obj = {"type": "Note", "id": url, "published": f"2023-05-0{n}T09:30:00Z", "content": f"<p>{text}</p>"}
    obj |= {k: v for k, v in (("to", obj_to), ("cc", obj_cc)) if v is not None}
    return {"type": "Create", "id": f"{url}/activity", "published": obj["published"], "to": to, "cc": [],
            "object": obj}


def test_mastodon_a_post_addressed_by_cc_alone_is_judged_by_its_own_addressing(tmp_path: Path) -> None:
    # the object's own cc (followers only) decides, though it has no `to` and its activity is addressed to Public
    public, followers = "https://www.w3.org/ns/activitystreams#Public", "https://m.s/users/ann/followers"
    outbox = tmp_path / "outbox.json"
    outbox.write_text(json.dumps({"orderedItems": [_create(1, None, [followers], [public], "for followers"),
                                                   _create(2, [public], None, [public], "for all")]}))
    left_out: Counter[str] = Counter()
    assert [p["text"] for p in read_posts("mastodon", str(outbox), "ann", left_out=left_out)] == ["for all"]
    assert left_out == {"not public (a direct message, or for followers only)": 1}


def test_mastodon_public_may_be_named_by_its_short_forms(tmp_path: Path) -> None:
    # ActivityPub lets the Public collection be written "as:Public" or "Public" (compacted JSON-LD)
    outbox = tmp_path / "outbox.json"
    outbox.write_text(json.dumps({"orderedItems": [_create(1, ["as:Public"], [], ["as:Public"], "short"),
                                                   _create(2, ["Public"], [], ["Public"], "shorter")]}))
    assert [p["text"] for p in read_posts("mastodon", str(outbox), "ann")] == ["short", "shorter"]


def test_feeds_of_two_blogs_with_the_same_non_url_guid_give_different_post_ids(tmp_path: Path) -> None:
    # a guid that is not a URL ("42") is unique within its blog only: it is scoped by the feed's link
    item = ('<item><title>T</title><guid isPermaLink="false">42</guid>'
            "<pubDate>Sat, 10 Jun 2023 08:00:00 +0000</pubDate><description>D</description></item></channel></rss>\n")
    one = rss(tmp_path / "one.rss", item)
    two = rss(tmp_path / "two.rss", item)
    two.write_text(two.read_text().replace("https://b.example/", "https://other.example/"))
    ids = [p["post_id"] for path in (one, two) for p in read_posts("feed", str(path), "ann")]
    assert len(ids) == 2 and ids[0] != ids[1]
