"""The operator's journey with ``profile --engine ray``: what an audit of it found (no Ray cluster is started)."""

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import matcher.ray_cluster as cluster_module
from matcher.cli import app, common
from matcher.errors import ClusterError
from matcher.store import open_engine

runner = CliRunner()


def test_relative_model_folder_reaches_the_workers_absolute(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A Ray worker runs in its own directory (that of `ray start`): `--model m`, relative, named no folder there
    and the run stopped with "--model m: not a sentence-transformers model folder"."""
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    factory = common.encoder_factory("m")
    assert factory.args[0] == str(tmp_path / "m")  # type: ignore[attr-defined]
    assert os.path.basename(factory.args[0]) == "m"  # type: ignore[attr-defined]  # the cache's name is unchanged


def test_empty_ray_address_is_refused(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`--ray-address "$HEAD"` with HEAD unset started a local cluster (or used $RAY_ADDRESS) without a word."""
    monkeypatch.setattr(cluster_module, "_init", lambda *args: pytest.fail("a cluster was started"))
    db = str(tmp_path / "x.db")
    open_engine(db).dispose()
    result = runner.invoke(app, ["--db", db, "profile", "--engine", "ray", "--ray-address", ""])
    assert result.exit_code != 0
    assert "--ray-address" in result.output and "HOST:6379" in result.output
    result = runner.invoke(app, ["--db", db, "profile", "--ray-address", ""])
    assert result.exit_code == 2 and "--ray-address is for --engine ray" in result.output
    assert common.State.db == db


def test_port_out_of_range_is_named() -> None:
    """127.0.0.1:99999 was tried as port 34463 (99999 modulo 65536): "no Ray cluster answers there"."""
    with pytest.raises(ClusterError, match=r"--ray-address 127.0.0.1:99999: port 99999 is out of range"):
        cluster_module._check_reachable("127.0.0.1:99999", "--ray-address 127.0.0.1:99999")


def test_auto_names_the_cluster_it_found() -> None:
    # with --ray-address auto the line said "Running on the Ray cluster at auto", not which cluster (helper-109)
    from types import SimpleNamespace

    from matcher.ray_cluster import _found

    found = SimpleNamespace(get_runtime_context=lambda: SimpleNamespace(gcs_address="10.0.0.2:6379"))
    assert _found(found, "auto") == "10.0.0.2:6379 (found by auto)"
    assert _found(found, "10.0.0.1:6379") == "10.0.0.1:6379"

    def gone() -> None:
        raise RuntimeError("not connected")

    assert _found(SimpleNamespace(get_runtime_context=gone), "auto") == "auto"
