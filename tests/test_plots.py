"""The plots, rendered to PNG and checked by their artists: boxes, landmarks, lines, lanes, bars."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection

import facekit as fk
from facekit import plot
from facekit.media import frame_pixels
from facekit.schema import LANDMARKS

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def solvay(model_path) -> fk.Result:
    return fk.detect(fk.data.path("solvay"))


@pytest.fixture(scope="module")
def video(pan_clip, model_path) -> fk.Result:
    return fk.detect(pan_clip.path, num_frames=10)


def png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    assert buffer.getbuffer().nbytes > 5_000
    return buffer.getvalue()


def boxes(ax) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_overlay_draws_every_box_landmark_and_tag(solvay):
    faces = solvay.to_frame()
    ax = plot.overlay(frame_pixels(fk.data.path("solvay")), faces)
    png(ax.figure)
    (drawn,) = boxes(ax)
    assert len(drawn.get_paths()) == len(faces) == 29
    corners = np.array([path.vertices[0] for path in drawn.get_paths()])
    np.testing.assert_allclose(corners, faces[["x", "y"]].to_numpy())
    points = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets()) == 29 * len(LANDMARKS)]
    assert len(points) == 1
    tags = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets()) == 29]
    assert len(tags) == 2  # tag backgrounds and glyphs
    assert ax.get_title() == "29 faces"
    colours = drawn.get_edgecolor()[:, :3]
    expected = np.array([plot.track_color(t) for t in faces["track_id"]])
    np.testing.assert_allclose(colours, expected)


def test_overlay_of_no_faces_and_blank_canvas():
    empty = fk.Result.from_akool({"0": {"region": [], "landmarks": [], "removed": [], "frame_time": None}}).to_frame()
    ax = plot.overlay(None, empty, size=(640, 480))
    png(ax.figure)
    assert ax.get_title() == "0 faces" and ax.get_xlim() == (0, 640) and ax.get_ylim() == (480, 0)


def test_removed_boxes_are_dashed_and_grey(video, pan_clip):
    removed = video.removed()
    frame = int(removed["frame"].iloc[0])
    table = video.to_frame()
    ax = plot.overlay(frame_pixels(pan_clip.path, frame), table[table["frame"] == frame],
                      removed=removed[removed["frame"] == frame])
    png(ax.figure)
    faces_boxes, removed_boxes = boxes(ax)
    assert len(removed_boxes.get_paths()) == int((removed["frame"] == frame).sum())
    assert removed_boxes.get_linestyle()[0][1] is not None and faces_boxes.get_linestyle()[0][1] is None


def test_contact_sheet_has_a_panel_per_frame(video, pan_clip):
    pictures = {f: frame_pixels(pan_clip.path, f) for f in video.frames[:6]}
    faces = video.to_frame()
    figure = plot.contact_sheet(pictures, faces, removed=video.removed(), columns=3)
    png(figure)
    assert len(figure.axes) == 6
    for ax, frame in zip(figure.axes, video.frames[:6]):
        n = int((faces["frame"] == frame).sum())
        assert ax.get_title().startswith(f"frame {frame} · t=") and ax.get_title().endswith(f"{n} faces")
        assert len(boxes(ax)[0].get_paths()) == n


def test_track_positions_one_line_per_track(video):
    faces = video.to_frame()
    figure = video.plot_tracks()
    png(figure)
    top, bottom = figure.axes[:2]
    tracks = sorted(faces["track_id"].unique())
    assert len(top.lines) == len(bottom.lines) == len(tracks)
    for line, track in zip(top.lines, tracks):
        mine = faces[faces["track_id"] == track]
        xs, ys = line.get_xdata(), line.get_ydata()
        seen = ~np.isnan(ys)
        np.testing.assert_allclose(xs[seen], mine["time"].to_numpy())
        np.testing.assert_allclose(ys[seen], (mine["x"] + mine["w"] / 2).to_numpy())
        assert line.get_color() == matplotlib.colors.to_hex(plot.track_color(track)) or \
            matplotlib.colors.to_rgb(line.get_color()) == pytest.approx(plot.track_color(track))


def test_presence_timeline_lanes_and_removed_marks(video):
    ax = video.plot_timeline()
    png(ax.figure)
    n_tracks = video.tracks().shape[0]
    assert len(ax.get_yticks()) == n_tracks == len(ax.lines)
    marks = [c for c in ax.collections if c.get_label() == "removed"]
    assert len(marks) == 1 and len(marks[0].get_offsets()) == len(video.removed())


def test_face_count_includes_frames_without_faces():
    answer = {str(i): {"region": [[10, 10, 20, 20]] * n, "landmarks": [[[15, 15]] * 6] * n, "removed": [],
                       "frame_time": i / 10} for i, n in enumerate([2, 0, 3])}
    result = fk.Result.from_akool(answer)
    ax = result.plot_counts()
    png(ax.figure)
    assert ax.lines[0].get_ydata().tolist() == [2, 0, 3]
    assert ax.lines[0].get_xdata().tolist() == [0.0, 0.1, 0.2]


def test_score_histogram_and_faces_kept(solvay):
    scores = solvay.candidates()["score"].to_numpy()
    ax = plot.score_histogram(scores, 0.5)
    png(ax.figure)
    assert sum(bar.get_height() for bar in ax.patches) == len(scores)
    assert any(line.get_xdata()[0] == 0.5 for line in ax.lines)
    assert ax.get_title() == f"29 of {len(scores)} kept at ≥ 0.50"
    grey = [bar for bar in ax.patches if bar.get_x() + bar.get_width() <= 0.5]
    assert len({bar.get_facecolor() for bar in grey if bar.get_height()}) == 1
    ax = plot.faces_kept(scores, 0.5)
    png(ax.figure)
    curve, _, point = ax.lines
    assert point.get_ydata()[0] == 29 and point.get_xdata()[0] == 0.5
    assert curve.get_ydata()[0] == len(scores)


def test_empty_score_plots():
    assert plot.score_histogram([], 0.5).get_title() == "0 of 0 kept at ≥ 0.50"
    assert plot.faces_kept([np.nan], 0.5).get_title().startswith("0 faces")


def test_same_track_same_colour_across_plots(video):
    timeline = video.plot_timeline()
    tracks = video.plot_tracks()
    for lane, line in zip(timeline.lines, tracks.axes[0].lines):
        assert lane.get_color() == line.get_color()


def test_picture_plots_use_frame_numbers_when_there_is_no_time(solvay):
    ax = solvay.plot_counts()
    assert ax.get_xlabel() == "frame"
    assert pd.isna(solvay.to_frame()["time"]).all()
