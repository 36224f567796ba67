"""`match` and `brand` through the CLI: what a run keeps, what the summary and the lines say, on the tiny world of
``test_cli_match`` (four users, four perks, fake encoder)."""

import json

import pytest

from tests.test_cli_match import PERKS, assignments, four_users


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    return four_users(tmp_path, write, monkeypatch)


def match_runs(world) -> int:  # type: ignore[no-untyped-def]
    status = json.loads(world("status", "--json", "--runs", "20").stdout)
    return sum(r["kind"] == "match" for r in status["runs"])


def test_a_misspelt_perk_is_refused_before_a_match_run_is_kept(world) -> None:  # type: ignore[no-untyped-def]
    typo = world("match", "--perk", "loung")
    assert typo.exit_code == 1 and "did you mean lounge" in typo.stderr
    assert match_runs(world) == 0
    assert world("brand", "lounge").exit_code == 1  # still no match to read
    brand = world("match", "--brand", "Skyy")
    assert brand.exit_code == 1 and "did you mean Sky" in brand.stderr
    assert match_runs(world) == 0


def test_changes_since_an_earlier_run_name_that_run_in_the_summary_and_the_output(world) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0 and world("match").exit_code == 0  # match runs 2 and 3
    result = world("match", "--changes", "--since", "2")
    assert result.exit_code == 0, result.output
    assert "match run 4: 4 assignment(s) among 3 user(s)" in result.stderr
    assert "; 0 user(s) changed since match run 2" in " ".join(result.stderr.split())
    assert result.stdout.strip() == "no user's assignments changed since match run 2"


def test_a_perk_selected_that_was_assigned_gets_no_why_nobody_line(world) -> None:  # type: ignore[no-untyped-def]
    shown = world("match", "--dry-run", "--perk", "trips", "--perk", "old-beans")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert "old-beans:" in lines and "trips:" not in lines  # only the perk that went to nobody is explained
    assert sum(" #1 trips " in line or " #2 trips " in line for line in lines) == 2  # ann's and bob's
    as_json = world("match", "--dry-run", "--json", "--perk", "trips", "--perk", "old-beans")
    assert assignments(as_json) == {"ann": ["trips"], "bob": ["trips"]}
    assert "old-beans: nobody would get it" in as_json.stderr and "trips:" not in as_json.stderr


def test_a_previewed_catalog_is_warned_of_as_a_refresh_would_warn_of_it(world, write) -> None:  # type: ignore[no-untyped-def]
    nxt = write("next.yaml", [*PERKS[:3], {**PERKS[3], "perk_id": "new-beans", "qty": 2}])
    result = world("match", "--dry-run", "--catalog", nxt)
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "field 'qty' (line" in said and "did you mean 'quantity'?" in said
    assert "next.yaml as catalog version 2 (not kept): added 1, changed 0, retired 1" in said



def test_a_moved_score_is_printed_from_before_to_after(world, write) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0
    reworded = write("reworded.yaml", [p | {"description": "travel trips flights airport hotels"}
                                       if p["perk_id"] == "trips" else p for p in PERKS])
    args = ("match", "--dry-run", "--catalog", reworded, "--changes")
    ann = next(c for c in map(json.loads, world(*args, "--json").stdout.splitlines()) if c["user_id"] == "ann")
    (moved,) = ann["moved"]
    assert moved["before"] != moved["after"]
    line = next(x for x in world(*args).stdout.splitlines() if x.startswith("ann:"))
    assert line.startswith(f"ann: trips score {moved['before']:.3f} -> {moved['after']:.3f} (")


def test_a_selected_perk_that_went_to_nobody_is_not_also_said_to_have_no_assignment(world) -> None:  # type: ignore[no-untyped-def]
    result = world("match", "--dry-run", "--perk", "old-beans")
    assert result.exit_code == 0, result.output
    assert "old-beans: nobody would get it" in " ".join(result.stdout.split())
    assert "no assignment of the perks selected" not in result.stderr  # why nobody got it says it, and more


def test_why_nobody_got_a_perk_counts_those_short_of_a_topic_beyond_those_who_have_it(world) -> None:  # type: ignore[no-untyped-def]
    assert world("match").exit_code == 0
    for args in (["brand", "old-beans"], ["match", "--dry-run", "--perk", "old-beans"]):
        result = world(*args)
        assert result.exit_code == 0, result.output
        assert "Coffee (coffee, relevance" in result.stdout
        assert "inferred for 1 user(s); short of its thresholds for 0 more" in " ".join(result.stdout.split())


def test_format_is_read_whatever_its_case(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "assignments.txt"
    result = world("match", "--dry-run", "--out", str(out), "--format", "CSV")
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("user_id,") and "wrote 4 assignment(s)" in result.stderr


def test_brand_says_how_many_units_of_how_many_were_used(world, write) -> None:  # type: ignore[no-untyped-def]
    more = [p | {"quantity": 3} if p["perk_id"] == "lounge" else p for p in PERKS]
    assert world("catalog", "refresh", write("more.yaml", more)).exit_code == 0
    assert world("match").exit_code == 0
    result = world("brand", "lounge")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "lounge — Sky: Lounge pass (1 of 3 used; regions: US-NY)"



def test_brand_lists_the_best_users_left_out_when_quantity_ran_out(world, write) -> None:  # type: ignore[no-untyped-def]
    wider = [p | {"regions": ["US"]} if p["perk_id"] == "lounge" else p for p in PERKS]  # one pass, ann and bob
    assert world("catalog", "refresh", write("wider.yaml", wider)).exit_code == 0
    assert world("match").exit_code == 0
    record = json.loads(world("brand", "lounge", "--json").stdout)
    (left,) = record["left_out"]
    lines = world("brand", "lounge").stdout.splitlines()
    assert f"  left out: {left['user_id']} score {left['score']:.3f} ({left['reason']})" in lines
    assert left["reason"].startswith("quantity: all 1 went to users it fits better")


def test_a_match_stopped_before_it_was_shown_says_how_to_see_it_again(world, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.cli.matching as matching

    assert world("match").exit_code == 0 and world("match").exit_code == 0  # match runs 2 and 3

    def stopped(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(matching, "_report_match", stopped)  # Ctrl-C once the run is kept, before it is shown
    out = tmp_path / "a.csv"
    written = world("match", "--out", str(out))  # run 4: --out, not --changes, so no --since to give
    said = " ".join(written.stderr.split())
    assert written.exit_code == 130 and "match run 4 had finished and is kept" in said
    assert "it was not written: the same command with --dry-run writes it (from the same profile" in said
    since = world("match", "--changes", "--since", "2")  # run 5: against run 2, the one asked for, not run 4
    said = " ".join(since.stderr.split())
    assert since.exit_code == 130 and "it was not printed: the same command with --dry-run --since 2 prints it" in said


def test_a_score_move_is_shown_with_the_decimals_it_takes_to_see_it() -> None:
    # a kept perk's score that moved in its fifth decimal read "1.116 -> 1.116" in `match --changes` (helper-107)
    from matcher.cli.matching import score_move

    assert score_move(1.116, 1.121) == "1.116 -> 1.121"
    assert score_move(1.11612, 1.11648) == "1.1161 -> 1.1165"
    assert score_move(0.5, 0.5 + 1e-12) == f"0.5 -> {0.5 + 1e-12!r}"
