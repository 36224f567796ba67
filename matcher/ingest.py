"""Ingest: validate posts and users at the edge (pydantic), then upsert them, streaming.

A file is stored in one transaction: by default any invalid row rejects the whole file (every problem
listed, nothing written); with ``skip_invalid`` the valid rows are stored and each rejected row goes,
with its reasons, to a reject file. Re-ingesting a (platform, post_id) updates the post.
Posts of users without consent are never stored under the default 'opt-in' policy.
"""

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Column, Engine, MetaData, String, Table, delete, insert, text, tuple_
from sqlmodel import Session, col, select

from catalog.errors import PROBLEMS_KEPT, InputFileError, Problem
from catalog.refresh import text_key
from catalog.rows import iter_rows, validate
from catalog.schema import id_text
from matcher.errors import PerkmatchError
from matcher.locks import hold_ingest_lock
from matcher.outfiles import same_file, unwritable_folder
from matcher.records import POST_HINTS, USER_HINTS, USER_TEXTS, PostIn, UserIn, check_policy, embed_form
from matcher.store import Post, TopicScore, User, has_posts, session, upsert_insert, utcnow
from matcher.taxonomy import dropped_under, not_shown, stored_topics, topic_ids_in

BATCH = 1000

Progress = Callable[[int], None]
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
    rejects: "_Rejects | None" = field(default=None, repr=False)  # a reject file to finish once the caller commits

    def as_dict(self) -> dict[str, Any]:
        keys = ("path", "added", "updated", "unchanged", "rejected", "skipped_no_consent", "skipped_opted_out",
                "skipped_deleted", "users_added", "users_updated", "users_unchanged", "users_forgotten",
                "users_kept_out", "users_opted_out", "users_withdrew", "users_returned", "repeated", "reject_file")
        return {k: getattr(self, k) for k in keys} | {"unknown_opt_ins": [str(p) for p in self.unknown_opt_ins]}


class _Rejects:
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


def ingest(engine: Engine, posts: FilePath | None = None, users: FilePath | None = None, *,
           skip_invalid: bool = False, reject_path: FilePath | None = None, policy: str = "opt-in",
           progress: Progress | None = None) -> list[IngestReport]:
    """A users file then a posts file, in one transaction: if either is rejected, neither is stored (a users file
    that opts someone out forgets them only when the posts are stored too)."""
    posts, users, reject_path = (None if p is None else os.fspath(p) for p in (posts, users, reject_path))
    reports: list[IngestReport] = []
    if posts == "-" and users == "-":  # the users would read it all, and the posts nothing
        raise PerkmatchError("--users -: the posts are read from standard input too, which can be read once; give "
                             "the users (or the posts) as a file")
    if skip_invalid and posts and users:  # the posts' reject file must not overwrite the users file either
        check_reject_path(reject_path or default_reject_path(posts), posts, users)
    try:
        with session(engine) as s:
            hold_ingest_lock(s.connection())
            if users:
                reports.append(ingest_users(engine, users, skip_invalid=skip_invalid, within=s,
                                            reject_path=f"{reject_path}.users" if reject_path else None))
            if posts:
                reports.append(ingest_posts(engine, posts, skip_invalid=skip_invalid, reject_path=reject_path,
                                            policy=policy, progress=progress, within=s))
            s.commit()
    except BaseException:  # nothing was stored: no reject file either
        for report in reports:
            if report.rejects is not None:
                report.rejects.finish(keep=False)
        raise
    for report in reports:  # stored: the reject files too
        if report.rejects is not None:
            _stored(report, report.rejects)
            report.rejects = None
    return reports


def ingest_users(engine: Engine, path: FilePath, *, skip_invalid: bool = False,
                 reject_path: FilePath | None = None, within: Session | None = None) -> IngestReport:
    """Validate and upsert a users file; users who opt out are forgotten. A user who opted out stays out: a row
    without consent, or an old file still saying opted_in, does not bring them back (only `perkmatch consent USER
    opted_in` does). ``within``: in that session's transaction, committed by the caller (``ingest``)."""
    path, reject_path = os.fspath(path), None if reject_path is None else os.fspath(reject_path)
    from matcher.forget import forgotten_check, opted_out, withdraw_opt_ins

    report = IngestReport(path, kind="users")
    rejects = _Rejects(path, (reject_path or default_reject_path(path)) if skip_invalid else None)
    seen: dict[str, int] = {}  # user id -> its line: a user given twice is a mistake (opted out, then in?)
    with _discarded_on_error(rejects), session(engine if within is None else within) as s:
        if within is None:
            hold_ingest_lock(s.connection())
        topic_ids = topic_ids_in(s)
        hidden: Callable[[str | None], frozenset[str]] | None = None  # (``taxonomy.not_shown``, read when needed)
        was_forgotten: Callable[[str], bool] | None = None  # (``forget.forgotten_check``, read when needed)
        for line, row in iter_rows(path, columns=("user_id",), texts=USER_TEXTS,
                                   known=frozenset(UserIn.model_fields)):
            item = row if isinstance(row, Problem) else validate(path, line, row, UserIn, USER_HINTS)
            if not isinstance(item, Problem | list) and item.user_id in seen:
                item = [Problem(path, line, "user_id", f"'{item.user_id}' already appears on line "
                                f"{seen[item.user_id]}; give each user once")]
            if isinstance(item, Problem | list):
                problems = [item] if isinstance(item, Problem) else item
                rejects.add(line, None if isinstance(row, Problem) else row, problems)
                leaving = _opting_out(row)
                if leaving is not None and leaving not in seen:  # the opt-out holds whatever else is wrong
                    seen[leaving] = line
                    _opt_out(s, leaving, report)
                continue
            seen[item.user_id] = line
            existing = s.get(User, item.user_id)
            if item.consent == "opted_out":
                _opt_out(s, item.user_id, report)
                continue
            if opted_out(s, item.user_id):
                report.users_kept_out += 1
                continue
            user = existing or User(user_id=item.user_id)
            before, opted_in = _user_fields(user), user.sensitive_opt_in
            # a row updates the fields it gives: a file sent to change regions keeps everyone's consent and opt-ins
            assert not isinstance(row, Problem)  # (a Problem row is its own item: rejected above)
            given = {k for k in item.model_fields_set if row.get(k) not in (None, "")} if existing else set(_KEPT)
            for field in _KEPT & given:
                value = getattr(item, field)
                setattr(user, field, json.dumps(sorted(set(value))) if field == "sensitive_opt_in" else value)
            unknown = sorted(set(item.sensitive_opt_in) - topic_ids)
            if unknown:  # kept: a taxonomy loaded later may have them; but most likely a typo or another taxonomy's
                report.unknown_opt_ins.append(Problem(
                    path, line, "sensitive_opt_in", f"{', '.join(map(repr, unknown))}: no topic of the loaded "
                    "taxonomy has this id, so it opts the user in to nothing (`perkmatch taxonomy show` lists them)"))
            extra = (json.loads(existing.extra or "{}") if existing else {}) | dict((item.model_extra or {}).items())
            user.extra = json.dumps(extra, sort_keys=True, default=str)
            if existing is not None and _user_fields(user) == before:
                report.users_unchanged += 1  # given exactly as stored: not written
                continue
            if existing is not None and user.sensitive_opt_in != opted_in:
                hidden = hidden or not_shown(stored_topics(s))
                # and the user's topics the loaded taxonomy lacks under an opt-in taken back: before, such a withdrawal
                # deleted nothing, and the topic, no longer known to be sensitive, was shown
                gone = set(json.loads(opted_in or "[]")) - set(json.loads(user.sensitive_opt_in or "[]"))
                stored = set(s.exec(select(TopicScore.topic_id).where(TopicScore.user_id == user.user_id)
                                    .distinct()).all()) if gone else set()
                withdrawn = (hidden(user.sensitive_opt_in) - hidden(opted_in)) | dropped_under(s, stored, gone,
                                                                                               topic_ids)
                report.users_withdrew += bool(withdrawn)
                strongest = withdraw_opt_ins(s, user.user_id, withdrawn)
                if withdrawn:
                    report.withdrew[user.user_id] = (withdrawn, strongest)
            user.updated_at = utcnow()
            s.add(user)
            report.users_updated += existing is not None
            report.users_added += existing is None
            if existing is None:
                was_forgotten = was_forgotten or forgotten_check(s)  # (read once, when first needed)
                report.users_returned += was_forgotten(user.user_id)
        _finish(s, rejects, report, skip_invalid, commit=within is None)
    return report


_KEPT = frozenset({"handle", "region", "consent", "sensitive_opt_in"})  # a users row's fields, kept when not given


def _opting_out(row: dict[str, Any] | Problem) -> str | None:
    """The user id of a row that says consent: opted_out but failed validation on another field (a region mistyped),
    when its id is readable: the opt-out is honoured all the same (its other fields go to the reject file)."""
    if isinstance(row, Problem) or str(row.get("consent") or "").strip() != "opted_out":
        return None
    return _author(row)


def _opt_out(s: Session, user_id: str, report: IngestReport) -> None:
    """Forget a user who opts out (or record the opt-out of one with nothing stored), so their posts stay out."""
    from matcher.forget import forget_in_session, record_opt_out

    if s.get(User, user_id) is not None or has_posts(s, user_id):
        forget_in_session(s, user_id)
        report.users_forgotten += 1
    else:
        report.users_opted_out += 1
    record_opt_out(s, user_id)


def _user_fields(user: User) -> tuple[Any, ...]:
    return tuple(getattr(user, field) for field in sorted(_KEPT)) + (user.extra,)


@contextmanager
def _discarded_on_error(rejects: _Rejects) -> Iterator[None]:
    """On any exception (a damaged file, Ctrl-C) nothing of the file is stored: its reject file goes too, .part and
    all."""
    try:
        yield
    except BaseException:
        rejects.finish(keep=False)
        raise


def _stored(report: IngestReport, rejects: _Rejects) -> None:
    """Once the rows are committed: the reject file written whole, and an earlier run's at the path emptied if this
    run rejected nothing (``_Rejects.finish``), both said in the report."""
    report.reject_file = rejects.finish(keep=True)
    report.reject_file_emptied = rejects.reject_path if rejects.emptied else None


def _finish(s: Session, rejects: _Rejects, report: IngestReport, skip_invalid: bool, commit: bool) -> None:
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
        _stored(report, rejects)
    else:
        report.rejects = rejects  # the caller finishes it once it has committed (``ingest``)


def ingest_posts(engine: Engine, path: FilePath, *, skip_invalid: bool = False, reject_path: FilePath | None = None,
                 policy: str = "opt-in", progress: Progress | None = None,
                 within: Session | None = None) -> IngestReport:
    """Validate and upsert a posts file in one transaction, streaming it in batches (``within``: as
    ``ingest_users``)."""
    path, reject_path = os.fspath(path), None if reject_path is None else os.fspath(reject_path)
    from matcher.forget import deleted_posts_check, forgotten_check  # (they build on this module's stores)

    check_policy(policy)
    report = IngestReport(path)
    rejects = _Rejects(path, (reject_path or default_reject_path(path)) if skip_invalid else None)
    with _discarded_on_error(rejects), session(engine if within is None else within) as s:
        if within is None:
            hold_ingest_lock(s.connection())
        given = _Given(s)
        consent = _ConsentLookup(s, policy)
        deleted = deleted_posts_check(s)
        was_forgotten: Callable[[str], bool] | None = None  # (``forget.forgotten_check``, read when needed)
        authors: set[str] = set()  # authors with no record whose posts are stored: was one forgotten earlier?
        batch: dict[tuple[str, str], list[tuple[int, PostIn, dict[str, Any] | None]]] = {}  # each key's rows
        rows = userish = 0  # rows, and those with a users file's fields but neither a post id nor a text
        for line, item, row in _validated_posts(path):
            if progress:
                progress(1)
            rows += 1
            userish += isinstance(row, dict) and not {"post_id", "text"} & set(row) and bool(USERS_ONLY & set(row))
            author = item.user_id if not isinstance(item, list) else _author(row)
            if author is not None and not consent.allows(author):  # never read further, even to reject the row
                report.skipped_no_consent += 1
                report.skipped_opted_out += consent.opted_out(author)
                continue
            if isinstance(item, list):
                rejects.add(line, row, item)
                continue
            if deleted(item.platform, item.post_id):  # its author deleted it: an export still holding it stores nothing
                report.skipped_deleted += 1
                continue
            if consent.consent(item.user_id) is None and item.user_id not in authors:  # (opt-out: no record)
                authors.add(item.user_id)
                was_forgotten = was_forgotten or forgotten_check(s)
                report.users_returned += was_forgotten(item.user_id) and s.get(User, item.user_id) is None \
                    and not has_posts(s, item.user_id)  # (nothing of theirs stored: not given back already)
            batch.setdefault((item.platform, item.post_id), []).append((line, item, row))
            if len(batch) >= BATCH:
                _upsert_posts(s, batch, report, rejects, given)
                batch = {}
        if rows and userish == rows:  # a users file given as posts: before, "skipped without consent", exit 0
            raise InputFileError(path, [Problem(path, 0, "post_id", "no row has a post_id or a text, and each has a "
                                                "users file's fields: this is a users file; give it as --users FILE")],
                                 "Nothing was stored.")
        if batch:
            _upsert_posts(s, batch, report, rejects, given)
        given.close()
        _finish(s, rejects, report, skip_invalid, commit=within is None)
    return report


USERS_ONLY = frozenset({"consent", "sensitive_opt_in", "region", "handle"})  # a users file's fields, no post's


def _author(row: dict[str, Any] | None) -> str | None:
    """The user id of a row that failed validation, when it has a readable one (its consent is then checked first:
    a row of someone who did not opt in is skipped, not copied into a reject file)."""
    value = row.get("user_id") if isinstance(row, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return str(id_text(value)).strip() or None  # 12.0 is user 12, as when the row is valid
    except ValueError:
        return None


def _validated_posts(path: str) -> Iterator[tuple[int, PostIn | list[Problem], dict[str, Any] | None]]:
    for line, row in iter_rows(path, ("jsonl", "csv", "json"), ("post_id", "user_id", "text", "created_at"),
                               known=frozenset(PostIn.model_fields)):
        if isinstance(row, Problem):
            yield line, [row], None
        else:
            yield line, validate(path, line, row, PostIn, POST_HINTS), row


class _ConsentLookup:
    """Whether a user's posts may be stored under the policy, cached per user for the run."""

    def __init__(self, s: Session, policy: str) -> None:
        self.s = s
        self.policy = policy
        self.cache: dict[str, str | None] = {}

    def allows(self, user_id: str) -> bool:
        consent = self.consent(user_id)
        return consent == "opted_in" or (self.policy == "opt-out" and consent != "opted_out")

    def opted_out(self, user_id: str) -> bool:
        return self.consent(user_id) == "opted_out"

    def consent(self, user_id: str) -> str | None:
        """The user's consent: ``opted_out`` once they opted out (their record is gone), else their record's."""
        if user_id not in self.cache:
            if len(self.cache) > 100_000:
                self.cache.clear()
            from matcher.forget import opted_out

            user = self.s.get(User, user_id)
            self.cache[user_id] = "opted_out" if opted_out(self.s, user_id) else user.consent if user else None
        return self.cache[user_id]


_UNCHANGED = Table("perkmatch_ingest_unchanged", MetaData(), Column("platform", String), Column("post_id", String))


class _Given:
    """The posts earlier batches of a file gave, in memory that stays flat: those they wrote are the stored posts
    updated since ``started``; those they left alone (``unchanged``) go to a temporary table (``_UNCHANGED``, made
    only when a file has a second batch), so a later row of one counts as ``repeated`` whatever the batch
    boundaries."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.started = utcnow()
        self.pending: set[tuple[str, str]] = set()  # the last batch's unchanged posts, stored when another comes
        self.made = False

    def unchanged_among(self, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these posts an earlier batch gave and left alone."""
        if self.pending:
            if not self.made:
                self.s.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_UNCHANGED.name} (platform VARCHAR NOT "
                                    "NULL, post_id VARCHAR NOT NULL, PRIMARY KEY (platform, post_id))"))
                self.s.execute(delete(_UNCHANGED))  # one an interrupted ingest left on this connection
                self.made = True
            self.s.execute(insert(_UNCHANGED), [{"platform": p, "post_id": i} for p, i in self.pending])
            self.pending = set()
        if not self.made or not keys:
            return set()
        key = tuple_(_UNCHANGED.c.platform, _UNCHANGED.c.post_id)
        return {(p, i) for p, i in self.s.execute(select(_UNCHANGED.c.platform, _UNCHANGED.c.post_id)
                                                   .where(key.in_(list(keys)))).all()}

    def close(self) -> None:
        if self.made:
            self.s.execute(text(f"DROP TABLE {_UNCHANGED.name}"))
            self.made = False


def _other_author(path: str, line: int, item: PostIn, author: str, stored: bool) -> Problem:
    where = "stored as" if stored else "given in this file as"
    return Problem(path, line, "user_id", f"post '{item.post_id}' is {where} {author}'s; a post cannot change author: "
                   "give this one its own post_id")


def _upsert_posts(s: Session, batch: dict[tuple[str, str], list[tuple[int, PostIn, dict[str, Any] | None]]],
                  report: IngestReport, rejects: _Rejects, given: _Given) -> None:
    """Insert or update a batch of posts, the last row of each (platform, post_id) winning (the others count as
    ``repeated``, as does a row of a post an earlier batch of this file gave: ``_Given``). A post given exactly as
    stored is left alone (``unchanged``; one an earlier batch left alone and this one changes is ``updated``). A post
    belongs to its stored author, or to the author of its first row in the file when new: a row giving it another
    author is rejected, never moves it."""
    stored = {(r[0], r[1]): (r[2], r[3], tuple(r[4:])) for r in s.execute(  # author, updated_at, content
        select(Post.platform, Post.post_id, Post.user_id, Post.updated_at, *_CONTENT)  # type: ignore[call-overload]  # (SQLModel: 4 columns at most)
        .where(tuple_(col(Post.platform), col(Post.post_id)).in_(list(batch)))).all()}
    latest: dict[tuple[str, str], PostIn] = {}
    for key, entries in batch.items():
        owner = stored[key][0] if key in stored else entries[0][1].user_id
        for line, item, row in entries:
            if item.user_id == owner:
                report.repeated += key in latest
                latest[key] = item
            else:
                rejects.add(line, row, [_other_author(rejects.path, line, item, owner, key in stored)])
    if not latest:
        return
    _drop_forgotten_contexts(s, latest)
    existing = latest.keys() & stored.keys()
    written = {key for key in existing if stored[key][1] >= given.started}  # by an earlier batch of this file
    left = given.unchanged_among(existing - written)  # given by an earlier batch, which left them alone
    earlier = written | left
    report.repeated += len(earlier)
    same = {key for key in existing if _content(latest[key]) == stored[key][2]}
    report.unchanged += len(same - earlier) - len(left - same)  # those left alone before but written now: updated
    given.pending = same - earlier
    now = utcnow()
    rows = []
    for (platform, post_id), p in latest.items():
        if (platform, post_id) in same:
            continue
        text, context = embed_form(p.text), embed_form(p.context) if p.context else None
        rows.append({
            "post_id": post_id, "platform": platform, "user_id": p.user_id, "text": p.text,
            "context": p.context or None, "created_at": p.created_at, "likes": p.likes, "replies": p.replies,
            "shares": p.shares, "is_share": p.is_share, "text_key": text_key(text),
            "context_key": text_key(context) if context else None, "updated_at": now,
        })
    report.updated += len(existing - earlier - same) + len(left - same)
    report.added += len(latest) - len(existing)
    if not rows:
        return
    insert = upsert_insert(s.get_bind())
    stmt = insert(Post).values(rows)
    updatable = {c: stmt.excluded[c] for c in rows[0] if c not in ("post_id", "platform")}
    s.execute(stmt.on_conflict_do_update(index_elements=["platform", "post_id"], set_=updatable))


def _drop_forgotten_contexts(s: Session, latest: dict[tuple[str, str], PostIn]) -> None:
    """A reply quoting a forgotten user's post as its context (``forget``: an old export of another user's posts)
    is stored without that context, as forget left it: their words never come back."""
    from matcher.forget import any_forgotten_text, forgotten_contexts

    if not any_forgotten_text(s):  # most databases: nothing to look up
        return
    keys = {key: text_key(embed_form(p.context)) for key, p in latest.items() if p.context}
    gone = forgotten_contexts(s, set(keys.values()))
    for key, context_key in keys.items():
        if context_key in gone:
            latest[key] = latest[key].model_copy(update={"context": None})


_CONTENT = (Post.text, Post.context, Post.created_at, Post.likes, Post.replies, Post.shares, Post.is_share)


def _content(p: PostIn) -> tuple[Any, ...]:
    """A post's stored content (``_CONTENT``) as this row would store it."""
    return (p.text, p.context or None, p.created_at, p.likes, p.replies, p.shares, p.is_share)
