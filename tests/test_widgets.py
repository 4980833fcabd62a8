"""ThresholdExplorer and FrameExplorer, driven headless: set slider values, read what changed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

import facekit as fk
from facekit.engine import Detector
from facekit.plot.evaluation import OUTCOME_COLORS

widgets = pytest.importorskip("facekit.widgets")


@pytest.fixture
def count_inference(monkeypatch):
    """Counts Detector.infer calls (each is one model run on one frame, picture or video)."""
    calls = []
    original = Detector.infer

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Detector, "infer", counted)
    return calls


@pytest.mark.slow
def test_threshold_explorer_refilters_without_the_model(solvay_path, count_inference):
    explorer = widgets.ThresholdExplorer(solvay_path)
    assert len(count_inference) == 1  # the one detection
    assert explorer.count.value.startswith("<b>29</b>") and explorer.slider.value == 0.5
    assert (explorer.slider.min, explorer.slider.max, explorer.slider.step) == (0.05, 1.0, 0.05)
    assert explorer.best_button not in explorer.children[0].children  # no truth, no button
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


def test_representable_threshold_keeps_the_same_candidates():
    assert widgets.representable(0.7338, 0.1439, 0.01) == 0.73  # on the slider's step
    assert widgets.representable(0.7338, 0.7331, 0.01) == 0.7338  # no step value between the two scores
    assert widgets.representable(0.3, 0.2, 0.01) == 0.3 and widgets.representable(0.5, -math.inf, 0.01) == 0.5
    assert widgets.representable(0.12345671, 0.1234567, 0.01) == 0.12345671  # closer than 1e-6: itself


def outcome_boxes(ax: Any) -> set[tuple[float, float, float, float, str, bool]]:
    """The boxes drawn on the picture: (left, top, right, bottom, colour, dashed), from the rectangle collections."""
    found = set()
    for collection in ax.collections:
        paths = collection.get_paths()
        if type(collection).__name__ != "PolyCollection" or not paths:
            continue
        dashed = any(dashes is not None for _, dashes in collection.get_linestyle())
        colours = np.broadcast_to(collection.get_edgecolors(), (len(paths), 4))
        for path, colour in zip(paths, colours):
            left, top, right, bottom = np.asarray(path.vertices)[[0, 2]].ravel()
            found.add((*np.round([left, top, right, bottom], 2).tolist(), to_hex(colour[:3]), dashed))
    return found


def expected_boxes(table: pd.DataFrame, scale: float) -> set[tuple[float, float, float, float, str, bool]]:
    """What the picture must show of an Evaluation.matches table: all but the truth boxes of true positives."""
    shown = table[~((table["kind"] == "truth") & (table["outcome"] == "tp"))]
    corners = (np.array([r.x, r.y, r.w, r.h]) * scale for r in shown.itertuples())
    return {
        (
            *np.round([x, y, x + w, y + h], 2).tolist(),
            to_hex(OUTCOME_COLORS[str(r.outcome)]),
            r.outcome in ("fn", "ignore", "ignored"),
        )
        for (x, y, w, h), r in zip(corners, shown.itertuples())
    }


@pytest.fixture(scope="module")
def solvay_with_errors(solvay_path):
    """Solvay's result and a truth with three faces left out (so their detections are false
    positives) and two boxes on the wall added (faces nobody finds)."""
    result = fk.detect(solvay_path)
    truth = fk.data.truth("solvay")[["x", "y", "w", "h"]]
    wall = pd.DataFrame({"x": [1500.0, 1700.0], "y": [200.0, 260.0], "w": [60.0, 70.0], "h": [80.0, 90.0]})
    return result, pd.concat([truth.iloc[3:], wall], ignore_index=True)


@pytest.mark.slow
def test_threshold_explorer_with_truth_colours_outcomes_and_reads_out_the_curve(solvay_with_errors):
    import matplotlib.pyplot as plt

    result, truth = solvay_with_errors
    evaluation = fk.evaluate(result, truth)  # a separate evaluation, to compare with
    explorer = widgets.ThresholdExplorer(result, truth=truth)
    assert explorer.slider.step == 0.01 and explorer.best_button in explorer.children[0].children
    picture, pr, f1 = explorer._axes
    scale = explorer._thumbnail(0)[1]
    seen, both = set(), None
    for value in (0.5, 0.1, 0.8, 0.83, 0.05, 0.95, 0.5):
        explorer.slider.value = value
        at = evaluation.at(value)
        assert explorer.metrics == pytest.approx(at) and set(explorer.metrics) == set(at)
        text = explorer.count.value
        for key in ("tp", "fp", "fn"):
            assert f"{key.upper()} {at[key]}" in text
        assert f"precision {at['precision']:.2f}, recall {at['recall']:.2f}, <b>F1 {at['f1']:.2f}</b>" in text
        matches = evaluation.matches(threshold=value)
        assert outcome_boxes(picture) == expected_boxes(matches, scale)
        assert picture.get_title() == f"{at['tp']} TP · {at['fp']} FP · {at['fn']} FN"
        marker = [line for line in pr.lines if line.get_label().startswith("threshold")]
        assert [(m.get_xdata()[0], m.get_ydata()[0]) for m in marker] == [
            pytest.approx((at["recall"], at["precision"]))
        ]
        line = [line for line in f1.lines if line.get_label().startswith("threshold")]
        assert list(line[0].get_xdata()) == [pytest.approx(value)] * 2
        seen |= {key for key in ("fp", "fn") if at[key]}
        if at["fp"] and at["fn"]:
            both = value
    assert seen == {"fp", "fn"} and both == 0.5  # false positives and missed faces, both shown at once
    assert plt.get_fignums() == []  # nothing drawn through pyplot


@pytest.mark.slow
def test_best_f1_button_moves_the_slider_to_the_f1_best_threshold(solvay_with_errors):
    result, truth = solvay_with_errors
    evaluation = fk.evaluate(result, truth)
    summary = evaluation.summary()
    explorer = widgets.ThresholdExplorer(result, truth=truth)
    explorer.slider.value = 0.85
    assert explorer.metrics["f1"] < summary["best_f1"]
    explorer.best_button.click()
    value = explorer.slider.value
    assert value <= summary["best_f1_threshold"] and round(value / 0.01, 6).is_integer()  # on the slider's step
    kept = result.candidates()["score"]
    assert ((kept >= value) == (kept >= summary["best_f1_threshold"])).all()  # the same candidates kept
    assert explorer.metrics == pytest.approx({**evaluation.at(summary["best_f1_threshold"]), "threshold": value})
    assert explorer.metrics["f1"] == pytest.approx(summary["best_f1"])
    assert f"<b>F1 {summary['best_f1']:.2f}</b>" in explorer.count.value


@pytest.mark.slow
def test_threshold_explorer_truth_matches_equal_the_evaluation_at_every_threshold(solvay_with_errors):
    result, truth = solvay_with_errors
    view = widgets.TruthView(result, truth)
    scores = np.unique(result.candidates()["score"].to_numpy())
    columns = ["kind", "outcome", "x", "y", "w", "h", "score"]
    for threshold in [*scores[::3], *(scores[:-1:4] + np.diff(scores)[::4] / 2), 0.0, 1.0]:
        expected = view.evaluation.matches(threshold=threshold)
        mine = view.matches(0, threshold)
        ordered = [
            frame.astype({"kind": str, "outcome": str})[columns].sort_values(columns).reset_index(drop=True)
            for frame in (expected, mine)
        ]
        pd.testing.assert_frame_equal(*ordered)
        assert view.at(threshold) == pytest.approx(view.evaluation.at(threshold))


@pytest.mark.slow
def test_threshold_explorer_outcomes_follow_the_frame_picker(pan_clip):
    result = fk.detect(pan_clip.path, num_frames=4, progress=False)
    truth = fk.data.pan_truth(pan_clip)
    explorer = widgets.ThresholdExplorer(result, truth=truth)
    evaluation = explorer.truth.evaluation
    scale = explorer._thumbnail(result.frames[0])[1]
    for frame in (result.frames[2], result.frames[0], result.frames[3]):
        explorer.frame_picker.value = frame
        for value in (0.5, 0.3):
            explorer.slider.value = value
            table = evaluation.matches(threshold=value)
            assert outcome_boxes(explorer._axes[0]) == expected_boxes(table[table["frame"] == frame], scale)
            assert explorer._axes[0].get_title().startswith(f"frame {frame}: ")
            assert explorer.metrics == pytest.approx(evaluation.at(value))  # the figures are the whole video's


@pytest.mark.slow
def test_threshold_explorer_redraws_one_at_a_time(solvay_with_errors):
    """ipykernel 7 can handle two slider messages at once on two threads (a value and the
    browser's echo of it): the redraws must not interleave, or each draws the other's artists."""
    import threading

    result, truth = solvay_with_errors
    explorer = widgets.ThresholdExplorer(result, truth=truth)
    moves = [threading.Thread(target=setattr, args=(explorer.slider, "value", v)) for v in (0.3, 0.7, 0.5, 0.8) * 3]
    for move in moves:
        move.start()
    for move in moves:
        move.join()
    f1 = explorer._axes[2]
    assert len(f1.lines) == 5 and len(f1.get_legend().get_texts()) == 5  # f1, precision, recall, best, threshold
    assert explorer.metrics == pytest.approx(explorer.truth.at(explorer.slider.value))
