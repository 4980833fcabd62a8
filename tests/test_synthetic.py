"""The generated four-shot video: a real H.264 file, and truth that says where each face is and who."""

from __future__ import annotations

import av
import numpy as np
import pytest

import facekit as fk
from facekit.geometry import iou_matrix, match
from facekit.synthetic import IGNORE_BELOW, crowd_video, shot_video


@pytest.fixture(scope="module")
def video(tmp_path_factory, model_path):
    return shot_video(tmp_path_factory.mktemp("synthetic") / "shots.mp4")


def test_real_h264_with_shots_and_truth(video):
    with av.open(str(video.path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 640, 360)
    assert frames == 90 and video.shot_starts == (0, 25, 45, 75) and video.fps == 10.0
    truth = video.truth
    assert list(truth.columns) == ["frame", "track_id", "person", "shot", "x", "y", "w", "h", "ignore"]
    assert truth["frame"].between(0, 89).all() and (truth[["w", "h"]] > 0).all().all()
    assert (truth["x"] >= 0).all() and (truth["x"] + truth["w"] <= 640).all() and (truth["y"] + truth["h"] <= 360).all()
    shot_of = np.searchsorted(video.shot_starts, truth["frame"], side="right") - 1
    assert (shot_of == truth["shot"]).all()
    assert (truth.groupby("track_id")["shot"].nunique() == 1).all()  # a true track never crosses a cut
    assert (truth.groupby("track_id")["person"].nunique() == 1).all()
    newton = truth[truth["person"] == "newton"]
    assert sorted(newton["shot"].unique()) == [0, 2, 3] and newton["track_id"].nunique() == 3


def test_gaps_crossing_and_ignore_regions(video):
    truth = video.truth

    def seen(person: str, shot: int) -> np.ndarray:
        return (
            truth.loc[(truth["person"] == person) & (truth["shot"] == shot), "frame"].to_numpy()
            - video.shot_starts[shot]
        )

    every = np.arange(30)
    assert set(every) - set(seen("newton", 2)) == {7, 8, 9}  # away 0.3 s: within the tracker's patience
    assert set(every) - set(seen("gauss", 2)) == set(range(12, 24))  # away 1.2 s
    crossing = truth[truth["shot"] == 0].pivot(index="frame", columns="person", values="x")
    assert (
        crossing.iloc[0]["newton"] < crossing.iloc[0]["gauss"]
        and crossing.iloc[-1]["newton"] > crossing.iloc[-1]["gauss"]
    )
    crowd = truth[truth["shot"] == 1]
    assert crowd["ignore"].any() and (~crowd["ignore"]).sum() >= 13 * 20  # faces at the edges are ignore regions
    clipped = crowd[(crowd["x"] == 0) | (crowd["x"] + crowd["w"] == 640)]
    assert clipped["ignore"].mean() > 0.5 and IGNORE_BELOW == 0.6


def test_crowd_of_look_alikes_walks_past_each_other(tmp_path):
    """Eight heads, one shot, a track each; two lanes in opposite directions, people entering and leaving."""
    crowd = crowd_video(tmp_path / "crowd.mp4", fps=5.0, seconds=4.0)
    with av.open(str(crowd.path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 20
    truth = crowd.truth
    assert crowd.shot_starts == (0,) and truth["track_id"].nunique() == truth["person"].nunique() == 8
    moves = truth.groupby("person")["x"].agg(lambda x: x.iloc[-1] - x.iloc[0])
    assert (moves > 0).sum() >= 3 and (moves < 0).sum() >= 3
    spans = truth.groupby("person")["frame"].agg(["min", "max"])
    assert (spans["min"] > 0).any() and (spans["max"] < 19).any()  # someone enters, someone leaves
    assert truth["ignore"].any() and (~truth["ignore"]).mean() > 0.8


@pytest.mark.slow
def test_truth_boxes_are_where_the_model_finds_faces(video):
    chosen = [0, 12, 24, 30, 44, 50, 60, 70, 80, 89]
    found = fk.detect(video.path, frames=chosen, progress=False).to_frame()
    for frame in chosen:
        real = video.truth[(video.truth["frame"] == frame) & ~video.truth["ignore"]]
        here = found[found["frame"] == frame]
        rows, _ = match(iou_matrix(real[["x", "y", "w", "h"]], here[["x", "y", "w", "h"]]), 0.5)
        assert len(rows) == len(real), frame
