"""ThresholdExplorer and FrameExplorer, driven headless: set slider values, read what changed."""

from __future__ import annotations

import pytest

import facekit as fk
from facekit.engine import Detector

widgets = pytest.importorskip("facekit.widgets")


@pytest.fixture
def count_inference(monkeypatch):
    """Counts Detector.detect calls (each is one model run on one frame)."""
    calls = []
    original = Detector.detect

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Detector, "detect", counted)
    return calls


@pytest.mark.slow
def test_threshold_explorer_refilters_without_the_model(solvay_path, count_inference):
    explorer = widgets.ThresholdExplorer(solvay_path)
    assert len(count_inference) == 1  # the one detection
    assert explorer.count.value.startswith("<b>29</b>") and explorer.slider.value == 0.5
    assert (explorer.slider.min, explorer.slider.max, explorer.slider.step) == (0.05, 1.0, 0.05)
    before = explorer.image.value
    scores = explorer.base.candidates()["score"]
    shown = {}
    for value in (0.8, 0.1, 0.95, 0.5, 0.8):
        explorer.slider.value = value
        expected = int((scores >= value - 1e-9).sum())
        assert explorer.count.value.startswith(f"<b>{expected}</b>") and len(explorer.result) == expected
        shown[value] = explorer.result.to_akool()
    assert count_inference == [1]  # moving the slider never ran the model
    assert explorer.image.value != before and explorer.image.value[:4] == b"\x89PNG"
    for value, answer in shown.items():
        assert answer == fk.detect(solvay_path, confidence=value).to_akool()
    histogram, kept = explorer._axes[1], explorer._axes[2]
    assert any(line.get_xdata()[0] == pytest.approx(0.8) for line in histogram.lines)
    assert kept.get_title().startswith(f"{len(explorer.result)} faces kept")


def test_threshold_explorer_on_an_akool_answer_without_picture():
    answer = {"0": {"region": [[10, 20, 30, 40], [100, 20, 30, 40]], "landmarks": [[[15, 25]] * 6] * 2,
                    "scores": [0.9, 0.4], "removed": [], "frame_time": None}}
    explorer = widgets.ThresholdExplorer(fk.Result.from_akool(answer))
    assert explorer.slider.min == 0.0
    explorer.slider.value = 0.5
    assert explorer.count.value.startswith("<b>1</b>")


@pytest.mark.slow
def test_frame_explorer_runs_only_new_frames(pan_clip, count_inference):
    explorer = widgets.FrameExplorer(pan_clip.path, num_frames=5)
    first = explorer.analysed
    assert len(first) == 5 and explorer.frames_detected == 5 == len(count_inference)
    tracks_before, picture_before = explorer.tracks.value, explorer.picture.value
    explorer.frames_slider.value = 9
    wanted = explorer._video.sample_indices(9)
    assert explorer.result.frames == wanted
    assert explorer.frames_detected == 5 + len(set(wanted) - set(first)) == len(count_inference)
    assert explorer.tracks.value != tracks_before
    expected = fk.detect(pan_clip.path, num_frames=9)
    assert explorer.result.to_akool() == expected.to_akool()  # same faces and tracks as one fresh run
    assert explorer.count.value.startswith(f"<b>{len(expected)}</b>")
    count_inference.clear()
    explorer.frames_slider.value = 5  # all cached: no model run
    assert count_inference == [] and explorer.result.frames == first
    explorer.scrubber.value = 3
    assert explorer.picture.value != picture_before and explorer.scrubber.max == 4
    assert count_inference == []


def test_frame_explorer_refuses_a_picture(solvay_path):
    with pytest.raises(fk.InvalidInputError, match="needs a video"):
        widgets.FrameExplorer(solvay_path)
