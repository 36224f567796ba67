"""The `match` command: assign perks under the catalog's limits, show the run (or preview it: --dry-run, --catalog), and
what changed since the last one. What it shows is read and printed by ``match_view``; `brand` is in ``brand_cmd``."""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from matcher.cli import common
from matcher.cli.brand_cmd import brand
from matcher.cli.common import (
    DbOpt,
    JsonOpt,
    ModelOpt,
    engine,
    err,
    handled,
    parse_as_of,
)
from matcher.cli.match_view import _MatchView, _print_nobody, _show_match, score_move
from matcher.cli.shown import warn_stale

__all__ = ["DRY_RUN_KEEPS", "brand", "match", "register", "score_move", "_MatchView", "_print_nobody", "_show_match"]


def match(
    per_user: Annotated[int, typer.Option("--per-user", min=1, help="At most K perks per user.")] = 3,
    per_brand: Annotated[int, typer.Option("--per-brand", min=1, help="At most this many perks of one brand per "
                                           "user.")] = 1,
    fmt: Annotated[str | None, typer.Option("--format", help="Export format for --out: csv or jsonl.",
                                            callback=common.not_blank)] = None,
    out_file: Annotated[str | None, typer.Option("--out", help="Write the assignments to this file.")] = None,
    changes: Annotated[bool, typer.Option("--changes", help="Print only which users' assignments changed since the "
                                          "previous match, and whether the catalog or the user caused it.")] = False,
    since: Annotated[int | None, typer.Option("--since", help="With --changes: compare with this earlier match run "
                                              "instead of the previous one (`perkmatch status --runs N` lists them).",
                                              show_default=False)] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Check the perks' offer dates against this ISO date "
                                              "\\[default: the date of the last profile run].",
                                              show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Work out the match and print it (or its --changes, or "
                                          "--out), but keep no match run: brand, explain, report and status go on "
                                          "reading the last one kept.")] = False,
    catalog_file: Annotated[str | None, typer.Option("--catalog", help="With --dry-run: match as if this catalog "
                                                     "file were refreshed into a new live version (it is not: "
                                                     "`catalog refresh FILE` does that).",
                                                     callback=common.not_blank)] = None,
    perk_ids: Annotated[list[str] | None, typer.Option("--perk", help="Print (or write with --out) only this perk's "
                                                       "assignments and changes; give it again for more.",
                                                       show_default=False)] = None,
    brand_name: Annotated[str | None, typer.Option("--brand", help="Print (or write with --out) only the "
                                                   "assignments and changes of this brand's perks.",
                                                   callback=common.not_blank)] = None,
    db: DbOpt = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Assign perks to users under the catalog's limits; print ranked assignments with evidence (each topic's posts
    closest to the perk)."""
    from catalog.refresh import refresh
    from matcher.embed import held
    from matcher.match import run_match

    _check_options(fmt, out_file, changes, since, catalog_file, dry_run, db)
    when = parse_as_of(as_of)
    eng = engine(db, existing=True)
    known, sensitive = _before_match(eng, since, catalog_file)
    source = _encoder(eng, model, dry_run)
    reading = held(source) if dry_run else source  # a dry run stores no vector it embeds, but the file's (``stage``)
    selecting = bool(perk_ids or brand_name)
    if selecting and not catalog_file:  # a misspelt id is said before the match runs (a previewed file's, after)
        _selected_perks(eng, perk_ids or [], brand_name)

    def read(store: Any, run_id: int) -> _MatchView:
        """What to show of the run, read through ``store`` (a dry run's session: a previewed catalog's perks are
        there only)."""
        return _MatchView.read(store, reading, run_id, dry_run,
                               _selected_perks(store, perk_ids or [], brand_name) if selecting else None,
                               why_nobody=not changes, named=frozenset(perk_ids or ()), since=since)

    def stage(staging: Any) -> Any:
        """The catalog file as a new version, written into the dry run's transaction (rolled back with it); its perks'
        vectors are stored, as `catalog refresh` stores them (refreshing the file then embeds nothing)."""
        return refresh(staging, str(catalog_file), source, topics=known, sensitive=sensitive, retire_all=True,
                       commit=False)  # a file with no perks is previewed as what it would do: retire them all

    def unshown(run_id: int) -> str:
        """What to say when stopped with the run ``run_id`` kept, but not shown."""
        return DRY_RUN_KEEPS if dry_run else _kept_unshown(eng, run_id, changes, out_file, since)

    summary = _run(eng, dry_run, unshown, lambda bar: run_match(
        eng, reading, per_user=per_user, per_brand=per_brand, as_of=when, progress=bar,
        read_back=read if dry_run else None, stage=stage if catalog_file else None))
    try:
        view: _MatchView = summary.preview if dry_run else read(eng, summary.run_id)
        _report_match(summary, view, catalog_file, dry_run, changes, out_file, fmt, as_json, since)
        _warn_ended_offered(eng, summary, view, dry_run)
    except KeyboardInterrupt as exc:
        raise common.interrupted(exc, unshown(summary.run_id)) from None


def _check_options(fmt: str | None, out_file: str | None, changes: bool, since: int | None, catalog_file: str | None,
                   dry_run: bool, db: str | None) -> None:
    """The options that do not go together, or a --out file that would be refused, said before anything runs."""
    from matcher.export import assignment_format

    if since is not None and not changes:
        raise typer.BadParameter("goes with --changes", param_hint="'--since'")
    if fmt and out_file is None:
        raise typer.BadParameter("is the format of the file --out writes; give --out FILE too (or leave --format "
                                 "out to print)", param_hint="'--format'")
    if fmt and fmt.lower() not in ("csv", "jsonl"):  # a bad value: a usage error (2), like any other
        raise typer.BadParameter(f"{fmt!r}: use csv or jsonl", param_hint="'--format'")
    if changes and out_file is not None:  # before: the changes were printed, and no file was written
        raise typer.BadParameter("prints only what changed; --out writes the assignments: give one of them (to keep "
                                 "the changes, redirect them: `perkmatch match --changes --json > FILE`)",
                                 param_hint="'--changes'")
    if out_file is not None:  # (`--out ""` too: refused, not printed instead)
        assignment_format(out_file, fmt)  # a bad name or folder is refused before the match runs
        common.refuse_overwrite(out_file, "--out", db, {"the catalog file being previewed (--catalog)": catalog_file})
    if catalog_file and not dry_run:
        raise typer.BadParameter("previews a catalog: give --dry-run too (to make the file the live catalog, run "
                                 "`perkmatch catalog refresh FILE`, then `perkmatch match`)", param_hint="'--catalog'")


def _before_match(eng: Any, since: int | None, catalog_file: str | None) -> tuple[dict[str, str], set[str]]:
    """What is refused before the match runs (a --since that is no earlier match run, a previewed catalog file's
    problems), the run policy's warning; and the topics a previewed catalog may name (known, sensitive)."""
    from catalog.refresh import read_catalog
    from matcher.profile_run import latest_run
    from matcher.store import session
    from matcher.taxonomy import topic_sets

    if since is not None:  # before the match: a kept run would otherwise precede the error
        from matcher.change_causes import earlier_run

        earlier_run(eng, since, None, "match")
    common.warn_run_policy(eng)
    known, sensitive = dict[str, str](), set[str]()  # the topics a previewed catalog may name (`stage`)
    if catalog_file:
        with session(eng) as s:
            known, sensitive = topic_sets(s)
        # the file's problems before the model loads; standard input or a pipe can be read once only, and with no
        # profile yet (maybe no taxonomy either) `run_match` says so first
        if Path(catalog_file).is_file() and latest_run(eng, "profile"):
            read_catalog(catalog_file, known, sensitive)
    return known, sensitive


def _encoder(eng: Any, model: str | None, dry_run: bool) -> Any:
    """The encoder (with the database's embedding cache) the match embeds with."""
    try:
        return common.cache(eng, model)
    except KeyboardInterrupt as exc:  # stopped as the model loads (before: "finished work is kept")
        raise common.interrupted(exc, DRY_RUN_KEEPS if dry_run else "no match run was made; run the command "
                                 "again") from None


def _run(eng: Any, dry_run: bool, unshown: Callable[[int], str], run: Callable[[Any], Any]) -> Any:
    """``run(bar)``'s summary, under a progress bar. Stopped (Ctrl-C): a run kept as it committed, or just after, is
    said to be kept but not shown (``unshown``); a dry run keeps nothing."""
    from matcher.profile_run import latest_run

    before = latest_run(eng, "match")
    with common.progress() as bar:
        try:
            return run(bar)
        except KeyboardInterrupt as exc:
            if dry_run:
                raise common.interrupted(exc, DRY_RUN_KEEPS) from None
            kept = latest_run(eng, "match")  # stopped as its run committed, or just after: kept, never shown
            if kept is not None and (before is None or int(kept.id or 0) > int(before.id or 0)):
                raise common.interrupted(exc, unshown(int(kept.id or 0))) from None
            raise


DRY_RUN_KEEPS = ("a dry run keeps nothing (with --catalog, only the vectors of the file's perk texts, cached as "
                 "`catalog refresh` caches them)")  # said when one is stopped


def _kept_unshown(eng: Any, run_id: int, changes: bool, out_file: str | None, since: int | None) -> str:
    """What to say of a match run kept, but stopped before it was printed (or written to --out)."""
    from matcher.profile_run import previous_run

    prev = previous_run(eng, run_id, "match")
    against = since if since is not None else prev.id if prev else None  # (--since given: the same one)
    again = "--dry-run" + (f" --since {against}" if changes and against is not None else "")
    return (f"match run {run_id} had finished and is kept (`brand`, `explain`, `status` and the reports read it), but "
            f"it was not {'written' if out_file else 'printed'}: the same command with {again} "
            f"{'writes' if out_file else 'prints'} it (from the same profile and catalog, the same assignments), "
            "keeping no second run")


def _report_match(summary: Any, view: "_MatchView", catalog_file: str | None, dry_run: bool, changes: bool,
                  out_file: str | None, fmt: str | None, as_json: bool, since: int | None) -> None:
    """A match's summary line on stderr, then the match itself (``_show_match``)."""
    from matcher.topic_records import iso

    if summary.staged is not None:
        staged, moved = summary.staged, summary.staged.diff
        for warning in staged.warnings:
            warn_stale(warning)
        err.print(f"{catalog_file} as catalog version {summary.catalog_version} (not kept): added "
                  f"{len(moved.added)}, changed {len(moved.changed)}, retired {len(moved.retired)}" if staged.applied
                  else f"{catalog_file}: the same perks as the live catalog (version {summary.catalog_version})",
                  markup=False)
    last = "the last match" if since is None else f"match run {since}"
    said = (f"{len(view.diff)} user(s) {'would change' if dry_run else 'changed'} since {last}"
            if not view.first else "no earlier match run" if dry_run else "the first match run")
    if not summary.perks:
        err.print(f"catalog version {summary.catalog_version} has no live perk: nothing to assign (`perkmatch catalog "
                  "refresh FILE` loads perks)")
    err.print(f"{'dry run, not kept' if dry_run else f'match run {summary.run_id}'}: {summary.assignments} "
              f"assignment(s) among {summary.users} user(s) with topics, catalog version {summary.catalog_version}, "
              f"offers as of {iso(summary.as_of)[:10]}; {said}")
    _show_match(view.selected(), changes, out_file, fmt, as_json, last)


def _warn_ended_offered(eng: Any, summary: Any, view: "_MatchView", dry_run: bool) -> None:
    """Warn of perks whose offer ended before today but not before the day the match checked offers on (the profile
    run's, in the past), so that it offered them: before, a dry run of a file was told "a match as of today withholds
    them", and then, checking offers as of its profile run's day years back, gave them out."""
    import datetime as dt

    from catalog.refresh import live_perks
    from matcher.store import session
    from matcher.topic_records import iso

    day, today = dt.date.fromisoformat(iso(summary.as_of)[:10]), dt.datetime.now(dt.UTC).date()
    if day >= today:
        return
    if summary.staged is not None and summary.staged.applied:  # the previewed version was rolled back: its perks'
        # end dates came with it
        ends = summary.staged.ends
    else:
        with session(eng) as s:
            ends = {p.perk_id: p.ends for p in live_perks(s, summary.catalog_version) if p.ends is not None}
    offered = sorted((perk_id, end) for perk_id, end in ends.items() if day <= end < today)
    if not offered:
        return
    ended = {perk_id for perk_id, _ in offered}
    given = sum(1 for r in view.records if r["perk_id"] in ended)
    shown = ", ".join(f"{p} (ended {e})" for p, e in offered[:5]) + (
        f" and {len(offered) - 5} more" if len(offered) > 5 else "")
    run = "this dry run" if dry_run else f"match run {summary.run_id}"
    warn_stale(f"{run} checked offers as of {day} (the profile run's as-of day, unless --as-of gives another), when "
               f"{len(offered)} perk(s) whose offer ended before today ({today}) were still open, so it offered them "
               f"({given} assignment(s)): {shown}; give --as-of {today} to check offers as of today")


def _selected_perks(store: Any, perk_ids: list[str], brand: str | None) -> set[str]:
    """The ids of the perks `match --perk/--brand` selects: those given, of that brand if one is given; an id or a
    brand no catalog version has is an error, with near misses."""
    import difflib

    from sqlmodel import select

    from catalog.refresh import unknown_perk
    from catalog.schema import PerkRecord, brand_key
    from matcher.errors import PerkmatchError
    from matcher.store import session

    with session(store) as s:
        rows = s.exec(select(PerkRecord.perk_id, PerkRecord.brand).distinct()).all()
        for perk_id in perk_ids:
            if perk_id not in {p for p, _ in rows}:
                raise PerkmatchError(f"--perk: {unknown_perk(s, perk_id)}")
    wanted = set(perk_ids) or {p for p, _ in rows}
    if brand is None:
        return wanted
    of_brand = {p for p, b in rows if brand_key(b) == brand_key(brand)}
    if not of_brand:
        near = difflib.get_close_matches(brand, sorted({b for _, b in rows}), n=3)
        raise PerkmatchError(f"--brand: no perk of '{brand}' in any catalog version"
                             + (f"; did you mean {', '.join(near)}?" if near else ""))
    if set(perk_ids) - of_brand:
        raise PerkmatchError(f"--perk {', '.join(sorted(set(perk_ids) - of_brand))}: not a perk of '{brand}' (give "
                             "--perk or --brand alone, or perks of that brand)")
    return wanted & of_brand


def register(app: typer.Typer) -> None:
    app.command()(handled(match))
    app.command()(handled(brand))
