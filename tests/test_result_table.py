"""Result over synthetic tables (no model): selection views, concat, filter, meta, pixels and plots."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from synthetic_tables import FRAMES, candidates, video_meta

import facekit as fk
from facekit.errors import InvalidInputError
from facekit.table import FaceTable

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def result() -> fk.Result:
    return fk.Result.from_table(FaceTable.build(candidates(), FRAMES), video_meta(), confidence=0.5, floor=0.1)


def test_views_of_the_selection(result):
    assert len(result) == 6 and result.frames == [0, 1, 2, 3] and result.is_video
    faces = result.to_frame()
    assert faces["score"].min() >= 0.5 and faces["track_id"].tolist() == [0, 1, 0, 1, 0, 1]
    assert faces.attrs["facekit_frames"] == {"frame": [0, 1, 2, 3], "time": [0.0, 0.1, 0.2, 0.3]}
    assert len(result.candidates()) == 7  # the weak candidate is kept for filter()
    with_removed = result.to_frame(removed=True)
    assert with_removed["removed"].tolist() == [False] * 6 + [True, True]
    assert result.removed()["frame"].tolist() == [3, 3]
    tracks = result.tracks()
    assert tracks["n_frames"].tolist() == [3, 3] and tracks["gaps"].tolist() == [0, 0]
    pd.testing.assert_frame_equal(result.frames_table(), FRAMES.astype({"frame": "int64"}))
    assert "6 faces in 4 frame(s)" in repr(result)


def test_filter_makes_a_new_result_over_the_same_table(result):
    strict, loose = result.filter(0.9), result.filter(0.1, single_face=True)
    assert (len(strict), len(loose), len(result)) == (3, 3, 6)
    assert strict.table is result.table and strict.meta["confidence"] == 0.9 and result.confidence == 0.5
    assert loose.to_frame()["w"].tolist() == [60.0, 60.0, 60.0]
    with pytest.raises(InvalidInputError, match=r"below the floor 0\.1"):
        result.filter(0.05)
    with pytest.raises(InvalidInputError, match="between 0 and 1"):
        result.filter(1.5)


def test_concat_of_passes_equals_one_pass(result):
    table = result.table
    parts = []
    for frames in ([1, 3], [0, 2]):  # out of order on purpose
        rows = candidates()[candidates()["frame"].isin(frames)]
        part = FaceTable.build(rows, FRAMES[FRAMES["frame"].isin(frames)])
        parts.append(fk.Result.from_table(part, video_meta(), confidence=0.5, floor=0.1))
    joined = fk.Result.concat(parts)
    assert joined.frames == result.frames and joined.meta["frames_analysed"] == 4
    pd.testing.assert_frame_equal(joined.to_frame(), result.to_frame())
    assert joined.faces_obj == result.faces_obj and joined.table is not table
    assert len(fk.Result.concat(parts, confidence=0.9)) == 3
    with pytest.raises(InvalidInputError, match="at least one"):
        fk.Result.concat([])
    with pytest.raises(InvalidInputError, match="appears twice"):
        fk.Result.concat([result, result])


def test_concat_keeps_the_highest_floor(result):
    other = fk.Result(
        candidates([(4, 0.7, 1.0, 1.0, 5.0, 5.0)]), {"frame": [4], "time": [0.4]}, confidence=0.5, floor=0.3
    )
    joined = fk.Result.concat([result, other])
    assert joined.floor == 0.3  # below it, the second part has no candidates
    with pytest.raises(InvalidInputError, match="below the floor"):
        joined.filter(0.2)


def test_boxes_only_tables_make_a_result():
    boxes = candidates().drop(columns=["score", "time"])
    result = fk.Result(boxes, FRAMES, confidence=0.9)
    assert len(result) == 7  # unknown scores are always kept
    assert result.faces_obj["0"]["scores"] == [None, None]
    assert result.frames_table()["time"].tolist() == [0.0, 0.1, 0.2, 0.3]


def test_pixels_without_a_source_are_none_and_a_picture_is_served(result):
    assert result.pixels() is None and result.pixels(2) is None
    picture = np.full((360, 640, 3), 7, np.uint8)
    held = fk.Result.from_table(result.table, video_meta(), confidence=0.5, picture=picture)
    assert held.pixels() is picture and held.filter(0.9).pixels() is picture
    assert held.pixels(1) is None  # only the first frame is held
    assert held.with_meta(service="x").pixels() is picture


def test_pixels_of_a_given_picture():
    still = fk.Result(candidates()[candidates()["frame"] == 0].assign(time=np.nan), confidence=0.5)
    picture = np.zeros((40, 60, 3), np.uint8)
    picture[:, :30] = 200
    got = still.pixels(source=picture)
    assert got is not None and got.shape == (40, 60, 3) and got[0, 0, 0] == 200 and got[0, 59, 0] == 0


def test_plot_namespace_draws_every_view_without_pixels(result):
    axes = result.plot()
    assert isinstance(axes, Axes) and axes.get_title() == "2 faces"  # on a blank canvas: no pixels to be had
    assert result.plot(frame=3).get_title() == "0 faces"  # only the two removed boxes
    assert result.filter(0.1).plot(frame=1).get_title() == "3 faces"
    with pytest.raises(InvalidInputError, match="frame 9 was not analysed"):
        result.plot(frame=9)
    assert isinstance(result.plot.tracks(), Figure)
    for view in (
        result.plot.timeline,
        result.plot.counts,
        result.plot.scores,
        result.plot.kept,
        result.plot.trajectories,
    ):
        assert isinstance(view(), Axes), view.__name__
    heights = [p.get_height() for p in result.plot.scores(bins=10).patches]
    assert sum(heights) == 7  # every candidate, not only the kept ones
    for needs_pixels in (result.plot.gallery, result.plot.contact_sheet):
        with pytest.raises(InvalidInputError, match="source="):
            needs_pixels()


def test_plot_aliases_and_the_dataframe_namespace_agree(result):
    assert isinstance(result.plot_tracks(), Figure)
    for alias in (result.plot_timeline, result.plot_counts, result.plot_scores, result.plot_kept):
        assert isinstance(alias(), Axes), alias.__name__
    faces = result.to_frame(removed=True)
    assert isinstance(faces.faces.plot(), Axes) and isinstance(faces.faces.plot.counts(), Axes)
    lines = result.plot.counts().get_lines()[0].get_ydata().tolist()
    assert lines == faces.faces.plot.counts().get_lines()[0].get_ydata().tolist() == [2, 2, 2, 0]


def test_contact_sheet_and_gallery_of_a_given_picture():
    rows = candidates()[candidates()["frame"] == 0].assign(time=np.nan)
    still = fk.Result(
        rows, {"frame": [0], "time": [np.nan]}, {"media": "image", "width": 320, "height": 120}, confidence=0.5
    )
    picture = np.random.default_rng(0).integers(0, 255, (120, 320, 3), dtype=np.uint8)
    assert isinstance(still.plot.contact_sheet(picture), Figure)
    assert isinstance(still.plot.gallery(picture), Figure)
    assert isinstance(still.contact_sheet(picture), Figure)
    assert isinstance(still.plot(source=picture), Axes)
