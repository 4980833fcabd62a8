"""DetectOptions: one frozen, validated object for every detect() option."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from facekit.errors import InvalidInputError
from facekit.limits import Limits
from facekit.options import DEFAULT_FLOOR, DEFAULT_NUM_FRAMES, DetectOptions


def test_defaults_and_frozen():
    options = DetectOptions()
    assert (options.confidence, options.floor, options.num_frames, options.sample_count) == (
        0.5,
        DEFAULT_FLOOR,
        None,
        DEFAULT_NUM_FRAMES,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.confidence = 0.9  # type: ignore[misc]
    assert hash(DetectOptions(frames=[3, 1])) == hash(DetectOptions(frames=(1, 3)))  # type: ignore[arg-type]  # lists and arrays are accepted at run time


def test_of_applies_changes_and_refuses_unknown_names():
    base = DetectOptions.of(confidence=0.7)
    assert DetectOptions.of(base) is base
    changed = DetectOptions.of(base, single_face=True)
    assert (changed.confidence, changed.single_face, base.single_face) == (0.7, True, False)
    with pytest.raises(
        InvalidInputError, match=r"unknown detect option\(s\) confidance, num_frame; known: .*confidence"
    ):
        DetectOptions.of(confidance=0.7, num_frame=3)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"confidence": 1.5}, r"confidence must be a number in \[0.0, 1.0\], got 1.5"),
        ({"confidence": -0.1}, "confidence must be a number"),
        ({"confidence": "0.5"}, "confidence must be a number"),
        ({"confidence": True}, "confidence must be a number"),
        ({"confidence": float("nan")}, "confidence must be a number"),
        ({"floor": 0.0}, r"floor must be a number in \(0.0, 1.0\], got 0.0"),
        ({"num_frames": 0}, "num_frames must be an integer from 1 to 100, got 0"),
        ({"num_frames": 101}, "num_frames must be an integer from 1 to 100"),
        ({"num_frames": 2.0}, "num_frames must be an integer"),
        ({"threads": 0}, "threads must be an integer from 1 to 1024"),
        ({"every_frame": "yes"}, "every_frame must be True or False, got 'yes'"),
        ({"crops": 1}, "crops must be True or False"),
        ({"spinning": "no"}, "spinning must be True, False or None"),
        ({"progress": 0}, "progress must be True, False or None"),
        ({"precision": "fp16"}, "precision must be one of auto, fp32, int8, got 'fp16'"),
        ({"aspect": "wide"}, "aspect must be one of native, square, got 'wide'"),
        ({"limits": {"max_bytes": 1}}, "limits must be a facekit.Limits, got dict"),
        ({"model": 3}, "model must be a path, got int"),
        ({"frames": []}, "frames must be distinct integer indices >= 0"),
        ({"frames": [1, -2, "a"]}, r"not valid: \[-2, 'a'\]"),
        ({"frames": [1, True]}, "frames must be distinct integer indices"),
        ({"frames": 7}, "frames must be a list of frame indices, got 7"),
        ({"frames": [4, 2, 4]}, "4 is listed twice"),
    ],
)
def test_bad_values_are_refused_with_the_name_and_value(changes, message):
    with pytest.raises(InvalidInputError, match=message):
        DetectOptions(**changes)
    with pytest.raises(InvalidInputError, match=message):
        DetectOptions.of(DetectOptions(), **changes)  # the same check on a change


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"num_frames": 3, "every_frame": True}, "num_frames and every_frame"),
        ({"num_frames": 3, "frames": [1]}, "num_frames and frames"),
        ({"every_frame": True, "frames": [1]}, "every_frame and frames"),
        ({"num_frames": 3, "every_frame": True, "frames": [1]}, "num_frames and every_frame and frames"),
    ],
)
def test_frame_choices_are_exclusive(changes, named):
    with pytest.raises(InvalidInputError, match=f"give one of num_frames, every_frame and frames, not {named}"):
        DetectOptions(**changes)
    with pytest.raises(InvalidInputError, match="give one of"):
        DetectOptions.of(DetectOptions(every_frame=True), frames=[0])


def test_values_are_normalised():
    options = DetectOptions(frames=np.array([9, 0, 4]), crops_dir="out", confidence=np.float32(0.25), num_frames=None)  # type: ignore[arg-type]  # lists and arrays are accepted at run time
    assert options.frames == (0, 4, 9) and all(type(i) is int for i in options.frames)
    assert options.crops_dir == Path("out")
    assert DetectOptions(frames=range(3)).frames == (0, 1, 2)  # type: ignore[arg-type]  # lists and arrays are accepted at run time
    assert DetectOptions(confidence=0, floor=1).floor == 1  # the bounds themselves are allowed


def test_canonical_spells_out_the_default_sample_count():
    default, explicit = DetectOptions(), DetectOptions(num_frames=DEFAULT_NUM_FRAMES)
    assert default != explicit and default.canonical() == explicit.canonical()
    assert default.canonical()["num_frames"] == DEFAULT_NUM_FRAMES
    assert DetectOptions(every_frame=True).canonical()["num_frames"] is None
    assert DetectOptions(frames=[2]).canonical()["num_frames"] is None  # type: ignore[arg-type]  # lists and arrays are accepted at run time
    assert DetectOptions(num_frames=7).canonical() != default.canonical()
    assert set(default.canonical()) == {f.name for f in dataclasses.fields(DetectOptions)}


def test_as_dict_rebuilds_the_same_options():
    options = DetectOptions(
        confidence=0.3, frames=(5, 2), precision="fp32", aspect="native", limits=Limits(max_bytes=9)
    )
    assert DetectOptions(**options.as_dict()) == options
    assert DetectOptions.of(**options.as_dict()) == options


def test_limits_resolve_to_the_given_ones_else_the_settings(monkeypatch):
    given = Limits(max_bytes=5)
    assert DetectOptions(limits=given).resolved_limits() is given
    monkeypatch.setenv("FACEKIT_MAX_BYTES", "77")
    assert DetectOptions().resolved_limits().max_bytes == 77
