"""An operator's journey through the encoders (README, "Encoders"): another --model, switching encoders on one
database, and the cached builds."""

import json
from pathlib import Path

import pytest

from matcher import artefacts, backends
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
