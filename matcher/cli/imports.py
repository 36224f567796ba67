"""`perkmatch import`: convert a platform export into posts, then ingest them, or write them as JSON Lines."""

from collections import Counter
from typing import Annotated, Any

import typer

from matcher.cli.common import (
    DbOpt,
    JsonOpt,
    PolicyOpt,
    engine,
    err,
    handled,
    interrupted,
    out,
    posts_counts,
    print_json,
    progress,
    say_returned,
    say_skipped,
    warn_policy,
)


def import_export(
    kind: Annotated[str, typer.Argument(help="twitter-archive, mastodon, reddit, feed (one person's export), or "
                                        "stackexchange (a whole site's dump)", show_default=False)],
    path: Annotated[str, typer.Argument(help="The export: its .zip / .tar.gz, its folder, or the file itself "
                                        "(tweets.js, outbox.json, comments.csv, Posts.xml, the feed)")],
    user_id: Annotated[str | None, typer.Option("--user-id", help="Who the posts belong to (one person's exports); "
                                                "give the same id for all of a person's networks")] = None,
    out_file: Annotated[str | None, typer.Option("--out", help="Write the posts to this .jsonl (or .jsonl.gz) "
                                                 "instead of ingesting them")] = None,
    site: Annotated[str | None, typer.Option("--site", help="stackexchange only: the site's short name in the ids "
                                             "(se-<site>-<Id>), such as beer; needed when the dump's folder is not "
                                             "named for the site; give the same name every time", show_default=False)
                    ] = None,
    policy: PolicyOpt = "opt-in",
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Convert a platform export into posts, and ingest them (or write them with --out). Never grants consent."""
    from matcher.importers import KINDS, get_kind, import_posts

    if kind not in KINDS:  # a bad value on the command line: a usage error (2), as any other
        raise typer.BadParameter(f"{kind!r}: use one of {', '.join(KINDS)}", param_hint="'KIND'")
    spec = get_kind(kind)
    try:
        if out_file is not None:  # (`--out ""`, an unset shell variable, is refused: not an ingest)
            _write_out(kind, path, user_id, site, out_file, as_json)
            return
        warn_policy(policy)
        with progress() as bar:
            result = import_posts(engine(db), kind, path, user_id, policy=policy, site=site,
                                  progress=lambda n: bar("import", n, None),
                                  converted=lambda n: bar("convert", n, None))
    except KeyboardInterrupt as exc:  # the posts are converted, then stored in one transaction; --out writes whole
        raise interrupted(exc, "nothing was stored or written (an import is one transaction); run the command "
                          "again") from None
    _print_import(path, kind, bool(spec.users), result, policy, as_json)


def _print_import(path: str, kind: str, lists_users: bool, result: Any, policy: str, as_json: bool) -> None:
    """What the import stored: its record (--json) or its lines, and the notes on stderr."""
    report = result.posts_report
    users_returned = result.users_report.users_returned if result.users_report else 0
    if as_json:
        print_json({"path": path, "kind": kind} | {k: v for k, v in report.as_dict().items() if k != "path"}
                   | {"posts": result.posts, "users": result.users, "users_added": result.users_new,
                      # the users it lists that were stored already: left as they are (an import adds, never updates)
                      "users_unchanged": max(0, result.users - result.users_new),
                      "users_returned": users_returned + report.users_returned,
                      "left_out": result.left_out, "copies": result.copies})
        _say_copies(path, result.posts, result.copies)
        say_returned(users_returned, report.users_returned, "this export")
        return
    out.print(f"{path}: {result.posts} posts read; {posts_counts(report)}")
    _say_left_out(path, result.left_out)
    _say_copies(path, result.posts, result.copies)
    if lists_users:
        out.print(f"{path}: {result.users} users listed, {result.users_new} new ones added (stored users are "
                  "left as they are)")
    say_returned(users_returned, report.users_returned, "this export")
    say_skipped(report, policy, ", and import never grants consent (record it with `perkmatch consent USER_ID "
                "opted_in` or a users file with consent: opted_in, then import again; or use --consent-policy opt-out)")


def _say_copies(path: str, posts: int, copies: int) -> None:
    """A warning when most of the export's posts are stored under other users' ids too (``importers._copies``)."""
    if copies and copies * 2 >= posts:
        err.print(f"Warning: {path}: {copies:,} of its {posts:,} posts are stored under other users' ids too, the same "
                  "text at the same time: the same export imported before under another name (a Stack Exchange "
                  "dump's folder renamed, or --site or --user-id given otherwise) counts its people twice; if so, "
                  "`perkmatch forget` the new ids and import under the name used before")


def _write_out(kind: str, path: str, user_id: str | None, site: str | None, out_file: str, as_json: bool) -> None:
    """--out: the posts as JSON Lines, and a dump's users beside them (atomic writes)."""
    from matcher.errors import PerkmatchError
    from matcher.importers import counted, get_kind, read_posts, read_users, users_file_for, write_jsonl_files
    from matcher.outfiles import check_out, same_file

    if not out_file.strip():  # (said before its name's format, as ``export.assignment_format`` does)
        check_out(out_file, "posts file (.jsonl)")
    if not out_file.endswith((".jsonl", ".jsonl.gz")):  # what is written is JSON Lines, whatever the name says
        raise PerkmatchError(f"--out {out_file}: the posts are written as JSON Lines; name the file .jsonl or "
                             ".jsonl.gz")
    users_file = users_file_for(out_file) if get_kind(kind).users else None
    if any(same_file(f, path) for f in (out_file, users_file) if f):
        raise PerkmatchError(f"--out {out_file}: that is a file of the export being converted, which would be "
                             "replaced; give another path (the export is left as it was)")  # at once, not after
        # converting it (a file inside an export's folder or archive is refused once it is read: write_jsonl_files)
    left_out: Counter[str] = Counter()
    with progress() as bar:
        posts = counted(read_posts(kind, path, user_id, site, left_out), lambda n: bar("convert", n, None))
        files = [(posts, out_file)] + ([(read_users(kind, path, site), users_file)] if users_file else [])
        count, users = (write_jsonl_files(files) + [0])[:2]  # both or neither: a bad Users.xml leaves no posts file
    if as_json:
        print_json({"path": path, "kind": kind, "posts": count, "out": out_file, "users": users,
                    "users_file": users_file, "left_out": dict(sorted(left_out.items()))})
        return
    out.print(f"{path}: {count} posts written to {out_file}")
    _say_left_out(path, left_out)
    if users_file:
        out.print(f"{users} users written to {users_file} (without consent: add consent: opted_in for those "
                  "who gave it before `perkmatch ingest --users`)")


def _say_left_out(path: str, left_out: dict[str, int]) -> None:
    """The items of the export that were not imported, by reason (none: nothing said)."""
    if left_out:
        out.print(f"{path}: left out {sum(left_out.values())} item(s): "
                  + "; ".join(f"{n} {reason}" for reason, n in sorted(left_out.items())), markup=False)


def register(app: typer.Typer) -> None:
    app.command("import")(handled(import_export))
