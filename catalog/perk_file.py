"""A catalog file read and checked (``catalog.refresh`` loads it as a version): every row validated, a perk id given
twice, topics the taxonomy lacks or marks sensitive, dates out of order, and warnings for fields ignored that look
meant for a limit and for offers that ended before today."""

import datetime as dt
import os
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from catalog.errors import InputFileError, Problem
from catalog.rows import iter_rows, meant_by, meant_ids, validate
from catalog.schema import PERK_HINTS, PERK_TEXTS, PERK_YAML_TEXTS, PerkIn
from catalog.yaml_rows import field_line

# names a catalog may give an optional field by (an unknown field is ignored: a perk's limit given as "qty" or
# "region" would be silently lost, and the perk unlimited or offered everywhere)
MEANT = {"quantity": ("qty", "stock", "units", "inventory", "quantity_available", "available_quantity",
                      "supply"),
         "regions": ("region", "country", "countries", "market", "markets", "geo"),
         "starts": ("start", "start_date", "start_time", "starts_at", "start_at", "begins", "begins_at",
                    "valid_from", "available_from"),
         "ends": ("end", "end_date", "end_time", "ends_at", "end_at", "expires", "expires_at", "expiry",
                  "expiry_date", "expiration", "expiration_date", "valid_until", "valid_to", "valid_through",
                  "available_until"),
         "topics": ("topic", "topic_ids", "tags", "categories")}
_WHAT = {"quantity": "the perk has no quantity limit", "regions": "the perk is offered in every region",
         "starts": "the perk's offer has no start date", "ends": "the perk's offer never ends",
         "topics": "the perk names no topic"}


def meant_field(key: str) -> str | None:
    """The optional perk field an unknown one plainly meant ("Quantity", "qty", "region", "end_date"), if any: by
    name only, never by spelling alone ("status" is not "starts")."""
    return meant_by(key, MEANT)


def near_misses(path: str, ignored: dict[tuple[str, str], list[int]]) -> list[str]:
    """Warnings for fields ignored that look meant for an optional field the rows lack (``meant_field``): by field,
    with the lines that give it."""
    out = []
    for (key, wanted), lines in sorted(ignored.items(), key=lambda item: item[1][0]):
        shown = ", ".join(map(str, lines[:5])) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
        out.append(f"{path}: field '{key}' (line{'s' if len(lines) > 1 else ''} {shown}) is not one perkmatch reads, "
                   f"and is ignored: did you mean '{wanted}'? Without it, {_WHAT[wanted]}")
    return out


PERK_COLUMNS = tuple(name for name, field in PerkIn.model_fields.items() if field.is_required())  # a CSV names them


def read_catalog(path: str | os.PathLike[str], topics: Collection[str] | None = None, sensitive: Iterable[str] = (),
                 warnings: list[str] | None = None) -> list[PerkIn]:
    """Validate a whole catalog file; raise InputFileError listing every problem (a perk id given twice is found
    even when one of its rows has other problems). ``warnings`` gets what is ignored that looks like a mistake
    (``near_misses``)."""
    path = os.fspath(path)
    sensitive = set(sensitive)
    problems: list[Problem] = []
    perks: list[PerkIn] = []
    first_line: dict[str, int] = {}  # by the id's composed form (NFC)
    written: set[str] = set()  # the ids as written
    ignored: dict[tuple[str, str], list[int]] = {}
    for line, row in iter_rows(path, columns=PERK_COLUMNS, texts=PERK_YAML_TEXTS, known=frozenset(PerkIn.model_fields)):
        if isinstance(row, Problem):
            problems.append(row)
            continue
        _note_ignored(row, line, ignored)
        result = validate(path, line, row, PerkIn, PERK_HINTS)
        perk_id = str(row.get("perk_id") or "").strip() if isinstance(result, list) else result.perk_id
        problems.extend(_given_twice(path, line, perk_id, first_line, written))
        if isinstance(result, list):
            problems.extend(result)
            readable = _readable_part(row, result)  # its other fields are checked too: every problem is listed
            if readable is not None:
                problems.extend(_check_perk(path, line, readable, topics, sensitive))
            continue
        problems.extend(_check_perk(path, line, result, topics, sensitive))
        perks.append(result)
    if problems:
        raise InputFileError(path, problems, "Fix these rows and run the command again; the catalog is unchanged.")
    if warnings is not None:
        warnings.extend(near_misses(path, ignored))
        warnings.extend(ended_offers(path, perks, first_line))
    return perks


def _note_ignored(row: dict[str, Any], line: int, ignored: dict[tuple[str, str], list[int]]) -> None:
    """This row's line (the field's own, where the rows know it: YAML's ``ItemLine``), under each field it gives that
    perkmatch ignores but that looks meant for an optional field the row lacks (``meant_field``)."""
    for key in row:
        wanted = None if key in PerkIn.model_fields else meant_field(str(key))
        if wanted and row.get(wanted) in (None, "", []):  # (given too: the extra one is the row's own)
            ignored.setdefault((str(key), wanted), []).append(field_line(line, str(key)))


def _given_twice(path: str, line: int, perk_id: str, first_line: dict[str, int], written: set[str]) -> list[Problem]:
    """The problem of a perk id an earlier row gave (``first_line``: by the id's composed form, NFC; ``written``: the
    ids as written); a new one is recorded there."""
    one = unicodedata.normalize("NFC", perk_id)  # "café" and "café" (decomposed) look the same: one id
    if one in first_line:
        other = "" if perk_id in written else " (written there in another Unicode form)"
        return [Problem(path, line, "perk_id", f"'{perk_id}' already appears on line {first_line[one]}{other}; "
                        "perk ids must be unique")]
    if perk_id:
        first_line[one] = line
        written.add(perk_id)
    return []


def ended_offers(path: str, perks: list[PerkIn], lines: dict[str, int], today: dt.date | None = None) -> list[str]:
    """A warning for perks whose offer ended before today (before, loaded without a word): a match as of today
    withholds them from everyone, which is right for an old offer kept in the file and wrong for a mistyped year."""
    today = today or dt.datetime.now(dt.UTC).date()
    ended = [p for p in perks if p.ends is not None and p.ends < today]
    if not ended:
        return []
    # ``lines`` is keyed by each id's composed form (NFC), as ``read_catalog`` tells ids apart: an id written
    # decomposed was looked up as written, and the refresh ended in a KeyError
    shown = ", ".join(f"{p.perk_id} (line {lines[unicodedata.normalize('NFC', p.perk_id)]}, ends {p.ends})"
                      for p in ended[:5])
    more = f" and {len(ended) - 5} more" if len(ended) > 5 else ""
    return [f"{path}: {len(ended)} perk(s) whose offer ended before today ({today}): {shown}{more}; a match as of "
            "today withholds them from everyone; fix 'ends' if the offer goes on"]


def _readable_part(row: dict[str, Any], problems: list[Problem]) -> PerkIn | None:
    """The row without the fields it has problems with (a required one stands in as "?"), for the checks that need a
    valid perk: its topics and dates are then checked even when, say, its description is missing."""
    bad = {p.field.split(".")[0] for p in problems}
    rest = {k: v for k, v in row.items() if k not in bad} | dict.fromkeys(bad & set(PERK_TEXTS), "?")
    try:
        return PerkIn.model_validate(rest)
    except ValidationError:
        return None


def _check_perk(path: str, line: int, perk: PerkIn, topics: Collection[str] | None, sensitive: set[str]
                ) -> list[Problem]:
    out = []
    if perk.starts and perk.ends and perk.ends < perk.starts:
        out.append(Problem(path, line, "ends", f"{perk.ends} is before starts {perk.starts}; swap or fix the dates"))
    for topic in perk.topics:
        if topic in sensitive:
            out.append(Problem(path, line, "topics", f"'{topic}' is a sensitive topic; brands cannot target "
                               "health, religion, sexuality, politics and the like: remove it"))
        elif topics is not None and topic not in topics:
            meant = _meant(topic, topics, sensitive)
            out.append(Problem(path, line, "topics", f"'{topic}' is not in the loaded taxonomy; "
                               + (f"did you mean {meant}? If not, use" if meant else "use")
                               + " a topic_id `perkmatch taxonomy show` lists, or remove it"))
    return out


def _meant(topic: str, topics: Collection[str], sensitive: set[str]) -> str:
    """The ids meant by a topic given by its name (IAB's "Rugby League" for its id '528'), in another case, or with a
    typo in its id (``catalog.rows.meant_ids``), with their names ("'528' (Rugby League)"); "" when none is near.
    ``topics`` maps the ids to their names where known. A sensitive topic is never offered: brands cannot target it."""
    names = topics if isinstance(topics, Mapping) else {}
    near = meant_ids(topic, {t: str(names.get(t) or "") for t in sorted(set(topics) - sensitive)})
    return " or ".join(f"'{t}'" + (f" ({names[t]})" if names.get(t) else "") for t in near)
