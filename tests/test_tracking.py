"""The tracker on tables whose true tracks are known: motion, gaps, misses, cuts, pans and ``removed``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from facekit.tracking import MAX_MISSES, assign_tracks


def _table(frames: list[int], boxes: dict[int, list[tuple[str, tuple[float, float, float, float]]]], fps: float = 10.0):
    """faces and frames tables from {frame: [(truth, (x, y, w, h)), ...]}; returns them and the truth labels."""
    rows, truth = [], []
    for frame in frames:
        for label, box in boxes.get(frame, []):
            rows.append({"frame": frame, "time": frame / fps, "score": 0.9, **dict(zip("xywh", box))})
            truth.append(label)
    faces = pd.DataFrame(rows, columns=["frame", "time", "score", "x", "y", "w", "h"])
    return faces, pd.DataFrame({"frame": frames, "time": [f / fps for f in frames]}), truth


def _assert_same_partition(ids: np.ndarray, truth: list[str]) -> None:
    """Each true face has one id, and no two faces share one."""
    pairs = set(zip(truth, ids.tolist()))
    assert len(pairs) == len(set(truth)) == len(set(ids.tolist())), pairs


def test_single_picture_numbers_faces():
    faces, frames, _ = _table([0], {0: [("a", (0, 0, 10, 10)), ("b", (50, 0, 10, 10))]})
    ids, removed = assign_tracks(faces, frames.iloc[:1])
    assert ids.tolist() == [0, 1] and removed.empty


def test_crossing_faces_keep_their_ids_by_motion():
    """Two faces walk through each other; velocity says who is who after they cross."""
    frames = list(range(12))
    boxes = {f: [("a", (10 + 12 * f, 50, 40, 40)), ("b", (142 - 12 * f, 56, 40, 40))] for f in frames}
    faces, table, truth = _table(frames, boxes)
    ids, removed = assign_tracks(faces, table)
    _assert_same_partition(ids, truth)
    assert removed.empty


def test_sparse_samples_of_a_pan_keep_ids():
    """A crowd in rows panned by ~2.5 face sizes between samples: the common motion is recovered."""
    grid = [(label, (60.0 * i + (i % 2) * 9, 40.0 + 70.0 * (i % 3), 30.0, 36.0)) for i, label in enumerate("abcdefghij")]
    frames = [0, 8, 16, 24]
    boxes = {f: [(lab, (x - 9.5 * f, y, w, h)) for lab, (x, y, w, h) in grid] for f in frames}
    faces, table, truth = _table(frames, boxes)
    ids, _ = assign_tracks(faces, table)
    _assert_same_partition(ids, truth)


def test_short_miss_keeps_id_and_removed_lists_last_box():
    frames = list(range(8))
    boxes = {f: [("a", (100 + 2 * f, 100, 40, 40))] for f in frames if f not in (3, 4)}
    for f in frames:
        boxes.setdefault(f, []).append(("b", (300, 100, 40, 40)))
    faces, table, truth = _table(frames, boxes)
    ids, removed = assign_tracks(faces, table)
    _assert_same_partition(ids, truth)
    a_id = ids[truth.index("a")]
    assert removed["frame"].tolist() == [3]  # only at the first frame without it, not again at 4
    assert removed["track_id"].tolist() == [a_id]
    assert removed[["x", "y", "w", "h"]].iloc[0].tolist() == [104.0, 100.0, 40.0, 40.0]


def test_long_absence_and_cut_give_new_ids():
    frames = list(range(20))
    before = {f: [("a", (100, 100, 40, 40)), ("b", (300, 120, 40, 40))] for f in range(5)}
    after = {f: [("c", (500, 300, 60, 60)), ("d", (20, 320, 60, 60))] for f in range(5, 10)}
    back = {f: [("a2", (100, 100, 40, 40))] for f in range(10 + MAX_MISSES, 20)}
    faces, table, truth = _table(frames, {**before, **after, **back})
    ids, removed = assign_tracks(faces, table)
    _assert_same_partition(ids, truth)
    assert sorted(removed.loc[removed["frame"] == 5, "track_id"].tolist()) == sorted({ids[0], ids[1]})
    assert sorted(removed.loc[removed["frame"] == 10, "track_id"].tolist()) == sorted({ids[truth.index("c")], ids[truth.index("d")]})


def test_removed_is_previous_minus_current_in_every_frame():
    rng = np.random.default_rng(0)
    frames = list(range(30))
    boxes = {f: [(k, (80.0 * i + f, 50.0, 30.0, 30.0)) for i, k in enumerate("abcdef") if rng.random() > 0.3] for f in frames}
    faces, table, truth = _table(frames, boxes)
    ids, removed = assign_tracks(faces, table)
    faces["track_id"] = ids
    present = faces.groupby("frame")["track_id"].apply(set).reindex(frames).apply(lambda s: s if isinstance(s, set) else set())
    for previous, frame in zip(frames, frames[1:]):
        gone = present[previous] - present[frame]
        listed = removed.loc[removed["frame"] == frame, "track_id"].tolist()
        assert sorted(listed) == sorted(gone)
        for track_id in gone:
            last = faces[(faces["frame"] == previous) & (faces["track_id"] == track_id)][["x", "y", "w", "h"]]
            got = removed[(removed["frame"] == frame) & (removed["track_id"] == track_id)][["x", "y", "w", "h"]]
            assert np.allclose(last.to_numpy(), got.to_numpy())
