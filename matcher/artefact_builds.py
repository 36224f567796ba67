"""How each model artefact is built (``artefacts.ensure`` calls these in a hidden folder it then puts in place): the
ONNX export, checked against torch; its int8 quantisations, ONNX Runtime's dynamic one and OpenVINO's static one (in a
process of its own); the model2vec static distillation. Nothing is downloaded: the source is the local model folder.
"""

import contextlib
import logging
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from matcher import artefacts
from matcher.errors import ModelError

OPSET = 17


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No third-party warnings or log lines while building: only our own message."""
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def _load_transformer(model: Path) -> Any:
    import transformers

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    return transformers.AutoModel.from_pretrained(str(artefacts.transformer_folder(model))).eval()


def export_onnx(model: Path, out: Path) -> None:
    """The transformer (token ids -> last hidden state) as ONNX, checked against torch on a padded batch."""
    import numpy as np
    import onnxruntime
    import torch

    class Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    net = Hidden(_load_transformer(model)).eval()
    ids = torch.tensor([[101, 7592, 2088, 2003, 1037, 3231, 102], [101, 7592, 102, 0, 0, 0, 0]])
    inputs = (ids, (ids != 0).long(), torch.zeros_like(ids))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with _quiet():
        torch.onnx.export(net, inputs, str(out / "model.onnx"), input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]},
                          opset_version=OPSET, dynamo=False)
    with torch.no_grad():
        expected = net(*inputs).numpy()
    session = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})[0]
    mask = inputs[1].numpy()[..., None].astype(bool)
    error = float(np.abs(np.where(mask, got - expected, 0)).max())
    if error > 1e-4:
        raise ModelError(f"the ONNX export of {model} differs from torch by {error:.2g}; use --encoder torch")


def quantise_int8(source: Path, out: Path) -> None:
    """Dynamic int8 quantisation (per-channel weights) of an ONNX export, keeping in float32 the feed-forward output
    projections and the last layer, where quantising costs most agreement: on 2,500 posts, mean cosine with
    float32 0.992 -> 0.996 and 10-nearest-neighbour overlap 0.88 -> 0.92; on very short texts (``lol``) the
    worst cosine 0.977 -> 0.982. About a third of the int8 speed-up is given up for it."""
    import re

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    matmuls = [n.name for n in onnx.load(str(source / "model.onnx")).graph.node if n.op_type == "MatMul"]
    layers = [int(m.group(1)) for name in matmuls if (m := re.search(r"layer\.(\d+)/", name))]
    last = f"layer.{max(layers)}/" if layers else "\0"
    keep = [n for n in matmuls if ("/output/dense/" in n and "/attention/" not in n) or last in n]
    with _quiet():
        quantize_dynamic(str(source / "model.onnx"), str(out / "model.onnx"), per_channel=True,
                         weight_type=QuantType.QInt8, nodes_to_exclude=keep)


def quantise_static_int8(source: Path, out: Path, feeds: list[dict[str, Any]]) -> None:
    """Static int8 quantisation (weights and activations, ``nncf.quantize``'s transformer recipe) of an ONNX export
    for OpenVINO, calibrated on ``feeds`` (the model inputs of sample texts, each as the encoder would give it),
    saved as OpenVINO's ``model.xml``. On AVX-512 VNNI it runs about 1.55 times the bfloat16 model (README,
    'Encoders'). Built in a process of its own: NNCF brings torch and thread pools of its own, which the command
    that asked for the build need not carry (nor their memory) for the rest of its run."""
    import numpy as np

    np.savez(out / "calibration.npz", **{f"{i}:{k}": v for i, feed in enumerate(feeds) for k, v in feed.items()})
    # Ctrl-C reaches every process of the terminal's group: the command stops the build (``subprocess.run`` kills this
    # one), so this one ignores it; before, it printed NNCF's traceback above the command's "Interrupted:"
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            "from matcher.artefact_builds import _quantise_here; _quantise_here(*sys.argv[1:])")
    done = subprocess.run([sys.executable, "-c", code, str(source), str(out)], stdout=sys.stderr, text=True)
    (out / "calibration.npz").unlink(missing_ok=True)
    if done.returncode:
        raise ModelError(f"the OpenVINO int8 quantisation failed (exit status {done.returncode}; its error is above); "
                         "use --encoder openvino")


def no_telemetry() -> None:
    """Keep OpenVINO's (and NNCF's) telemetry from running in this process: importing ``openvino`` imports its
    conversion tools, which send a usage event to Google Analytics from a process they fork. perkmatch makes no
    network calls beyond the package registries, and that fork once hung a command at exit (its child deadlocked in
    ``getaddrinfo``, and the exit waited for it). Their telemetry package made unimportable, each falls back to its
    own no-op stub. Call before the first ``import openvino`` (or ``nncf``)."""
    sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]


def _quantise_here(source: str, out: str) -> None:
    """``quantise_static_int8``'s work, in the process it starts."""
    no_telemetry()
    import nncf
    import numpy as np
    import openvino

    with np.load(Path(out) / "calibration.npz") as saved:
        feeds: dict[int, dict[str, Any]] = {}
        for key in saved.files:
            i, name = key.split(":", 1)
            feeds.setdefault(int(i), {})[name] = saved[key]
    nncf.set_log_level(logging.ERROR)
    with _quiet():
        model = openvino.Core().read_model(str(Path(source) / "model.onnx"))
        names = {i.get_any_name() for i in model.inputs}
        dataset = nncf.Dataset([{k: v for k, v in feeds[i].items() if k in names} for i in sorted(feeds)])
        quantised = nncf.quantize(model, dataset, model_type=nncf.ModelType.TRANSFORMER, subset_size=len(feeds),
                                  preset=nncf.QuantizationPreset.PERFORMANCE)
        openvino.save_model(quantised, str(Path(out) / "model.xml"), compress_to_fp16=False)


def distil_static(model: Path, out: Path) -> None:
    """A model2vec static model: every vocabulary token embedded once, PCA to 256 dims, Zipf (SIF) weights."""
    import functools

    import transformers
    from model2vec.distill import distill, inference

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    bar = inference.tqdm  # type: ignore[attr-defined]  # (model2vec imports it without exporting it)
    inference.tqdm = functools.partial(bar, disable=True)  # type: ignore[attr-defined]  # model2vec has no switch for its progress bar
    try:
        with _quiet():
            static = distill(model_name=str(artefacts.transformer_folder(model)), pca_dims=256,
                             token_remove_pattern=artefacts.M2V_REMOVE)
            static.save_pretrained(str(out))
    finally:
        inference.tqdm = bar  # type: ignore[attr-defined]
