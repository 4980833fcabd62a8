"""Faster variants of the detector, derived on this machine from the verified original; nothing is downloaded.

- ``native``: the same weights with a free input height and width (the two fixed-size ``Resize``
  nodes of the FPN get ``scales`` instead of ``sizes``), so a picture is fed at its own aspect.
- ``int8``: ``native`` quantised by ``onnxruntime.quantization.quantize_static`` (QDQ, uint8
  activations and per-channel int8 weights, MinMax), calibrated on a small fixed set of Newton and Gauss pictures only (crops, flips,
  scales, mosaics of small copies; fixed seed). Solvay, the astronaut, the pan video (made from
  Solvay) and the shared clips stay held out for the fidelity gate (tests/test_fidelity.py).

Each variant is cached under ``<home>/models/variants/<source sha256[:16]>/`` with a JSON record of
how it was made (source sha256, tool versions, calibration set, settings, its own sha256); a
variant whose record or hash does not match is derived again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from . import __version__, data, models
from .errors import InvalidInputError, ModelUnavailableError
from .models import ModelInfo

PRECISIONS = ("fp32", "int8")
RECIPE = 1  # bump when the derivation changes, so cached variants are derived again
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
    """The precision ``"auto"`` means for ``source``: int8 for the verified default model, which
    passed the fidelity gate, when its int8 variant is cached or can be derived here (the
    calibration pictures are in the cache); FP32 otherwise (another model was never gated, and
    an offline user with only ``FACEKIT_MODEL`` must not need a download)."""
    if source.sha256 != models.DEFAULT_MODEL_SHA256:
        return "fp32"
    derivable = all((models.home() / data.SAMPLES[name]).is_file() for name in CALIBRATION_SOURCES)
    return "int8" if derivable or cached(source, "int8") is not None else "fp32"


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
        {"kind": kind, "cached": True, "path": str(v.path), **v.record} if v is not None
        else {"kind": kind, "cached": False, "path": str(directory(source) / f"{kind}.onnx")}
        for kind, v in found.items()
    ]


def free_input(model: "onnx.ModelProto") -> "onnx.ModelProto":  # noqa: F821
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


def calibration_pictures(seed: int = CALIBRATION_SEED, count: int = CALIBRATION_COUNT) -> Iterator[tuple[dict, np.ndarray]]:
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
            small = cv2.resize(picture, (int(picture.shape[1] * fit), int(picture.shape[0] * fit)), interpolation=cv2.INTER_AREA)
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
    _write(source, "native", converted.SerializeToString(), started, {"graph_edit": "Resize sizes -> scales", "opset": OPSET})


def _derive_int8(source: ModelInfo, native: Variant) -> None:
    """Quantise ``native`` with the calibration set; write the int8 variant and its record."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

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
        )
        payload = out.read_bytes()
    settings = {
        **QUANTIZATION,
        "from": {"kind": "native", "sha256": native.sha256},
        "calibration": {
            "seed": CALIBRATION_SEED,
            "count": len(blobs),
            "sources": {name: models.sha256_of(data.path(name)) for name in CALIBRATION_SOURCES},
            "held_out": "Solvay (and the pan video made from it), skimage astronaut, ../shared/data clips",
            "inputs_sha256": digest,
            "pictures": list(described),
        },
    }
    _write(source, "int8", payload, started, settings)


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


# -- fidelity: how closely a variant reproduces the original's faces -------------------------

GATE = {"found": 0.99, "iou": 0.8, "extra": 0.01, "confidence": 0.5, "score_diff": 0.02, "tiny_lost": 1}
"""int8 becomes a default only if, on held-out data, it finds >= 99% of the FP32 faces at IoU >= 0.8,
adds <= 1% extra faces at confidence 0.5, moves scores by a median <= 0.02, and loses at most one
face of the tiny-face case (Solvay 1280 wide)."""


@dataclass(frozen=True)
class Agreement:
    """How a variant's faces compare with the reference's, summed over frames."""

    reference: int  # faces the reference finds at the gate confidence
    candidate: int  # faces the variant finds at the gate confidence
    ious: np.ndarray  # IoU of each matched pair (one-to-one, IoU >= the gate's)
    score_diffs: np.ndarray  # |score difference| of each matched pair
    deviation: float  # largest |coordinate difference| of a matched box or keypoint, in pixels

    @classmethod
    def of(cls, reference: "Detections", candidate: "Detections", confidence: float = GATE["confidence"]) -> "Agreement":  # noqa: F821
        """Match faces one-to-one, best IoU first, among those scoring at least ``confidence``."""
        from .engine import pairwise_overlap

        ref = reference.scores >= confidence
        got = candidate.scores >= confidence
        pairs: list[tuple[int, int, float]] = []
        if ref.any() and got.any():
            overlap = pairwise_overlap(reference.boxes[ref], candidate.boxes[got])
            used_r, used_c = set(), set()
            for flat in np.argsort(-overlap, axis=None, kind="stable"):
                r, c = divmod(int(flat), overlap.shape[1])
                if overlap[r, c] < GATE["iou"]:
                    break
                if r not in used_r and c not in used_c:
                    used_r.add(r)
                    used_c.add(c)
                    pairs.append((r, c, float(overlap[r, c])))
        rows = np.array([p[0] for p in pairs], int)
        cols = np.array([p[1] for p in pairs], int)
        shift = np.zeros(0)
        if pairs:
            ref_points = np.hstack([reference.boxes[ref][rows], reference.keypoints[ref][rows].reshape(-1, 10)])
            got_points = np.hstack([candidate.boxes[got][cols], candidate.keypoints[got][cols].reshape(-1, 10)])
            shift = np.abs(ref_points - got_points)
        return cls(
            int(ref.sum()),
            int(got.sum()),
            np.array([p[2] for p in pairs]),
            np.abs(reference.scores[ref][rows] - candidate.scores[got][cols]),
            float(shift.max()) if shift.size else 0.0,
        )

    def __add__(self, other: "Agreement") -> "Agreement":
        return Agreement(
            self.reference + other.reference,
            self.candidate + other.candidate,
            np.concatenate([self.ious, other.ious]),
            np.concatenate([self.score_diffs, other.score_diffs]),
            max(self.deviation, other.deviation),
        )

    @property
    def matched(self) -> int:
        return len(self.ious)

    @property
    def lost(self) -> int:
        return self.reference - self.matched

    @property
    def extra(self) -> int:
        return self.candidate - self.matched

    def summary(self) -> dict[str, float]:
        """The gate's numbers: found and extra ratios, median IoU and score difference, max deviation."""
        return {
            "faces": self.reference,
            "found": self.matched / self.reference if self.reference else 1.0,
            "extra": self.extra / self.reference if self.reference else float(self.extra),
            "lost": self.lost,
            "median_iou": float(np.median(self.ious)) if self.matched else float("nan"),
            "median_score_diff": float(np.median(self.score_diffs)) if self.matched else 0.0,
            "max_deviation_px": self.deviation,
        }

    def passes(self, tiny: bool = False) -> bool:
        """Whether these numbers pass the fidelity gate (``tiny``: also the at-most-one-lost rule)."""
        numbers = self.summary()
        return (
            numbers["found"] >= GATE["found"]
            and numbers["extra"] <= GATE["extra"]
            and numbers["median_score_diff"] <= GATE["score_diff"]
            and (not tiny or self.lost <= GATE["tiny_lost"])
        )
