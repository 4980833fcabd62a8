"""RunMeta: typed, frozen run metadata; unknown keys kept in ``extra``; round trips through dicts."""

from __future__ import annotations

import dataclasses
import json

import pytest
from synthetic_tables import FRAMES, candidates, video_meta

import facekit as fk
from facekit.meta import RunMeta


def test_from_dict_types_known_keys_and_keeps_the_rest():
    meta = RunMeta.from_dict(
        {
            "source": "a.mp4",
            "media": "video",
            "input_size": [640, 640],
            "providers": ["CPU"],
            "timings_ms": {"read": 1.0},
            "colour": "red",
            "extra": {"older": 1},
        }
    )
    assert meta.input_size == (640, 640) and meta.providers == ("CPU",)
    assert dict(meta.extra) == {"older": 1, "colour": "red"}
    assert meta.width is None and meta.service is None


def test_as_dict_round_trips_through_json():
    meta = RunMeta(
        source="x.jpg",
        width=10,
        height=20,
        input_size=(640, 640),
        providers=("CPU",),
        timings_ms={"detect": 3.5},
        extra={"colour": "red"},
    )
    values = meta.as_dict()
    assert "extra" not in values and values["colour"] == "red" and values["timings_ms"] == {"detect": 3.5}
    assert RunMeta.from_dict(json.loads(json.dumps(values))) == meta
    assert set(RunMeta().as_dict()) == {f.name for f in dataclasses.fields(RunMeta)} - {"extra"}


def test_frozen_and_replace_makes_a_copy():
    meta = RunMeta(source="x.jpg")
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.service = "akool"  # type: ignore[misc]
    changed = meta.replace(service="akool", task_id="t1", colour="red")
    assert (changed.service, changed.task_id, dict(changed.extra)) == ("akool", "t1", {"colour": "red"})
    assert meta.service is None and dict(meta.extra) == {}
    assert changed.replace(shade="dark").extra == {"colour": "red", "shade": "dark"}


def test_result_meta_is_a_read_only_view_and_with_meta_copies():
    result = fk.Result(candidates(), FRAMES, video_meta(colour="red"), confidence=0.5)
    meta = result.meta
    assert meta["width"] == 640 and meta["colour"] == "red" and meta["confidence"] == 0.5
    with pytest.raises(TypeError):
        meta["width"] = 1  # type: ignore[index]
    named = result.with_meta(service="akool", task_id="t-9")
    assert (named.meta["service"], named.run.task_id) == ("akool", "t-9")
    assert result.meta["service"] is None and named.table is result.table
    assert named.faces_obj == result.faces_obj and named.confidence == result.confidence
