"""The catalog's versions as stored, read: the live version and its perks, the perks valid in any version, how two
versions (or a file and the live one) differ, a perk's history, the live perks aimed at topics a taxonomy lacks or
marks sensitive, and what to say of a perk id no perk has."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from catalog.errors import UnknownPerkError
from catalog.schema import CatalogVersion, PerkIn, PerkRecord, brand_key


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
