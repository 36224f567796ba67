"""`match` warns of the perks it offered whose offer ended before today: it checks offers as of the profile run's
day, which may be long past (the Reddit dev data's is 2023-03-21), while `catalog refresh` and a dry run's preview of
a file say "a match as of today withholds them" (fake encoder; the world of ``test_cli_match``)."""

import datetime as dt
import json

from tests.test_cli_match import PERKS, build_world, posts_for

ENDED = {"perk_id": "sale", "brand": "Bean", "title": "Summer sale", "description": "coffee beans roast espresso",
         "ends": "2025-06-30"}  # after the profile run's day (2025-03-01), before today


def test_a_match_as_of_a_past_day_says_which_ended_offers_it_gave_out_and_how_to_withhold_them(  # type: ignore[no-untyped-def]
        tmp_path, write, monkeypatch) -> None:
    users = [{"user_id": "cat", "consent": "opted_in", "region": "GB"}]
    perks = [p for p in PERKS if p["perk_id"] != "beans"] + [ENDED]
    world = build_world(tmp_path, write, monkeypatch, users, posts_for("cat", "coffee espresso beans roast"),
                        "2025-03-01", perks=perks)
    today = dt.datetime.now(dt.UTC).date()
    result = world("match", "--json")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["perk_id"] for line in result.stdout.splitlines()] == ["sale"]  # before: without a word
    assert (f"Warning: match run 2 checked offers as of 2025-03-01 (the profile run's as-of day, unless --as-of gives "
            f"another), when 1 perk(s) whose offer ended before today ({today}) were still open, so it offered them "
            f"(1 assignment(s)): sale (ended 2025-06-30); give --as-of {today} to check offers as of today"
            ) in " ".join(result.stderr.split())
    preview = world("match", "--dry-run", "--catalog", write("next.yaml", perks))  # the file's warning, then this
    said = " ".join(preview.stderr.split())
    assert preview.exit_code == 0 and "a match as of today withholds them" in said
    assert "Warning: this dry run checked offers as of 2025-03-01" in said and "sale (ended 2025-06-30)" in said
    now = world("match", "--as-of", today.isoformat(), "--json")
    assert now.exit_code == 0 and now.stdout == "" and "checked offers as of" not in now.stderr  # withheld: no word
    assert "checked offers as of" not in world("match", "--as-of", "2025-07-01").stderr  # ended before that day
