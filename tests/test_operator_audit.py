"""An operator's audit of catalog refreshes and match runs (helper h97): each test fails on the code it was written
against, because of the bug it names. The tiny world of ``test_cli_match`` (four users, four perks, fake encoder)."""

import json
import unicodedata

import pytest

from tests.test_cli_match import PERKS, four_users


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    return four_users(tmp_path, write, monkeypatch)


def test_a_ctrl_c_right_after_the_match_run_committed_says_the_run_is_kept(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """README: "a match stopped by Ctrl-C after its run was kept, before it was printed, says so and which
    `--dry-run --since` prints it". A Ctrl-C landing as the run's transaction commits (its fsync), or in the progress
    bar's update right after, got "finished work is kept; run the command again to continue": run again with
    `--changes`, the match then diffs against the run never shown, and shows no change."""
    import matcher.match as mm

    assert world("match").exit_code == 0  # match run 2
    real = mm._save

    def save_then_ctrl_c(*args, **kwargs):  # type: ignore[no-untyped-def]
        real(*args, **kwargs)  # the run is committed
        raise KeyboardInterrupt

    monkeypatch.setattr(mm, "_save", save_then_ctrl_c)
    stopped = world("match", "--changes")  # run 3, kept, never printed
    said = " ".join(stopped.stderr.split())
    assert stopped.exit_code == 130
    assert "match run 3 had finished and is kept" in said, said
    assert "--dry-run --since 2" in said, said


def test_a_users_record_changed_while_the_match_computed_calls_for_another_match(world, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A match run's start is recorded when it writes its results, not when it reads the users' records: a users file
    ingested after the match read them, before it wrote, is not "changed since the match started", so `status` says
    nothing is to run while ann holds the US-NY lounge pass from a region she has left (a profile run records its
    start before it reads anything, for this reason)."""
    import matcher.perk_candidates as perk_candidates
    from matcher.ingest import ingest_users
    from matcher.store import open_engine

    moved = write("moved.jsonl", [{"user_id": "ann", "region": "GB"}])
    real = perk_candidates.load_profiles

    def read_then_someone_ingests(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        eng = open_engine(world.db)
        ingest_users(eng, moved)  # another job, while the match computes
        eng.dispose()
        return result

    monkeypatch.setattr(perk_candidates, "load_profiles", read_then_someone_ingests)
    matched = world("match", "--json")
    assert matched.exit_code == 0, matched.output
    assert any(json.loads(line)["perk_id"] == "lounge" for line in matched.stdout.splitlines())  # from US-NY
    status = json.loads(world("status", "--json").stdout)
    assert status["match"]["user_records"] == 1, status["match"]
    assert any(step.startswith("perkmatch match") for step in status["next"]), status["next"]


def test_one_perk_id_written_in_two_unicode_forms_in_a_file_is_refused(world, write) -> None:  # type: ignore[no-untyped-def]
    """A catalog could hold "café" twice, composed and decomposed: two perks that look the same. Ids are kept as
    written (a database holds them so: normalising them would retire and add every such perk, helper-99), but one
    file may not give the same-looking id twice."""
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    perk = {"brand": "Bean", "title": "Latte", "description": "coffee espresso latte"}
    twice = world("catalog", "refresh", write("twice.jsonl", [*PERKS, {"perk_id": nfc, **perk},
                                                               {"perk_id": nfd, **perk}]))
    assert twice.exit_code == 1, twice.output
    assert "already appears on line 5 (written there in another Unicode form); perk ids must be unique" in " ".join(
        twice.stderr.split())
    assert world("catalog", "refresh", write("nfd.jsonl", [*PERKS, {"perk_id": nfd, **perk}])).exit_code == 0
    again = world("catalog", "refresh", write("nfd2.jsonl", [*PERKS, {"perk_id": nfd, **perk}]), "--json")
    assert json.loads(again.stdout)["added"] == 0  # the same file again: no change
    shown = world("catalog", "show", nfd, "--json")
    assert shown.exit_code == 0 and nfd in json.loads(shown.stdout.splitlines()[0])["perk_id"], shown.output


def test_a_yaml_quantity_with_a_leading_zero_is_not_read_as_octal(world, write) -> None:  # type: ignore[no-untyped-def]
    """`quantity: 010` in a YAML catalog stored 8 units (YAML 1.1 octal), silently; the same cell in CSV stores 10."""
    text = ("- perk_id: mugs\n  brand: Bean\n  title: Mug\n  description: coffee mug for espresso\n"
            "  quantity: 010\n")
    path = world.tmp / "octal.yaml"
    path.write_text(text, encoding="utf-8")
    result = world("catalog", "refresh", str(path), "--retire-all")
    if result.exit_code == 0:  # read as written, or refused naming the field: both are fine; 8 is not
        shown = [json.loads(line) for line in world("catalog", "show", "--json").stdout.splitlines()]
        assert [p["quantity"] for p in shown if p["perk_id"] == "mugs"] == [10], shown
    else:
        assert "line 5" in result.stderr and "quantity" in result.stderr, result.output


def test_a_csv_header_naming_a_required_field_in_another_case_is_named(world, write) -> None:  # type: ignore[no-untyped-def]
    """A spreadsheet's header `Perk_ID,Brand,Title,Description` got "field 'perk_id': Field required; give every
    perk a stable, unique id" on every row; an optional field so named gets a did-you-mean, a required one nothing."""
    result = world("catalog", "refresh", write("caps.csv", "Perk_ID,Brand,Title,Description\n"
                                                            "mugs,Bean,Mug,coffee mug for espresso\n"))
    assert result.exit_code == 1
    assert "Perk_ID" in result.stderr, result.stderr


def test_a_versions_source_hash_is_of_the_bytes_it_loaded(world, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The hash was taken by reading the file again once the perks were embedded: a file replaced meanwhile (the next
    export landing) gave the version the other file's hash."""
    import hashlib

    import catalog.refresh as refresh

    path = write("drop.jsonl", [*PERKS, {"perk_id": "mugs", "brand": "Bean", "title": "Mug",
                                         "description": "coffee mug for espresso"}])
    with open(path, "rb") as handle:
        loaded = hashlib.sha256(handle.read()).hexdigest()
    real = refresh.diff_catalog

    def replaced_after_reading(*args, **kwargs):  # type: ignore[no-untyped-def]
        with open(path, "w", encoding="utf-8") as handle:  # the next export lands while the refresh embeds
            handle.write(json.dumps(PERKS[0]) + "\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(refresh, "diff_catalog", replaced_after_reading)
    assert world("catalog", "refresh", path).exit_code == 0
    newest = json.loads(world("catalog", "versions", "--json").stdout.splitlines()[-1])
    assert newest["added"] == 1 and newest["source_hash"] == loaded, newest
    monkeypatch.setattr(refresh, "diff_catalog", real)
    read = refresh.read_catalog
    grown = write("grown.jsonl", [*PERKS, {"perk_id": "cups", "brand": "Bean", "title": "Cup",
                                           "description": "a cup for espresso"}])

    def written_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        perks = read(*args, **kwargs)
        with open(grown, "a", encoding="utf-8") as handle:  # an export still writing the file as it is read
            handle.write(json.dumps(PERKS[1] | {"perk_id": "late"}) + "\n")
        return perks

    monkeypatch.setattr(refresh, "read_catalog", written_meanwhile)
    changing = world("catalog", "refresh", grown)
    assert changing.exit_code == 1 and "the file changed while it was read" in changing.stderr
    assert json.loads(world("catalog", "versions", "--json").stdout.splitlines()[-1]) == newest  # none made of it
