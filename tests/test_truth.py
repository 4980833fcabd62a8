"""Truth readers: every format read from the real files in data/truth, round-tripped, sniffed by
content, and malformed files refused with a typed error that names the line and field."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import facekit as fk
from facekit.errors import InvalidInputError
from facekit.truth import TRUTH_DTYPES, TruthFormatError, read_truth, write_truth

TRUTH = Path(__file__).resolve().parents[1] / "data" / "truth"
SAMPLE_FILES = {"samples.coco.json": "coco", "samples_bbx_gt.txt": "wider", "samples.imglab.xml": "imglab"}
PAN_FILES = {"pan_gt.txt": "mot", "pan.cvat.xml": "cvat"}
VOC = sorted((TRUTH / "voc").glob("*.xml"))


def _samples() -> pd.DataFrame:
    return pd.concat([fk.data.truth(n) for n in ("solvay", "newton", "gauss")], ignore_index=True)


def _pan() -> pd.DataFrame:
    video = fk.data.PanVideo(Path("pan.mp4"), fk.data.pan_windows(seconds=3.0, fps=10.0), (640, 360))
    return fk.data.pan_truth(video)


def _same(read: pd.DataFrame, expected: pd.DataFrame, *, sources: bool = True) -> None:
    """Equal tables up to row order (MOT sorts by frame, CVAT by track)."""
    columns = [c for c in TRUTH_DTYPES if sources or c != "source"]
    key = [c for c in ("source", "frame", "track_id", "x", "y") if c in columns]
    pd.testing.assert_frame_equal(
        read[columns].sort_values(key, ignore_index=True), expected[columns].sort_values(key, ignore_index=True)
    )


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_sample_files_hold_the_registry_truth(name):
    table = read_truth(TRUTH / name)
    assert list(table.columns) == list(TRUTH_DTYPES)
    assert table.dtypes.astype(str).tolist() == [str(pd.Series(dtype=d).dtype) for d in TRUTH_DTYPES.values()]
    _same(table, _samples())
    assert table.groupby("source").size().to_dict() == {
        "solvay_conference_1927.jpg": 29,
        "newton.png": 1,
        "gauss.png": 1,
    }


def test_voc_folder_reads_one_file_per_picture():
    assert [p.stem for p in VOC] == ["gauss", "newton", "solvay_conference_1927"]
    _same(read_truth(TRUTH / "voc"), _samples())
    assert len(read_truth(VOC[1])) == 1


@pytest.mark.parametrize("name", PAN_FILES)
def test_pan_files_hold_the_constructed_tracks(name):
    table = read_truth(TRUTH / name)
    _same(table, _pan(), sources=False)
    assert table["source"].isna().all()  # neither format names the video
    assert table["track_id"].notna().all() and table["ignore"].any() and not table["ignore"].all()


@pytest.mark.parametrize("path", [*(TRUTH / n for n in {**SAMPLE_FILES, **PAN_FILES}), *VOC], ids=lambda p: p.name)
def test_every_file_round_trips_byte_for_byte(path, tmp_path):
    kind = {**SAMPLE_FILES, **PAN_FILES}.get(path.name, "voc")
    assert read_truth(path, format=kind).equals(read_truth(path))  # told by content, as named
    written = write_truth(read_truth(path), tmp_path / path.name, kind)
    assert written.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("kind", ["coco", "wider", "imglab", "mot", "cvat"])
def test_writing_and_reading_keeps_ignore_ids_and_fractions(kind, tmp_path):
    table = read_truth(
        pd.DataFrame(
            {
                "source": "a.jpg",
                "frame": [0, 0, 1] if kind in ("mot", "cvat", "coco") else 0,
                "track_id": [3, 4, 3] if kind in ("mot", "cvat", "coco") else pd.NA,
                "x": [1.5, 20.0, 2.0],
                "y": [2.0, 30.25, 3.0],
                "w": [10.0, 12.0, 10.0],
                "h": [11.0, 14.5, 11.0],
                "ignore": [False, True, False],
            }
        )
    )
    back = read_truth(write_truth(table, tmp_path / "t", kind))
    if kind in ("mot", "cvat"):
        table = table.assign(source=pd.array([pd.NA] * 3, dtype="string"))
    _same(back, table)


def test_boxes_only_table_gets_defaults_and_removed_rows_are_dropped():
    table = read_truth(pd.DataFrame({"x": [1, 2], "y": [3, 4], "w": [5, 6], "h": [7, 8], "removed": [False, True]}))
    assert len(table) == 1 and table["frame"].tolist() == [0] and not table["ignore"].any()
    assert table["track_id"].isna().all() and table["source"].isna().all()


def test_a_result_table_is_truth(model_path, newton_path):
    faces = fk.detect(newton_path).to_frame()
    table = read_truth(faces)
    assert len(table) == len(faces) == 1 and np.allclose(table[["x", "y", "w", "h"]], faces[["x", "y", "w", "h"]])


MALFORMED = [
    ("bad.txt", "1,1,10,20,abc,40,1\n", "line 1: field 'w'"),
    ("bad.txt", "1,1,10,20,30,40\n0,2,1,1,1,1\n", "line 2: field 'frame'"),
    ("bad.txt", "pic.jpg\n2\n1 2 3 4 0 0 0 0 0 0\n", "line 4"),
    ("bad.txt", "pic.jpg\ntwo\n", "line 2: field 'count'"),
    ("bad.txt", "pic.jpg\n1\n1 2 x 4 0 0 0 1 0 0\n", "line 3: field 'w'"),
    (
        "bad.json",
        '{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, "bbox": [1, 2]}]}',
        "annotations[0]: field 'bbox'",
    ),
    ("bad.json", '{"images": [], "annotations": [{"image_id": 7, "bbox": [1, 2, 3, 4]}]}', "field 'image_id'"),
    ("bad.json", '{"images": [\n', "line 2: not JSON"),
    (
        "bad.xml",
        "<dataset><images><image file='a'>\n<box top='1' left='2' width='3'/>\n</image></images></dataset>",
        "line 2: <box> has no 'height'",
    ),
    (
        "bad.xml",
        "<annotation><filename>a</filename>\n<object><bndbox>\n<xmin>1</xmin><ymin>q</ymin>"
        "<xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>",
        "line 3: field 'ymin'",
    ),
    (
        "bad.xml",
        '<annotations>\n<track id="0"><box frame="0" xtl="1" ytl="2" xbr="3"/></track></annotations>',
        "line 2: <box> has no 'ybr'",
    ),
    ("bad.xml", "<dataset>\n<images>\n</dataset>", "line 3: not well-formed"),
    ("bad.xml", "<html>\n</html>", "is none of VOC"),
    (
        "bomb.xml",
        '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaa">]>\n<dataset>&a;</dataset>',
        "line 2: document type",
    ),
    ("empty.txt", "\n\n", "empty"),
]


@pytest.mark.parametrize(("name", "content", "message"), MALFORMED)
def test_malformed_files_name_the_line_and_field(name, content, message, tmp_path):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(TruthFormatError, match=re.escape(message)) as caught:
        read_truth(path)
    assert isinstance(caught.value, InvalidInputError) and name in str(caught.value)


def test_refusals(tmp_path):
    with pytest.raises(InvalidInputError, match="no such truth file"):
        read_truth(tmp_path / "missing.txt")
    with pytest.raises(InvalidInputError, match="format must be one of"):
        read_truth(TRUTH / "pan_gt.txt", format="yolo")
    with pytest.raises(InvalidInputError, match="max_bytes"):
        read_truth(TRUTH / "pan_gt.txt", max_bytes=100)
    with pytest.raises(InvalidInputError, match="missing h"):
        read_truth(pd.DataFrame({"x": [1], "y": [1], "w": [1]}))
    with pytest.raises(InvalidInputError, match="one picture"):
        write_truth(_samples(), tmp_path / "two.xml", "voc")
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TruthFormatError, match="not UTF-8"):
        read_truth(tmp_path / "binary.txt")
