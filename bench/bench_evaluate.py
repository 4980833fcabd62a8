"""fk.evaluate benchmark: one million candidates against their truth, timed against a numpy sort.

    python bench/bench_evaluate.py [--frames 20000] [--per-frame 50] [--faces 8] [--repeat 3]

A video of ``frames`` frames, each with ``faces`` true faces (some ignore regions) and
``per-frame`` candidates (jittered copies of the faces, duplicates that contend for them, and
strays), as a Batch of one video. It prints the best of ``repeat`` times of evaluate + curve()
+ summary() (COCO's matching at ten IoU thresholds, AP, the curve; goal: under 1 s for 1 M
candidates) and the ratio to ``np.argsort`` of the same scores, measured in the same run (the
floor any exact curve has to pay: it sorts the candidates by score).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import facekit as fk
from facekit.batch import Batch


def synthetic(frames: int, per_frame: int, faces: int, seed: int = 0) -> tuple[Batch, pd.DataFrame]:
    """A one-video Batch of ``frames * per_frame`` candidates and its truth table."""
    rng = np.random.default_rng(seed)
    truth_frame = np.repeat(np.arange(frames), faces)
    truth_boxes = np.column_stack(
        [rng.uniform(0, 1800, (truth_frame.size, 2)), rng.uniform(10, 150, (truth_frame.size, 2))]
    )
    truth = pd.DataFrame(
        {
            "source": "video.mp4",
            "frame": truth_frame,
            "x": truth_boxes[:, 0],
            "y": truth_boxes[:, 1],
            "w": truth_boxes[:, 2],
            "h": truth_boxes[:, 3],
            "ignore": rng.random(truth_frame.size) < 0.05,
        }
    )
    on_faces = faces + faces // 4  # every face found once, a quarter of them twice
    copies = np.r_[np.arange(faces), np.arange(faces // 4)]
    picked = (np.arange(frames)[:, None] * faces + copies[None, :]).ravel()
    jittered = truth_boxes[picked] + rng.normal(0, 0.1, (picked.size, 4)) * truth_boxes[picked][:, [2, 3, 2, 3]]
    strays = per_frame - on_faces
    stray_boxes = np.column_stack(
        [rng.uniform(0, 1800, (frames * strays, 2)), rng.uniform(10, 100, (frames * strays, 2))]
    )
    boxes = np.vstack([jittered, stray_boxes])
    frame = np.r_[np.repeat(np.arange(frames), on_faces), np.repeat(np.arange(frames), strays)]
    score = np.r_[rng.uniform(0.3, 0.95, picked.size), rng.uniform(0.05, 0.6, frames * strays)].round(4)
    found = pd.DataFrame(
        {
            "source": "video.mp4",
            "frame": frame,
            "time": frame / 25.0,
            "track_id": pd.NA,
            "score": score,
            "x": boxes[:, 0],
            "y": boxes[:, 1],
            "w": np.abs(boxes[:, 2]),
            "h": np.abs(boxes[:, 3]),
        }
    )
    status = pd.DataFrame({"source": ["video.mp4"], "status": ["ok"], "media": ["video"]})
    return Batch(found, status), fk.read_truth(truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--per-frame", type=int, default=50)
    parser.add_argument("--faces", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    batch, truth = synthetic(args.frames, args.per_frame, args.faces)
    scores = batch.faces["score"].to_numpy()

    sort_s = min(_timed(lambda: np.argsort(-scores, kind="mergesort")) for _ in range(args.repeat))
    runs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        ev = fk.evaluate(batch, truth)
        curve, summary = ev.curve(), ev.summary()
        runs.append(time.perf_counter() - start)
    best = min(runs)
    print(
        f"candidates: {len(scores):,} in {args.frames:,} frames; truth: {len(truth):,} boxes; curve rows: {len(curve):,}"
    )
    print(
        f"AP50 {summary['ap50']:.4f}, AP {summary['ap']:.4f}, best F1 {summary['best_f1']:.4f} "
        f"at {summary['best_f1_threshold']:.4f}"
    )
    print(f"evaluate + curve + summary: {best:.3f} s (goal < 1 s: {'met' if best < 1 else 'MISSED'})")
    print(f"numpy argsort of the same scores: {sort_s:.3f} s; ratio evaluate / sort: {best / sort_s:.1f}x")


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
