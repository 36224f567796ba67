"""The journey of time, walked as a brand and an operator would: a catalog refreshed over weeks (perks re-dated,
retired, added back), `match` repeated at other days, `brand`, `explain USER PERK`, `match --changes`, and the
`--as-of` option. Each test is one defect found on that walk (fake encoder, the small world of
``test_cli_match``: profiled as of 2025-03-01; ``old-beans`` ended 2020-01-01)."""

import datetime as dt
import json
import unicodedata

from tests.test_cli_match import PERKS, four_users


def _redated(perk_id: str, **fields: str) -> list[dict]:
    return [p | fields if p["perk_id"] == perk_id else p for p in PERKS]


def test_refresh_warning_of_an_ended_offer_names_a_decomposed_perk_id(cli, write) -> None:  # type: ignore[no-untyped-def]
    """A perk id written decomposed (an e and a combining accent, as macOS writes names) whose offer has ended: the
    warning looked its line up by the id's composed form, and the refresh ended in a KeyError traceback."""
    perk_id = unicodedata.normalize("NFD", "café-pass")
    result = cli("catalog", "refresh", write("c.jsonl", [{"perk_id": perk_id, "brand": "A", "title": "T",
                                                          "description": "d", "ends": "2020-01-01"}]))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "(line 1, ends 2020-01-01)" in result.output


def test_as_of_in_iso_basic_form_is_that_day_not_unix_seconds(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`--as-of 20250301` is an ISO 8601 date (basic form), as the option's help asks for; it was read as Unix
    seconds, 1970-08-23, and every offer was checked against that day with no word but the summary's date."""
    from matcher.cli.common import parse_as_of
    from matcher.records import end_of_day

    assert parse_as_of("20250301") == end_of_day(dt.date(2025, 3, 1))
    assert parse_as_of("2025-W09-6") == end_of_day(dt.date(2025, 3, 1))  # a date alone, in another ISO form: whole
    world = four_users(tmp_path, write, monkeypatch)
    result = world("match", "--as-of", "20250301")
    assert result.exit_code == 0, result.output
    assert "offers as of 2025-03-01" in result.stderr


def test_catalog_dates_are_read_without_the_spaces_around_them(cli, write) -> None:  # type: ignore[no-untyped-def]
    """A CSV cell "2025-03-02 " (a spreadsheet's trailing space): every other field is read trimmed (quantity " 5 ",
    regions " US "), the date was refused as "input is too short"."""
    path = write("c.csv", "perk_id,brand,title,description,quantity,regions,starts,ends\n"
                          "a,A,T,d, 5 , US , 2025-03-01,2025-03-02 \n")
    result = cli("catalog", "refresh", path)
    assert result.exit_code == 0, result.output
    shown = json.loads(cli("catalog", "show", "--json").stdout)
    assert (shown["quantity"], shown["starts"], shown["ends"]) == (5, "2025-03-01", "2025-03-02")


def test_brand_of_a_perk_added_back_after_the_match_does_not_call_it_changed(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A perk retired before the last match and added back since, with a new window: `brand` warned "the perk
    changed in the catalog after match run N" (it was in no version that run used), and its first line showed the
    retired record's window, quantity and title as the match's."""
    world = four_users(tmp_path, write, monkeypatch)
    without = [p for p in PERKS if p["perk_id"] != "lounge"]
    assert world("catalog", "refresh", write("c2.yaml", without)).exit_code == 0
    assert world("match").exit_code == 0
    back = _redated("lounge", title="Lounge pass 2", starts="2025-06-01", ends="2025-06-30")
    assert world("catalog", "refresh", write("c3.yaml", back)).exit_code == 0
    result = world("brand", "lounge")
    assert result.exit_code == 0, result.output
    assert "changed in the catalog" not in result.output
    assert result.stdout.startswith("lounge — Sky: Lounge pass 2 (")  # the perk as it is now, not as retired
    assert "it was not in catalog version 2, which match run 2 used" in " ".join(result.stdout.split())


def test_explain_says_the_perk_was_redated_since_the_match(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`explain USER PERK` answers from the catalog version the last match used; a perk re-dated since (its offer
    extended) was said to be withheld because "the offer ended on 2020-01-01", with no word that the catalog has
    changed it, which `brand PERK` says."""
    world = four_users(tmp_path, write, monkeypatch)
    assert world("match").exit_code == 0
    before = world("explain", "cat", "old-beans", "--json")
    assert json.loads(before.stdout)["status"] == "withheld" and "note" not in json.loads(before.stdout)
    assert world("catalog", "refresh", write("c2.yaml", _redated("old-beans", ends="2025-12-31"))).exit_code == 0
    result = world("explain", "cat", "old-beans")
    assert result.exit_code == 0, result.output
    assert "dates: the offer ended on 2020-01-01" in result.stdout  # that run's view ...
    said = " ".join(result.stderr.split())
    assert "the perk changed in the catalog after match run 2" in said  # ... said to be so
    assert "changed in the catalog after match run 2" in json.loads(world("explain", "cat", "old-beans",
                                                                            "--json").stdout)["note"]
    world("catalog", "refresh", write("c3.yaml", [p for p in PERKS if p["perk_id"] != "beans"]))
    gone = world("explain", "cat", "beans")  # assigned in run 2, retired since
    assert gone.exit_code == 0 and "the perk was retired in the catalog after match run 2" in " ".join(
        gone.stderr.split())


def test_match_changes_blames_the_offer_day_only_when_the_day_moved(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Offer dates are checked on a UTC day; a match as of 06:00 on the day the one before checked (the end of it)
    checked the same day, but `--changes` gave "settings: offer dates checked as of 2025-03-01 ->
    2025-03-01T06:00:00Z" as a cause of cat's losing a perk the catalog retired."""
    world = four_users(tmp_path, write, monkeypatch)
    assert world("match").exit_code == 0
    assert world("catalog", "refresh", write("c2.yaml", [p for p in PERKS if p["perk_id"] != "beans"])).exit_code == 0
    result = world("match", "--as-of", "2025-03-01T06:00:00Z", "--changes")
    assert result.exit_code == 0, result.output
    assert "offers as of 2025-03-01" in result.stderr
    assert "cat: lost beans (catalog: beans retired)" in result.stdout
    assert "settings: offer dates" not in result.stdout
    from matcher.match_changes import _settings
    from matcher.records import end_of_day

    day = end_of_day(dt.date(2025, 3, 1))
    assert _settings({}, {}, day, day + 86_400) == [  # a day that moved is still said
        "settings: offer dates checked as of 2025-03-01 -> 2025-03-02"]
