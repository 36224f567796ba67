"""The `brand` command: the users a perk is assigned to, ranked, with evidence; the best left out as quantity ran
out, or, when nobody got it, why."""

from typing import Annotated, Any

import typer

from matcher.cli import common
from matcher.cli.common import DbOpt, JsonOpt, ModelOpt, engine, out, print_json
from matcher.cli.match_view import _print_nobody
from matcher.cli.shown import brand_legend, evidence_lines, match_evidence_changed, match_profile_run, warn_stale


def brand(perk_id: Annotated[str, typer.Argument(help="The perk's id")], db: DbOpt = None,
          model: ModelOpt = None, as_json: JsonOpt = False) -> None:
    """The users a perk is assigned to, ranked, with evidence; and the best left out as quantity ran out (or, when
    nobody got it, why)."""
    from matcher.assignments import brand_view
    from matcher.topic_records import stale_taxonomy
    from matcher.why_perk import nobody_reason

    eng = engine(db, existing=True)
    common.warn_run_policy(eng)
    warn_stale(stale_taxonomy(eng, match_profile_run(eng)))  # the topics cited are the match's profile run's
    record = brand_view(eng, perk_id)
    warn_stale(match_evidence_changed(eng, record["users"]))
    if not record["assigned"] and not record["retired"]:  # the perk went to nobody: say why (the model is loaded)
        nobody = nobody_reason(eng, common.shown_cache(eng, model), perk_id)
        if nobody:
            record["nobody"] = nobody
    warn_stale(record.get("note"))
    if as_json:
        print_json(record)
    else:
        _print_brand(record)


def _print_brand(record: dict[str, Any]) -> None:
    """``brand``'s text: the perk with its quantity used, regions and offer; its users, ranked, each with their top
    topic's evidence; the best left out; and, when nobody got it, why."""
    qty = "unlimited" if record["quantity"] is None else f"{record['assigned']} of {record['quantity']} used"
    qty += (f", {record['forgotten_units']} to users deleted since (forgotten, or a sensitive opt-in it cited "
            "withdrawn)" if record.get("forgotten_units") else "")
    qty += (f", {record['sensitive_units']} to users not shown: the topics it reached them by are now marked "
            "sensitive, and they have not opted in to them" if record.get("sensitive_units") else "")
    offer = ("; retired: not in the live catalog" if record["retired"] else
             "" if record["offer"] == "open" else f"; offer {record['offer']}")
    out.print(f"{record['perk_id']} — {record['brand']}: {record['title']} ({qty}; regions: "
              f"{', '.join(record['regions']) or 'anywhere'}{offer})", markup=False)
    for u in record["users"]:
        top = u["topics"][0] if u["topics"] else None
        out.print(f"  {u['brand_rank']}. {u['user_id']} score {u['score']:.3f}"
                  + (f" because of {top['name']}" if top else "")
                  + (" (their record changed since the match; the next match checks it again)"
                     if u.get("record_changed") else ""))
        if top:
            for line in evidence_lines(top["evidence"], 2).splitlines():
                out.print(f"      {line}", markup=False)
    for w in record["left_out"]:
        out.print(f"  left out: {w['user_id']} score {w['score']:.3f} ({w['reason']})")
    if record["users"] or record["left_out"]:
        out.print(brand_legend(record["users"]), markup=False, highlight=False)
    if record.get("nobody"):
        _print_nobody(record["nobody"], "  ")
