"""What to run next, and why (`perkmatch status`'s "next"): from what ``matcher.status`` read of the database, the
steps in pipeline order (profile, catalog, match), each with its reasons, and the encoder options the profile run was
made with.
"""

from typing import Any


def next_steps(report: dict[str, Any]) -> list[str]:
    """What to run next, and why, in pipeline order (empty: everything is up to date)."""
    steps: list[str] = []
    profile, match, catalog = report["profile"], report["match"], report["catalog"]
    if not report["posts"]["total"]:
        return ["perkmatch ingest POSTS --users USERS: there are no posts yet"]
    steps.extend(_profile_steps(report))
    if catalog is None:
        steps.append("perkmatch catalog refresh FILE: no perk catalog loaded yet")
    elif not catalog["live_perks"]:  # (a match assigns nothing: every perk was retired)
        steps.append(f"perkmatch catalog refresh FILE: the live catalog, version {catalog['version']}, has no perk")
    elif profile is not None and (match is None or match["catalog_version"] != catalog["version"]
                                  or match["profile_run"] != profile["run_id"] or match["ended_offers"]
                                  or match["opened_offers"] or match["user_records"] or _ahead(match)):
        steps.append(_match_step(match, catalog, profile))
    elif steps:  # a profile run to do: the assignments follow from its topics
        steps.append("perkmatch match: after that profile run, whose topics the assignments follow from")
    if report.get("scrub_pending"):  # the profile run to do (or one for this alone) scrubs the file when it ends
        _add_scrub(steps)
    return _with_encoder(steps, profile)


def _profile_steps(report: dict[str, Any]) -> list[str]:
    """The profile step, if one is due: an unfinished run's, a wait for a run embedding, the first run, or the
    reasons the newest run is out of date."""
    steps: list[str] = []
    profile = report["profile"]
    if report["unfinished_profile"]:
        run = report["unfinished_profile"]
        reused = (f"the {run['users_completed']:,} users it completed" if run["users_completed"] else
                  "the texts it embedded (it completed no user)")
        if run.get("running"):
            steps.append(f"wait: profile run {run['run_id']} (started {run['started_at']}) is running; a `perkmatch "
                         "profile` started now waits for it, then reuses its work")
        else:
            how = (f"it was {run['status']}" if run["status"] != "running" else
                   "it was killed: no run holds the profile lock" if run.get("running") is False else
                   "it is still running, or was killed")
            steps.append(f"perkmatch profile: profile run {run['run_id']} (started {run['started_at']}) has not "
                         f"finished ({how}); a new run reuses {reused}")
    elif report.get("profile_embedding"):
        steps.append("wait: a profile run is embedding new texts (its run is recorded once they are embedded); a "
                     "`perkmatch profile` started now waits for it, then reuses its work")
    elif profile is None:
        steps.append("perkmatch profile: no profile run yet")
    else:
        steps.extend(_profile_reasons(profile, report["taxonomy"]))
    return steps


def _add_scrub(steps: list[str]) -> None:
    """A deletion's scrub that could not finish: said with the profile step (a profile run scrubs the file when it
    ends), or as one of its own, first."""
    why = ("a deletion's scrub could not finish (another command was reading the database), so SQLite's log may "
           "still hold the deleted text; a profile run scrubs the file when it ends")
    at = next((i for i, step in enumerate(steps) if step.startswith("perkmatch profile")), None)
    if at is None:
        steps.insert(0, f"perkmatch profile: {why}")
    else:
        steps[at] += f"; also, {why}"


def _with_encoder(steps: list[str], profile: dict[str, Any] | None) -> list[str]:
    """The steps, `perkmatch profile` and `match` given the options of the encoder the profile run was made with when
    not the default's (`perkmatch --encoder fast match`): the default `match` refuses that run, and the default
    `profile` embeds every text again with another encoder."""
    options = (profile or {}).get("encoder_options")
    if not options:
        return steps
    return [step.replace("perkmatch ", f"perkmatch {options} ", 1)
            if step.startswith(("perkmatch profile", "perkmatch match")) else step for step in steps]


def _profile_reasons(profile: dict[str, Any], taxonomy: dict[str, Any]) -> list[str]:
    since = profile["since"]
    why = []
    if since["posts"]:
        why.append(f"{plural(since['posts'], 'post')} by {plural(since['posting_users'], 'user')} added or changed "
                   "since it started")
    if since["user_records_for_profile"] is None and since["user_records"]:  # too many to check: any may matter
        why.append(f"{plural(since['user_records'], 'user record')} (consent, region, opt-ins) changed since it "
                   "started")
    elif since["user_records_for_profile"]:
        why.append(f"{plural(since['user_records_for_profile'], 'user record')} changed in what a profile reads "
                   "(consent, sensitive-topic opt-ins) since it started")
    if profile["posts_after_as_of"]:
        why.append(f"{plural(profile['posts_after_as_of'], 'post')} written after its as-of day ({profile['as_of']}), "
                   "which a run with a later --as-of counts")
    if since["forgotten"]:  # the topic vectors it fitted may rest on their posts: they must stop shaping anyone's
        why.append(f"{plural(since['forgotten'], 'user')} forgotten since it started: the next run fits the topic "
                   "vectors again, without their posts")
    if since.get("deleted_posts"):
        why.append(f"{plural(since['deleted_posts'], 'post')} by {plural(since['deleting_users'], 'user')} deleted at "
                   "their request since it started (`forget USER --post`): its scores still count the deleted posts; "
                   "the next run works those users' topics out again without them")
    if profile["taxonomy_digest"] and taxonomy["digest"] and profile["taxonomy_digest"] != taxonomy["digest"]:
        why.append("the taxonomy was replaced since")
    if profile.get("rules") is not None and profile["rules"] != profile.get("rules_now", profile["rules"]):
        why.append(f"perkmatch's profile rules changed since (version {profile['rules']} -> {profile['rules_now']}, an "
                   "upgrade): its scores and verdicts follow the old rules; the next run computes every user again")
    return [f"perkmatch profile: profile run {profile['run_id']}: " + "; ".join(why)] if why else []


def _match_step(match: dict[str, Any] | None, catalog: dict[str, Any], profile: dict[str, Any]) -> str:
    """`perkmatch match` and why; with ``--as-of`` today when offer dates are the reason: a match checks them against
    its profile run's day unless given one, so a plain `match` would find the same offers open."""
    if match is None:
        return "perkmatch match: no match run yet"
    dated = ((match["ended_offers"] or match["opened_offers"]) and match["as_of"] < match["today"]) or _ahead(match)
    command = f"perkmatch match --as-of {match['today']}" if dated else "perkmatch match"
    note = (f" (offer dates are checked against the profile run's day, {profile['as_of']}, unless --as-of gives "
            "another)" if dated else "")
    return f"{command}: {_match_reason(match, catalog, profile)}{note}"


def _match_reason(match: dict[str, Any], catalog: dict[str, Any], profile: dict[str, Any]) -> str:
    why = []
    if match["catalog_version"] != catalog["version"]:
        why.append(f"it used catalog version {match['catalog_version']}, the live one is {catalog['version']}")
    if match["profile_run"] != profile["run_id"]:
        why.append(f"it used profile run {match['profile_run']}, the newest is {profile['run_id']}")
    if match["ended_offers"]:
        why.append(f"offer ended for {plural(match['ended_perks'], 'assigned perk')} "
                   f"({plural(match['ended_offers'], 'assignment')})")
    if match["opened_offers"]:
        why.append(f"offer opened after {match['as_of']} for {plural(match['opened_offers'], 'perk')}")
    if match["user_records"]:
        why.append(f"{plural(match['user_records'], 'user record')} (region, consent, opt-ins) changed since it "
                   "started")
    if _ahead(match):
        why.append(f"it checked offer dates as of {match['as_of']}, a day still to come (today is {match['today']}): "
                   "its assignments hold perks whose offer is not open yet, and leave out those ending before then")
    return f"match run {match['run_id']}: " + "; ".join(why)


def _ahead(match: dict[str, Any]) -> bool:
    """Whether the match checked offer dates on a day after today (``match --as-of`` a future day: a trial of next
    week's catalog kept as the assignments in force)."""
    return bool(match["as_of"][:10] > match["today"])


def plural(count: int, noun: str) -> str:
    """"1 post", "2 posts"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
