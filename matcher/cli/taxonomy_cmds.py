"""The `taxonomy` commands: `taxonomy load` replaces the topic vocabulary (warning of live perks aimed at topics it
lacks or marks sensitive), `taxonomy show` lists it."""

from typing import Annotated, Any

import typer

from matcher.cli import common
from matcher.cli.common import DbOpt, JsonOpt, engine, err, out, print_json

taxonomy_app = typer.Typer(help="The topic vocabulary.", no_args_is_help=True)


def taxonomy_load(
    file: Annotated[str, typer.Argument(help="Taxonomy (.yaml, .json, .jsonl, .csv, or the IAB Content Taxonomy "
                                        ".tsv)")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace the topic vocabulary (the shipped default is used until one is loaded)."""
    from catalog.refresh import listed, targets_missing, targets_sensitive
    from matcher.store import session
    from matcher.taxonomy import store_taxonomy
    from matcher.taxonomy_files import read_taxonomy

    topics = read_taxonomy(file)
    eng = engine(db)
    count = store_taxonomy(eng, topics)
    sensitive = sum(t.sensitive for t in topics)
    with session(eng) as s:
        orphaned = targets_missing(s, {t.topic_id for t in topics})
        unsafe = targets_sensitive(s, {t.topic_id for t in topics if t.sensitive})
    if as_json:
        print_json({"path": file, "topics": count, "sensitive": sensitive}
                   | ({"perks_targeting_missing_topics": orphaned} if orphaned else {})
                   | ({"perks_targeting_sensitive_topics": unsafe} if unsafe else {}))
    else:
        out.print(f"{file}: loaded {count} topics ({sensitive} sensitive)")
    if orphaned:  # loaded all the same: the taxonomy is the operator's to choose; the catalog is told to follow it
        named = listed([f"{p} ({', '.join(ids)})" for p, ids in orphaned.items()])
        err.print(f"Warning: {len(orphaned)} live perk(s) target topics this taxonomy does not have: {named}. They "
                  "now reach users by meaning alone, and a catalog refresh naming those topics is refused: update "
                  "the catalog's `topics` to ids `perkmatch taxonomy show` lists, then refresh it.")
    if unsafe:  # the same: brands cannot target a sensitive topic, so `match` no longer reads those targets
        named = listed([f"{p} ({', '.join(ids)})" for p, ids in unsafe.items()])
        err.print(f"Warning: {len(unsafe)} live perk(s) target topics this taxonomy marks sensitive: {named}. Brands "
                  "cannot target a sensitive topic: those targets are dropped (the perks reach users by meaning "
                  "alone), and a catalog refresh naming them is refused: take them out of the catalog's `topics`, "
                  "then refresh it.")


def taxonomy_show(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the topics in use: id, name, parent, and whether sensitive (the ids users' opt-ins name)."""
    from matcher.taxonomy import default_taxonomy_path, load_topics
    from matcher.taxonomy_files import read_taxonomy

    path = common.db_path(db)
    topics: list[Any]  # the stored topics, or the shipped file's rows: the same fields
    if common.no_database_at(path):  # shown, not made: a mistyped --db stays unmade
        err.print(f"No database at {path}: this is the shipped default taxonomy, which a database uses until "
                  "`perkmatch taxonomy load FILE` replaces it.")
        topics = read_taxonomy(default_taxonomy_path())
    else:
        topics = load_topics(engine(db, existing=True))  # a read: no tables made in another program's database
    if as_json:
        for t in topics:
            print_json({"topic_id": t.topic_id, "name": t.name, "parent_id": t.parent_id, "sensitive": t.sensitive,
                        "description": t.description})
        return
    parents = {t.topic_id: t.parent_id for t in topics}

    def depth(topic_id: str | None) -> int:  # the taxonomy has no loops (checked when loaded)
        return 0 if not parents.get(topic_id or "") else 1 + depth(parents[topic_id or ""])

    for t in topics:
        flag = "  [sensitive: shown only to users who opt in]" if t.sensitive else ""
        out.print(f"{'  ' * depth(t.topic_id)}{t.topic_id}  {t.name}{flag}", markup=False, highlight=False)
