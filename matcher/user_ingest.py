"""Ingest a users file: validate each row and upsert the user, in one transaction. A row updates the fields it gives;
a user who opts out is forgotten (``forget``), and one who opted out earlier stays out; a withdrawn sensitive-topic
opt-in deletes what runs inferred on it (``forget.withdraw_opt_ins``).
"""

import json
import os
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from catalog.errors import Problem
from catalog.rows import iter_rows, validate
from matcher.forget import forget_in_session, withdraw_opt_ins
from matcher.forgotten import forgotten_check, opted_out, record_opt_out
from matcher.ingest_report import (
    FilePath,
    IngestReport,
    Rejects,
    default_reject_path,
    discarded_on_error,
    finish,
    row_author,
)
from matcher.locks import hold_ingest_lock
from matcher.records import USER_HINTS, USER_TEXTS, UserIn
from matcher.store import TopicScore, User, has_posts, session, utcnow
from matcher.taxonomy import dropped_under, stored_topics, topic_ids_in
from matcher.topic_tree import not_shown


def ingest_users(engine: Engine, path: FilePath, *, skip_invalid: bool = False,
                 reject_path: FilePath | None = None, within: Session | None = None) -> IngestReport:
    """Validate and upsert a users file; users who opt out are forgotten. A user who opted out stays out: a row
    without consent, or an old file still saying opted_in, does not bring them back (only `perkmatch consent USER
    opted_in` does). ``within``: in that session's transaction, committed by the caller (``ingest``)."""
    path, reject_path = os.fspath(path), None if reject_path is None else os.fspath(reject_path)
    report = IngestReport(path, kind="users")
    rejects = Rejects(path, (reject_path or default_reject_path(path)) if skip_invalid else None)
    seen: dict[str, int] = {}  # user id -> its line: a user given twice is a mistake (opted out, then in?)
    with discarded_on_error(rejects), session(engine if within is None else within) as s:
        if within is None:
            hold_ingest_lock(s.connection())
        users = _Users(s, report)
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
            assert not isinstance(row, Problem)  # (a Problem row is its own item: rejected above)
            users.apply(line, row, item)
        finish(s, rejects, report, skip_invalid, commit=within is None)
    return report


_KEPT = frozenset({"handle", "region", "consent", "sensitive_opt_in"})  # a users row's fields, kept when not given


class _Users:
    """A users file's valid rows applied in one session, with what they need read once, when first needed."""

    def __init__(self, s: Session, report: IngestReport) -> None:
        self.s = s
        self.report = report
        self.topic_ids = topic_ids_in(s)
        self.hidden: Callable[[str | None], frozenset[str]] | None = None  # (``not_shown``, read when needed)
        self.was_forgotten: Callable[[str], bool] | None = None  # (``forgotten.forgotten_check``, read when needed)

    def apply(self, line: int, row: dict[str, Any], item: UserIn) -> None:
        """Store the row's user; or forget them (they opt out), or leave them out (they opted out earlier)."""
        s, report = self.s, self.report
        existing = s.get(User, item.user_id)
        if item.consent == "opted_out":
            _opt_out(s, item.user_id, report)
            return
        if opted_out(s, item.user_id):
            report.users_kept_out += 1
            return
        user = existing or User(user_id=item.user_id)
        before, opted_in = _user_fields(user), user.sensitive_opt_in
        self._update(user, existing, line, row, item)
        if existing is not None and _user_fields(user) == before:
            report.users_unchanged += 1  # given exactly as stored: not written
            return
        if existing is not None and user.sensitive_opt_in != opted_in:
            self._withdraw(user, opted_in)
        user.updated_at = utcnow()
        s.add(user)
        report.users_updated += existing is not None
        report.users_added += existing is None
        if existing is None:
            self.was_forgotten = self.was_forgotten or forgotten_check(s)  # (read once, when first needed)
            report.users_returned += self.was_forgotten(user.user_id)

    def _update(self, user: User, existing: User | None, line: int, row: dict[str, Any], item: UserIn) -> None:
        """Set the fields the row gives (a stored user's others are kept) and its extra fields; note opt-ins to ids
        the loaded taxonomy lacks."""
        # a row updates the fields it gives: a file sent to change regions keeps everyone's consent and opt-ins
        given = {k for k in item.model_fields_set if row.get(k) not in (None, "")} if existing else set(_KEPT)
        for field in _KEPT & given:
            value = getattr(item, field)
            setattr(user, field, json.dumps(sorted(set(value))) if field == "sensitive_opt_in" else value)
        unknown = sorted(set(item.sensitive_opt_in) - self.topic_ids)
        if unknown:  # kept: a taxonomy loaded later may have them; but most likely a typo or another taxonomy's
            self.report.unknown_opt_ins.append(Problem(
                self.report.path, line, "sensitive_opt_in", f"{', '.join(map(repr, unknown))}: no topic of the "
                "loaded taxonomy has this id, so it opts the user in to nothing (`perkmatch taxonomy show` lists "
                "them)"))
        extra = (json.loads(existing.extra or "{}") if existing else {}) | dict((item.model_extra or {}).items())
        user.extra = json.dumps(extra, sort_keys=True, default=str)

    def _withdraw(self, user: User, opted_in: str | None) -> None:
        """The user took back sensitive-topic opt-ins (``opted_in``: those stored before): delete what runs inferred
        on the topics no longer shown to them (``forget.withdraw_opt_ins``), and say so in the report."""
        s = self.s
        self.hidden = hidden = self.hidden or not_shown(stored_topics(s))
        # and the user's topics the loaded taxonomy lacks under an opt-in taken back: before, such a withdrawal
        # deleted nothing, and the topic, no longer known to be sensitive, was shown
        gone = set(json.loads(opted_in or "[]")) - set(json.loads(user.sensitive_opt_in or "[]"))
        stored = set(s.exec(select(TopicScore.topic_id).where(TopicScore.user_id == user.user_id)
                            .distinct()).all()) if gone else set()
        withdrawn = (hidden(user.sensitive_opt_in) - hidden(opted_in)) | dropped_under(s, stored, gone, self.topic_ids)
        self.report.users_withdrew += bool(withdrawn)
        strongest = withdraw_opt_ins(s, user.user_id, withdrawn)
        if withdrawn:
            self.report.withdrew[user.user_id] = (withdrawn, strongest)


def _opting_out(row: dict[str, Any] | Problem) -> str | None:
    """The user id of a row that says consent: opted_out but failed validation on another field (a region mistyped),
    when its id is readable: the opt-out is honoured all the same (its other fields go to the reject file)."""
    if isinstance(row, Problem) or str(row.get("consent") or "").strip() != "opted_out":
        return None
    return row_author(row)


def _opt_out(s: Session, user_id: str, report: IngestReport) -> None:
    """Forget a user who opts out (or record the opt-out of one with nothing stored), so their posts stay out."""
    if s.get(User, user_id) is not None or has_posts(s, user_id):
        forget_in_session(s, user_id)
        report.users_forgotten += 1
    else:
        report.users_opted_out += 1
    record_opt_out(s, user_id)


def _user_fields(user: User) -> tuple[Any, ...]:
    return tuple(getattr(user, field) for field in sorted(_KEPT)) + (user.extra,)
