"""Write match assignments for a brand's own systems: CSV (one row per assignment) or JSON Lines.

A CSV is for spreadsheets too, where a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read as a formula: a perk title or a user id written by someone else could run one in the brand's spreadsheet (CSV
injection). Such a text cell gets a leading ``'`` (OWASP's advice; spreadsheets show the text as it was). Numbers
(rank, score) are written as they are. JSON Lines is written unchanged.
"""

import csv
import json
from pathlib import Path
from typing import Any

from matcher.errors import PerkmatchError
from matcher.outfiles import atomic_open, check_out

FORMATS = ("csv", "jsonl")


def assignment_format(path: str, fmt: str | None = None) -> str:
    """The format a file of assignments is written in: ``fmt``, else the file's extension (checked before a match
    runs, so a bad name costs no work)."""
    if fmt and fmt.lower() not in FORMATS:
        raise PerkmatchError(f"--format {fmt}: use csv or jsonl")
    if not path.strip():  # (said before its name's format: there is no name)
        check_out(path, f"{fmt.upper() if fmt else 'CSV or JSONL'} file")
    if not fmt and Path(path).suffix.lstrip(".").lower() not in FORMATS:
        raise PerkmatchError(f"--out {path}: cannot tell the format from the name; name the file .csv or .jsonl, or "
                             "give --format csv|jsonl")
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()  # `--format CSV` as `F.CSV`
    check_out(path, f"{fmt.upper()} file")
    return fmt


def write_assignments(records: list[dict[str, Any]], path: str, fmt: str | None = None) -> None:
    """Write atomically (``outfiles.atomic_open``): a reader never sees half a file."""
    fmt = assignment_format(path, fmt)
    with atomic_open(path, f"{fmt.upper()} file") as handle:
        if fmt == "jsonl":
            for r in records:
                handle.write(json.dumps(r, ensure_ascii=False) + "\n")
        else:
            writer = csv.writer(handle)
            writer.writerow(["user_id", "rank", "perk_id", "brand", "title", "score", "topics", "evidence_post_ids",
                             "evidence_platforms", "topic_names"])  # (names last: columns read by position stay)
            for r in records:
                evidence = [e for t in r["topics"] for e in t["evidence"]]
                writer.writerow([inert(r["user_id"]), r["rank"], inert(r["perk_id"]), inert(r["brand"]),
                                 inert(r["title"]), r["score"], inert("|".join(t["topic_id"] for t in r["topics"])),
                                 inert("|".join(e["post_id"] for e in evidence)),
                                 inert("|".join(e["platform"] for e in evidence)),
                                 inert("|".join(t.get("name", t["topic_id"]) for t in r["topics"]))])


def inert(cell: str) -> str:
    """A text cell a spreadsheet will not read as a formula (see the module's docstring)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
