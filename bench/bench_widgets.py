"""Widget benchmarks: a ThresholdExplorer slider move on a ~100-face picture, against running the
model; and a FrameExplorer ``num_frames`` drag from 8 to 72 on a 10 s pan video.

    python bench/bench_widgets.py [--moves 40] [--quick]

The picture is Solvay 1927 tiled 2 x 2 at 3/4 scale (about a hundred faces). It prints the
median time of a slider move (re-filter the cached candidates, redraw overlay, histogram and
curve, encode the PNG; goal: under 100 ms) and of a fresh ``fk.detect`` at the same threshold,
which is what a move would cost if it ran the model. Then the same moves with ground truth (the
Solvay truth tiled the same way): boxes coloured by outcome, precision/recall/F1 looked up on the
curve evaluated once, PR and F1 curves marked (goal: under 100 ms too), against what a move
would cost if it evaluated again (``fk.evaluate`` + ``matches`` at the threshold).

For the FrameExplorer it prints how long the drag holds the notebook (the slider callback; goal: no
freeze), how long until the view first changes and until all 72 frames are shown, and the frames
analysed, against the frames the evenly spread samples of 8 and 72 (``Video.sample_indices``) would need.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import cv2
import matplotlib
import numpy as np
import pandas as pd

import facekit as fk
from facekit.media import frame_pixels
from facekit.widgets import FrameExplorer, ThresholdExplorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="10 slider moves")
    args = parser.parse_args()
    matplotlib.use("Agg")
    if args.quick:
        args.moves = 10

    small = cv2.resize(frame_pixels(fk.data.path("solvay")), None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    picture = np.vstack([np.hstack([small, small])] * 2)
    result = fk.detect(picture)
    values = np.resize([0.3, 0.5, 0.8, 0.1, 0.6, 0.9, 0.4, 0.7], args.moves)
    print(
        f"{len(result)} faces on a {picture.shape[1]}x{picture.shape[0]} picture, {len(result.candidates())} candidates"
    )
    compare(
        ("slider move (no model):", slider_moves(ThresholdExplorer(result), values)),
        ("fresh fk.detect:", timed(lambda value: fk.detect(picture, confidence=value), values[:10])),
        "ran the model",
    )

    truth = tiled_truth(small.shape[1], small.shape[0])
    start = time.perf_counter()
    explorer = ThresholdExplorer(result, truth=truth)
    built = time.perf_counter() - start
    assert explorer.truth is not None
    summary = explorer.truth.evaluation.summary()
    print(f"with truth ({summary['n_truth']} true faces, AP50 {summary['ap50']:.3f}): built in {built:.2f} s")
    compare(
        ("slider move with truth:", slider_moves(explorer, values)),
        ("evaluate + matches:", timed(lambda value: fk.evaluate(result, truth).matches(threshold=value), values[:10])),
        "evaluated again",
    )
    frame_explorer()


def slider_moves(explorer: ThresholdExplorer, values: np.ndarray) -> list[float]:
    """The redraw time (ms) of each slider move to ``values``."""
    times = []
    for value in values:
        explorer.slider.value = float(value)
        times.append(explorer.update_ms)
    return times


def timed(call: Callable[[float], object], values: np.ndarray) -> list[float]:
    """The time (ms) of ``call`` at each of ``values``."""
    times = []
    for value in values:
        start = time.perf_counter()
        call(float(value))
        times.append((time.perf_counter() - start) * 1e3)
    return times


def compare(moves: tuple[str, list[float]], reference: tuple[str, list[float]], instead: str) -> None:
    """Print the median and p90 of slider moves against the goal, and the ratio to what a move would cost if it did
    the reference's work."""
    move, other = statistics.median(moves[1]), statistics.median(reference[1])
    print(
        f"{moves[0]:<24} median {move:6.1f} ms   p90 {np.percentile(moves[1], 90):6.1f} ms   goal < 100 ms "
        f"({'met' if move < 100 else 'missed'})"
    )
    print(
        f"{reference[0]:<24} median {other:6.1f} ms   (what each move would add if it {instead}: "
        f"x{(move + other) / move:.2f})"
    )


def tiled_truth(width: int, height: int) -> pd.DataFrame:
    """The Solvay truth at 3/4 scale, repeated in each tile of the 2 x 2 picture."""
    boxes = fk.data.truth("solvay")[["x", "y", "w", "h"]] * 0.75
    tiles = [boxes.assign(x=boxes["x"] + dx, y=boxes["y"] + dy) for dx in (0, width) for dy in (0, height)]
    return pd.concat(tiles, ignore_index=True)


def frame_explorer() -> None:
    """A num_frames drag from 8 to 72 on a 100-frame video: freeze, first change, done, frames analysed."""
    import tempfile
    from pathlib import Path

    clip = fk.data.pan_video(Path(tempfile.mkdtemp()) / "pan.mp4", seconds=10.0, fps=10.0)
    explorer = FrameExplorer(clip.path, num_frames=8)
    explorer.wait()
    before, shown = explorer.frames_detected, explorer.count.value
    start = time.perf_counter()
    explorer.frames_slider.value = 72
    held = time.perf_counter() - start
    while explorer.count.value == shown and explorer.busy:
        time.sleep(0.005)
    first = time.perf_counter() - start
    explorer.wait()
    done = time.perf_counter() - start
    spread = set(explorer.video.sample_indices(8)) | set(explorer.video.sample_indices(72))
    print(
        f"FrameExplorer drag 8 -> 72 frames: notebook held {held * 1e3:.0f} ms, first change after {first:.2f} s, "
        f"all shown after {done:.2f} s; frames analysed {explorer.frames_detected} "
        f"({explorer.frames_detected - before} new; evenly spread samples would analyse {len(spread)})"
    )


if __name__ == "__main__":
    main()
