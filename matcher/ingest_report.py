"""What an ingest reports, and the rows it rejects: the counts of one file, the problems of its invalid rows, and the
reject file they go to with ``skip_invalid`` (written whole once the rows are stored, discarded when nothing is).
"""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from sqlmodel import Session

from catalog.errors import PROBLEMS_KEPT, InputFileError, Problem
from catalog.schema import id_text
from matcher.errors import PerkmatchError
from matcher.outfiles import same_file, unwritable_folder

FilePath = str | os.PathLike[str]  # a file's path: a str or a pathlib.Path

@dataclass
class IngestReport:
    """Counts of one ingest: what was stored, and what was not and why."""

    path: str
    kind: str = "posts"  # or "users": which file the counts are of
    added: int = 0
    updated: int = 0
    rejected: int = 0
    skipped_no_consent: int = 0
    skipped_opted_out: int = 0  # ... of which by users who opted out (only `perkmatch consent USER opted_in` lets in)
    skipped_deleted: int = 0  # posts their authors deleted (`forget USER --post`): an export may still hold them
    users_added: int = 0
    users_updated: int = 0
    users_unchanged: int = 0  # rows giving a stored user exactly as stored: not written
    users_forgotten: int = 0
    users_kept_out: int = 0  # rows of users who opted out earlier, not stored (see ``ingest_users``)
    users_returned: int = 0  # users added who were forgotten earlier (``forget``): stored again, by this file;
    # of a posts file, authors with no record (stored under --consent-policy opt-out) whose posts it stores again
    users_opted_out: int = 0  # opted_out rows of users with nothing stored: recorded, so their posts stay out
    users_withdrew: int = 0  # users who withdrew a sensitive opt-in: what runs inferred on it is deleted
    # each one's topics withdrawn, and the runs where one was their strongest (``rework.rework_withdrawn``)
    withdrew: dict[str, tuple[frozenset[str], list[int]]] = field(default_factory=dict, repr=False)
    unknown_opt_ins: list[Problem] = field(default_factory=list)  # opt-ins to ids the loaded taxonomy lacks (stored)
    repeated: int = 0  # rows of a post an earlier row of this file already gave (the last row of each is kept)
    unchanged: int = 0  # posts given again exactly as stored: not written (so not "new or updated" for --changes)
    reject_file: str | None = None
    reject_file_emptied: str | None = None  # an earlier run's reject file at the path, emptied: none rejected now
    problems: list[Problem] = field(default_factory=list)
    rejects: "Rejects | None" = field(default=None, repr=False)  # a reject file to finish once the caller commits

    def as_dict(self) -> dict[str, Any]:
        keys = ("path", "added", "updated", "unchanged", "rejected", "skipped_no_consent", "skipped_opted_out",
                "skipped_deleted", "users_added", "users_updated", "users_unchanged", "users_forgotten",
                "users_kept_out", "users_opted_out", "users_withdrew", "users_returned", "repeated", "reject_file")
        return {k: getattr(self, k) for k in keys} | {"unknown_opt_ins": [str(p) for p in self.unknown_opt_ins]}


class Rejects:
    """Collects invalid rows: all problems for the error message, and the reject file when skipping."""

    def __init__(self, path: str, reject_path: str | None) -> None:
        if reject_path is not None:
            check_reject_path(reject_path, path)
        self.path = path
        self.reject_path = reject_path
        self.handle: IO[str] | None = None
        self.problems: list[Problem] = []
        self.rows = 0
        self.emptied = False  # an earlier run's reject file at the path was emptied (``finish``)

    def add(self, line: int, row: dict[str, Any] | None, problems: list[Problem]) -> None:
        self.rows += 1
        if len(self.problems) < PROBLEMS_KEPT:  # (a row as written goes to the reject file, not kept here)
            self.problems.extend(replace(p, text=None) for p in problems)
        if self.reject_path:
            reasons = [f"field '{p.field}': {p.message}" if p.field else p.message for p in problems]
            raw = problems[0].text if row is None else None  # a line that could not be read as a row: as written
            kept = {"row": row} if raw is None else {"text": raw}
            try:
                if self.handle is None:
                    self.handle = open(self.reject_path + ".part", "w", encoding="utf-8")
                self.handle.write(json.dumps({"line": line, "reasons": reasons, **kept}, default=str) + "\n")
            except OSError as exc:  # a full disk: nothing is stored (the ingest is one transaction), no reject file
                raise PerkmatchError(f"--rejects {self.reject_path}: cannot write it ({exc.strerror or exc}); nothing "
                                     "was stored; free space or give --rejects PATH elsewhere") from None

    def finish(self, keep: bool) -> str | None:
        """The reject file, once its rows are written whole (``keep``: the rows were stored); None when no row was
        rejected. Then a reject file an earlier run left at the path is emptied, so that it never lists rows as
        rejected that this run stored (its rows may have been fixed since)."""
        if self.reject_path is None:
            return None
        if self.handle is None:
            target = Path(self.reject_path)
            if keep and target.is_file() and target.stat().st_size:
                target.write_text("", encoding="utf-8")
                self.emptied = True
            return None
        self.handle.close()
        part = Path(self.reject_path + ".part")
        if keep:
            part.replace(self.reject_path)
            return self.reject_path
        part.unlink(missing_ok=True)
        return None


def default_reject_path(path: str) -> str:
    return "rejects.jsonl" if path == "-" else f"{path}.rejects.jsonl"


def check_reject_path(reject_path: str, *inputs: str) -> None:
    """Refuse, before anything is read or stored, a reject file that could not be written or would overwrite an
    input, or a file that is not a reject file."""
    target = Path(reject_path)
    if reject_path == "-":  # (before: a file named "-" in the working folder)
        raise PerkmatchError("--rejects -: is not standard output here; give a file path for the rejects")
    if any(path != "-" and same_file(reject_path, path) for path in inputs):
        raise PerkmatchError(f"--rejects {reject_path}: that is the input file; give another path for the rejects")
    if target.is_dir():
        raise PerkmatchError(f"--rejects {reject_path}: is a folder; give a file path for the rejects")
    if not target.resolve().parent.is_dir():
        raise PerkmatchError(f"--rejects {reject_path}: its folder does not exist; create it or give another path")
    refused = unwritable_folder(target.resolve().parent)
    if refused:
        raise PerkmatchError(f"--rejects {reject_path}: cannot write in its folder ({refused}); give --rejects PATH "
                             "in a folder that can be written")
    if target.is_file() and not is_reject_file(target):  # a run replaces, or empties, the reject file at the path
        raise PerkmatchError(f"--rejects {reject_path}: a file that is not a perkmatch reject file is there, and "
                             "this run would replace it; move it, or give --rejects PATH elsewhere")


def is_reject_file(path: Path) -> bool:
    """Whether the file at the path is empty or reads as a reject file (its first lines each one this module writes,
    ``{"line": N, "reasons": [...], ...}``), so a run may replace or empty it. Before, ingesting standard input
    emptied whatever file was called rejects.jsonl in the working folder."""
    try:
        with path.open("rb") as f:
            head = f.read(1 << 16)  # (a rejected post may be megabytes: its line is judged by its start)
    except OSError:
        return False
    lines = [line for line in head.splitlines() if line.strip()][:5]
    return not head or (bool(lines) and all(line.startswith(b'{"line": ') for line in lines))


@contextmanager
def discarded_on_error(rejects: Rejects) -> Iterator[None]:
    """On any exception (a damaged file, Ctrl-C) nothing of the file is stored: its reject file goes too, .part and
    all."""
    try:
        yield
    except BaseException:
        rejects.finish(keep=False)
        raise


def stored(report: IngestReport, rejects: Rejects) -> None:
    """Once the rows are committed: the reject file written whole, and an earlier run's at the path emptied if this
    run rejected nothing (``Rejects.finish``), both said in the report."""
    report.reject_file = rejects.finish(keep=True)
    report.reject_file_emptied = rejects.reject_path if rejects.emptied else None


def finish(s: Session, rejects: Rejects, report: IngestReport, skip_invalid: bool, commit: bool) -> None:
    report.rejected = rejects.rows
    report.problems = rejects.problems
    if rejects.rows and not skip_invalid:
        s.rollback()
        rejects.finish(keep=False)
        raise InputFileError(report.path, rejects.problems,
                             "Nothing was stored. Fix these rows, or rerun with --skip-invalid to store the valid "
                             "rows and write the rejected ones to a reject file.")
    if commit:
        s.commit()
        stored(report, rejects)
    else:
        report.rejects = rejects  # the caller finishes it once it has committed (``ingest``)


def row_author(row: dict[str, Any] | None) -> str | None:
    """The user id of a row that failed validation, when it has a readable one (its consent is then checked first:
    a row of someone who did not opt in is skipped, not copied into a reject file)."""
    value = row.get("user_id") if isinstance(row, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return str(id_text(value)).strip() or None  # 12.0 is user 12, as when the row is valid
    except ValueError:
        return None
