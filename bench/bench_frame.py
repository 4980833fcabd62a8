"""Conversion benchmark: an Akool ``faces_obj`` to the tidy DataFrame, and back, in one run.

    python bench/bench_frame.py [--faces 1000000] [--per-frame 29] [--repeat 3]

The faces are Solvay 1927's 29 real detections (full-precision floats, scores, track ids),
repeated over as many frames as it takes to reach ``--faces``. It times the best of ``--repeat``:
  facekit     fk.Result.from_akool(faces_obj).to_frame()            (goal: >= 1,000,000 rows/s)
  reference   the obvious loop: one dict per face, pandas.DataFrame.from_records
  render      result.faces_obj, the DataFrame back to the nested dict
and prints rows/s and facekit / reference.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import pandas as pd

import facekit as fk
from facekit.table import BOX_COLUMNS, LANDMARK_COLUMNS


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    """Fastest of ``repeat`` runs, in seconds (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def make_faces_obj(faces: int, per_frame: int) -> dict:
    """A video-shaped faces_obj of real detections: Solvay's faces in every frame, times at 25 fps."""
    solvay = fk.detect(fk.data.path("solvay"))
    frame = solvay.faces_obj["0"]
    keep = min(per_frame, len(frame["region"]))
    template = {key: (value[:keep] if isinstance(value, list) else value) for key, value in frame.items()}
    frames = -(-faces // keep)
    return {str(i): {**template, "frame_time": i / 25.0} for i in range(frames)}


def reference(faces_obj: dict) -> pd.DataFrame:
    """The per-face loop a user would write first."""
    rows = []
    for key, entry in faces_obj.items():
        for face, (region, points, score, track) in enumerate(
            zip(entry["region"], entry["landmarks"], entry["scores"], entry["track_ids"])
        ):
            row = {"frame": int(key), "time": entry["frame_time"], "face": face, "track_id": track, "score": score}
            row.update(zip(BOX_COLUMNS, region))
            row.update(zip(LANDMARK_COLUMNS, (value for point in points for value in point)))
            rows.append(row)
    return pd.DataFrame.from_records(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--per-frame", type=int, default=29)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    faces_obj = make_faces_obj(args.faces, args.per_frame)
    frame = fk.Result.from_akool(faces_obj).to_frame()
    rows = len(frame)
    assert len(reference(faces_obj)) == rows
    result = fk.Result.from_akool(faces_obj)
    facekit_s = best_seconds(lambda: fk.Result.from_akool(faces_obj).to_frame(), args.repeat)
    reference_s = best_seconds(lambda: reference(faces_obj), args.repeat)
    render_s = best_seconds(lambda: fk.Result.from_akool(faces_obj).faces_obj, args.repeat)
    print(f"{rows:,} faces in {len(faces_obj):,} frames, best of {args.repeat}")
    print(f"{'conversion':<44} {'seconds':>8} {'rows/s':>12}")
    for name, seconds in (
        ("facekit: from_akool(faces_obj).to_frame()", facekit_s),
        ("reference: dict per face + from_records", reference_s),
        ("facekit: from_akool(faces_obj).faces_obj", render_s),
    ):
        print(f"{name:<44} {seconds:>8.3f} {rows / seconds:>12,.0f}")
    print(
        f"facekit / reference time: {facekit_s / reference_s:.2f}   goal: >= 1,000,000 rows/s "
        f"({'met' if rows / facekit_s >= 1e6 else 'missed'})"
    )
    del result


if __name__ == "__main__":
    main()
