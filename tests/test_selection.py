"""select(): thresholds, unknown scores, single_face, face positions, track ids and purity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_tables import FRAMES, candidates

from facekit.selection import select
from facekit.table import FaceTable


@pytest.fixture
def table() -> FaceTable:
    return FaceTable.build(candidates(), FRAMES)


@pytest.mark.parametrize(
    ("confidence", "kept"), [(0.0, 7), (0.2, 7), (0.21, 6), (0.6, 5), (0.62, 4), (0.63, 3), (0.95, 1), (1.0, 0)]
)
def test_threshold_is_inclusive(table, confidence, kept):
    selection = select(table, confidence)
    assert len(selection) == kept
    assert (selection.kept["score"] >= confidence).all()


def test_unknown_scores_are_always_kept():
    rows = candidates().assign(score=[np.nan, 0.1, np.nan, 0.9, 0.2, np.nan, 0.3])
    selection = select(FaceTable.build(rows, FRAMES), 1.0)
    assert len(selection) == 3 and np.isnan(selection.kept["score"]).all()


def test_face_is_the_position_within_the_frame(table):
    selection = select(table, 0.1)
    assert selection.kept["frame"].tolist() == [0, 0, 1, 1, 1, 2, 2]
    assert selection.kept["face"].tolist() == [0, 1, 0, 1, 2, 0, 1]
    assert select(table, 0.61).kept["face"].tolist() == [0, 0, 1, 0]


def test_single_face_keeps_the_largest_per_frame(table):
    selection = select(table, 0.1, single_face=True)
    assert selection.kept["frame"].tolist() == [0, 1, 2]
    assert selection.kept["w"].tolist() == [60.0, 60.0, 60.0]  # larger than the better-scored 40 x 50 face
    assert selection.kept["face"].tolist() == [0, 0, 0]
    # the threshold applies first: above 0.62 the large face is gone from frames 0 and 2
    assert select(table, 0.61, single_face=True).kept["w"].tolist() == [40.0, 60.0, 40.0]


def test_single_face_ties_keep_the_better_score():
    rows = candidates().assign(w=50.0, h=50.0)
    selection = select(FaceTable.build(rows, FRAMES), 0.1, single_face=True)
    assert selection.kept["score"].tolist() == [0.90, 0.95, 0.93]


def test_tracker_ids_and_removed_boxes(table):
    selection = select(table, 0.5)
    ids = selection.kept["track_id"]
    assert ids[selection.kept["x"] < 100].tolist() == [0.0, 0.0, 0.0]
    assert ids[selection.kept["x"] > 100].tolist() == [1.0, 1.0, 1.0]
    assert selection.removed["frame"].tolist() == [3, 3]  # both left before the empty frame 3
    assert sorted(selection.removed["track_id"].tolist()) == [0, 1]


def test_given_track_ids_are_kept_as_given():
    rows = candidates().assign(track_id=[40.0, 11, 11, 99, 10, 10, 41])
    selection = select(FaceTable.build(rows, FRAMES), 0.5)
    assert selection.kept["track_id"].tolist() == [10, 11, 40, 41, 10, 11]
    assert selection.removed.empty


def test_partial_track_ids_are_tracked_again():
    rows = candidates().assign(track_id=[np.nan, 11, 11, 99, 10, 10, 41])
    selection = select(FaceTable.build(rows, FRAMES), 0.5)
    assert set(selection.kept["track_id"].tolist()) == {0.0, 1.0}


def test_one_picture_numbers_tracks_by_position():
    rows = candidates()
    picture = FaceTable.build(rows[rows["frame"] == 1])
    selection = select(picture, 0.1)
    np.testing.assert_array_equal(selection.kept["track_id"], selection.kept["face"])
    assert selection.kept["track_id"].tolist() == [0.0, 1.0, 2.0] and selection.removed.empty


def test_removed_boxes_given_by_the_source_are_kept_as_given():
    removed = pd.DataFrame({"frame": [2], "track_id": [7], "x": [1.0], "y": [2.0], "w": [3.0], "h": [4.0]})
    table = FaceTable.build(candidates(), FRAMES, removed=removed)
    for confidence in (0.1, 0.9):
        got = select(table, confidence).removed
        assert got["frame"].tolist() == [2] and got["track_id"].tolist() == [7] and got["w"].tolist() == [3.0]


def test_selection_changes_nothing_in_the_table(table):
    before = {name: values.copy() for name, values in table.columns.items()}
    features = np.arange(14.0).reshape(7, 2)
    cued = FaceTable.build(candidates(), FRAMES, features=features)
    cued_before = cued.features.copy() if cued.features is not None else None
    for confidence in (0.0, 0.5, 0.9):
        for single in (False, True):
            select(table, confidence, single).kept["track_id"][:] = -5  # even a caller writing to the result
            select(cued, confidence, single)
    for name, values in before.items():
        np.testing.assert_array_equal(table.columns[name], values, err_msg=name)
    np.testing.assert_array_equal(cued.features, cued_before)


@pytest.mark.parametrize("single", [False, True])
def test_any_threshold_equals_a_fresh_selection(table, single):
    for confidence in np.linspace(0.0, 1.0, 21):
        again = select(table, float(confidence), single)
        fresh = select(FaceTable.build(candidates(), FRAMES), float(confidence), single)
        assert again.kept.keys() == fresh.kept.keys()
        for name in fresh.kept:
            np.testing.assert_array_equal(again.kept[name], fresh.kept[name], err_msg=f"{name} at {confidence}")
        pd.testing.assert_frame_equal(again.removed, fresh.removed)
