"""Found by a randomised kill fuzz (commands stopped with SIGKILL, SIGINT and SIGTERM at random moments, then run
again and compared with an uninterrupted run): each defect it found, injected at the point found."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import post

ROOT = Path(__file__).resolve().parents[1]


def test_ctrl_c_inside_a_string_exec_still_exits_130_under_python_m(tmp_path: Path) -> None:
    # Ctrl-C landing while SciPy imports (its array-API layer runs `exec("from numpy import *")`) ended
    # `python -m matcher match` killed by SIGINT (status -2 to its parent) after it had printed "Interrupted: ...":
    # CPython 3.11 marks a KeyboardInterrupt raised in exec() or eval() of a string as unhandled, even once the
    # command has handled it, and `python -m` then ends the process with SIGINT instead of exit status 130
    # (about 1 Ctrl-C in 8 in that second of a match's start). The interrupt is injected there: a command's work
    # runs such an exec, and the signal lands inside it.
    (tmp_path / "ctrl_c_in_exec.py").write_text(
        "import sys\n"
        "from matcher.entry import main\n"
        "def show(*args, **kwargs):\n"
        "    exec('import os, signal, time\\nos.kill(os.getpid(), signal.SIGINT)\\ntime.sleep(5)')\n"
        "import matcher.taxonomy_files\n"
        "matcher.taxonomy_files.read_taxonomy = show\n"
        "sys.argv = ['perkmatch', '--db', sys.argv[1], 'taxonomy', 'show']\n"
        "main()\n")
    proc = subprocess.run([sys.executable, "-m", "ctrl_c_in_exec", str(tmp_path / "none.db")], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"})
    assert proc.stderr.strip().endswith("Interrupted: finished work is kept; run the command again to continue."), \
        proc.stderr
    assert proc.returncode == 130, (proc.returncode, proc.stderr)  # before: -2 (killed by SIGINT)
    assert "Traceback" not in proc.stderr


def _stored_user(cli, write) -> None:  # type: ignore[no-untyped-def]
    users = write("users.jsonl", [{"user_id": "ann", "consent": "opted_in"}])
    posts = write("posts.jsonl", [post(f"p{i}", "ann", f"espresso note {i}", i) for i in range(3)])
    assert cli("ingest", posts, "--users", users).exit_code == 0


def test_a_stop_signal_during_the_scrub_after_a_forget_is_one_line_and_its_status(cli, write) -> None:  # type: ignore[no-untyped-def]
    # SIGTERM landing in the scrub that follows a forget's commit (its VACUUM) ended `forget` with a traceback of
    # SQLAlchemy's PendingRollbackError and status 1 (2 SIGTERMs in 8 at 1.1 s of a forget): the scrub's clean-up ran a
    # statement on the connection the interrupt had invalidated, and its error replaced the interrupt
    from sqlalchemy import Engine, event

    from matcher.cli.failures import Terminated

    _stored_user(cli, write)

    def stop(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.startswith("VACUUM"):
            raise Terminated  # what `kill PID` raises where the command is

    event.listen(Engine, "before_cursor_execute", stop)
    try:
        result = cli("forget", "ann")
    finally:
        event.remove(Engine, "before_cursor_execute", stop)
    assert result.exit_code == 143, (result.output, result.exception)  # before: 1, PendingRollbackError
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Interrupted:" in result.output and "Traceback" not in result.output
    again = cli("forget", "ann", "--json")  # the deletion was committed: the re-run finds it done, and scrubs
    assert again.exit_code == 0 and '"forgotten_already":true' in again.output.replace(" ", "")


def test_consent_opted_out_run_again_records_no_second_forget(cli, write) -> None:  # type: ignore[no-untyped-def]
    # `consent USER opted_out` stopped after its commit (a kill fuzz: 3 stops in 12 at 0.7-0.9 s), then run again as
    # the message says: the re-run said "nothing was stored about them ... check the id", and wrote a second forget
    # audit line, so `status` counted the user forgotten twice ("forgotten": 2)
    from matcher.status import database_status
    from matcher.store import open_engine

    _stored_user(cli, write)
    first = cli("consent", "ann", "opted_out")
    assert first.exit_code == 0 and "was forgotten" in first.output
    again = cli("consent", "ann", "opted_out")
    assert again.exit_code == 0, again.output
    assert "opted out already" in again.output and "check the id" not in again.output
    eng = open_engine(cli.db)
    try:
        users = database_status(eng, cli.db)["users"]
    finally:
        eng.dispose()
    assert users["forgotten"] == 1 and users["opted_out"] == 1  # before: forgotten 2


def test_a_forget_landing_as_a_profile_run_starts_calls_for_no_second_run(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Two commands at once (a fuzz of `forget` started at random moments of a `profile`, 5 of 13): a forget committed
    # after the run had started, but before its topic fit counted the forgets and read the posts, left nothing of
    # the user in the run, which kept its fit; yet `status` said "1 user forgotten since it started: the next run fits
    # the topic vectors again", and that run reused the fit and recomputed nobody. A forget after the fit read the
    # posts still calls for one. The forget is injected at each point: when the run reads whom it profiles, and when
    # it writes its first chunk of users (after the fit)
    from matcher import profile_run
    from matcher.forget import forget
    from matcher.store import open_engine
    from tests.test_status import status, status_world

    world = status_world(tmp_path, write, monkeypatch)
    eligible, write_results = profile_run.eligible_users, profile_run._write_results

    def forget_now(user_id: str) -> None:
        other = open_engine(world.db)  # another command's connection
        try:
            forget(other, user_id)
        finally:
            other.dispose()

    def forget_cat_first(*args):  # type: ignore[no-untyped-def]
        forget_now("cat")
        return eligible(*args)

    monkeypatch.setattr(profile_run, "eligible_users", forget_cat_first)
    assert world("profile", "--as-of", "2025-03-01").exit_code == 0
    monkeypatch.setattr(profile_run, "eligible_users", eligible)
    assert not [step for step in status(world)["next"] if step.startswith("perkmatch profile")]  # before: one
    again = world("profile", "--as-of", "2025-03-01", "--json")  # what that step would have done: nothing new
    assert json.loads(again.stdout)["recomputed_users"] == 0

    def forget_bob_after_the_fit(*args):  # type: ignore[no-untyped-def]
        forget_now("bob")  # as it writes its users (the fit has read the posts)
        return write_results(*args)

    monkeypatch.setattr(profile_run, "_write_results", forget_bob_after_the_fit)
    assert world("profile", "--as-of", "2025-03-01", "--refit").exit_code == 0
    steps = [step for step in status(world)["next"] if step.startswith("perkmatch profile")]
    assert steps and "1 user forgotten since it started: the next run fits the topic vectors again" in steps[0]
