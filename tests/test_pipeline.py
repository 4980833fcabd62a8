"""facekit.detect (facekit.pipeline) with the real model: options, frame choices, Ctrl-C and tracker cues."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import facekit as fk
from facekit.appearance import FEATURE_SIZE
from facekit.cuts import SIGNATURE_SIZE
from facekit.engine import Detector
from facekit.errors import InvalidInputError
from facekit.options import DetectOptions

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def video(pan_clip) -> fk.Result:
    """Six sampled frames of the pan clip, with the tracker's cues."""
    return fk.detect(pan_clip.path, num_frames=6, confidence=0.4)


def test_options_object_and_keywords_give_equal_results(newton_path):
    options = DetectOptions(confidence=0.3, single_face=True)
    by_object = fk.detect(newton_path, options)
    by_keywords = fk.detect(newton_path, confidence=0.3, single_face=True)
    overridden = fk.detect(newton_path, DetectOptions(confidence=0.9), confidence=0.3, single_face=True)
    assert len(by_object) == 1
    for other in (by_keywords, overridden):
        assert other.faces_obj == by_object.faces_obj
        pd.testing.assert_frame_equal(other.candidates(), by_object.candidates(), check_exact=True)
        assert (other.confidence, other.single_face, other.floor) == (0.3, True, by_object.floor)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"every_frame": True, "num_frames": 3}, "give one of num_frames, every_frame and frames"),
        ({"frames": [0, 2], "num_frames": 3}, "give one of"),
        ({"confidance": 0.3}, r"unknown detect option\(s\) confidance"),
        ({"num_frames": 0}, "num_frames must be an integer from 1"),
    ],
)
def test_bad_options_are_refused_before_anything_is_read(changes, message):
    with pytest.raises(InvalidInputError, match=message):
        fk.detect("/no/such/file.mp4", **changes)  # the options fail first, not the missing file


def test_frames_past_the_end_name_the_index(pan_clip):
    with pytest.raises(InvalidInputError, match=r"index 30 is outside the video's 30 frame\(s\); 2 indices"):
        fk.detect(pan_clip.path, frames=[0, 30, 45])
    with pytest.raises(InvalidInputError, match="index 1 is outside"):
        fk.detect(fk.data.path("newton"), frames=[1])


def test_exact_frames_are_analysed(pan_clip):
    result = fk.detect(pan_clip.path, frames=[29, 3, 10])
    assert result.frames == [3, 10, 29]
    np.testing.assert_allclose(result.frames_table()["time"], [0.3, 1.0, 2.9], atol=1e-9)
    assert result.meta["frames_analysed"] == 3 and result.is_video


def test_ctrl_c_keeps_the_frames_done(pan_clip, monkeypatch):
    calls = {"n": 0}
    infer = Detector.infer  # the model's run, in the thread Ctrl-C interrupts

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 4:
            raise KeyboardInterrupt
        return infer(self, *args, **kwargs)

    monkeypatch.setattr(Detector, "infer", interrupted)
    with pytest.warns(UserWarning, match=r"interrupted after 4 of 30 frames \(last analysed: 3\)"):
        partial = fk.detect(pan_clip.path, every_frame=True, progress=False)
    assert partial.frames == [0, 1, 2, 3] and partial.meta["frames_analysed"] == 4
    assert partial.table.signatures is not None and partial.table.signatures.shape == (4, SIGNATURE_SIZE)
    monkeypatch.undo()
    whole = fk.detect(pan_clip.path, frames=[0, 1, 2, 3])
    pd.testing.assert_frame_equal(partial.to_frame(), whole.to_frame(), check_exact=True)


def test_tracker_cues_are_stored(video):
    table = video.table
    assert table.features is not None and table.signatures is not None
    assert table.features.shape == (len(table), FEATURE_SIZE)
    assert table.signatures.shape == (table.frame_index.size, SIGNATURE_SIZE) == (6, SIGNATURE_SIZE)
    described = ~np.isnan(table.features.astype(np.float32)).any(axis=1)
    assert described[table.columns["score"] >= 0.3].all()  # every likely face has a descriptor
    assert not described[table.columns["score"] < 0.3].any()
    assert np.isfinite(table.signatures).all()


@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_tracker_cues_survive_save_and_load(video, tmp_path, suffix):
    loaded = fk.load(video.save(tmp_path / f"pan{suffix}"))
    assert loaded.table.features is not None and loaded.table.signatures is not None
    assert video.table.features is not None and video.table.signatures is not None
    np.testing.assert_array_equal(loaded.table.features, video.table.features.astype(np.float32))
    np.testing.assert_array_equal(loaded.table.signatures, video.table.signatures.astype(np.float32))
    for confidence in (0.4, 0.7):  # the tracker, given the same cues, tracks the same way
        pd.testing.assert_frame_equal(
            loaded.filter(confidence).to_frame(removed=True),
            video.filter(confidence).to_frame(removed=True),
            check_exact=True,
        )
