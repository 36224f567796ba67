"""Shared fixtures: a fresh database per test, the fake encoder, and files written on the fly."""

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from matcher.embed import EmbeddingCache  # noqa: E402
from matcher.encoder import FakeEncoder  # noqa: E402
from matcher.store import open_engine  # noqa: E402


def _shared() -> Path:
    """The kit's shared folder: $PERKMATCH_SHARED, else ../shared beside the checkout, else /work/shared."""
    candidates = [os.environ.get("PERKMATCH_SHARED", ""), Path(__file__).resolve().parents[2] / "shared",
                  "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "data").is_dir():
            return Path(candidate)
    raise RuntimeError("cannot find the shared data folder: set PERKMATCH_SHARED to the folder holding data/")


SHARED = _shared()


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    eng = open_engine(str(tmp_path / "test.db"))
    yield eng
    eng.dispose()


@pytest.fixture
def fake() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def fake_cache(engine, fake) -> EmbeddingCache:  # type: ignore[no-untyped-def]
    return EmbeddingCache(engine, fake)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, Any], str]:
    """write(name, rows) -> path; the format follows the extension (.jsonl, .csv, .yaml, .json, raw str)."""

    def _write(name: str, rows: Any) -> str:
        path = tmp_path / name
        if isinstance(rows, str):
            path.write_text(rows, encoding="utf-8")
        elif name.endswith(".jsonl"):
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        elif name.endswith(".yaml"):
            path.write_text(yaml.safe_dump(rows, sort_keys=False), encoding="utf-8")
        elif name.endswith(".json"):
            path.write_text(json.dumps(rows), encoding="utf-8")
        else:
            raise ValueError(name)
        return str(path)

    return _write


def post(pid: str, user: str, text: str, day: int, likes: int = 3, **extra: Any) -> dict[str, Any]:
    """A post on day `day` of 2025 (noon UTC)."""
    return {"post_id": pid, "user_id": user, "text": text, "created_at": 1735732800 + day * 86400,
            "likes": likes, **extra}


@pytest.fixture
def cli(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """invoke(*args) runs the CLI in this process against a fresh database (``invoke.db``), with the fake
    encoder."""
    from typer.testing import CliRunner

    from matcher.cli import app, common

    runner = CliRunner()
    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, FakeEncoder()))
    db = str(tmp_path / "cli.db")

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["--db", db, *args])

    invoke.db = db  # type: ignore[attr-defined]
    return invoke
