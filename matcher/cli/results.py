"""Commands that show a user's results: topics, explain (a topic, a perk, or the user). What `explain` shows of a topic
or a perk is in ``explain_view``."""

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from matcher.cli import common
from matcher.cli.common import (
    DbOpt,
    JsonOpt,
    ModelOpt,
    engine,
    handled,
    out,
    print_json,
    print_table,
)
from matcher.cli.explain_view import counts_own_vote, is_perk, perk_hint, print_topic, show_perk, warn_topic_stale
from matcher.cli.shown import (
    assignments_own_vote,
    evidence_lines,
    match_evidence_changed,
    or_dash,
    perks_legend,
    print_assignments,
    warn_stale,
)

TOPIC_COLUMNS = ("score", "confidence", "posts", "days", "engagement_vs_usual")  # the table's numbers (glossary keys)
TOPICS_TAIL = "`perkmatch explain USER TOPIC_ID` gives every number of a topic"


def topics_legend(own_vote: bool | None = False, not_shown: bool = False) -> str:
    """What the topics table's numbers and signs mean (``glossary``; ``own_vote``: as ``glossary.legend`` reads it;
    ``not_shown``: a table said some posts are not shown, and why is said once, here)."""
    from matcher.glossary import legend, topic_terms  # (NumPy: not at the CLI's import)
    from matcher.profile_measure import NOT_SHOWN

    terms = topic_terms()
    tail = (f"Not shown: posts {NOT_SHOWN}. " if not_shown else "") + TOPICS_TAIL
    return legend([terms[k] for k in TOPIC_COLUMNS], own_vote, tail)


WITHHELD_SHOWN = 10  # `explain USER` prints the best this many perks withheld; --json gives every one


def topics(
    user_id: Annotated[str | None, typer.Argument(help="The user's id", callback=common.user_id_arg)] = None,
    all_users: Annotated[bool, typer.Option("--all", help="Every profiled user.")] = False,
    candidates: Annotated[bool, typer.Option("--candidates", help="Also list topics that fell short.")] = False,
    changes: Annotated[bool, typer.Option("--changes", help="What changed in USER_ID's topics since the previous "
                                          "profile run, and why (one user at a time).")]
    = False,
    since: Annotated[int | None, typer.Option("--since", help="With --changes: compare with this earlier profile run "
                                              "instead of the previous one.", show_default=False)] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A user's inferred topics with their evidence (or every user's, with --all)."""
    from matcher.changes import topic_changes

    _check_topics_options(user_id, all_users, changes, since)
    eng = engine(db, existing=True)
    common.warn_run_policy(eng)
    if changes:
        assert user_id is not None
        _print_changes(topic_changes(eng, user_id, since), user_id, as_json)
        return
    records = _read_topics(eng, user_id, candidates)
    if as_json:
        print_json(records)
        return
    tables, own_vote, not_shown = False, False, False  # (`--all`: the records are read a chunk at a time, once)
    for rec in records:
        _print_topics(rec, candidates)
        tables = tables or bool(rec["topics"])
        own_vote = own_vote or _own_vote(rec)
        not_shown = not_shown or any(t.get("not_shown") for t in rec["topics"])
    if tables:  # once, under the tables: what their numbers and signs mean (before, `--all` never said it)
        out.print(topics_legend(own_vote, not_shown), markup=False, highlight=False)
    elif user_id is not None and not candidates:  # a person told only "0 topic(s)" had nowhere to go next
        out.print(f"  (`perkmatch topics {user_id} --candidates` shows the topics that came closest and why each fell "
                  "short)", markup=False, highlight=False)


def _own_vote(rec: dict[str, Any]) -> bool:
    """Whether a post shown as one of the user's topics' evidence counts its author's own vote (``glossary``)."""
    from matcher.glossary import own_vote_shown

    return own_vote_shown(e for t in rec["topics"] for e in t["evidence"])


def _check_topics_options(user_id: str | None, all_users: bool, changes: bool, since: int | None) -> None:
    """Usage errors, before the database is opened or anything is said."""
    if user_id is None and not all_users:
        raise typer.BadParameter("give a USER_ID, or --all for every profiled user")
    if user_id is not None and all_users:
        raise typer.BadParameter("give a USER_ID or --all (not both)")
    if since is not None and not changes:
        raise typer.BadParameter("--since goes with --changes")
    if changes and user_id is None:
        raise typer.BadParameter("--changes needs a USER_ID")


def _print_changes(record: dict[str, Any], user_id: str, as_json: bool) -> None:
    """`topics --changes`: what changed in the user's topics since the earlier run, and why."""
    if as_json:
        print_json(record)
        return
    against = record["previous_run_id"]
    out.print(f"{user_id}: profile run {record['run_id']} "
              + (f"against run {against}" if against is not None else "(the first: no earlier run to compare)"))
    if not record["changes"] and not record.get("now_sensitive"):
        out.print("  no topic changed" if against is not None else "  no topics")
    for c in record["changes"]:
        moved = f" {or_dash(c['before'])} -> {or_dash(c['after'])}" if "before" in c else ""
        out.print(f"  {c['name']} ({c['topic_id']}): {c['change']}{moved}  {c['why']}")
    if record.get("now_sensitive"):
        out.print(f"  and {record['now_sensitive']} topic(s) of run {against} not shown: the taxonomy now marks "
                  "them sensitive, and the user has not opted in to them")


def _read_topics(eng: Any, user_id: str | None, candidates: bool) -> Any:
    """The user's topic records (every user's: read and printed a chunk of users at a time, ``every_user_topics``),
    with a warning for each way they may be out of date."""
    from matcher.explain import changed_since
    from matcher.profile_run import latest_run
    from matcher.topic_records import every_user_topics, evidence_changed, stale_taxonomy, user_topics

    records = (user_topics(eng, user_id, candidates=candidates) if user_id is not None
               else every_user_topics(eng, candidates))
    warn_stale(stale_taxonomy(eng))
    run = latest_run(eng, "profile")
    warn_stale(evidence_changed(eng, int(run.id or 0), None if user_id is None else [user_id], candidates=candidates)
               if run else None)
    if run and user_id is not None and changed_since(eng, run, user_id):
        warn_stale(f"{user_id}'s posts or users record changed after profile run {run.id}: these topics are that "
                   "run's; `perkmatch profile` brings them up to date (`perkmatch explain` works one out again now)")
    return records


def _print_topics(rec: dict[str, Any], candidates: bool) -> None:
    """One user's topics as a table (a line when there are none)."""
    inferred = sum(t["status"] == "inferred" for t in rec["topics"])
    title = f"{rec['user_id']}: {inferred} topic(s)" + (
        f", {len(rec['topics']) - inferred} candidate(s) that fell short" if candidates else "")
    if not rec["topics"]:  # a line, not an empty table (`topics --all`: most users of a large run, perhaps)
        out.print(title, markup=False, highlight=False)
        return
    from matcher.glossary import topic_terms

    terms = topic_terms()  # the columns headed as the legend under the table names them
    columns = ["topic", *(terms[k].label for k in TOPIC_COLUMNS), "evidence"]
    table = Table(*columns, *(["why it fell short"] if candidates else []), title=title, title_justify="left")
    for t in rec["topics"]:
        label = t["name"] + (" (candidate)" if t["status"] != "inferred" else "")
        cells: list[Text | str] = [Text.assemble(label, "\n", (t["topic_id"], "dim")), f"{t['score']:.2f}",
                 f"{t['confidence']:.2f}", str(t["posts"]), str(t["days"]), f"×{t['engagement_vs_usual']:.2f}"
                 + ("\n(not their own posts')" if not t["posts"] else ""),  # reshares' or repeats' alone
                 evidence_lines(t["evidence"])  # (the console reads no markup: posts' [brackets] stay)
                 + (f"\n(and {t['not_shown']} post(s) not shown: sensitive)" if t.get("not_shown") else "")]
        if candidates:  # before, only --json said why: the table showed "(candidate)" and no reason
            cells.append(Text(_fell_short(t)))
        table.add_row(*cells)
    print_table(table)


def _fell_short(topic: dict[str, Any]) -> str:
    """A candidate's shortfalls, one a line, as the user report writes them; for a parent whose posts count for its
    inferred children, those children first (its shortfalls are of its posts beyond theirs)."""
    said = "\n".join(s.replace("; needs", ", needs") for s in topic.get("shortfalls") or [])
    if topic.get("covered_by"):
        return f"its posts count for {', '.join(topic['covered_by'])}, inferred instead; beyond those:\n{said}"
    return said


def explain(
    user_id: Annotated[str, typer.Argument(help="The user's id", callback=common.user_id_arg)],
    topic_id: Annotated[str | None, typer.Argument(help="A topic id, or a perk id; without it, the user's "
                                                   "assignments", metavar="TOPIC_ID|PERK_ID")] = None,
    db: DbOpt = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Why a topic was, or was not, inferred; why the user got a perk, or not (PERK_ID); or, with neither, why the
    user got each of their perks."""
    from matcher.errors import UnknownTopicError
    from matcher.explain import explain_topic
    from matcher.topic_records import stale_taxonomy

    eng = engine(db, existing=True)
    if topic_id is None:
        _explain_user(eng, user_id, as_json)
        return
    if is_perk(eng, topic_id):
        show_perk(eng, common.shown_cache(eng, model), user_id, topic_id, as_json)
        return
    warn_stale(stale_taxonomy(eng))
    try:
        record = explain_topic(eng, user_id, topic_id, cache=lambda: common.shown_cache(eng, model))
    except UnknownTopicError as exc:  # neither a topic nor a perk: a brand's perks, or perk ids it may have meant
        hint = perk_hint(eng, topic_id)
        if hint:
            raise UnknownTopicError(f"{exc}; {hint}") from None
        raise
    warn_topic_stale(eng, record, user_id, topic_id)
    if as_json:
        print_json(record)
        return
    print_topic(record, user_id, topic_id, counts_own_vote(eng, user_id))


def _explain_user(eng: Any, user_id: str, as_json: bool) -> None:
    """`explain USER`: why the user got each of their perks (or none), and the best perks withheld from them."""
    from matcher.assignments import latest_match_id, match_records, withheld_hidden, withheld_records
    from matcher.topic_records import require_user
    from matcher.why_no_perk import no_perks_reason

    require_user(eng, user_id)
    record: dict[str, Any] = {"user_id": user_id, "assignments": match_records(eng, user_id=user_id),
                              "withheld": withheld_records(eng, user_id)}
    if not record["assignments"]:
        record["reason"] = no_perks_reason(eng, user_id)  # why none: the text says it, and so does the JSON
    warn_stale(match_evidence_changed(eng, record["assignments"]))
    if as_json:
        print_json(record)
        return
    if not record["assignments"]:
        out.print(record["reason"], markup=False)
    print_assignments(record["assignments"])
    if not record["withheld"] and withheld_hidden(eng, user_id, latest_match_id(eng)):
        out.print(f"  (the perks withheld from {user_id} are not shown: their record changed after the last match, "
                  "or a topic of theirs is now marked sensitive; run `perkmatch match` to weigh them again)",
                  markup=False)
    for w in record["withheld"][:WITHHELD_SHOWN]:
        out.print(f"  withheld {w['perk_id']} ({w['brand']}: {w['title']}), score {w['score']:.3f}: {w['reason']}")
    if len(record["withheld"]) > WITHHELD_SHOWN:
        out.print(f"  ... and {len(record['withheld']) - WITHHELD_SHOWN} more withheld, each with its reason "
                  "(--json lists every one)")
    if record["assignments"] or record["withheld"]:
        out.print(perks_legend(assignments_own_vote(record["assignments"])), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(handled(topics))
    app.command()(handled(explain))
