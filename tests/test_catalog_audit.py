"""Catalog refresh audit: versions and history stay right when refreshes race, and every problem of a row is named."""

import copy

import pytest

from catalog.errors import InputFileError, UnknownPerkError
from catalog.refresh import live_perks, live_version, perk_history, read_catalog, refresh, version_diff, versions
from matcher.store import session

PERKS = [
    {"perk_id": "a", "brand": "Skyway", "title": "Lounge pass", "description": "Airport lounge day pass."},
    {"perk_id": "b", "brand": "Bean", "title": "Coffee beans", "description": "A bag of single-origin beans."},
    {"perk_id": "c", "brand": "Trail", "title": "Hiking socks", "description": "Merino socks for long hikes."},
]


def do(engine, cache, path, **kw):  # type: ignore[no-untyped-def]
    with session(engine) as s:
        return refresh(s, path, cache, **kw)


def test_a_refresh_applied_just_after_the_live_perks_are_read_is_diffed_against(  # type: ignore[no-untyped-def]
        engine, fake_cache, write, monkeypatch) -> None:
    from catalog import refresh as module

    do(engine, fake_cache, write("c1.yaml", PERKS))
    other = write("other.yaml", PERKS[:2] + [{"perk_id": "d", "brand": "Page", "title": "E-reader",
                                              "description": "An e-reader for novels."}])
    mine = copy.deepcopy(PERKS)
    mine[1]["description"] = "A bag of freshly roasted espresso beans."
    real = module.live_perks

    def raced(s, *args):  # type: ignore[no-untyped-def]
        rows = real(s, *args)
        monkeypatch.setattr(module, "live_perks", real)
        do(engine, fake_cache, other)  # another refresh commits version 2 (c retired, d added) right after the read
        return rows

    monkeypatch.setattr(module, "live_perks", raced)
    result = do(engine, fake_cache, write("mine.yaml", mine))
    # before: diffed against version 1 but applied as version 3 on top of version 2: d stayed live, c stayed
    # retired, and b's version-1 record, already retired, was re-dated
    assert result.applied and result.version == 3
    assert (result.diff.added, result.diff.changed, result.diff.retired) == (["c"], ["b"], ["d"])
    with session(engine) as s:
        assert [p.perk_id for p in live_perks(s)] == ["a", "b", "c"]
        assert [p.perk_id for p in live_perks(s, 2)] == ["a", "b", "d"]
        assert [(r.version_added, r.version_retired) for r in perk_history(s, "c")] == [(1, 2), (3, None)]
        assert [(v.version, v.added, v.changed, v.retired) for v in versions(s)] == [
            (1, 3, 0, 0), (2, 1, 0, 1), (3, 1, 1, 1)]
        assert live_version(s) == 3


@pytest.mark.parametrize(("row", "named"), [
    ({"perk_id": "x", "brand": "B", "title": "T", "topics": ["nope"]},
     ["field 'description'", "field 'topics': 'nope' is not in the loaded taxonomy"]),
    ({"perk_id": "x", "brand": "B", "title": "T", "description": "D", "quantity": -1, "topics": "health|food"},
     ["field 'quantity'", "field 'topics': 'health' is a sensitive topic"]),
    ({"perk_id": "x", "brand": "B", "title": "T", "regions": ["XX"], "starts": "2026-05-01", "ends": "2026-01-01"},
     ["field 'description'", "field 'regions'", "field 'ends': 2026-01-01 is before starts 2026-05-01"]),
])
def test_every_problem_of_a_row_is_named_not_only_the_first_kind(write, row, named) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputFileError) as info:  # before: a row with a field error had its topics and dates unchecked
        read_catalog(write("c.jsonl", [row]), {"food", "health"}, {"health"})
    message = str(info.value)
    for text in named:
        assert f"c.jsonl, line 1, {text}" in message
    assert f"{len(named)} problem(s)" in message


def test_a_row_with_an_unreadable_field_is_not_checked_on_that_field(write) -> None:  # type: ignore[no-untyped-def]
    rows = [{"perk_id": "x", "brand": "B", "title": "T", "description": "D", "starts": "soon", "ends": "2026-01-01",
             "topics": [1, "nope"]}]
    with pytest.raises(InputFileError) as info:
        read_catalog(write("c.jsonl", rows), {"food"}, set())
    message = str(info.value)  # the bad start date and topic list are named once, not checked again as if read
    assert "field 'starts'" in message and "field 'topics.0'" in message
    assert "is before starts" not in message and "'nope' is not in the loaded taxonomy" not in message


def test_a_near_miss_of_a_retired_perk_id_is_suggested(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    rows = [dict(p, perk_id=f"{p['perk_id']}-{p['title'].lower().replace(' ', '-')}") for p in PERKS]
    do(engine, fake_cache, write("c1.yaml", rows))
    do(engine, fake_cache, write("c2.yaml", rows[:2]))  # c-hiking-socks retired: `catalog show` and `brand` show it
    with session(engine) as s, pytest.raises(UnknownPerkError) as info:
        perk_history(s, "c-hiking-sock")
    assert str(info.value) == "no perk 'c-hiking-sock' in any catalog version; did you mean c-hiking-socks?"


def test_version_diff_compares_content_not_which_records_started_or_ended(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    # what `match --changes` needs to name the catalog as a cause only when the perk really differs
    do(engine, fake_cache, write("c1.yaml", PERKS))
    fewer = copy.deepcopy(PERKS[:2])
    fewer[0]["quantity"] = 1
    do(engine, fake_cache, write("c2.yaml", fewer))  # v2: a's quantity changed, c retired
    do(engine, fake_cache, write("c3.yaml", PERKS))  # v3: both back as they were in v1
    with session(engine) as s:
        back = version_diff(s, 1, 3)
        assert (back.added, back.changed, back.retired, back.unchanged) == ([], [], [], ["a", "b", "c"])
        there = version_diff(s, 1, 2)
        assert (there.added, there.changed, there.retired, there.unchanged) == ([], ["a"], ["c"], ["b"])
        assert version_diff(s, None, 1).added == ["a", "b", "c"]


def test_a_dry_run_reads_the_catalog_from_standard_input(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from matcher.cli import app, common
    from matcher.embed import EmbeddingCache
    from matcher.encoder import FakeEncoder

    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, FakeEncoder()))
    lines = "".join(json.dumps(p) + "\n" for p in PERKS)
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "c.db"), "catalog", "refresh", "-", "--dry-run"],
                                input=lines)
    # before: read once to check it, then again (closed): "I/O operation on closed file", a traceback
    assert result.exit_code == 0, result.output
    assert "-: would be version 1: added 3" in result.stdout


def test_a_catalog_from_a_named_pipe_is_read_once(engine, fake_cache, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import os
    import threading

    pipe = tmp_path / "c.jsonl"
    os.mkfifo(pipe)

    def feed() -> None:
        with open(pipe, "w", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(p) + "\n" for p in PERKS))

    threading.Thread(target=feed, daemon=True).start()
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(do(engine, fake_cache, str(pipe))), daemon=True)
    worker.start()
    worker.join(timeout=20)
    # before: the pipe was opened again to hash it, waiting for a writer that never came
    assert not worker.is_alive() and done and done[0].version == 1
    with session(engine) as s:
        assert versions(s)[-1].source_hash == ""


def test_a_brand_given_for_a_perk_id_is_recognised_whatever_its_case_and_spaces(engine, fake_cache, write) -> None:  # type: ignore[no-untyped-def]
    # a brand is compared as every brand rule compares it (brand_key): "ACME " is the brand Acme, not an unknown id
    from catalog.refresh import unknown_perk

    do(engine, fake_cache, write("c.yaml", [dict(PERKS[0], brand="Acme")]))
    with session(engine) as s:
        assert unknown_perk(s, "ACME ").startswith("no perk 'ACME ' in the catalog: that is a brand; its live perks "
                                                   "are a")
