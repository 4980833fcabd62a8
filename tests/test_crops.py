"""Face crops: real JPEG files, expanded squares clipped to the picture, landmarks relative to the crop."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import facekit as fk
from facekit.crops import CROP_SCALE, crop_regions
from facekit.schema import landmarks_str, validate_akool
from facekit.table import BOX_COLUMNS, CROP_COLUMNS


def file_of(url: str) -> Path:
    parsed = urlparse(url)
    assert parsed.scheme == "file"
    return Path(unquote(parsed.path))


def test_crop_regions_are_expanded_squares():
    rng = np.random.default_rng(0)
    width, height = 2000, 1500
    size = rng.uniform(20, 200, (200, 2))
    corner = rng.uniform(300, 1100, (200, 2))  # far enough from the edges never to be clipped
    boxes = np.hstack([corner, size])
    regions = crop_regions(boxes, width, height)
    assert np.array_equal(regions, np.round(regions))  # whole pixels
    side = size.max(axis=1) * CROP_SCALE
    assert np.all(np.abs(regions[:, 2] - regions[:, 3]) <= 1)  # square, up to rounding
    assert np.all(regions[:, 2] >= side) and np.all(regions[:, 2] <= side + 2)
    centre = boxes[:, :2] + size / 2
    np.testing.assert_allclose(regions[:, :2] + regions[:, 2:] / 2, centre, atol=1)
    assert np.all(regions[:, :2] <= boxes[:, :2]) and np.all(regions[:, :2] + regions[:, 2:] >= boxes[:, :2] + size)


def test_crop_regions_at_the_edges_are_clipped():
    width, height = 640, 480
    boxes = np.array([[-20.0, -10.0, 100, 120], [590, 400, 80, 90], [0, 200, 50, 50], [300, 0, 60, 60]])
    regions = crop_regions(boxes, width, height)
    x, y, w, h = regions.T
    assert np.all(x >= 0) and np.all(y >= 0) and np.all(x + w <= width) and np.all(y + h <= height)
    assert np.all((x == 0) | (y == 0) | (x + w == width) | (y + h == height))  # each touches an edge
    assert np.all(np.minimum(w, h) < np.maximum(boxes[:, 2], boxes[:, 3]) * CROP_SCALE)  # cut short
    visible = np.clip(boxes[:, :2] + boxes[:, 2:], 0, [width, height])
    assert np.all(x + w >= visible[:, 0]) and np.all(y + h >= visible[:, 1])  # the visible face is inside


def check_crops(result: fk.Result, pixels: np.ndarray, directory: Path) -> None:
    """Every face has a JPEG in ``directory`` showing its expanded, clipped region of ``pixels``."""
    height, width = pixels.shape[:2]
    frame = result.faces_obj["0"]
    assert len(frame["face_urls"]) == len(frame["region"]) > 0
    for url, crop, region, points, relative in zip(
        frame["face_urls"], frame["crop_region"], frame["region"], frame["landmarks"], frame["crop_landmarks"]
    ):
        path = file_of(url)
        assert path.parent == directory.resolve() and path.is_file()
        x, y, w, h = map(int, crop)
        assert [x, y, w, h] == crop  # whole pixels
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
        rx, ry, rw, rh = region
        assert x <= max(rx, 0) and y <= max(ry, 0)
        assert x + w >= min(rx + rw, width) and y + h >= min(ry + rh, height)
        assert relative == landmarks_str(np.array(points) - [x, y])
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.size == (w, h)
            shown = np.asarray(image.convert("RGB"), dtype=np.float64)
        original = pixels[y : y + h, x : x + w].astype(np.float64)
        if original.ndim == 2:
            original = original[:, :, None]
        assert np.abs(shown - original).mean() < 6  # the same pixels, up to JPEG loss


@pytest.fixture(scope="module")
def newton_rgb(newton_path) -> np.ndarray:
    return fk.data.newton()


@pytest.mark.slow
def test_crops_of_a_group_photo(solvay_path, tmp_path):
    directory = tmp_path / "crops"
    result = fk.detect(solvay_path, crops=True, crops_dir=directory)
    assert len(result) == 29
    check_crops(result, fk.data.solvay(), directory)
    assert len(list(directory.glob("*.jpg"))) == 29
    assert len({tuple(c) for c in result.faces_obj["0"]["crop_region"]}) == 29
    response = result.to_akool()
    validate_akool(response)
    assert all(isinstance(u, str) for u in response["faces_obj"]["0"]["face_urls"])
    table = result.to_frame()
    assert list(table.columns[-5:]) == CROP_COLUMNS and str(table["crop_url"].dtype) == "string"


@pytest.mark.slow
def test_crop_near_the_edge_is_clipped(newton_rgb, tmp_path):
    """Newton's face sits near the top-left corner of this cut: its crop square is cut by both edges."""
    cut = np.ascontiguousarray(newton_rgb[60:, 300:])
    result = fk.detect(cut, crops=True, crops_dir=tmp_path)
    assert len(result) == 1
    x, y, w, h = result.faces_obj["0"]["crop_region"][0]
    region = result.faces_obj["0"]["region"][0]
    assert (x, y) == (0, 0)
    assert max(w, h) < max(region[2:]) * CROP_SCALE
    check_crops(result, cut, tmp_path)


@pytest.mark.slow
def test_crops_go_to_the_cache_by_default(newton_path, tmp_path, monkeypatch, model_path):
    monkeypatch.setenv("FACEKIT_HOME", str(tmp_path))
    monkeypatch.setenv("FACEKIT_MODEL", str(model_path))  # the empty home has no model
    result = fk.detect(newton_path, crops=True)
    path = file_of(result.faces_obj["0"]["face_urls"][0])
    assert path.is_file() and (tmp_path / "crops") in path.parents


@pytest.mark.slow
def test_crops_survive_filters_and_files(newton_path, newton_rgb, tmp_path):
    directory = tmp_path / "crops"
    result = fk.detect(newton_path, crops=True, crops_dir=directory, precision="fp32")
    lower = result.filter(confidence=0.05)
    assert len(lower) > len(result)  # Newton has a weak second candidate, which was not cropped
    frame = lower.faces_obj["0"]
    assert frame["face_urls"][1:] == [None] * (len(lower) - 1)
    assert frame["crop_region"][1:] == [None] * (len(lower) - 1)
    assert frame["face_urls"][0] == result.faces_obj["0"]["face_urls"][0]
    validate_akool(lower.to_akool())
    for suffix in (".json", ".parquet"):
        loaded = fk.load(result.save(tmp_path / f"newton{suffix}"))
        assert loaded.faces_obj == result.faces_obj
        pd.testing.assert_frame_equal(loaded.to_frame(), result.to_frame(), check_exact=True)
    single = fk.detect(newton_path, crops=True, crops_dir=tmp_path / "single", single_face=True)
    check_crops(single, newton_rgb, tmp_path / "single")


@pytest.mark.slow
def test_crops_of_a_gray_picture(solvay_path, tmp_path):
    """Solvay decodes single-channel; its crops are still ordinary JPEG files of the right pixels."""
    result = fk.detect(solvay_path, crops=True, crops_dir=tmp_path, confidence=0.8)
    check_crops(result, fk.data.solvay(), tmp_path)
    assert result.to_frame()[BOX_COLUMNS].notna().all().all()


@pytest.mark.slow
def test_calls_sharing_a_crops_folder_keep_their_own_crops(newton_rgb, gauss_path, tmp_path):
    """Two pictures without file names (arrays) cropped into one folder: neither overwrites the other."""
    gauss_rgb = fk.data.gauss()
    first = fk.detect(newton_rgb, crops=True, crops_dir=tmp_path)
    second = fk.detect(gauss_rgb, crops=True, crops_dir=tmp_path)
    check_crops(first, newton_rgb, tmp_path)
    check_crops(second, gauss_rgb, tmp_path)
    assert len(list(tmp_path.glob("*.jpg"))) == 2
