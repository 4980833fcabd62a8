"""ThresholdExplorer benchmark: one slider move on a ~100-face picture, against running the model.

    python bench/bench_widgets.py [--moves 40]

The picture is Solvay 1927 tiled 2 x 2 at 3/4 scale (about a hundred faces). It prints the
median time of a slider move (re-filter the cached candidates, redraw overlay, histogram and
curve, encode the PNG; goal: under 100 ms) and of a fresh ``fk.detect`` at the same threshold,
which is what a move would cost if it ran the model.
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import matplotlib
import numpy as np

import facekit as fk
from facekit.media import frame_pixels
from facekit.widgets import ThresholdExplorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=40)
    args = parser.parse_args()
    matplotlib.use("Agg")

    small = cv2.resize(frame_pixels(fk.data.path("solvay")), None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    picture = np.vstack([np.hstack([small, small])] * 2)
    result = fk.detect(picture)
    explorer = ThresholdExplorer(result)
    values = np.resize([0.3, 0.5, 0.8, 0.1, 0.6, 0.9, 0.4, 0.7], args.moves)
    moves = []
    for value in values:
        explorer.slider.value = float(value)
        moves.append(explorer.update_ms)
    detects = []
    for value in values[:10]:
        start = time.perf_counter()
        fk.detect(picture, confidence=float(value))
        detects.append((time.perf_counter() - start) * 1e3)
    move, detect = statistics.median(moves), statistics.median(detects)
    print(f"{len(result)} faces on a {picture.shape[1]}x{picture.shape[0]} picture, {len(result.candidates())} candidates")
    print(f"slider move (no model):  median {move:6.1f} ms   p90 {np.percentile(moves, 90):6.1f} ms   goal < 100 ms "
          f"({'met' if move < 100 else 'missed'})")
    print(f"fresh fk.detect:         median {detect:6.1f} ms   (what each move would add if it ran the model: "
          f"x{(move + detect) / move:.2f})")


if __name__ == "__main__":
    main()
