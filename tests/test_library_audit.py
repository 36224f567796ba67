"""The library journey of the README's "Using it as a library": what a data scientist passes and what they get back,
when it is right and when it is not (the package's own errors, naming the fix, not a bare error from deep inside)."""

import ast
import contextlib
import io
import logging
import re
from pathlib import Path

import numpy as np
import pytest

from catalog.refresh import refresh, text_key
from matcher.assignments import match_records
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.errors import EncoderError, NotReadyError, WrongArgumentError
from matcher.ingest import ingest, ingest_posts, ingest_users
from matcher.match import run_match
from matcher.profile_run import run_profile
from matcher.store import open_engine, session
from matcher.taxonomy import read_taxonomy
from matcher.topic_records import user_topics

SAMPLE = Path(__file__).resolve().parents[1] / "matcher" / "data" / "sample"


def test_files_and_the_database_may_be_given_as_pathlib_paths(tmp_path: Path) -> None:
    """Every step of the README's example takes a ``pathlib.Path`` as well as a str; before, open_engine raised
    TypeError ("expected string or bytes-like object, got 'PosixPath'") and the readers AttributeError ('PosixPath'
    object has no attribute 'lower')."""
    engine = open_engine(tmp_path / "p.db")
    cache = EmbeddingCache(engine, FakeEncoder())
    assert ingest_users(engine, SAMPLE / "users.jsonl").users_added == 32
    assert ingest_posts(engine, SAMPLE / "posts.jsonl").added == 1699
    assert [r.kind for r in ingest(engine, SAMPLE / "posts.jsonl", SAMPLE / "users.jsonl")] == ["users", "posts"]
    with session(engine) as s:
        assert refresh(s, SAMPLE / "catalog.yaml", cache).applied
    run_profile(engine, cache)
    assert run_match(engine, cache).assignments > 0
    assert user_topics(engine, "u-maya")[0]["topics"]
    assert read_taxonomy(Path(__file__).resolve().parents[1] / "matcher" / "data" / "taxonomy.yaml")
    engine.dispose()


class _Float64(FakeEncoder):
    def encode(self, texts: list[str]) -> np.ndarray:
        return super().encode(texts).astype(np.float64)


class _Unnormalised(FakeEncoder):
    def encode(self, texts: list[str]) -> np.ndarray:
        return super().encode(texts) * 7


class _WrongDim(FakeEncoder):
    def encode(self, texts: list[str]) -> np.ndarray:
        return FakeEncoder(32).encode(texts)


class _RowShort(FakeEncoder):
    def encode(self, texts: list[str]) -> np.ndarray:
        return super().encode(texts)[1:]


class _NaN(FakeEncoder):
    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = super().encode(texts)
        vectors[0, 0] = np.nan  # the first row of the batch: the shortest text
        return vectors


class _Raises(FakeEncoder):
    def encode(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("model exploded")


def test_an_encoder_returning_float64_or_a_list_is_taken_as_float32(engine) -> None:  # type: ignore[no-untyped-def]
    reference = EmbeddingCache(engine, FakeEncoder()).encode(["espresso grinder", "cheap flights"])
    assert EmbeddingCache(engine, _Float64()).encode(["espresso grinder", "cheap flights"]).dtype == np.float32
    np.testing.assert_array_equal(EmbeddingCache(engine, _Float64()).encode(["espresso grinder", "cheap flights"]),
                                  reference)


@pytest.mark.parametrize(("encoder", "said"), [
    (_Unnormalised(), "the encoder 'fake-64' returned a vector of length 7, not 1 (for text 'cheap flights'): 2 of "
                      "its 2 row(s) are so; its vectors must be finite and L2-normalised: return vectors / "
                      "np.linalg.norm(vectors, axis=1, keepdims=True)"),
    (_WrongDim(), "the encoder 'fake-64' returned vectors of shape (2, 32) for 2 text(s); its encode(texts) must "
                  "return shape (len(texts), dim), one row of 64 numbers (its `dim`) per text"),
    (_RowShort(), "the encoder 'fake-64' returned vectors of shape (1, 64) for 2 text(s)"),
    (_NaN(), "the encoder 'fake-64' returned NaN or infinite numbers (for text 'cheap flights'): 1 of its 2 row(s)"),
    (_Raises(), "the encoder 'fake-64' failed on a batch of 2 text(s): RuntimeError: model exploded; check its "
                "encode(texts)"),
])
def test_an_encoder_breaking_its_interface_is_an_encoder_error_naming_it(engine, encoder, said) -> None:  # type: ignore[no-untyped-def]
    """Before: a wrong dim was numpy's "cannot reshape array" from the cache (once stored), too few rows zip()'s
    ValueError, NaN a database NOT NULL error in the profile run, an encoder's own failure its bare exception (a
    traceback from the CLI), and vectors not of unit length were stored and scored quietly wrong (topic scores are
    inner products read as cosines: 2 topics inferred on the sample data instead of 50)."""
    cache = EmbeddingCache(engine, encoder)
    with pytest.raises(EncoderError) as caught:
        cache.vectors(["espresso grinder", "cheap flights"])
    assert str(caught.value).startswith(said)
    assert cache.missing([text_key("espresso grinder"), text_key("cheap flights")]) == {
        text_key("espresso grinder"), text_key("cheap flights")}  # nothing was stored


def test_vectors_stored_from_elsewhere_are_checked_too(engine) -> None:  # type: ignore[no-untyped-def]
    """``store_vectors`` (a Ray cluster's encoders hand their batches to it) checks them as the encoder's."""
    cache = EmbeddingCache(engine, FakeEncoder())
    with pytest.raises(EncoderError, match=r"returned vectors of shape \(1, 64\) for 2 text\(s\)"):
        cache.store_vectors(["a", "b"], FakeEncoder().encode(["one"]))


def test_the_cli_says_an_encoder_failed_without_a_traceback(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from matcher.cli import app, common

    monkeypatch.setattr(common, "cache", lambda eng, model: EmbeddingCache(eng, _Raises()))
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "c.db"), "catalog", "refresh",
                                      str(SAMPLE / "catalog.yaml")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Error: the encoder 'fake-64' failed on a batch of 62 text(s): RuntimeError: "
                                    "model exploded")


def test_another_kind_of_object_than_a_step_takes_is_refused_naming_the_one_to_give(engine, fake_cache) -> None:  # type: ignore[no-untyped-def]
    """A session where an engine goes, an engine where a session goes, an encoder where a cache goes: each was an
    AttributeError from deep inside ("'Session' object has no attribute 'url'", "'Engine' object has no attribute
    'exec'", "'FakeEncoder' object has no attribute 'encoded'", the last after the catalog file was read). Each is now
    the package's own error, a TypeError too, naming what to give."""
    import catalog.errors

    catalog_file = str(SAMPLE / "catalog.yaml")
    with session(engine) as s:
        with pytest.raises(WrongArgumentError, match=r"^run_profile takes the database's engine \(given: Session\): "
                           r"pass the engine it was opened on; it makes its own transactions$"):
            run_profile(s, fake_cache)
        with pytest.raises(WrongArgumentError, match=r"^run_match takes the database's engine \(given: Session\)"):
            run_match(s, fake_cache)
        with pytest.raises(WrongArgumentError, match=r"^EmbeddingCache takes the database's engine \(given: Session"):
            EmbeddingCache(s, FakeEncoder())
        with pytest.raises(catalog.errors.WrongArgumentError, match=r"^refresh takes a vector source, an embedding "
                           r"cache \(matcher.embed.EmbeddingCache\) \(given: FakeEncoder, which has no encoded, "
                           r"missing, fill\) \(an encoder: wrap it, EmbeddingCache\(engine, encoder\)\)$"):
            refresh(s, catalog_file, FakeEncoder())  # type: ignore[arg-type]
    with pytest.raises(catalog.errors.WrongArgumentError, match=r"^refresh takes a session \(given: Engine\): `with "
                       r"session\(engine\) as s: refresh\(s, FILE, cache\)`$"):
        refresh(engine, catalog_file, fake_cache)  # type: ignore[arg-type]
    with pytest.raises(WrongArgumentError, match=r"^run_profile takes an EmbeddingCache\(engine, encoder\) \(given: "
                       r"FakeEncoder\) \(an encoder: wrap it, EmbeddingCache\(engine, encoder\)\)$"):
        run_profile(engine, FakeEncoder())  # type: ignore[arg-type]
    with pytest.raises(WrongArgumentError, match=r"^run_match takes an EmbeddingCache\(engine, encoder\) \(given: "
                       r"str\)$"):
        run_match(engine, "all-MiniLM-L6-v2")  # type: ignore[arg-type]
    with pytest.raises(WrongArgumentError, match=r"\(given: str\): open it with open_engine\(PATH_OR_URL\)$"):
        run_profile("perkmatch.db", fake_cache)  # type: ignore[arg-type]
    with pytest.raises(WrongArgumentError, match=r"^EmbeddingCache takes an encoder, with name, dim and encode\(texts"
                       r"\) \(given: str\): load_encoder\(\) or one of your own$"):
        EmbeddingCache(engine, "all-MiniLM-L6-v2")  # type: ignore[arg-type]
    assert issubclass(WrongArgumentError, TypeError) and issubclass(catalog.errors.WrongArgumentError, TypeError)


ROOT = Path(__file__).resolve().parents[1]
CLI_ONLY = {ROOT / "matcher" / "entry.py", ROOT / "matcher" / "__main__.py"}  # the CLI's entry point (README)


def _speaks(path: Path) -> list[str]:
    """What a module does that only the CLI may: print, write to stdout/stderr, exit, import typer or click."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name == "print" or name in {"sys.exit", "exit", "quit"} or re.fullmatch(
                    r"sys\.(stdout|stderr|__stdout__|__stderr__)(\.buffer)?\.(write|writelines|flush)", name):
                found.append(f"{where}: {name}(...)")
        elif isinstance(node, ast.Name) and node.id == "SystemExit":
            found.append(f"{where}: SystemExit")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found.extend(f"{where}: import {n}" for n in names if n.split(".")[0] in {"typer", "click", "rich"})
    return found


def test_nothing_below_the_cli_prints_or_exits() -> None:
    """STYLE: only the CLI modules import typer; nothing below them prints or exits. Before, a model artefact's build
    ("building the ONNX export of ... (once) ...") and the default encoder's fallback warning were written to
    sys.stderr by matcher/artefacts.py and matcher/backends.py: a library caller could not silence or redirect them.
    They are logged now (``logging``: matcher.artefacts, matcher.backends), and the CLI shows them as before."""
    modules = [p for package in ("matcher", "catalog") for p in sorted((ROOT / package).rglob("*.py"))
               if "cli" not in p.relative_to(ROOT).parts and p not in CLI_ONLY]
    assert len(modules) > 40
    assert [hit for path in modules for hit in _speaks(path)] == []


def test_the_cli_shows_what_the_library_logs_on_stderr(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from matcher.cli import app

    def logs() -> None:
        logging.getLogger("matcher.artefacts").info("building the ONNX export of all-MiniLM-L6-v2 (once) ...")
        logging.getLogger("matcher.backends").warning("Warning: encoder auto (the default): ...")

    runner = CliRunner()
    assert runner.invoke(app, ["--db", str(tmp_path / "s.db"), "taxonomy", "show"]).exit_code == 0  # every command
    with contextlib.redirect_stderr(io.StringIO()) as err:
        logs()
    assert err.getvalue() == ("building the ONNX export of all-MiniLM-L6-v2 (once) ...\n"
                              "Warning: encoder auto (the default): ...\n")


def test_match_records_of_a_run_that_is_no_match_run_is_an_error(engine, fake_cache) -> None:  # type: ignore[no-untyped-def]
    """Before, match_records(engine, run_id=1), a profile run's id, or one of no run at all, was an empty list: as if
    that match had assigned nothing. 0 was read as "the latest"."""
    ingest_users(engine, str(SAMPLE / "users.jsonl"))
    ingest_posts(engine, str(SAMPLE / "posts.jsonl"))
    with session(engine) as s:
        refresh(s, str(SAMPLE / "catalog.yaml"), fake_cache)
    profile = run_profile(engine, fake_cache).run_id
    match = run_match(engine, fake_cache).run_id
    assert match_records(engine, match) == match_records(engine) != []
    with pytest.raises(NotReadyError, match=rf"^run {profile} is a profile run, not a match run; give a match run's id "
                       r"\(`perkmatch status --runs N` lists them\), or none for the latest$"):
        match_records(engine, profile)
    for missing in (0, 99, 2**40):
        with pytest.raises(NotReadyError, match=rf"^run {missing} is no run, not a match run"):
            match_records(engine, missing)


def test_run_profile_and_run_match_refuse_an_as_of_or_a_limit_of_the_wrong_kind(engine, fake_cache) -> None:  # type: ignore[no-untyped-def]
    """Before, a date string as ``as_of`` failed with numpy's UFuncTypeError (profile) or a TypeError (match), a
    negative per_user gave no assignment and said nothing, and 2.5 ran. Nothing is written before the refusal."""
    ingest_users(engine, str(SAMPLE / "users.jsonl"))
    ingest_posts(engine, str(SAMPLE / "posts.jsonl"))
    with session(engine) as s:
        refresh(s, str(SAMPLE / "catalog.yaml"), fake_cache)
    for bad in ("2026-05-01", 1.7e9, True):
        with pytest.raises(WrongArgumentError, match=r"^run_profile: as_of takes Unix seconds, an int \(given "):
            run_profile(engine, fake_cache, as_of=bad)  # type: ignore[arg-type]
    assert run_profile(engine, fake_cache).users > 0
    with pytest.raises(WrongArgumentError, match=r"^run_match: as_of takes Unix seconds, an int \(given str "
                       r"'2026-05-01'\); for a date, give matcher.records.end_of_day\(datetime.date\(...\)\)"):
        run_match(engine, fake_cache, as_of="2026-05-01")  # type: ignore[arg-type]
    for name, bad in (("per_user", -1), ("per_user", 2.5), ("per_brand", "1"), ("per_brand", None)):
        with pytest.raises(WrongArgumentError, match=rf"^run_match: {name} takes a whole number of perks, 0 or more "
                           rf"\(given {type(bad).__name__} "):
            run_match(engine, fake_cache, **{name: bad})  # type: ignore[arg-type]
    with pytest.raises(NotReadyError, match="no match yet"):
        match_records(engine)  # no run was kept by the refusals
    assert run_match(engine, fake_cache, per_user=0).assignments == 0


@pytest.mark.parametrize(("name", "advice"), [("all-MiniLM-L6-v2", "onnx"), ("all-MiniLM-L6-v2+openvino", "torch")])
def test_an_encoder_that_fails_is_told_to_try_another_than_itself(name: str, advice: str) -> None:
    """Before, the advice was "another --encoder, such as torch" when torch (whose name is the model's alone) was the
    encoder that failed."""
    from matcher.encoder import encoded

    failing = _Raises()
    failing.name = name
    with pytest.raises(EncoderError, match=rf"try another --encoder, such as {advice}\)$"):
        encoded(failing, ["cheap flights"])
