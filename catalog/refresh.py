"""Versioned, incremental, atomic catalog refresh.

A refresh validates the whole file, diffs it against the live version, embeds only the perks whose
text is new (through the caller's cached ``VectorSource``), then writes the new version in one
transaction: readers see the old version or the new one, never a mix.

Here: the refresh itself and the key of a text's embedding (``text_key``). The rest is in modules of its own,
importable from here as before: a catalog file read and checked in ``catalog.perk_file``, the stored versions read
(the live perks, diffs, a perk's history) in ``catalog.versions``.
"""

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from catalog.errors import CatalogError, InputFileError, Problem, WrongArgumentError
from catalog.perk_file import MEANT, PERK_COLUMNS, ended_offers, meant_field, near_misses, read_catalog
from catalog.schema import CatalogVersion, PerkIn, PerkRecord, brand_key
from catalog.versions import (
    CatalogDiff,
    brand_perks_named,
    diff_catalog,
    listed,
    live_perks,
    live_version,
    perk_history,
    targets_missing,
    targets_sensitive,
    unknown_perk,
    valid_in,
    version_diff,
    versions,
)

__all__ = ["MASS_RETIREMENT", "RETRIES", "RefreshResult", "VectorSource", "mass_retirement", "refresh", "text_key",
           "unnamed_brands",
           # catalog.perk_file, catalog.versions
           "MEANT", "PERK_COLUMNS", "ended_offers", "meant_field", "near_misses", "read_catalog",
           "CatalogDiff", "brand_perks_named", "diff_catalog", "listed", "live_perks", "live_version", "perk_history",
           "targets_missing", "targets_sensitive", "unknown_perk", "valid_in", "version_diff", "versions"]


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
class RefreshResult:
    """What a refresh did (or, on a dry run, would do: the version it would create, the texts it would embed)."""

    version: int | None
    diff: CatalogDiff
    embedded: int
    applied: bool
    warnings: list[str] = field(default_factory=list)  # fields ignored that look meant for a limit (``near_misses``),
    # and offers that ended before today (``ended_offers``)
    refused: str | None = None  # on a dry run without ``retire_all``: why the refresh would be refused
    # (``mass_retirement``)
    ends: dict[str, dt.date] = field(default_factory=dict)  # the file's perks that have an end date, with it

    def summary(self) -> dict[str, Any]:
        """The counts, and the ids the text output lists (``added_ids``, ``changed_ids``, ``retired_ids``); and
        ``warnings`` when there are any."""
        d = self.diff
        return {"version": self.version, "added": len(d.added), "changed": len(d.changed),
                "retired": len(d.retired), "unchanged": len(d.unchanged), "embedded": self.embedded,
                "added_ids": list(d.added), "changed_ids": list(d.changed), "retired_ids": list(d.retired)} | (
                    {"warnings": self.warnings} if self.warnings else {})


def _counted(progress: Callable[[str, int, int | None], None] | None, stage: str, total: int
             ) -> Callable[[int], None] | None:
    """``progress`` for one stage of ``total`` items, as a callback of how many were just done (shown at 0 first)."""
    if progress is None or not total:
        return None
    progress(stage, 0, total)
    return lambda n: progress(stage, n, total)


def refresh(session: Session, path: str | os.PathLike[str], source: VectorSource, *, dry_run: bool = False,
            topics: Collection[str] | None = None, sensitive: Iterable[str] = (), retire_all: bool = False,
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
    loaded, perks = _read_whole(path, topics, sensitive, warnings)
    embedded = 0
    for _ in range(RETRIES + 1):  # another refresh applying a version meanwhile: diff against it, again
        version = live_version(session)
        current = live_perks(session, version)  # that version's: read after it, another refresh may have applied one
        diff = diff_catalog(current, perks)
        # checked on every diff: before, only the first, and a file that would retire the perks another refresh had
        # just added (most of the catalog, adding none) was applied without --retire-all when the two raced
        refused = None if retire_all else mass_retirement(diff, unnamed_brands(current, perks, diff))
        if refused and not dry_run:
            _refuse_mass_retirement(path, refused)
        if diff.is_empty:
            return RefreshResult(version=version, diff=diff, embedded=embedded, applied=False, warnings=warnings)
        ends = {p.perk_id: p.ends for p in perks if p.ends is not None}
        touched = set(diff.added) | set(diff.changed)
        new_perks = [p for p in perks if p.perk_id in touched]
        if dry_run:
            to_embed = len(source.missing(text_key(p.embed_text()) for p in new_perks))
            return RefreshResult(version=(version or 0) + 1, diff=diff, embedded=to_embed, applied=False,
                                 warnings=warnings, refused=refused)
        # Left uncommitted, the version holds SQLite's write lock until it is rolled back, and the cache writes through
        # another connection: every perk is embedded now, for the match that reads the version then
        embedded += _embed(source, new_perks if commit else perks, progress)
        new_version = (version or 0) + 1
        if _applied(session, new_version, path, loaded, current, new_perks, diff, embedded, source.name, commit):
            return RefreshResult(version=new_version, diff=diff, embedded=embedded, applied=True, warnings=warnings,
                                 ends=ends)
    raise CatalogError(f"{path}: other catalog refreshes kept applying new versions while this one ran; nothing "
                       "was changed by this one: run it again")


def _refuse_mass_retirement(path: str, refused: str) -> None:
    """Refuse a diff that needs ``--retire-all`` (``mass_retirement`` said why), changing nothing."""
    raise InputFileError(path, [Problem(path, 0, "", refused)],
                         "Nothing was changed. Check the file (a truncated export? one brand's perks alone?); if it "
                         "is meant, run the refresh again with --retire-all.")


def _applied(session: Session, version: int, path: str, loaded: str, current: list[PerkRecord],
             new_perks: list[PerkIn], diff: CatalogDiff, embedded: int, model: str, commit: bool) -> bool:
    """Write the new version (``_apply``); False, rolled back, when another refresh took the version number first or
    our snapshot of the live version went stale (SQLite: "locked"), for ``refresh`` to diff against the new one."""
    try:
        _apply(session, version, path, loaded, current, new_perks, diff, embedded, model, commit)
    except (IntegrityError, OperationalError) as exc:  # the version taken, or our snapshot stale ("locked")
        session.rollback()
        if isinstance(exc, OperationalError) and "locked" not in str(exc):
            raise
        return False
    return True


def _read_whole(path: str, topics: Collection[str] | None, sensitive: Iterable[str],
                warnings: list[str]) -> tuple[str, list[PerkIn]]:
    """The file's hash and its perks, read and checked (``read_catalog``); refused if it changed while it was read."""
    loaded = _file_hash(path)  # of the bytes read: the file may be replaced while the perks are embedded
    perks = read_catalog(path, topics, sensitive, warnings)
    if _file_hash(path) != loaded:
        raise CatalogError(f"{path}: the file changed while it was read (is an export still writing it?); run the "
                           "refresh again once it is whole")
    return loaded, perks


def _embed(source: VectorSource, perks: list[PerkIn], progress: Callable[[str, int, int | None], None] | None) -> int:
    """Embed the perks' texts not cached yet (a re-run after a crash embeds nothing); how many were encoded."""
    before = source.encoded
    texts = {text_key(t): t for t in (p.embed_text() for p in perks)}
    todo = {k: texts[k] for k in sorted(source.missing(texts))}
    source.fill(todo, _counted(progress, "embed perks", len(todo)), known_missing=True)
    return source.encoded - before


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


def unnamed_brands(current: Iterable[PerkRecord], perks: Iterable[PerkIn], diff: CatalogDiff) -> dict[str, list[str]]:
    """The brands of the perks ``diff`` retires that no perk of the file names (``brand_key``), each with those
    perks' ids: what a file holding only some brands' perks would take out of the catalog."""
    named = {brand_key(p.brand) for p in perks}
    retired = set(diff.retired)
    out: dict[str, list[str]] = {}
    for record in sorted(current, key=lambda r: r.perk_id):
        if record.perk_id in retired and brand_key(record.brand) not in named:
            out.setdefault(record.brand, []).append(record.perk_id)
    return out


def mass_retirement(diff: CatalogDiff, unnamed: dict[str, list[str]] | None = None) -> str | None:
    """Why a refresh with this diff needs ``--retire-all``: the file has no perks, so every live one would be
    retired; or it would retire more than half of them (at least ``MASS_RETIREMENT``) and add none, as an export cut
    short at a clean line does, or hold a single perk, as a file written to add one does; or the perks it retires of
    brands it does not name at all (``unnamed``: ``unnamed_brands``) are more than half of them (at least
    ``MASS_RETIREMENT``), as a file holding one brand's perks alone does. None when it does not. A catalog replaced
    by a new one of the same brands (perks added) is not refused."""
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
    return _brands_left_out(retired, live, unnamed or {})


def _brands_left_out(retired: int, live: int, unnamed: dict[str, list[str]]) -> str | None:
    """``mass_retirement``'s last rule: most live perks are of brands the file does not name."""
    gone = sum(len(ids) for ids in unnamed.values())
    if gone < MASS_RETIREMENT or 2 * gone <= live:
        return None
    brands = sorted(unnamed, key=lambda b: (-len(unnamed[b]), brand_key(b)))
    shown = ", ".join(f"{b} ({len(unnamed[b])})" for b in brands[:5]) + (
        f" and {len(brands) - 5} more" if len(brands) > 5 else "")
    return (f"the file would retire {retired} of the {live} live perks, {gone} of them of {len(brands)} brand(s) the "
            f"file does not name: {shown} (a refresh replaces the whole catalog and retires every perk the file "
            "leaves out: to add or change one brand's perks, edit them in the whole catalog file)")


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
