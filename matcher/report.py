"""HTML reports a person can read: a user's profile and a brand's campaign, one self-contained page each.

The data of each page comes from the read side (``matcher.topic_records``, ``matcher.assignments``,
``matcher.explain``, ``matcher.user_export``); Jinja2 templates render it with autoescaping on, so the
text of a post is always shown as text. Charts (``matcher.report_charts``) are inline SVG. The pages need no
network and no JavaScript, and they print.
"""

import difflib
import functools
import html
import json
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import Engine
from sqlmodel import select

from catalog.refresh import listed, live_perks, live_version
from catalog.schema import PerkRecord, brand_key
from matcher.assignments import brand_view, match_records, matched_profile, withheld_records
from matcher.changes import topic_changes
from matcher.errors import NotReadyError, PerkmatchError
from matcher.explain import explain_topic
from matcher.glossary import report_glossary
from matcher.outfiles import atomic_open
from matcher.profile_measure import NOT_SHOWN
from matcher.profile_run import latest_run
from matcher.records import as_of_text
from matcher.report_charts import activity_chart, engagement, quantity_chart
from matcher.store import Run, User, session
from matcher.topic_records import (
    evidence_changed,
    iso,
    require_profiled,
    require_user,
    shown_again,
    topic_records,
)
from matcher.user_export import export_user
from matcher.why_perk import nobody_reason


@functools.cache
def environment() -> Environment:
    """The templates' environment: autoescape on for every template, undefined names are errors."""
    env = Environment(loader=PackageLoader("matcher", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["engagement"] = engagement
    env.filters["as_read"] = html.unescape  # Reddit and Twitter send "&gt;" for ">": shown as ">" (escaped again)
    return env


def render(template: str, data: dict[str, Any]) -> str:
    """Render one report template (``user.html.j2`` or ``brand.html.j2``) with its data; the words that say what its
    numbers mean are ``glossary``'s: the data's own (``user_report``: against its run's thresholds), else the rules'."""
    return environment().get_template(template).render(**({"glossary": report_glossary()} | data))


def _runs(engine: Engine) -> tuple[Run, Run | None]:
    profile = latest_run(engine, "profile")
    if profile is None:
        raise NotReadyError("no profile yet; run `perkmatch profile` first")
    return profile, latest_run(engine, "match")


def _run_info(profile: Run, match: Run | None) -> dict[str, Any]:
    # match_profile_run: the profile run the match used (an earlier one when profiled since)
    return {"profile_run": profile.id, "as_of": as_of_text(profile.as_of), "match_run": match.id if match else None,
            "match_profile_run": matched_profile(match)}


def user_report(engine: Engine, user_id: str) -> dict[str, Any]:
    """Everything the user page shows: topics, candidates and why, a chart, evidence, perks, changes."""
    profile, match = _runs(engine)
    require_profiled(engine, profile, require_user(engine, user_id))  # an empty page would read as "no topics"
    doc = export_user(engine, user_id)
    # the run's topics as every view shows them: a sensitive topic withdrawn since the run is not among them (the
    # export, the right of access, lists all that is stored)
    shown = topic_records(engine, int(profile.id or 0), [user_id], candidates=True)[0]["topics"]
    shared: dict[str, Any] = {}  # what every topic's explanation reads: read once
    explained = {t["topic_id"]: explain_topic(engine, user_id, t["topic_id"], shared) for t in shown}
    inferred = [t for t in shown if t["status"] == "inferred"]
    candidates = [t | {"why": _why(explained[t["topic_id"]])} for t in shown if t["status"] != "inferred"]
    usual = next((e["details"].get("usual_engagement") for e in explained.values() if "details" in e), None)
    rules = next((e["thresholds"] for e in explained.values()), None)  # as the run's explanations read them
    changes = topic_changes(engine, user_id)  # (each change names its topic)
    assignments = match_records(engine, user_id=user_id) if match else None
    return _run_info(profile, match) | {
        "user": doc["user"], "post_count": len(doc["posts"]), "usual": usual, "glossary": report_glossary(rules),
        "topics": inferred, "candidates": candidates, "changes": changes, "not_shown_why": NOT_SHOWN,
        "chart": activity_chart(doc["posts"], inferred, usual),
        "assignments": assignments,
        "withheld": withheld_records(engine, user_id) if match else [],
        # the topics' evidence, and that of the perks (chosen from the pool of the profile run the match used)
        "evidence_note": evidence_changed(engine, int(profile.id or 0), [user_id], candidates=True)
        or shown_again(assignments or [], matched_profile(match)),
    }


def _why(explained: dict[str, Any]) -> list[str]:
    """What a candidate topic fell short on, one line per threshold; the verdict when none is named, or when the
    topic is a parent whose posts count for its inferred children (its shortfalls are then of its posts beyond
    theirs, which the verdict puts in context)."""
    details = explained.get("details", {})
    shortfalls = [] if details.get("covered_by") else details.get("shortfalls") or []
    return [s.replace("; needs", ", needs") for s in shortfalls] or [explained["verdict"]]


def brand_perks(engine: Engine, brand: str) -> list[PerkRecord]:
    """The live perks of a brand, by name (case-insensitive); an unknown name lists known ones."""
    with session(engine) as s:
        perks = live_perks(s)
        version = live_version(s)
        ever = set(s.exec(select(PerkRecord.brand).distinct()).all())  # retired perks' brands too
    if version is None:
        raise NotReadyError("no catalog yet; run `perkmatch catalog refresh FILE` first")
    if not perks:
        raise PerkmatchError(f"catalog version {version} has no live perks (every perk was retired); refresh the "
                             "catalog with the brand's perks")
    mine = [p for p in perks if brand_key(p.brand) == brand_key(brand)]
    if mine:
        return mine
    gone = sorted(b for b in ever if brand_key(b) == brand_key(brand))
    if gone:  # the name is right: the brand's perks were all retired
        raise PerkmatchError(f"brand '{gone[0]}' has no live perk in catalog version {version}: every one of its "
                             "perks was retired (`perkmatch catalog versions` shows when); the page shows live perks "
                             "only, so refresh the catalog with the brand's perks to report on it")
    brands = sorted({p.brand for p in perks})
    close = difflib.get_close_matches(brand, brands, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(b) for b in close)}? " if close else ""
    raise PerkmatchError(f"no brand '{brand}' in the live catalog; {hint}give the name as in the catalog's brand "
                         f"field; known brands: {listed(brands, 8)}")


def brand_report(engine: Engine, brand: str, cache: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Everything the brand page shows: each perk with its users, evidence, quantity, the best left out; and, for a
    perk the match could assign that went to nobody, why (``why_perk.nobody_reason``; ``cache`` gives the embedding
    cache it needs, called only then: the model loads only for such a perk)."""
    perks = brand_perks(engine, brand)
    profile, match = _runs(engine)
    if match is None:
        raise NotReadyError("no match yet; run `perkmatch match` first")
    users = _users(engine)
    matched = json.loads(match.params or "{}").get("catalog_version")
    with session(engine) as s:  # the perks the match run could assign: its catalog version's
        in_match = None if matched is None else {r.perk_id: r for r in live_perks(s, matched)}
    views: list[dict[str, Any]] = []
    spaces: dict[Any, Any] = {}  # the catalog's perk space, built once for every perk nobody got
    for p in perks:
        view = brand_view(engine, p.perk_id)
        view["in_match"] = in_match is None or p.perk_id in in_match
        view["version_added"] = p.version_added
        view["left"] = None if view["quantity"] is None else max(view["quantity"] - view["assigned"], 0)
        seen = (in_match or {}).get(p.perk_id, p)  # the dates the match run checked, as its title and quantity
        view["starts"], view["ends"] = seen.starts and seen.starts.isoformat(), seen.ends and seen.ends.isoformat()
        for u in view["users"] + view["left_out"]:
            u["region"] = users(u["user_id"]).region
        if cache is not None and not view["assigned"] and view["in_match"] and view["offer"] == "open":
            view["nobody"] = nobody_reason(engine, cache(), p.perk_id, spaces=spaces)
        views.append(view)
    anywhere = ["anywhere"] if any(not v["regions"] for v in views) else []
    perk_regions = anywhere + sorted({r for v in views for r in v["regions"]})
    info = _run_info(profile, match)
    return info | {
        "brand": perks[0].brand, "perks": views, "regions": perk_regions, "matched_version": matched,
        "match_day": iso(match.as_of)[:10],  # the day offer dates were checked against (`match --as-of`)
        "open": sum(v["offer"] == "open" for v in views),
        "assigned": sum(v["assigned"] for v in views), "users": len({u["user_id"] for v in views for u in v["users"]}),
        "chart": quantity_chart(views),
        "evidence_note": shown_again([u for v in views for u in v["users"]], info["match_profile_run"]),
    }


def _users(engine: Engine) -> Callable[[str], User]:
    @functools.cache
    def user(user_id: str) -> User:
        return require_user(engine, user_id)

    return user


def render_user_report(engine: Engine, user_id: str) -> str:
    return render("user.html.j2", user_report(engine, user_id))


def render_brand_report(engine: Engine, brand: str, cache: Callable[[], Any] | None = None) -> str:
    return render("brand.html.j2", brand_report(engine, brand, cache))


def write_report(path: str, text: str) -> None:
    """Write atomically (``outfiles.atomic_open``): never half a page; a stream (``/dev/stdout``) is written to."""
    with atomic_open(path, "HTML file") as handle:
        handle.write(text)
