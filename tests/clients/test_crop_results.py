"""Crop-only Results (Magic Hour, CRUN answers): a row per face with its crop URL and no box."""

from __future__ import annotations

import json
import warnings

import pytest

import facekit as fk
from facekit.clients.base import crop_result
from facekit.comparison import compare

URLS = ["https://cdn/0.png", "https://cdn/1.png"]


@pytest.fixture
def crops() -> fk.Result:
    return crop_result(URLS, source="https://example.com/p.png", media="image", meta={"service": "CRUN"})


def test_the_frame_has_the_urls_and_empty_boxes(crops):
    faces = crops.to_frame()
    assert faces["crop_url"].tolist() == URLS and faces["face"].tolist() == [0, 1]
    assert faces[["score", "x", "y", "w", "h", "left_eye_x", "crop_x"]].isna().all().all()
    assert len(crops) == 2 and crops.frames == [0]


def test_compare_refuses_results_without_boxes(crops, solvay_path):
    local = fk.detect(solvay_path)
    with pytest.raises(fk.InvalidInputError, match="needs face boxes.*CRUN"):
        compare(local, crops)


def test_faces_obj_of_crops_is_strict_json_with_the_urls(crops):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        entry = json.loads(json.dumps(crops.faces_obj, allow_nan=False))["0"]
    assert entry["face_urls"] == URLS
    assert entry["crop_region"] == [None, None]
    assert all(s is None for s in entry["landmarks_str"])


def test_to_akool_of_crops_refuses_instead_of_inventing_boxes(crops):
    # Akool's schema requires integer boxes: none are made up.
    with pytest.raises(fk.InvalidInputError, match="box"):
        crops.to_akool()
