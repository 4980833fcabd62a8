"""Image path benchmark: ``fk.detect`` end to end against bare inference and InsightFace, in one run.

    python bench/bench_image.py [--repeat N]

For a 1280x720 JPEG and the 3000x2171 Solvay JPEG it measures the median of:
  facekit        fk.detect(path) from the file to a Result
  bare           the file decode (cv2.imread) + onnxruntime session.run on a ready 640x640 blob
  insightface    cv2.imread + FaceAnalysis.get with only the detector loaded (needs `insightface`)
and prints facekit / bare (goal <= 1.05) and facekit / insightface (goal < 1 on the large JPEG).
All three use the same model file and the same thread count: facekit runs FP32 letterboxed
(``precision="fp32", aspect="square"``), InsightFace's configuration; bench_fast.py covers int8 and native aspect.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

import facekit as fk
from facekit.engine import Detector, default_threads

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
    """cv2.imread of the file plus one session.run on a blob prepared once, outside the timing."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
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
        pictures = {"1280x720 JPEG": make_720p(fk.data.path("solvay"), folder), "Solvay 3000x2171 JPEG": fk.data.path("solvay")}
        header = f"{'picture':<22} {'facekit':>9} {'bare':>9} {'insightface':>12} {'fk/bare':>8} {'fk/insightface':>15}"
        print(header)
        print("-" * len(header))
        for label, picture in pictures.items():
            facekit_ms = median_ms(lambda: fk.detect(picture, **FP32), args.repeat)
            bare_ms = median_ms(bare_runner(model, threads, picture), args.repeat)
            other = insightface_runner(model, folder, picture)
            other_ms = median_ms(other, args.repeat) if other else float("nan")
            print(
                f"{label:<22} {facekit_ms:>7.1f}ms {bare_ms:>7.1f}ms {other_ms:>10.1f}ms "
                f"{facekit_ms / bare_ms:>8.3f} {facekit_ms / other_ms:>15.3f}"
            )
        print("goals: fk/bare <= 1.05; fk/insightface < 1 on the large JPEG")
    return 0


if __name__ == "__main__":
    sys.exit(main())
