"""X/Twitter "download your data" archive: `data/tweets.js` (and `tweets-part1.js`, ...), or the archive zip.

Each file is `window.YTD.tweets.part0 = [{"tweet": {...}}, ...]`, one JSON document, so it is read whole (the
format offers no way to stream it). Mapping, per tweet:

- `post_id` = `tw-<id_str>`; `text` = `full_text` with HTML entities decoded and t.co links expanded (a photo's or
  video's own link left out);
- `likes` = `favorite_count`, `shares` = `retweet_count`; `replies` = 0: the archive has no reply counts;
- retweets (`full_text` starting "RT @") are `is_share`; their counts in the archive are the original tweet's,
  earned by someone else, so they are set to 0;
- a reply's `context` is its parent's text when the parent tweet is in the archive too (the person's own
  threads); the archive has no other tweets' text;
- a long tweet (a "note tweet", over 280 characters) is cut short in tweets.js; its whole text is in
  `data/note-tweet.js`, which names no tweet: a note is the tweet posted in the same second whose text it begins
  with (links and leading @mentions aside), and that text replaces the cut one;
- an edited tweet is a new tweet with a new id, its earlier versions listed in `edit_info` and in the archive too:
  it is one post, the latest version's, with every version's likes and retweets;
- tweets posted to a Community are in `data/community-tweet.js`, in the same form: they are public, and read too;
- tweets posted to a Twitter Circle (a chosen few) are in tweets.js too, and listed again in
  `data/twitter-circle-tweet.js`: they are not public, so they are not imported (as Mastodon's direct and
  followers-only posts are not).

A data/tweets.js given by itself is read with the community-tweet.js, note-tweet.js and twitter-circle-tweet.js
beside it.
"""

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from matcher.importers.common import (
    LeftOut,
    Member,
    basename,
    find_members,
    format_error,
    is_archive,
    make_post,
    post_time,
    whole_count,
)

SOURCE = "twitter-archive"
_FILE = re.compile(r"tweets?(-part\d+)?\.js")
_COMMUNITY = re.compile(r"community-tweet(-part\d+)?\.js")
_NOTES = re.compile(r"note-tweet(-part\d+)?\.js")
_CIRCLE = re.compile(r"twitter-circle-tweet(-part\d+)?\.js")
_FIX = "give the untouched data/tweets.js, or the archive zip as downloaded from 'Download an archive of your data'"
_ID, _STRING = (str, int), (str,)
_TYPES = {"id_str": _ID, "id": _ID, "full_text": _STRING, "text": _STRING, "created_at": _STRING, "entities": (dict,),
          "in_reply_to_status_id_str": _ID, "in_reply_to_status_id": _ID}
_TYPE_NAMES = {_ID: "a string or a whole number", _STRING: "a string", (dict,): "an object {...}"}


CIRCLE = LeftOut("for a Twitter Circle only (not public)")
EARLIER = LeftOut("an earlier version of an edited tweet (its likes and retweets go to the latest)")


def read_twitter_archive(path: str, user_id: str) -> Iterator[dict[str, Any] | LeftOut]:
    """Posts of one person's X/Twitter archive (the zip, its folder, or a tweets.js file), filed under user_id."""
    members = _members(path, _FILE, required=True) + _members(path, _COMMUNITY)
    circle = {_id(t) for m in _members(path, _CIRCLE) for t in _load(m)} - {""}
    notes = _notes(_members(path, _NOTES))
    listed = [(m.label, i, t) for m in members for i, t in enumerate(_load(m))]
    tweets = [(label, i, t) for label, i, t in listed if _id(t) not in circle]
    yield from [CIRCLE] * (len(listed) - len(tweets))
    created = [_created(t, label, i) for label, i, t in tweets]  # read once: the notes and the posts need it
    texts = {_id(t): _text(t, notes, when) for (_, _, t), when in zip(tweets, created, strict=True)}
    posts = {_id(t): _post(label, index, t, user_id, texts, when)
             for (label, index, t), when in zip(tweets, created, strict=True)}
    for old, new in _edited(tweets, set(posts)).items():  # one post an edited tweet, with every version's counts
        for key in ("likes", "shares"):
            posts[new][key] += posts[old][key]
        del posts[old]
        yield EARLIER
    yield from posts.values()


def _edited(tweets: list[tuple[str, int, dict[str, Any]]], present: set[str]) -> dict[str, str]:
    """Each earlier version of an edited tweet -> its latest version in the archive. An edit is a new tweet with a
    new id, listed with the earlier ones in `edit_info`; all of them are in the archive."""
    out: dict[str, str] = {}
    for label, index, tweet in tweets:
        info = tweet.get("edit_info") or {}
        chain = (info.get("initial") or {}).get("editTweetIds") if isinstance(info, dict) else None
        if isinstance(info, dict) and chain is None:
            chain = ((info.get("edit") or {}).get("editControlInitial") or {}).get("editTweetIds")
        if chain is None:
            continue
        if not isinstance(chain, list) or not all(isinstance(x, (str, int)) and not isinstance(x, bool)
                                                  for x in chain):
            raise format_error(label, f"JSON path $[{index}].tweet.edit_info", "editTweetIds is not a list of tweet "
                               "ids", _FIX)
        versions = sorted({str(x) for x in chain} & present, key=lambda x: (len(x), x))  # ids grow with time
        out.update(dict.fromkeys(versions[:-1], versions[-1]))
    return out


def _members(path: str, name: re.Pattern[str], required: bool = False) -> list[Member]:
    """The archive's files of one kind, in part order (x.js, then x-part1.js, x-part2.js, ... x-part10.js). Beside a
    .js file given by itself, its siblings of that kind: `data/tweets.js` given alone brings its `tweets-part1.js`, ...
    (before, their tweets were left out, unsaid). A file of another name given for the tweets is the only tweets file
    read (its folder's community, note and circle files still are)."""
    def wanted(member: str) -> bool:
        return bool(name.fullmatch(basename(member)))

    given = Path(path)
    if not given.is_file() or is_archive(given) or (required and not wanted(given.name)):
        found = find_members(path, wanted, "data/tweets.js", _FIX, required=required)
    else:
        found = [Member(str(p), str(p)) for p in sorted(given.parent.iterdir()) if p.is_file() and wanted(p.name)]
    return sorted(found, key=lambda m: _part(m, name))


def _part(member: Member, name: re.Pattern[str]) -> tuple[str, int]:
    match = name.fullmatch(basename(member.name))
    return member.label.rsplit("/", 1)[0], int(match.group(1)[5:]) if match and match.group(1) else 0


def _notes(members: list[Member]) -> dict[int, list[str]]:
    """The whole texts of the archive's long tweets (note-tweet.js), by the second they were posted."""
    notes: dict[int, list[str]] = {}
    for member in members:
        for i, note in enumerate(_load(member, "noteTweet")):
            where = f"JSON path $[{i}].noteTweet"
            core = note.get("core")
            if not isinstance(core, dict) or not isinstance(core.get("text"), str):
                raise format_error(member.label, f"{where}.core.text", "missing, or not a string", _FIX)
            try:
                created = dt.datetime.fromisoformat(str(note.get("createdAt")))
            except ValueError:
                raise format_error(member.label, f"{where}.createdAt", f"{note.get('createdAt')!r} is not a time like "
                                   "'2023-02-10T15:04:05.000Z'", _FIX) from None
            if created.tzinfo is None:
                raise format_error(member.label, f"{where}.createdAt", f"{note.get('createdAt')!r} has no time zone",
                                   _FIX)
            text = html.unescape(core["text"])
            for url in core.get("urls") or []:
                if isinstance(url, dict):
                    short = url.get("shortUrl") or url.get("url")
                    full = url.get("expandedUrl") or url.get("expanded_url")
                    if isinstance(short, str) and isinstance(full, str) and short and full:
                        text = text.replace(short, full)
            notes.setdefault(int(created.timestamp()), []).append(text)
    return notes


def _load(member: Member, key: str = "tweet") -> list[dict[str, Any]]:
    """The items of one .js file: the JSON array after `window.YTD.<name>.partN =`, each {key: {...}}."""
    try:
        text = member.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise format_error(member.label, f"byte {exc.start}", "not UTF-8 text", _FIX) from None
    head, equals, _ = text.partition("=")
    if not equals or not head.strip().startswith("window.YTD."):
        raise format_error(member.label, "line 1", "does not start with 'window.YTD.tweets.part0 = ['", _FIX)
    start = len(head) + 1
    while start < len(text) and text[start].isspace():
        start += 1
    try:
        items, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise format_error(member.label, f"line {exc.lineno}, column {exc.colno}",
                           f"not valid JSON ({exc.msg}); the file looks truncated or edited", _FIX) from None
    except RecursionError:
        raise format_error(member.label, "", "the JSON is nested too deeply to be a list of tweets; the file looks "
                           "edited", _FIX) from None
    if text[end:].strip() not in ("", ";"):
        raise format_error(member.label, f"character {end}", "unexpected text after the list of tweets", _FIX)
    if not isinstance(items, list):
        raise format_error(member.label, "JSON path $", "expected a list of tweets", _FIX)
    tweets = []
    for i, item in enumerate(items):
        tweet = item.get(key, item) if isinstance(item, dict) else None
        if not isinstance(tweet, dict):
            raise format_error(member.label, f"JSON path $[{i}]", f'expected an object {{"{key}": {{...}}}}', _FIX)
        if key == "tweet":
            _check_types(member.label, i, tweet)
        tweets.append(tweet)
    return tweets


def _check_types(label: str, index: int, tweet: dict[str, Any]) -> None:
    """The fields read keep the archive's JSON types: anything else is a format error, never a stringified value."""
    where = f"JSON path $[{index}].tweet"
    for key, types in _TYPES.items():
        value = tweet.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            raise format_error(label, f"{where}.{key}", f"expected {_TYPE_NAMES[types]}, found "
                               f"{json.dumps(value)[:60]}", _FIX)
    urls = (tweet.get("entities") or {}).get("urls")
    if urls is not None and not isinstance(urls, list):
        raise format_error(label, f"{where}.entities.urls", f"expected a list, found {json.dumps(urls)[:60]}", _FIX)


def _id(tweet: dict[str, Any]) -> str:
    return str(tweet.get("id_str") or tweet.get("id") or "").strip()


def _text(tweet: dict[str, Any], notes: dict[int, list[str]], created: dt.datetime) -> str:
    """The tweet's text, t.co links expanded; a photo or video's own t.co link (``entities.media``) left out, as it
    says nothing but "a picture" (kept, expanded, for a tweet that is nothing else); a long tweet's whole text from
    its note."""
    text = html.unescape(str(tweet.get("full_text") or tweet.get("text") or ""))
    for url in (tweet.get("entities") or {}).get("urls") or []:
        if isinstance(url, dict) and url.get("url") and url.get("expanded_url"):
            text = text.replace(str(url["url"]), str(url["expanded_url"]))
    for media in (tweet.get("entities") or {}).get("media") or []:
        if isinstance(media, dict) and media.get("url"):
            link = re.compile(r"[ \t]*" + re.escape(str(media["url"])) + r"(?!\S)")  # the link whole, not a prefix
            rest = link.sub("", text).strip()
            if rest != text.strip():
                expanded = str(media.get("expanded_url") or media["url"])
                text = rest or link.sub(lambda _, shown=expanded: shown, text).strip()  # type: ignore[misc]  # (mypy: a default)
    same_second = notes.get(int(created.timestamp()), [])
    start = _comparable(text)[:80]
    for note in same_second:
        if len(start) >= 10 and _comparable(note).startswith(start):
            mentions = _MENTIONS.match(text)
            return note if not mentions or note.startswith(mentions.group(0).strip()) else mentions.group(0) + note
    return text


_LINK = re.compile(r"https?://\S+")
_MENTIONS = re.compile(r"(?:@\w+\s+)+")


def _comparable(text: str) -> str:
    """Text as a note and its cut tweet share it: no links, leading @mentions or ellipsis; spaces and case folded."""
    text = _MENTIONS.sub("", _LINK.sub(" ", text), count=1) if _MENTIONS.match(text) else _LINK.sub(" ", text)
    return " ".join(text.replace("\u2026", " ").split()).casefold()


def _created(tweet: dict[str, Any], label: str, index: int) -> dt.datetime:
    try:
        return dt.datetime.strptime(str(tweet.get("created_at")), "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        raise format_error(label, f"JSON path $[{index}].tweet.created_at", f"{tweet.get('created_at')!r} is not a "
                           "time like 'Wed Oct 10 20:19:24 +0000 2018'", _FIX) from None


def _post(label: str, index: int, tweet: dict[str, Any], user_id: str, texts: dict[str, str],
          created: dt.datetime) -> dict[str, Any]:
    where = f"JSON path $[{index}].tweet"
    tweet_id = _id(tweet)
    if not tweet_id:
        raise format_error(label, f"{where}.id_str", "missing", _FIX)
    if "full_text" not in tweet and "text" not in tweet:
        raise format_error(label, f"{where}.full_text", "missing", _FIX)
    when = post_time(created, tweet.get("created_at"), label, f"{where}.created_at", _FIX)
    text = texts[tweet_id]
    is_share = text.startswith("RT @") or tweet.get("retweeted") is True
    parent = tweet.get("in_reply_to_status_id_str") or tweet.get("in_reply_to_status_id")
    likes, shares = (0, 0) if is_share else (_count(label, where, tweet, "favorite_count"),
                                             _count(label, where, tweet, "retweet_count"))
    return make_post(SOURCE, "twitter", f"tw-{tweet_id}", user_id, text, when, likes=likes,
                     shares=shares, context=texts.get(str(parent)) if parent else None, is_share=is_share)


def _count(label: str, where: str, tweet: dict[str, Any], key: str) -> int:
    return whole_count(tweet.get(key, 0), label, f"{where}.{key}", _FIX)
