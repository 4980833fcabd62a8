"""fk.evaluate benchmark: one million candidates against their truth, timed against a numpy sort.

    python bench/bench_evaluate.py [--quick] [--distinct] [--frames 20000] [--per-frame 50] [--faces 8] [--repeat 5]

A video of ``frames`` frames, each with ``faces`` true faces (5 % ignore regions) and
``per-frame`` candidates (jittered copies of the faces, a quarter of them twice so that two
contend for one face, and strays), as a Batch of one video. Its rows come in two runs (faces,
then strays), not grouped by frame as a real Batch's are, so the pooled ranking pays its extra
sort by picture. Scores are rounded to 4 decimals (ties, as real scores have; 9,001 curve rows)
unless ``--distinct`` (a curve row per candidate).

It times evaluate + curve() + summary() (COCO's matching at ten IoU thresholds, AP, the curve;
goal: under 1 s for 1 M candidates) and, interleaved in the same run, ``np.argsort`` of the same
scores (the floor any exact curve pays: it sorts the candidates by score), and prints the best
and median of ``repeat`` runs of each, their ratio, and whether the goal is met. ``--quick``:
100,000 candidates, 3 runs, goal not judged.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

import facekit as fk
from facekit.batch import Batch


def synthetic(
    frames: int, per_frame: int, faces: int, seed: int = 0, decimals: int | None = 4
) -> tuple[Batch, pd.DataFrame]:
    """A one-video Batch of ``frames * per_frame`` candidates (scores rounded to ``decimals``) and its truth table."""
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
    score = np.r_[rng.uniform(0.3, 0.95, picked.size), rng.uniform(0.05, 0.6, frames * strays)]
    score = score if decimals is None else score.round(decimals)
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
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--distinct", action="store_true", help="scores not rounded: a curve row per candidate")
    parser.add_argument("--quick", action="store_true", help="100,000 candidates, 3 runs (goal not judged)")
    args = parser.parse_args()
    frames, repeat = (2_000, 3) if args.quick else (args.frames, args.repeat)
    batch, truth = synthetic(frames, args.per_frame, args.faces, decimals=None if args.distinct else 4)
    scores = batch.faces["score"].to_numpy()

    sort_runs, runs = [], []
    for _ in range(repeat):  # interleaved, so that both see the same load
        sort_runs.append(_timed(lambda: np.argsort(-scores, kind="mergesort")))
        start = time.perf_counter()
        ev = fk.evaluate(batch, truth)
        curve, summary = ev.curve(), ev.summary()
        runs.append(time.perf_counter() - start)
    best, sort_best = min(runs), min(sort_runs)
    print(f"candidates: {len(scores):,} in {frames:,} frames; truth: {len(truth):,} boxes; curve rows: {len(curve):,}")
    print(
        f"AP50 {summary['ap50']:.4f}, AP {summary['ap']:.4f}, best F1 {summary['best_f1']:.4f} "
        f"at {summary['best_f1_threshold']:.4f}"
    )
    print(
        f"evaluate + curve + summary: best {best:.3f} s, median {np.median(runs):.3f} s of {repeat}; "
        f"np.argsort of the same scores: best {sort_best:.3f} s, median {np.median(sort_runs):.3f} s"
    )
    verdict = ("MET" if best < 1 else "MISSED") if len(scores) >= 1_000_000 else "not judged (fewer than 1 M)"
    print(
        f"goal: 1 M candidates evaluated in under 1 s -- {len(scores):,} in {best:.3f} s, "
        f"{best / sort_best:.1f}x the sort ({sort_best:.3f} s) in the same run: {verdict}"
    )


def _timed(work: Callable[[], object]) -> float:
    """Seconds ``work`` takes."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
