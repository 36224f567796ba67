"""Commands that show a user's results: topics, explain (a topic, a perk, or the user)."""

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
from matcher.cli.shown import evidence_lines, match_evidence_changed, or_dash, print_assignments, warn_stale

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
    from matcher.explain import changed_since
    from matcher.profile_run import latest_run
    from matcher.topic_records import every_user_topics, evidence_changed, stale_taxonomy, user_topics

    if user_id is None and not all_users:
        raise typer.BadParameter("give a USER_ID, or --all for every profiled user")
    if user_id is not None and all_users:
        raise typer.BadParameter("give a USER_ID or --all (not both)")
    if since is not None and not changes:  # usage errors before the database is opened or anything is said
        raise typer.BadParameter("--since goes with --changes")
    if changes and user_id is None:
        raise typer.BadParameter("--changes needs a USER_ID")
    eng = engine(db, existing=True)
    common.warn_run_policy(eng)
    if changes:
        assert user_id is not None
        record = topic_changes(eng, user_id, since)
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
        return
    # every user's: read and printed a chunk of users at a time (``every_user_topics``)
    records = (user_topics(eng, user_id, candidates=candidates) if user_id is not None
               else every_user_topics(eng, candidates))
    warn_stale(stale_taxonomy(eng))
    run = latest_run(eng, "profile")
    warn_stale(evidence_changed(eng, int(run.id or 0), None if user_id is None else [user_id], candidates=candidates)
               if run else None)
    if run and user_id is not None and changed_since(eng, run, user_id):
        warn_stale(f"{user_id}'s posts or users record changed after profile run {run.id}: these topics are that "
                   "run's; `perkmatch profile` brings them up to date (`perkmatch explain` works one out again now)")
    if as_json:
        print_json(records)
        return
    for rec in records:
        inferred = sum(t["status"] == "inferred" for t in rec["topics"])
        title = f"{rec['user_id']}: {inferred} topic(s)" + (
            f", {len(rec['topics']) - inferred} candidate(s) that fell short" if candidates else "")
        if not rec["topics"]:  # a line, not an empty table (`topics --all`: most users of a large run, perhaps)
            out.print(title, markup=False, highlight=False)
            continue
        table = Table("topic", "score", "conf.", "posts", "days", "engagement vs usual", "evidence", title=title,
                      title_justify="left")
        for t in rec["topics"]:
            label = t["name"] + (" (candidate)" if t["status"] != "inferred" else "")
            table.add_row(Text.assemble(label, "\n", (t["topic_id"], "dim")), f"{t['score']:.2f}",
                          f"{t['confidence']:.2f}", str(t["posts"]), str(t["days"]), f"×{t['engagement_vs_usual']:.2f}"
                          + ("\n(not their own posts')" if not t["posts"] else ""),  # reshares' or repeats' alone
                          evidence_lines(t["evidence"]))  # (the console reads no markup: posts' [brackets] stay)
        print_table(table)


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
    from matcher.assignments import latest_match_id, match_records, withheld_hidden, withheld_records
    from matcher.errors import UnknownTopicError
    from matcher.explain import explain_topic
    from matcher.profile_types import ProfileParams
    from matcher.topic_records import require_user, stale_taxonomy
    from matcher.why_no_perk import no_perks_reason

    eng = engine(db, existing=True)
    if topic_id is None:
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
        return
    if _is_perk(eng, topic_id):
        _explain_perk(eng, common.cache(eng, model), user_id, topic_id, as_json)
        return
    warn_stale(stale_taxonomy(eng))
    try:
        record = explain_topic(eng, user_id, topic_id, cache=lambda: common.cache(eng, model))
    except UnknownTopicError as exc:  # neither a topic nor a perk: a brand's perks, or perk ids it may have meant
        hint = _perk_hint(eng, topic_id)
        if hint:
            raise UnknownTopicError(f"{exc}; {hint}") from None
        raise
    if record.get("evidence") and not record.get("worked_again"):  # (worked again: read as they are now)
        from matcher.topic_records import evidence_changed

        warn_stale(evidence_changed(eng, int(record["run_id"]), [user_id], topic_id, candidates=True))
    if record.get("posts_changed_since_run") and not record.get("worked_again"):  # (that one says so itself)
        warn_stale(f"{user_id}'s posts or users record changed after profile run {record['run_id']}: this answer is "
                   "that run's; `perkmatch profile` works it out again")
    if as_json:
        print_json(record)
        return
    out.print(f"{user_id} / {record['name']} ({topic_id}): {record['verdict']}")
    if record.get("worked_again"):
        out.print(f"  ({record['worked_again']})")
    if record.get("related_words"):
        out.print(f"  read through its name, description and related words: {', '.join(record['related_words'])}")
    if record.get("fitted_on_posts"):
        plain = max(1, round(record["fitted_on_posts"]))
        out.print(f"  its vector is fitted to this collection: of all the users' posts, about {plain} "
                  f"{'are' if plain != 1 else 'is'} plainly about the topic")
    if "posts" in record:
        d = record["details"]
        th = record["thresholds"]
        gap = ProfileParams().day_gap_hours
        out.print(f"  posts {record['posts']} (needs {th['posts']}), distinct days {record['days']} "
                  f"(days with posts at least {gap:g} h apart; needs {th['days']}), threads {record['threads']} "
                  f"(needs {th['threads']}), engaged posts {d['engaged_posts']} (needs {th['engaged_posts']})")
        per_post = d["positive_engagement"] / record["posts"] if record["posts"] else 0.0
        whose = ("its typical post's" if record["posts"] else
                 f"none of its posts counts for it: they are its inferred children's ({', '.join(d['covered_by'])})"
                 if d.get("covered_by") else
                 "that of posts passing on others' words or repeating the user's (it has no post in their own words)")
        needed = th["engagement_vs_usual"]  # to as many decimals as it takes not to look met when it is not
        needed_shown = f"{needed:.2f}" if f"{needed:.2f}" != f"{record['engagement_vs_usual']:.2f}" else f"{needed:g}"
        out.print(f"  engagement on it ×{record['engagement_vs_usual']:.2f} of the user's usual (needs "
                  f"×{needed_shown}; {whose}, on a log scale and drawn towards ×1 when there are few "
                  f"posts, so one viral post moves it far less than its likes; the usual ≈ {d['usual_engagement']} "
                  "reactions a post, beyond the author's own vote), "
                  f"{per_post:.2f} a post (needs {th['engagement_per_post']:g}), confidence {record['confidence']:.2f} "
                  f"(needs {th['confidence']:.2f}), duplicates dropped {d['duplicates_dropped']}, "
                  f"reshares {d['shares']}"
                  + (f", copies of other users' earlier posts {d['copies']}" if d.get("copies") else "")
                  + f", recency weight {d['recency']}"
                  + (f", clarity {d['clarity']} (how plainly the posts are about it)" if "clarity" in d else ""))
        if record["first"]:
            out.print(f"  written about from {record['first'][:10]} to {record['last'][:10]}")
        for line in evidence_lines(record["evidence"], 5).splitlines():
            out.print(f"  {line}", markup=False)
        if any(e.get("platform") in ProfileParams().self_vote_platforms for e in record["evidence"]):
            out.print("  (♥ is the platform's score, which on Reddit includes the author's own +1; engagement above "
                      "leaves that out)")


def _is_perk(eng: Any, wanted: str) -> bool:
    """An id no topic has (now, or in the user's latest run) but a perk has, in any catalog version."""
    from sqlmodel import select

    from catalog.schema import PerkRecord
    from matcher.store import TopicScore, session
    from matcher.taxonomy import load_topics

    if any(t.topic_id == wanted for t in load_topics(eng)):
        return False
    with session(eng) as s:
        if s.exec(select(TopicScore.id).where(TopicScore.topic_id == wanted).limit(1)).first() is not None:
            return False
        return s.exec(select(PerkRecord.id).where(PerkRecord.perk_id == wanted).limit(1)).first() is not None


def _perk_hint(eng: Any, wanted: str) -> str | None:
    """For an id no topic or perk has: the perks of a brand of that name, or perk ids it may have meant."""
    import difflib

    from sqlmodel import select

    from catalog.refresh import brand_perks_named, listed
    from catalog.schema import PerkRecord
    from matcher.store import session

    with session(eng) as s:
        brand = [p.perk_id for p in brand_perks_named(s, wanted)]
        ids = sorted(set(s.exec(select(PerkRecord.perk_id)).all()))
    if brand:
        return f"'{wanted}' is a brand: give one of its perks ({listed(brand)})"
    near = difflib.get_close_matches(wanted, ids, n=3, cutoff=0.75)
    if near:
        return f"for a perk, did you mean {' or '.join(near)}?"
    return "nor is it a perk's id (`perkmatch catalog show` lists the live perks)" if ids else None


def _explain_perk(eng: Any, cache: Any, user_id: str, perk_id: str, as_json: bool) -> None:
    from matcher.why_perk import explain_perk

    record = explain_perk(eng, cache, user_id, perk_id)
    if record.get("status") == "assigned":
        warn_stale(match_evidence_changed(eng, [record["assignment"]]))
    warn_stale(record.get("note"))  # the perk changed or was retired in the catalog since the match
    if as_json:
        print_json(record)
        return
    out.print(f"{user_id} / {perk_id} ({record['brand']}: {record['title']}), match run {record['match_run']}: "
              f"{record['verdict']}", markup=False)
    if record.get("assignment"):
        print_assignments([record["assignment"]])
    for t in record.get("topics", []):
        out.print(f"  through {t['name']} ({t['topic_id']}): {t['why']}", markup=False)
    if record.get("status") == "not_a_candidate" and not record.get("perk_topics"):
        out.print("  the perk is about no topic closely enough to reach anyone through it", markup=False)
    if record.get("perk_topics"):
        now = f" (where they stand now: profile run {record['standing_run']})" if record.get("standing_run") else ""
        out.print(f"  the perk is about{now}:", markup=False)
        for t in record["perk_topics"]:
            out.print(f"    {t['name']} ({t['topic_id']}, relevance {t['relevance']:.2f}): {t['user']}", markup=False)
    if record.get("also"):
        out.print(f"  {record['also']}", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(handled(topics))
    app.command()(handled(explain))
