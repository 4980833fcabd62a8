"""Result files (facekit.io): json and parquet round trips of synthetic results, bad files refused."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from synthetic_tables import FRAMES, candidates, video_meta

import facekit as fk
from facekit import io
from facekit.errors import InvalidInputError
from facekit.table import FaceTable

SUFFIXES = [".json", ".parquet"]


def saved(**table_options) -> io.Saved:
    rows = candidates()
    table = FaceTable.build(rows, FRAMES, **table_options)
    meta = video_meta(timings_ms={"detect": 1.25}, extra={"note": "kept"}, custom=[1, 2])
    return io.Saved(table, meta, confidence=0.5, single_face=True, floor=0.05)


def assert_same_table(got: FaceTable, want: FaceTable) -> None:
    pd.testing.assert_frame_equal(got.to_frame(), want.to_frame(), check_exact=True)
    pd.testing.assert_frame_equal(got.frames(), want.frames(), check_exact=True)
    for cue in ("features", "signatures"):
        mine, theirs = getattr(got, cue), getattr(want, cue)
        assert (mine is None) == (theirs is None), cue
        if theirs is not None:
            np.testing.assert_array_equal(mine, np.asarray(theirs, np.float32), err_msg=cue)
    if want.removed is None:
        assert got.removed is None
    else:
        assert got.removed is not None
        pd.testing.assert_frame_equal(got.removed, want.removed, check_exact=True)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_keeps_everything(tmp_path, suffix):
    rng = np.random.default_rng(0)
    original = saved(features=rng.random((7, 5)).astype(np.float16), signatures=rng.random((4, 3)).astype(np.float32))
    back = io.read(io.write(tmp_path / f"r{suffix}", original))
    assert_same_table(back.table, original.table)
    assert back.table.frame_index.tolist() == [0, 1, 2, 3]  # frame 3 has no face and is still analysed
    assert (back.confidence, back.single_face, back.floor) == (0.5, True, 0.05)
    assert back.meta == json.loads(json.dumps(original.meta))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_of_removed_boxes_as_given_and_crops(tmp_path, suffix):
    removed = pd.DataFrame(
        {
            "frame": [2, 1],
            "track_id": pd.array([7, pd.NA], "Int64"),
            "x": [1 / 3, 2.0],
            "y": [0.1, 0.2],
            "w": [3.0, 4.0],
            "h": [5.0, 6.0],
        }
    )
    rows = candidates().assign(
        crop_url=pd.Series(["a.jpg", None, "c.jpg", None, "e.jpg", "f.jpg", "g.jpg"], dtype=object),
        crop_x=1 / 7,
        crop_y=2.0,
        crop_w=3.0,
        crop_h=4.0,
    )
    original = io.Saved(FaceTable.build(rows, FRAMES, removed=removed), {}, 0.0, False, 0.0)
    back = io.read(io.write(tmp_path / f"r{suffix}", original))
    assert_same_table(back.table, original.table)
    assert back.table.removed is not None and back.table.removed["frame"].tolist() == [1, 2]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_of_an_empty_result(tmp_path, suffix):
    empty = io.Saved(FaceTable.build(candidates([]), FRAMES.iloc[:0]), {"media": "image"}, 0.5, False, 0.05)
    back = io.read(io.write(tmp_path / f"r{suffix}", empty))
    assert len(back.table) == 0 and back.table.frame_index.size == 0


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_saved_result_reads_back_equal(tmp_path, suffix):
    result = fk.Result(candidates(), FRAMES, video_meta(task_id="t-1", shade="blue"), confidence=0.6, floor=0.1)
    loaded = fk.load(result.save(tmp_path / f"r{suffix}"))
    assert loaded.faces_obj == result.faces_obj
    assert dict(loaded.meta) == dict(result.meta) and loaded.meta["shade"] == "blue"
    assert loaded.run == result.run
    pd.testing.assert_frame_equal(loaded.filter(0.1).to_frame(), result.filter(0.1).to_frame(), check_exact=True)
    with pytest.raises(InvalidInputError, match="below the floor"):
        loaded.filter(0.05)


def test_json_keeps_full_precision(tmp_path):
    rows = candidates().assign(x=[1 / 3, 2 / 3, 1e-17, 123456.789012345, 0.1 + 0.2, np.pi, np.e])
    original = io.Saved(FaceTable.build(rows, FRAMES), {}, 0.0, False, 0.0)
    back = io.read(io.write(tmp_path / "r.json", original))
    np.testing.assert_array_equal(back.table.columns["x"], original.table.columns["x"])


def test_unknown_suffixes_are_refused(tmp_path):
    with pytest.raises(InvalidInputError, match=r"\.json or \.parquet"):
        io.write(tmp_path / "r.csv", saved())
    assert not (tmp_path / "r.csv").exists()
    (tmp_path / "r.csv").write_text("frame\n0\n")
    with pytest.raises(InvalidInputError, match=r"\.json or \.parquet"):
        io.read(tmp_path / "r.csv")


BAD_JSON = {
    "missing.json": None,
    "list.json": "[1, 2]",
    "broken.json": '{"format": ',
    "latin1.json": b'{"format": "\xe9"}',
    "other.json": '{"format": "something else", "candidates": {}}',
    "no candidates.json": '{"format": "facekit.Result"}',
    "no frames.json": '{"format": "facekit.Result", "candidates": {"frame": []}}',
    "bad candidates.json": '{"format": "facekit.Result", "candidates": {"frame": ["x"]}, "frames": [], '
    '"meta": {}, "confidence": 0.5, "single_face": false, "floor": 0.0}',
}


@pytest.mark.parametrize("name", sorted(BAD_JSON))
def test_bad_json_files_are_refused(tmp_path, name):
    content = BAD_JSON[name]
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(InvalidInputError):
        io.read(path)


def test_bad_parquet_files_are_refused(tmp_path):
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 but not really")
    with pytest.raises(InvalidInputError, match="not a Parquet file"):
        io.read(tmp_path / "broken.parquet")
    pd.DataFrame({"x": [1.0]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(InvalidInputError, match="no facekit metadata"):
        io.read(tmp_path / "plain.parquet")
    io.write(tmp_path / "good.parquet", saved())
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "good.parquet")
    state = json.loads(table.schema.metadata[b"facekit"])
    for change in ({"format": "other"}, {"frames": "nope"}):
        metadata = {**table.schema.metadata, b"facekit": json.dumps({**state, **change}).encode()}
        pq.write_table(table.replace_schema_metadata(metadata), tmp_path / "changed.parquet")
        with pytest.raises(InvalidInputError):
            io.read(tmp_path / "changed.parquet")
