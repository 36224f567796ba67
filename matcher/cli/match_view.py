"""What `match` shows of a run (``_MatchView``: its assignments, what changed since an earlier run, why perks
selected went to nobody), and how it prints it, or writes it to --out."""

from dataclasses import dataclass, field, replace
from typing import Any

from matcher.cli.common import err, out, print_json
from matcher.cli.shown import assignments_own_vote, perks_legend, print_assignments


@dataclass(frozen=True)
class _MatchView:
    """What `match` shows of a run: its records, what changed since the previous run (``first``: there was none),
    and, when ``--perk``/``--brand`` select perks (``wanted``), why each live one selected went to nobody (and each
    one named with --perk that the run's catalog version does not have: retired, or not added yet)."""

    records: list[dict[str, Any]]
    diff: list[dict[str, Any]]
    first: bool
    wanted: set[str] | None = None
    nobody: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, store: Any, source: Any, run_id: int, dry_run: bool, wanted: set[str] | None,
             why_nobody: bool, named: frozenset[str] = frozenset(), since: int | None = None) -> "_MatchView":
        """``why_nobody``: say why each live perk selected went to nobody, and each perk ``named`` (--perk) not
        live (not for --changes)."""
        from catalog.refresh import live_perks
        from matcher.assignments import match_records, matched_version
        from matcher.match_changes import assignment_changes
        from matcher.profile_run import previous_run
        from matcher.store import session
        from matcher.why_perk import nobody_reason

        records, nobody = match_records(store, run_id), {}
        if wanted is not None and why_nobody:
            with session(store) as s:  # the perks of the run's catalog version (a refresh may have followed it)
                live = {p.perk_id for p in live_perks(s, matched_version(s, run_id))}
                unassigned = sorted((live & wanted | named & wanted) - {r["perk_id"] for r in records})
            spaces: dict[Any, Any] = {}  # one perk space for them all
            nobody = {p: nobody_reason(store, source, p, spaces=spaces, dry_run=dry_run) for p in unassigned}
        first = since is None and previous_run(store, run_id, "match") is None
        return cls(records, assignment_changes(store, run_id, since), first, wanted, nobody)

    def selected(self) -> "_MatchView":
        """The view of the perks selected only: their assignments, and their part of each change."""
        if self.wanted is None:
            return self
        return replace(self, records=[r for r in self.records if r["perk_id"] in self.wanted],
                       diff=[_narrowed(d, self.wanted) for d in self.diff
                             if self.wanted & {*d["gained"], *d["lost"], *(m["perk_id"] for m in d["moved"])}])


def _show_match(view: _MatchView, changes: bool, out_file: str | None, fmt: str | None, as_json: bool,
                last: str = "the last match") -> None:
    """Print a match (or its --changes), or write it to --out."""
    from matcher.export import write_assignments

    if changes:
        if as_json:
            print_json(view.diff)
        elif not view.diff:
            out.print("no earlier match run to compare with" if view.first else
                      f"no user's assignments changed since {last}" if view.wanted is None else
                      f"no user's assignments of the perks selected changed since {last}")
        for d in [] if as_json else view.diff:
            moved = [f"{key} {', '.join(d[key])}" for key in ("gained", "lost") if d[key]]
            moved += [f"{m['perk_id']} score {score_move(m['before'], m['after'])}" for m in d["moved"]]
            out.print(f"{d['user_id']}: {'; '.join(moved)} ({'; '.join(d['causes'])})", markup=False)
        return
    if out_file is not None:
        write_assignments(view.records, out_file, fmt)
        err.print(f"wrote {len(view.records)} assignment(s) to {out_file}")
    elif as_json:
        print_json(view.records)
    else:
        print_assignments(view.records)
        if view.records:  # (as under `explain USER`'s perks)
            out.print(perks_legend(assignments_own_vote(view.records)), markup=False, highlight=False)
    if view.wanted is not None and not view.records and not view.nobody:
        err.print("no assignment of the perks selected")
    for perk_id, why in view.nobody.items():  # on stderr beside --json or --out: their lines are the assignments
        if as_json or out_file is not None:
            err.print(f"{perk_id}: {why['why']}", markup=False)
        else:
            out.print(f"{perk_id}:", markup=False)
            _print_nobody(why, "  ")


def _narrowed(change: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    """A user's change of assignments (``changes.assignment_changes``) told of the perks selected only: the perks
    it gained and lost, and the causes, but those naming another perk ("catalog: P retired", "P withheld: ...");
    all of them when every one does (no cause would be left to give)."""
    others = {*change["gained"], *change["lost"], *(m["perk_id"] for m in change["moved"])} - wanted
    return change | {key: [p for p in change[key] if p in wanted] for key in ("gained", "lost")} | {
        "moved": [m for m in change["moved"] if m["perk_id"] in wanted]} | {
        "causes": [c for c in change["causes"] if c.removeprefix("catalog: ").split(" ", 1)[0] not in others]
        or change["causes"]}


def _print_nobody(nobody: dict[str, Any], indent: str) -> None:
    """Why a perk went to nobody (``why_perk.nobody_reason``), and its topics' counts, one a line."""
    out.print(f"{indent}{nobody['why']}", markup=False)
    for t in nobody["topics"]:
        more = " more" if t["inferred"] else ""
        opted = " who opted in to it" if t.get("sensitive") else ""
        out.print(f"{indent}  {t['name']} ({t['topic_id']}, relevance {t['relevance']:.2f}): inferred for "
                  f"{t['inferred']} user(s){opted}; short of its thresholds for {t['fell_short']}{more}", markup=False)


def score_move(before: float, after: float) -> str:
    """"1.116 -> 1.121": to 3 decimals, or as many more as it takes to show the move (a score that moved in its fifth
    decimal read "1.116 -> 1.116", a change that seemed to be none)."""
    for digits in range(3, 9):
        old, new = f"{before:.{digits}f}", f"{after:.{digits}f}"
        if old != new:
            return f"{old} -> {new}"
    return f"{before!r} -> {after!r}"
