"""Fast encoder backends for the same model, chosen with ``--encoder NAME`` (``encoder.load_encoder`` dispatches).

Every backend returns unit-norm float32 vectors and has its own name, which keys the embedding cache, so vectors
from two backends are never mixed:

- ``torch`` (``all-MiniLM-L6-v2``): sentence-transformers in float32, the reference (``matcher.encoder``).
- ``torch-bf16`` (``+bf16``): the same under bfloat16 autocast; what ``--precision bfloat16`` selects.
- ``onnx`` (``+onnx``): the transformer exported once to ONNX (``matcher.artefact_builds``; cached by
  ``matcher.artefacts``) and run by ONNX Runtime in float32; the model's fast tokenizer (truncation at its
  max_seq_length, 256), mean pooling and L2 normalisation run in numpy. Agrees with ``torch`` to ~1e-7 and does
  not depend on the batch composition beyond ~1e-7.
- ``onnx-int8`` (``+onnx-int8``): the export with dynamic int8 quantisation (per-channel weights, quantised
  activations at run time). Cosine with float32 ~0.99 (above 0.98); not faster than ``onnx`` on AVX-512 CPUs.
- ``openvino`` (``+openvino``): OpenVINO compiles the same ONNX file at load (under a second) and runs it in its
  throughput mode, several batches at once. It runs in bfloat16 on CPUs with AMX or AVX-512 BF16 (cosine with
  float32 ~0.99995) and in float32 elsewhere. Like every ``HiddenStateEncoder`` it gives a text the same vector
  whatever it is batched with (texts are padded to a length fixed by their own token count).
- ``openvino-int8`` (``+openvino-int8``): OpenVINO running a static int8 quantisation of the export (weights and
  activations; ``artefact_builds.quantise_static_int8``, calibrated on shipped sample posts): about 1.55x
  ``openvino`` on AVX-512 VNNI CPUs, cosine with float32 ~0.996.
- ``fast`` (``+openvino-int8-t48``): the fast path, ``openvino-int8`` reading at most ``FAST_TOKENS`` tokens of a
  text: 3x the default on real comments (about 63 tokens), the int8 gain alone on short posts.
- ``model2vec`` (``+m2v256``): a static model distilled once from the local model with model2vec (every
  vocabulary token embedded by the transformer, PCA to 256 dims, Zipf weights); a text is the mean of its tokens'
  vectors. Hundreds of times faster, but a different, cruder space: its nearest neighbours only partly agree.
- ``auto`` (the default): ``openvino``, or ``torch`` float32 with a warning on stderr when OpenVINO is missing or
  the export fails. It is the fastest backend with no measurable loss on the dev data (README, 'Encoders').

The ONNX and OpenVINO backends support the models sentence-transformers runs as a Transformer, mean pooling and
normalisation (as MiniLM); they refuse one with any other module (a Dense projection: ``_check_modules``).

Here: the backends' names, their packages, and loading one (its artefacts built or opened). The rest is in
modules of its own, all importable from here as before: texts to vectors through a transformer's hidden states
in ``matcher.hidden_state``, the runtimes (ONNX Runtime, OpenVINO, model2vec) in ``matcher.runtimes``, which
models they run in ``matcher.model_checks``.
"""

import logging
from collections.abc import Callable
from pathlib import Path

from matcher import artefact_builds, artefacts
from matcher.encoder import DEFAULT_MODEL, Encoder
from matcher.errors import ModelError
from matcher.hidden_state import (
    CALIBRATION_TEXTS,
    PAD_STEP,
    TOKENS_PER_ROW,
    Feed,
    HiddenStateEncoder,
    Pipeline,
    calibration_feeds,
    mean_pool,
    model_inputs,
    padded_length,
    rows_per_batch,
    sequential,
)
from matcher.model_checks import RUN_MODULES, _check_modules
from matcher.runtimes import SHAPES_KEPT, StaticEncoder, _onnx_runtime, _openvino

__all__ = [
    # kept here
    "FAST_TOKENS", "PACKAGES", "SUFFIX", "encoder_option", "load", "load_auto",
    # matcher.hidden_state, matcher.runtimes, matcher.model_checks
    "CALIBRATION_TEXTS", "PAD_STEP", "TOKENS_PER_ROW", "Feed", "HiddenStateEncoder", "Pipeline", "calibration_feeds",
    "mean_pool", "model_inputs", "padded_length", "rows_per_batch", "sequential", "SHAPES_KEPT", "StaticEncoder",
    "RUN_MODULES",
]

log = logging.getLogger(__name__)

SUFFIX = {"torch": "", "torch-bf16": "+bf16", "onnx": "+onnx", "onnx-int8": "+onnx-int8", "openvino": "+openvino",
          "openvino-int8": "+openvino-int8", "fast": "+openvino-int8-t48", "model2vec": "+m2v256"}
PACKAGES = {"onnx": ("onnxruntime", "onnx"), "onnx-int8": ("onnxruntime", "onnx"),
            "openvino": ("openvino", "onnxruntime", "onnx"),
            "openvino-int8": ("openvino", "nncf", "onnxruntime", "onnx"),
            "fast": ("openvino", "nncf", "onnxruntime", "onnx"), "model2vec": ("model2vec", "skeletoken")}


def encoder_option(name: str) -> str:
    """The option that gives an encoder of this name (``SUFFIX``), as a message names it: `--encoder fast`."""
    backend = max((b for b, end in SUFFIX.items() if end and name.endswith(end)), key=lambda b: len(SUFFIX[b]),
                  default="torch")
    return f"`--encoder {backend}`" + ("" if name.startswith(DEFAULT_MODEL) else " and the same --model")


FAST_TOKENS = 48  # what `fast` reads of each text: the most that is 3x the default on real comments (README)


def load(backend: str, model: Path, base: str) -> Encoder:
    """The encoder of a fast backend (not torch, not auto) for the model folder; artefacts built when missing."""
    _require(backend)
    name = base + SUFFIX[backend]
    if backend == "model2vec":
        return _opened(model, base, "m2v256", lambda out: artefact_builds.distil_static(model, out),
                       lambda folder: StaticEncoder(name, folder))
    _check_modules(model)

    def export(out: Path) -> None:
        artefact_builds.export_onnx(model, out)

    if backend == "onnx-int8":
        source = artefacts.ensure(model, base, "onnx", export)
        return _opened(model, base, "onnx-int8", lambda out: artefact_builds.quantise_int8(source, out),
                       lambda folder: _onnx_runtime(name, model, folder))
    if backend in ("openvino-int8", "fast"):
        source = artefacts.ensure(model, base, "onnx", export)
        cap = FAST_TOKENS if backend == "fast" else None
        return _opened(model, base, "ov-int8",
                       lambda out: artefact_builds.quantise_static_int8(source, out, calibration_feeds(model)),
                       lambda folder: _openvino(name, model, folder, cap))
    opener = _openvino if backend == "openvino" else _onnx_runtime
    return _opened(model, base, "onnx", export, lambda folder: opener(name, model, folder))


def load_auto(model: Path, base: str, fallback: Callable[[], Encoder]) -> Encoder:
    """The default encoder: ``openvino`` (2.5-3.5x torch float32 on this machine class, no loss of topic F1 on the
    dev data), or the fallback (torch float32) with a warning (logged: the CLI shows it on stderr) when it cannot be
    had."""
    try:
        return load("openvino", model, base)
    except Exception as exc:
        log.warning("Warning: encoder auto (the default): the openvino backend is unavailable (%s); using torch "
                    "float32", exc)
        return fallback()


def _opened(model: Path, base: str, kind: str, build: Callable[[Path], None],
            open_: Callable[[Path], Encoder]) -> Encoder:
    """Open the cached artefact; one that will not open (corrupt files of the right size) is built again, once."""
    folder = artefacts.ensure(model, base, kind, build)
    try:
        return open_(folder)
    except ModelError:
        raise
    except Exception:
        artefacts.discard(folder)
        return open_(artefacts.ensure(model, base, kind, build))


def _require(backend: str) -> None:
    import importlib.util

    missing = [p for p in PACKAGES[backend] if importlib.util.find_spec(p) is None]
    if missing:
        names = " ".join(p.replace("_", "-") for p in missing)
        raise ModelError(f"--encoder {backend} needs {names}: run `pip install {names}` (or `pip install -e .` in "
                         "the checkout), or use --encoder torch")
