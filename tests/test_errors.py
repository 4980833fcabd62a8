"""Every bad input ends in one typed facekit error (a FacekitError subclass), never a bare traceback."""

from __future__ import annotations

import base64
import socket
import struct
import time
import zlib

import numpy as np
import pytest

import facekit as fk


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` RGB pixels but carries almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def solvay_bytes(solvay_path) -> bytes:
    return solvay_path.read_bytes()


def test_the_error_hierarchy():
    for error in (fk.InvalidInputError, fk.MediaDecodeError, fk.LimitExceededError, fk.UnsupportedMediaError):
        assert issubclass(error, fk.FacekitError) and issubclass(error, ValueError)
    for error in (fk.MediaDecodeError, fk.LimitExceededError, fk.UnsupportedMediaError):
        assert issubclass(error, fk.InvalidInputError)
    for error in (fk.DownloadError, fk.ModelUnavailableError):
        assert issubclass(error, fk.FacekitError) and not issubclass(error, fk.InvalidInputError)


def test_empty_input(tmp_path, model_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    for source in (b"", empty):
        with pytest.raises(fk.MediaDecodeError, match="empty"):
            fk.detect(source)
    for source in ("", "   "):
        with pytest.raises(fk.InvalidInputError, match="empty"):
            fk.detect(source)


def test_random_bytes(tmp_path, model_path):
    noise = np.random.default_rng(7).bytes(20_000)
    (tmp_path / "noise.jpg").write_bytes(noise)
    for source in (noise, tmp_path / "noise.jpg", base64.b64encode(noise).decode()):
        with pytest.raises(fk.MediaDecodeError):
            fk.detect(source)


def test_truncated_jpeg(solvay_bytes, model_path):
    with pytest.raises(fk.MediaDecodeError, match="truncated"):
        fk.detect(solvay_bytes[: len(solvay_bytes) // 2])


@pytest.mark.parametrize(
    "text",
    [
        "this is not base64 at all!",
        "A" * 33,  # one character too many for any base64 length
        "QUJD" * 40 + "*",
        "data:image/jpeg;base64,%%%not-base64%%%",
    ],
)
def test_bad_base64(text, model_path):
    with pytest.raises(fk.InvalidInputError) as caught:
        fk.detect(text)
    assert not isinstance(caught.value, fk.MediaDecodeError)


def test_data_uri_of_the_wrong_type(solvay_bytes, model_path):
    encoded = base64.b64encode(solvay_bytes).decode()
    with pytest.raises(fk.InvalidInputError, match="text/plain"):
        fk.detect(f"data:text/plain;base64,{encoded}")
    with pytest.raises(fk.InvalidInputError, match="base64"):
        fk.detect("data:image/jpeg,rawdata")
    with pytest.raises(fk.InvalidInputError, match="malformed"):
        fk.detect("data:image/jpeg;base64")


def test_unreachable_url(model_path):
    started = time.monotonic()
    with pytest.raises(fk.DownloadError, match="127.0.0.1"):
        fk.detect(f"http://127.0.0.1:{closed_port()}/photo.jpg")
    assert time.monotonic() - started < 10


def test_missing_file_and_folders(tmp_path, model_path):
    for source in (tmp_path / "missing.jpg", str(tmp_path / "missing.jpg"), "photo.jpg"):
        with pytest.raises(fk.InvalidInputError, match="no such file"):
            fk.detect(source)
    with pytest.raises(fk.InvalidInputError, match="folder"):
        fk.detect(tmp_path)


def test_huge_png_header_is_refused_before_decoding(tmp_path, model_path):
    header = png_header(40_000, 40_000)
    (tmp_path / "bomb.png").write_bytes(header)
    for source in (header, tmp_path / "bomb.png", base64.b64encode(header).decode()):
        started = time.monotonic()
        with pytest.raises(fk.LimitExceededError, match="pixels"):
            fk.detect(source)
        assert time.monotonic() - started < 1.0  # decoding 1.6 gigapixels would take far longer


def test_pixel_limit_is_configurable(solvay_path, model_path, monkeypatch):
    with pytest.raises(fk.LimitExceededError, match="max_pixels"):
        fk.detect(solvay_path, limits=fk.Limits(max_pixels=3000 * 2171 - 1))
    with pytest.raises(fk.LimitExceededError, match="max_pixels"):
        fk.detect(png_header(5000, 5000), limits=fk.Limits(max_pixels=5000 * 5000 - 1))
    with pytest.raises(fk.LimitExceededError, match="max_pixels"):
        fk.detect(np.zeros((100, 100, 3), np.uint8), limits=fk.Limits(max_pixels=9999))
    monkeypatch.setenv("FACEKIT_MAX_PIXELS", "1000000")
    with pytest.raises(fk.LimitExceededError, match="max_pixels"):
        fk.detect(solvay_path)


def test_byte_limit_is_configurable(solvay_path, solvay_bytes, model_path, monkeypatch):
    limits = fk.Limits(max_bytes=len(solvay_bytes) - 1)
    encoded = base64.b64encode(solvay_bytes).decode()
    for source in (solvay_path, str(solvay_path), solvay_bytes, encoded, f"data:image/jpeg;base64,{encoded}"):
        with pytest.raises(fk.LimitExceededError, match="max_bytes"):
            fk.detect(source, limits=limits)
    monkeypatch.setenv("FACEKIT_MAX_BYTES", str(len(solvay_bytes) - 1))
    with pytest.raises(fk.LimitExceededError, match="max_bytes"):
        fk.detect(solvay_path)


@pytest.mark.slow
def test_limits_at_the_exact_size_accept(solvay_path, solvay_bytes):
    exact = fk.Limits(max_bytes=len(solvay_bytes), max_pixels=3000 * 2171)
    assert len(fk.detect(solvay_path, limits=exact)) == 29


@pytest.mark.parametrize(
    "options",
    [
        {"confidence": 1.5},
        {"confidence": -0.1},
        {"confidence": float("nan")},
        {"confidence": "0.5"},
        {"num_frames": 0},
        {"num_frames": 101},
        {"num_frames": 2.5},
        {"num_frames": True},
    ],
)
def test_invalid_options(options, newton_path):
    with pytest.raises(fk.InvalidInputError):
        fk.detect(newton_path, **options)


@pytest.mark.parametrize(
    "source",
    [
        12345,
        ["photo.jpg"],
        None,
        np.zeros((64, 64), np.float32),
        np.zeros((64, 64, 3), np.float64),
        np.zeros((0, 64, 3), np.uint8),
        np.zeros((64, 64, 2), np.uint8),
    ],
    ids=["int", "list", "None", "2d-float", "float-rgb", "empty-array", "two-channels"],
)
def test_unsupported_sources(source, model_path):
    with pytest.raises(fk.InvalidInputError):
        fk.detect(source)
