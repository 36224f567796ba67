"""An operator's journey through the encoders (README, "Encoders"): another --model, switching encoders on one
database, and the cached builds."""

import contextlib
import json
import shutil
import threading
from pathlib import Path

import pytest

from catalog.refresh import text_key
from matcher import artefacts, backends
from matcher.embed import EmbeddingCache
from matcher.encoder import FakeEncoder
from matcher.errors import ModelError

ST5 = "sentence_transformers.base.modules"  # where sentence-transformers 5 saves its module types


def _st5_model(folder: Path, *extra: tuple[str, str], pooling: str = "mean") -> Path:
    """A model folder as sentence-transformers 5 saves it: a Transformer at the top, a Pooling module (its new config
    form), then ``extra`` modules (path, class) and Normalize."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "bert", "hidden_size": 384}')
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"embedding_dimension": 384, "pooling_mode": pooling}))
    modules = [("", f"{ST5}.transformer.Transformer"),
               ("1_Pooling", "sentence_transformers.sentence_transformer.modules.pooling.Pooling"),
               *((path, f"{ST5}.{kind.lower()}.{kind}") for path, kind in extra),
               ("3_Normalize", f"{ST5}.normalize.Normalize")]
    (folder / "modules.json").write_text(json.dumps([{"idx": i, "name": str(i), "path": path, "type": kind}
                                                     for i, (path, kind) in enumerate(modules)]))
    return folder


def test_a_fast_backend_refuses_a_model_with_a_dense_layer_it_would_leave_out(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A model saved with a Dense projection after its pooling (384 -> 128 dims) ran under `--encoder onnx` (or
    openvino, or the default) without it: 384-dim vectors of another space, where torch gave 128, and no word. The
    module types sentence-transformers 5 writes (``...modules.pooling.Pooling``) were not recognised at all."""
    monkeypatch.setenv("PERKMATCH_CACHE", str(tmp_path / "cache"))
    dense = _st5_model(tmp_path / "dense128", ("2_Dense", "Dense"))
    with pytest.raises(ModelError, match=r"--model .*dense128: its module 2_Dense \(Dense\) is one the fast backends "
                                         r"do not run .*; use --encoder torch"):
        backends.load("onnx", dense, "dense128")
    assert not (tmp_path / "cache").exists()  # refused before any build


def test_a_fast_backend_reads_the_pooling_config_sentence_transformers_5_writes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``pooling_mode: cls`` is refused (before, any pooling of a sentence-transformers 5 model was run as the mean);
    ``pooling_mode: mean`` with a Transformer and Normalize is run."""
    with pytest.raises(ModelError, match=r"support mean pooling only; use --encoder torch"):
        backends._check_modules(_st5_model(tmp_path / "cls", pooling="cls"))
    backends._check_modules(_st5_model(tmp_path / "mean"))


def test_the_transformer_folder_of_a_sentence_transformers_5_model_is_found(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The Transformer module is found by its class, whatever module path its type names."""
    folder = tmp_path / "model"
    (folder / "0_Transformer").mkdir(parents=True)
    modules = [{"path": "0_Transformer", "type": f"{ST5}.transformer.Transformer"}]
    (folder / "modules.json").write_text(json.dumps(modules))
    assert artefacts.transformer_folder(folder) == folder / "0_Transformer"


def test_model_dot_is_named_by_its_folder_as_any_other_path_to_it(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`cd my-model && perkmatch --model . profile` stored every vector under the encoder name "" (the default's
    "+openvino"), `status` said "texts embedded by " and a later `--model ../my-model` embedded everything again;
    `--model ..` was named ".." whatever folder it was. Ray's workers are given the folder's absolute path."""
    from matcher.cli import common
    from matcher.encoder import base_name

    model = tmp_path / "my model"
    (model / "sub").mkdir(parents=True)
    monkeypatch.chdir(model)
    assert base_name(".") == base_name("./") == base_name(str(model)) == "my model"
    monkeypatch.chdir(model / "sub")
    assert base_name("..") == "my model"
    assert common.encoder_factory("..").args[0] == str(model)  # type: ignore[attr-defined]


def _loaded(name: str, dim: int, folder: str, digest: str | None) -> FakeEncoder:
    """A fake standing for an encoder ``load_encoder`` gave: named by its folder, with its model's digest."""
    encoder = FakeEncoder(dim=dim)
    encoder.name, encoder.folder = name, Path(folder)  # type: ignore[attr-defined]
    if digest is not None:
        encoder.model_digest = digest  # type: ignore[attr-defined]
    return encoder


def test_two_models_in_folders_of_one_name_never_share_vectors(engine) -> None:  # type: ignore[no-untyped-def]
    """The embedding cache's key is the model folder's name: a fine-tuned model saved as `.../v2/my-model` read the
    vectors `.../v1/my-model` had stored, as its own, without a word. Now the database names the model behind each
    name (when it stores its first vectors) and refuses another; the same model from elsewhere (a reinstall) reads
    them."""
    EmbeddingCache(engine, _loaded("my-model", 32, "/v1/my-model", "aaaa")).vectors(["hello there"])
    with pytest.raises(ModelError, match=r"--model /v2/my-model: the vectors this database holds under the encoder "
                                         r"name my-model were made by the model in /v1/my-model \(32 dimensions\), "
                                         r"not by this one \(32\): .*a folder of a name of its own"):
        EmbeddingCache(engine, _loaded("my-model", 32, "/v2/my-model", "bbbb"))
    moved = EmbeddingCache(engine, _loaded("my-model", 32, "/elsewhere/my-model", "aaaa"))
    assert moved.missing([text_key("hello there")]) == set()


def test_a_model_of_another_size_under_the_same_name_is_refused_not_a_traceback(engine) -> None:  # type: ignore[no-untyped-def]
    """A database from before names no model: a 128-dim model saved in a folder named all-MiniLM-L6-v2 read the
    384-dim vectors stored under that name and stopped with "ValueError: cannot reshape array" and a traceback."""
    EmbeddingCache(engine, _loaded("all-MiniLM-L6-v2", 64, "", None)).vectors(["hello there"])  # stored, unnamed
    with pytest.raises(ModelError, match=r"were made by another model \(64 dimensions\), not by this one \(32\)"):
        EmbeddingCache(engine, _loaded("all-MiniLM-L6-v2", 32, "/models/all-MiniLM-L6-v2", "cccc"))


def test_of_two_runs_starting_with_two_models_of_one_name_the_second_to_store_is_refused(engine) -> None:  # type: ignore[no-untyped-def]
    """Both start on an empty cache; the first to store vectors names its model; the other's are refused, unstored."""
    first = EmbeddingCache(engine, _loaded("my-model", 32, "/v1/my-model", "aaaa"))
    second = EmbeddingCache(engine, _loaded("my-model", 32, "/v2/my-model", "bbbb"))
    first.vectors(["one"])
    with pytest.raises(ModelError, match="made by the model in /v1/my-model"):
        second.vectors(["two"])
    assert first.missing([text_key("two")]) == {text_key("two")}


def test_the_cli_says_which_model_made_the_vectors(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`--model v2/my-model` after `--model v1/my-model` on one database: one line naming both folders, exit 1."""
    from typer.testing import CliRunner

    from matcher import encoder as encoder_module
    from matcher.cli import app

    monkeypatch.setattr(encoder_module, "load_encoder", lambda model, precision, backend: _loaded(
        encoder_module.base_name(model), 32, model, model.split("/")[-2]))
    catalog = str(Path(encoder_module.__file__).parent / "data" / "sample" / "catalog.yaml")
    db = str(tmp_path / "x.db")
    runner = CliRunner()
    assert runner.invoke(app, ["--db", db, "--model", "v1/my-model", "catalog", "refresh", catalog]).exit_code == 0
    result = runner.invoke(app, ["--db", db, "--model", "v2/my-model", "catalog", "refresh", catalog])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Error: --model v2/my-model: the vectors this database holds under the encoder name my-model were made by " \
           f"the model in {Path('v1/my-model').absolute()} (32 dimensions)" in result.output


def test_a_models_digest_follows_what_makes_its_vectors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Its files and its modules' (a Dense layer's weights) count; a README does not, nor where the folder is."""
    from matcher.encoder import model_digest

    model = _st5_model(tmp_path / "a" / "m", ("2_Dense", "Dense"))
    (model / "2_Dense").mkdir()
    (model / "2_Dense" / "model.safetensors").write_bytes(b"dense v1")
    before = model_digest(model)
    (model / "README.md").write_text("notes")
    shutil.copytree(model, tmp_path / "b" / "m")
    assert model_digest(model) == model_digest(tmp_path / "b" / "m") == before
    (model / "2_Dense" / "model.safetensors").write_bytes(b"dense v2")
    assert model_digest(model) != before


def test_a_models_digest_leaves_out_what_does_not_change_its_vectors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A package update that re-saves only the files saying which library versions wrote the model, or drops another
    framework's copy of the weights, reads the vectors stored before (the database refused the packaged model after
    such an update, with advice, "copy or rename it", that cannot be followed for it). Its weights and its modules'
    settings (mean or CLS pooling) still count."""
    from matcher.encoder import model_digest

    model = _st5_model(tmp_path / "m")
    (model / "model.safetensors").write_bytes(b"weights v1")
    (model / "tf_model.h5").write_bytes(b"the same weights, for TensorFlow")
    before = model_digest(model)
    (model / "config.json").write_text('{"model_type": "bert", "transformers_version": "9.9.9"}')
    (model / "config_sentence_transformers.json").write_text('{"__version__": {"sentence_transformers": "9.9"}}')
    (model / "tf_model.h5").unlink()
    assert model_digest(model) == before
    (model / "1_Pooling" / "config.json").write_text(json.dumps({"embedding_dimension": 384, "pooling_mode": "cls"}))
    cls = model_digest(model)
    assert cls != before
    (model / "model.safetensors").write_bytes(b"weights v2")
    assert model_digest(model) not in (before, cls)


def _stand_in_model(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


def test_a_build_finished_second_keeps_the_one_another_process_finished_first(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two commands building one artefact at once (two `--encoder onnx` runs on a new machine): the one finishing
    second deleted the first's complete folder, which that process was reading (OpenVINO compiling its model.onnx,
    numpy loading the vocabulary's vectors), and put its own in its place. Now the folder finished first stays."""
    monkeypatch.setenv("PERKMATCH_CACHE", str(tmp_path / "cache"))
    model = _stand_in_model(tmp_path / "m")
    final = artefacts.artefact_folder(model, "m", "vocabulary")

    def other_process_finishes_first(out: Path) -> None:
        (out / "vectors.npy").write_bytes(b"ours")
        final.mkdir()
        (final / "vectors.npy").write_bytes(b"theirs")
        (final / "manifest.json").write_text(json.dumps({"kind": "vocabulary", "source": str(model),
                                                         "files": {"vectors.npy": 6}}))
        (final / "open").write_text("a file the other process holds open")

    assert artefacts.ensure(model, "m", "vocabulary", other_process_finishes_first) == final
    assert (final / "open").exists() and (final / "vectors.npy").read_bytes() == b"theirs"
    assert [p.name for p in final.parent.iterdir() if p.is_dir()] == [final.name]  # this one's build folder is gone


def test_a_partial_folder_in_the_way_is_still_replaced_by_the_build(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A folder with no manifest (a copy cut short) is built again and replaced."""
    monkeypatch.setenv("PERKMATCH_CACHE", str(tmp_path / "cache"))
    model = _stand_in_model(tmp_path / "m")
    final = artefacts.artefact_folder(model, "m", "vocabulary")
    final.mkdir(parents=True)
    (final / "vectors.npy").write_bytes(b"cut")
    assert artefacts.ensure(model, "m", "vocabulary", lambda out: (out / "vectors.npy").write_bytes(b"built")) == final
    assert (final / "vectors.npy").read_bytes() == b"built" and artefacts.manifest(final) is not None


def test_two_builds_replacing_one_partial_folder_keep_one_whole_build(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two commands at once (threads here: flock(2) locks are per open file) each find a partial folder and build: both
    found it partial at the end too, so the second to finish deleted the first's finished build (which its process
    may have been reading) to put its own in place, or its rename failed and the command with it. Now the swap is
    locked: the second finds a whole build there, keeps it, and both return it."""
    monkeypatch.setenv("PERKMATCH_CACHE", str(tmp_path / "cache"))
    model = _stand_in_model(tmp_path / "m")
    final = artefacts.artefact_folder(model, "m", "vocabulary")
    final.mkdir(parents=True)
    (final / "vectors.npy").write_bytes(b"cut")
    both_built, both_replacing = threading.Barrier(2), threading.Barrier(2)
    returned: dict[str, Path | BaseException] = {}
    real_discard = artefacts.discard

    def discard(folder: Path) -> None:
        if folder == final:  # both commands about to replace the partial folder at once, if they can be
            with contextlib.suppress(threading.BrokenBarrierError):
                both_replacing.wait(2)
        real_discard(folder)

    monkeypatch.setattr(artefacts, "discard", discard)

    def command(name: str) -> None:
        def build(out: Path) -> None:
            (out / "vectors.npy").write_bytes(name.encode())
            both_built.wait(10)  # neither puts its build in place before both have built

        try:
            returned[name] = artefacts.ensure(model, "m", "vocabulary", build)
        except BaseException as exc:  # noqa: BLE001  (what the command would have failed with)
            returned[name] = exc

    threads = [threading.Thread(target=command, args=(name,)) for name in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert returned == {"first": final, "second": final}
    assert artefacts.manifest(final) is not None and (final / "vectors.npy").read_bytes() in (b"first", b"second")
    assert [p.name for p in final.parent.iterdir() if p.is_dir()] == [final.name]


def test_status_calls_for_the_encoder_the_profile_run_was_made_with(tmp_path, write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """After `perkmatch --encoder onnx profile`, `status` said "next: perkmatch match": run as said, `match` refused
    the run ("made with the encoder all-MiniLM-L6-v2+onnx"), and a `perkmatch profile` as said for new posts embedded
    every text again with the default encoder. The run records the options that gave its encoder; the steps name
    them."""
    from typer.testing import CliRunner

    from matcher.cli import app, common
    from tests.test_cli_match import PERKS, TAXONOMY, posts_for

    def onnx(eng, model):  # type: ignore[no-untyped-def]
        encoder = FakeEncoder()
        encoder.options = "--encoder onnx"  # type: ignore[attr-defined]  # as load_encoder gives it
        return EmbeddingCache(eng, encoder)

    monkeypatch.setattr(common, "cache", onnx)
    users = [{"user_id": "ann", "consent": "opted_in"}]
    db, runner = str(tmp_path / "w.db"), CliRunner()
    for args in (["taxonomy", "load", write("t.yaml", TAXONOMY)], ["catalog", "refresh", write("c.yaml", PERKS)],
                 ["ingest", write("p.jsonl", posts_for("ann", "flights airport lounge travel")), "--users",
                  write("u.jsonl", users)], ["--encoder", "onnx", "profile", "--as-of", "2025-03-01"]):
        assert runner.invoke(app, ["--db", db, *args]).exit_code == 0
    report = json.loads(runner.invoke(app, ["--db", db, "status", "--json"]).stdout)
    assert report["profile"]["encoder_options"] == "--encoder onnx"
    assert report["next"] == ["perkmatch --encoder onnx match: no match run yet"]
    new = [{"post_id": "ann-new", "user_id": "ann", "text": "trips flights airport", "created_at": 1_736_000_000}]
    assert runner.invoke(app, ["--db", db, "ingest", write("q.jsonl", new)]).exit_code == 0
    assert runner.invoke(app, ["--db", db, "status"]).stdout.splitlines()[-2].startswith(
        "  perkmatch --encoder onnx profile: profile run 1: 1 post by 1 user added or changed since it started")


def test_the_options_a_run_records_load_its_encoder_again(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """None for the default's (auto, or openvino, with the packaged model); the older --precision as --encoder."""
    from matcher.encoder import given_options

    monkeypatch.chdir(tmp_path)
    assert given_options(None, "auto", "float32") == given_options(None, "openvino", "float32") == ""
    assert given_options(None, "torch", "bfloat16") == "--encoder torch-bf16"
    assert given_options(None, "torch", "float32") == "--encoder torch"
    assert given_options("my model", "fast", "float32") == f"--model '{tmp_path}/my model' --encoder fast"
    assert given_options("m", "auto", "float32") == f"--model {tmp_path}/m"


@pytest.mark.integration
def test_ctrl_c_during_the_int8_build_ends_with_one_line_and_no_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C reaches every process of the terminal's group: during `--encoder openvino-int8`'s one-off build, the
    NNCF process it runs printed a 30-line traceback ("KeyboardInterrupt" in openvino's infer) above the command's
    "Interrupted: no match run was made". Now that process leaves Ctrl-C to the command, which stops it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "PERKMATCH_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    command = subprocess.Popen([sys.executable, "-m", "matcher", "--db", str(tmp_path / "x.db"), "--encoder",
                                "openvino-int8", "catalog", "refresh", "--dry-run",
                                str(root / "matcher" / "data" / "sample" / "catalog.yaml")],
                               env=env, cwd=tmp_path, start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list((tmp_path / "cache").glob(".*ov-int8*/calibration.npz")):  # the NNCF process is starting
        assert command.poll() is None and time.monotonic() < deadline, command.communicate()
        time.sleep(0.2)
    time.sleep(1.5)  # as it imports NNCF (later, in a native call, the command may kill it before it prints)
    os.killpg(command.pid, signal.SIGINT)  # as a terminal sends it
    _, err = command.communicate(timeout=60)
    assert command.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.splitlines()[-1].startswith("Interrupted:"), err
    assert not list((tmp_path / "cache").glob("*ov-int8*"))  # nothing of the build is left


def test_a_cache_folder_given_with_a_tilde_is_in_the_home_folder(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """PERKMATCH_CACHE=~/models/perkmatch in a service's environment file (no shell to expand it) built every artefact
    in a folder literally named "~" in the working directory."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PERKMATCH_CACHE", "~/models/perkmatch")
    monkeypatch.chdir(tmp_path)
    assert artefacts.cache_root() == tmp_path / "home" / "models" / "perkmatch"
    model = _stand_in_model(tmp_path / "m")
    built = artefacts.ensure(model, "m", "vocabulary", lambda out: (out / "vectors.npy").write_bytes(b"v"))
    assert built.parent == tmp_path / "home" / "models" / "perkmatch" and not (tmp_path / "~").exists()
