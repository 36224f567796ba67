"""The runtimes the fast backends run on (``matcher.backends`` chooses): ONNX Runtime, OpenVINO in its
throughput mode, and model2vec's static models."""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from matcher import artefact_builds
from matcher.encoder import MAX_CHARS, Encoder, _normalise
from matcher.errors import ModelError
from matcher.hidden_state import Feed, HiddenStateEncoder, mean_pool, sequential


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
    artefact_builds.no_telemetry()
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
