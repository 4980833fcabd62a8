"""The Akool codec (facekit.akool) both ways, on synthetic tables: parse, faces_obj, response.

(Named ``test_akool_codec`` because ``tests/clients/test_akool.py`` is a rootless module of the same
basename: two ``test_akool`` modules cannot be collected in one run.)
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from synthetic_tables import FRAMES, candidates

import facekit as fk
from facekit import akool
from facekit.clients.base import crop_result
from facekit.errors import InvalidInputError
from facekit.schema import validate_akool
from facekit.selection import select
from facekit.table import BOX_COLUMNS, LANDMARK_COLUMNS, FaceTable

SIX = [[120, 85], [180, 88], [150, 130], [150, 165], [125, 165], [175, 168]]
FIVE = [[120, 85], [180, 88], [150, 130], [125, 165], [175, 168]]
BOX = [80, 50, 150, 180]
EXTENSIONS = {"scores", "track_ids", "removed_track_ids"}


@pytest.fixture(scope="module")
def examples() -> dict[str, dict]:
    return fk.data.akool_examples()


@pytest.fixture
def table() -> FaceTable:
    return FaceTable.build(candidates(), FRAMES)


def rendered(table: FaceTable, confidence: float = 0.5, **options) -> dict:
    return akool.faces_obj(select(table, confidence), table, **options)


# -- parse -----------------------------------------------------------------------------------


def test_parse_a_full_response(examples):
    answer = akool.parse(examples["video_success"])
    table = answer.table
    assert table.frame_index.tolist() == [0, 5] and table.frame_time.tolist() == [0.0, 0.2]
    assert table.columns["x"].tolist() == [300.0, 305.0]
    assert np.isnan(table.columns["score"]).all() and np.isnan(table.columns["track_id"]).all()
    assert table.removed is not None and table.removed[BOX_COLUMNS].to_numpy().tolist() == [[300, 200, 150, 180]]
    assert table.removed["frame"].tolist() == [5] and table.removed["track_id"].isna().all()
    assert answer.meta == {"source": "akool answer", "media": "video", "model": "unknown"}


def test_parse_a_json_string_and_a_bare_faces_obj_agree(examples):
    response = examples["image_success"]
    from_text = akool.parse(json.dumps(response)).table.to_frame()
    bare = akool.parse(response["faces_obj"])
    pd.testing.assert_frame_equal(from_text, bare.table.to_frame())
    assert bare.meta["media"] == "image" and np.isnan(bare.table.frame_time).all()
    np.testing.assert_array_equal(from_text[LANDMARK_COLUMNS].to_numpy()[0], np.ravel(SIX))


def test_parse_five_point_landmarks_derive_the_mouth_centre():
    table = akool.parse({"0": {"region": [BOX], "landmarks": [FIVE]}}).table
    points = np.array([table.columns[c][0] for c in LANDMARK_COLUMNS]).reshape(6, 2)
    np.testing.assert_array_equal(points[3], [150.0, 166.5])  # midpoint of the mouth corners
    np.testing.assert_array_equal(points[[0, 1, 2, 4, 5]], FIVE)


def test_parse_without_scores_or_landmarks_gives_unknowns_kept_at_any_threshold():
    table = akool.parse({"0": {"region": [BOX, [1, 2, 3, 4]]}, "1": {"region": []}}).table
    assert len(table) == 2 and table.frame_index.tolist() == [0, 1]
    assert all(np.isnan(table.columns[c]).all() for c in ("score", *LANDMARK_COLUMNS))
    assert len(select(table, 1.0)) == 2


def test_parse_keeps_scores_track_ids_and_crops():
    entry = {
        "region": [BOX, [1, 2, 3, 4]],
        "scores": [0.4, None],
        "track_ids": [9, 3],
        "removed": [[5, 6, 7, 8]],
        "removed_track_ids": [2],
        "face_urls": ["https://x/a.jpg", None],
        "crop_region": [[1, 1, 9, 9], None],
    }
    table = akool.parse({"4": entry}).table
    frame = table.to_frame()
    np.testing.assert_array_equal(frame["score"], [0.4, np.nan])  # NaN last
    assert frame["track_id"].tolist() == [9, 3]
    assert frame["crop_url"].tolist() == ["https://x/a.jpg", pd.NA] and frame["crop_w"].tolist()[0] == 9.0
    assert np.isnan(frame["crop_w"].tolist()[1])
    assert table.removed is not None and table.removed["track_id"].tolist() == [2]


def test_parse_reads_null_boxes_and_landmarks_as_unknown():
    table = akool.parse({"2": {"region": [None, BOX], "landmarks": [None, SIX], "face_urls": ["a", "b"]}}).table
    assert len(table) == 2 and np.isnan([table.columns[c][0] for c in (*BOX_COLUMNS, *LANDMARK_COLUMNS)]).all()
    assert table.columns["x"][1] == 80.0 and table.columns["crop_url"].tolist() == ["a", "b"]


def test_parse_drops_track_ids_some_frames_lack():
    table = akool.parse({"0": {"region": [BOX], "track_ids": [4]}, "1": {"region": [BOX]}}).table
    assert np.isnan(table.columns["track_id"]).all()


def test_error_answers_are_refused(examples):
    for name in ("400", "500"):
        with pytest.raises(InvalidInputError, match="is an error"):
            akool.parse(examples[name])


MALFORMED: dict[str, tuple[Any, str | None]] = {
    "not json": ("{oops", None),
    "a list": ([1], None),
    "faces_obj a list": ({"faces_obj": [1]}, None),
    "a key not a frame index": ({"a": {"region": []}}, None),
    "a frame not an object": ({"3": [1]}, None),
    "three-number region": ({"3": {"region": [[1, 2, 3]]}}, "frame 3"),
    "three-number region after a null": ({"3": {"region": [None, [1, 2, 3]]}}, "frame 3"),
    "text in a region": ({"3": {"region": [["a", 2, 3, 4]]}}, "frame 3"),
    "region a number": ({"3": {"region": 5}}, "frame 3"),
    "four landmarks": ({"3": {"region": [BOX], "landmarks": [SIX[:4]]}}, "frame 3"),
    "landmarks of two faces": ({"3": {"region": [BOX], "landmarks": [SIX, SIX]}}, "frame 3"),
    "three-number points": ({"3": {"region": [BOX], "landmarks": [[[1, 2, 3]] * 6]}}, "frame 3"),
    "scores of two faces": ({"3": {"region": [BOX], "scores": [0.1, 0.2]}}, "frame 3"),
    "text score": ({"3": {"region": [BOX], "scores": ["x"]}}, "frame 3"),
    "text frame_time": ({"3": {"region": [], "frame_time": "soon"}}, "frame 3"),
    "two-number removed box": ({"3": {"region": [], "removed": [[1, 2]]}}, "frame 3"),
    "track_ids of two faces": ({"3": {"region": [BOX], "track_ids": [1, 2]}}, "frame 3"),
    "face_urls of two faces": ({"3": {"region": [BOX], "face_urls": ["a", "b"]}}, "frame 3"),
}
# Refused with a typed error, but the message does not say which frame is wrong.
UNNAMED = {
    "text in a region",
    "region a number",
    "four landmarks",
    "three-number points",
    "text score",
    "text frame_time",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_answers_are_refused_with_a_typed_error(name):
    obj, _ = MALFORMED[name]
    with pytest.raises(InvalidInputError):
        akool.parse(obj)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="the error does not name the frame"))
        if n in UNNAMED
        else n
        for n in sorted(n for n, (_, where) in MALFORMED.items() if where)
    ],
)
def test_malformed_answers_name_the_frame(name):
    obj, where = MALFORMED[name]
    with pytest.raises(InvalidInputError, match=where):
        akool.parse(obj)


def test_the_same_frame_index_twice_is_refused():
    text = '{"1": {"region": [[1, 2, 3, 4]]}, "01": {"region": [[5, 6, 7, 8]]}}'
    with pytest.raises(InvalidInputError, match="twice"):
        akool.parse(text)
    equal = '{"1": {"region": [[1, 2, 3, 4]]}, "01": {"region": [[1, 2, 3, 4]]}}'
    with pytest.raises(InvalidInputError, match="twice"):
        akool.parse(equal)


# -- faces_obj -------------------------------------------------------------------------------


def test_faces_obj_lists_every_analysed_frame_with_extensions(table):
    faces_obj = rendered(table)
    assert list(faces_obj) == ["0", "1", "2", "3"]
    assert faces_obj["3"]["region"] == [] and faces_obj["3"]["frame_time"] == 0.3
    assert faces_obj["1"]["scores"] == [0.95, 0.62]
    assert faces_obj["1"]["region"] == [[12.0, 10.0, 40.0, 50.0], [202.0, 20.0, 60.0, 70.0]]
    assert faces_obj["0"]["landmarks_str"][0] == "22,28:38,28:30,38:30,48"
    assert faces_obj["3"]["removed_track_ids"] == [0, 1] and len(faces_obj["3"]["removed"]) == 2
    assert all(set(entry) >= EXTENSIONS for entry in faces_obj.values())
    assert all(entry["face_urls"] is None for entry in faces_obj.values())


def test_faces_obj_round_trips_through_parse_exactly(table):
    for confidence in (0.1, 0.5, 0.9):
        faces_obj = rendered(table, confidence)
        again = akool.parse(copy.deepcopy(faces_obj))
        assert akool.faces_obj(select(again.table, 0.0), again.table) == faces_obj
        kept = select(table, confidence).kept
        for name in ("frame", "time", "score", "track_id", *BOX_COLUMNS, *LANDMARK_COLUMNS):
            np.testing.assert_array_equal(again.table.columns[name], kept[name], err_msg=name)


def test_faces_obj_round_trips_through_json_text(table):
    faces_obj = rendered(table)
    assert rendered(akool.parse(json.dumps(faces_obj)).table, 0.0) == faces_obj


def test_hosted_answers_round_trip(examples):
    for name in ("image_success", "video_success", "with_face_urls"):
        result = fk.Result.from_akool(examples[name])
        assert fk.Result.from_akool(result.faces_obj).faces_obj == result.faces_obj, name
        assert result.to_akool() == examples[name], name  # integer pixels, no extension keys


def test_crop_only_faces_obj_round_trips():
    result = crop_result(["https://x/a.jpg", "https://x/b.jpg"], source="x", media="image", meta={})
    again = fk.Result.from_akool(result.faces_obj)
    assert again.faces_obj == result.faces_obj


def test_boxes_only_faces_obj_round_trips():
    boxes = candidates().drop(columns=["score", *LANDMARK_COLUMNS])
    result = fk.Result(boxes, FRAMES)
    assert fk.Result.from_akool(result.faces_obj).faces_obj == result.faces_obj


# -- Akool's response: integers, no extensions ------------------------------------------------


def test_response_is_integer_and_validates_against_the_openapi(table):
    for confidence in (0.0, 0.5, 1.0):
        answer = akool.response(select(table, confidence), table)
        validate_akool(answer)
        assert answer["error_code"] == 0 and list(answer["faces_obj"]) == ["0", "1", "2", "3"]
        for entry in answer["faces_obj"].values():
            assert not EXTENSIONS & set(entry)
            numbers = [n for box in entry["region"] + entry["removed"] for n in box]
            numbers += [n for face in entry["landmarks"] for point in face for n in point]
            assert all(type(n) is int for n in numbers)


def test_integers_round_half_to_even(table):
    rows = candidates().assign(x=[0.5, 1.5, 2.5, -0.5, 3.49, 3.51, 7.0])
    faces_obj = rendered(FaceTable.build(rows, FRAMES), 0.0, integers=True)
    xs = {faces_obj[str(f)]["region"][i][0] for f in range(3) for i in range(len(faces_obj[str(f)]["region"]))}
    assert xs == {0, 2, 3, 4, 7, -0}  # 0.5, 1.5, 2.5, -0.5, 3.49, 3.51, 7.0


def test_unknown_landmarks_render_as_null_and_a_crop_only_response_is_refused():
    boxes = candidates().drop(columns=LANDMARK_COLUMNS)
    table = FaceTable.build(boxes, FRAMES)
    faces_obj = rendered(table)
    assert faces_obj["0"]["landmarks"] == [None, None] and faces_obj["0"]["landmarks_str"] == [None, None]
    crops = crop_result(["https://x/a.jpg"], source="photo.jpg", media="image", meta={"service": "magichour"})
    assert crops.faces_obj["0"]["face_urls"] == ["https://x/a.jpg"] and crops.faces_obj["0"]["region"] == [None]
    with pytest.raises(InvalidInputError, match=r"no box.*magichour"):
        crops.to_akool()


def test_rendering_leaves_the_selection_alone(table):
    selection = select(table, 0.5)
    before = {name: values.copy() for name, values in selection.kept.items()}
    faces_obj = akool.faces_obj(selection, table)
    faces_obj["0"]["region"][0][0] = -1
    assert akool.faces_obj(selection, table)["0"]["region"][0][0] == 10.0
    for name, values in before.items():
        np.testing.assert_array_equal(selection.kept[name], values)
    assert all(not math.isnan(v) for v in faces_obj["1"]["scores"])
