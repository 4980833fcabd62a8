"""facekit.plot on real detections (Solvay, a panning video): what each plot draws, not only that it draws."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.colors import to_rgb

import facekit as fk
from facekit import plot
from facekit.media import Video
from facekit.plot import _style
from facekit.table import FACE_DTYPES, FRAME_DTYPES, REMOVED_DTYPES, empty

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def solvay(model_path) -> fk.Result:
    return fk.detect(fk.data.path("solvay"))


@pytest.fixture(scope="module")
def video(model_path, tmp_path_factory):
    """A 2 s panning clip analysed at 8 frames: (faces, frames table, removed, {frame: (time, pixels)})."""
    clip = fk.data.pan_video(tmp_path_factory.mktemp("plot") / "pan.mp4", seconds=2.0, fps=10.0)
    result = fk.detect(clip.path, num_frames=8)
    frames = pd.DataFrame(
        {"frame": result.frames, "time": [result.faces_obj[str(f)]["frame_time"] for f in result.frames]}
    )
    decoded = Video(clip.path.read_bytes(), fk.Limits()).sample(result.frames)
    pictures = {f.index: (f.time, f.pixels) for f in decoded}
    return result.to_frame(), frames, result.removed(), pictures


def png_bytes(figure) -> int:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=50)
    return buffer.tell()


def rendered(figure) -> None:
    assert png_bytes(figure) > 5_000


def collections(ax, kind) -> list:
    return [c for c in ax.collections if type(c) is kind]


def box_collections(ax) -> list[PolyCollection]:
    return collections(ax, PolyCollection)


def label_glyphs(ax) -> list[PathCollection]:
    """The label text collections: white glyph outlines, one path per label."""
    return [c for c in collections(ax, PathCollection) if np.allclose(c.get_facecolors()[:, :3], 1.0)]


def same_path(a, b) -> bool:
    return np.allclose(a.vertices, b.vertices) and np.array_equal(a.codes, b.codes)


# -- overlay -----------------------------------------------------------------------------------


def test_overlay_solvay_boxes_landmarks_labels(solvay):
    faces, picture = solvay.to_frame(), fk.data.solvay()
    ax = plot.overlay(picture, faces)
    rendered(ax.figure)
    (boxes,) = box_collections(ax)
    assert len(boxes.get_paths()) == len(faces) == 29
    first = boxes.get_paths()[0].vertices
    row = faces.iloc[0]
    assert np.allclose(
        first[:4], [[row.x, row.y], [row.x + row.w, row.y], [row.x + row.w, row.y + row.h], [row.x, row.y + row.h]]
    )
    assert np.allclose(boxes.get_edgecolors()[:, :3], [plot.track_color(t) for t in faces["track_id"]])
    landmarks = next(c for c in collections(ax, PathCollection) if len(c.get_offsets()) == 29 * 6)
    assert np.allclose(landmarks.get_offsets()[:6], [[row[f"{n}_x"], row[f"{n}_y"]] for n in fk.schema.LANDMARKS])
    (glyphs,) = label_glyphs(ax)
    assert len(glyphs.get_paths()) == 29
    assert same_path(glyphs.get_paths()[0], _style.label_paths(f"#{int(row.track_id)} {row.score:.2f}")[0])
    assert ax.images and ax.get_xlim() == (-0.5, picture.shape[1] - 0.5)
    assert ax.get_title() == "29 faces"


def test_overlay_options_turn_parts_off(solvay):
    ax = plot.overlay(None, solvay.to_frame(), labels=False, landmarks=False, size=(4000, 3000))
    assert len(box_collections(ax)) == 1 and len(ax.collections) == 1
    assert ax.get_xlim() == (0, 4000) and ax.get_ylim() == (3000, 0)


def test_overlay_removed_boxes_dashed_grey_labelled(video):
    faces, _, removed, pictures = video
    frame = int(removed["frame"].value_counts().idxmax())
    gone, shown = removed[removed["frame"] == frame], faces[faces["frame"] == frame]
    picture = pictures[frame][1]
    ax = plot.overlay(picture, shown, removed=gone)
    rendered(ax.figure)
    kept, dashed = box_collections(ax)
    assert len(kept.get_paths()) == len(shown) and len(dashed.get_paths()) == len(gone) > 1
    assert all(offset is not None and dashes for offset, dashes in dashed.get_linestyle())
    assert kept.get_linestyle() == [(0, None)]
    assert np.allclose(dashed.get_edgecolors()[:, :3], _style.REMOVED_COLOR)
    glyphs = label_glyphs(ax)[1]
    for path, track in zip(glyphs.get_paths(), gone["track_id"]):
        assert same_path(path, _style.label_paths(f"removed #{track}")[0])
    assert ax.get_xlim() == (-0.5, picture.shape[1] - 0.5)  # boxes past the left edge do not widen the view


def test_overlay_no_faces():
    ax = plot.overlay(None, empty(FACE_DTYPES), size=(640, 360))
    assert png_bytes(ax.figure) > 0
    assert all(len(c.get_paths()) == 0 for c in ax.collections) and ax.get_title() == "0 faces"


def test_result_plot_decodes_any_analysed_video_frame(pan_clip):
    result = fk.detect(pan_clip.path, num_frames=5)
    frame = result.frames[3]
    ax = result.plot(frame=frame)
    assert np.array_equal(ax.images[0].get_array(), fk.media.frame_pixels(pan_clip.path, frame))
    faces = result.to_frame().query("frame == @frame")
    (boxes, *_) = box_collections(ax)
    assert len(boxes.get_paths()) == len(faces) > 0
    assert np.allclose(boxes.get_paths()[0].vertices[0], faces[["x", "y"]].iloc[0])


def test_overlay_shrinks_a_big_picture_but_keeps_source_pixels(solvay):
    big = np.zeros((6000, 8000), np.uint8)  # 48 MP (grey, to keep the test light)
    faces = solvay.to_frame()
    ax = plot.overlay(big, faces)
    assert max(ax.images[0].get_array().shape) == plot.pictures.MAX_SIDE  # drawn shrunk
    assert ax.get_xlim() == (-0.5, 7999.5) and ax.get_ylim() == (5999.5, -0.5)  # axes in source pixels
    (boxes,) = box_collections(ax)
    row = faces.iloc[0]
    assert np.allclose(boxes.get_paths()[0].vertices[0], [row.x, row.y])  # faces need no scaling
    rendered(ax.figure)


def label_extents(ax) -> np.ndarray:
    """(N, 4) display-pixel extents x1, y1, x2, y2 of the drawn label backings."""
    backs = next(c for c in collections(ax, PathCollection) if np.allclose(c.get_facecolors()[:, :3], 0.1))
    points = ax.figure.dpi / 72
    offsets = ax.transData.transform(backs.get_offsets())
    corners = np.array([path.vertices[2] for path in backs.get_paths()]) * points
    return np.column_stack([offsets, offsets + corners])


def test_labels_dark_backed_inside_the_picture_and_never_overlapping():
    rng = np.random.default_rng(3)
    count = 80
    x, y = rng.uniform(-10, 560, count), rng.uniform(-5, 330, count)
    faces = pd.DataFrame(
        {
            "x": x,
            "y": y,
            "w": 30.0,
            "h": 36.0,
            "score": rng.uniform(0.3, 1, count),
            "track_id": pd.array(np.arange(count), dtype="Int64"),
        }
    )
    for name in fk.schema.LANDMARKS:
        faces[f"{name}_x"], faces[f"{name}_y"] = x + 15, y + 18
    figure = plt.figure(figsize=(6.4, 3.6), dpi=100)
    ax = plot.overlay(np.full((360, 640, 3), 255, np.uint8), faces, ax=figure.add_axes((0, 0, 1, 1)))
    figure.canvas.draw()
    extents = label_extents(ax)
    assert 5 < len(extents) < count  # crowded: some labels are dropped rather than piled up
    box = ax.get_window_extent()
    assert (extents[:, 0] >= box.x0 - 0.5).all() and (extents[:, 2] <= box.x1 + 0.5).all()
    assert (extents[:, 1] >= box.y0 - 0.5).all() and (extents[:, 3] <= box.y1 + 0.5).all()
    overlap = (
        (extents[:, None, 0] < extents[None, :, 2] - 0.5)
        & (extents[None, :, 0] < extents[:, None, 2] - 0.5)
        & (extents[:, None, 1] < extents[None, :, 3] - 0.5)
        & (extents[None, :, 1] < extents[:, None, 3] - 0.5)
    )
    assert not overlap[~np.eye(len(extents), dtype=bool)].any()
    (glyphs,) = label_glyphs(ax)
    best = _style.label_paths(f"#{faces['track_id'].iloc[faces['score'].argmax()]} {faces['score'].max():.2f}")[0]
    assert any(p.vertices.shape == best.vertices.shape and same_path(p, best) for p in glyphs.get_paths())


def test_place_labels_above_inside_below_or_dropped():
    boxes = np.array([[10.0, 50, 20, 20], [12, 50, 20, 20], [14, 50, 20, 20], [16, 50, 20, 20], [300, 0, 20, 20]])
    corners = _style.place_labels(boxes, np.full((5, 2), [30.0, 10.0]), (320, 200))
    assert corners[0].tolist() == [10, 40]  # above its box
    assert corners[1].tolist() == [12, 50]  # above is taken: inside the top edge
    assert corners[2].tolist() == [14, 70]  # then below
    assert np.isnan(corners[3]).all()  # no room left: dropped
    assert corners[4].tolist() == [290, 0]  # at the corner: pushed inside the picture


# -- contact sheet -----------------------------------------------------------------------------


def test_contact_sheet_one_panel_per_frame(video):
    faces, frames, removed, pictures = video
    panels = [(frame, time, pixels) for frame, (time, pixels) in pictures.items()]
    figure = plot.contact_sheet(panels, faces, removed=removed, columns=3, size=2.0)
    rendered(figure)
    assert len(figure.axes) == len(frames) == 8
    counts = faces.groupby("frame").size()
    for ax, (frame, time, _) in zip(figure.axes, panels):
        assert ax.get_title() == f"frame {frame} · t={time:.2f} s · {counts[frame]} faces"
        boxes = box_collections(ax)
        assert len(boxes[0].get_paths()) == counts[frame]
        assert len(boxes) == 1 + (frame in set(removed["frame"]))
    assert figure.get_size_inches()[0] == pytest.approx(6.0)


def test_contact_sheet_from_mapping_without_titles(video):
    faces, _, _, pictures = video
    figure = plot.contact_sheet({f: p for f, (_, p) in pictures.items()}, faces, titles=False, labels=False)
    assert len(figure.axes) == 8 and all(ax.get_title() == "" for ax in figure.axes)
    titled = plot.contact_sheet({3: pictures[3][1]}, faces)
    assert titled.axes[0].get_title() == f"frame 3 · t=0.30 s · {(faces['frame'] == 3).sum()} faces"


def test_contact_sheet_empty():
    figure = plot.contact_sheet({}, empty(FACE_DTYPES))
    assert figure.axes == [] and png_bytes(figure) > 0


# -- tracks over time --------------------------------------------------------------------------


def test_track_positions_one_line_per_track(video):
    faces, frames, _, _ = video
    figure = plot.track_positions(faces, frames=frames)
    rendered(figure)
    top, bottom = figure.axes[:2]
    tracks = sorted(faces["track_id"].unique())
    for ax, centre in ((top, faces["x"] + faces["w"] / 2), (bottom, faces["y"] + faces["h"] / 2)):
        assert [line.get_label() for line in ax.lines] == [f"#{t}" for t in tracks]
        for line, track in zip(ax.lines, tracks):
            mine = faces["track_id"] == track
            x, y = line.get_data()
            assert np.array_equal(x, faces.loc[mine, "time"].to_numpy())
            assert np.allclose(y, centre[mine].to_numpy())
    assert top.get_shared_x_axes().joined(top, bottom)
    assert bottom.get_xlabel() == "time (s)" and bottom.yaxis_inverted()


def test_track_positions_break_where_a_track_is_missing(video):
    faces, frames, _, _ = video
    track = faces["track_id"].value_counts().idxmax()
    rows = faces.index[faces["track_id"] == track]
    hole = faces.loc[rows[2], "frame"]
    figure = plot.track_positions(faces.drop(index=rows[2]), frames=frames)
    line = next(line for line in figure.axes[0].lines if line.get_label() == f"#{track}")
    x, y = line.get_data()
    gap = frames.loc[frames["frame"] == hole, "time"].item()
    assert np.isnan(y[x == gap]).all() and np.isfinite(y[x != gap]).all()  # no line drawn across the gap


def test_presence_timeline_lanes_and_removed(video):
    faces, frames, removed, _ = video
    ax = plot.presence_timeline(faces, frames, removed=removed)
    rendered(ax.figure)
    tracks = sorted(faces["track_id"].unique())
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"#{t}" for t in tracks]
    assert len(ax.lines) == len(tracks)
    for lane, (line, track) in enumerate(zip(ax.lines, tracks)):
        x, y = line.get_data()
        assert np.array_equal(x[np.isfinite(y)], faces.loc[faces["track_id"] == track, "time"].to_numpy())
        assert np.all(y[np.isfinite(y)] == lane)
    (marks,) = collections(ax, PathCollection)
    assert len(marks.get_offsets()) == len(removed) > 0
    times = frames.set_index("frame")["time"]
    assert np.allclose(
        marks.get_offsets(),
        np.column_stack([removed["frame"].map(times), [tracks.index(t) for t in removed["track_id"]]]),
    )


def test_face_count_includes_frames_without_faces(video):
    faces, frames, _, _ = video
    frames = pd.concat([frames, pd.DataFrame({"frame": [25], "time": [2.5]})], ignore_index=True)
    ax = plot.face_count(faces, frames)
    rendered(ax.figure)
    (line,) = ax.lines
    expected = faces.groupby("frame").size().reindex(frames["frame"], fill_value=0).to_numpy()
    assert expected[-1] == 0
    assert np.array_equal(line.get_ydata(), expected) and np.array_equal(line.get_xdata(), frames["time"])


def test_image_plots_use_the_frame_index(solvay):
    faces = solvay.to_frame()
    frames = pd.DataFrame({"frame": [0], "time": [np.nan]})
    ax = plot.face_count(faces, frames)
    assert ax.get_xlabel() == "frame" and list(ax.lines[0].get_xdata()) == [0] and list(ax.lines[0].get_ydata()) == [29]
    ax = plot.presence_timeline(faces, frames)
    assert ax.get_xlabel() == "frame" and len(ax.get_yticks()) == 29
    assert list(plot.track_positions(faces).axes[0].lines[0].get_xdata()) == [0]


def test_colours_follow_the_track(video):
    faces, frames, _, pictures = video
    frame = frames["frame"].iloc[3]
    shown = faces[faces["frame"] == frame]
    boxes = box_collections(plot.overlay(pictures[frame][1], shown))[0]
    box_colour = dict(zip(shown["track_id"], map(tuple, boxes.get_edgecolors()[:, :3])))
    lines = {line.get_label(): to_rgb(line.get_color()) for line in plot.track_positions(faces).axes[0].lines}
    lanes = {line.get_label(): to_rgb(line.get_color()) for line in plot.presence_timeline(faces, frames).lines}
    for track, colour in box_colour.items():
        assert lines[f"#{track}"] == lanes[f"#{track}"] == pytest.approx(colour) == plot.track_color(track)
    assert plot.track_color(3) == plot.track_color(63) != plot.track_color(23)  # 60 colours, then they wrap
    assert len({plot.track_color(t) for t in range(60)}) == 60
    assert plot.track_color(pd.NA) == plot.track_color(0)


def test_track_plots_without_faces():
    faces, frames = empty(FACE_DTYPES), pd.DataFrame({"frame": [0, 5], "time": [0.0, 0.5]})
    figure = plot.track_positions(faces, frames=frames)
    assert all(len(ax.lines) == 0 for ax in figure.axes) and png_bytes(figure) > 0
    ax = plot.presence_timeline(faces, frames, removed=empty(REMOVED_DTYPES))
    assert len(ax.lines) == 0 and len(ax.get_yticks()) == 0 and png_bytes(ax.figure) > 0
    ax = plot.face_count(faces, frames)
    assert list(ax.lines[0].get_ydata()) == [0, 0] and png_bytes(ax.figure) > 0
    ax = plot.face_count(faces, empty(FRAME_DTYPES))
    assert len(ax.lines[0].get_xdata()) == 0 and png_bytes(ax.figure) > 0


# -- the confidence threshold ------------------------------------------------------------------


def test_score_histogram(solvay):
    scores = solvay.candidates()["score"].to_numpy()
    threshold = 0.53  # inside a bin: that bin is split at the threshold
    ax = plot.score_histogram(scores, threshold)
    rendered(ax.figure)
    bars = ax.patches
    assert sum(bar.get_height() for bar in bars) == len(scores) > 29
    assert len(bars) == 21
    for bar in bars:
        kept = bar.get_x() >= threshold
        assert bar.get_x() + bar.get_width() <= threshold + 1e-12 or kept
        assert to_rgb(bar.get_facecolor()) == (to_rgb(_style.KEPT_COLOR) if kept else _style.BELOW_COLOR)
    above = sum(bar.get_height() for bar in bars if bar.get_x() >= threshold)
    assert above == (scores >= threshold).sum()
    (line,) = ax.lines
    assert list(line.get_xdata()) == [threshold, threshold]
    assert ax.get_title() == f"{(scores >= threshold).sum()} of {len(scores)} kept at ≥ 0.53"


def test_faces_kept_curve(solvay):
    scores = solvay.candidates()["score"].to_numpy()
    ax = plot.faces_kept(scores, 0.5)
    rendered(ax.figure)
    curve, _, point = ax.lines
    x, y = curve.get_data()
    assert curve.get_drawstyle() == "steps-pre"
    for t in [0.0, 0.05, 0.3, 0.5, np.sort(scores)[-5], 0.99]:
        assert y[np.searchsorted(x, t, side="left")] == (scores >= t).sum()
    assert list(point.get_data()[1]) == [(scores >= 0.5).sum()] == [len(solvay)]
    assert ax.get_title() == f"{len(solvay)} faces kept at ≥ 0.50"


def test_threshold_plots_without_scores():
    for draw in (plot.score_histogram, plot.faces_kept):
        ax = draw(np.array([np.nan]), 0.5)
        assert ax.get_title().startswith("0 ") and png_bytes(ax.figure) > 0
    assert sum(bar.get_height() for bar in plot.score_histogram([], 0.5).patches) == 0
