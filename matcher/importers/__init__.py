"""Importers: a platform's data export -> posts in the contract's fields, plus `source` (the kind of export).

One module per kind, one reader each: ``read(path, user_id)`` for one person's export, ``read(path, site)`` for a
Stack Exchange dump (every user; ``site`` names it in the ids, else the dump's folder name does). Readers stream
where the format allows and raise ``ImportFormatError`` naming the file, the place and the fix when an export is
malformed or truncated. ``read_posts`` checks every post against the posts model too, so what ingest would
reject is reported against the export, not a temp file.

``import_posts`` stores an import the way ``perkmatch ingest`` does: the posts go through the same
validation, consent check and upsert. Import never grants consent.
"""

import contextlib
import gzip
import json
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine
from sqlmodel import col, select

from catalog.errors import InputFileError, Problem
from matcher.errors import PerkmatchError
from matcher.importers.common import LeftOut, format_error, tracking_reads
from matcher.importers.feed import read_feed
from matcher.importers.mastodon import read_mastodon
from matcher.importers.reddit import read_reddit
from matcher.importers.stackexchange import read_stackexchange, read_stackexchange_users
from matcher.importers.twitter import read_twitter_archive
from matcher.ingest_report import IngestReport
from matcher.outfiles import atomic_open


@dataclass(frozen=True)
class Kind:
    """One kind of export: its reader, and whether it holds one person's posts (then a user id is needed; else it is
    a whole site's, whose name may be given)."""

    name: str
    read: Callable[..., Iterator[dict[str, Any] | LeftOut]]
    one_person: bool
    users: Callable[..., Iterator[dict[str, Any]]] | None = None


KINDS = {k.name: k for k in (
    Kind("twitter-archive", read_twitter_archive, True),
    Kind("mastodon", read_mastodon, True),
    Kind("reddit", read_reddit, True),
    Kind("stackexchange", read_stackexchange, False, read_stackexchange_users),
    Kind("feed", read_feed, True),
)}


def get_kind(name: str) -> Kind:
    if name not in KINDS:
        raise PerkmatchError(f"unknown export kind {name!r}; use one of: {', '.join(KINDS)}")
    return KINDS[name]


def read_posts(kind: str, path: str, user_id: str | None = None, site: str | None = None,
               left_out: Counter[str] | None = None) -> Iterator[dict[str, Any]]:
    """The posts of an export of that kind; one person's exports need user_id, a whole-site dump must not get one
    (``site``, its name in the ids, is for a whole-site dump only). The items the export holds but the import
    leaves out (``LeftOut``: not public, deleted, ...) are counted by reason in ``left_out``."""
    spec = _site_checked(get_kind(kind), site, path)
    # An empty id (`--user-id "$ID"`, unset) is a blank one, never the option left out: before, a Stack Exchange
    # dump took `--user-id ""` as no --user-id, and one person's export asked for the id it had been given.
    if spec.one_person and user_id is None:
        raise PerkmatchError(f"{kind} is one person's export: give the user id to file the posts under "
                             "(--user-id ID; use the same id for every network of that person)")
    if spec.one_person and user_id is not None and not user_id.strip():
        raise PerkmatchError(f"--user-id {user_id!r} is blank: give a non-empty --user-id (the same id for every "
                             "network of that person)")
    if not spec.one_person and user_id is not None:
        raise PerkmatchError(f"{kind} holds every user of the site (ids like se-<site>-<Id>): "
                             "leave out the user id (--user-id)")
    return _checked(path, spec.read(path, user_id.strip()) if user_id is not None else spec.read(path, site),
                    Counter() if left_out is None else left_out)


def _site_checked(spec: Kind, site: str | None, path: str) -> Kind:
    """The kind, once what it is given is checked: an empty path (`import feed "$F"`, unset) is none given, where
    before it was read as the working folder ("Error: : a folder, not a feed file"); --site is a dump's only."""
    if not path.strip():
        raise PerkmatchError("no export given (an empty path); give the path of the export: its .zip / .tar.gz, its "
                             "folder, or the file itself")
    if site is not None and spec.one_person:
        raise PerkmatchError(f"--site is for stackexchange dumps only (it names the site in their ids, "
                             f"se-<site>-<Id>); leave it out for {spec.name}")
    return spec


BLANK = LeftOut("blank (no text)")


def _checked(path: str, posts: Iterator[dict[str, Any] | LeftOut], left_out: Counter[str]
             ) -> Iterator[dict[str, Any]]:
    """The posts, each as the posts model (ingest's check) accepts it; else a format error naming the post. The items
    left out are counted, not passed on."""
    from pydantic import ValidationError

    from matcher.records import PostIn

    for post in posts:
        if not isinstance(post, LeftOut) and not str(post.get("text") or "").strip():
            post = BLANK  # an empty note, a comment of spaces: nothing the person wrote to read
        if isinstance(post, LeftOut):
            left_out[post.reason] += 1
            continue
        try:
            PostIn.model_validate(post)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else ""
            raise format_error(path, f"post {post.get('post_id')!r}, field '{field}'",
                               f"got {post.get(field)!r:.60}: {error['msg'].removeprefix('Value error, ')}",
                               "correct or remove that item in the export, or give the export as downloaded") from None
        yield post


def read_users(kind: str, path: str, site: str | None = None) -> Iterator[dict[str, Any]]:
    """The users an export lists (Stack Exchange dumps, ``site`` as for ``read_posts``), without consent; none for one
    person's exports."""
    spec = _site_checked(get_kind(kind), site, path)
    return spec.users(path, site) if spec.users else iter(())


def counted(records: Iterable[dict[str, Any]], converted: Callable[[int], None] | None, every: int = 1000
            ) -> Iterator[dict[str, Any]]:
    """The records, telling ``converted`` how many more were read every ``every`` of them and at the end (a
    progress bar's advance: converting a large dump takes a while before anything is stored)."""
    n = 0
    for n, record in enumerate(records, start=1):
        yield record
        if converted and n % every == 0:
            converted(every)
    if converted and n % every:
        converted(n % every)


def write_jsonl(records: Iterable[dict[str, Any]], out: str) -> int:
    """Write records as JSON Lines (gzipped if out ends in .gz) atomically (``outfiles.atomic_open``)."""
    return write_jsonl_files([(records, out)])[0]


def write_jsonl_files(files: Sequence[tuple[Iterable[dict[str, Any]], str]]) -> list[int]:
    """Write each (records, path) as JSON Lines, in order, all or none: every file is renamed into place only once
    all are written, so an error in a later one (a damaged Users.xml) leaves every earlier one as it was."""
    counts = []
    with tracking_reads() as read, contextlib.ExitStack() as stack:
        for records, out in files:
            raw = stack.enter_context(atomic_open(out, "JSON Lines file", binary=True))
            handle: IO[bytes] | gzip.GzipFile = gzip.GzipFile(fileobj=raw, mode="wb") if out.endswith(".gz") else raw
            count = 0
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
                count += 1
            if handle is not raw:
                handle.close()
            counts.append(count)
        for _, out in files:  # the records are read lazily: only now is every file of the export known
            if _resolved(out) in read:
                raise PerkmatchError(f"--out {out}: that is a file of the export being converted, which would be "
                                     "replaced; give another path (the export is left as it was)")
    return counts


def _resolved(path: str) -> Path | None:
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError):
        return None


def users_file_for(out: str) -> str:
    """Where `import --out posts.jsonl` writes the users of a dump: posts.users.jsonl beside it."""
    name = Path(out).name
    for suffix in (".jsonl.gz", ".jsonl", ".gz"):
        if name.endswith(suffix):
            return str(Path(out).with_name(name.removesuffix(suffix) + ".users" + suffix))
    return f"{out}.users.jsonl"


@dataclass
class ImportResult:
    """What an import into the database did: the converted counts and the ingest reports."""

    posts: int
    users: int
    users_new: int
    posts_report: IngestReport
    users_report: IngestReport | None
    left_out: dict[str, int] = field(default_factory=dict)  # items of the export not imported, by reason (``LeftOut``)
    copies: int = 0  # its posts stored under another user's id too, the same text at the same time (``_copies``)


def import_posts(engine: Engine, kind: str, path: str, user_id: str | None = None,
                 policy: str = "opt-in", site: str | None = None,
                 progress: Callable[[int], None] | None = None, converted: Callable[[int], None] | None = None
                 ) -> ImportResult:
    """Convert the export, then ingest it as `ingest` does. Users it lists are added only when new.

    Stored users keep their record (an import never resets consent), and users who opted out stay forgotten.
    The whole export is converted before anything is stored, so a malformed export changes nothing. ``progress``
    is given the posts stored so far, as `ingest` gives it; ``converted``, the posts converted (``counted``).
    """
    from matcher.ingest import ingest
    from matcher.records import check_policy

    check_policy(policy)
    with tempfile.TemporaryDirectory(prefix="perkmatch-import-") as tmp:
        posts_file, users_file = str(Path(tmp) / "posts.jsonl"), str(Path(tmp) / "users.jsonl")
        left_out: Counter[str] = Counter()
        posts = write_jsonl(counted(read_posts(kind, path, user_id, site, left_out), converted), posts_file)
        users = list(read_users(kind, path, site))
        new = _new_users(engine, users)
        if new:
            write_jsonl(new, users_file)
        try:
            reports = ingest(engine, posts_file, users_file if new else None, policy=policy,  # one transaction
                             progress=progress)
        except InputFileError as exc:  # named against the export, not the converted file (gone with this folder)
            what = "users" if exc.path == users_file else "posts"
            kinds = _problem_kinds(exc.problems, exc.at_least, what)
            shown = "; ".join(kinds[:3])
            more = f" (and {exc.at_least}{len(kinds) - 3} more kind(s))" if len(kinds) > 3 else ""
            raise format_error(path, f"its {what}", f"cannot be stored: {shown}{more}",
                               "nothing was stored; for a post stored under another user id, import under that "
                               "--user-id") from None
        for report in reports:
            report.path = path
        copies = _copies(engine, posts_file)
    return ImportResult(posts, len(users), len(new), reports[-1], reports[0] if new else None,
                        dict(sorted(left_out.items())), copies)


def _copies(engine: Engine, posts_file: str) -> int:
    """How many of the converted posts, as stored, have a twin under another user's id: the same text written at the
    same second. Nearly all of them: the same export imported again under another name (a Stack Exchange dump's
    folder renamed, another --user-id), which counts its people twice."""
    from sqlalchemy import exists
    from sqlalchemy.orm import aliased

    from matcher.store import Post, batches, session

    with open(posts_file, encoding="utf-8") as f:
        ids = sorted({str(row["post_id"]) for row in map(json.loads, f)})
    twin = aliased(Post)
    found = 0
    with session(engine) as s:
        for part in batches(ids):
            found += len(s.exec(select(Post.id).where(col(Post.post_id).in_(part))
                                .where(exists().where(col(twin.text_key) == Post.text_key)
                                       .where(col(twin.created_at) == Post.created_at)
                                       .where(col(twin.user_id) != Post.user_id))).all())
    return found


_NAMED_POST = re.compile(r"post '([^']*)'")


def _problem_kinds(problems: list[Problem], at_least: str = "", what: str = "posts") -> list[str]:
    """What `ingest` found wrong with the converted posts (or users: ``what``), each kind once: problems of one field
    that differ only in the post they name are one, with how many and the first ids ("field 'user_id': a post is
    stored as bob's; ... (36 posts: blog-1, blog-2, blog-3, ...)"). Their lines are of the converted file, which the
    person never sees. Before, the first three problems were listed, often the same one three times."""
    def field(p: Problem) -> str:
        return f"field '{p.field}': " if p.field else ""

    kinds: dict[str, list[Problem]] = {}
    for p in problems:
        kinds.setdefault(field(p) + _NAMED_POST.sub("a post", p.message), []).append(p)
    out = []
    for message, same in kinds.items():
        if len(same) == 1:
            out.append(field(same[0]) + same[0].message)
            continue
        named = [m for p in same for m in _NAMED_POST.findall(p.message)]
        listed = f": {', '.join(named[:3])}{', ...' if len(named) > 3 else ''}" if named else ""
        out.append(f"{message} ({at_least}{len(same)} {what}{listed})")
    return out


def _new_users(engine: Engine, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The users not stored yet and never opted out."""
    from matcher.forgotten import opted_out
    from matcher.store import OptOut, User, batches, session

    known: set[str] = set()
    ids = [u["user_id"] for u in users]
    with session(engine) as s:
        for chunk in batches(ids):
            known.update(s.exec(select(User.user_id).where(col(User.user_id).in_(chunk))).all())
        any_opt_out = s.exec(select(OptOut).limit(1)).first() is not None
        return [u for u in users if u["user_id"] not in known and not (any_opt_out and opted_out(s, u["user_id"]))]
