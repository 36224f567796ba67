"""Fast encoder backends for the same model, chosen with ``--encoder NAME`` (``encoder.load_encoder`` dispatches).

Every backend returns unit-norm float32 vectors and has its own name, which keys the embedding cache, so vectors
from two backends are never mixed:

- ``torch`` (``all-MiniLM-L6-v2``): sentence-transformers in float32, the reference (``matcher.encoder``).
- ``torch-bf16`` (``+bf16``): the same under bfloat16 autocast; what ``--precision bfloat16`` selects.
- ``onnx`` (``+onnx``): the transformer exported once to ONNX (``matcher.artefacts``) and run by ONNX Runtime in
  float32; the model's fast tokenizer (truncation at its max_seq_length, 256), mean pooling and L2 normalisation
  run in numpy. Agrees with ``torch`` to ~1e-7 and does not depend on the batch composition beyond ~1e-7.
- ``onnx-int8`` (``+onnx-int8``): the export with dynamic int8 quantisation (per-channel weights, quantised
  activations at run time). Cosine with float32 ~0.99 (above 0.98); not faster than ``onnx`` on AVX-512 CPUs.
- ``openvino`` (``+openvino``): OpenVINO compiles the same ONNX file at load (under a second) and runs it in its
  throughput mode, several batches at once. It runs in bfloat16 on CPUs with AMX or AVX-512 BF16 (cosine with
  float32 ~0.99995) and in float32 elsewhere. Like every ``HiddenStateEncoder`` it gives a text the same vector
  whatever it is batched with (texts are padded to a length fixed by their own token count).
- ``openvino-int8`` (``+openvino-int8``): OpenVINO running a static int8 quantisation of the export (weights and
  activations; ``artefacts.quantise_static_int8``, calibrated on shipped sample posts): about 1.55x ``openvino``
  on AVX-512 VNNI CPUs, cosine with float32 ~0.996.
- ``fast`` (``+openvino-int8-t48``): the fast path, ``openvino-int8`` reading at most ``FAST_TOKENS`` tokens of a
  text: 3x the default on real comments (about 63 tokens), the int8 gain alone on short posts.
- ``model2vec`` (``+m2v256``): a static model distilled once from the local model with model2vec (every
  vocabulary token embedded by the transformer, PCA to 256 dims, Zipf weights); a text is the mean of its tokens'
  vectors. Hundreds of times faster, but a different, cruder space: its nearest neighbours only partly agree.
- ``auto`` (the default): ``openvino``, or ``torch`` float32 with a warning on stderr when OpenVINO is missing or
  the export fails. It is the fastest backend with no measurable loss on the dev data (README, 'Encoders').

The ONNX and OpenVINO backends support the models sentence-transformers runs as a Transformer, mean pooling and
normalisation (as MiniLM); they refuse one with any other module (a Dense projection: ``_check_modules``).
"""

import itertools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from matcher import artefacts
from matcher.encoder import DEFAULT_MODEL, MAX_CHARS, Encoder, _normalise
from matcher.errors import ModelError

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
CALIBRATION_TEXTS = 300  # shipped sample posts the int8 quantisation is calibrated on

Feed = dict[str, np.ndarray]
# Runs batches of token ids (each with its attention mask) through the transformer; returns each batch's
# mean-pooled vectors, in order.
Pipeline = Callable[[Iterable[tuple[Feed, np.ndarray]]], list[np.ndarray]]


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of each text's token states over its real (unpadded) tokens."""
    weights = mask.astype(np.float32)
    pooled: np.ndarray = np.einsum("bsd,bs->bd", np.asarray(hidden, dtype=np.float32), weights) / np.maximum(
        weights.sum(1, keepdims=True), 1e-9)
    return pooled


def sequential(run: Callable[[Feed], np.ndarray]) -> Pipeline:
    """A pipeline running one batch at a time on a synchronous runtime (ONNX Runtime)."""
    def pipeline(batches: Iterable[tuple[Feed, np.ndarray]]) -> list[np.ndarray]:
        return [mean_pool(run(feed), mask) for feed, mask in batches]
    return pipeline


class HiddenStateEncoder:
    """A transformer run by ONNX Runtime or OpenVINO on token ids; mean pooling and normalisation in numpy.

    **A text's vector depends on the text alone**, never on the other texts encoded with it. Each text is padded
    to a length fixed by its own token count (``padded_length``: the next multiple of ``PAD_STEP``), texts of
    one padded length are batched together (``rows_per_batch`` of them at most), and the pipeline runs the
    batches (OpenVINO: several at once); the vectors are put back in order. Measured on OpenVINO in bfloat16: a
    text's output is bit-identical whatever the batch size and its batch mates, but moves by ~1e-3 with the
    padded length, which is why the padded length must not depend on the batch. The padding costs at most
    ``PAD_STEP - 1`` tokens a text, about 5 % on 50-token posts.
    """

    def __init__(self, name: str, model: Path, pipeline: Pipeline, inputs: list[str], batch_size: int = 64,
                 max_tokens: int | None = None) -> None:
        self.tokenizer, self.max_tokens, self.pad_id = _tokenizer(model, max_tokens)
        self.name, self.pipeline, self.inputs, self.batch_size = name, pipeline, set(inputs), batch_size
        self.dim = int(json.loads((artefacts.transformer_folder(model) / "config.json").read_text())["hidden_size"])

    def encode(self, texts: list[str]) -> np.ndarray:
        tokens = [(e.ids, e.type_ids) for e in self.tokenizer.encode_batch([t[:MAX_CHARS] for t in texts])]
        padded = [padded_length(len(ids), self.max_tokens) for ids, _ in tokens]
        order = sorted(range(len(tokens)), key=lambda i: (padded[i], i))
        batches = [rows for width, group in itertools.groupby(order, key=lambda i: padded[i])
                   for rows in _chunks(list(group), rows_per_batch(width, self.batch_size))]
        out = np.zeros((len(tokens), self.dim), dtype=np.float32)
        for rows, vectors in zip(batches, self.pipeline(self._feeds(tokens, padded, batches)), strict=True):
            out[rows] = vectors
        return _normalise(out)

    def _feeds(self, tokens: list[tuple[list[int], list[int]]], padded: list[int], batches: list[list[int]]
               ) -> Iterator[tuple[Feed, np.ndarray]]:
        """Each batch's model inputs and attention mask, built as the pipeline asks for them."""
        for rows in batches:
            feed = model_inputs([tokens[i] for i in rows], padded[rows[0]], self.pad_id)
            yield {k: v for k, v in feed.items() if k in self.inputs}, feed["attention_mask"]


def model_inputs(tokens: list[tuple[list[int], list[int]]], width: int, pad_id: int) -> Feed:
    """The transformer's inputs for texts' (token ids, token type ids), each padded to ``width``."""
    ids = np.full((len(tokens), width), pad_id, dtype=np.int64)
    types = np.zeros((len(tokens), width), dtype=np.int64)
    mask = np.zeros((len(tokens), width), dtype=np.int64)
    for r, (row_ids, row_types) in enumerate(tokens):
        ids[r, :len(row_ids)], types[r, :len(row_types)], mask[r, :len(row_ids)] = row_ids, row_types, 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def _tokenizer(model: Path, max_tokens: int | None = None) -> tuple[Any, int, int]:
    """The model's fast tokenizer, truncating at its max_seq_length (or ``max_tokens``, when fewer), without
    padding; that length; and the padding token's id."""
    from tokenizers import Tokenizer

    folder = artefacts.transformer_folder(model)
    if not (folder / "tokenizer.json").exists():
        raise ModelError(f"--model {model}: no tokenizer.json (a fast tokenizer) in {folder}; use --encoder torch")
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    length = min(_max_seq_length(folder), max_tokens or 1 << 30)
    tokenizer.enable_truncation(max_length=length)
    tokenizer.no_padding()  # tokenizer.json may pad to a fixed width: padding is done here, per text
    pad = tokenizer.token_to_id("[PAD]")
    return tokenizer, length, 0 if pad is None else pad


def calibration_feeds(model: Path) -> list[Feed]:
    """The model inputs of ``CALIBRATION_TEXTS`` of the shipped sample posts (in a fixed shuffled order), one text
    at a time, padded as ``HiddenStateEncoder`` pads it: what the int8 quantisation is calibrated on."""
    import random

    from matcher.records import embed_form

    rows = [json.loads(line) for line in artefacts.CALIBRATION.read_text(encoding="utf-8").splitlines()]
    texts = [embed_form(r["text"]) for r in rows]
    random.Random(0).shuffle(texts)
    tokenizer, length, pad = _tokenizer(model)
    feeds = []
    for encoding in tokenizer.encode_batch([t[:MAX_CHARS] for t in texts[:CALIBRATION_TEXTS]]):
        feeds.append(model_inputs([(encoding.ids, encoding.type_ids)], padded_length(len(encoding.ids), length), pad))
    return feeds


PAD_STEP = 8
TOKENS_PER_ROW = 32  # 64 texts of up to 32 tokens a batch, 36 of 56, 8 of 256


def padded_length(tokens: int, max_tokens: int) -> int:
    """The length a text of this many tokens is always padded to: the next multiple of ``PAD_STEP``."""
    return min(max(PAD_STEP, -(-tokens // PAD_STEP) * PAD_STEP), max(max_tokens, tokens))


def rows_per_batch(width: int, batch_size: int) -> int:
    """How many texts of this padded width a batch holds: ``batch_size``, fewer for long texts, so that a batch
    holds at most ``batch_size * TOKENS_PER_ROW`` tokens. The model's working memory (attention grows with the
    square of the length) is then bounded by that budget, not by the longest text in the input. Measured on
    12,000 real comments, 512 at a time: peak RSS 964 MB with 64 tokens a row, 771 MB with 32, 652 MB with 16,
    no slower at 32 (also on 51-token posts)."""
    return max(1, min(batch_size, batch_size * TOKENS_PER_ROW // width))


def _chunks(rows: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


class StaticEncoder:
    """A model2vec static model: a text is the weighted mean of its tokens' vectors.

    A text with no known token (empty, emoji only) gets the unknown token's vector, not zeros: vectors stay unit-norm.
    """

    def __init__(self, name: str, folder: Path) -> None:
        from model2vec import StaticModel

        self.model = StaticModel.from_pretrained(str(folder), force_download=False)
        self.name = name
        self.dim = int(self.model.dim)
        unk, mapping = self.model.unk_token_id, self.model.token_mapping
        blank = np.zeros(self.dim, dtype=np.float32)
        if unk is not None:
            blank = np.asarray(self.model.embedding[unk if mapping is None else mapping[unk]], dtype=np.float32)
        self.blank = blank if np.linalg.norm(blank) > 0 else np.eye(1, self.dim, dtype=np.float32)[0]

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self.model.encode([t[:MAX_CHARS] for t in texts], use_multiprocessing=False),
                             dtype=np.float32)
        vectors[np.linalg.norm(vectors, axis=1) == 0] = self.blank
        return _normalise(vectors)


def load(backend: str, model: Path, base: str) -> Encoder:
    """The encoder of a fast backend (not torch, not auto) for the model folder; artefacts built when missing."""
    _require(backend)
    name = base + SUFFIX[backend]
    if backend == "model2vec":
        return _opened(model, base, "m2v256", lambda out: artefacts.distil_static(model, out),
                       lambda folder: StaticEncoder(name, folder))
    _check_modules(model)

    def export(out: Path) -> None:
        artefacts.export_onnx(model, out)

    if backend == "onnx-int8":
        source = artefacts.ensure(model, base, "onnx", export)
        return _opened(model, base, "onnx-int8", lambda out: artefacts.quantise_int8(source, out),
                       lambda folder: _onnx_runtime(name, model, folder))
    if backend in ("openvino-int8", "fast"):
        source = artefacts.ensure(model, base, "onnx", export)
        cap = FAST_TOKENS if backend == "fast" else None
        return _opened(model, base, "ov-int8",
                       lambda out: artefacts.quantise_static_int8(source, out, calibration_feeds(model)),
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


def _onnx_runtime(name: str, model: Path, folder: Path) -> Encoder:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def run(feed: Feed) -> np.ndarray:
        return np.asarray(session.run(None, feed)[0])

    return HiddenStateEncoder(name, model, sequential(run), [i.name for i in session.get_inputs()])


_LOADED: list[Any] = []  # every OpenVINO model this process compiled, kept until it exits (``_openvino``)
SHAPES_KEPT = 100  # OpenVINO's per-shape cache (default 5,000): measured 2.3 GB -> 1.7 GB peak, no slower


def _openvino(name: str, model: Path, folder: Path, max_tokens: int | None = None) -> Encoder:
    """OpenVINO in its throughput mode: the CPU split into streams (2 of 1 core here), each running its own
    batch; tokenising the next batches overlaps with them (measured 1.5x the one-request latency mode). The
    folder's OpenVINO model (``model.xml``, the int8 one) or its ONNX export."""
    artefacts.no_telemetry()
    import openvino

    path = folder / "model.xml" if (folder / "model.xml").exists() else folder / "model.onnx"
    compiled = openvino.Core().compile_model(str(path), "CPU", {
        "PERFORMANCE_HINT": "THROUGHPUT",
        "CPU_RUNTIME_CACHE_CAPACITY": SHAPES_KEPT})
    queue = openvino.AsyncInferQueue(compiled)
    # never freed: after OpenVINO unloaded a second (int8) model in a process, the next Ctrl-C crashed it
    # (SIGSEGV as the signal was delivered); a command loads one model, which lives as long as it does
    _LOADED.append((compiled, queue))
    done: dict[int, np.ndarray] = {}

    def pooled(request: Any, job: tuple[int, np.ndarray]) -> None:
        done[job[0]] = mean_pool(request.get_output_tensor(0).data, job[1])

    queue.set_callback(pooled)

    def pipeline(batches: Iterable[tuple[Feed, np.ndarray]]) -> list[np.ndarray]:
        done.clear()
        count = 0
        for count, (feed, mask) in enumerate(batches, 1):
            queue.start_async(feed, (count - 1, mask))
        queue.wait_all()
        if len(done) != count:
            raise ModelError(f"--encoder openvino: {count - len(done)} of {count} batches returned no output")
        return [done.pop(i) for i in range(count)]

    return HiddenStateEncoder(name, model, pipeline, [i.get_any_name() for i in compiled.inputs],
                              max_tokens=max_tokens)


def _require(backend: str) -> None:
    import importlib.util

    missing = [p for p in PACKAGES[backend] if importlib.util.find_spec(p) is None]
    if missing:
        names = " ".join(p.replace("_", "-") for p in missing)
        raise ModelError(f"--encoder {backend} needs {names}: run `pip install {names}` (or `pip install -e .` in "
                         "the checkout), or use --encoder torch")


RUN_MODULES = ("Transformer", "Pooling", "Normalize")  # the modules the ONNX and OpenVINO backends run


def _check_modules(model: Path) -> None:
    """Refuse a model the ONNX and OpenVINO backends would not run as sentence-transformers does: they run its
    Transformer, then mean pooling and normalisation in numpy. A module they do not run (a Dense projection after the
    pooling) was left out, and another pooling read as the mean: vectors of another space, and size, without a word.
    Module types are matched by their class name (sentence-transformers 5 writes ``...modules.pooling.Pooling``)."""
    modules = json.loads((model / "modules.json").read_text()) if (model / "modules.json").exists() else []
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        if kind not in RUN_MODULES:
            raise ModelError(f"--model {model}: its module {module.get('path') or module.get('name')} ({kind}) is one "
                             "the fast backends do not run (they run a Transformer, mean pooling and normalisation "
                             "only); use --encoder torch")
        if kind == "Pooling" and not _mean_pooling(json.loads((model / module["path"] / "config.json").read_text())):
            raise ModelError(f"--model {model}: the fast backends support mean pooling only; use --encoder torch")


def _mean_pooling(config: dict[str, Any]) -> bool:
    """Whether a Pooling module's config is the mean of the token states alone (``pooling_mode: mean`` in
    sentence-transformers 5, ``pooling_mode_mean_tokens`` and no other mode before)."""
    if "pooling_mode" in config:
        mode = config["pooling_mode"]
        return mode == "mean" or (isinstance(mode, list) and mode == ["mean"])
    return bool(config.get("pooling_mode_mean_tokens")) and sum(
        bool(v) for k, v in config.items() if k.startswith("pooling_mode")) == 1


def _max_seq_length(folder: Path) -> int:
    config = folder / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length") or 256)
    return int(json.loads((folder / "config.json").read_text()).get("max_position_embeddings", 512))
