"""Versioned, incremental, atomic catalog refresh.

A refresh validates the whole file, diffs it against the live version, embeds only the perks whose
text is new (through the caller's cached ``VectorSource``), then writes the new version in one
transaction: readers see the old version or the new one, never a mix.
"""

import datetime as dt
import hashlib
import json
import os
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from catalog.errors import CatalogError, InputFileError, Problem, UnknownPerkError, WrongArgumentError
from catalog.rows import field_key, iter_rows, validate
from catalog.schema import PERK_HINTS, PERK_TEXTS, PERK_YAML_TEXTS, CatalogVersion, PerkIn, PerkRecord, brand_key


class VectorSource(Protocol):
    """Turns texts into unit-norm float32 vectors, caching them; counts what it really encoded."""

    name: str
    encoded: int

    def vectors(self, texts: list[str]) -> np.ndarray: ...

    def missing(self, keys: Iterable[str]) -> set[str]:
        """The keys (``text_key``) with no cached vector: what ``vectors`` would encode."""

    def fill(self, texts: dict[str, str], progress: Callable[[int], None] | None = None,
             known_missing: bool = False) -> int:
        """Embed and cache these texts (key -> text) not cached yet, calling ``progress(n)`` after each batch."""


def text_key(text: str) -> str:
    """The content hash that keys a text's embedding."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class CatalogDiff:
    """How a catalog file differs from the live version, as sorted perk ids."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.changed or self.retired)


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did (or, on a dry run, would do: the version it would create, the texts it would embed)."""

    version: int | None
    diff: CatalogDiff
    embedded: int
    applied: bool
    warnings: list[str] = field(default_factory=list)  # fields ignored that look meant for a limit (``near_misses``),
    # and offers that ended before today (``ended_offers``)

    def summary(self) -> dict[str, Any]:
        """The counts, and the ids the text output lists (``added_ids``, ``changed_ids``, ``retired_ids``); and
        ``warnings`` when there are any."""
        d = self.diff
        return {"version": self.version, "added": len(d.added), "changed": len(d.changed),
                "retired": len(d.retired), "unchanged": len(d.unchanged), "embedded": self.embedded,
                "added_ids": list(d.added), "changed_ids": list(d.changed), "retired_ids": list(d.retired)} | (
                    {"warnings": self.warnings} if self.warnings else {})


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
    name = field_key(key)
    return next((wanted for wanted, names in MEANT.items() if name == wanted or name in names), None)


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


def read_catalog(path: str | os.PathLike[str], topics: set[str] | None = None, sensitive: Iterable[str] = (),
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
        for key in row:
            wanted = None if key in PerkIn.model_fields else meant_field(str(key))
            if wanted and row.get(wanted) in (None, "", []):  # (given too: the extra one is the row's own)
                ignored.setdefault((str(key), wanted), []).append(line)
        result = validate(path, line, row, PerkIn, PERK_HINTS)
        perk_id = str(row.get("perk_id") or "").strip() if isinstance(result, list) else result.perk_id
        one = unicodedata.normalize("NFC", perk_id)  # "café" and "café" (decomposed) look the same: one id
        if one in first_line:
            other = "" if perk_id in written else " (written there in another Unicode form)"
            problems.append(Problem(path, line, "perk_id", f"'{perk_id}' already appears on line "
                                    f"{first_line[one]}{other}; perk ids must be unique"))
        elif perk_id:
            first_line[one] = line
            written.add(perk_id)
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


def _check_perk(path: str, line: int, perk: PerkIn, topics: set[str] | None, sensitive: set[str]) -> list[Problem]:
    out = []
    if perk.starts and perk.ends and perk.ends < perk.starts:
        out.append(Problem(path, line, "ends", f"{perk.ends} is before starts {perk.starts}; swap or fix the dates"))
    for topic in perk.topics:
        if topic in sensitive:
            out.append(Problem(path, line, "topics", f"'{topic}' is a sensitive topic; brands cannot target "
                               "health, religion, sexuality, politics and the like: remove it"))
        elif topics is not None and topic not in topics:
            out.append(Problem(path, line, "topics", f"'{topic}' is not in the loaded taxonomy; "
                               "use a topic_id `perkmatch taxonomy show` lists, or remove it"))
    return out


def live_version(session: Session) -> int | None:
    """The version now being served, or None before the first refresh."""
    return session.exec(
        select(CatalogVersion.version).where(CatalogVersion.status == "live")
        .order_by(col(CatalogVersion.version).desc())
    ).first()


def targets_missing(session: Session, known: set[str]) -> dict[str, list[str]]:
    """The live perks whose ``topics`` name ids not in ``known`` (a taxonomy loaded since), with those ids."""
    missing = {p.perk_id: sorted(set(json.loads(p.topics or "[]")) - known) for p in live_perks(session)}
    return {perk_id: ids for perk_id, ids in missing.items() if ids}


def targets_sensitive(session: Session, sensitive: set[str]) -> dict[str, list[str]]:
    """The live perks whose ``topics`` name topics in ``sensitive`` (a taxonomy loaded since marks them), with
    those ids."""
    named = {p.perk_id: sorted(set(json.loads(p.topics or "[]")) & sensitive) for p in live_perks(session)}
    return {perk_id: ids for perk_id, ids in named.items() if ids}


def live_perks(session: Session, version: int | None = None) -> list[PerkRecord]:
    """The perk records valid in a version (the live one by default), sorted by perk id."""
    version = live_version(session) if version is None else version
    if version is None:
        return []
    rows = session.exec(select(PerkRecord).where(valid_in(version))).all()
    return sorted(rows, key=lambda r: r.perk_id)


def valid_in(version: Any) -> Any:
    """The SQL condition that a perk record is valid in a catalog version (a number, or a column holding one)."""
    return (col(PerkRecord.version_added) <= version) & (
        col(PerkRecord.version_retired).is_(None) | (col(PerkRecord.version_retired) > version))


def diff_catalog(current: Iterable[PerkRecord], new: Iterable[PerkIn]) -> CatalogDiff:
    """Compare the live records with the perks of a new file."""
    return _diff({r.perk_id: r.content_hash for r in current}, {p.perk_id: p.content_hash() for p in new})


def version_diff(session: Session, old: int | None, new: int | None) -> CatalogDiff:
    """How catalog version ``new`` differs from version ``old`` (None: before the first), by content: a perk changed
    and changed back, or retired and added again as it was, is unchanged between them."""
    def hashes(version: int | None) -> dict[str, str]:
        return {} if version is None else {r.perk_id: r.content_hash for r in live_perks(session, version)}

    return _diff(hashes(old), hashes(new))


def _diff(old: dict[str, str], fresh: dict[str, str]) -> CatalogDiff:
    return CatalogDiff(
        added=sorted(set(fresh) - set(old)),
        changed=sorted(p for p in fresh.keys() & old.keys() if fresh[p] != old[p]),
        retired=sorted(set(old) - set(fresh)),
        unchanged=sorted(p for p in fresh.keys() & old.keys() if fresh[p] == old[p]),
    )


def _counted(progress: Callable[[str, int, int | None], None] | None, stage: str, total: int
             ) -> Callable[[int], None] | None:
    """``progress`` for one stage of ``total`` items, as a callback of how many were just done (shown at 0 first)."""
    if progress is None or not total:
        return None
    progress(stage, 0, total)
    return lambda n: progress(stage, n, total)


def refresh(session: Session, path: str | os.PathLike[str], source: VectorSource, *, dry_run: bool = False,
            topics: set[str] | None = None, sensitive: Iterable[str] = (), retire_all: bool = False,
            commit: bool = True, progress: Callable[[str, int, int | None], None] | None = None) -> RefreshResult:
    """Load a catalog file as a new version (nothing changes when the file matches the live version). A file with
    no perks would retire every live one: refused unless ``retire_all`` (a truncated export must not empty the
    catalog), as is one that would retire most of the live perks and add none, or that holds a single perk
    (``mass_retirement``, checked on every diff). Without ``commit`` the version is written but left uncommitted in
    ``session``, for a caller that reads it and rolls it back (`match --dry-run --catalog FILE`); every perk's text
    in the file is embedded and cached first (``embedded`` counts those it encoded; ``progress("embed perks", n,
    total)`` after each batch)."""
    _require_arguments(session, source)
    path = os.fspath(path)
    warnings: list[str] = []
    loaded = _file_hash(path)  # of the bytes read: the file may be replaced while the perks are embedded
    perks = read_catalog(path, topics, sensitive, warnings)
    if _file_hash(path) != loaded:
        raise CatalogError(f"{path}: the file changed while it was read (is an export still writing it?); run the "
                           "refresh again once it is whole")
    version = live_version(session)
    current = live_perks(session, version)  # that version's: read after it, another refresh may have applied one
    diff = diff_catalog(current, perks)
    embedded = 0
    for attempt in range(RETRIES + 1):  # another refresh applying a version meanwhile: diff against it, again
        if attempt:
            version = live_version(session)
            current = live_perks(session, version)
            diff = diff_catalog(current, perks)
        # checked on every diff: before, only the first, and a file that would retire the perks another refresh had
        # just added (most of the catalog, adding none) was applied without --retire-all when the two raced
        refused = mass_retirement(diff) if not retire_all and not dry_run else None
        if refused:
            raise InputFileError(path, [Problem(path, 0, "", refused)],
                                 "Nothing was changed. Check the file (a truncated export?); if it is meant, run the "
                                 "refresh again with --retire-all.")
        if diff.is_empty:
            return RefreshResult(version=version, diff=diff, embedded=embedded, applied=False, warnings=warnings)
        touched = set(diff.added) | set(diff.changed)
        new_perks = [p for p in perks if p.perk_id in touched]
        if dry_run:
            to_embed = len(source.missing(text_key(p.embed_text()) for p in new_perks))
            return RefreshResult(version=(version or 0) + 1, diff=diff, embedded=to_embed, applied=False,
                                 warnings=warnings)
        before = source.encoded
        # cached: a re-run after a crash embeds nothing. Left uncommitted, the version holds SQLite's write lock until
        # it is rolled back, and the cache writes through another connection: every perk is embedded now, for the
        # match that reads the version then
        texts = {text_key(t): t for t in (p.embed_text() for p in (new_perks if commit else perks))}
        todo = {k: texts[k] for k in sorted(source.missing(texts))}
        source.fill(todo, _counted(progress, "embed perks", len(todo)), known_missing=True)
        embedded += source.encoded - before
        new_version = (version or 0) + 1
        try:
            _apply(session, new_version, path, loaded, current, new_perks, diff, embedded, source.name, commit)
        except (IntegrityError, OperationalError) as exc:  # the version taken, or our snapshot stale ("locked")
            session.rollback()
            if isinstance(exc, OperationalError) and "locked" not in str(exc):
                raise
            continue
        return RefreshResult(version=new_version, diff=diff, embedded=embedded, applied=True, warnings=warnings)
    raise CatalogError(f"{path}: other catalog refreshes kept applying new versions while this one ran; nothing "
                       "was changed by this one: run it again")


def _require_arguments(session: object, source: object) -> None:
    """Refuse, naming the fix, another kind of object than ``refresh`` takes: before, an engine given for the session
    was an AttributeError ("'Engine' object has no attribute 'exec'"), and an encoder given for the source one after
    the file was read ("'FakeEncoder' object has no attribute 'encoded'")."""
    if not isinstance(session, Session):
        raise WrongArgumentError(f"refresh takes a session (given: {type(session).__name__}): "
                                 "`with session(engine) as s: refresh(s, FILE, cache)`")
    lacking = [name for name in ("name", "encoded", "missing", "fill") if not hasattr(source, name)]
    if lacking:
        wrap = " (an encoder: wrap it, EmbeddingCache(engine, encoder))" if hasattr(source, "dim") else ""
        raise WrongArgumentError(f"refresh takes a vector source, an embedding cache (matcher.embed.EmbeddingCache) "
                                 f"(given: {type(source).__name__}, which has no {', '.join(lacking)}){wrap}")


RETRIES = 3
MASS_RETIREMENT = 5  # retiring at least this many live perks, over half of them, and adding none: a truncated file?


def mass_retirement(diff: CatalogDiff) -> str | None:
    """Why a refresh with this diff needs ``--retire-all``: the file has no perks, so every live one would be
    retired; or it would retire more than half of them (at least ``MASS_RETIREMENT``) and add none, as an export cut
    short at a clean line does, or hold a single perk, as a file written to add one does. None when it does not. A
    catalog replaced by a new one (perks added) is not refused."""
    retired, live = len(diff.retired), len(diff.retired) + len(diff.changed) + len(diff.unchanged)
    if not retired:
        return None
    if not (diff.added or diff.changed or diff.unchanged):
        return f"the file has no perks: it would retire all {live} live perks"
    if retired >= MASS_RETIREMENT and 2 * retired > live:
        if not diff.added:
            return f"the file would retire {retired} of the {live} live perks and add none"
        # the file's perks are the live ones it keeps and the ones it adds: one, written to add it, empties the rest
        if live - retired + len(diff.added) == 1:
            return (f"the file holds one perk and would retire {retired} of the {live} live perks (a refresh "
                    "retires every perk the file leaves out: to add a perk, add it to the whole catalog file)")
    return None


def _apply(session: Session, version: int, path: str, loaded: str, current: list[PerkRecord], new_perks: list[PerkIn],
           diff: CatalogDiff, embedded: int, model: str, commit: bool = True) -> None:
    ending = set(diff.changed) | set(diff.retired)
    for record in current:
        if record.perk_id in ending:
            record.version_retired = version
            session.add(record)
    for perk in new_perks:
        session.add(PerkRecord(
            perk_id=perk.perk_id, version_added=version, brand=perk.brand, title=perk.title,
            description=perk.description, topics=json.dumps(perk.topics), regions=json.dumps(perk.regions),
            quantity=perk.quantity, starts=perk.starts, ends=perk.ends, content_hash=perk.content_hash(),
            text_hash=text_key(perk.embed_text()),
        ))
    session.add(CatalogVersion(
        version=version, created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        source=str(Path(path).resolve()) if path != "-" else "-", source_hash=loaded,
        added=len(diff.added), changed=len(diff.changed), retired=len(diff.retired),
        unchanged=len(diff.unchanged), embedded=embedded, model=model,
    ))
    if commit:
        session.commit()
    else:
        session.flush()


def _file_hash(path: str) -> str:
    """The file's SHA-256, for `catalog versions`; none for standard input or a named pipe (read once, already)."""
    if path == "-" or not Path(path).is_file():
        return ""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def versions(session: Session) -> list[CatalogVersion]:
    """Every catalog version, oldest first."""
    return list(session.exec(select(CatalogVersion).order_by(col(CatalogVersion.version))).all())


def perk_history(session: Session, perk_id: str, where: str = "in any catalog version") -> list[PerkRecord]:
    """Every version of one perk, oldest first; an unknown id is an error (``unknown_perk``, saying ``where``)."""
    rows = session.exec(select(PerkRecord).where(PerkRecord.perk_id == perk_id)
                        .order_by(col(PerkRecord.version_added))).all()
    if not rows:
        raise UnknownPerkError(unknown_perk(session, perk_id, where))
    return list(rows)


def brand_perks_named(session: Session, name: str) -> list[PerkRecord]:
    """The live perks of the brand so named (``brand_key``): a brand's name given where a perk id goes."""
    return [p for p in live_perks(session) if brand_key(p.brand) == brand_key(name)]


def listed(ids: list[str], most: int = 10) -> str:
    """Ids for a message: the first ``most``, and how many more."""
    return ", ".join(ids[:most]) + (f" and {len(ids) - most} more" if len(ids) > most else "")


def unknown_perk(session: Session, perk_id: str, where: str = "in the catalog") -> str:
    """What to say of a perk id no perk has: a brand's name given instead (its perks then), a near miss, or where
    to look."""
    import difflib

    brand = brand_perks_named(session, perk_id)
    if brand:
        return (f"no perk '{perk_id}' {where}: that is a brand; its live perks are "
                f"{listed([p.perk_id for p in brand])} (give one of them, or `perkmatch report brand "
                f"'{brand[0].brand}' --out F.html` for all)")
    ever = session.exec(select(PerkRecord.perk_id).distinct()).all()  # a retired perk's history is still shown
    near = difflib.get_close_matches(perk_id, sorted(ever), n=3)
    hint = f"did you mean {', '.join(near)}?" if near else "`perkmatch catalog show` lists the live perks"
    return f"no perk '{perk_id}' {where}; {hint}"
