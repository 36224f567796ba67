"""X/Twitter "download your data" archive: `data/tweets.js` (and `tweets-part1.js`, ...), or the archive zip.

Each file is `window.YTD.tweets.part0 = [{"tweet": {...}}, ...]`, one JSON document, so it is read whole (the
format offers no way to stream it). Mapping, per tweet:

- `post_id` = `tw-<id_str>`; `text` = `full_text` with HTML entities decoded and t.co links expanded;
- `likes` = `favorite_count`, `shares` = `retweet_count`; `replies` = 0: the archive has no reply counts;
- retweets (`full_text` starting "RT @") are `is_share`; their counts in the archive are the original tweet's,
  earned by someone else, so they are set to 0;
- a reply's `context` is its parent's text when the parent tweet is in the archive too (the person's own
  threads); the archive has no other tweets' text.
"""

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from typing import Any

from matcher.importers.common import Member, basename, find_members, format_error, in_range, make_post, post_time

SOURCE = "twitter-archive"
_FILE = re.compile(r"tweets?(-part\d+)?\.js")
_FIX = "give the untouched data/tweets.js, or the archive zip as downloaded from 'Download an archive of your data'"
_ID, _STRING = (str, int), (str,)
_TYPES = {"id_str": _ID, "id": _ID, "full_text": _STRING, "text": _STRING, "created_at": _STRING, "entities": (dict,),
          "in_reply_to_status_id_str": _ID, "in_reply_to_status_id": _ID}
_TYPE_NAMES = {_ID: "a string or a whole number", _STRING: "a string", (dict,): "an object {...}"}


def read_twitter_archive(path: str, user_id: str) -> Iterator[dict[str, Any]]:
    """Posts of one person's X/Twitter archive (the zip, its folder, or a tweets.js file), filed under user_id."""
    members = find_members(path, lambda name: bool(_FILE.fullmatch(basename(name))), "data/tweets.js", _FIX)
    members.sort(key=_part)
    tweets = [(m.label, i, t) for m in members for i, t in enumerate(_load(m))]
    texts = {_id(t): _text(t) for _, _, t in tweets}
    for label, index, tweet in tweets:
        yield _post(label, index, tweet, user_id, texts)


def _part(member: Member) -> tuple[str, int]:
    """tweets.js, then tweets-part1.js, tweets-part2.js, ... tweets-part10.js."""
    match = _FILE.fullmatch(basename(member.name))
    return member.label.rsplit("/", 1)[0], int(match.group(1)[5:]) if match and match.group(1) else 0


def _load(member: Member) -> list[dict[str, Any]]:
    """The tweets of one .js file: the JSON array after `window.YTD.<name>.partN =`."""
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
        tweet = item.get("tweet", item) if isinstance(item, dict) else None
        if not isinstance(tweet, dict):
            raise format_error(member.label, f"JSON path $[{i}]", 'expected an object {"tweet": {...}}', _FIX)
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


def _text(tweet: dict[str, Any]) -> str:
    text = html.unescape(str(tweet.get("full_text") or tweet.get("text") or ""))
    for url in (tweet.get("entities") or {}).get("urls") or []:
        if isinstance(url, dict) and url.get("url") and url.get("expanded_url"):
            text = text.replace(str(url["url"]), str(url["expanded_url"]))
    return text


def _post(label: str, index: int, tweet: dict[str, Any], user_id: str, texts: dict[str, str]) -> dict[str, Any]:
    where = f"JSON path $[{index}].tweet"
    tweet_id = _id(tweet)
    if not tweet_id:
        raise format_error(label, f"{where}.id_str", "missing", _FIX)
    if "full_text" not in tweet and "text" not in tweet:
        raise format_error(label, f"{where}.full_text", "missing", _FIX)
    try:
        created = dt.datetime.strptime(str(tweet.get("created_at")), "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        raise format_error(label, f"{where}.created_at", f"{tweet.get('created_at')!r} is not a time like "
                           "'Wed Oct 10 20:19:24 +0000 2018'", _FIX) from None
    when = post_time(created, tweet.get("created_at"), label, f"{where}.created_at", _FIX)
    text = texts[tweet_id]
    is_share = text.startswith("RT @") or tweet.get("retweeted") is True
    parent = tweet.get("in_reply_to_status_id_str") or tweet.get("in_reply_to_status_id")
    likes, shares = (0, 0) if is_share else (_count(label, where, tweet, "favorite_count"),
                                             _count(label, where, tweet, "retweet_count"))
    return make_post(SOURCE, "twitter", f"tw-{tweet_id}", user_id, text, when, likes=likes,
                     shares=shares, context=texts.get(str(parent)) if parent else None, is_share=is_share)


def _count(label: str, where: str, tweet: dict[str, Any], key: str) -> int:
    value = tweet.get(key, 0)
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)  # true is no count, and 2.5 is not one to round
        count = int(value or 0)
    except (TypeError, ValueError, OverflowError):
        raise format_error(label, f"{where}.{key}", f"{value!r} is not a whole number", _FIX) from None
    return max(in_range(count, value, label, f"{where}.{key}", _FIX), 0)
