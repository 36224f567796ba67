"""Commands about people and the whole pipeline: forget, consent, export, demo."""

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from matcher.cli import common
from matcher.cli.common import DbOpt, JsonOpt, ModelOpt, engine, err, handled, out, print_json, progress


def forget(user_id: Annotated[str, typer.Argument(help="The user's id", callback=common.user_id_arg)], db: DbOpt = None,
           posts: Annotated[list[str] | None, typer.Option("--post", help="Delete only this post of the user (its "
                                                            "post_id; repeat for more); an export holding it will not "
                                                            "store it again.", show_default=False,
                                                            callback=common.composed)] = None,
           as_json: JsonOpt = False) -> None:
    """Delete every trace of a user: posts (and quotes of them), embeddings, profiles, evidence, assignments; or,
    with --post, of some of their posts. Run again after an interruption, it finishes the work and deletes nothing
    twice: a user forgotten already, or posts deleted already, are said to be so (exit 0)."""
    from matcher.forget import forget as forget_user
    from matcher.forget import forget_posts
    from matcher.forgotten import forgotten_already
    from matcher.topic_records import require_user

    eng = engine(db, existing=True)
    if not posts and forgotten_already(eng, user_id):
        _forgotten_already(eng, user_id, as_json)
        return
    require_user(eng, user_id)
    already: list[str] = []
    if posts:
        counts, already = forget_posts(eng, user_id, posts)
    else:
        counts = forget_user(eng, user_id)
    _print_forgot(user_id, counts, posts, already, as_json)
    common.deletion_notes(eng)


def _forgotten_already(eng, user_id: str, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """``forget`` of a user forgotten already: what an interrupted forget may not have finished is done, and said."""
    from matcher.forget import FORGET_COUNTS, scrub
    from matcher.forgotten import was_forgotten
    from matcher.store import session

    scrub(eng)  # what an interrupted forget may not have finished
    with session(eng) as s:
        forgotten = was_forgotten(s, user_id)
    if as_json:
        print_json({"user_id": user_id, "deleted": dict.fromkeys(FORGET_COUNTS, 0), "forgotten_already": True})
    elif forgotten:
        out.print(f"{user_id} was forgotten already: nothing of theirs is stored (only a salted hash of the id, in "
                  "the audit log of deletions)")
    else:  # an opt-out of an id with nothing stored: before, "was forgotten already", though nothing ever was
        out.print(f"{user_id} opted out before anything of theirs was stored: there is nothing to forget (only a "
                  "salted hash of the id is kept, so that their posts are never stored)")
    common.deletion_notes(eng)  # the deleted rows may still be in PostgreSQL's files: the advice again


def _print_forgot(user_id: str, counts: dict[str, int], posts: list[str] | None, already: list[str],
                  as_json: bool) -> None:
    """What ``forget`` deleted: its --json record, or its lines (the posts deleted already said first)."""
    if as_json:
        print_json({"user_id": user_id, "deleted": counts}
                   | ({"post_ids": sorted(set(posts)), "deleted_already": already} if posts else {}))
    elif posts:
        if already:
            out.print(f"{', '.join(already)}: deleted already (an earlier `forget --post`); nothing to do for "
                      f"{'it' if len(already) == 1 else 'them'}")
        if counts["posts"] or not already:
            out.print(f"deleted {counts['posts']} post(s) of {user_id}: {_counted(counts)}; `perkmatch profile` works "
                      "their topics out again without them")
    else:
        out.print(f"forgot {user_id}: {_counted(counts)}")


def _counted(counts: dict[str, int]) -> str:
    """What a deletion deleted, in words ("posts 4, quoted_contexts 0, ...")."""
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def consent(
    user_id: Annotated[str, typer.Argument(help="The user's id", callback=common.user_id_arg)],
    state: Annotated[str, typer.Argument(help="opted_in or opted_out")],
    db: DbOpt = None,
) -> None:
    """Change a user's consent; opting out forgets them."""
    from matcher.forget import forget as forget_user
    from matcher.forget import opt_in, scrub
    from matcher.forgotten import opted_out_already

    if state not in ("opted_in", "opted_out"):
        raise typer.BadParameter(f"{state}: write opted_in or opted_out")
    eng = engine(db, existing=True)  # a mistyped --db is an error, not a new database holding the opt-out
    if state == "opted_out" and opted_out_already(eng, user_id):  # run again: before, a second forget was recorded
        scrub(eng)  # what an interrupted opt-out may not have finished
        out.print(f"{user_id} had opted out already: nothing of theirs is stored, and the opt-out stays recorded")
        common.deletion_notes(eng)
        return
    if state == "opted_out":
        counts = forget_user(eng, user_id, opt_out=True)
        if not any(counts.values()):  # a mistyped id, or a user not stored yet: nothing was forgotten
            out.print(f"{user_id} opted out: nothing was stored about them; the opt-out is recorded, so their posts "
                      "will not be stored (check the id if you meant someone already known: `perkmatch export USER`)")
            return
        out.print(f"{user_id} opted out and was forgotten: {_counted(counts)}")
        common.deletion_notes(eng)
        return
    known, cleared, has_posts, already = opt_in(eng, user_id)
    if already:  # before: "their posts will be profiled from the next profile", as if something had changed
        out.print(f"{user_id} had opted in already: nothing changed")
    elif has_posts:
        out.print(f"{user_id} opted in: their posts will be profiled from the next `perkmatch profile`")
    else:  # nothing to profile yet: before, "their posts will be profiled" beside a note saying there are none
        out.print(f"{user_id} opted in: no post of theirs is stored; ingest their posts, then `perkmatch profile`")
    if not known and cleared:
        err.print(f"note: {user_id} had opted out (nothing about them was kept); that is lifted: their posts can be "
                  "stored again, from the next ingest")
    elif not known:  # a mistyped id would otherwise be a new, silent user
        err.print(f"note: nothing was stored about {user_id} before: a new user was recorded. If you meant someone "
                  "already known, check the id (`perkmatch export USER` shows what is stored).")


def export(user_id: Annotated[str, typer.Argument(help="The user's id", callback=common.user_id_arg)], db: DbOpt = None,
           out_file: Annotated[str | None, typer.Option("--out", help="Write to this file instead of stdout.")]
           = None) -> None:
    """Everything stored about a user, as one JSON document (the right of access)."""
    import json

    from matcher.outfiles import atomic_open, check_out
    from matcher.user_export import export_user

    if out_file is not None:
        check_out(out_file, "JSON file")  # before the work
        common.refuse_overwrite(out_file, "--out", db)
    doc = export_user(engine(db, existing=True), user_id)
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    if out_file is not None:
        with atomic_open(out_file, "JSON file") as handle:
            handle.write(text + "\n")
        err.print(f"wrote {out_file}")
    else:
        out.print(text, markup=False)


DemoDbOpt = Annotated[str | None, typer.Option("--db", help="Keep the demo's database here (a new one, or the demo's "
                                               "own), for explain, brand and the reports \\[default: a temporary "
                                               "one]", show_default=False,
                                               callback=common.not_blank)]


def demo(db: DemoDbOpt = None, model: ModelOpt = None, as_json: JsonOpt = False) -> None:
    """Run the whole pipeline on the shipped sample data and print assignments with evidence."""
    from matcher.cli.common import State
    from matcher.demo import run_demo

    kept = db or State.db
    with tempfile.TemporaryDirectory(prefix="perkmatch-demo-") as tmp:
        eng = engine(kept or str(Path(tmp) / "demo.db"))
        try:
            with progress() as bar:
                result = run_demo(eng, common.cache(eng, model), progress=bar)
            if as_json:
                print_json(result.assignments)
            else:
                _print_demo(eng, result, kept)
        except KeyboardInterrupt as exc:  # before: "finished work is kept; run the command again", of a deleted file
            if kept:
                raise  # its database keeps the finished work, and a demo run again there goes on from it
            raise common.interrupted(exc, TEMPORARY_STOPPED) from None
        eng.dispose()


TEMPORARY_STOPPED = ("nothing is kept: the demo ran in a temporary database, now deleted; run it again (with --db "
                     "PATH its work is kept, and a demo stopped there goes on from it)")


def _print_demo(eng, result, kept: str | None) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape

    from matcher.cli.shown import print_assignments
    from matcher.demo import GAMING, SPOTLIGHT

    topics = {r["user_id"]: r["topics"] for r in result.topics}
    live = sum(result.catalog[k] for k in ("added", "changed", "unchanged"))  # a re-run adds none
    perks: dict[str, list[dict[str, Any]]] = {}
    for a in result.assignments:
        perks.setdefault(a["user_id"], []).append(a)
    out.print(f"[bold]perkmatch demo[/]: {len(topics)} users profiled, {sum(map(bool, topics.values()))} with topics; "
              f"{live} perks; {len(result.assignments)} assigned.\n", markup=True)
    out.print(f"[bold]{SPOTLIGHT}[/] writes about travel often, with steady engagement. Topics: " + ", ".join(
        escape(f"{t['name']} ({t['posts']} posts on {t['days']} days, engagement ×{t['engagement_vs_usual']:.1f} of "
               "usual)") for t in topics.get(SPOTLIGHT, [])[:3]), markup=True)
    print_assignments(perks.get(SPOTLIGHT, []))
    out.print("\n[bold]Activity is not influence[/]: gaming earns nothing:", markup=True)
    for user_id, (what, topic_id) in GAMING.items():
        out.print(f"  {user_id} ({what}): {_why_gaming(eng, topics, user_id, topic_id)}", markup=False)
    out.print("\n[bold]Everyone else[/] (user: topics → perks):", markup=True)
    for user_id, found in sorted(topics.items()):
        if user_id == SPOTLIGHT or user_id in GAMING:
            continue
        names = ", ".join(t["name"] for t in found[:3]) or "no topic"
        given = ", ".join(f"{a['title']} ({a['brand']})" for a in perks.get(user_id, [])) or "no perk"
        out.print(f"  {user_id}: {names} → {given}", markup=False)
    _print_why(kept)


def _why_gaming(eng, topics: dict[str, Any], user_id: str, topic_id: str | None) -> str:  # type: ignore[no-untyped-def]
    """Why a demo user gaming the system earned nothing: the verdict on the topic they gamed, else their topics, else
    their best candidate's shortfalls."""
    from matcher.explain import explain_topic
    from matcher.topic_records import user_topics

    if topic_id:
        verdict = explain_topic(eng, user_id, topic_id)
        return f"{verdict['name']} {verdict['verdict']}"
    if topics.get(user_id):
        return "inferred " + ", ".join(t["name"] for t in topics[user_id])
    best = next(iter(user_topics(eng, user_id, candidates=True)[0]["topics"]), None)
    return f"no topic (best candidate {best['name']}: {'; '.join(best['shortfalls'])})" if best else "no topic"


def _print_why(kept: str | None) -> None:
    """The demo's last line: the commands that explain it, on its database (kept, or how to keep it)."""
    from matcher.store import shown_db

    db = shown_db(kept or "demo.db")  # a server's password is never printed (copy the commands with your own --db)
    keep = "" if kept else "Keep the database with `perkmatch --db demo.db demo`, then: "  # a temporary one is gone
    out.print(f"\nWhy? {keep}`perkmatch --db {db} explain USER [TOPIC|PERK_ID]` (why the baker with one viral "
              f"basketball post got no basketball poster: `perkmatch --db {db} explain u-oneviral "
              f"pk-courtside-poster`); who gets a perk, or why nobody: `perkmatch --db {db} brand PERK_ID`.",
              markup=False)


def register(app: typer.Typer) -> None:
    app.command()(handled(forget))
    app.command()(handled(consent))
    app.command()(handled(export))
    app.command()(handled(demo))
