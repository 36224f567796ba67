"""Model artefacts built once, locally, and cached: the ONNX export, its int8 quantisations (ONNX Runtime's
dynamic one, OpenVINO's static one), a static distillation.

Each artefact lives in ``$PERKMATCH_CACHE`` (default ``~/.cache/perkmatch``) in a folder named for its kind and
a key of the source model folder's content (its config, tokenizer and weights files) and the build recipe: a
reinstalled model, or the same model in another environment, finds the artefacts already built. A build runs in
a hidden temporary folder beside it, writes ``manifest.json`` (every file and its size, the build time) last, and
is renamed into place in one step: an interrupted build leaves no folder that looks complete, and a folder whose
manifest is missing or whose files do not match it is deleted and built again. Using or building an artefact
deletes the older builds it replaces (``prune``), so the cache does not grow with every model update or new
environment. Nothing is downloaded: the source is the local model folder.
"""

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from matcher.errors import ModelError

RECIPES = {  # kind -> (what it is, for messages; the recipe, part of the key: change it and the artefact is rebuilt)
    "onnx": ("ONNX export", "torch.onnx.export legacy tracer, opset 17, dynamic batch and sequence axes, v1"),
    "onnx-int8": ("int8 ONNX quantisation", "quantize_dynamic QInt8 per-channel, FFN output + last layer float32 v1"),
    "ov-int8": ("OpenVINO int8 quantisation", "nncf.quantize TRANSFORMER PERFORMANCE on 300 shipped sample posts, "
                "each padded as the encoder pads it, float32 weights kept, v1"),
    "m2v256": ("model2vec static distillation", "model2vec distill pca_dims=256 sif 1e-4 float16, v1"),
    "vocabulary": ("vocabulary's vectors", "whole words [a-z]{4,} of vocab.txt, by length, batches of 512, npy v1"),
}
CALIBRATION = Path(__file__).resolve().parent / "data" / "sample" / "posts.jsonl"  # what int8 is calibrated on
M2V_REMOVE = r"\[unused\d+\]"  # tokens left out of the static vocabulary (model2vec's default); tests shrink it
OPSET = 17
BUILDS: Counter[str] = Counter()  # kind -> builds done by this process (tests check that a cache is reused)
STALE_BUILD_SECONDS = 86_400  # a hidden build folder this old was left by a build that was killed
_WEIGHTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime): the weights' digest, once per process

log = logging.getLogger(__name__)  # a build's notice, at INFO: the CLI shows it on stderr (``cli.show_notices``)


def cache_root() -> Path:
    """$PERKMATCH_CACHE, else ~/.cache/perkmatch. A leading ~ is the home folder, as the shell reads it (a service's
    environment file does not expand it: a literal "~" folder was made in the working directory)."""
    return Path(os.environ.get("PERKMATCH_CACHE") or Path.home() / ".cache" / "perkmatch").expanduser()


def transformer_folder(model: Path) -> Path:
    """The folder of a sentence-transformers model's Transformer module (the model folder itself, usually)."""
    modules = model / "modules.json"
    if modules.exists():
        for module in json.loads(modules.read_text()):
            if str(module.get("type", "")).rsplit(".", 1)[-1] == "Transformer":  # (its class, whatever its module)
                return model / str(module.get("path", ""))
    return model


def source_key(model: Path, kind: str) -> str:
    """A key of the model folder's content and of the artefact's recipe."""
    digest = hashlib.sha256(f"{kind}\n{RECIPES[kind][1]}\n{M2V_REMOVE if kind == 'm2v256' else ''}\n".encode())
    if kind == "ov-int8":  # other calibration texts, another quantisation
        digest.update(CALIBRATION.read_bytes())
    folder = transformer_folder(model)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "sentence_bert_config.json"):
        if (folder / name).exists():
            digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).exists():
            digest.update(f"{name}\0{file_digest(folder / name)}".encode())
    return digest.hexdigest()[:16]


def file_digest(path: Path) -> str:
    """A file's SHA-256 (about 0.1 s for MiniLM's 90 MB of weights), computed once per process and file version."""
    stat = path.stat()
    version = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if version not in _WEIGHTS:
        h = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        _WEIGHTS[version] = h.hexdigest()
    return _WEIGHTS[version]


def artefact_folder(model: Path, base: str, kind: str) -> Path:
    return cache_root() / f"{base}-{kind}-{source_key(model, kind)}"


def manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest when every file it lists is there with its size; None for a partial or corrupt folder."""
    try:
        data: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
        if all((folder / name).stat().st_size == size for name, size in data["files"].items()):
            return data
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def ensure(model: Path, base: str, kind: str, build: Callable[[Path], None]) -> Path:
    """The artefact's folder, built first when it is missing, partial or corrupt; the builds it replaces go."""
    final = artefact_folder(model, base, kind)
    if manifest(final) is not None:
        prune(final, model, base, kind)
        return final
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
    except OSError as exc:
        raise ModelError(f"cannot write the model cache {root}: {exc}; "
                         "set PERKMATCH_CACHE to a writable folder") from exc
    log.info("building the %s of %s (once) ...", RECIPES[kind][0], base)
    try:
        start = time.perf_counter()
        build(tmp)
        files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
        (tmp / "manifest.json").write_text(json.dumps({
            "kind": kind, "source": str(model), "recipe": RECIPES[kind][1], "files": files,
            "build_seconds": round(time.perf_counter() - start, 2), "built_at": int(time.time())}, indent=1))
        _put(tmp, final)
        BUILDS[kind] += 1
        prune(final, model, base, kind)
        return final
    except ModelError:
        raise
    except ImportError as exc:
        raise ModelError(f"building the {RECIPES[kind][0]} needs a package that is missing ({exc}); "
                         "run `pip install -e .` in the checkout, or use --encoder torch") from exc
    except Exception as exc:
        raise ModelError(f"building the {RECIPES[kind][0]} of {base} failed: {type(exc).__name__}: {exc}; "
                         "use --encoder torch, or report it") from exc
    finally:
        discard(tmp)


def _put(tmp: Path, final: Path) -> None:
    """The build in ``tmp`` becomes the artefact, under a lock beside it: a folder already there is the same build,
    finished first by another process, which may be reading it now (kept; this one goes), or a partial or corrupt one
    (replaced). Without the lock two builds replacing a partial one could each find it partial: the second deleted
    the first's finished build (perhaps as its process read it), or failed to put its own in place."""
    from matcher.locks import file_lock  # (its SQLAlchemy is not needed to read an artefact)

    with file_lock(str(final.parent / f".{final.name}.lock")):
        if manifest(final) is not None:
            return
        if final.exists():
            discard(final)
        tmp.rename(final)


def prune(final: Path, model: Path, base: str, kind: str) -> list[Path]:
    """Delete the builds ``final`` replaces, and return them: the same artefact (base and kind) under another key,
    built from this model folder (whose content has changed since) or from one that no longer exists (an
    environment deleted), or left partial; and hidden build folders of it older than a day (a killed build).
    Builds from another model folder still there are kept: another environment may use them."""
    pattern = re.compile(rf"\.?{re.escape(base)}-{re.escape(kind)}-[0-9a-f]{{16}}(\..+)?")
    gone = []
    for folder in final.parent.iterdir():
        if folder == final or not folder.is_dir() or not pattern.fullmatch(folder.name):
            continue
        if folder.name.startswith("."):
            try:
                stale = time.time() - folder.stat().st_mtime > STALE_BUILD_SECONDS
            except OSError:
                continue
        else:
            data = manifest(folder)
            source = str(data.get("source", "")) if data else ""
            stale = data is None or data.get("kind") != kind or source == str(model) or not Path(source).is_dir()
        if stale:
            discard(folder)
            gone.append(folder)
    return gone


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
    return transformers.AutoModel.from_pretrained(str(transformer_folder(model))).eval()


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
            "from matcher.artefacts import _quantise_here; _quantise_here(*sys.argv[1:])")
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
            static = distill(model_name=str(transformer_folder(model)), pca_dims=256,
                             token_remove_pattern=M2V_REMOVE)
            static.save_pretrained(str(out))
    finally:
        inference.tqdm = bar  # type: ignore[attr-defined]
