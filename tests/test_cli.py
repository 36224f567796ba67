"""The CLI: help for every command, exact error messages and exit codes, lazy imports, --json shapes.

These use the fake encoder (patched into the CLI); tests/test_pipeline_real.py runs the real model.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.cli import app, common
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.taxonomy import default_taxonomy_path
from tests.conftest import post

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [c.name or c.callback.__name__ for c in app.registered_commands] + [  # (every command registered: a new
    f"{g.name} {c.name or c.callback.__name__}" for g in app.registered_groups  # one cannot be left out of the README)
    for c in g.typer_instance.registered_commands]  # type: ignore[union-attr]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and len(result.output) > 200
    assert f"perkmatch {command}" in (ROOT / "README.md").read_text()


def test_help_does_not_import_torch() -> None:
    code = ("import sys; from typer.testing import CliRunner; from matcher.cli import app; "
            "CliRunner().invoke(app, ['--help']); "
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'faiss') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_command_on_sqlite_does_not_import_sqlalchemys_postgresql_dialect(tmp_path: Path) -> None:
    """The PostgreSQL dialect (with its asyncpg, pg8000 and psycopg modules: about 20 ms of each command's start) is
    imported for a PostgreSQL database only: an ingest into SQLite, which upserts, does without it."""
    posts = tmp_path / "p.jsonl"
    posts.write_text(json.dumps(post("p1", "ann", "hello there", 1)) + "\n")
    code = ("import sys; from typer.testing import CliRunner; from matcher.cli import app; "
            f"r = CliRunner().invoke(app, ['--db', {str(tmp_path / 'x.db')!r}, 'ingest', {str(posts)!r}, "
            "'--consent-policy', 'opt-out']); print(r.exit_code, 'sqlalchemy.dialects.postgresql' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["0", "False"]


def test_bad_posts_file_exits_1_naming_file_line_and_field(cli, write) -> None:  # type: ignore[no-untyped-def]
    users = write("users.jsonl", [{"user_id": "ann", "consent": "opted_in"}])
    path = write("posts.jsonl", [post("p1", "ann", "ok", 1), {"post_id": "p2", "user_id": "ann", "created_at": 5}])
    result = cli("ingest", path, "--users", users)
    assert result.exit_code == 1
    assert f"Error: {path}: 1 problem(s), nothing was stored:" in result.stderr
    assert f"{path}, line 2, field 'text': Field required" in result.stderr
    assert "Traceback" not in result.output


def test_ingest_prints_one_line_per_file(cli, write) -> None:  # type: ignore[no-untyped-def]
    users = write("u.jsonl", [{"user_id": "ann", "consent": "opted_in"}])
    result = cli("ingest", write("p.jsonl", [post("p1", "ann", "hello", 1)]), "--users", users)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{users}: users added 1, updated 0, forgotten (opted out) 0, rejected 0",
                                          f"{users.removesuffix('u.jsonl')}p.jsonl: posts added 1, updated 0, "
                                          "rejected 0, skipped without consent 0"]


def test_ingest_json_report(cli, write) -> None:  # type: ignore[no-untyped-def]
    users = write("users.jsonl", [{"user_id": "ann", "consent": "opted_in"}])
    path = write("posts.jsonl", [post("p1", "ann", "ok", 1), post("p2", "bob", "no consent", 1)])
    result = cli("ingest", path, "--users", users, "--json")
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[-1]["added"] == 1 and records[-1]["skipped_no_consent"] == 1


def test_opt_out_policy_warns_on_stderr(cli, write) -> None:  # type: ignore[no-untyped-def]
    result = cli("ingest", write("posts.jsonl", [post("p1", "ann", "ok", 1)]), "--consent-policy", "opt-out")
    assert result.exit_code == 0
    assert "consent policy opt-out" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["topics", "ann"], "Error: no profile yet; run `perkmatch profile` first"),
    (["match"], "Error: no profile yet; run `perkmatch profile` first"),
    (["catalog", "show", "nope"], "Error: no perk 'nope' in any catalog version"),
    (["taxonomy", "load", "missing.yaml"], "Error: missing.yaml: no such file; check the path"),
    (["ingest", "posts.txt"], "Error: posts.txt: no such file; check the path"),
])
def test_error_messages(cli, args, message) -> None:  # type: ignore[no-untyped-def]
    assert cli("taxonomy", "load", default_taxonomy_path()).exit_code == 0  # the database exists, with no posts
    result = cli(*args)
    assert result.exit_code == 1
    assert message in result.stderr


def test_a_command_that_reads_results_does_not_create_a_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    typo = tmp_path / "perkmach.db"
    for args in (["topics", "--all"], ["explain", "ann"], ["brand", "p"], ["export", "ann"], ["forget", "ann"],
                 ["catalog", "versions"], ["report", "user", "ann", "--out", str(tmp_path / "r.html")]):
        result = runner.invoke(app, ["--db", str(typo), *args])
        assert result.exit_code == 1 and f"--db {typo}: there is no database there; check the path" in \
            " ".join(result.stderr.split()), args  # before: an empty database, then "run `perkmatch profile` first"
    assert not typo.exists()


def test_an_as_of_a_date_cannot_hold_and_an_impossible_yaml_date_are_clean_errors(cli, write) -> None:  # type: ignore[no-untyped-def]
    result = cli("profile", "--as-of", "99999999999999")  # before, accepted: match and reports then failed for good
    assert result.exit_code == 2 and "1970 to 9999" in " ".join(result.stderr.replace("│", " ").split())
    perks = [{"perk_id": "a", "brand": "B", "title": "Lounge", "description": "Airport lounge"}]
    catalog = write("c.yaml", "- perk_id: a\n  brand: B\n  title: T\n  description: D\n  starts: 2026-02-30\n")
    result = cli("catalog", "refresh", catalog)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert ("line 5, field 'starts': a value YAML cannot read (day is out of range for month); fix it, or quote it"
            in result.stderr)
    huge = cli("catalog", "refresh", write("huge.yaml", [perks[0] | {"quantity": 10**20}]))  # before: OverflowError
    assert huge.exit_code == 1 and "field 'quantity': Input should be less than or equal to" in huge.stderr
    nowhere = cli("catalog", "refresh", write("nowhere.yaml", [perks[0] | {"regions": ["US", "1234"]}]))
    assert nowhere.exit_code == 1 and "field 'regions': '1234' is not an ISO 3166 code" in nowhere.stderr
    assert cli("catalog", "refresh", write("ok.yaml", perks)).exit_code == 0


def test_catalog_refresh_json_and_sensitive_target_rejected(cli, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    perks = [{"perk_id": "a", "brand": "B", "title": "Lounge", "description": "Airport lounge pass"}]
    result = cli("catalog", "refresh", write("c.yaml", perks), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"version": 1, "added": 1, "changed": 0, "retired": 0, "unchanged": 0,
                                         "embedded": 1, "dry_run": False, "added_ids": ["a"], "changed_ids": [],
                                         "retired_ids": []}
    bad = write("bad.yaml", [dict(perks[0], topics=["health.mental-health"])])
    result = cli("catalog", "refresh", bad)
    assert result.exit_code == 1
    assert "'health.mental-health' is a sensitive topic" in result.stderr
    versions = cli("catalog", "versions", "--json")
    assert [json.loads(line)["version"] for line in versions.stdout.splitlines()] == [1]
    table = cli("catalog", "versions").stdout  # written to a pipe: whole, not squeezed into 80 columns ("2026-1…")
    assert "…" not in table and str(tmp_path / "c.yaml") in table
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", table) and "unchanged" in table and "created (UTC)" in table
    shown = cli("catalog", "show", "a").stdout  # before: quantity=None ... topics=-
    assert "quantity: unlimited; regions: anywhere; targets: none (placed by meaning); offer: any time to " \
        "open-ended" in " ".join(shown.split())


def test_taxonomy_load_reads_the_iab_tsv(cli) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import SHARED

    result = cli("taxonomy", "load", str(SHARED / "data/iab/Content Taxonomy 3.1.tsv"), "--json")
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["topics"] == 704 and record["sensitive"] > 20


def test_iab_topics_under_groups_that_are_not_sensitive_are_sensitive_by_their_own_names(cli, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Content Taxonomy 2.x puts politics under "News and Politics", and 3.x keeps weight loss and dating under
    # groups that are not sensitive as a whole: before, only the tier-1 name counted, so Elections was inferred
    # for users who never opted in
    rows = [("379", "", "News and Politics", "News and Politics", "", ""),
            ("386", "379", "Politics", "News and Politics", "Politics", ""),
            ("387", "386", "Elections", "News and Politics", "Politics", "Elections"),
            ("390", "379", "Weather", "News and Politics", "Weather", ""),
            ("223", "", "Healthy Living", "Healthy Living", "", ""),
            ("231", "223", "Weight Loss", "Healthy Living", "Weight Loss", ""),
            ("225", "223", "Fitness and Exercise", "Healthy Living", "Fitness and Exercise", ""),
            ("188", "", "Dating", "Family and Relationships", "Dating", "")]
    tsv = tmp_path / "iab2.tsv"
    tsv.write_text("Relational ID System\t\t\tTiered Categories\nUnique ID\tParent\tName\tTier 1\tTier 2\tTier 3\n"
                   + "".join("\t".join(r) + "\n" for r in rows))
    assert cli("taxonomy", "load", str(tsv)).exit_code == 0
    listed = cli("taxonomy", "show", "--json").stdout.splitlines()
    shown = {t["topic_id"]: t["sensitive"] for t in map(json.loads, listed)}
    assert shown == {"379": False, "386": True, "387": True, "390": False, "223": False, "231": True, "225": False,
                     "188": True}


def test_iab_3_topics_of_every_sensitive_tier_1_group_are_sensitive_and_of_no_other_group() -> None:
    # Content Taxonomy 3.x's sensitive tier-1 groups, each with all its topics at any tier: before (mutation), a group
    # left out of the names (Crime, say) had its topics inferred for users who never opted in
    from collections import defaultdict

    from matcher.taxonomy import read_taxonomy
    from tests.conftest import SHARED

    groups: dict[str, list[bool]] = defaultdict(list)
    for t in read_taxonomy(str(SHARED / "data/iab/Content Taxonomy 3.1.tsv")):
        groups[t.description.split(" > ")[0]].append(t.sensitive)
    sensitive = {"Crime", "Disasters", "Law", "Medical Health", "Politics", "Religion & Spirituality",
                 "Sensitive Topics", "War and Conflicts"}
    assert {g for g, flags in groups.items() if all(flags)} == sensitive
    assert not any(groups["Personal Finance"] + groups["Travel"] + groups["Business and Finance"])


def test_an_iab_row_without_tier_columns_is_sensitive_by_its_own_name(write) -> None:  # type: ignore[no-untyped-def]
    # the loader takes rows of Unique ID, Parent and Name only: a sensitive name still marks its topic
    from matcher.taxonomy import read_taxonomy

    topics = read_taxonomy(write("bare.tsv", "Unique ID\tParent\tName\n1\t\tMedical Health\n2\t\tTravel\n"))
    assert [(t.name, t.sensitive) for t in topics] == [("Medical Health", True), ("Travel", False)]


def test_a_topic_under_a_sensitive_one_is_sensitive_whatever_its_own_row_says(write) -> None:  # type: ignore[no-untyped-def]
    # an IAB TSV without its tier columns marked Medical Health alone: Diseases and Cancer under it were inferred and
    # shown for everyone (found by helper-83); a YAML child left unmarked under a sensitive parent is sensitive too
    from matcher.taxonomy import read_taxonomy

    iab = read_taxonomy(write("bare.tsv", "Unique ID\tParent\tName\n1\t\tMedical Health\n2\t1\tDiseases\n"
                                          "3\t2\tCancer\n4\t\tTravel\n5\t4\tCruises\n"))
    assert [(t.name, t.sensitive) for t in iab] == [("Medical Health", True), ("Diseases", True), ("Cancer", True),
                                                      ("Travel", False), ("Cruises", False)]
    plain = read_taxonomy(write("t.yaml", [{"topic_id": "cruises", "name": "Cruises", "parent_id": "faith"},
                                           {"topic_id": "faith", "name": "Faith", "parent_id": "life"},
                                           {"topic_id": "life", "name": "Life", "sensitive": True}]))
    assert [t.sensitive for t in plain] == [True, True, True]


def test_a_gzipped_iab_tsv_is_read_as_the_iab_taxonomy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # "Content Taxonomy 3.1.tsv.gz" is the IAB TSV too (its header rows, tiers and sensitive names), not a plain TSV
    import gzip

    from matcher.taxonomy import read_taxonomy

    body = ("Relational ID System\t\t\tTiered Categories\nUnique ID\tParent\tName\tTier 1\tTier 2\n"
            "286\t\tMedical Health\tMedical Health\t\n292\t286\tDiseases\tMedical Health\tDiseases\n"
            "653\t\tTravel\tTravel\t\n")
    path = tmp_path / "iab.tsv.gz"
    path.write_bytes(gzip.compress(body.encode()))
    assert [(t.topic_id, t.parent_id, t.sensitive) for t in read_taxonomy(str(path))] == [
        ("286", None, True), ("292", "286", True), ("653", None, False)]


def test_posts_of_people_who_opted_out_are_named_as_such(cli, write) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import post

    users = write("u.jsonl", [{"user_id": "ann", "consent": "opted_out"}, {"user_id": "bob"}])
    posts = write("p.jsonl", [post("a1", "ann", "hello", 1), post("b1", "bob", "hi", 1)])
    result = cli("ingest", posts, "--users", users, "--consent-policy", "opt-out")
    assert result.exit_code == 0 and "1 post(s) not stored: their authors opted out" in result.stderr
    assert "users added 1, updated 0, forgotten (opted out) 0, opted out (nothing stored) 1," in result.stdout
    assert "use --consent-policy opt-out" not in result.stderr  # before: advised the policy already in use
    result = cli("ingest", write("q.jsonl", [post("c1", "cat", "hey", 1)]))
    assert "not stored: their authors have not opted in" in result.stderr


def test_the_demo_refuses_a_database_holding_other_data(cli, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import post

    users = write("u.jsonl", [{"user_id": "zed", "consent": "opted_in"}])
    assert cli("ingest", write("p.jsonl", [post("z1", "zed", "hello", 1)]), "--users", users).exit_code == 0
    result = cli("demo")  # before: the sample people were mixed in, and a catalog's perks would have been retired
    assert result.exit_code == 1
    assert "this database holds other people's posts or users; the demo would mix its sample data in" in \
        " ".join(result.stderr.split())
    exported = json.loads(cli("export", "zed").stdout)
    assert [p["post_id"] for p in exported["posts"]] == ["z1"] and "u-maya" not in cli("topics", "--all").stdout


def test_the_demo_refuses_a_database_whose_sample_perks_were_edited(cli, write) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from matcher.demo import sample_path

    first = cli("demo")
    assert first.exit_code == 0  # the demo's own database: a re-run is fine
    again = cli("demo")
    perks = re.search(r"(\d+) perks;", first.stdout)
    assert again.exit_code == 0 and perks and int(perks.group(1)) > 0 and f"{perks.group(1)} perks;" in again.stdout
    # before: the re-run said "0 perks" (the perks its refresh added) though all were live
    assert "`perkmatch --db " in again.stdout and " explain USER [TOPIC|PERK_ID]`" in again.stdout  # its own database
    perks = yaml.safe_load(Path(sample_path("catalog.yaml")).read_text(encoding="utf-8"))
    perks = perks.get("perks", perks) if isinstance(perks, dict) else perks
    perks[0]["description"] += " Now for two."
    assert cli("catalog", "refresh", write("edited.yaml", perks)).exit_code == 0
    result = cli("demo")  # before: its refresh silently put the sample's text back
    assert result.exit_code == 1 and "this database holds edited sample perks" in result.stderr
    shown = json.loads(cli("catalog", "show", perks[0]["perk_id"], "--json").stdout.splitlines()[-1])
    assert shown["description"].endswith("Now for two.")


@pytest.mark.parametrize(("stop", "status"), [(KeyboardInterrupt, 130), (common.Terminated, 143)])
def test_a_demo_stopped_in_a_temporary_database_says_nothing_is_kept(cli, monkeypatch, tmp_path, stop,  # type: ignore[no-untyped-def]
                                                                      status) -> None:
    """Before, a demo without --db stopped by Ctrl-C said "finished work is kept; run the command again to continue"
    of a database deleted as it stopped. With --db, its database keeps the work, and says so as before."""
    import matcher.demo

    def stopped(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise stop

    monkeypatch.setattr(matcher.demo, "run_demo", stopped)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo"])
    assert (result.exit_code, " ".join(result.stderr.split())) == (
        status, "Interrupted: nothing is kept: the demo ran in a temporary database, now deleted; run it again (with "
        "--db PATH its work is kept, and a demo stopped there goes on from it).")
    assert list(tmp_path.iterdir()) == []  # no perkmatch.db made here either
    result = cli("demo")
    assert result.exit_code == status and "Interrupted: finished work is kept" in result.stderr


def test_help_shows_defaults_in_brackets_and_the_right_numbers() -> None:
    text = " ".join(runner.invoke(app, ["profile", "--help"]).output.replace("│", " ").split())
    for shown in ("[default: perkmatch.db]", "[default: the end of today]", "pip install 'perkmatch[ray]'",
                  "runs of 500+ users use a worker process per core"):  # before: [..] was read as markup, and lost
        assert shown in text
    demo = " ".join(runner.invoke(app, ["demo", "--help"]).output.replace("│", " ").split())
    assert "[default: a temporary one]" in demo and "perkmatch.db" not in demo  # before: the wrong default


def test_taxonomy_show_lists_the_ids_in_use_and_unknown_opt_ins_are_warned_about(cli, write) -> None:  # type: ignore[no-untyped-def]
    shown = [json.loads(line) for line in cli("taxonomy", "show", "--json").stdout.splitlines()]
    ids = {t["topic_id"]: t for t in shown}  # the default taxonomy, before any is loaded
    assert ids["health"]["sensitive"] and not ids["travel"]["sensitive"]
    assert ids["travel.cruises"]["parent_id"] == "travel"
    text = cli("taxonomy", "show").stdout
    assert "\n  travel.cruises  Cruises\n" in text and "health  Health  [sensitive" in text
    users = write("users.jsonl", [{"user_id": "ann", "consent": "opted_in", "sensitive_opt_in": ["health", "helth"]},
                                  {"user_id": "bob", "consent": "opted_in", "sensitive_opt_in": ["health"]}])
    result = cli("ingest", "--users", users)
    assert result.exit_code == 0  # stored: a taxonomy loaded later may have the id
    assert f"warning: {users}, line 1, field 'sensitive_opt_in': 'helth': no topic of the loaded taxonomy" in \
        " ".join(result.stderr.split())
    assert json.loads(cli("ingest", "--users", users, "--json").stdout)["unknown_opt_ins"][0].startswith(
        f"{users}, line 1, field 'sensitive_opt_in'")
    assert "warning" not in cli("ingest", "--users", write("ok.jsonl", [{"user_id": "bob"}])).stderr


def test_taxonomy_load_rejects_loops_and_bad_iab_rows_and_keeps_the_taxonomy(cli, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from matcher.store import open_engine
    from matcher.taxonomy import load_topics

    assert cli("taxonomy", "load", write("ok.yaml", [{"topic_id": "t", "name": "T"}])).exit_code == 0
    loop = write("loop.yaml", [{"topic_id": "a", "name": "A", "parent_id": "b"}, {"topic_id": "b", "name": "B",
                                "parent_id": "a"}, {"topic_id": "c", "name": "C", "parent_id": "c"}])
    result = cli("taxonomy", "load", loop)  # before, accepted: `profile` then never finished
    assert result.exit_code == 1
    assert "line 1, field 'parent_id': the parents go round in a loop (a -> b -> a)" in result.stderr
    assert "line 7, field 'parent_id': the parents go round in a loop (c -> c)" in result.stderr  # YAML: file lines
    head = "Unique ID\tParent\tName\tTier 1\n"
    tsv = write("bad.tsv", head + "1\t\tTravel\tTravel\n1\t\tAgain\tAgain\n2\t1\t\tTravel\n3\t9\tX\tX\n")
    result = cli("taxonomy", "load", tsv)
    assert result.exit_code == 1 and "Traceback" not in result.output
    for where in ("line 3, field 'Unique ID': '1' already appears on line 2", "line 4, field 'Name'",
                  "line 5, field 'Parent': '9' is not a topic_id"):
        assert where in result.stderr
    assert "the file has no topics" in cli("taxonomy", "load", write("empty.tsv", head)).stderr
    audience = write("aud.tsv", "\tUnique ID\tParent ID\tCondensed Name (1st, 2nd, Last Tier)\tTier 1\n"
                                "\t1\t\tDemographic\tDemographic\n")  # before: "no 'Unique ID' header row"
    assert "this is the IAB Audience Taxonomy (audience segments: demographics, purchase intent), not topics" in \
        " ".join(cli("taxonomy", "load", audience).stderr.split())
    # before: loaded, the field ignored, and the topic inferred and shown for everyone
    meant = write("meant.yaml", [{"topic_id": "h", "name": "Health", "is_sensitive": True},
                                 {"topic_id": "f", "name": "Faith", "Sensitive": True}])
    said = " ".join(cli("taxonomy", "load", meant).stderr.split())
    for line, key in ((1, "is_sensitive"), (4, "Sensitive")):
        assert f"line {line}, field '{key}': is not a field perkmatch reads, so the topic would be loaded as not " \
            "sensitive and inferred for everyone; name it 'sensitive'" in said
    assert [t.topic_id for t in load_topics(open_engine(str(tmp_path / "cli.db")))] == ["t"]  # unchanged


def test_taxonomy_fields_meaning_private_or_sensitivity_are_refused_not_ignored(write) -> None:  # type: ignore[no-untyped-def]
    # "private: true" or "sensitivity: high", ignored, would load the topic as not sensitive and infer it for everyone
    from catalog.errors import InputFileError
    from matcher.taxonomy import read_taxonomy

    rows = [{"topic_id": "h", "name": "Health", "private": True}, {"topic_id": "f", "name": "Faith", "is_private": 1},
            {"topic_id": "p", "name": "Politics", "sensitivity": "high"}]
    with pytest.raises(InputFileError) as info:
        read_taxonomy(write("meant.jsonl", rows))
    said = " ".join(str(info.value).split())
    for line, key in ((1, "private"), (2, "is_private"), (3, "sensitivity")):
        assert f"line {line}, field '{key}': is not a field perkmatch reads" in said


def test_readme_commands_are_the_ci_ones() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci/run").read_text()
    assert "make test" in ci and "make test" in readme and "make demo" in readme
    # the set-up installs the CPU torch wheel first: else sentence-transformers pulls a multi-GB CUDA build
    steps = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), "VENV=/nonexistent", "/nonexistent/.installed"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    installs = [line for line in steps if "pip install" in line]
    torch = next(i for i, line in enumerate(installs) if re.search(r"pip install .*torch==2\.13\.0", line))
    assert torch < next(i for i, line in enumerate(installs) if "-e '.[test]'" in line)


def test_a_database_failure_mid_command_is_one_line_without_sql_or_post_text(cli, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import OperationalError

    import catalog.refresh

    perks = [{"perk_id": "a", "brand": "B", "title": "Lounge", "description": "Airport lounge pass"}]
    assert cli("catalog", "refresh", write("c.yaml", perks)).exit_code == 0

    def gone(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("INSERT INTO posts (text) VALUES (%s)", ("my private post",),
                               Exception("server closed the connection unexpectedly\n\tThis probably means ..."))

    monkeypatch.setattr(catalog.refresh, "versions", gone)
    result = cli("catalog", "versions")  # before: a traceback of ~190 lines, the post's text among the parameters
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("Error: the database failed: server closed the connection unexpectedly. ")
    assert "my private post" not in result.stderr and "INSERT" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_unquoted_yaml_ids_and_codes_in_users_and_taxonomy_files_are_read_as_written(cli, write) -> None:  # type: ignore[no-untyped-def]
    # before: YAML read 0123 as 83 (octal), NO (Norway) as False and the region was refused, Yes as True
    users = write("u.yaml", "- {user_id: 0123, consent: opted_in, region: NO}\n")
    assert cli("ingest", "--users", users).exit_code == 0
    assert json.loads(cli("export", "0123").stdout)["user"]["region"] == "NO"
    topics = write("t.yaml", "- {topic_id: 0123, name: Yes, description: yes or no}\n"
                             "- {topic_id: x, parent_id: 0123, name: No}\n")
    assert cli("taxonomy", "load", topics).exit_code == 0
    shown = [json.loads(line) for line in cli("taxonomy", "show", "--json").stdout.splitlines()]
    assert [(t["topic_id"], t["name"], t["parent_id"]) for t in shown] == [("0123", "Yes", None), ("x", "No", "0123")]


def test_out_files_follow_symlinks_write_streams_and_name_write_failures(cli, write, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from matcher.outfiles import atomic_open

    real, link = tmp_path / "real.json", tmp_path / "link.json"
    real.write_text("old")
    link.symlink_to(real)
    with atomic_open(str(link)) as handle:
        handle.write("new")
    assert link.is_symlink() and real.read_text() == "new"  # before: the link itself was replaced by a file
    cli("ingest", write("p.jsonl", [post("a1", "ann", "hello there", 1)]), "--consent-policy", "opt-out")
    full = cli("export", "ann", "--out", "/dev/full")  # before: a traceback (as root, the device was replaced)
    assert full.exit_code == 1 and "--out /dev/full: cannot write it (No space left on device)" in full.stderr
    assert Path("/dev/full").is_char_device()
    empty = cli("export", "ann", "--out", "")
    assert empty.exit_code == 1 and "the path is empty" in empty.stderr  # before: "is a folder"


def test_out_paths_that_are_blank_or_a_folder_are_refused_naming_the_path(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A path of blanks is an empty path (not a file named "  " in the current folder); a folder is named as the path
    given."""
    from matcher.errors import PerkmatchError
    from matcher.outfiles import check_out

    monkeypatch.chdir(tmp_path)
    with pytest.raises(PerkmatchError, match="^--out: the path is empty; give the path of the CSV file to write$"):
        check_out("  ", "CSV file")
    with pytest.raises(PerkmatchError, match=f"^--out {re.escape(str(tmp_path))}: is a folder; give the path"):
        check_out(str(tmp_path), "CSV file")
    assert list(tmp_path.iterdir()) == []


def test_an_out_file_stopped_while_written_keeps_the_old_file_and_leaves_no_part(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C (or SIGTERM) while the file is written: the file there before stays whole, and no temporary file is
    left beside it."""
    from matcher.outfiles import atomic_open

    target = tmp_path / "m.csv"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_open(str(target)) as handle:
        handle.write("half of the new")
        raise KeyboardInterrupt
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["m.csv"]


def test_a_part_file_left_by_a_killed_write_goes_with_the_next_write_and_a_live_ones_stays(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL runs no clean-up, so the write's hidden temporary file stayed for ever beside the --out file (before,
    after each killed `import --out` or `match --out`). The next write of that file removes it; the temporary file of
    a write still under way stays."""
    import os
    import signal
    import subprocess
    import sys

    from matcher.outfiles import atomic_open

    target = tmp_path / "m.jsonl"
    script = ("import sys, time\nfrom matcher.outfiles import atomic_open\n"
              "with atomic_open(sys.argv[1]) as f:\n    f.write('half'); f.flush(); print('in', flush=True); "
              "time.sleep(600)\n")
    writers = [subprocess.Popen([sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    try:
        for writer in writers:
            assert writer.stdout.readline() == "in\n"  # type: ignore[union-attr]
        os.kill(writers[0].pid, signal.SIGKILL)
        writers[0].wait()
        killed = [p for p in tmp_path.iterdir() if f"-{writers[0].pid}." in p.name]
        assert len(killed) == 1 and killed[0].name.startswith(".m.jsonl.") and killed[0].name.endswith(".part")
        with atomic_open(str(target)) as handle:
            handle.write("whole")
        names = sorted(p.name for p in tmp_path.iterdir())
        assert "m.jsonl" in names and killed[0].name not in names
        assert [n for n in names if n.endswith(".part")] == [n for n in names if f"-{writers[1].pid}." in n] != []
    finally:
        for writer in writers:
            writer.kill()
            writer.wait()
            writer.stdout.close()  # type: ignore[union-attr]
    assert target.read_text() == "whole"


def test_a_new_out_file_gets_the_permissions_the_umask_allows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Neither mkstemp's owner-only 0600 nor 0666 whatever the umask: 0666 less the umask, as any new file."""
    import os

    from matcher.outfiles import atomic_open

    previous = os.umask(0o027)
    try:
        with atomic_open(str(tmp_path / "m.csv")) as handle:
            handle.write("x")
    finally:
        os.umask(previous)
    assert (tmp_path / "m.csv").stat().st_mode & 0o777 == 0o640


def test_an_out_file_reaches_the_disk_before_it_replaces_the_old_one(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The new file's content is synced before the rename: a crash just after it does not leave an empty file where
    the old one was."""
    import os

    from matcher.outfiles import atomic_open

    done: list[tuple[str, object]] = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (done.append(("synced", os.fstat(fd).st_size)), fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (done.append(("renamed", Path(b).name)), replace(a, b))[1])
    with atomic_open(str(tmp_path / "m.csv")) as handle:
        handle.write("content")
    assert done == [("synced", 7), ("renamed", "m.csv")]


def test_an_out_folder_that_cannot_be_written_by_the_time_of_writing_is_named(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The folder could be written when the command started and cannot when it writes (minutes later): one error
    naming --out, not the temporary file's PermissionError."""
    import matcher.outfiles as outfiles
    from matcher.errors import PerkmatchError

    monkeypatch.setattr(outfiles, "check_out", lambda path, what="file": Path(path))  # (checked before the work)
    with pytest.raises(PerkmatchError, match=r"^--out /sys/m.csv: cannot write it \(Permission denied\)"), \
            outfiles.atomic_open("/sys/m.csv") as handle:
        handle.write("x")


@pytest.mark.parametrize(("args", "message"), [
    (["ingest"], "give a posts file, --users FILE, or both"),
    (["topics"], "give a USER_ID, or --all for every profiled user"),
    (["topics", "ann", "--all"], "give a USER_ID or --all (not both)"),
    (["topics", "--all", "--changes"], "--changes needs a USER_ID"),
    (["topics", "ann", "--since", "1"], "--since goes with --changes"),
    (["consent", "ann", "opted-in"], "opted-in: write opted_in or opted_out"),
    (["ingest", "posts.jsonl", "--rejects", "r.jsonl"], "names the reject file of --skip-invalid: give --skip-invalid"),
    (["ingest", "posts.jsonl", "--skip-invalid", "--rejects", ""], "'--rejects': is empty; give a value, or leave it "
     "out"),  # before: written to the default place, as if --rejects had not been given
])
def test_bad_option_combinations_are_usage_errors_that_store_nothing(cli, args, message) -> None:  # type: ignore[no-untyped-def]
    """A command given too little, or options that do not go together, exits 2 saying what to give, and stores
    nothing."""
    assert cli("taxonomy", "load", default_taxonomy_path()).exit_code == 0  # the database exists, with no posts
    before = Path(cli.db).read_bytes()
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.replace("│", " ").split())
    assert Path(cli.db).read_bytes() == before


@pytest.mark.parametrize("args", [["topics", "ann", "--since", "1"], ["topics", "--all", "--changes"],
                                  ["ingest", "p.jsonl", "--rejects", "r.jsonl"]])
def test_a_usage_error_is_said_before_a_missing_database_is(tmp_path, args) -> None:  # type: ignore[no-untyped-def]
    """Options that do not go together are a usage error (exit 2) whatever the --db: before, with a mistyped --db,
    `topics ann --since 1` said there was no database there (exit 1); and no database is made."""
    db = tmp_path / "typo.db"
    result = runner.invoke(app, ["--db", str(db), *args])
    assert result.exit_code == 2, result.output
    assert not db.exists()


def test_a_catalog_dry_run_with_no_database_there_previews_and_leaves_none(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`catalog refresh --dry-run` on a --db that does not exist previews the file against an empty catalog and
    leaves no database behind (before: one was made there, holding the shipped taxonomy)."""
    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, FakeEncoder()))
    catalog = tmp_path / "c.yaml"
    catalog.write_text("- perk_id: p1\n  brand: Acme\n  title: Free coffee beans\n  description: Espresso beans\n")
    db = tmp_path / "typo.db"
    result = runner.invoke(app, ["--db", str(db), "catalog", "refresh", str(catalog), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would be version 1: added 1" in result.stdout
    assert list(tmp_path.iterdir()) == [catalog]


def test_ingest_given_no_file_makes_no_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`ingest` with neither a posts file nor --users is refused before a database is made at --db."""
    db = tmp_path / "new.db"
    result = runner.invoke(app, ["--db", str(db), "ingest"])
    assert result.exit_code == 2 and "give a posts file, --users FILE, or both" in result.stderr
    assert not db.exists()


def test_a_reject_file_that_is_the_database_is_refused_naming_rejects(cli, write) -> None:  # type: ignore[no-untyped-def]
    """`ingest --skip-invalid --rejects DB` is refused before any work, naming --rejects, and stores nothing."""
    assert cli("taxonomy", "load", default_taxonomy_path()).exit_code == 0
    before = Path(cli.db).read_bytes()
    posts = write("p.jsonl", [post("p1", "ann", "hello", 1), {"post_id": "p2"}])
    result = cli("ingest", posts, "--consent-policy", "opt-out", "--skip-invalid", "--rejects", cli.db)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"--rejects {cli.db}: that is the database (--db)" in " ".join(result.stderr.split())
    assert result.stdout == "" and Path(cli.db).read_bytes() == before


def test_a_catalog_refresh_dry_run_applies_nothing_and_fails_where_the_refresh_would(cli, write) -> None:  # type: ignore[no-untyped-def]
    """A dry run says what the refresh would do ("would be version N", "to embed") and applies none of it; one that
    the refresh would refuse (a file retiring every perk, without --retire-all) exits 1 saying why, in --json as
    "refused"; the versions list marks the live one, and `catalog show` a retired perk's last version."""
    assert cli("taxonomy", "load", default_taxonomy_path()).exit_code == 0
    assert cli("catalog", "versions").stdout.strip() == "no catalog loaded yet; run `perkmatch catalog refresh FILE`"
    one = [{"perk_id": "a", "brand": "B", "title": "Lounge", "description": "Airport lounge pass"}]
    two = write("two.yaml", one + [{"perk_id": "b", "brand": "C", "title": "Beans", "description": "Coffee beans"}])
    empty = write("empty.yaml", [])
    assert cli("catalog", "refresh", write("one.yaml", one)).exit_code == 0
    preview = cli("catalog", "refresh", two, "--dry-run")
    assert preview.exit_code == 0 and preview.stdout.splitlines() == [
        f"{two}: would be version 2: added 1, changed 0, retired 0, unchanged 1, to embed 1", "  added: b"]
    refused = cli("catalog", "refresh", empty, "--dry-run")
    assert refused.exit_code == 1  # a script gating on the dry run must not pass the file
    assert refused.stdout.startswith(f"{empty}: would be refused: the file has no perks: it would retire all 1 live "
                                     "perks, which a refresh does only with --retire-all; the diff: ")
    record = cli("catalog", "refresh", empty, "--dry-run", "--json")
    said = json.loads(record.stdout)
    assert record.exit_code == 1 and said["dry_run"] is True and said["refused"].endswith("only with --retire-all")
    meant = cli("catalog", "refresh", empty, "--dry-run", "--retire-all")
    assert meant.exit_code == 0 and meant.stdout.startswith(f"{empty}: would be version 2: ") and "retired 1" in \
        meant.stdout
    versions = [json.loads(line) for line in cli("catalog", "versions", "--json").stdout.splitlines()]
    assert [(v["version"], v["current"]) for v in versions] == [(1, True)]  # no dry run applied anything
    assert "1 (live)" in cli("catalog", "versions").stdout
    assert cli("catalog", "refresh", two).exit_code == 0
    versions = [json.loads(line) for line in cli("catalog", "versions", "--json").stdout.splitlines()]
    assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, True)]
    table = cli("catalog", "versions").stdout
    assert "2 (live)" in table and "1 (live)" not in table
    assert cli("catalog", "refresh", empty, "--retire-all").exit_code == 0
    assert cli("catalog", "show").stdout.strip() == "no live perk: run `perkmatch catalog refresh FILE`"
    assert cli("catalog", "show", "a").stdout.startswith("v1 (until version 3): B - Lounge")


def test_profile_reports_its_run_in_json_and_in_words(cli, write) -> None:  # type: ignore[no-untyped-def]
    """`profile --json` gives the run's record, every key; the text says how many users were recomputed and how many
    reused, and whether the topic vectors were fitted in this run or an earlier one's reused."""
    users = write("u.jsonl", [{"user_id": "ann", "consent": "opted_in"}])
    cli("ingest", write("p.jsonl", [post(f"p{i}", "ann", f"coffee beans espresso {i}", i) for i in range(6)]),
        "--users", users)
    first = cli("profile", "--json")
    assert first.exit_code == 0, first.output
    record = json.loads(first.stdout)
    assert list(record) == ["run_id", "users", "posts", "embedded", "inferred_topics", "recomputed_users",
                            "reused_users", "topic_vectors_run", "seconds", "embed_seconds", "encode_seconds"]
    assert (record["run_id"], record["users"], record["posts"], record["recomputed_users"], record["reused_users"],
            record["topic_vectors_run"]) == (1, 1, 6, 1, 0, 1)
    again = cli("profile").stdout.splitlines()
    assert again[0].startswith("profile run 2: 1 users, 6 posts, 0 texts embedded, 0 topics inferred (0 users "
                               "recomputed, 1 unchanged) in ")
    assert again[1] == "topic vectors of run 1 reused (the collection changed little since)"
    assert cli("profile", "--refit").stdout.splitlines()[1] == "topic vectors fitted to the collection in this run"


def test_evidence_lines_show_a_post_on_one_line_as_a_person_reads_it(capsys) -> None:  # type: ignore[no-untyped-def]
    """An evidence line: the day, the counts, "(reshare)" for a reshare, the text with HTML entities read and cut to
    90 characters, and what a reply answers; at most `limit` posts; a stale-results warning keeps its brackets."""
    from matcher.cli.shown import evidence_lines, short, warn_stale

    assert short("a &gt; b\n   c") == "a > b c"
    cut = short("word " * 40)
    assert len(cut) == 90 and cut.endswith("…")
    reply = {"created_at": "2025-01-01T12:00:00Z", "likes": 1, "replies": 2, "shares": 3, "is_share": True,
             "text": "hi &amp; bye", "context": "the question"}
    assert evidence_lines([reply]) == "2025-01-01 ♥1 ↩2 ⇄3  (reshare) hi & bye  [in: the question]"
    assert len(evidence_lines([reply] * 5, 2).splitlines()) == 2
    warn_stale("posts of [bold]ann[/bold] changed")
    assert capsys.readouterr().err == "Warning: posts of [bold]ann[/bold] changed\n"


def test_ingest_says_on_stderr_what_it_did_not_store_as_given(cli, write) -> None:  # type: ignore[no-untyped-def]
    """Beside its counts, `ingest` says: the first ten unknown sensitive opt-ins and how many more; rows repeating a
    post; where rejected rows were written, and an earlier reject file it emptied; users kept out by an opt-out."""
    users = write("u.jsonl", [{"user_id": f"u{i}", "consent": "opted_in", "sensitive_opt_in": "nope"}
                              for i in range(12)])
    first = " ".join(cli("ingest", "--users", users).stderr.split())
    assert first.count("'nope': no topic of the loaded taxonomy has this id") == 10
    assert "warning: ... and 2 more user(s) opted in to unknown topic ids" in first
    posts = write("p.jsonl", [post("p1", "u1", "first", 1), post("p1", "u1", "second", 1), {"post_id": "p2"}])
    rejects = f"{posts}.rejects.jsonl"
    said = " ".join(cli("ingest", posts, "--skip-invalid", "--rejects", rejects).stderr.split())
    assert "1 row(s) gave a post an earlier row of the file gave too: the last row of each post was kept" in said
    assert f"1 rejected row(s) written to {rejects}" in said
    fixed = cli("ingest", write("fixed.jsonl", [post("p1", "u1", "second", 1)]), "--skip-invalid", "--rejects", rejects)
    assert f"no row rejected: {rejects}, an earlier run's reject file, was emptied" in " ".join(fixed.stderr.split())
    assert cli("consent", "u3", "opted_out").exit_code == 0
    kept_out = " ".join(cli("ingest", "--users", users).stderr.split())
    assert "1 user(s) not stored: they opted out earlier and stay out (only `perkmatch consent USER opted_in` " \
        "brings one back)" in kept_out


def test_a_dash_for_a_file_to_write_is_refused_not_made_a_file_named_dash(cli, write, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`-` reads standard input where a command reads a file; where it writes one, it made a file named "-"."""
    monkeypatch.chdir(tmp_path)
    posts = write("p.jsonl", [post("a1", "ann", "hello there", 1), {"post_id": "a2"}])
    cli("ingest", write("q.jsonl", [post("a1", "ann", "hello there", 1)]), "--consent-policy", "opt-out")
    for args, said in ((["export", "ann", "--out", "-"], "--out -: is not standard output here; give the path of the "
                        "JSON file to write, or /dev/stdout"),
                       (["ingest", posts, "--skip-invalid", "--rejects", "-"], "--rejects -: is not standard output "
                        "here; give a file path for the rejects")):
        result = cli(*args)
        assert result.exit_code == 1, result.output
        assert said in " ".join(result.stderr.split())
    assert not (tmp_path / "-").exists()
