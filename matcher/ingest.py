"""Ingest: validate posts and users at the edge (pydantic), then upsert them, streaming.

A file is stored in one transaction: by default any invalid row rejects the whole file (every problem
listed, nothing written); with ``skip_invalid`` the valid rows are stored and each rejected row goes,
with its reasons, to a reject file. Re-ingesting a (platform, post_id) updates the post.
Posts of users without consent are never stored under the default 'opt-in' policy.

Here: ``ingest`` (a users file then a posts file, in one transaction) and the posts file, read and checked row by row;
a users file is ``matcher.user_ingest``'s, the writing of a batch of posts ``matcher.post_upsert``'s, the report and
the reject file ``matcher.ingest_report``'s.
"""

import os
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from catalog.errors import InputFileError, Problem
from catalog.rows import iter_rows, validate
from matcher.errors import PerkmatchError
from matcher.forgotten import deleted_posts_check, forgotten_check, opted_out
from matcher.ingest_report import (
    FilePath,
    IngestReport,
    Rejects,
    check_reject_path,
    default_reject_path,
    discarded_on_error,
    finish,
    row_author,
    stored,
)
from matcher.locks import hold_ingest_lock
from matcher.post_upsert import Batch, Given, upsert_posts
from matcher.records import POST_HINTS, PostIn, check_policy
from matcher.store import User, has_posts, session
from matcher.user_ingest import ingest_users

__all__ = ["BATCH", "FilePath", "IngestReport", "Progress", "ingest", "ingest_posts", "ingest_users"]

BATCH = 1000

Progress = Callable[[int], None]


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
            stored(report, report.rejects)
            report.rejects = None
    return reports


def ingest_posts(engine: Engine, path: FilePath, *, skip_invalid: bool = False, reject_path: FilePath | None = None,
                 policy: str = "opt-in", progress: Progress | None = None,
                 within: Session | None = None) -> IngestReport:
    """Validate and upsert a posts file in one transaction, streaming it in batches (``within``: as
    ``ingest_users``)."""
    path, reject_path = os.fspath(path), None if reject_path is None else os.fspath(reject_path)
    check_policy(policy)
    report = IngestReport(path)
    rejects = Rejects(path, (reject_path or default_reject_path(path)) if skip_invalid else None)
    with discarded_on_error(rejects), session(engine if within is None else within) as s:
        if within is None:
            hold_ingest_lock(s.connection())
        given = Given(s)
        screen = _Screen(s, policy, report, rejects)
        batch: Batch = {}  # each key's rows
        rows = userish = 0  # rows, and those with a users file's fields but neither a post id nor a text
        for line, item, row in _validated_posts(path):
            if progress:
                progress(1)
            rows += 1
            userish += isinstance(row, dict) and not {"post_id", "text"} & set(row) and bool(USERS_ONLY & set(row))
            post = screen.kept(line, item, row)
            if post is None:
                continue
            batch.setdefault((post.platform, post.post_id), []).append((line, post, row))
            if len(batch) >= BATCH:
                upsert_posts(s, batch, report, rejects, given)
                batch = {}
        if rows and userish == rows:  # a users file given as posts: before, "skipped without consent", exit 0
            raise InputFileError(path, [Problem(path, 0, "post_id", "no row has a post_id or a text, and each has a "
                                                "users file's fields: this is a users file; give it as --users FILE")],
                                 "Nothing was stored.")
        if batch:
            upsert_posts(s, batch, report, rejects, given)
        given.close()
        finish(s, rejects, report, skip_invalid, commit=within is None)
    return report


class _Screen:
    """Which rows of a posts file go on to be stored: none of a user the consent policy leaves out (never read further,
    even to reject the row), no invalid row (rejected), no post its author deleted; and, of the authors with no
    record, those forgotten earlier whose posts come back (``users_returned``)."""

    def __init__(self, s: Session, policy: str, report: IngestReport, rejects: Rejects) -> None:
        self.s, self.report, self.rejects = s, report, rejects
        self.consent = _ConsentLookup(s, policy)
        self.deleted = deleted_posts_check(s)
        self.was_forgotten: Callable[[str], bool] | None = None  # (``forgotten.forgotten_check``, read when needed)
        self.authors: set[str] = set()  # authors with no record whose posts are stored: was one forgotten earlier?

    def kept(self, line: int, item: PostIn | list[Problem], row: dict[str, Any] | None) -> PostIn | None:
        """The row's post, when it goes on to be stored."""
        s, report, consent = self.s, self.report, self.consent
        author = item.user_id if not isinstance(item, list) else row_author(row)
        if author is not None and not consent.allows(author):  # never read further, even to reject the row
            report.skipped_no_consent += 1
            report.skipped_opted_out += consent.opted_out(author)
            return None
        if isinstance(item, list):
            self.rejects.add(line, row, item)
            return None
        if self.deleted(item.platform, item.post_id):  # its author deleted it: an export still holding it stores none
            report.skipped_deleted += 1
            return None
        if consent.consent(item.user_id) is None and item.user_id not in self.authors:  # (opt-out: no record)
            self.authors.add(item.user_id)
            self.was_forgotten = self.was_forgotten or forgotten_check(s)
            report.users_returned += self.was_forgotten(item.user_id) and s.get(User, item.user_id) is None \
                and not has_posts(s, item.user_id)  # (nothing of theirs stored: not given back already)
        return item


USERS_ONLY = frozenset({"consent", "sensitive_opt_in", "region", "handle"})  # a users file's fields, no post's


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
            user = self.s.get(User, user_id)
            self.cache[user_id] = "opted_out" if opted_out(self.s, user_id) else user.consent if user else None
        return self.cache[user_id]
