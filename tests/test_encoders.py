"""Encoder backends: the Encoder contract for each, agreement with torch float32, independence from the batch,
the artefact cache (built once, reused, rebuilt when partial or corrupt), and the --encoder option."""

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from matcher import artefacts, backends
from matcher.cli import app, common
from matcher.encoder import (
    BACKENDS,
    FakeEncoder,
    base_name,
    choose_backend,
    known_words,
    load_encoder,
    model_folder,
    model_words,
    reading_vocabulary,
    vocabulary_file,
)
from matcher.errors import ModelError
from matcher.store import open_engine

SENTENCES = [
    "Airport lounge review: quiet seats by the gates and great runway views.",
    "Cheap flights to Lisbon this spring, booked with points.",
    "My sourdough starter finally doubled overnight; baking tomorrow.",
    "Turbulence over Peru was so bad the pilot stopped the cabin service.",
    "New personal best at the half marathon: 1:42, negative splits!",
    "Which espresso grinder is worth it under 300 dollars?",
    "The hotel upgraded us to a suite with a balcony over the harbour.",
    "Finished the final season of the show last night and I am not okay.",
    "Tuned the derailleur on my road bike, shifting is smooth again.",
    "Board game night: we played three rounds of a co-op dungeon crawler.",
    "Index funds beat most active managers over twenty years.",
    "The cat knocked every pen off my desk again this morning.",
    "Tried a hazy IPA from the new brewery downtown, very juicy.",
    "Photography tip: shoot the blue hour, not the golden hour.",
    "lol",
    "",
    "Long read on the history of the printing press and how it changed what people believed. " * 30,
    "Le train de nuit pour Vienne était complet, nous avons pris l'avion.",
    "🚀🚀🚀",
    "Reading a romance novel on the beach with an iced coffee.",
]
DIMS = {"model2vec": 256}
SMALL_VOCAB = r"(?!\[(UNK|PAD|CLS|SEP|MASK)\])(\[unused\d+\]|.{4,})"  # ~3,900 tokens: a 20 s distillation, not 2 min


@pytest.fixture(scope="module", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every artefact of this module is built in a fresh cache folder, the static model from a small vocabulary."""
    folder = tmp_path_factory.mktemp("perkmatch-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERKMATCH_CACHE", str(folder))
        mp.setattr(artefacts, "M2V_REMOVE", SMALL_VOCAB)
        load_encoder.cache_clear()
        yield folder
    load_encoder.cache_clear()


def torch_float32():  # type: ignore[no-untyped-def]
    """The reference every backend is compared with."""
    return load_encoder(None, "float32", "torch")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1))


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_gives_unit_norm_float32_vectors_of_its_dim(backend: str) -> None:
    encoder = load_encoder(None, "float32", backend)
    vectors = encoder.encode(SENTENCES)
    assert vectors.dtype == np.float32 and vectors.shape == (len(SENTENCES), DIMS.get(backend, 384))
    assert encoder.dim == vectors.shape[1]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, encoder.dim)
    expected = "all-MiniLM-L6-v2" + backends.SUFFIX["openvino" if backend == "auto" else backend]
    assert encoder.name == expected


def test_every_backend_has_its_own_cache_name() -> None:
    names = [backends.SUFFIX[b] for b in BACKENDS if b != "auto"]
    assert len(set(names)) == len(names) and backends.SUFFIX["torch"] == ""


@pytest.mark.integration
def test_onnx_matches_torch_float32() -> None:
    reference = torch_float32().encode(SENTENCES)
    onnx = load_encoder(None, "float32", "onnx").encode(SENTENCES)
    assert cosines(onnx, reference).min() > 0.9999
    assert np.abs(onnx - reference).max() < 1e-5


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["onnx-int8", "openvino", "torch-bf16"])
def test_faster_backends_agree_with_float32(backend: str) -> None:
    reference = torch_float32().encode(SENTENCES)
    assert cosines(load_encoder(None, "float32", backend).encode(SENTENCES), reference).min() > 0.98


@pytest.mark.integration
def test_the_int8_backends_stay_close_to_float32_and_fast_reads_48_tokens_a_text() -> None:
    reference = torch_float32().encode(SENTENCES)
    int8 = load_encoder(None, "float32", "openvino-int8").encode(SENTENCES)
    agreement = cosines(int8, reference)
    assert agreement.min() > 0.93 and agreement.mean() > 0.98  # the least: the empty text (measured 0.94, 0.989)
    fast, whole = load_encoder(None, "float32", "fast"), load_encoder(None, "float32", "openvino-int8")
    short = [s for s in SENTENCES if len(whole.tokenizer.encode(s).ids) <= backends.FAST_TOKENS]
    assert len(short) == len(SENTENCES) - 1  # all but the long read
    assert fast.encode(short).tobytes() == whole.encode(short).tobytes()  # the same model
    words = " ".join(f"word{i}" for i in range(60))  # past the 48th token, what follows is never read
    assert fast.encode([words + " about cats"]).tobytes() == fast.encode([words + " about tax law"]).tobytes()
    assert fast.name.endswith("+openvino-int8-t48")


@pytest.mark.integration
def test_openvino_puts_every_vector_back_in_its_place_with_batches_in_flight() -> None:
    texts = [f"{text} (note {i})" for i, text in enumerate(SENTENCES * 15)]  # 330 texts: 6 batches of 64
    reference = torch_float32().encode(texts)
    vectors = load_encoder(None, "float32", "openvino").encode(texts)
    assert cosines(vectors, reference).min() > 0.98
    assert vectors.shape == reference.shape


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["onnx", "openvino", "openvino-int8"])
def test_a_vector_does_not_depend_on_what_it_is_batched_with(backend: str) -> None:
    encoder = load_encoder(None, "float32", backend)
    together = encoder.encode(SENTENCES)
    alone = np.vstack([encoder.encode([s]) for s in SENTENCES])
    longer = "a much longer text that would change the padding of its batch " * 9
    mixed = encoder.encode(SENTENCES[::-1] + [longer] * 70)  # and the batch size
    assert together.tobytes() == alone.tobytes()
    assert together.tobytes() == mixed[:len(SENTENCES)][::-1].tobytes()


def test_a_text_is_padded_to_a_length_fixed_by_its_own_token_count() -> None:
    assert [backends.padded_length(n, 256) for n in (1, 8, 9, 16, 250, 256)] == [8, 8, 16, 16, 256, 256]
    assert backends.padded_length(20, 20) == 20  # a model trained on shorter texts is never padded past them


def test_a_batch_holds_at_most_its_token_budget() -> None:
    budget = 64 * backends.TOKENS_PER_ROW
    for width in (8, 16, 32, 56, 64, 128, 256):
        rows = backends.rows_per_batch(width, 64)
        assert 1 <= rows <= 64 and rows * width <= budget
    assert backends.rows_per_batch(backends.TOKENS_PER_ROW, 64) == 64  # short texts fill a whole batch
    assert backends.rows_per_batch(256, 64) < 64
    assert backends.rows_per_batch(10**6, 64) == 1  # a text longer than the budget still goes, alone


@pytest.mark.integration
def test_long_texts_are_encoded_in_smaller_batches() -> None:
    encoder = backends.load("onnx", model_folder(None), "all-MiniLM-L6-v2")
    assert isinstance(encoder, backends.HiddenStateEncoder)
    shapes: list[tuple[int, ...]] = []
    run = encoder.pipeline

    def watched(batches):  # type: ignore[no-untyped-def]
        def seen():  # type: ignore[no-untyped-def]
            for feed, mask in batches:
                shapes.append(mask.shape)
                yield feed, mask
        return run(seen())

    encoder.pipeline = watched
    vectors = encoder.encode(["word " * 300] * 20 + ["short text"] * 70)
    assert vectors.shape == (90, 384)
    assert max(rows * width for rows, width in shapes) <= 64 * backends.TOKENS_PER_ROW
    assert (64, 8) in shapes and (8, 256) in shapes  # short texts in full batches, 256-token ones 8 at a time


def test_the_default_encoder_is_auto() -> None:
    assert choose_backend(None) == ("auto", "float32")


@pytest.mark.integration
def test_artefacts_are_built_once_and_reused(model_cache: Path) -> None:
    load_encoder(None, "float32", "onnx-int8")
    folders = sorted(p.name for p in model_cache.iterdir())
    assert [f for f in folders if f.startswith(".") and not f.endswith(".lock")] == []  # no build folder left behind
    manifests = {p: p.stat().st_mtime_ns for p in model_cache.glob("*/manifest.json")}
    builds = dict(artefacts.BUILDS)
    for backend in ("onnx", "onnx-int8", "openvino"):
        backends.load(backend, model_folder(None), "all-MiniLM-L6-v2")
    assert dict(artefacts.BUILDS) == builds
    assert {p: p.stat().st_mtime_ns for p in model_cache.glob("*/manifest.json")} == manifests


@pytest.mark.integration
@pytest.mark.parametrize("damage", ["truncated", "no manifest", "garbage of the right size"])
def test_a_partial_or_corrupt_artefact_is_rebuilt(damage: str, tmp_path: Path, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PERKMATCH_CACHE", str(tmp_path))
    model = model_folder(None)
    reference = backends.load("onnx", model, "all-MiniLM-L6-v2").encode(SENTENCES[:3])
    folder = artefacts.artefact_folder(model, "all-MiniLM-L6-v2", "onnx")
    onnx = folder / "model.onnx"
    if damage == "truncated":
        onnx.write_bytes(onnx.read_bytes()[:1000])
    elif damage == "no manifest":
        (folder / "manifest.json").unlink()
    else:
        onnx.write_bytes(b"\0" * onnx.stat().st_size)
    caplog.set_level(logging.INFO, logger="matcher")
    before = artefacts.BUILDS["onnx"]
    again = backends.load("onnx", model, "all-MiniLM-L6-v2").encode(SENTENCES[:3])
    assert artefacts.BUILDS["onnx"] == before + 1
    assert "building the ONNX export of all-MiniLM-L6-v2 (once) ..." in caplog.messages  # (logged; the CLI shows it)
    assert artefacts.manifest(folder) is not None
    np.testing.assert_allclose(again, reference, atol=1e-6)


def test_auto_falls_back_to_torch_with_a_warning(monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    def unavailable(backend: str, model: Path, base: str) -> None:
        raise ModelError("--encoder onnx needs onnxruntime: run `pip install onnxruntime`")

    monkeypatch.setattr(backends, "load", unavailable)
    fallback = FakeEncoder()
    assert backends.load_auto(Path("."), "m", lambda: fallback) is fallback
    assert [(r.name, r.levelname) for r in caplog.records] == [("matcher.backends", "WARNING")]
    assert caplog.messages == ["Warning: encoder auto (the default): the openvino backend is unavailable (--encoder "
                               "onnx needs onnxruntime: run `pip install onnxruntime`); using torch float32"]


def test_a_missing_package_names_the_fix(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openvino" else real(name, *a))
    with pytest.raises(ModelError, match=r"--encoder openvino needs openvino: run `pip install openvino`"):
        backends.load("openvino", Path("."), "m")


def test_precision_maps_to_the_torch_backends() -> None:
    assert choose_backend(None, "bfloat16") == ("torch", "bfloat16")
    assert choose_backend("torch-bf16", "bfloat16") == ("torch", "bfloat16")
    assert choose_backend("onnx") == ("onnx", "float32")
    with pytest.raises(ModelError, match="--precision bfloat16 and --encoder onnx disagree"):
        choose_backend("onnx", "bfloat16")
    with pytest.raises(ModelError, match="--encoder nope: unknown encoder; use one of torch, torch-bf16, onnx"):
        load_encoder(None, "float32", "nope")


def test_cli_unknown_encoder_lists_the_valid_names(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "x.db"), "--encoder", "fastest", "profile"])
    assert result.exit_code == 2  # a bad value, as the README says (before: 1)
    bogus = CliRunner().invoke(app, ["--db", str(tmp_path / "x.db"), "--precision", "bogus", "topics", "--all"])
    assert bogus.exit_code == 2 and "'bogus': use one of" in bogus.stderr  # before: accepted, unless a model loaded
    shown = " ".join(result.stderr.replace("│", " ").split())
    assert ("'fastest': unknown encoder; use one of torch, torch-bf16, onnx, onnx-int8, openvino, openvino-int8, "
            "fast, model2vec, auto") in shown and "--encoder" in shown
    assert "Traceback" not in result.output


def test_cli_passes_the_encoder_to_load_encoder(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import matcher.encoder

    asked: list[tuple[str | None, str, str | None]] = []

    def fake_load(model: str | None, precision: str, backend: str | None) -> FakeEncoder:
        asked.append((model, precision, backend))
        return FakeEncoder()

    monkeypatch.setattr(matcher.encoder, "load_encoder", fake_load)
    monkeypatch.setattr(common.State, "encoder", None)
    open_engine(str(tmp_path / "x.db")).dispose()  # `profile` makes no database
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "x.db"), "--encoder", "onnx", "profile"])
    assert result.exit_code in (0, 1), result.output
    assert asked == [(None, "float32", "onnx")]


def _model(folder: Path, weights: bytes) -> Path:
    """A stand-in model folder: what an artefact's key reads."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "vocab.txt").write_text("[PAD]\nhello\n")
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def test_artefacts_are_keyed_by_the_models_content_and_older_builds_are_pruned(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PERKMATCH_CACHE", str(tmp_path / "cache"))

    def build(out: Path) -> None:
        (out / "vectors.npy").write_bytes(b"built")

    model = _model(tmp_path / "env-a" / "model", b"weights v1")
    first = artefacts.ensure(model, "m", "vocabulary", build)
    builds = artefacts.BUILDS["vocabulary"]
    twin = _model(tmp_path / "env-b" / "model", b"weights v1")  # the same model installed again elsewhere
    assert artefacts.ensure(twin, "m", "vocabulary", build) == first and artefacts.BUILDS["vocabulary"] == builds
    other = artefacts.ensure(_model(tmp_path / "env-c" / "model", b"weights v0"), "m", "vocabulary", build)
    onnx = artefacts.ensure(model, "m", "onnx", build)  # another kind of artefact: never pruned by this one
    killed = tmp_path / "cache" / f".{first.name}.x1y2"  # a hidden build folder left by a killed build ...
    killed.mkdir()
    os.utime(killed, (time.time() - 2 * artefacts.STALE_BUILD_SECONDS,) * 2)
    running = tmp_path / "cache" / f".{other.name}.z3w4"  # ... and one of a build still running
    running.mkdir()
    (model / "model.safetensors").write_bytes(b"weights v22")  # the model updated in place
    updated = artefacts.ensure(model, "m", "vocabulary", build)
    assert updated != first and artefacts.BUILDS["vocabulary"] == builds + 2
    assert not first.exists() and not killed.exists()  # replaced; left by a killed build
    assert other.exists() and running.exists() and onnx.exists()  # another environment's model; running; another kind
    shutil.rmtree(tmp_path / "env-c")  # that environment deleted: its build goes the next time the artefact is used
    assert artefacts.ensure(model, "m", "vocabulary", build) == updated and not other.exists()
    (model / "model.safetensors").write_bytes(b"weights v333")
    latest = artefacts.ensure(model, "m", "vocabulary", build)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")) == sorted(
        [latest.name, onnx.name])


def test_loading_openvino_sends_no_telemetry() -> None:
    # `import openvino` imports its conversion tools, which sent a usage event to Google Analytics from a forked
    # process (that fork once hung a command at exit); perkmatch makes no network calls beyond the package registries
    code = ("import sys; from matcher.encoder import load_encoder; load_encoder(backend='openvino'); "
            "import openvino.tools.ovc as ovc; "
            "print(sys.modules['openvino_telemetry'], type(ovc.telemetry).__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "openvino.tools.ovc.telemetry_stub"]


def test_precision_auto_alone_is_torch_and_an_unknown_precision_is_refused() -> None:
    """--precision auto with no --encoder is torch, deciding bfloat16 by the CPU (not forced); a precision not in
    PRECISIONS is refused with the valid ones named, also with no --encoder."""
    assert choose_backend(None, "auto") == ("torch", "auto")
    with pytest.raises(ModelError, match=r"--precision bogus: use one of float32, bfloat16, auto"):
        choose_backend(None, "bogus")


def test_a_model_folder_needs_modules_json_or_config_json(tmp_path: Path) -> None:
    """A plain transformers folder (config.json, no modules.json) is a model folder; one with neither is refused."""
    plain = _model(tmp_path / "plain", b"weights")
    assert model_folder(str(plain)) == plain
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"--model .*empty: not a sentence-transformers model folder"):
        model_folder(str(tmp_path / "empty"))


def test_a_models_cache_name_is_its_folder_name_wherever_the_folder_is(tmp_path: Path) -> None:
    """The embedding cache is keyed by the folder's name, so the same model moved elsewhere keeps its vectors."""
    assert base_name(None) == "all-MiniLM-L6-v2"
    assert base_name(str(tmp_path / "a" / "my-model")) == base_name(str(tmp_path / "b" / "my-model")) == "my-model"


def test_known_words_are_the_whole_words_of_the_vocabulary_in_lower_case(tmp_path: Path) -> None:
    """Word pieces and [special] tokens are left out; a cased vocabulary's words are lower-cased, as posts are."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[CLS]\nParis\ncycling\n##ing\n", encoding="utf-8")
    assert known_words(str(vocab)) == {"paris", "cycling"}
    assert known_words(None) == frozenset()


def test_an_encoders_reading_vocabulary_is_its_models_vocab_txt(tmp_path: Path) -> None:
    """``reading_vocabulary``: the whole words of the vocab.txt ``load_encoder`` found; none for an encoder without."""
    fake = FakeEncoder()
    assert reading_vocabulary(fake) == frozenset()
    (tmp_path / "vocab.txt").write_text("[PAD]\nhello\n##lo\n", encoding="utf-8")
    fake.vocabulary_path = tmp_path / "vocab.txt"  # type: ignore[attr-defined]
    assert reading_vocabulary(fake) == {"hello"}


@pytest.mark.integration
def test_a_loaded_encoder_knows_its_models_vocabulary() -> None:
    """``load_encoder`` gives every backend the model's vocab.txt (which posts it reads) and its whole words."""
    encoder = load_encoder(None, "float32", "onnx")
    assert encoder.vocabulary_path == model_folder(None) / "vocab.txt"  # type: ignore[attr-defined]
    assert "cycling" in reading_vocabulary(encoder) and "cycling" in encoder.words  # type: ignore[attr-defined]


def test_the_vocabulary_of_a_model_with_its_transformer_in_a_subfolder_is_found(tmp_path: Path) -> None:
    """Older sentence-transformers folders keep vocab.txt in 0_Transformer/; ``model_words`` are its whole words of
    four letters or more."""
    folder = tmp_path / "model"
    (folder / "0_Transformer").mkdir(parents=True)
    (folder / "0_Transformer" / "vocab.txt").write_text("[PAD]\ncycling\ncat\n##ling\nbike\n", encoding="utf-8")
    assert vocabulary_file(folder) == folder / "0_Transformer" / "vocab.txt"
    assert model_words(folder) == ("cycling", "bike")
    assert vocabulary_file(tmp_path) is None and model_words(tmp_path) == ()


@pytest.mark.integration
def test_onnx_int8_runs_the_quantised_export_not_the_float32_one() -> None:
    """The two ONNX backends have artefacts of their own: onnx-int8's vectors are the int8 model's, near float32's
    but not the same."""
    float32 = load_encoder(None, "float32", "onnx").encode(SENTENCES)
    int8 = load_encoder(None, "float32", "onnx-int8").encode(SENTENCES)
    assert np.abs(int8 - float32).max() > 1e-3 and cosines(int8, float32).min() > 0.9


def test_an_artefact_that_fails_with_a_model_error_is_not_deleted_and_built_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A ModelError on opening (the model's own fault, e.g. no tokenizer.json) is reported as it is; only other
    failures (a corrupt artefact) discard the artefact and build it again, once."""
    discarded: list[Path] = []
    monkeypatch.setattr(artefacts, "ensure", lambda model, base, kind, build: Path("artefact"))
    monkeypatch.setattr(artefacts, "discard", discarded.append)

    def refuse(folder: Path) -> None:
        raise ModelError("--model m: no tokenizer.json (a fast tokenizer) in m; use --encoder torch")

    with pytest.raises(ModelError, match="no tokenizer.json"):
        backends._opened(Path("m"), "m", "onnx", lambda out: None, refuse)
    assert discarded == []
    opened: list[Path] = []

    def corrupt_once(folder: Path) -> FakeEncoder:
        opened.append(folder)
        if len(opened) == 1:
            raise RuntimeError("protobuf parsing failed")
        return FakeEncoder()

    assert isinstance(backends._opened(Path("m"), "m", "onnx", lambda out: None, corrupt_once), FakeEncoder)
    assert discarded == [Path("artefact")] and len(opened) == 2


@pytest.mark.parametrize("modes", [{"pooling_mode_cls_token": True},
                                   {"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True}])
def test_the_fast_backends_refuse_a_model_not_pooled_by_the_mean_alone(tmp_path: Path, modes: dict[str, bool]) -> None:
    """A model whose Pooling module is not mean pooling alone is refused, naming the fix, before anything is built."""
    model = _model(tmp_path / "model", b"weights")
    (model / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (model / "1_Pooling").mkdir()
    (model / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": False, **modes}))
    with pytest.raises(ModelError, match="the fast backends support mean pooling only; use --encoder torch"):
        backends.load("onnx", model, "model")


@pytest.mark.integration
def test_a_text_is_read_whole_up_to_the_models_token_limit() -> None:
    """Texts are cut at ``MAX_CHARS`` before tokenising, far past what 256 tokens hold: words 1,000 characters in
    are still read."""
    encoder = load_encoder(None, "float32", "onnx")
    opening = "the " * 230  # 920 characters, 230 tokens
    cats, tax = encoder.encode([opening + "cats", opening + "tax law"])
    assert float(cats @ tax) < 0.999


@pytest.mark.integration
def test_auto_falls_back_to_torch_float32_when_openvino_cannot_load(monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    """The default encoder's fallback is the float32 reference (its own cache name), whatever the CPU."""
    def unavailable(backend: str, model: Path, base: str) -> None:
        raise ModelError("--encoder openvino needs openvino: run `pip install openvino`")

    monkeypatch.setattr(backends, "load", unavailable)
    load_encoder.cache_clear()
    try:
        encoder = load_encoder(None, "float32", "auto")
        assert encoder.name == "all-MiniLM-L6-v2" and not encoder.bf16  # type: ignore[attr-defined]
        assert "the openvino backend is unavailable" in caplog.text
    finally:
        load_encoder.cache_clear()
