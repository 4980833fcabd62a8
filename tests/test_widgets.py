"""ThresholdExplorer and FrameExplorer, driven headless: set slider values, read what changed."""

from __future__ import annotations

import pytest

import facekit as fk
from facekit.engine import Detector

widgets = pytest.importorskip("facekit.widgets")


@pytest.fixture
def count_inference(monkeypatch):
    """Counts Detector.run calls (each is one model run on one frame, picture or video)."""
    calls = []
    original = Detector.run

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Detector, "run", counted)
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
    answer = {
        "0": {
            "region": [[10, 20, 30, 40], [100, 20, 30, 40]],
            "landmarks": [[[15, 25]] * 6] * 2,
            "scores": [0.9, 0.4],
            "removed": [],
            "frame_time": None,
        }
    }
    explorer = widgets.ThresholdExplorer(fk.Result.from_akool(answer))
    assert explorer.slider.min == 0.0
    explorer.slider.value = 0.5
    assert explorer.count.value.startswith("<b>1</b>")


@pytest.mark.slow
def test_frame_explorer_runs_only_new_frames_in_the_background(pan_clip, count_inference):
    import matplotlib.pyplot as plt

    explorer = widgets.FrameExplorer(pan_clip.path, num_frames=5)
    explorer.wait()
    first = explorer.analysed
    assert first == widgets.nested_frames(30, 5) == [0, 7, 14, 21, 29]
    assert explorer.frames_detected == 5 == len(count_inference) and not explorer.busy
    assert explorer.frames_slider.style.description_width == "initial"  # "num_frames" in full
    explorer.frame_slider.value = 21  # a source frame number, not a position
    tracks_before, picture_before = explorer.tracks.value, explorer.picture.value
    explorer.frames_slider.value = 9
    assert explorer.busy and "analysing" in explorer.status.value  # the page is not held while it works
    explorer.wait()
    assert explorer.status.value == "" and explorer.result is not None
    wanted = widgets.nested_frames(30, 9)
    assert set(first) < set(wanted) and explorer.result.frames == wanted  # nested: the first five are kept
    assert explorer.frames_detected == 9 == len(count_inference)  # only the four new frames ran the model
    assert explorer.frame_slider.value == 21 and list(explorer.frame_slider.options) == wanted
    assert explorer.tracks.value != tracks_before
    expected = fk.detect(pan_clip.path, frames=wanted)
    assert explorer.result.to_akool() == expected.to_akool()  # same faces and tracks as one fresh run
    faces = len(expected)
    assert explorer.count.value.startswith(f"<b>{faces}</b> {'face' if faces == 1 else 'faces'} in 9 frames")
    count_inference.clear()
    explorer.frames_slider.value = 5  # all cached: no model run
    explorer.wait()
    assert count_inference == [] and explorer.result.frames == first and explorer.frame_slider.value == 21
    explorer.frame_slider.value = 7
    assert explorer.picture.value != picture_before and count_inference == []
    assert plt.get_fignums() == []  # no figure left in pyplot to show up under the widget


def test_nested_frames_keep_every_earlier_frame():
    for count in (1, 2, 30, 1000):
        previous: set[int] = set()
        for n in range(1, 101):
            frames = widgets.nested_frames(count, n)
            assert len(frames) == min(n, count) and previous <= set(frames) and frames == sorted(set(frames))
            assert frames[0] >= 0 and frames[-1] < count
            previous = set(frames)
    assert widgets.nested_frames(101, 5) == [0, 25, 50, 75, 100]


@pytest.mark.slow
def test_threshold_explorer_picks_any_analysed_frame_of_a_video(pan_clip):
    result = fk.detect(pan_clip.path, num_frames=4)
    explorer = widgets.ThresholdExplorer(result)
    assert explorer.frame_picker.layout.display != "none" and list(explorer.frame_picker.options) == result.frames
    first = explorer.image.value
    frame = result.frames[2]
    explorer.frame_picker.value = frame
    here = int((result.to_frame()["frame"] == frame).sum())
    assert f"({here} in frame {frame}, 4 frames analysed)" in explorer.count.value
    assert explorer._axes[0].get_title() == f"frame {frame}: {here} face{'' if here == 1 else 's'}"
    assert explorer.image.value != first and explorer._axes[0].images  # the frame's own picture, decoded
    explorer.slider.value = 0.9
    assert explorer.count.value.startswith(f"<b>{len(result.filter(confidence=0.9))}</b>")


def test_frame_explorer_refuses_a_picture(solvay_path):
    with pytest.raises(fk.InvalidInputError, match="needs a video"):
        widgets.FrameExplorer(solvay_path)


@pytest.mark.slow
def test_threshold_explorer_with_truth_shows_precision_and_recall(newton_path):
    result = fk.detect(newton_path, confidence=0.5)
    truth = result.to_frame()[["frame", "x", "y", "w", "h"]]
    explorer = widgets.ThresholdExplorer(result, truth=truth)
    assert explorer.count.value.endswith("precision 1.00, recall 1.00")
    explorer.slider.value = 0.05  # the floor: the false candidates come in
    extra = len(result.filter(confidence=0.05)) - 1
    assert explorer.count.value.endswith(f"precision {1 / (1 + extra):.2f}, recall 1.00") and extra > 0
