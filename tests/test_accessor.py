"""The tidy table: to_frame(removed=True), the round trip through faces_obj, tracks(), df.faces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import facekit as fk
from facekit.table import FACE_DTYPES, TRACK_DTYPES


@pytest.fixture(scope="module")
def video(pan_clip, model_path) -> fk.Result:
    return fk.detect(pan_clip.path, num_frames=12)


def test_to_frame_has_the_documented_columns_and_dtypes(video):
    frame = video.to_frame()
    assert list(frame.columns) == list(FACE_DTYPES)
    assert {c: str(t) for c, t in frame.dtypes.items()} == FACE_DTYPES


def test_removed_rows_are_flagged_after_the_faces_of_their_frame(video):
    plain, flagged = video.to_frame(), video.to_frame(removed=True)
    removed = video.removed()
    assert len(removed) > 0, "the pan moves faces out of the picture"
    assert len(flagged) == len(plain) + len(removed)
    gone = flagged[flagged["removed"]]
    assert gone["face"].isna().all() and gone["score"].isna().all() and gone["left_eye_x"].isna().all()
    pd.testing.assert_frame_equal(gone[list(removed.columns)].reset_index(drop=True), removed)
    times = dict(zip(video.frames, [video.faces_obj[str(f)]["frame_time"] for f in video.frames]))
    assert gone["time"].tolist() == [times[f] for f in gone["frame"]]
    assert flagged["frame"].is_monotonic_increasing
    for _, rows in flagged.groupby("frame"):
        assert not rows["removed"].iloc[:-1].gt(rows["removed"].iloc[1:].to_numpy()).any()  # faces first


def test_frame_to_faces_obj_to_frame_is_lossless(video):
    table = video.to_frame(removed=True)
    again = fk.Result.from_akool(table.faces.to_faces_obj()).to_frame(removed=True)
    pd.testing.assert_frame_equal(again, table, check_exact=True)
    assert table.faces.to_faces_obj() == video.faces_obj  # frames without faces survive too


def test_round_trip_through_parquet_keeps_the_frames_attr(video, tmp_path):
    table = video.to_frame(removed=True)
    path = tmp_path / "faces.parquet"
    table.to_parquet(path)
    read = pd.read_parquet(path)
    assert read.faces.to_faces_obj() == video.faces_obj


def test_tracks_summary(video):
    tracks = video.tracks()
    assert {c: str(t) for c, t in tracks.dtypes.items()} == TRACK_DTYPES
    faces = video.to_frame()
    assert tracks["n_frames"].sum() == len(faces)
    for row in tracks.itertuples():
        mine = faces[faces["track_id"] == row.track_id]
        spanned = [f for f in video.frames if row.first_frame <= f <= row.last_frame]
        assert row.gaps == len(spanned) - len(mine)
        assert row.mean_score == pytest.approx(mine["score"].mean())
        assert row.mean_w == pytest.approx(mine["w"].mean())
    pd.testing.assert_frame_equal(faces.faces.tracks(), tracks)


def test_faces_filter(video):
    faces = video.to_frame(removed=True)
    strict = faces.faces.filter(confidence=0.8)
    kept = strict[~strict["removed"]]
    assert (kept["score"] >= 0.8).all() and len(kept) == int((video.to_frame()["score"] >= 0.8).sum())
    assert strict["removed"].sum() == faces["removed"].sum()  # removed rows stay
    big = faces.faces.filter(min_size=40)
    assert (np.minimum(big.loc[~big["removed"], "w"], big.loc[~big["removed"], "h"]) >= 40).all()
    with pytest.raises(fk.InvalidInputError):
        faces.faces.filter(confidence=2)


def test_faces_filter_keeps_faces_without_scores():
    answer = {"0": {"region": [[1, 2, 30, 40]], "landmarks": [[[5, 5]] * 6], "removed": [], "frame_time": None}}
    table = fk.Result.from_akool(answer).to_frame()
    assert len(table.faces.filter(confidence=0.9)) == 1


def test_accessor_needs_a_face_table():
    with pytest.raises(AttributeError, match="face table"):
        pd.DataFrame({"a": [1]}).faces.tracks()


def test_faces_overlay_on_a_video_frame(video, pan_clip):
    import matplotlib.pyplot as plt

    table = video.to_frame(removed=True)
    frame = video.removed()["frame"].iloc[0]
    ax = table.faces.overlay(pan_clip.path, frame=frame)
    n_faces = int(((table["frame"] == frame) & ~table["removed"]).sum())
    assert ax.get_title().startswith(f"{n_faces} face")
    assert ax.images and ax.images[0].get_array().shape[:2] == (video.meta["height"], video.meta["width"])
    dashed = [c for c in ax.collections if any(ls[1] is not None for ls in c.get_linestyle())]
    assert dashed, "removed boxes are drawn dashed"
    plt.close("all")


def test_faces_plots(video):
    import matplotlib.pyplot as plt

    table = video.to_frame(removed=True)
    figure = table.faces.plot_tracks()
    top = figure.axes[0]
    assert len(top.lines) == video.tracks().shape[0]
    timeline = table.faces.plot_timeline()
    assert len(timeline.get_yticks()) == video.tracks().shape[0]
    counts = table.faces.plot_counts()
    per_frame = video.to_frame().groupby("frame").size().reindex(video.frames, fill_value=0)
    assert counts.lines[0].get_ydata().tolist() == per_frame.tolist()
    plt.close("all")
