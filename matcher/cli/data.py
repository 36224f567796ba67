"""Commands that load data: ingest, taxonomy load, catalog refresh/versions/show, profile.

Here: the `catalog` commands, and every one of these commands registered with the app. The others are in modules
of their own, importable from here as before: `ingest` in ``matcher.cli.ingest_cmd``, `taxonomy load` and `taxonomy
show` in ``matcher.cli.taxonomy_cmds``, `profile` in ``matcher.cli.profile_cmd``.
"""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from matcher.cli import common
from matcher.cli.common import DbOpt, JsonOpt, ModelOpt, engine, handled, out, print_json, print_table
from matcher.cli.ingest_cmd import _rework, ingest
from matcher.cli.profile_cmd import _faded, profile
from matcher.cli.shown import warn_stale
from matcher.cli.taxonomy_cmds import taxonomy_app, taxonomy_load, taxonomy_show

__all__ = ["catalog_app", "catalog_refresh", "catalog_show", "catalog_versions", "register",
           # matcher.cli.ingest_cmd, taxonomy_cmds, profile_cmd
           "_faded", "_rework", "ingest", "profile", "taxonomy_app", "taxonomy_load", "taxonomy_show"]

catalog_app = typer.Typer(help="The perk catalog: refresh, versions, history.", no_args_is_help=True)


def catalog_refresh(
    file: Annotated[str, typer.Argument(help="Perk catalog (.yaml, .json, .jsonl, .csv, optionally .gz)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diff without applying it.")] = False,
    retire_all: Annotated[bool, typer.Option("--retire-all", help="Accept a file that retires every live perk (no "
                                             "perks in it), or most of them while adding none, holding one "
                                             "perk or naming none of their brands (else refused: a cut export, or "
                                             "one brand's file, must not empty the catalog).")] = False,
    db: DbOpt = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load the catalog as a new version: validate all, diff, embed only what changed, apply atomically."""
    from catalog.refresh import live_version, read_catalog, refresh
    from matcher.store import session
    from matcher.taxonomy import load_topics, topic_sets

    # a dry run with no database there previews against an empty one in memory, leaving none behind (before, a
    # mistyped --db got a database made there, holding the shipped taxonomy)
    eng = engine("sqlite://" if dry_run and common.no_database_at(common.db_path(db)) else db)
    load_topics(eng)
    with session(eng) as s:
        known, sensitive = topic_sets(s)
    if dry_run and Path(file).is_file():  # its problems before the model loads; standard input or a pipe: read once
        read_catalog(file, known, sensitive)
    with session(eng) as s:
        before = live_version(s)
    try:
        source = common.cache(eng, model)  # (stopped as the model loads: before, "finished work is kept")
        with session(eng) as s, common.progress() as bar:
            result = refresh(s, file, source, dry_run=dry_run, topics=known, sensitive=sensitive,
                             retire_all=retire_all, progress=bar)
        _report_refresh(file, result, dry_run, retire_all, as_json)
    except KeyboardInterrupt as exc:  # a refresh applies its version in one transaction (its vectors are cached)
        with session(eng) as s:
            now = live_version(s)
        raise common.interrupted(exc, "the catalog is unchanged; run the command again" if now == before else
                                 f"catalog version {now} is live (`perkmatch catalog versions` lists it)") from None


def _report_refresh(file: str, result: Any, dry_run: bool, retire_all: bool, as_json: bool) -> None:
    """A refresh's warnings, then what it did (or would do); exit 1 for a dry run that the refresh would refuse."""
    for warning in result.warnings:  # (in --json too, as "warnings")
        warn_stale(warning)
    said = result.refused if dry_run and not retire_all else None  # as `refresh` refuses it (a truncated export, or
    refused = f"{said}, which a refresh does only with --retire-all" if said else None  # one brand's file, must not
    # empty the catalog)
    if as_json:
        print_json(result.summary() | {"dry_run": dry_run} | ({"refused": refused} if refused else {}))
    else:
        _print_refresh(file, result, dry_run, refused)
    if refused:  # exit 1, as the refresh itself would: a script gating on the dry run must not pass the file
        raise typer.Exit(1)


def _print_refresh(file: str, result: Any, dry_run: bool, refused: str | None) -> None:
    d = result.diff
    changes = not d.is_empty
    verb = (f"would be refused: {refused}; the diff" if refused else f"would be version {result.version}"
            if dry_run and changes else "no change" if not changes else f"version {result.version}")
    out.print(f"{file}: {verb}: added {len(d.added)}, changed {len(d.changed)}, retired {len(d.retired)}, "
              f"unchanged {len(d.unchanged)}, {'to embed' if dry_run else 'embedded'} {result.embedded}")
    for label, ids in (("added", d.added), ("changed", d.changed), ("retired", d.retired)):
        if ids:
            shown = ", ".join(ids[:20]) + (f" ... (+{len(ids) - 20})" if len(ids) > 20 else "")
            out.print(f"  {label}: {shown}")


def catalog_versions(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List every catalog version."""
    from rich.table import Table

    from catalog.refresh import live_version, versions
    from matcher.store import session

    with session(engine(db, existing=True)) as s:
        rows, live = versions(s), live_version(s)
    # in the fields' order: a loaded row's attributes come in no fixed order, and scripts diff this output; `status`
    # says a version was committed (every one listed is), `current` which one is served now
    records = [{k: d[k] for k in type(r).model_fields} | {"current": r.version == live}
               for r in rows for d in [r.model_dump(mode="json")]]
    if as_json:
        print_json(records)
        return
    if not rows:
        out.print("no catalog loaded yet; run `perkmatch catalog refresh FILE`")
        return
    table = Table("version", "created (UTC)", "added", "changed", "retired", "unchanged", "embedded", "source")
    for r in rows:
        table.add_row(f"{r.version} (live)" if r.version == live else str(r.version), f"{r.created_at:%Y-%m-%d %H:%M}",
                      str(r.added), str(r.changed), str(r.retired),
                      str(r.unchanged), str(r.embedded), r.source)
    print_table(table)


def catalog_show(perk_id: Annotated[str | None, typer.Argument(help="The perk's id; without it, every perk of the "
                                                                "live catalog version, one a line",
                                                                show_default=False)] = None,
                 db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """One perk's history across catalog versions; without PERK_ID, the live catalog's perks."""
    from catalog.refresh import live_perks, perk_history
    from matcher.store import session
    from matcher.taxonomy import known_names, load_topics

    eng = engine(db, existing=True)
    with session(eng) as s:
        rows = perk_history(s, perk_id) if perk_id is not None else live_perks(s)
    records = [{"perk_id": r.perk_id, "version_added": r.version_added, "version_retired": r.version_retired,
                "brand": r.brand, "title": r.title, "description": r.description, "topics": json.loads(r.topics),
                "regions": json.loads(r.regions), "quantity": r.quantity, "starts": r.starts and str(r.starts),
                "ends": r.ends and str(r.ends)} for r in rows]
    if as_json:
        print_json(records)
        return
    if perk_id is None and not records:
        out.print("no live perk: run `perkmatch catalog refresh FILE`")
    names = known_names(eng, load_topics(eng)) if perk_id is not None else {}  # targets named, not by id alone
    for r in records:
        quantity = "unlimited" if r["quantity"] is None else r["quantity"]
        regions = ", ".join(r["regions"]) or "anywhere"
        offer = f"{r['starts'] or 'any time'} to {r['ends'] or 'open-ended'}"
        if perk_id is None:  # the live catalog: one perk a line
            out.print(f"{r['perk_id']}  {r['brand']} - {r['title']} (quantity: {quantity}; regions: {regions}; offer: "
                      f"{offer})", markup=False, highlight=False)
            continue
        until = f"until version {r['version_retired']}" if r["version_retired"] else "current"
        targets = ", ".join(f"{names[t]} ({t})" if t in names else t for t in r["topics"]) or "none (placed by meaning)"
        out.print(f"v{r['version_added']} ({until}): {r['brand']} - {r['title']}: {r['description']}\n"
                  f"  quantity: {quantity}; regions: {regions}; targets: {targets}; offer: {offer}", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(handled(ingest))
    app.command()(handled(profile))
    taxonomy_app.command("load")(handled(taxonomy_load))
    taxonomy_app.command("show")(handled(taxonomy_show))
    catalog_app.command("refresh")(handled(catalog_refresh))
    catalog_app.command("versions")(handled(catalog_versions))
    catalog_app.command("show")(handled(catalog_show))
    app.add_typer(taxonomy_app, name="taxonomy")
    app.add_typer(catalog_app, name="catalog")
