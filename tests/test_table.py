"""FaceTable, the canonical store: sorting, unknown columns, cues, concat and the typed frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_tables import FRAMES, ROWS, candidates

from facekit.errors import InvalidInputError
from facekit.table import (
    FACE_DTYPES,
    FRAMES_ATTR,
    LANDMARK_COLUMNS,
    REMOVED_DTYPES,
    TRACK_DTYPES,
    FaceTable,
    analysed_frames,
    media_of,
    track_summary,
    with_removed,
)


def test_build_sorts_by_frame_then_score_descending():
    table = FaceTable.build(candidates(), FRAMES)
    frame, score = table.columns["frame"], table.columns["score"]
    assert frame.tolist() == [0, 0, 1, 1, 1, 2, 2]
    assert score.tolist() == [0.90, 0.60, 0.95, 0.62, 0.20, 0.93, 0.58]
    # every column moved with its row: the box of the 0.20 candidate is still its own
    weak = np.flatnonzero(score == 0.20)[0]
    assert (table.columns["x"][weak], table.columns["w"][weak]) == (400.0, 10.0)
    given = candidates().set_index("score")
    np.testing.assert_array_equal(table.columns["left_eye_x"], given.loc[score, "left_eye_x"].to_numpy())


def test_build_puts_unknown_scores_last_in_their_frame():
    rows = pd.DataFrame(
        {"frame": [1, 0, 0, 0], "score": [0.5, np.nan, 0.7, 0.9], "x": [1.0, 2, 3, 4], "y": 0.0, "w": 5.0, "h": 5.0}
    )
    table = FaceTable.build(rows)
    assert table.columns["frame"].tolist() == [0, 0, 0, 1]
    np.testing.assert_array_equal(table.columns["score"], [0.9, 0.7, np.nan, 0.5])
    assert table.columns["x"].tolist() == [4.0, 3.0, 2.0, 1.0]


@pytest.mark.xfail(
    strict=True, reason="FaceTable.build keeps views of already sorted input columns: the caller can change it"
)
def test_sorted_input_shares_nothing_with_the_caller():
    given = candidates(sorted(ROWS, key=lambda r: (r[0], -r[1])))
    table = FaceTable.build(given, FRAMES)
    given.loc[0, "x"] = -1.0
    assert table.columns["x"][0] == 10.0


def test_boxes_only_tables_get_unknown_columns():
    rows = {"frame": [2, 0], "x": [1.0, 2.0], "y": [3.0, 4.0], "w": [5.0, 6.0], "h": [7.0, 8.0]}
    table = FaceTable.build(rows, {"frame": [0, 2], "time": [0.0, 0.5]})
    assert table.columns["frame"].tolist() == [0, 2]
    assert table.columns["time"].tolist() == [0.0, 0.5]  # looked up from the frames
    for name in ("score", "track_id", *LANDMARK_COLUMNS):
        assert np.isnan(table.columns[name]).all(), name
    assert not table.has_crops and "crop_url" not in table.to_frame()
    frame = table.to_frame()
    assert frame["track_id"].isna().all() and str(frame["track_id"].dtype) == "Int64"


def test_frames_default_to_those_with_a_candidate_and_times_may_be_unknown():
    table = FaceTable.build(candidates(times=False))
    assert table.frame_index.tolist() == [0, 1, 2]
    assert np.isnan(table.frame_time).all() and np.isnan(table.columns["time"]).all()
    assert table.frames().dtypes.astype(str).tolist() == ["int64", "float64"]


def test_rows_whose_frame_is_not_listed_get_no_time():
    table = FaceTable.build(candidates(times=False), {"frame": [0, 1], "time": [0.0, 0.1]})
    assert table.columns["time"].tolist()[:5] == [0.0, 0.0, 0.1, 0.1, 0.1]
    assert np.isnan(table.columns["time"][5:]).all()


def test_features_are_reordered_with_the_rows():
    given = candidates()
    features = given["score"].to_numpy()[:, None] * np.ones((1, 3))  # a feature row names its candidate
    table = FaceTable.build(given, FRAMES, features=features, signatures=np.eye(4))
    assert table.features is not None and table.features.shape == (7, 3)
    np.testing.assert_array_equal(table.features[:, 0], table.columns["score"])
    assert table.signatures is not None and table.signatures.shape == (4, 4)


def test_to_frame_has_the_documented_dtypes_and_copies():
    table = FaceTable.build(candidates(), FRAMES)
    frame = table.to_frame()
    expected = {name: dtype for name, dtype in FACE_DTYPES.items() if name != "face"}
    assert frame.dtypes.astype(str).to_dict() == expected
    frame.loc[0, "x"] = -1.0
    assert table.columns["x"][0] == 10.0
    assert len(table) == 7


def test_crop_columns_only_where_crops_were_made():
    given = candidates().assign(
        crop_url=pd.Series(["a.jpg", None, "c.jpg", None, "e.jpg", "f.jpg", "g.jpg"], dtype=object),
        crop_x=1.0,
        crop_y=2.0,
        crop_w=3.0,
        crop_h=4.0,
    )
    table = FaceTable.build(given, FRAMES)
    assert table.has_crops
    frame = table.to_frame()
    assert str(frame["crop_url"].dtype) == "string" and frame["crop_url"].isna().sum() == 2


def test_concat_interleaves_frames():
    given = candidates()
    even = FaceTable.build(given[given["frame"] % 2 == 0], FRAMES[FRAMES["frame"] % 2 == 0])
    odd = FaceTable.build(given[given["frame"] % 2 == 1], FRAMES[FRAMES["frame"] % 2 == 1])
    joined = FaceTable.concat([odd, even])
    whole = FaceTable.build(given, FRAMES)
    assert joined.frame_index.tolist() == [0, 1, 2, 3] and joined.frame_time.tolist() == [0.0, 0.1, 0.2, 0.3]
    pd.testing.assert_frame_equal(joined.to_frame(), whole.to_frame())


def test_concat_refuses_a_frame_twice_and_nothing():
    table = FaceTable.build(candidates(), FRAMES)
    with pytest.raises(InvalidInputError, match="appears twice"):
        FaceTable.concat([table, table])
    with pytest.raises(InvalidInputError, match="at least one"):
        FaceTable.concat([])


def test_concat_keeps_cues_only_where_every_part_has_them():
    given = candidates()
    first, second = given[given["frame"] <= 1], given[given["frame"] == 2]
    frames_a, frames_b = FRAMES[FRAMES["frame"] <= 1], FRAMES[FRAMES["frame"] >= 2]
    features_a, features_b = np.arange(10.0).reshape(5, 2), np.arange(10.0, 14.0).reshape(2, 2)

    def part(rows, frames, features, signature):
        return FaceTable.build(rows, frames, features=features, signatures=np.full((len(frames), 3), signature))

    with_cues = FaceTable.concat([part(second, frames_b, features_b, 2.0), part(first, frames_a, features_a, 1.0)])
    assert with_cues.features is not None and with_cues.signatures is not None
    assert with_cues.signatures[:, 0].tolist() == [1.0, 1.0, 2.0, 2.0]  # in frame order
    assert with_cues.features.shape == (7, 2)
    assert sorted(with_cues.features[:, 0].tolist()) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    without = FaceTable.concat([part(first, frames_a, features_a, 1.0), FaceTable.build(second, frames_b)])
    assert without.features is None and without.signatures is None


def test_concat_features_follow_their_rows():
    given = candidates()
    features = given["score"].to_numpy()[:, None]
    late, early = given["frame"] == 2, given["frame"] <= 1
    parts = [
        FaceTable.build(given[mask], FRAMES[FRAMES["frame"].isin(given[mask]["frame"])], features=features[mask])
        for mask in (late, early)
    ]
    joined = FaceTable.concat(parts)
    assert joined.features is not None
    np.testing.assert_array_equal(joined.features[:, 0], joined.columns["score"])


def test_concat_drops_removed_boxes_given_by_a_source():
    removed = pd.DataFrame({"frame": [1], "track_id": [7], "x": [0.0], "y": [0.0], "w": [1.0], "h": [1.0]})
    table = FaceTable.build(candidates(), FRAMES[FRAMES["frame"] < 3], removed=removed)
    assert table.removed is not None and table.removed.dtypes.astype(str).to_dict() == REMOVED_DTYPES
    other = FaceTable.build(candidates([]), FRAMES[FRAMES["frame"] == 3])
    assert FaceTable.concat([table, other]).removed is None


def test_media_of():
    assert media_of(np.array([np.nan])) == "image"
    assert media_of(np.array([0.0])) == "video"
    assert media_of(np.array([np.nan, np.nan])) == "video"
    assert media_of(np.array([])) == "image"


def test_analysed_frames_prefer_the_attrs():
    faces = FaceTable.build(candidates(), FRAMES).to_frame()
    assert analysed_frames(faces)["frame"].tolist() == [0, 1, 2]
    faces.attrs[FRAMES_ATTR] = {"frame": [0, 1, 2, 3], "time": [0.0, 0.1, 0.2, 0.3]}
    assert analysed_frames(faces)["frame"].tolist() == [0, 1, 2, 3]


def test_track_summary_counts_gaps_and_ignores_removed_rows():
    faces = pd.DataFrame(
        {
            "frame": [0, 2, 3, 0, 3],
            "time": [0.0, 0.2, 0.3, 0.0, 0.3],
            "track_id": pd.array([5, 5, 5, 6, pd.NA], "Int64"),
            "score": [0.9, 0.7, 0.8, 0.6, 0.99],
            "w": [10.0, 20, 30, 4, 1],
            "h": [1.0, 2, 3, 4, 1],
            "removed": [False, False, False, False, False],
        }
    )
    gone = faces.iloc[[3]].assign(frame=1, removed=True, w=1000.0)
    summary = track_summary(pd.concat([faces, gone]), FRAMES)
    assert summary.dtypes.astype(str).to_dict() == TRACK_DTYPES
    assert summary["track_id"].tolist() == [5, 6]
    five, six = summary.iloc[0], summary.iloc[1]
    assert (five.first_frame, five.last_frame, five.n_frames, five.gaps) == (0, 3, 3, 1)
    assert (five.mean_score, five.max_score, five.mean_w) == pytest.approx((0.8, 0.9, 20.0))
    assert (six.n_frames, six.gaps, six.mean_w) == (1, 0, 4.0)
    assert track_summary(faces[faces["track_id"].isna()], FRAMES).empty


def test_with_removed_puts_removed_rows_after_their_frames_faces():
    faces = FaceTable.build(candidates(), FRAMES).to_frame().assign(face=[0, 1, 0, 1, 2, 0, 1])
    removed = pd.DataFrame(
        {"frame": [3, 1], "track_id": pd.array([1, 9], "Int64"), "x": [5.0, 6.0], "y": 0.0, "w": 1.0, "h": 1.0}
    )
    table = with_removed(faces, removed, FRAMES)
    assert table["frame"].tolist() == [0, 0, 1, 1, 1, 1, 2, 2, 3]
    assert table["removed"].tolist() == [False] * 5 + [True, False, False, True]
    flagged = table[table["removed"]]
    assert flagged["time"].tolist() == [0.1, 0.3] and flagged["face"].isna().all() and flagged["score"].isna().all()
    assert str(table["face"].dtype) == "Int64" and table["removed"].dtype == bool


def test_take_frames_keeps_the_rows_frames_and_cues_of_those_frames():
    table = FaceTable.build(
        {"frame": [0, 0, 1, 2], "score": [0.9, 0.8, 0.7, 0.6], **{c: [1.0, 2.0, 3.0, 4.0] for c in "xywh"}},
        {"frame": [0, 1, 2, 3], "time": [0.0, 0.1, 0.2, 0.3]},
        features=np.arange(8, dtype=np.float32).reshape(4, 2),
        signatures=np.arange(8, dtype=np.float32).reshape(4, 2),
    )
    part = table.take_frames([2, 0, 3, 9])  # 9 was never analysed: left out
    assert part.frame_index.tolist() == [0, 2, 3] and part.frame_time.tolist() == [0.0, 0.2, 0.3]
    assert part.columns["frame"].tolist() == [0, 0, 2] and part.columns["score"].tolist() == [0.9, 0.8, 0.6]
    assert part.features.tolist() == [[0, 1], [2, 3], [6, 7]]
    assert part.signatures.tolist() == [[0, 1], [4, 5], [6, 7]]
    assert FaceTable.concat([part, table.take_frames([1])]).columns["score"].tolist() == [0.9, 0.8, 0.7, 0.6]
