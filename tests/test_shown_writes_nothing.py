"""Commands that only show what is stored write nothing (README, "Using it as a CLI tool"), even when what they show
has to be worked out again with a text that has no vector: a topic reworded by a `taxonomy load` since the match, or
one whose vector an older `forget` deleted. Before, `brand PERK` for a perk that went to nobody, `explain USER PERK` and
`report brand` embedded that text and stored its vector (found by helper-135 on 2026-12-07), so on a copy that cannot
be written they failed. The vector is held in memory for the command (``embed.HeldCache``), as `match --dry-run`'s."""

import pytest

from tests.test_cli_match import TAXONOMY, four_users
from tests.test_match_dry_run_writes_nothing import drop_vector, dump


@pytest.fixture
def world(tmp_path, write, monkeypatch):  # type: ignore[no-untyped-def]
    world = four_users(tmp_path, write, monkeypatch)
    assert world("match").exit_code == 0
    return world


SHOWN = [["brand", "lounge"], ["brand", "trips"], ["brand", "beans"], ["brand", "old-beans"],
         ["explain", "ann", "beans"], ["explain", "ann", "trips"], ["explain", "cat", "lounge"],
         ["explain", "ann", "travel"], ["explain", "ann", "coffee"], ["explain", "dan"],
         ["report", "brand", "Bean", "--out", "b.html"], ["report", "user", "ann", "--out", "u.html"]]


@pytest.mark.parametrize("args", SHOWN, ids=" ".join)
def test_a_command_that_shows_stores_no_vector_it_had_to_embed(world, write, tmp_path, monkeypatch, args) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    reworded = [TAXONOMY[0] | {"description": "flights airport lounge travel trips abroad"}, *TAXONOMY[1:]]
    assert world("taxonomy", "load", write("reworded.yaml", reworded)).exit_code == 0
    drop_vector(world.db, "Coffee")
    before = dump(world.db)
    result = world(*args)
    assert result.exit_code == 0, result.output
    assert dump(world.db) == before
