"""Image path benchmark: ``fk.detect`` end to end against bare inference and InsightFace, in one run.

    python bench/bench_image.py [--repeat N]     # --repeat 5 for a quick run

For every sample picture (Newton and Gauss PNGs, the 3000x2171 Solvay JPEG, a 1280x720 JPEG) the median of:
  facekit        fk.detect(path) from the file to a Result, the default (FP32 letterboxed, decoded in full)
  native         fk.detect(path, aspect="native"): FP32 at the picture's aspect; a large JPEG decodes at reduced scale
  bare           the file decode (cv2.imread) + onnxruntime session.run on a ready 640x640 blob
  insightface    cv2.imread + FaceAnalysis.get with only the detector loaded (needs `insightface`)
and the ratios facekit / bare (goal <= 1.05), facekit / insightface and native / insightface (goal <= 0.5).
All use the same model file and thread count.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

import facekit as fk
from facekit.engine import Detector, default_spinning, default_threads

FP32 = {"precision": "fp32", "aspect": "square"}  # the original model, as InsightFace runs it


def median_ms(run: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``run`` in ms, after one warm-up call."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def make_720p(solvay: Path, folder: Path) -> Path:
    """A 1280x720 colour JPEG: the centre of Solvay, tinted so it is a real 3-channel picture."""
    gray = Image.open(solvay).convert("L")
    left, top = (gray.width - 2560) // 2, (gray.height - 1440) // 2
    crop = gray.crop((left, top, left + 2560, top + 1440)).resize((1280, 720), Image.BILINEAR)
    rgb = Image.merge("RGB", (crop, crop.point(lambda v: int(v * 0.9)), crop.point(lambda v: int(v * 0.8))))
    target = folder / "solvay_720p.jpg"
    rgb.save(target, quality=90)
    return target


def bare_runner(model: Path, threads: int, picture: Path) -> Callable[[], object]:
    """cv2.imread of the file plus one session.run on a blob prepared once, outside the timing
    (a session with facekit's threads and spinning, so only the work around the model differs)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if default_spinning() else "0"
    )  # as facekit
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    blob = np.random.default_rng(0).uniform(-1, 1, (1, 3, 640, 640)).astype(np.float32)

    def run() -> object:
        cv2.imread(str(picture))
        return session.run(None, {name: blob})

    return run


def insightface_runner(model: Path, folder: Path, picture: Path) -> Callable[[], object] | None:
    """cv2.imread + FaceAnalysis.get, with a model folder holding only our detector."""
    try:
        from insightface.app import FaceAnalysis
    except ImportError:
        return None
    pack = folder / "detector_only"
    pack.mkdir(exist_ok=True)
    shutil.copy(model, pack / "det_scrfd.onnx")
    app = FaceAnalysis(name=str(pack), allowed_modules=["detection"], providers=["CPUExecutionProvider"])
    app.prepare(ctx_id=-1, det_size=(640, 640), det_thresh=0.5)

    def run() -> object:
        return app.get(cv2.imread(str(picture)))

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per measurement (median)")
    args = parser.parse_args(argv)

    model = fk.models.fetch()
    threads = default_threads()
    Detector.load(model)  # the session fk.detect(**FP32) will reuse
    print(f"model {model.name}, {threads} threads, onnxruntime {ort.__version__}, median of {args.repeat}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pictures = {
            "Newton PNG": fk.data.path("newton"),
            "Gauss PNG": fk.data.path("gauss"),
            "1280x720 JPEG": make_720p(fk.data.path("solvay"), folder),
            "Solvay 3000x2171 JPEG": fk.data.path("solvay"),
        }
        header = (
            f"{'picture':<22} {'facekit':>9} {'native':>9} {'bare':>9} {'insightface':>12} {'fk/bare':>8} "
            f"{'fk/insightface':>15} {'native/insightface':>19}"
        )
        print(header)
        print("-" * len(header))
        for label, picture in pictures.items():
            facekit_ms = median_ms(lambda: fk.detect(picture, **FP32), args.repeat)  # noqa: B023 - called at once
            native_ms = median_ms(lambda: fk.detect(picture, precision="fp32", aspect="native"), args.repeat)  # noqa: B023
            bare_ms = median_ms(bare_runner(model, threads, picture), args.repeat)
            other = insightface_runner(model, folder, picture)
            other_ms = median_ms(other, args.repeat) if other else float("nan")
            print(
                f"{label:<22} {facekit_ms:>7.1f}ms {native_ms:>7.1f}ms {bare_ms:>7.1f}ms {other_ms:>10.1f}ms "
                f"{facekit_ms / bare_ms:>8.3f} {facekit_ms / other_ms:>15.3f} {native_ms / other_ms:>19.3f}"
            )
        print("goals: fk/bare <= 1.05 on every picture; <= 0.5 of insightface")
    return 0


if __name__ == "__main__":
    sys.exit(main())
