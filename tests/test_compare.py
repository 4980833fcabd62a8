"""fk.compare: agreement of two Results, per frame and per matched face."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import facekit as fk
from facekit.comparison import compare
from facekit.geometry import iou_matrix

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def solvay(solvay_path) -> fk.Result:
    return fk.detect(solvay_path)


def test_two_detections_of_the_same_picture_agree_completely(solvay, solvay_path):
    report = compare(solvay, fk.detect(solvay_path))
    assert report.agreement == report.precision == report.recall == 1.0
    assert report.matched == len(solvay) > 20 and report.missing == report.extra == 0
    assert np.allclose(report.matches["iou"], 1.0)
    assert np.allclose(report.matches["landmark_px"], 0.0)
    assert report.unmatched.empty and report.only_a == report.only_b == []


def test_a_higher_threshold_reports_exactly_the_faces_it_drops(solvay):
    strict = solvay.filter(confidence=0.8)
    report = compare(solvay, strict)
    faces = solvay.to_frame()
    dropped = faces[faces["score"] < 0.8]
    assert report.missing == len(dropped) > 0 and report.extra == 0
    assert report.precision == 1.0 and report.recall == pytest.approx(len(strict) / len(solvay))
    assert report.agreement == pytest.approx(len(strict) / len(solvay))
    missing = report.unmatched.query("kind == 'missing'")
    assert sorted(missing["face"]) == sorted(dropped["face"])
    assert np.allclose(np.sort(missing["score"]), np.sort(dropped["score"]))
    assert report.matches["score_a"].min() >= 0.8


def test_an_akool_round_trip_agrees_up_to_integer_rounding(solvay):
    report = compare(solvay, fk.Result.from_akool(solvay.to_akool()))
    assert report.agreement == 1.0
    assert report.matches["iou"].min() > 0.95
    assert report.matches["landmark_px"].max() < 1.0  # each coordinate moved by at most half a pixel
    assert report.matches["score_b"].isna().all()  # Akool answers carry no scores


def test_frames_are_reported_one_by_one_on_a_video(tmp_path, model_path):
    clip = fk.data.pan_video(tmp_path / "p.mp4", seconds=2, fps=10).path
    five, all_frames = fk.detect(clip, num_frames=5), fk.detect(clip, num_frames=20)
    report = compare(all_frames, five)
    assert set(five.frames) <= set(all_frames.frames)
    assert report.frames["frame"].tolist() == sorted(all_frames.frames)
    shared = report.frames[report.frames["in_b"]]
    assert shared["frame"].tolist() == five.frames and (shared["missing"] == 0).all() and (shared["extra"] == 0).all()
    only_a = report.frames[~report.frames["in_b"]]
    assert only_a["frame"].tolist() == report.only_a == sorted(set(all_frames.frames) - set(five.frames))
    assert only_a["n_b"].isna().all() and only_a["matched"].isna().all()  # not analysed: not "0 found"
    assert report.n_a == int(shared["n_a"].sum())  # the overall numbers count shared frames only
    assert report.recall == 1.0 and "frames only in a" in repr(report)


def test_per_frame_counts_add_up(tmp_path, model_path):
    clip = fk.data.pan_video(tmp_path / "p.mp4", seconds=2, fps=10).path
    loose = fk.detect(clip, num_frames=5, confidence=0.5)
    report = compare(loose, loose.filter(confidence=0.8))
    frames = report.frames
    assert len(frames) == 5
    assert (frames["matched"] + frames["missing"] == frames["n_a"]).all()
    assert (frames["matched"] + frames["extra"] == frames["n_b"]).all()
    per_frame = loose.to_frame().groupby("frame").size()
    assert frames.set_index("frame")["n_a"].reindex(per_frame.index).tolist() == per_frame.tolist()


def test_iou_matrix():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [100, 100, 1, 1]], float)
    matrix = iou_matrix(boxes, boxes[:2])
    assert matrix.shape == (3, 2)
    assert matrix[0, 0] == 1.0 and matrix[0, 1] == pytest.approx(50 / 150) and matrix[2].sum() == 0


def test_bad_arguments_are_refused(solvay):
    with pytest.raises(fk.InvalidInputError, match="two facekit Results"):
        compare(solvay, solvay.to_frame())
    with pytest.raises(fk.InvalidInputError, match="iou"):
        compare(solvay, solvay, iou=0)


def test_empty_results_agree(solvay):
    nobody = solvay.filter(confidence=1.0)
    report = compare(nobody, nobody)
    assert report.agreement == 1.0 and report.matched == 0
    assert list(report.matches.columns)[:4] == ["frame", "face_a", "face_b", "iou"]
    assert isinstance(report.frames, pd.DataFrame) and report.frames["n_a"].tolist() == [0]


def test_fk_compare_is_the_function_after_the_module_is_imported():
    import facekit.comparison  # noqa: F401 - importing the module must not shadow the function

    assert fk.compare is compare and fk.compare is fk.compare
