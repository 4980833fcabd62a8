"""Faster variants of the detector, derived on this machine from the verified original; nothing is downloaded.

- ``native``: the same weights with a free input height and width (the two fixed-size ``Resize``
  nodes of the FPN get ``scales`` instead of ``sizes``), so a picture is fed at its own aspect.
- ``int8``: ``native`` quantised by ``onnxruntime.quantization.quantize_static`` (QDQ, uint8
  activations and per-channel int8 weights, MinMax), calibrated on a small fixed set of Newton
  and Gauss pictures only (crops, flips, scales, mosaics of small copies; fixed seed). The score
  heads (the last Conv of each score output and what follows it) stay FP32, so scores are not
  quantised into steps at the threshold. It is opt-in (``precision="int8"``): on the held-out
  gate set its score error near the threshold is too large for the default
  (:mod:`facekit.evaluation.fidelity`).

Each variant is cached under ``<home>/models/variants/<source sha256[:16]>/`` with a JSON record of
how it was made (source sha256, tool versions, calibration set, settings, its own sha256); a
variant whose record or hash does not match is derived again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from . import __version__, data, models
from .errors import InvalidInputError, ModelUnavailableError
from .models import ModelInfo

if TYPE_CHECKING:
    import onnx

__all__ = [
    "CALIBRATION_COUNT",
    "CALIBRATION_SEED",
    "CALIBRATION_SOURCES",
    "KINDS",
    "OPSET",
    "PRECISIONS",
    "QUANTIZATION",
    "RECIPE",
    "Variant",
    "auto_precision",
    "cached",
    "calibration_pictures",
    "choose",
    "directory",
    "free_input",
    "get",
    "info",
    "listed",
    "score_heads",
]

PRECISIONS: tuple[str, ...] = ("fp32", "int8")
RECIPE = 2  # bump when the derivation changes, so cached variants are derived again
KINDS = ("native", "int8")
OPSET = 13  # per-channel QDQ needs it
CALIBRATION_SEED = 20240607
CALIBRATION_COUNT = 24
CALIBRATION_SOURCES = ("newton", "gauss")
QUANTIZATION = {  # onnxruntime.quantization.quantize_static settings, by enum member name
    "quant_format": "QDQ",
    "per_channel": True,
    "activation_type": "QUInt8",  # U8S8: the x86 fast path; with S8 activations ORT leaves 35 of 57 Conv in float
    "weight_type": "QInt8",
    "calibrate_method": "MinMax",
    "float_nodes": "score heads",  # the Conv -> Transpose -> Reshape -> Sigmoid before each score output
}

_lock = threading.RLock()  # re-entrant: int8 derives native first


@dataclass(frozen=True)
class Variant:
    """A derived model file, its sha256 and the record of how it was made."""

    kind: str
    path: Path
    sha256: str
    record: dict[str, object]

    @property
    def precision(self) -> str:
        """The precision it runs at: "int8" for the quantised variant, "fp32" for the others."""
        return "int8" if self.kind == "int8" else "fp32"


def directory(source: ModelInfo) -> Path:
    """Where the variants of ``source`` live: next to the cached original, keyed by its hash."""
    return models.home() / "models" / "variants" / source.sha256[:16]


def get(source: ModelInfo, kind: str) -> Variant:
    """The ``kind`` variant of ``source`` ("native" or "int8"), derived now if not cached and valid."""
    if kind not in KINDS:
        raise ValueError(f"no variant {kind!r}; variants: {', '.join(KINDS)}")
    with _lock:
        found = cached(source, kind)
        if found is None:
            try:
                if kind == "native":
                    _derive_native(source)
                else:
                    _derive_int8(source, get(source, "native"))
            except ModelUnavailableError:
                raise
            except Exception as exc:  # onnx and onnxruntime raise their own untyped errors for bad models
                raise ModelUnavailableError(f"cannot derive the {kind} variant of {source.path.name}: {exc}") from exc
            found = cached(source, kind)
        if found is None:
            raise ModelUnavailableError(f"the derived {kind} variant of {source.name} does not verify")
        return found


def choose(source: ModelInfo, precision: str, aspect: str) -> Variant:
    """The model file to run for ``precision`` ("fp32" or "int8") and ``aspect`` ("native" or "square").

    FP32 letterboxed runs the original itself (kind "original"); FP32 native runs the
    ``native`` variant; int8 runs the ``int8`` variant, whose input size is free, at either aspect.
    """
    if precision not in PRECISIONS:
        raise InvalidInputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "int8":
        return get(source, "int8")
    if aspect == "native":
        return get(source, "native")
    return Variant("original", source.path, source.sha256, {"source": source.source})


def auto_precision(source: ModelInfo) -> str:
    """The precision ``"auto"`` means: FP32 for every model.

    int8 (score heads in FP32) passes the face-level gate on the held-out set, but its score at
    anchors near the threshold moves by up to ~0.05 (99th percentile ~0.03), enough to turn
    borderline non-faces (backs of heads) into faces on unseen footage; it stays opt-in.
    """
    del source  # one rule for every model today; kept so a gated model could differ
    return "fp32"


def cached(source: ModelInfo, kind: str) -> Variant | None:
    """The cached ``kind`` variant of ``source`` if its record matches this recipe and its file hash."""
    target = directory(source) / f"{kind}.onnx"
    try:
        record = json.loads(target.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not target.is_file() or record.get("recipe") != RECIPE or record.get("source_sha256") != source.sha256:
        return None
    sha256 = models.sha256_of(target)
    return Variant(kind, target, sha256, record) if record.get("sha256") == sha256 else None


def listed(source: ModelInfo) -> list[dict[str, object]]:
    """Each variant kind of ``source``: its path and record if cached, else that it is derived on first use."""
    found = {kind: cached(source, kind) for kind in KINDS}
    return [
        {"kind": kind, "cached": True, "path": str(v.path), **v.record}
        if v is not None
        else {"kind": kind, "cached": False, "path": str(directory(source) / f"{kind}.onnx")}
        for kind, v in found.items()
    ]


def free_input(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with a free input height/width: each fixed-size ``Resize`` upsamples by its factor instead.

    SCRFD's FPN upsamples coarse maps to the next finer level with ``Resize(sizes=[1, C, H, W])``
    at a 640 x 640 input; the same nodes with ``scales`` (the ratio of those sizes to the input
    ones, which is 2) work at any input size that is a multiple of 32.
    """
    import onnx
    from onnx import numpy_helper, shape_inference

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inferred = shape_inference.infer_shapes(model).graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in inferred.value_info}
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type != "Resize" or len(node.input) < 4 or node.input[3] not in initializers:
            continue
        data, roi = node.input[0], node.input[1]
        sizes = initializers[node.input[3]].astype(np.float32)
        scales = sizes / np.asarray(shapes[data], np.float32)
        name = f"{node.name or node.output[0]}_scales"
        graph.initializer.append(numpy_helper.from_array(scales.astype(np.float32), name))
        del node.input[:]
        node.input.extend([data, roi, name])
    used = {name for node in graph.node for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.value_info[:]
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for output in graph.output:
        output.type.tensor_type.shape.dim[1].dim_param = "anchors"
    converted = onnx.version_converter.convert_version(model, OPSET)
    onnx.checker.check_model(converted)
    return converted


def calibration_pictures(
    seed: int = CALIBRATION_SEED, count: int = CALIBRATION_COUNT
) -> Iterator[tuple[dict, np.ndarray]]:
    """The fixed calibration set: (description, RGB picture) pairs made from Newton and Gauss only.

    Alternately a random crop of one portrait (scaled so the face spans ~20-400 px, flipped at
    random) and a mosaic of 4-16 small copies of both (faces of ~15-80 px, as in group photos).
    """
    rng = np.random.default_rng(seed)
    portraits = {name: getattr(data, name)() for name in CALIBRATION_SOURCES}
    for index in range(count):
        if index % 2 == 0:
            name = CALIBRATION_SOURCES[(index // 2) % len(portraits)]
            described, picture = _crop(rng, name, portraits[name])
        else:
            described, picture = _mosaic(rng, portraits)
        yield {"index": index, **described}, picture


def _crop(rng: np.random.Generator, name: str, picture: np.ndarray) -> tuple[dict, np.ndarray]:
    """A random crop of ``picture``, rescaled by 1/4 to 2 and maybe mirrored, with its description."""
    scale = float(np.exp(rng.uniform(np.log(0.25), np.log(2.0))))
    height, width = picture.shape[:2]
    crop_w, crop_h = (int(rng.uniform(0.5, 1.0) * side) for side in (width, height))
    x, y = int(rng.integers(0, width - crop_w + 1)), int(rng.integers(0, height - crop_h + 1))
    flip = bool(rng.integers(0, 2))
    out = picture[y : y + crop_h, x : x + crop_w]
    out = cv2.resize(out, (max(32, int(crop_w * scale)), max(32, int(crop_h * scale))), interpolation=cv2.INTER_AREA)
    out = out[:, ::-1] if flip else out
    return {"kind": "crop", "source": name, "crop": [x, y, crop_w, crop_h], "scale": round(scale, 6), "flip": flip}, out


def _mosaic(rng: np.random.Generator, portraits: dict[str, np.ndarray]) -> tuple[dict, np.ndarray]:
    """A grid of small, maybe mirrored copies of the portraits on a flat background, with its description."""
    cols, rows = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    tile = int(rng.integers(60, 200))
    canvas = np.full((rows * tile, cols * tile, 3), int(rng.integers(0, 256)), np.uint8)
    names = []
    for r in range(rows):
        for c in range(cols):
            name = CALIBRATION_SOURCES[int(rng.integers(0, len(portraits)))]
            names.append(name)
            picture = portraits[name]
            fit = tile / max(picture.shape[:2])
            small = cv2.resize(
                picture, (int(picture.shape[1] * fit), int(picture.shape[0] * fit)), interpolation=cv2.INTER_AREA
            )
            if rng.integers(0, 2):
                small = small[:, ::-1]
            canvas[r * tile : r * tile + small.shape[0], c * tile : c * tile + small.shape[1]] = small
    return {"kind": "mosaic", "grid": [cols, rows], "tile": tile, "sources": names}, canvas


def _blobs(pictures: list[np.ndarray]) -> list[np.ndarray]:
    """Model inputs for the calibration pictures by facekit's own preprocessing, native and square in turn."""
    from .engine import fill_blob, input_size_for

    blobs = []
    for index, picture in enumerate(pictures):
        width, height = input_size_for(picture.shape[1], picture.shape[0], "native" if index % 2 else "square")
        blob = np.empty((1, 3, height, width), np.float32)
        fill_blob(picture, blob)
        blobs.append(blob)
    return blobs


def _derive_native(source: ModelInfo) -> None:
    """Write the free-input-size variant of ``source`` and its record."""
    import onnx

    started = time.perf_counter()
    converted = free_input(onnx.load(str(source.path)))
    _write(
        source,
        "native",
        converted.SerializeToString(),
        started,
        {"graph_edit": "Resize sizes -> scales", "opset": OPSET},
    )


def _derive_int8(source: ModelInfo, native: Variant) -> None:
    """Quantise ``native`` with the calibration set; write the int8 variant and its record."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    started = time.perf_counter()
    described, pictures = zip(*calibration_pictures())
    blobs = _blobs(list(pictures))
    digest = hashlib.sha256(b"".join(b.tobytes() for b in blobs)).hexdigest()

    input_name = onnx.load(str(native.path)).graph.input[0].name
    feeds = [{input_name: blob} for blob in blobs]

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self.remaining = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.remaining, None)

    with tempfile.TemporaryDirectory(prefix="facekit-int8-") as tmp, _quiet_root_logger():
        out = Path(tmp) / "int8.onnx"
        quantize_static(
            str(native.path),
            str(out),
            Feeds(),
            quant_format=QuantFormat[QUANTIZATION["quant_format"]],
            per_channel=QUANTIZATION["per_channel"],
            activation_type=QuantType[QUANTIZATION["activation_type"]],
            weight_type=QuantType[QUANTIZATION["weight_type"]],
            calibrate_method=CalibrationMethod[QUANTIZATION["calibrate_method"]],
            nodes_to_exclude=score_heads(onnx.load(str(native.path))),
        )
        payload = out.read_bytes()
    settings = {
        **QUANTIZATION,
        "from": {"kind": "native", "sha256": native.sha256},
        "calibration": {
            "seed": CALIBRATION_SEED,
            "count": len(blobs),
            "sources": {name: models.sha256_of(data.path(name)) for name in CALIBRATION_SOURCES},
            "held_out": "facekit.evaluation.fidelity.gate_inputs (Solvay, its crowds and pan video, textures, "
            "the astronaut, every shared clip), but for its Newton close-up",
            "inputs_sha256": digest,
            "pictures": list(described),
        },
    }
    _write(source, "int8", payload, started, settings)


def score_heads(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes from each score output back to (and including) the Conv that makes its logits."""
    producer = {output: node for node in model.graph.node for output in node.output}
    names: list[str] = []
    for output in model.graph.output:
        if not output.name.startswith("score"):
            continue
        node = producer.get(output.name)
        while node is not None:
            names.append(node.name)
            if node.op_type == "Conv":
                break
            node = producer.get(node.input[0])
    return names


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Keep onnxruntime.quantization's advice off stderr: its ``logging.warning`` calls would
    otherwise configure the root logger of the user's process."""
    handler = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def _write(source: ModelInfo, kind: str, payload: bytes, started: float, settings: dict) -> None:
    """Write a variant and its record atomically (the record last, so a half-made variant never verifies)."""
    import onnx
    import onnxruntime

    target = directory(source) / f"{kind}.onnx"
    sha256 = hashlib.sha256(payload).hexdigest()
    models._write_verified(payload, target, sha256)
    record = {
        "recipe": RECIPE,
        "kind": kind,
        "sha256": sha256,
        "source": source.name,
        "source_sha256": source.sha256,
        "tools": {
            "facekit": __version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
            "opencv": cv2.__version__,
        },
        "settings": settings,
        "derived_in_s": round(time.perf_counter() - started, 2),
    }
    text = json.dumps(record, indent=2).encode("utf-8")
    models._write_verified(text, target.with_suffix(".json"), hashlib.sha256(text).hexdigest())


def info(model: str | os.PathLike[str] | None = None) -> dict[str, object]:
    """A description of the resolved detector (path, sha256, origin, inputs and outputs) and its derived variants."""
    from .engine import Detector

    resolved = models.resolve(model)
    detector = Detector.load(resolved.path)
    return {
        "path": str(resolved.path),
        "sha256": resolved.sha256,
        "source": resolved.source,
        "verified": resolved.sha256 == models.DEFAULT_MODEL_SHA256,
        "input_size": list(detector.input_size),
        "strides": list(detector.strides),
        "keypoints": 5,
        "providers": detector.providers,
        "cache": str(models.home()),
        "variants": listed(resolved),
    }
