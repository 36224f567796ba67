"""Commands that show results: topics, explain, match, brand."""

import html
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from matcher.cli import common
from matcher.cli.common import (
    DbOpt,
    JsonOpt,
    ModelOpt,
    engine,
    err,
    handled,
    out,
    parse_as_of,
    print_json,
    print_table,
)


def _short(text: str, n: int = 90) -> str:
    """A post's text on one line, as a person reads it: Reddit and Twitter send "&gt;" for ">" (JSON keeps it)."""
    text = " ".join(html.unescape(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _or_dash(value: Any) -> str:
    return "-" if value is None else str(value)


def _evidence_lines(evidence: list[dict[str, Any]], limit: int = 3) -> str:
    """Evidence posts, one a line; a reply shows what it answers (its context, which is read with it)."""
    return "\n".join(f"{e['created_at'][:10]} ♥{e['likes']} ↩{e['replies']} ⇄{e['shares']}  "
                     + ("(reshare) " if e.get("is_share") else "") + _short(e["text"])
                     + (f"  [in: {_short(e['context'], 60)}]" if e.get("context") else "")
                     for e in evidence[:limit])


WITHHELD_SHOWN = 10  # `explain USER` prints the best this many perks withheld; --json gives every one


def topics(
    user_id: Annotated[str | None, typer.Argument(help="The user's id")] = None,
    all_users: Annotated[bool, typer.Option("--all", help="Every profiled user.")] = False,
    candidates: Annotated[bool, typer.Option("--candidates", help="Also list topics that fell short.")] = False,
    changes: Annotated[bool, typer.Option("--changes", help="What changed since the previous profile run, and why.")]
    = False,
    since: Annotated[int | None, typer.Option("--since", help="With --changes: compare with this earlier profile run "
                                              "instead of the previous one.", show_default=False)] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A user's inferred topics with their evidence (or every user's, with --all)."""
    from matcher.changes import topic_changes
    from matcher.topic_records import stale_taxonomy, user_topics

    if (user_id is None) == (not all_users):
        raise typer.BadParameter("give a USER_ID or --all (not both)")
    eng = engine(db, existing=True)
    if since is not None and not changes:
        raise typer.BadParameter("--since goes with --changes")
    if changes:
        if user_id is None:
            raise typer.BadParameter("--changes needs a USER_ID")
        record = topic_changes(eng, user_id, since)
        if as_json:
            print_json(record)
            return
        against = record["previous_run_id"]
        out.print(f"{user_id}: profile run {record['run_id']} "
                  + (f"against run {against}" if against is not None else "(the first: no earlier run to compare)"))
        if not record["changes"]:
            out.print("  no topic changed" if against is not None else "  no topics")
        for c in record["changes"]:
            moved = f" {_or_dash(c['before'])} -> {_or_dash(c['after'])}" if "before" in c else ""
            out.print(f"  {c['topic_id']}: {c['change']}{moved}  {c['why']}")
        return
    records = user_topics(eng, user_id, candidates=candidates)
    _warn_stale(stale_taxonomy(eng))
    if as_json:
        print_json(records)
        return
    for rec in records:
        inferred = sum(t["status"] == "inferred" for t in rec["topics"])
        title = f"{rec['user_id']}: {inferred} topic(s)" + (
            f", {len(rec['topics']) - inferred} candidate(s) that fell short" if candidates else "")
        table = Table("topic", "score", "conf.", "posts", "days", "engagement vs usual", "evidence", title=title,
                      title_justify="left")
        for t in rec["topics"]:
            label = t["name"] + (" (candidate)" if t["status"] != "inferred" else "")
            table.add_row(Text.assemble(label, "\n", (t["topic_id"], "dim")), f"{t['score']:.2f}",
                          f"{t['confidence']:.2f}", str(t["posts"]), str(t["days"]), f"×{t['engagement_vs_usual']:.2f}",
                          _evidence_lines(t["evidence"]))  # (the console reads no markup: posts' [brackets] stay)
        print_table(table)


def explain(
    user_id: Annotated[str, typer.Argument(help="The user's id")],
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
    from matcher.explain import explain_topic, no_perks_reason
    from matcher.profiles import ProfileParams
    from matcher.topic_records import require_user, stale_taxonomy

    eng = engine(db, existing=True)
    if topic_id is None:
        require_user(eng, user_id)
        record = {"user_id": user_id, "assignments": match_records(eng, user_id=user_id),
                  "withheld": withheld_records(eng, user_id)}
        if not record["assignments"]:
            record["reason"] = no_perks_reason(eng, user_id)  # why none: the text says it, and so does the JSON
        if as_json:
            print_json(record)
            return
        if not record["assignments"]:
            out.print(record["reason"], markup=False)
        _print_assignments(record["assignments"])
        if not record["withheld"] and withheld_hidden(eng, user_id, latest_match_id(eng)):
            out.print(f"  (the perks withheld from {user_id} are not shown: their record changed after the last match; "
                      "run `perkmatch match` to weigh them again)", markup=False)
        for w in record["withheld"][:WITHHELD_SHOWN]:
            out.print(f"  withheld {w['perk_id']} ({w['brand']}: {w['title']}), score {w['score']:.3f}: {w['reason']}")
        if len(record["withheld"]) > WITHHELD_SHOWN:
            out.print(f"  ... and {len(record['withheld']) - WITHHELD_SHOWN} more withheld, each with its reason "
                      "(--json lists every one)")
        return
    if _is_perk(eng, topic_id):
        _explain_perk(eng, common.cache(eng, model), user_id, topic_id, as_json)
        return
    _warn_stale(stale_taxonomy(eng))
    try:
        record = explain_topic(eng, user_id, topic_id)
    except UnknownTopicError as exc:  # neither a topic nor a perk: a brand's perks, or perk ids it may have meant
        hint = _perk_hint(eng, topic_id)
        if hint:
            raise UnknownTopicError(f"{exc}; {hint}") from None
        raise
    if as_json:
        print_json(record)
        return
    out.print(f"{user_id} / {record['name']} ({topic_id}): {record['verdict']}")
    if record.get("related_words"):
        out.print(f"  read through its name, description and related words: {', '.join(record['related_words'])}")
    if record.get("fitted_on_posts"):
        plain = max(1, round(record["fitted_on_posts"]))
        out.print(f"  its vector is fitted to this collection: about {plain} post{'s' if plain != 1 else ''} in it "
                  f"{'are' if plain != 1 else 'is'} plainly about it")
    if "posts" in record:
        d = record["details"]
        th = record["thresholds"]
        gap = ProfileParams().day_gap_hours
        out.print(f"  posts {record['posts']} (needs {th['posts']}), distinct days {record['days']} "
                  f"(days with posts at least {gap:g} h apart; needs {th['days']}), threads {record['threads']} "
                  f"(needs {th['threads']}), engaged posts {d['engaged_posts']} (needs {th['engaged_posts']})")
        per_post = d["positive_engagement"] / record["posts"] if record["posts"] else 0.0
        whose = "its reshares', as it has no post of the user's own" if not record["posts"] else "its typical post's"
        out.print(f"  engagement on it ×{record['engagement_vs_usual']:.2f} of the user's usual (needs "
                  f"×{th['engagement_vs_usual']:.2f}; {whose}, on a log scale and drawn towards ×1 when there are few "
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
        for line in _evidence_lines(record["evidence"], 5).splitlines():
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
    if as_json:
        print_json(record)
        return
    out.print(f"{user_id} / {perk_id} ({record['brand']}: {record['title']}), match run {record['match_run']}: "
              f"{record['verdict']}", markup=False)
    if record.get("assignment"):
        _print_assignments([record["assignment"]])
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


def _print_assignments(records: list[dict[str, Any]]) -> None:
    for r in records:
        since = f"; {r['catalog_since']} in the catalog since" if r.get("catalog_since") else ""
        out.print(Text.assemble((r["user_id"], "bold"), f" #{r['rank']} {r['perk_id']} — {r['brand']}: {r['title']} "
                                f"(score {r['score']:.3f}{since})"))
        for t in r["topics"][:2]:
            relevance = f", relevance {t['relevance']:.2f}" if "relevance" in t else ""
            out.print(f"    because of {t['name']} (fit {t['fit']:.2f}{relevance}):")
            for line in _evidence_lines(t["evidence"], 2).splitlines():
                out.print(f"      {line}", markup=False)


def match(
    per_user: Annotated[int, typer.Option("--per-user", min=1, help="At most K perks per user.")] = 3,
    per_brand: Annotated[int, typer.Option("--per-brand", min=1, help="At most this many perks of one brand per "
                                           "user.")] = 1,
    fmt: Annotated[str | None, typer.Option("--format", help="Export format for --out: csv or jsonl.")] = None,
    out_file: Annotated[str | None, typer.Option("--out", help="Write the assignments to this file.")] = None,
    changes: Annotated[bool, typer.Option("--changes", help="Print only which users' assignments changed since the "
                                          "previous match, and whether the catalog or the user caused it.")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Check the perks' offer dates against this ISO date "
                                              "\\[default: the date of the last profile run].",
                                              show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Work out the match and print it (or its --changes, or "
                                          "--out), but keep no match run: brand, explain, report and status go on "
                                          "reading the last one kept.")] = False,
    catalog_file: Annotated[str | None, typer.Option("--catalog", help="With --dry-run: match as if this catalog "
                                                     "file were refreshed into a new live version (it is not: "
                                                     "`catalog refresh FILE` does that).")] = None,
    perk_ids: Annotated[list[str] | None, typer.Option("--perk", help="Print (or write with --out) only this perk's "
                                                       "assignments and changes; give it again for more.",
                                                       show_default=False)] = None,
    brand_name: Annotated[str | None, typer.Option("--brand", help="Print (or write with --out) only the "
                                                   "assignments and changes of this brand's perks.")] = None,
    db: DbOpt = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Assign perks to users under the catalog's limits; print ranked assignments with evidence."""
    from catalog.refresh import read_catalog, refresh
    from matcher.export import assignment_format
    from matcher.match import run_match
    from matcher.profile_run import latest_run
    from matcher.store import session
    from matcher.taxonomy import topic_sets
    from matcher.topic_records import iso

    if fmt and not out_file:
        raise typer.BadParameter("is the format of the file --out writes; give --out FILE too (or leave --format "
                                 "out to print)", param_hint="'--format'")
    if fmt and fmt.lower() not in ("csv", "jsonl"):  # a bad value: a usage error (2), like any other
        raise typer.BadParameter(f"{fmt!r}: use csv or jsonl", param_hint="'--format'")
    if out_file:
        assignment_format(out_file, fmt)  # a bad name or folder is refused before the match runs
    if catalog_file and not dry_run:
        raise typer.BadParameter("previews a catalog: give --dry-run too (to make the file the live catalog, run "
                                 "`perkmatch catalog refresh FILE`, then `perkmatch match`)", param_hint="'--catalog'")
    when = parse_as_of(as_of)
    eng = engine(db, existing=True)
    known, sensitive = set[str](), set[str]()  # the topics a previewed catalog may name (`stage`)
    if catalog_file:
        with session(eng) as s:
            known, sensitive = topic_sets(s)
        # the file's problems before the model loads; standard input or a pipe can be read once only, and with no
        # profile yet (maybe no taxonomy either) `run_match` says so first
        if Path(catalog_file).is_file() and latest_run(eng, "profile"):
            read_catalog(catalog_file, known, sensitive)
    source = common.cache(eng, model)

    selecting = bool(perk_ids or brand_name)
    if selecting and not catalog_file:  # a misspelt id is said before the match runs (a previewed file's, after)
        _selected_perks(eng, perk_ids or [], brand_name)

    def read(store: Any, run_id: int) -> _MatchView:
        """What to show of the run, read through ``store`` (a dry run's session: a previewed catalog's perks are
        there only)."""
        return _MatchView.read(store, source, run_id, dry_run,
                               _selected_perks(store, perk_ids or [], brand_name) if selecting else None,
                               why_nobody=not changes)

    def stage(staging: Any) -> Any:
        """The catalog file as a new version, written into the dry run's transaction (rolled back with it)."""
        return refresh(staging, str(catalog_file), source, topics=known, sensitive=sensitive, retire_all=True,
                       commit=False)  # a file with no perks is previewed as what it would do: retire them all

    with common.progress() as bar:
        try:
            summary = run_match(eng, source, per_user=per_user, per_brand=per_brand, as_of=when, progress=bar,
                                read_back=read if dry_run else None, stage=stage if catalog_file else None)
        except KeyboardInterrupt as exc:
            if not dry_run:
                raise
            raise common.interrupted(exc, "a dry run keeps nothing (only the vectors it embedded, cached)") from None
    view: _MatchView = summary.preview if dry_run else read(eng, summary.run_id)
    if summary.staged is not None:
        staged, moved = summary.staged, summary.staged.diff
        err.print(f"{catalog_file} as catalog version {summary.catalog_version} (not kept): added "
                  f"{len(moved.added)}, changed {len(moved.changed)}, retired {len(moved.retired)}" if staged.applied
                  else f"{catalog_file}: the same perks as the live catalog (version {summary.catalog_version})",
                  markup=False)
    since = (f"{len(view.diff)} user(s) {'would change' if dry_run else 'changed'} since the last match"
             if not view.first else "no earlier match run" if dry_run else "the first match run")
    err.print(f"{'dry run, not kept' if dry_run else f'match run {summary.run_id}'}: {summary.assignments} "
              f"assignment(s) among {summary.users} user(s) with topics, catalog version {summary.catalog_version}, "
              f"offers as of {iso(summary.as_of)[:10]}; {since}")
    _show_match(view.selected(), changes, out_file, fmt, as_json)


@dataclass(frozen=True)
class _MatchView:
    """What `match` shows of a run: its records, what changed since the previous run (``first``: there was none),
    and, when ``--perk``/``--brand`` select perks (``wanted``), why each live one selected went to nobody."""

    records: list[dict[str, Any]]
    diff: list[dict[str, Any]]
    first: bool
    wanted: set[str] | None = None
    nobody: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, store: Any, source: Any, run_id: int, dry_run: bool, wanted: set[str] | None,
             why_nobody: bool) -> "_MatchView":
        """``why_nobody``: say why each live perk selected went to nobody (not for --changes)."""
        from catalog.refresh import live_perks
        from matcher.assignments import match_records, matched_version
        from matcher.changes import assignment_changes
        from matcher.profile_run import previous_run
        from matcher.store import session
        from matcher.why_perk import nobody_reason

        records, nobody = match_records(store, run_id), {}
        if wanted is not None and why_nobody:
            with session(store) as s:  # the perks of the run's catalog version (a refresh may have followed it)
                unassigned = sorted({p.perk_id for p in live_perks(s, matched_version(s, run_id))} & wanted
                                    - {r["perk_id"] for r in records})
            spaces: dict[Any, Any] = {}  # one perk space for them all
            nobody = {p: nobody_reason(store, source, p, spaces=spaces, dry_run=dry_run) for p in unassigned}
        return cls(records, assignment_changes(store, run_id), previous_run(store, run_id, "match") is None, wanted,
                   nobody)

    def selected(self) -> "_MatchView":
        """The view of the perks selected only: their assignments, and their part of each change."""
        if self.wanted is None:
            return self
        return replace(self, records=[r for r in self.records if r["perk_id"] in self.wanted],
                       diff=[_narrowed(d, self.wanted) for d in self.diff
                             if self.wanted & {*d["gained"], *d["lost"]}])


def _show_match(view: _MatchView, changes: bool, out_file: str | None, fmt: str | None, as_json: bool) -> None:
    """Print a match (or its --changes), or write it to --out."""
    from matcher.export import write_assignments

    if changes:
        if as_json:
            print_json(view.diff)
        elif not view.diff:
            out.print("no earlier match run to compare with" if view.first else
                      "no user's assignments changed since the last match" if view.wanted is None else
                      "no user's assignments of the perks selected changed since the last match")
        for d in [] if as_json else view.diff:
            moved = "; ".join(f"{key} {', '.join(d[key])}" for key in ("gained", "lost") if d[key])
            out.print(f"{d['user_id']}: {moved} ({'; '.join(d['causes'])})", markup=False)
        return
    if out_file:
        write_assignments(view.records, out_file, fmt)
        err.print(f"wrote {len(view.records)} assignment(s) to {out_file}")
    elif as_json:
        print_json(view.records)
    else:
        _print_assignments(view.records)
    if view.wanted is not None and not view.records and not view.nobody:
        err.print("no assignment of the perks selected")
    for perk_id, why in view.nobody.items():  # on stderr beside --json or --out: their lines are the assignments
        if as_json or out_file:
            err.print(f"{perk_id}: {why['why']}", markup=False)
        else:
            out.print(f"{perk_id}:", markup=False)
            _print_nobody(why, "  ")


def _narrowed(change: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    """A user's change of assignments (``changes.assignment_changes``) told of the perks selected only: the perks
    it gained and lost, and the causes, but those naming another perk ("catalog: P retired", "P withheld: ...");
    all of them when every one does (no cause would be left to give)."""
    others = {*change["gained"], *change["lost"]} - wanted
    return change | {key: [p for p in change[key] if p in wanted] for key in ("gained", "lost")} | {
        "causes": [c for c in change["causes"] if c.removeprefix("catalog: ").split(" ", 1)[0] not in others]
        or change["causes"]}


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


def brand(perk_id: Annotated[str, typer.Argument(help="The perk's id")], db: DbOpt = None, model: ModelOpt = None,
          as_json: JsonOpt = False) -> None:
    """The users a perk is assigned to, ranked, with evidence; and the best left out as quantity ran out (or, when
    nobody got it, why)."""
    from matcher.assignments import brand_view
    from matcher.why_perk import nobody_reason

    eng = engine(db, existing=True)
    record = brand_view(eng, perk_id)
    if not record["assigned"] and not record["retired"]:  # the perk went to nobody: say why (the model is loaded)
        nobody = nobody_reason(eng, common.cache(eng, model), perk_id)
        if nobody:
            record["nobody"] = nobody
    _warn_stale(record.get("note"))
    if as_json:
        print_json(record)
        return
    qty = "unlimited" if record["quantity"] is None else f"{record['assigned']} of {record['quantity']} used"
    qty += f", {record['forgotten_units']} to users forgotten since" if record.get("forgotten_units") else ""
    offer = ("; retired: not in the live catalog" if record["retired"] else
             "" if record["offer"] == "open" else f"; offer {record['offer']}")
    out.print(f"{record['perk_id']} — {record['brand']}: {record['title']} ({qty}; regions: "
              f"{', '.join(record['regions']) or 'anywhere'}{offer})", markup=False)
    for u in record["users"]:
        top = u["topics"][0] if u["topics"] else None
        out.print(f"  {u['brand_rank']}. {u['user_id']} score {u['score']:.3f}"
                  + (f" because of {top['name']}" if top else ""))
        if top:
            for line in _evidence_lines(top["evidence"], 2).splitlines():
                out.print(f"      {line}", markup=False)
    for w in record["left_out"]:
        out.print(f"  left out: {w['user_id']} score {w['score']:.3f} ({w['reason']})")
    if record.get("nobody"):
        _print_nobody(record["nobody"], "  ")


def _print_nobody(nobody: dict[str, Any], indent: str) -> None:
    """Why a perk went to nobody (``why_perk.nobody_reason``), and its topics' counts, one a line."""
    out.print(f"{indent}{nobody['why']}", markup=False)
    for t in nobody["topics"]:
        more = " more" if t["inferred"] else ""
        out.print(f"{indent}  {t['name']} ({t['topic_id']}, relevance {t['relevance']:.2f}): inferred for "
                  f"{t['inferred']} user(s); short of its thresholds for {t['fell_short']}{more}", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(handled(topics))
    app.command()(handled(explain))
    app.command()(handled(match))
    app.command()(handled(brand))


def _warn_stale(note: str | None) -> None:
    """On stderr, so that --json output stays the run's records."""
    if note:
        err.print(f"[yellow]Warning:[/] {escape(note)}", markup=True)
