"""What a post and a user are at the edge: the pydantic input models, their field hints, and the text forms.

Everything read from a file is validated here once; after that the pipeline trusts its types.
"""

import datetime as dt
import html
import numbers
import re
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalog.schema import INT64_MAX, id_text, refuse_invisible, refuse_nul
from matcher.errors import PerkmatchError, WrongArgumentError

CONSENT_VALUES = ("opted_in", "opted_out")
POLICIES = ("opt-in", "opt-out")  # who may be stored and profiled: those who opted in, or all but those who opted out


def check_policy(policy: str) -> None:
    """Refuse a consent policy that is not one of the two: a typo must never include people who did not opt in."""
    if policy not in POLICIES:
        raise PerkmatchError(f"--consent-policy {policy}: use opt-in or opt-out")
POST_HINTS = {
    "post_id": "give every post its id on the platform",
    "user_id": "give the author's user id",
    "text": "give the post body as a string",
    "created_at": "give an ISO-8601 time such as 2024-05-01T12:00:00Z, or Unix seconds",
    "likes": "give a whole number (negative allowed for net votes)",
    "replies": "give a whole number >= 0",
    "shares": "give a whole number >= 0",
    "is_share": "write true or false",
}
USER_HINTS = {
    "user_id": "give the user's id",
    "consent": "write opted_in or opted_out, or leave it out",
    "region": "give an ISO 3166 code such as US, US-NY or GB",
    "sensitive_opt_in": "list sensitive topic_ids the user chose to share (CSV: separate with '|')",
}
USER_TEXTS = ("user_id", "handle", "region", "consent", "sensitive_opt_in")  # kept as written in YAML (NO: Norway)
LATEST = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a date can hold
_LINK = re.compile(r"\[([^\]]*)\]\((?:https?://|/)[^)]*\)")
_URL = re.compile(r"https?://\S+|www\.\S+")


def embed_form(text: str) -> str:
    """The form of a text that is embedded: markup links and URLs reduced, entities and spaces normalised."""
    text = html.unescape(text)
    if "](" in text:  # each pattern is tried only where it can match: most texts have no link (the same result)
        text = _LINK.sub(r"\1", text)
    if "http" in text or "www." in text:
        text = _URL.sub(" ", text)
    return " ".join(text.split())  # runs of whitespace to one space, trimmed (str.split's whitespace is re's \s)


def iso_moment(text: str) -> dt.datetime:
    """An ISO-8601 time as written (``fromisoformat``, with UTC's "Z", or "z", which RFC 3339 allows)."""
    return dt.datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", text))


def to_epoch(value: Any) -> int:
    """ISO-8601 string (naive means UTC) or Unix seconds, as integer Unix seconds."""
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return int(float(text))
    parsed = iso_moment(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp())


def require_as_of(as_of: object, who: str) -> None:
    """Refuse an ``as_of`` that is not Unix seconds (or None: today), naming the fix: before, a date string given to
    the library failed deep inside (numpy's UFuncTypeError in a profile run, a TypeError in a match)."""
    if as_of is None or (isinstance(as_of, numbers.Integral) and not isinstance(as_of, bool)):  # NumPy's ints too
        return
    raise WrongArgumentError(f"{who}: as_of takes Unix seconds, an int (given {type(as_of).__name__} {as_of!r}); "
                             "for a date, give matcher.records.end_of_day(datetime.date(...)), or None for today")


def utc_day(seconds: int) -> dt.date:
    """The UTC calendar day of Unix seconds (a run's as-of day, the day offer dates are checked on)."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).date()


def end_of_day(day: dt.date) -> int:
    """The last second of a UTC day: posts written that day count, and the run's day (for offer dates, reports) is
    that day, not the next."""
    return int(dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC).timestamp())  # (9999-12-31 has no next day)


def as_of_text(seconds: int) -> str:
    """A run's as-of as `--as-of` takes it back: the day alone when it is that day's last second (as `--as-of DATE`
    and the default give it), else the moment, ``2026-11-20T00:00:00Z`` (the demo's): two runs shown as of the same
    day then are as of the same moment."""
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    if (moment.hour, moment.minute, moment.second) == (23, 59, 59):
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def one_form(value: Any) -> Any:
    """An id in Unicode's composed form (NFC), as ingest stores ids and every command reads them: "josé" typed on a
    keyboard and "josé" from a file written decomposed (an e and a combining accent, as macOS writes names) are one
    user. Before, the opt-out of one left the other's posts stored, and the opt-in of one left the other's
    skipped."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) and not value.isascii() else value


class PostIn(BaseModel):
    """One post as written in a posts file."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    post_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    text: str
    created_at: int
    platform: str = "unknown"
    likes: int = Field(default=0, ge=-INT64_MAX, le=INT64_MAX)
    replies: int = Field(default=0, ge=0, le=INT64_MAX)
    shares: int = Field(default=0, ge=0, le=INT64_MAX)
    context: str | None = None
    is_share: bool = False

    @field_validator("text", "context", mode="after")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        """NUL characters (U+0000: text pasted from a PDF or a binary file) are dropped: they mean nothing in a
        text, and PostgreSQL cannot store them."""
        return value.replace("\x00", "") if value is not None and "\x00" in value else value

    @field_validator("post_id", "user_id", mode="after")
    @classmethod
    def _id_visible(cls, value: str) -> str:
        return refuse_invisible(value)

    @field_validator("platform", mode="after")
    @classmethod
    def _id_no_nul(cls, value: str) -> str:
        return refuse_nul(value)

    @field_validator("post_id", "user_id", "text", "platform", "context", mode="after")
    @classmethod
    def _encodable(cls, value: str | None) -> str | None:
        if value is not None and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                half = value[exc.start:exc.end].encode("unicode_escape").decode()
                raise ValueError(f"holds half of a character ({half}, an unpaired surrogate); "
                                 "give the text as valid UTF-8") from exc
        return value

    @field_validator("post_id", "user_id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        value = id_text(value)
        return one_form(value.strip()) if isinstance(value, str) else value

    @field_validator("platform", mode="before")
    @classmethod
    def _platform_text(cls, value: Any) -> Any:
        if value is None:  # JSON null: not given, as a blank CSV cell
            return "unknown"
        return str(value).strip() if isinstance(value, int | float | str) and not isinstance(value, bool) else value

    @field_validator("is_share", mode="before")
    @classmethod
    def _not_given(cls, value: Any) -> Any:
        return False if value is None else value  # JSON null: not given (as likes, replies and shares)

    @field_validator("created_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> int:
        try:
            seconds = to_epoch(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ValueError("not a date-time") from exc
        if not 0 <= seconds <= LATEST:
            number = isinstance(value, int | float) or str(value).strip().lstrip("-").replace(".", "", 1).isdigit()
            millis = " (it looks like milliseconds: divide by 1000)" if 0 <= seconds // 1000 <= LATEST else ""
            raise ValueError(f"{str(value).strip()} is outside 1970-01-01 .. 9999-12-31"
                             + (f" in Unix seconds{millis}" if number else ""))
        return seconds

    @field_validator("likes", "replies", "shares", mode="before")
    @classmethod
    def _blank_zero(cls, value: Any) -> Any:
        if isinstance(value, bool):  # JSON true/false would be read as 1/0
            raise ValueError("true/false is not a count")
        return 0 if value is None or value == "" else value

    @field_validator("platform", mode="after")
    @classmethod
    def _platform(cls, value: str) -> str:
        return value.lower() or "unknown"


class UserIn(BaseModel):
    """One user as written in a users file; fields beyond these are kept in `extra`."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    user_id: str = Field(min_length=1)
    handle: str | None = None
    region: str | None = None
    consent: str | None = None
    sensitive_opt_in: list[str] = []

    @field_validator("user_id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:  # not a bool: true is no user id (it was stored as "True")
        return one_form(id_text(value))

    @field_validator("handle", mode="after")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        return None if value is None else refuse_nul(value)

    @field_validator("user_id", mode="after")
    @classmethod
    def _visible(cls, value: str) -> str:
        return refuse_invisible(value)

    @field_validator("consent", mode="after")
    @classmethod
    def _consent(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if value not in CONSENT_VALUES:
            raise ValueError("must be opted_in or opted_out")
        return value

    @field_validator("region", mode="after")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        from catalog.schema import region_code

        return region_code(value) if value else None

    @field_validator("sensitive_opt_in", mode="before")
    @classmethod
    def _opt_in(cls, value: Any) -> Any:
        from catalog.schema import split_list

        return split_list(value)
