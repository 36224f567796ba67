"""Catalog refresh: validation, the diff for every kind of change, versions, no-op re-runs, atomicity."""

import copy
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from catalog.errors import InputFileError
from catalog.refresh import live_perks, live_version, perk_history, read_catalog, refresh, versions
from catalog.schema import CatalogVersion
from matcher.store import session

PERKS = [
    {"perk_id": "a", "brand": "Skyway", "title": "Lounge pass", "description": "Airport lounge day pass.",
     "regions": ["US-NY"], "quantity": 5, "starts": "2026-01-01", "ends": "2030-12-31"},
    {"perk_id": "b", "brand": "Bean", "title": "Coffee beans", "description": "A bag of single-origin beans."},
    {"perk_id": "c", "brand": "Trail", "title": "Hiking socks", "description": "Merino socks for long hikes."},
]


def do(engine, cache, path, **kw):  # type: ignore[no-untyped-def]
    with session(engine) as s:
        return refresh(s, path, cache, **kw)


def test_first_refresh_adds_everything_and_embeds_each_perk(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    result = do(engine, fake_cache, write("c.yaml", PERKS))
    assert result.summary() == {"version": 1, "added": 3, "changed": 0, "retired": 0, "unchanged": 0, "embedded": 3,
                                "added_ids": ["a", "b", "c"], "changed_ids": [], "retired_ids": []}


def test_diff_reports_every_kind_of_change_and_embeds_only_new_text(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    do(engine, fake_cache, write("c1.yaml", PERKS))
    new = copy.deepcopy(PERKS)
    new[0]["quantity"] = 3  # eligibility change: no new text
    new[1]["description"] = "A bag of freshly roasted espresso beans."  # text change
    del new[2]  # retired
    new.append({"perk_id": "d", "brand": "Page", "title": "E-reader", "description": "An e-reader for novels."})
    shown: list[tuple[str, int, int | None]] = []
    result = do(engine, fake_cache, write("c2.yaml", new), progress=lambda *a: shown.append(a))
    assert shown == [("embed perks", 0, 2), ("embed perks", 2, 2)]  # the new texts only (before: no progress bar)
    d = result.diff
    assert (d.added, d.changed, d.retired, d.unchanged) == (["d"], ["a", "b"], ["c"], [])
    assert result.embedded == 2 and result.version == 2
    with session(engine) as s:
        live = {p.perk_id: p for p in live_perks(s)}
        assert sorted(live) == ["a", "b", "d"] and live["a"].quantity == 3
        assert [(r.version_added, r.version_retired) for r in perk_history(s, "a")] == [(1, 2), (2, None)]
        assert [p.perk_id for p in live_perks(s, version=1)] == ["a", "b", "c"]


def test_same_file_twice_is_a_no_op(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    path = write("c.yaml", PERKS)
    do(engine, fake_cache, path)
    again = do(engine, fake_cache, path)
    assert not again.applied and again.version == 1 and again.embedded == 0
    with session(engine) as s:
        assert len(versions(s)) == 1


def test_dry_run_changes_nothing(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    result = do(engine, fake_cache, write("c.yaml", PERKS), dry_run=True)
    assert len(result.diff.added) == 3 and not result.applied
    assert result.version == 1 and result.embedded == 3  # what it would create and embed (before: None and 0)
    assert fake_cache.encoded == 0
    with session(engine) as s:
        assert live_version(s) is None
    do(engine, fake_cache, write("c.yaml", PERKS))
    changed = copy.deepcopy(PERKS)
    changed[0]["description"] += " Now with a free bag."
    again = do(engine, fake_cache, write("c2.yaml", changed), dry_run=True)
    assert (again.version, again.embedded, again.diff.changed) == (2, 1, [changed[0]["perk_id"]])
    same = do(engine, fake_cache, write("c3.yaml", PERKS), dry_run=True)
    assert same.diff.is_empty and same.version == 1 and same.embedded == 0


def test_invalid_rows_are_all_listed_and_nothing_changes(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    do(engine, fake_cache, write("c1.yaml", PERKS))
    bad = copy.deepcopy(PERKS) + [{"perk_id": "a", "brand": "X", "title": "Dup", "description": "again"},
                                  {"perk_id": "e", "brand": "Y", "title": "T", "description": "D", "quantity": -1},
                                  {"perk_id": "f", "brand": "Y", "title": "T", "description": "D",
                                   "starts": "2026-05-01", "ends": "2026-01-01"}]
    path = write("c2.yaml", bad)
    with pytest.raises(InputFileError) as info:
        do(engine, fake_cache, path)
    message = str(info.value)
    assert "line 18, field 'perk_id': 'a' already appears on line 1" in message
    assert "field 'quantity'" in message and "field 'ends'" in message
    with session(engine) as s:
        assert live_version(s) == 1


def test_a_repeated_id_is_named_even_beside_other_problems_and_an_empty_file_retires_nothing(
        engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    rows = [{"perk_id": "p1", "brand": "X", "title": "T"}, {"perk_id": "p1", "brand": "X", "title": "T",
                                                            "description": "D"}]
    with pytest.raises(InputFileError) as info:  # before: the repeat was named only once line 1 was fixed
        read_catalog(write("dup.jsonl", rows))
    assert "line 1, field 'description'" in str(info.value)
    assert "line 2, field 'perk_id': 'p1' already appears on line 1" in str(info.value)
    do(engine, fake_cache, write("c1.yaml", PERKS))
    empty = write("empty.jsonl", "")
    with pytest.raises(InputFileError, match="the file has no perks: it would retire all 3 live perks"):
        do(engine, fake_cache, empty)  # a truncated export: before, every perk was retired, exit 0
    assert do(engine, fake_cache, empty, dry_run=True).diff.retired == ["a", "b", "c"]  # a dry run shows it
    with session(engine) as s:
        assert live_version(s) == 1 and len(live_perks(s)) == 3
    assert do(engine, fake_cache, empty, retire_all=True).summary()["retired"] == 3


def test_two_refreshes_at_once_both_apply_in_turn(engine, fake_cache, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from catalog import refresh as module

    real = module._apply
    other = write("other.yaml", PERKS[:2])

    def beaten(session, *args):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(module, "_apply", real)
        do(engine, fake_cache, other)  # another refresh takes version 1 first
        real(session, *args)

    monkeypatch.setattr(module, "_apply", beaten)
    result = do(engine, fake_cache, write("c.yaml", PERKS))  # before: an IntegrityError traceback
    assert result.applied and result.version == 2 and result.summary()["added"] == 1  # c, against version 1
    with session(engine) as s:
        assert [v.version for v in versions(s)] == [1, 2] and len(live_perks(s)) == 3


@pytest.mark.parametrize(("said", "retried"), [("database is locked", True), ("disk I/O error", False)])
def test_a_refresh_whose_write_fails_diffs_again_only_when_the_database_was_locked(  # type: ignore[no-untyped-def]
        engine, fake_cache, write, monkeypatch, said, retried) -> None:
    from sqlalchemy.exc import OperationalError

    from catalog import refresh as module

    real = module._apply

    def failing_once(session, *args):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(module, "_apply", real)
        raise OperationalError("INSERT INTO perks", {}, Exception(said))

    monkeypatch.setattr(module, "_apply", failing_once)
    path = write("c.yaml", PERKS)
    if retried:  # a stale snapshot ("locked"): rolled back, diffed against the live version again, applied
        result = do(engine, fake_cache, path)
        assert result.applied and result.version == 1 and result.summary()["added"] == 3
    else:  # any other failure is the caller's to see, with nothing applied
        with pytest.raises(OperationalError, match="disk I/O error"):
            do(engine, fake_cache, path)
    with session(engine) as s:
        assert [v.version for v in versions(s)] == ([1] if retried else [])
        assert len(live_perks(s)) == (3 if retried else 0)


def test_sensitive_and_unknown_target_topics_are_catalog_errors(write) -> None:  # type: ignore[no-untyped-def]
    rows = [dict(PERKS[1], topics=["health.mental-health"]), dict(PERKS[2], topics=["nope"])]
    with pytest.raises(InputFileError) as info:
        read_catalog(write("c.yaml", rows), {"health.mental-health", "food"}, {"health.mental-health"})
    assert "'health.mental-health' is a sensitive topic" in str(info.value)
    assert "'nope' is not in the loaded taxonomy" in str(info.value)


def test_csv_catalog_splits_lists_on_pipes(write) -> None:  # type: ignore[no-untyped-def]
    text = "perk_id,brand,title,description,regions,topics\nx,B,T,D,US|gb,travel|food\n"
    perk = read_catalog(write("c.csv", text))[0]
    assert perk.regions == ["GB", "US"] and perk.topics == ["food", "travel"]


def test_a_field_that_looks_meant_for_a_limit_is_warned_of_with_its_lines(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    # before: "qty", "region" and "end" were dropped silently, and the perk was unlimited, everywhere, for ever
    rows = [{**PERKS[1], "qty": 5, "region": "US", "end": "2026-01-31"}, {**PERKS[2], "Quantity": 3, "notes": "x"},
            {**PERKS[0], "perk_id": "d", "region": "GB", "tags": ["travel"]}]  # (d gives its regions: an extra
    # "region" is its own)
    result = do(engine, fake_cache, write("c.jsonl", rows))
    assert [w.split(": ", 1)[1] for w in result.warnings] == [
        "field 'qty' (line 1) is not one perkmatch reads, and is ignored: did you mean 'quantity'? Without it, the "
        "perk has no quantity limit",
        "field 'region' (line 1) is not one perkmatch reads, and is ignored: did you mean 'regions'? Without it, the "
        "perk is offered in every region",
        "field 'end' (line 1) is not one perkmatch reads, and is ignored: did you mean 'ends'? Without it, the perk's "
        "offer never ends",
        "field 'Quantity' (line 2) is not one perkmatch reads, and is ignored: did you mean 'quantity'? Without it, "
        "the perk has no quantity limit",
        "field 'tags' (line 3) is not one perkmatch reads, and is ignored: did you mean 'topics'? Without it, the "
        "perk names no topic"]
    assert result.applied and result.summary()["warnings"] == result.warnings  # a warning: the catalog is loaded
    csv = "perk_id,brand,title,description,Regions,start_date\nx,B,T,D,US,2026-01-01\ny,B,T2,D2,GB,\n"
    said: list[str] = []
    read_catalog(write("c.csv", csv), warnings=said)
    assert said == [f"{said[0].split(': ')[0]}: field 'Regions' (lines 2, 3) is not one perkmatch reads, and is "
                    "ignored: did you mean 'regions'? Without it, the perk is offered in every region",
                    f"{said[0].split(': ')[0]}: field 'start_date' (line 2) is not one perkmatch reads, and is "
                    "ignored: did you mean 'starts'? Without it, the perk's offer has no start date"]
    assert do(engine, fake_cache, write("ok.yaml", PERKS)).summary().get("warnings") is None
    yaml_text = "- perk_id: y1\n  brand: B\n  title: T\n  description: D\n  qty: 5\n"
    said = []
    read_catalog(write("w.yaml", yaml_text), warnings=said)  # in YAML, the field's own line (before: the item's, 1)
    assert said == [f"{said[0].split(': ')[0]}: field 'qty' (line 5) is not one perkmatch reads, and is ignored: did "
                    "you mean 'quantity'? Without it, the perk has no quantity limit"]


catalogs = st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from(["tea", "socks", "flights"]),
                              st.one_of(st.none(), st.integers(0, 5))), unique_by=lambda t: t[0], max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=catalogs, second=catalogs)
def test_refreshing_with_the_same_file_again_never_changes_anything(engine, fake_cache, write, first, second) -> None:  # type: ignore[no-untyped-def]
    for rows in (first, second):
        perks = [{"perk_id": p, "brand": "B", "title": t, "description": f"{t} for you", "quantity": q}
                 for p, t, q in rows]
        path = write("h.json", perks)
        do(engine, fake_cache, path, retire_all=True)  # an empty catalog too
        with session(engine) as s:
            before = (live_version(s), [(p.perk_id, p.content_hash) for p in live_perks(s)])
        again = do(engine, fake_cache, path, retire_all=True)
        with session(engine) as s:
            after = (live_version(s), [(p.perk_id, p.content_hash) for p in live_perks(s)])
        assert not again.applied and before == after and again.embedded == 0
        assert sorted(p for p, _ in after[1]) == sorted(p for p, _, _ in rows)


KILL_SCRIPT = """
import sys, time
from matcher.store import open_engine, session
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from catalog import refresh as r
engine = open_engine(sys.argv[1])
original = r._apply
def slow_apply(s, *args):
    for record in r.live_perks(s):
        record.version_retired = 99
        s.add(record)
    s.flush()
    print("flushed", flush=True)
    time.sleep(60)
r._apply = slow_apply
with session(engine) as s:
    r.refresh(s, sys.argv[2], EmbeddingCache(engine, FakeEncoder()))
"""


def test_killing_a_refresh_midway_leaves_the_previous_version_serving(engine, fake_cache, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    do(engine, fake_cache, write("c1.yaml", PERKS))
    path = write("c2.yaml", PERKS[:1] + [{"perk_id": "z", "brand": "Z", "title": "Z", "description": "zeta"}])
    db = str(engine.url).removeprefix("sqlite:///")
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, db, path], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "flushed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    time.sleep(0.1)
    with session(engine) as s:
        assert live_version(s) == 1
        assert [p.perk_id for p in live_perks(s)] == ["a", "b", "c"]
        assert len(s.exec(select(CatalogVersion)).all()) == 1
    rerun = do(engine, fake_cache, path)
    assert rerun.version == 2 and rerun.diff.added == ["z"] and rerun.diff.retired == ["b", "c"]


def test_yaml_ids_and_texts_are_read_as_written(write) -> None:  # type: ignore[no-untyped-def]
    text = ("- perk_id: 0123\n  brand: Yes\n  title: 1:30\n  description: 2026-01-01\n"
            "- perk_id: '83'\n  brand: No\n  title: 1.10\n  description: off\n")
    perks = read_catalog(write("c.yaml", text))  # before: ids 83 and 83 (YAML octal), "True", 90, "1.1", "False"
    assert [(p.perk_id, p.brand, p.title, p.description) for p in perks] == [
        ("0123", "Yes", "1:30", "2026-01-01"), ("83", "No", "1.10", "off")]
    norway = "- {perk_id: a, brand: B, title: T, description: D, regions: [NO, 'SE']}\n" \
             "- {perk_id: b, brand: B, title: T, description: D, regions: NO}\n"
    assert [p.regions for p in read_catalog(write("n.yaml", norway))] == [["NO", "SE"], ["NO"]]  # before: False


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("q.json", '[{"perk_id": "a", "brand": "B", "title": "T", "description": "D", "quantity": true}]',
     "line 1, field 'quantity': true is a yes/no value, not a number"),
    ("d.yaml", "- {perk_id: a, brand: B, title: T, description: D, starts: 20260131}\n",
     "line 1, field 'starts': 20260131 is a number, not an ISO date"),
    ("d.jsonl", '{"perk_id": "a", "brand": "B", "title": "T", "description": "D", "ends": 1769817600}\n',
     "line 1, field 'ends': 1769817600 is a number, not an ISO date"),
    ("d.csv", "perk_id,brand,title,description,starts\na,B,T,D,0\n",
     "line 2, field 'starts': '0' is a number, not an ISO date"),
    ("b.json", '[{"perk_id": true, "brand": "B", "title": "T", "description": "D"}]',
     "line 1, field 'perk_id': true is a yes/no value, not text; write the text in quotes"),
])
def test_wrong_types_are_named_not_read_as_something_else(write, name, text, problem) -> None:  # type: ignore[no-untyped-def]
    # before: quantity true was 1, a number was a date in seconds since 1970 (0 was 1970-01-01, 20260131 was
    # refused as "should have zero time"), an id true was "True"
    with pytest.raises(InputFileError) as info:
        read_catalog(write(name, text))
    assert problem in str(info.value)


def test_a_field_given_twice_in_one_yaml_item_is_named(write) -> None:  # type: ignore[no-untyped-def]
    text = "- perk_id: a\n  brand: B\n  quantity: 5\n  title: T\n  description: D\n  quantity: 50\n"
    with pytest.raises(InputFileError) as info:  # before: YAML kept the last, 50, silently
        read_catalog(write("c.yaml", text))
    assert "line 6, field 'quantity': given twice in this item (first on line 3); keep one" in str(info.value)


def test_a_file_that_retires_most_perks_and_adds_none_is_refused_unless_meant(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    many = [{"perk_id": f"p{i}", "brand": "B", "title": f"Perk {i}", "description": f"Perk number {i}."}
            for i in range(8)]
    do(engine, fake_cache, write("all.yaml", many))
    cut = write("cut.yaml", many[:2])  # an export cut short at a clean line: before, 6 of 8 retired, exit 0
    with pytest.raises(InputFileError, match="the file would retire 6 of the 8 live perks and add none"):
        do(engine, fake_cache, cut)
    with session(engine) as s:
        assert live_version(s) == 1 and len(live_perks(s)) == 8
    assert do(engine, fake_cache, write("some.yaml", many[:5])).applied  # 3 of 8 retired: under half
    swap = [{"perk_id": f"n{i}", "brand": "B", "title": f"New {i}", "description": f"A new perk {i}."}
            for i in range(2)]
    assert do(engine, fake_cache, write("swap.yaml", many[:1] + swap)).summary()["retired"] == 4  # perks added: a
    assert do(engine, fake_cache, cut, retire_all=True).applied  # new catalog, not a cut one; --retire-all: meant


def test_a_perk_given_alone_loads_as_in_json_and_does_not_retire_the_catalog(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    """A YAML file holding one perk as a mapping (not a list) was refused, "expected a YAML list", where the same perk
    as a JSON object loaded. It loads now; but a refresh retires every perk a file leaves out, so a file of one perk
    written to add it would have retired the whole catalog: that is refused unless meant."""
    alone = "perk_id: kayak\nbrand: Paddle Co\ntitle: Kayak paddle\ndescription: A light paddle for rivers.\n"
    (perk,) = read_catalog(write("one.yaml", alone))
    (same,) = read_catalog(write("one.json", json.dumps(yaml.safe_load(alone))))
    assert perk == same and perk.perk_id == "kayak"
    many = [{"perk_id": f"p{i}", "brand": "B", "title": f"Perk {i}", "description": f"Perk number {i}."}
            for i in range(8)]
    do(engine, fake_cache, write("all.yaml", many))
    with pytest.raises(InputFileError, match="the file holds one perk and would retire 8 of the 8 live perks"):
        do(engine, fake_cache, write("add.yaml", alone))
    with session(engine) as s:
        assert live_version(s) == 1 and len(live_perks(s)) == 8
    assert do(engine, fake_cache, write("all2.yaml", many + [yaml.safe_load(alone)])).summary()["added"] == 1
    assert do(engine, fake_cache, write("add.yaml", alone), retire_all=True).summary()["retired"] == 8  # meant


def test_perks_whose_offer_ended_before_today_are_warned_of(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from catalog.refresh import ended_offers, read_catalog

    rows = [{**PERKS[1], "ends": "2020-01-31"}, PERKS[2]]
    result = do(engine, fake_cache, write("c.jsonl", rows))  # before: loaded without a word
    assert result.applied and len(result.warnings) == 1
    assert "1 perk(s) whose offer ended before today" in result.warnings[0]
    assert "b (line 1, ends 2020-01-31); a match as of today withholds them from everyone" in result.warnings[0]
    perks = read_catalog(write("d.jsonl", rows))
    assert ended_offers("d", perks, {"b": 1, "c": 2}, today=dt.date(2020, 1, 31)) == []  # its last day: still open


def test_a_refresh_stopped_says_whether_the_catalog_changed(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    import matcher.cli.data as data
    from matcher.cli import app, common
    from matcher.embed import EmbeddingCache
    from matcher.encoder import FakeEncoder

    class Stopping(FakeEncoder):
        def encode(self, texts):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt  # Ctrl-C while the perks are embedded

    db = str(tmp_path / "c.db")
    runner = CliRunner()
    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, Stopping()))
    cut = runner.invoke(app, ["--db", db, "catalog", "refresh", write("c.yaml", PERKS)])
    assert cut.exit_code == 130 and "Interrupted: the catalog is unchanged; run the command again" in cut.stderr
    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, FakeEncoder()))

    def stopped(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # Ctrl-C once the version is applied, before it is printed

    monkeypatch.setattr(data, "_print_refresh", stopped)
    late = runner.invoke(app, ["--db", db, "catalog", "refresh", write("c.yaml", PERKS)])
    assert late.exit_code == 130 and "Interrupted: catalog version 1 is live" in late.stderr  # before: "finished
    # work is kept; run the command again" either way


def test_a_json_perk_id_with_a_fraction_is_refused_not_cut_to_a_whole_number(write) -> None:  # type: ignore[no-untyped-def]
    # without the fraction check, 12.5 was read as perk "12": another perk's id, silently
    with pytest.raises(InputFileError) as info:
        read_catalog(write("c.json", [{"perk_id": 12.5, "brand": "B", "title": "T", "description": "D"}]))
    assert "line 1, field 'perk_id': 12.5 is a number with a fraction, not an id" in str(info.value)


def test_a_nul_character_in_a_perk_description_is_refused(write) -> None:  # type: ignore[no-untyped-def]
    # PostgreSQL cannot store a NUL: the perk must be refused at the file, naming the field, not fail the write
    with pytest.raises(InputFileError) as info:
        read_catalog(write("c.json", [{"perk_id": "a", "brand": "B", "title": "T", "description": "a\u0000b"}]))
    assert "line 1, field 'description': holds a NUL character" in str(info.value)


def test_a_perk_whose_brand_alone_changed_is_embedded_again(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    # the brand is part of the text embedded for a perk: a new brand must give a new vector, not the old one
    do(engine, fake_cache, write("c1.yaml", PERKS))
    renamed = copy.deepcopy(PERKS)
    renamed[1]["brand"] = "Roastery"
    result = do(engine, fake_cache, write("c2.yaml", renamed))
    assert result.diff.changed == ["b"] and result.embedded == 1


def test_csv_cells_are_read_without_the_spaces_around_them(write) -> None:  # type: ignore[no-untyped-def]
    # spaces around a cell are not part of it: " a " is perk "a", and "a" and " a" are one perk given twice
    perk = read_catalog(write("c.csv", "perk_id,brand,title,description\n a , B ,T,D\n"))[0]
    assert (perk.perk_id, perk.brand) == ("a", "B")
    with pytest.raises(InputFileError) as info:
        read_catalog(write("d.csv", "perk_id,brand,title,description\na,B,T,D\n a,B,T2,D2\n"))
    assert "line 3, field 'perk_id': 'a' already appears on line 2" in str(info.value)


def test_a_one_day_offer_ending_the_day_it_starts_loads(write) -> None:  # type: ignore[no-untyped-def]
    # 'ends' is the offer's last day: ends == starts is a one-day offer, not ends before starts
    rows = [{"perk_id": "a", "brand": "B", "title": "T", "description": "D", "starts": "2026-03-01",
             "ends": "2026-03-01"}]
    (perk,) = read_catalog(write("c.jsonl", rows))
    assert perk.starts == perk.ends


@pytest.mark.parametrize(("live", "kept", "added", "refused"), [
    (6, 1, 0, True),  # retires exactly MASS_RETIREMENT (5), over half: refused
    (10, 5, 0, False),  # retires 5, exactly half, not over it: applied
    (6, 1, 1, False),  # retires 5, over half, but adds a perk (a new catalog, not a cut one): applied
])
def test_the_mass_retirement_guard_at_its_boundaries(engine, fake_cache, write, live, kept, added, refused) -> None:  # type: ignore[no-untyped-def]
    # the guard refuses retiring at least 5 live perks, over half of them, adding none; each case sits on one edge
    many = [{"perk_id": f"p{i}", "brand": "B", "title": f"Perk {i}", "description": f"Perk number {i}."}
            for i in range(live)]
    do(engine, fake_cache, write("all.yaml", many))
    new = [{"perk_id": f"n{i}", "brand": "B", "title": f"New {i}", "description": f"A new perk {i}."}
           for i in range(added)]
    path = write("next.yaml", many[:kept] + new)
    if refused:
        with pytest.raises(InputFileError, match=f"the file would retire {live - kept} of the {live} live perks"):
            do(engine, fake_cache, path)
    else:
        assert do(engine, fake_cache, path).summary()["retired"] == live - kept


def test_an_uncommitted_refresh_embeds_every_perk_the_cache_lacks_not_only_changed_ones(  # type: ignore[no-untyped-def]
        engine, fake_cache, write) -> None:
    # commit=False (`match --dry-run --catalog F`) leaves the version holding SQLite's write lock, so the match that
    # reads it cannot write vectors then: every perk's text must be cached first, unchanged perks' too
    do(engine, fake_cache, write("c1.yaml", PERKS))

    class Recording:
        name, encoded = "fake", 0

        def __init__(self) -> None:
            self.filled: list[str] = []

        def missing(self, keys):  # type: ignore[no-untyped-def]
            return set(keys)  # a cache that holds none of them

        def fill(self, texts, progress=None, known_missing=False):  # type: ignore[no-untyped-def]
            self.filled.extend(texts.values())
            self.encoded += len(texts)
            return len(texts)

    changed = copy.deepcopy(PERKS)
    changed[1]["description"] = "A bag of freshly roasted espresso beans."
    recording = Recording()
    with session(engine) as s:
        result = refresh(s, write("c2.yaml", changed), recording, commit=False)
        s.rollback()
    assert result.diff.changed == ["b"] and result.diff.unchanged == ["a", "c"]
    assert sorted(recording.filled) == sorted(f"{p['brand']}: {p['title']}. {p['description']}" for p in changed)


def test_catalog_versions_record_how_many_texts_each_refresh_embedded(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    # `catalog versions` shows what each refresh embedded; it read 0 if the count was not stored with the version
    do(engine, fake_cache, write("c.yaml", PERKS[:2]))
    with session(engine) as s:
        assert [(v.version, v.embedded) for v in versions(s)] == [(1, 2)]


def test_the_perk_at_index_position_zero_is_found() -> None:
    # a match indexes perks by position (0, 1, ...): only FAISS's -1 padding is dropped, never the first perk
    import numpy as np

    from catalog.index import build_index

    vectors = np.eye(3, dtype=np.float32)
    assert build_index(np.arange(3), vectors).search(vectors[:1], 3)[0][0] == (0, 1.0)


def test_perks_with_the_same_score_come_in_id_order() -> None:
    # ties are broken by id, so a match's candidates are the same on every run
    import numpy as np

    from catalog.index import build_index

    vectors = np.tile(np.eye(2, dtype=np.float32)[:1], (4, 1))  # four identical vectors
    hits = build_index(np.array([3, 1, 0, 2]), vectors).search(vectors[:1], 4)[0]
    assert [i for i, _ in hits] == [0, 1, 2, 3]


def test_the_index_is_exact_up_to_the_limit_and_hnsw_beyond_it() -> None:
    # a small catalog is searched exactly (a flat inner-product index); only beyond exact_limit perks approximately
    import faiss
    import numpy as np

    from catalog.index import build_index

    vectors = np.eye(3, dtype=np.float32)
    exact = build_index(np.arange(3), vectors, exact_limit=3)
    assert isinstance(faiss.downcast_index(exact.index.index), faiss.IndexFlatIP)  # type: ignore[attr-defined]
    large = build_index(np.arange(3), vectors, exact_limit=2)
    assert isinstance(faiss.downcast_index(large.index.index), faiss.IndexHNSWFlat)  # type: ignore[attr-defined]


def test_a_search_kept_to_some_ids_finds_their_nearest_in_both_kinds_of_index() -> None:
    # `match` weighs a user for the nearest perks open to them (a FAISS selector); HNSW walks past the ids left out,
    # so it searches wider the fewer are kept: at its usual width, a third of the ids kept, it found 0.89 of the
    # exact 20 nearest of them on these vectors
    import numpy as np

    from catalog.index import build_index

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((25_000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:100] + 0.3 * rng.standard_normal((100, 32)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    ids = np.arange(len(vectors))
    exact, approximate = build_index(ids, vectors, exact_limit=10**9), build_index(ids, vectors, exact_limit=20_000)
    for step in (3, 50):
        among = ids[::step]
        truth = exact.search(queries, 20, among)
        assert all(i % step == 0 for hits in truth for i, _ in hits) and all(len(hits) == 20 for hits in truth)
        brute = np.argsort(-(queries @ vectors[among].T), axis=1)[:, :20]
        assert [sorted(i for i, _ in hits) for hits in truth] == [sorted(among[row].tolist()) for row in brute]
        found = approximate.search(queries, 20, among)
        recall = np.mean([len({i for i, _ in a} & {i for i, _ in b}) / 20 for a, b in zip(found, truth, strict=True)])
        assert recall >= 0.97, (step, recall)
    assert exact.search(queries[:1], 5, ids[:0]) == [[]]


def test_a_file_of_some_brands_perks_alone_is_refused_before_it_retires_the_other_brands(  # type: ignore[no-untyped-def]
        engine, fake_cache, write) -> None:
    """A brand handed perkmatch writes a file of its own perks and refreshes it: a refresh replaces the whole
    catalog, so every other brand's perks would go (on the dev catalog, 244 of 244, for a file of 16 perks of 3
    brands). Before, the file was applied, since it added perks; now it is refused unless meant, naming the brands
    it leaves out. A new catalog of the same brands, new ids and all, is still applied."""
    others = [{"perk_id": f"p{i}", "brand": f"Brand {i % 4}", "title": f"Perk {i}", "description": f"Perk {i}."}
              for i in range(8)]
    do(engine, fake_cache, write("all.yaml", others))
    ours = [{"perk_id": f"rl-{i}", "brand": "Ridgeline", "title": f"Tent {i}", "description": f"A tent {i}."}
            for i in range(3)]
    with pytest.raises(InputFileError) as info:
        do(engine, fake_cache, write("ours.yaml", ours))
    assert ("the file would retire 8 of the 8 live perks, 8 of them of 4 brand(s) the file does not name: Brand 0 (2), "
            "Brand 1 (2), Brand 2 (2), Brand 3 (2) (a refresh replaces the whole catalog") in str(info.value)
    assert "one brand's perks alone?" in str(info.value)
    with session(engine) as s:
        assert live_version(s) == 1 and len(live_perks(s)) == 8
    preview = do(engine, fake_cache, write("ours.yaml", ours), dry_run=True)  # the dry run says the same
    assert preview.refused is not None and preview.refused.startswith("the file would retire 8 of the 8 live perks")
    # one brand of the four named (" brand 1 " is Brand 1): its perk retired is not counted, the other 6 are
    kept = [{**others[1], "brand": " brand 1 "}]
    with pytest.raises(InputFileError, match="the file would retire 7 of the 8 live perks, 6 of them of 3 brand"):
        do(engine, fake_cache, write("kept.yaml", ours + kept))
    renewed = [{**p, "perk_id": f"n{i}"} for i, p in enumerate(others)]  # next season: same brands, new ids
    assert do(engine, fake_cache, write("renewed.yaml", renewed)).summary()["retired"] == 8
    assert do(engine, fake_cache, write("ours.yaml", ours), retire_all=True).summary()["retired"] == 8  # meant


def test_a_region_written_as_a_country_name_is_refused_with_its_code(write) -> None:  # type: ignore[no-untyped-def]
    # before: "'Canada' is not an ISO 3166 code", and the brand had to look the code up
    rows = [{"perk_id": p, "brand": "B", "title": "T", "description": "D", "regions": regions}
            for p, regions in (("a", ["US", "Canada"]), ("b", ["Canda"]), ("c", ["USA"]), ("d", ["Narnia"]))]
    with pytest.raises(InputFileError) as info:
        read_catalog(write("c.yaml", rows))
    text = str(info.value)
    assert "field 'regions': 'Canada' is not an ISO 3166 code; Canada is CA (got " in text
    assert "field 'regions': 'Canda' is not an ISO 3166 code; did you mean CA (Canada)? (got " in text
    assert "field 'regions': 'USA' is not an ISO 3166 code; United States is US (got " in text
    assert "field 'regions': 'Narnia' is not an ISO 3166 code (got " in text  # nothing plain to suggest


def test_a_yaml_fields_problem_is_said_on_the_fields_own_line(write) -> None:  # type: ignore[no-untyped-def]
    """Before, a bad quantity on line 9 of a perk starting on line 4 was said to be on line 4 (helper-140, as a brand
    writing a catalog by hand): YAML rows know each key's line."""
    text = ("- perk_id: a\n  brand: B\n  title: T\n"
            "- perk_id: b\n  brand: B\n  title: T2\n  description: a tent\n  regions: [US]\n  quantity: 100 units\n")
    with pytest.raises(InputFileError) as caught:
        read_catalog(write("c.yaml", text))
    said = str(caught.value)
    assert "line 9" in said and "quantity" in said and "line 4" not in said
