"""Batch throughput: files/s of each way to run ``fk.detect_many``, against bare inference.

    .venv/bin/python bench/bench_batch.py [--quick] [--count N]

Writes N JPEGs (default 200; 40 with --quick) made from the bundled pictures at several sizes
into a temporary folder, then times, on the same files and in the same run:
- bare: ``session.run`` alone on pre-decoded, pre-processed blobs, 2 onnxruntime threads (the ceiling);
- one process with 2 threads (``workers=1``), two processes with 1 thread each (``workers=2``),
  and a Dask ``LocalCluster(2 workers x 1 thread)`` (cluster start-up not counted).
Each batch time is the whole ``detect_many`` call: reading, decoding, detection, worker start-up.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import facekit as fk
from facekit.engine import Detector

SIDES = (480, 640, 960, 1280)  # longest side of the generated pictures, in pixels


def make_pictures(folder: Path, count: int) -> list[Path]:
    """``count`` distinct JPEGs: the bundled pictures cycled through ``SIDES``."""
    originals = [Image.open(fk.data.path(name)).convert("RGB") for name in ("solvay", "newton", "gauss")]
    paths = []
    for i in range(count):
        picture = originals[i % len(originals)]
        side = SIDES[(i // len(originals)) % len(SIDES)] + i // (len(originals) * len(SIDES))  # every file distinct
        scale = side / max(picture.size)
        path = folder / f"picture_{i:04d}.jpg"
        picture.resize((round(picture.width * scale), round(picture.height * scale))).save(path, quality=90)
        paths.append(path)
    return paths


def bare_rate(paths: list[Path]) -> float:
    """Files/s of ``session.run`` alone on blobs decoded and prepared beforehand, 2 threads."""
    detector = Detector(fk.models.path(), threads=2)
    blobs = [detector.prepare(np.asarray(Image.open(p).convert("RGB")))[0].copy() for p in paths]
    feed = {detector.input_name: blobs[0]}
    detector.session.run(detector.output_names, feed)  # warm-up
    started = time.perf_counter()
    for blob in blobs:
        detector.session.run(detector.output_names, {detector.input_name: blob})
    return len(blobs) / (time.perf_counter() - started)


def batch_rate(folder: Path, count: int, **options) -> float:
    """Files/s of ``detect_many`` over ``folder``, with the FP32 letterboxed model the bare rate runs."""
    started = time.perf_counter()
    batch = fk.detect_many(folder, progress=False, precision="fp32", aspect="square", **options)
    seconds = time.perf_counter() - started
    assert len(batch.status) == count and not len(batch.errors), batch.errors
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 pictures instead of 200")
    parser.add_argument("--count", type=int, help="number of pictures")
    args = parser.parse_args()
    count = args.count or (40 if args.quick else 200)
    with tempfile.TemporaryDirectory(prefix="facekit-bench-batch-") as tmp:
        folder = Path(tmp)
        paths = make_pictures(folder, count)
        rates = {"bare session.run, 2 threads": bare_rate(paths)}
        rates["1 process x 2 threads"] = batch_rate(folder, count, workers=1, threads=2)
        rates["2 processes x 1 thread"] = batch_rate(folder, count, workers=2)
        from distributed import Client, LocalCluster

        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            rates["Dask LocalCluster 2 x 1"] = batch_rate(folder, count, scheduler=client)
    bare = rates["bare session.run, 2 threads"]
    print(f"{count} pictures (longest side {', '.join(map(str, SIDES))} px), {fk.models.path().name}")
    print(f"{'mode':<30} {'files/s':>8} {'/ bare':>7}")
    for mode, rate in rates.items():
        print(f"{mode:<30} {rate:8.2f} {rate / bare:7.2f}")


if __name__ == "__main__":
    main()
