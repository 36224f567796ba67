"""Texts to vectors through a transformer's hidden states, as the ONNX and OpenVINO backends run it
(``matcher.backends``): the model's fast tokenizer, each text padded to a length fixed by its own token count,
batches of one padded length, mean pooling and normalisation in numpy; and the inputs the int8 quantisation is
calibrated on."""

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from matcher import artefacts
from matcher.encoder import MAX_CHARS, _normalise
from matcher.errors import ModelError

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


def _max_seq_length(folder: Path) -> int:
    config = folder / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length") or 256)
    return int(json.loads((folder / "config.json").read_text()).get("max_position_embeddings", 512))
