"""Every text a command takes, an option's value or an argument, refuses an empty one: an unset shell variable
(`--db "$DB"`) is never taken for the option left out, nor run as if nothing were wrong (README, "Using it as a CLI
tool"). Found missing twice on 2026-12-07, by running the README: `match --out F.csv --format ""` wrote the file as if
no --format were given, and `demo --db ""` ran in a temporary database as if no --db were given."""

import typing

import pytest
import typer

from matcher.cli import app
from tests.test_cli_match import four_users

CHECKED = {"not_blank", "user_id_arg", "composed"}  # the shared callbacks that refuse an empty value (cli/options.py)

# Texts whose emptiness the command refuses itself, as part of reading the value: the words it says, and a command
# line with that value empty (run below, each must fail and say so).
SAID: dict[tuple[str, str], tuple[list[str], str]] = {
    ("", "encoder"): (["--encoder", "", "status"], "'': unknown encoder"),
    ("", "precision"): (["--precision", "", "status"], "'': use one of float32"),
    ("ingest", "policy"): (["ingest", "--users", "u.jsonl", "--consent-policy", ""], "opt-in"),
    ("profile", "policy"): (["profile", "--consent-policy", ""], "opt-in"),
    ("import", "policy"): (["import", "feed", "f.xml", "--user-id", "ann", "--consent-policy", ""], "opt-in"),
    ("profile", "as_of"): (["profile", "--as-of", ""], "give an ISO date"),
    ("match", "as_of"): (["match", "--as-of", ""], "give an ISO date"),
    ("profile", "engine_kind"): (["profile", "--engine", ""], "use local or ray"),
    ("profile", "ray_address"): (["profile", "--engine", "ray", "--ray-address", ""], "--ray-address"),
    ("explain", "topic_id"): (["explain", "ann", ""], "no topic ''"),
    ("match", "out_file"): (["match", "--out", ""], "the path is empty"),
    ("match", "perk_ids"): (["match", "--dry-run", "--perk", ""], "no perk ''"),
    ("brand", "perk_id"): (["brand", ""], "no perk ''"),
    ("consent", "state"): (["consent", "ann", ""], "write opted_in or opted_out"),
    ("export", "out_file"): (["export", "ann", "--out", ""], "the path is empty"),
    ("import", "kind"): (["import", "", "f.xml"], "use one of"),
    ("import", "path"): (["import", "feed", "", "--user-id", "ann"], "no export given (an empty path)"),
    ("import", "user_id"): (["import", "feed", "f.xml", "--user-id", ""], "empty"),
    ("import", "out_file"): (["import", "feed", "f.xml", "--user-id", "ann", "--out", ""], "empty"),
    ("import", "site"): (["import", "stackexchange", "Posts.xml", "--site", ""], "--site '': not a site name"),
    ("taxonomy load", "file"): (["taxonomy", "load", ""], "no file given (an empty path)"),
    ("catalog refresh", "file"): (["catalog", "refresh", ""], "no file given (an empty path)"),
    ("catalog show", "perk_id"): (["catalog", "show", ""], "no perk ''"),
    ("report user", "out_file"): (["report", "user", "ann", "--out", ""], "the path is empty"),
    ("report brand", "out_file"): (["report", "brand", "Acme", "--out", ""], "the path is empty"),
    ("report brand", "brand_name"): (["report", "brand", "", "--out", "b.html"], "brand"),
}


def _texts() -> list[tuple[str, str, str | None]]:
    """Every command's text parameters, and those given before a command (`perkmatch --db X ...`): (command, parameter
    name, its callback's name)."""
    found = []
    commands = [("", typer.main.get_command(app))]
    while commands:
        path, command = commands.pop()
        commands += [(f"{path} {name}".strip(), sub) for name, sub in getattr(command, "commands", {}).items()]
        hints = typing.get_type_hints(command.callback) if command.callback else {}
        for param in command.params:
            hint = hints.get(param.name or "")
            if hint is str or {str, list[str]} & set(typing.get_args(hint)):
                found.append((path, param.name or "", getattr(param.callback, "__name__", None)))
    return found


def test_every_text_a_command_takes_is_checked_for_emptiness() -> None:
    """A new option or argument must refuse "" too: with a shared callback, or by its own reading (listed in SAID,
    and run below)."""
    texts = _texts()
    assert len(texts) > 60  # the walk found the commands (a renamed attribute in typer would find none)
    unchecked = sorted((cmd, name) for cmd, name, callback in texts if callback not in CHECKED)
    assert [t for t in unchecked if t not in SAID] == []
    assert sorted(set(SAID) - set(unchecked)) == []  # a text listed here that has a shared callback now: drop it


@pytest.mark.parametrize("key", sorted(SAID))
def test_a_text_its_command_checks_refuses_empty(tmp_path, write, monkeypatch, key) -> None:  # type: ignore[no-untyped-def]
    """On a database with a taxonomy, users, a catalog, a profile run and a match, so that nothing else is missing."""
    args, said = SAID[key]
    world = four_users(tmp_path, write, monkeypatch)
    assert world("match").exit_code == 0
    monkeypatch.chdir(tmp_path)
    write("Posts.xml", "<posts/>")  # (any file: --site is read before it)
    result = world(*args)
    assert result.exit_code in (1, 2), result.output
    assert said in " ".join(result.output.replace("│", " ").split())
