"""Result: the Akool faces_obj and response, the DataFrame, filters, files and hosted answers."""

from __future__ import annotations

import copy
import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

import facekit as fk
from facekit.schema import validate_akool
from facekit.table import BOX_COLUMNS, LANDMARK_COLUMNS

matplotlib.use("Agg")

FRAME_KEYS = {
    "landmarks",
    "landmarks_str",
    "region",
    "removed",
    "frame_time",
    "face_urls",
    "crop_region",
    "crop_landmarks",
}
COLUMNS = ["frame", "time", "face", "track_id", "score", *BOX_COLUMNS, *LANDMARK_COLUMNS]


@pytest.fixture(scope="module")
def solvay(solvay_path) -> fk.Result:
    return fk.detect(solvay_path)


@pytest.fixture(scope="module")
def examples() -> dict[str, dict]:
    """The response examples of the Akool OpenAPI document (seed 004)."""
    return fk.data.akool_examples()


def all_numbers(value) -> list:
    """Every number inside nested lists and dicts."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in all_numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in all_numbers(v)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


# -- faces_obj -------------------------------------------------------------------------------


@pytest.mark.slow
def test_faces_obj_shape(solvay):
    faces_obj = solvay.faces_obj
    assert list(faces_obj) == ["0"]
    frame = faces_obj["0"]
    assert set(frame) == FRAME_KEYS | {"scores", "track_ids", "removed_track_ids"}
    n = len(solvay)
    assert n == 29
    for key in ("landmarks", "landmarks_str", "region", "scores", "track_ids"):
        assert len(frame[key]) == n, key
    assert frame["removed"] == [] and frame["frame_time"] is None
    assert frame["face_urls"] is frame["crop_region"] is frame["crop_landmarks"] is None
    assert sorted(frame["track_ids"]) == list(range(n))
    assert all(s >= 0.5 for s in frame["scores"]) and frame["scores"] == sorted(frame["scores"], reverse=True)


@pytest.mark.slow
def test_faces_obj_matches_the_table(solvay):
    frame, table = solvay.faces_obj["0"], solvay.to_frame()
    np.testing.assert_array_equal(np.array(frame["region"]), table[BOX_COLUMNS].to_numpy())
    np.testing.assert_array_equal(np.array(frame["scores"]), table["score"].to_numpy())
    points = np.array(frame["landmarks"])
    assert points.shape == (29, 6, 2)
    np.testing.assert_array_equal(points.reshape(29, -1), table[LANDMARK_COLUMNS].to_numpy())


@pytest.mark.slow
def test_landmarks(solvay):
    frame = solvay.faces_obj["0"]
    points = np.array(frame["landmarks"])
    np.testing.assert_allclose(points[:, 3], (points[:, 4] + points[:, 5]) / 2)  # mouth centre
    regions = np.array(frame["region"])
    inside = (points >= regions[:, None, :2] - 1) & (points <= regions[:, None, :2] + regions[:, None, 2:] + 1)
    assert inside.all()  # every landmark lies in its face box
    assert np.all(points[:, 0, 0] < points[:, 1, 0])  # left eye left of right eye (upright faces)
    for text, face in zip(frame["landmarks_str"], points):
        pairs = [tuple(map(int, pair.split(","))) for pair in text.split(":")]
        assert len(pairs) == 4
        assert np.all(np.abs(np.array(pairs) - face[:4]) <= 0.5)


@pytest.mark.slow
def test_to_frame_columns_and_dtypes(solvay):
    table = solvay.to_frame()
    assert list(table.columns) == COLUMNS
    assert table["frame"].dtype == "int64" and table["face"].dtype == "int64"
    assert str(table["track_id"].dtype) == "Int64"
    assert all(table[c].dtype == "float64" for c in ["time", "score", *BOX_COLUMNS, *LANDMARK_COLUMNS])
    assert table["time"].isna().all() and (table["frame"] == 0).all()
    assert table["face"].tolist() == list(range(29))
    assert (table[["w", "h"]] > 0).all().all()
    assert len(solvay.tracks()) == 29 and (solvay.tracks()["n_frames"] == 1).all()


# -- to_akool --------------------------------------------------------------------------------


@pytest.mark.slow
def test_to_akool_is_exactly_the_schema(solvay):
    response = solvay.to_akool()
    assert set(response) == {"error_code", "error_msg", "faces_obj"}
    assert (response["error_code"], response["error_msg"]) == (0, "SUCCESS")
    assert set(response["faces_obj"]["0"]) == FRAME_KEYS
    assert all(type(n) is int for n in all_numbers(response["faces_obj"]))
    validate_akool(response)
    json.dumps(response)  # plain JSON types only
    frame, full = response["faces_obj"]["0"], solvay.faces_obj["0"]
    np.testing.assert_array_equal(frame["region"], np.rint(full["region"]))
    np.testing.assert_array_equal(frame["landmarks"], np.rint(full["landmarks"]))
    assert frame["landmarks_str"] == full["landmarks_str"]


@pytest.mark.slow
def test_every_threshold_validates(solvay):
    for confidence in (0.05, 0.3, 0.99):
        validate_akool(solvay.filter(confidence=confidence).to_akool())
    empty = solvay.filter(confidence=0.99)
    assert len(empty) == 0
    assert empty.to_akool()["faces_obj"]["0"]["region"] == []
    assert empty.faces_obj["0"]["scores"] == [] and len(empty.to_frame()) == 0


# -- single_face and confidence --------------------------------------------------------------


@pytest.mark.slow
def test_single_face_keeps_the_largest(solvay, solvay_path):
    table = solvay.to_frame()
    largest = table.loc[(table["w"] * table["h"]).idxmax()]
    for single in (solvay.filter(single_face=True), fk.detect(solvay_path, single_face=True)):
        kept = single.to_frame()
        assert len(kept) == 1 and kept["face"].tolist() == [0]
        np.testing.assert_array_equal(kept[BOX_COLUMNS].to_numpy()[0], largest[BOX_COLUMNS].to_numpy(np.float64))
        assert len(single.faces_obj["0"]["region"]) == 1
        validate_akool(single.to_akool())


@pytest.mark.slow
def test_confidence_filters(solvay, solvay_path):
    strict = solvay.filter(confidence=0.8)
    scores = solvay.to_frame()["score"]
    assert 0 < len(strict) < len(solvay)
    assert len(strict) == int((scores >= 0.8).sum())
    expected = solvay.to_frame()[scores >= 0.8].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        strict.to_frame().drop(columns=["face", "track_id"]), expected.drop(columns=["face", "track_id"])
    )
    assert strict.meta["confidence"] == 0.8 and solvay.meta["confidence"] == 0.5
    loose = fk.detect(solvay_path, confidence=0.05)
    assert len(loose) > len(solvay)
    assert (loose.to_frame()["score"] >= 0.05).all()


# -- files -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_save_and_load(solvay, tmp_path, suffix):
    path = solvay.save(tmp_path / f"solvay{suffix}")
    loaded = fk.load(path)
    pd.testing.assert_frame_equal(loaded.to_frame(), solvay.to_frame(), check_exact=True)
    assert loaded.faces_obj == solvay.faces_obj
    assert loaded.to_akool() == solvay.to_akool()
    assert loaded.meta == solvay.meta
    pd.testing.assert_frame_equal(loaded.candidates(), solvay.candidates(), check_exact=True)
    lower = 0.1  # every candidate survived: re-filtering the loaded result needs no model
    pd.testing.assert_frame_equal(
        loaded.filter(confidence=lower).to_frame(), solvay.filter(confidence=lower).to_frame(), check_exact=True
    )


def test_save_and_load_keep_video_times_and_removed_boxes(tmp_path):
    """Times like 1/30 s and fractional boxes survive both formats at full precision."""
    points = [[10.25, 20.5], [30.125, 20.75], [20.0, 30.0], [20.0, 40.0], [12.0, 40.0], [28.0, 40.0]]
    faces_obj = {
        str(i): {
            "landmarks": [points],
            "region": [[10 + i / 3, 20.0, 30.0, 40.0]],
            "removed": [[1 / 3, 2 / 3, 3.0, 4.0]] if i else [],
            "frame_time": i / 30,
            "scores": [0.9 - i / 70],
            "track_ids": [7],
        }
        for i in range(3)
    }
    result = fk.Result.from_akool(faces_obj)
    for suffix in (".json", ".parquet"):
        loaded = fk.load(result.save(tmp_path / f"video{suffix}"))
        assert loaded.faces_obj == result.faces_obj
        pd.testing.assert_frame_equal(loaded.to_frame(), result.to_frame(), check_exact=True)
        pd.testing.assert_frame_equal(loaded.removed(), result.removed(), check_exact=True)


def test_bad_files(tmp_path):
    with pytest.raises(fk.InvalidInputError):
        fk.load(tmp_path / "missing.json")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(fk.InvalidInputError):
        fk.load(tmp_path / "other.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "broken.json").write_text('{"format": ')
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 but not really")
    (tmp_path / "result.txt").write_text("{}")
    for name in ("list.json", "broken.json", "broken.parquet", "result.txt"):
        with pytest.raises(fk.InvalidInputError):
            fk.load(tmp_path / name)
    pd.DataFrame({"x": [1.0]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(fk.InvalidInputError, match="metadata"):
        fk.load(tmp_path / "plain.parquet")


# -- hosted answers --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["image_success", "with_face_urls"])
def test_from_akool_seed_examples(name, examples):
    answer = examples[name]
    result = fk.Result.from_akool(answer)
    assert result.to_akool() == answer
    assert fk.Result.from_akool(json.dumps(answer)).to_akool() == answer  # a JSON string too
    assert fk.Result.from_akool(answer["faces_obj"]).to_akool() == answer  # a bare faces_obj too
    table = result.to_frame()
    assert len(table) == 1 and table["score"].isna().all()
    frame = answer["faces_obj"]["0"]
    assert table[BOX_COLUMNS].to_numpy().tolist() == [[float(v) for v in frame["region"][0]]]
    assert result.meta["media"] == "image"


def test_from_akool_video_example(examples):
    answer = examples["video_success"]
    result = fk.Result.from_akool(answer)
    assert result.frames == [0, 5]
    assert result.to_frame()["time"].tolist() == [0.0, 0.2]
    assert result.removed()[BOX_COLUMNS].to_numpy().tolist() == [[300.0, 200.0, 150.0, 180.0]]
    assert result.to_akool() == answer


def test_from_akool_error_answers(examples):
    for status in ("400", "500"):
        with pytest.raises(fk.InvalidInputError, match=examples[status]["error_msg"]):
            fk.Result.from_akool(examples[status])


def test_from_akool_refuses_malformed_answers(examples):
    answer = copy.deepcopy(examples["image_success"])
    answer["faces_obj"]["0"]["region"].append([1, 2, 3, 4])  # more boxes than landmarks
    box = [[1, 2, 3, 4]]
    bad = [
        answer,
        {"faces_obj": {"first": {"region": []}}},
        {"faces_obj": []},
        ["not", "an", "object"],
        '{"faces_obj": ',  # not JSON
        {"faces_obj": {"0": []}},
        {"faces_obj": {"0": {"region": [["a", 1, 2, 3]]}}},
        {"faces_obj": {"0": {"region": [5]}}},
        {"faces_obj": {"0": {"region": box, "landmarks": [[["x", 1]] * 6]}}},
        {"faces_obj": {"0": {"region": box, "frame_time": "soon"}}},
        {"faces_obj": {"0": {"region": box, "scores": ["high"]}}},
        {"faces_obj": {"0": {"region": box, "track_ids": ["a"]}}},
    ]
    for obj in bad:
        with pytest.raises(fk.InvalidInputError):
            fk.Result.from_akool(obj).to_frame()


def test_from_akool_accepts_five_point_landmarks(examples):
    answer = copy.deepcopy(examples["image_success"])
    six = answer["faces_obj"]["0"]["landmarks"][0]
    five = six[:3] + six[4:]
    answer["faces_obj"]["0"]["landmarks"][0] = five
    points = np.array(fk.Result.from_akool(answer).faces_obj["0"]["landmarks"][0])
    np.testing.assert_array_equal(points[[0, 1, 2, 4, 5]], five)
    np.testing.assert_array_equal(points[3], np.mean(five[3:], axis=0))  # the mouth centre, derived


@pytest.mark.slow
def test_from_akool_of_our_own_faces_obj(solvay):
    """faces_obj keeps everything a Result shows: reading it back gives the same table."""
    again = fk.Result.from_akool(solvay.faces_obj)
    pd.testing.assert_frame_equal(again.to_frame(), solvay.to_frame(), check_exact=True)
    assert again.faces_obj == solvay.faces_obj
    assert again.filter(confidence=0.8).to_akool() == solvay.filter(confidence=0.8).to_akool()


# -- plots -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_plot(astronaut, tmp_path, examples):
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    def boxes(ax) -> int:
        return sum(len(c.get_paths()) for c in ax.collections if isinstance(c, PolyCollection))

    result = fk.detect(astronaut, confidence=0.05)
    ax = result.plot()
    assert boxes(ax) == len(result) > 1
    assert ax.images and ax.images[0].get_array().shape[:2] == astronaut.shape[:2]
    plt.close(ax.figure)
    loaded = fk.load(result.save(tmp_path / "astronaut.parquet"))  # no picture: a blank canvas
    ax = loaded.plot()
    assert not ax.images and boxes(ax) == len(result)
    assert ax.get_xlim() == (0, astronaut.shape[1])
    plt.close(ax.figure)
    ax = fk.Result.from_akool(examples["image_success"]).plot()  # no scores, no size
    assert boxes(ax) == 1
    plt.close(ax.figure)
    with pytest.raises(fk.InvalidInputError):
        result.plot(frame=3)
