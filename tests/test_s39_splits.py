"""What the s39 splits of long functions and modules must keep (the commits 0924d48..a08dab6 claim no behaviour
change): here, what no other test reaches."""

import importlib
import re
import subprocess
from pathlib import Path
from typing import Any


def test_the_openvino_quantisation_process_imports_its_work_from_where_it_is(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``quantise_static_int8`` runs its work in a process of its own, from a line of code naming the module to import
    it from. That module moved (artefacts -> artefact_builds); a stale name would fail only in that process, on a
    first openvino-int8 build into an empty cache, which no other test makes."""
    from matcher import artefact_builds

    ran: list[list[str]] = []

    def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        ran.append(args)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(artefact_builds.subprocess, "run", run)
    artefact_builds.quantise_static_int8(tmp_path / "onnx", tmp_path, [])
    ((_, flag, code, *_),) = ran
    assert flag == "-c"
    named = re.search(r"from ([\w.]+) import (\w+); \2\(\*sys\.argv\[1:\]\)", code)
    assert named, code
    assert getattr(importlib.import_module(named.group(1)), named.group(2)) is artefact_builds._quantise_here


def test_explain_says_the_usual_leaves_out_the_own_vote_when_the_user_posts_where_one_is_counted(cli) -> None:  # type: ignore[no-untyped-def]
    """dcdfb80 said "beyond the author's own vote" of the user's usual engagement only when the topic's evidence is
    on Reddit. But the usual is the user's, read over all their posts: u-maya's (sample data) is net of the own vote
    of her 21 Reddit posts, while her travel topic's evidence is all on Twitter, so the text lost a qualifier that
    holds. It is said when the user has posts on a platform that counts one; for a Stack Exchange or Twitter user
    alone it is still not said (``test_s39_other_data``)."""
    from matcher.demo import sample_path

    assert cli("ingest", str(sample_path("posts.jsonl")), "--users", str(sample_path("users.jsonl"))).exit_code == 0
    assert cli("profile").exit_code == 0
    said = cli("explain", "u-maya", "travel")
    assert said.exit_code == 0, said.output
    text = " ".join(said.stdout.split())
    assert "engagement on it" in text and "♥" in text
    assert "on Reddit, ♥ is the post's score" not in text  # none of the posts shown is on Reddit
    assert "reactions a post, beyond the author's own vote)" in text  # before (dcdfb80): "reactions a post)"
    from matcher.cli.explain_view import counts_own_vote
    from matcher.store import open_engine

    engine = open_engine(cli.db)
    assert counts_own_vote(engine, "u-maya") and not counts_own_vote(engine, "u-oneviral")  # (no Reddit post)
    engine.dispose()
