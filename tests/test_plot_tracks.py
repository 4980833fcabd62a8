"""Track views that say who is who: gallery, lanes labelled by faces, trajectories, on-plot labels."""

from __future__ import annotations

import av
import numpy as np
import pandas as pd
import pytest
from matplotlib.offsetbox import AnnotationBbox

from facekit import plot
from facekit.plot.gallery import best_faces, crops, gallery
from facekit.plot.tracks import presence_timeline, track_positions, trajectories

TRACKS = 35
FRAMES = 12


@pytest.fixture(scope="module")
def scene() -> tuple[pd.DataFrame, pd.DataFrame, dict[int, np.ndarray]]:
    """35 tracks on a 7 x 5 grid drifting right, each face painted a grey of its own in every frame."""
    rng = np.random.default_rng(1)
    rows = []
    for track in range(TRACKS):
        seen = sorted(rng.choice(FRAMES, size=int(rng.integers(3, FRAMES)), replace=False))
        for frame in seen:
            x, y = 20 + 85 * (track % 7) + 2 * frame, 20 + 65 * (track // 7)
            rows.append({"frame": frame, "time": frame / 10, "track_id": track, "score": 0.6 + 0.01 * frame,
                         "x": float(x), "y": float(y), "w": 40.0 + frame, "h": 48.0})  # fmt: skip
    faces = pd.DataFrame(rows).sort_values(["frame", "track_id"]).reset_index(drop=True)
    faces["track_id"] = faces["track_id"].astype("Int64")
    pixels = {}
    for frame in range(FRAMES):
        canvas = np.zeros((360, 640, 3), np.uint8)
        for row in faces[faces["frame"] == frame].itertuples():
            canvas[int(row.y) : int(row.y + row.h), int(row.x) : int(row.x + row.w)] = 5 + 7 * row.track_id
        pixels[frame] = canvas
    return faces, pd.DataFrame({"frame": range(FRAMES), "time": np.arange(FRAMES) / 10}), pixels


def test_best_face_is_the_biggest_surest_and_spans_the_track(scene):
    faces, _, _ = scene
    best = best_faces(faces)
    assert best["track_id"].tolist() == list(range(TRACKS))
    for row in best.itertuples():
        mine = faces[faces["track_id"] == row.track_id]
        assert row.frame == mine["frame"].max()  # latest frame: highest score and widest box
        assert (row.first_time, row.last_time, row.n_frames) == (mine["time"].min(), mine["time"].max(), len(mine))


def test_crops_come_from_each_face_in_any_kind_of_pictures(scene):
    faces, _, pixels = scene
    best = best_faces(faces)
    for pictures in (pixels, pixels.get):
        for row, image in zip(best.itertuples(), crops(best, pictures, margin=0.0)):
            assert image.shape[:2] == (48, 40 + row.frame) and (image == 5 + 7 * row.track_id).all()
    assert crops(best, {}) == [None] * TRACKS  # no pixels: no crops, no error


def test_gallery_one_framed_panel_per_track(scene):
    faces, _, pixels = scene
    figure = gallery(faces, pixels)
    panels = [ax for ax in figure.axes if ax.axison]
    assert len(panels) == TRACKS
    for ax, track in zip(panels, range(TRACKS)):
        assert ax.get_title() == f"#{track}"
        assert ax.title.get_color() == plot.track_color(track)
        assert ax.spines["left"].get_edgecolor()[:3] == pytest.approx(plot.track_color(track))
        image = ax.images[0].get_array()
        assert (image[image.shape[0] // 2, image.shape[1] // 2] == 5 + 7 * track).all()
        mine = faces[faces["track_id"] == track]
        assert ax.get_xlabel() == f"{mine['time'].min():.1f} s-{mine['time'].max():.1f} s\n{len(mine)} frames"
    assert figure.get_size_inches()[0] >= 8 * 1.3  # 35 tracks: 9 columns, not squeezed


def test_timeline_lanes_labelled_by_faces(scene):
    faces, frames, pixels = scene
    ax = presence_timeline(faces, frames, pictures=pixels)
    thumbs = [a for a in ax.artists if isinstance(a, AnnotationBbox)]
    assert len(thumbs) == TRACKS
    assert sorted(box.xy[1] for box in thumbs) == list(range(TRACKS))
    for box in thumbs:
        assert (box.offsetbox.get_data()[12, 12] == 5 + 7 * box.xy[1]).all()  # lane n shows track n's face
    assert [t.get_color() for t in ax.get_yticklabels()] == [plot.track_color(t) for t in range(TRACKS)]
    assert ax.figure.get_size_inches()[1] >= 0.36 * TRACKS  # lanes keep their height
    assert not [a for a in presence_timeline(faces, frames).artists if isinstance(a, AnnotationBbox)]


def test_trajectories_over_a_frame_with_labels_at_the_ends(scene):
    faces, _, pixels = scene
    ax = trajectories(faces, pixels, frame=5)
    present = sorted(faces.loc[faces["frame"] == 5, "track_id"])
    paths = [line for line in ax.lines if line.get_label().startswith("#")]
    assert [line.get_label() for line in paths] == [f"#{t}" for t in present]
    for line, track in zip(paths, present):
        mine = faces[faces["track_id"] == track].sort_values("frame")
        assert np.allclose(line.get_xdata(), mine["x"] + mine["w"] / 2)
    labels = {text.get_text(): text.xy for text in ax.texts}
    assert set(labels) == {f"#{t}" for t in present}
    assert ax.images[0].get_array().shape == (360, 640, 3)
    assert (
        len([line for line in trajectories(faces, None, tracks=[0, 1]).lines if line.get_label() != "_nolegend_"]) >= 2
    )


def test_track_positions_label_lines_instead_of_a_legend(scene):
    faces, frames, _ = scene
    figure = track_positions(faces, frames=frames)
    for ax in figure.axes:
        assert ax.get_legend() is None
        assert sorted(text.get_text() for text in ax.texts) == sorted(f"#{t}" for t in range(TRACKS))


def test_palette_stays_distinct_beyond_twenty():
    colours = np.array([plot.track_color(t) for t in range(40)])
    gaps = np.linalg.norm(colours[:, None] - colours[None], axis=2) + np.eye(40)
    assert gaps.min() > 0.05 and len({tuple(c) for c in colours}) == 40


def test_pictures_from_a_video_file(scene, tmp_path):
    """A source is opened once and the frames the crops need are decoded from it."""
    faces, _, pixels = scene
    path = tmp_path / "scene.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"crf": "10"}
        for frame in range(FRAMES):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels[frame], format="rgb24")))
        container.mux(stream.encode(None))
    best = best_faces(faces)
    for row, image in zip(best.itertuples(), crops(best, path, margin=0.0)):
        assert abs(float(np.median(image)) - (5 + 7 * row.track_id)) <= 3
