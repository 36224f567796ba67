"""What helper-92 found hunting bugs on the CLI's less-trodden paths: ids given on the command line read as ingest
reads them, empty values refused (an unset shell variable), a YAML alias bomb refused in time. Each failed before."""

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from tests.conftest import post


def _ann(cli, write, user="ann"):  # type: ignore[no-untyped-def]
    users = write("u.jsonl", [{"user_id": user, "consent": "opted_in"}])
    posts = write("p.jsonl", [post(f"p{i}", user, f"my flight number {i} was late again", i) for i in range(4)])
    assert cli("ingest", posts, "--users", users).exit_code == 0


def test_consent_opt_out_with_stray_space_reaches_the_user(cli, write) -> None:  # type: ignore[no-untyped-def]
    # ingest strips ids (records.PostIn._ids), so " ann" from a pasted cell is the stored user "ann"
    _ann(cli, write)
    result = cli("consent", " ann", "opted_out")
    exported = cli("export", "ann")
    # before: exit 0, "nothing was stored about them", and ann's posts all still there
    assert exported.exit_code != 0 or json.loads(exported.stdout)["posts"] == [] or result.exit_code != 0


def test_consent_refuses_an_empty_user_id(cli, write) -> None:  # type: ignore[no-untyped-def]
    _ann(cli, write)
    result = cli("consent", "", "opted_in")  # an unset shell variable
    assert result.exit_code != 0  # before: exit 0, a user with the id '' recorded as opted in


def test_consent_refuses_an_invisible_character_in_the_id(cli, write) -> None:  # type: ignore[no-untyped-def]
    _ann(cli, write)
    result = cli("consent", "a\u200bnn", "opted_out")  # ingest refuses this id (schema.refuse_invisible)
    assert result.exit_code != 0  # before: exit 0, an opt-out recorded for an id no post can ever have


def test_opt_out_reaches_posts_stored_under_the_other_unicode_form(cli, write) -> None:  # type: ignore[no-untyped-def]
    nfc, nfd = unicodedata.normalize("NFC", "josé"), unicodedata.normalize("NFD", "josé")
    cli("ingest", write("p.jsonl", [post(f"p{i}", nfd, f"my flight number {i}", i) for i in range(3)]),
        "--consent-policy", "opt-out")
    cli("consent", nfc, "opted_out")  # typed on a keyboard: NFC
    left = cli("export", nfd)
    # before: "nothing was stored about them", and the 3 posts stay, to be profiled under opt-out
    assert left.exit_code != 0 or json.loads(left.stdout)["posts"] == []


def test_opt_in_under_one_unicode_form_covers_posts_under_the_other(cli, write) -> None:  # type: ignore[no-untyped-def]
    nfc, nfd = unicodedata.normalize("NFC", "josé"), unicodedata.normalize("NFD", "josé")
    users = write("u.jsonl", [{"user_id": nfc, "consent": "opted_in"}])
    posts = write("p.jsonl", [post(f"p{i}", nfd, f"my flight number {i}", i) for i in range(3)])
    result = cli("ingest", posts, "--users", users, "--json")
    counts = [json.loads(line) for line in result.stdout.splitlines()][-1]
    assert counts["added"] == 3  # before: 0 added, 3 "skipped without consent" though josé opted in


def _laughs(key: str, levels: int = 8) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + f"\n{key}\n"


def test_catalog_with_yaml_alias_bomb_is_refused_quickly(cli, write) -> None:  # type: ignore[no-untyped-def]
    import time

    path = write("c.yaml", _laughs("perks:\n  - {perk_id: x, brand: B, title: T, description: *a7}", levels=7))
    start = time.monotonic()
    result = cli("catalog", "refresh", "--dry-run", path)
    # before: str() of the 10**8-item aliased list in rows.validate (catalog/rows.py:534): seconds and GBs at 7
    # levels, MemoryError (a traceback) or the machine's memory at 8
    assert result.exit_code == 1 and time.monotonic() - start < 5
    # its peak memory, read in a process of its own (VmHWM: Linux's ru_maxrss carries over the peak of the process
    # it was forked from): this one's peak is that of whatever test ran in it before (2.9 GB after a model's tests)
    code = ("import re, sys\nfrom matcher.entry import main\n"
            f"sys.argv = ['perkmatch', '--db', {str(Path(path).with_suffix('.db'))!r}, 'catalog', 'refresh', "
            f"'--dry-run', {path!r}]\n"
            "try:\n    main()\nfinally:\n    status = open('/proc/self/status').read()\n"
            "    print('peak', re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    peak = int(done.stderr.rsplit("peak ", 1)[1].split()[0])
    assert done.returncode == 1 and peak < 2_000_000, (done.returncode, peak, done.stderr[-500:])  # KB


def test_an_empty_db_path_is_refused_not_the_default(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from matcher.cli import app

    monkeypatch.chdir(tmp_path)
    users = write("u.jsonl", [{"user_id": "ann", "consent": "opted_in"}])
    # `perkmatch --db "$DB" ...` with DB unset: before, common.db_path (`db or State.db or DEFAULT_DB`) took the
    # default, ./perkmatch.db, made it and stored the users there, exit 0
    result = CliRunner().invoke(app, ["--db", "", "ingest", "--users", users])
    assert result.exit_code != 0 and not (tmp_path / "perkmatch.db").exists()


def test_ingest_of_an_empty_posts_path_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    # `perkmatch ingest "$POSTS"` with POSTS unset: before, exit 0 and no output (ingest.ingest reads `if posts:`),
    # and an empty database made at --db
    result = cli("ingest", "")
    assert result.exit_code != 0
    assert not Path(cli.db).exists()


def test_ingest_of_an_empty_users_path_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("ingest", "--users", "").exit_code != 0  # before: exit 0, nothing said


def _profiled(cli, write) -> None:  # type: ignore[no-untyped-def]
    users = write("u.jsonl", [{"user_id": "ann", "consent": "opted_in"}])
    posts = write("p.jsonl", [post(f"p{i}", "ann", f"my flight number {i} was late again", i) for i in range(4)])
    assert cli("ingest", posts, "--users", users).exit_code == 0
    cat = write("c.yaml", [{"perk_id": "pk1", "brand": "B", "title": "T", "description": "a lounge pass for flyers"}])
    assert cli("catalog", "refresh", cat).exit_code == 0
    assert cli("profile").exit_code == 0


def test_match_with_an_empty_catalog_path_is_refused(cli, write) -> None:  # type: ignore[no-untyped-def]
    _profiled(cli, write)
    # `match --dry-run --catalog "$NEXT"` with NEXT unset: before, the live catalog's match, said to be a preview;
    # and without --dry-run (where --catalog FILE is refused with 2) a real match run kept (matching.py:82, 93)
    assert cli("match", "--dry-run", "--catalog", "").exit_code != 0
    assert cli("match", "--catalog", "").exit_code != 0


def test_an_empty_model_is_refused_or_named_as_the_default() -> None:
    from matcher.encoder import DEFAULT_MODEL, base_name

    # `perkmatch --model "$MODEL" profile` with MODEL unset: encoder.py:48 loads the packaged model for '' but
    # base_name('') is '' (encoder.py:97): the run embeds every text again under the encoder "+openvino", and every
    # later command without --model '' is refused ("profile run 3 was made with the encoder +openvino")
    assert base_name("") == DEFAULT_MODEL


@pytest.mark.parametrize("args", [["--model", "", "status"], ["profile", "--as-of", ""], ["match", "--brand", ""],
                                  ["topics", " "], ["export", "\u200b"]])
def test_empty_or_invisible_values_are_usage_errors(cli, write, args) -> None:  # type: ignore[no-untyped-def]
    _ann(cli, write)
    result = cli(*args)
    assert result.exit_code == 2, result.output


def test_a_user_id_argument_is_read_as_ingest_reads_ids(cli, write) -> None:  # type: ignore[no-untyped-def]
    _ann(cli, write)
    shown = cli("export", " ann ")  # stripped
    assert shown.exit_code == 0 and json.loads(shown.stdout)["user"]["user_id"] == "ann"
