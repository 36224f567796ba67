"""What a perk is: the input model (validated at the edge) and the stored, versioned tables.

No ``from __future__ import annotations`` here: it breaks SQLModel tables.
"""

import datetime as dt
import functools
import hashlib
import json
import re
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic import Field as InputField
from sqlmodel import Field, SQLModel

PERK_HINTS = {
    "perk_id": "give every perk a stable, unique id",
    "brand": "name the brand that offers the perk",
    "title": "give the perk a short title",
    "description": "say in a sentence what the perk is and who it is for",
    "topics": "list taxonomy topic_ids (CSV: separate them with '|')",
    "regions": "list ISO 3166 codes such as US, US-NY, GB (CSV: separate them with '|')",
    "quantity": "give a whole number >= 0, or leave it out for unlimited",
    "starts": "give an ISO date such as 2026-01-31",
    "ends": "give an ISO date such as 2026-12-31, on or after 'starts'",
}
PERK_TEXTS = ("perk_id", "brand", "title", "description")  # text however YAML would read it unquoted ...
PERK_YAML_TEXTS = (*PERK_TEXTS, "regions", "topics")  # ... and so are these lists' items (Norway is NO, not False)


def split_list(value: Any) -> Any:
    """Lists may come as real lists, or as one string separated by '|' (CSV) or ','."""
    if value is None:
        return []
    if isinstance(value, str):
        sep = "|" if "|" in value else ","
        return [part.strip() for part in value.split(sep) if part.strip()]
    return value


EXACT = 2**53  # JSON numbers are read as floats, which hold every whole number below this exactly
INT64_MAX = 2**63 - 1  # the largest whole number SQLite and PostgreSQL store
NUMBER = re.compile(r"[+-]?(?=[\d_.]*\d)[\d_.]+([eE][+-]?\d+)?")  # a date as a number (Unix time?): not ISO
REGION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")  # ISO 3166-1 alpha-2, optionally with an ISO 3166-2 subdivision


NOT_COUNTRIES = {"UK": "the United Kingdom is GB", "EL": "Greece is GR",
                 "EU": "list each country instead (e.g. FR, DE, IT): a region is one country, or a part of one"}


def id_text(value: Any) -> Any:
    """An id given as a JSON number, as text: an integer as its digits, and so a float that is a whole number held
    exactly (12.0 is "12"); a float with a fraction, or too large to keep every digit (1e20, 1.2345678901234568e+18
    from a writer that turned a long id into a float), is refused. Anything else is left to the model."""
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is a number with a fraction, not an id; write the id in quotes, as a string")
        if abs(value) >= EXACT:
            raise ValueError(f"{value!r} is a number too large for JSON to keep every digit; write the id in quotes, "
                             "as a string")
        return str(int(value))
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def refuse_nul(value: str) -> str:
    """A text that must hold no NUL character (U+0000): PostgreSQL cannot store one, and it means nothing in an id or
    a perk's text."""
    if "\x00" in value:
        raise ValueError("holds a NUL character (\\u0000); remove it")
    return value


def refuse_invisible(value: str) -> str:
    """An id that must be visible text: no NUL, no control or format character (a zero-width space, a bidi
    override, a soft hyphen), with which "ann" and "ann\u200b" would be two users who look the same."""
    refuse_nul(value)
    hidden = next((ch for ch in value if unicodedata.category(ch) in ("Cc", "Cf")), None)
    if hidden is not None:
        raise ValueError(f"holds an invisible character (U+{ord(hidden):04X}, {unicodedata.name(hidden, 'a control')});"
                         " remove it: an id must be visible text")
    return value


def brand_key(brand: str) -> str:
    """A brand's name as every brand rule compares it: without case, width or spacing differences ("Acme", "acme ",
    "ACME" and "Ａｃｍｅ" are one brand: to the per-brand limit, to ``report brand``, to a brand given as a perk id)."""
    return " ".join(unicodedata.normalize("NFKC", brand).split()).casefold()


def region_code(value: str) -> str:
    """A region as stored: upper case, an ISO 3166-1 country (US, GB) or an ISO 3166-2 part of one (US-NY), known
    to ``pycountry``; anything else is an error (a misspelt region would silently make a user, or a perk, match no
    region-limited perk)."""
    import pycountry  # its tables load on first use

    code = value.strip().upper()
    country = code.split("-", 1)[0]
    if not REGION.fullmatch(code):
        raise ValueError(f"{value!r} is not an ISO 3166 code{country_meant(value)}")
    if country in NOT_COUNTRIES:
        raise ValueError(f"{value!r} is not an ISO 3166 country code: {NOT_COUNTRIES[country]}")
    if pycountry.countries.get(alpha_2=country) is None:
        raise ValueError(f"{value!r}: {country!r} is not an ISO 3166 country code")
    if code != country and pycountry.subdivisions.get(code=code) is None:  # type: ignore[no-untyped-call]  # (pycountry)
        raise ValueError(f"{value!r} is not an ISO 3166-2 subdivision of {country}; give the country alone, or a "
                         f"code such as US-NY")
    return code


@functools.cache
def country_meant(value: str) -> str:
    """The code of the country a region not written as a code means, for its error: a country's name or its
    3-letter code ("Canada", "USA": "; Canada is CA"), or one a near typo of a name ("Canda": "; did you mean CA
    (Canada)?"); "" when none is plain. Before, "Canada" was only "not an ISO 3166 code"."""
    import difflib

    import pycountry

    text = " ".join(value.split())
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        names = {_called(c).casefold(): c for c in pycountry.countries}
        near = difflib.get_close_matches(text.casefold(), sorted(names), n=1, cutoff=0.8)
        return f"; did you mean {names[near[0]].alpha_2} ({_called(names[near[0]])})?" if near else ""
    return f"; {_called(country)} is {country.alpha_2}"


def _called(country: Any) -> str:
    """A country's everyday name: Bolivia, not "Bolivia, Plurinational State of"."""
    return str(getattr(country, "common_name", country.name))


class PerkIn(BaseModel):
    """One perk as written in a catalog file."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    perk_id: str = InputField(min_length=1)
    brand: str = InputField(min_length=1)
    title: str = InputField(min_length=1)
    description: str = InputField(min_length=1)
    topics: list[str] = []
    regions: list[str] = []
    quantity: int | None = InputField(default=None, ge=0, le=INT64_MAX)
    starts: dt.date | None = None
    ends: dt.date | None = None

    @field_validator(*PERK_TEXTS, mode="before")
    @classmethod
    def _text(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"{str(value).lower()} is a yes/no value, not text; write the text in quotes")
        if info.field_name == "perk_id":
            return id_text(value)  # 12.0 is perk 12; 1e20 is refused (digits lost)
        return str(value) if isinstance(value, int | float) else value

    @field_validator("quantity", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        if isinstance(value, bool):  # pydantic would read true as 1
            raise ValueError(f"{str(value).lower()} is a yes/no value, not a number")
        return value

    @field_validator("starts", "ends", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, bool | int | float) or (isinstance(value, str) and NUMBER.fullmatch(value.strip())):
            raise ValueError(f"{value!r} is a number, not an ISO date")
        # read trimmed, as every other field is (a spreadsheet's "2025-03-02 " was refused as "input is too short")
        return value.strip() if isinstance(value, str) else value

    @field_validator("brand", "title", "description", mode="after")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        return refuse_nul(value)

    @field_validator("perk_id", mode="after")
    @classmethod
    def _visible(cls, value: str) -> str:
        return refuse_invisible(value)  # (no NUL either)

    @field_validator("topics", "regions", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return sorted({region_code(r) for r in value})

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    def embed_text(self) -> str:
        """The text that stands for the perk's meaning in the vector space."""
        return f"{self.brand}: {self.title}. {self.description}"

    def content_hash(self) -> str:
        """Changes whenever a field that affects matching or eligibility changes."""
        data = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


class CatalogVersion(SQLModel, table=True):
    """One refresh of the catalog. Only versions with status 'live' are ever served."""

    __tablename__ = "catalog_versions"

    version: int = Field(primary_key=True)
    created_at: dt.datetime
    source: str
    source_hash: str
    added: int = 0
    changed: int = 0
    retired: int = 0
    unchanged: int = 0
    embedded: int = 0
    model: str = ""
    status: str = "live"


class PerkRecord(SQLModel, table=True):
    """One version of one perk, valid from `version_added` until `version_retired` (exclusive)."""

    __tablename__ = "perks"

    id: int | None = Field(default=None, primary_key=True)
    perk_id: str = Field(index=True)
    version_added: int = Field(index=True)
    version_retired: int | None = Field(default=None, index=True)
    brand: str
    title: str
    description: str
    topics: str = "[]"
    regions: str = "[]"
    quantity: int | None = None
    starts: dt.date | None = None
    ends: dt.date | None = None
    content_hash: str
    text_hash: str

    def to_perk(self) -> PerkIn:
        """The perk as its catalog file gave it, as stored: validated when it was loaded, not again (a region code
        ISO 3166 has withdrawn since, which a newer ``pycountry`` refuses, made every `match` fail)."""
        return PerkIn.model_construct(
            perk_id=self.perk_id, brand=self.brand, title=self.title, description=self.description,
            topics=json.loads(self.topics), regions=json.loads(self.regions), quantity=self.quantity,
            starts=self.starts, ends=self.ends,
        )
