"""Request bodies in bounded memory (issue 15, item 6): Akool bodies spooled to disk, base64 decoded in chunks."""

from __future__ import annotations

import base64
import io
import os

import pytest
import requests

from facekit.errors import InvalidInputError, LimitExceededError
from facekit.server import bodies

PAYLOAD = os.urandom(10_007)


def _decoded(text: str, limit: int = 1 << 20) -> bytes:
    target = io.BytesIO()
    assert bodies.decode_base64(text, target, limit) == len(target.getvalue())
    return target.getvalue()


@pytest.mark.parametrize("chunk", [4, 8, 1000, bodies.CHUNK])
def test_chunked_decode_equals_whole_decode(monkeypatch, chunk):
    monkeypatch.setattr(bodies, "CHUNK", chunk)
    plain = base64.b64encode(PAYLOAD).decode()
    assert _decoded(plain) == PAYLOAD
    wrapped = "\n".join(plain[i : i + 76] for i in range(0, len(plain), 76))  # MIME line breaks
    assert _decoded(" " + wrapped + "\r\n") == PAYLOAD
    assert _decoded(base64.urlsafe_b64encode(PAYLOAD).decode().rstrip("=")) == PAYLOAD  # URL-safe, unpadded
    assert _decoded("DATA:image/jpeg;BASE64," + plain) == PAYLOAD


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("!!!! not base64 !!!!", InvalidInputError, "invalid base64"),
        ("QUJD=QUJD", InvalidInputError, "invalid base64"),
        ("QUJDé", InvalidInputError, "invalid base64"),
        ("data:text/plain;base64,QUJD", InvalidInputError, "media type"),
        ("data:image/png,QUJD", InvalidInputError, "not base64-encoded"),
        ("data:image/png;base64", InvalidInputError, "malformed"),
        ("data:image/png;base64,", InvalidInputError, "empty"),
        ("QUJD" * 300, LimitExceededError, "over the limit"),
    ],
)
def test_bad_payloads_are_typed_errors(text, error, match):
    with pytest.raises(error, match=match):
        _decoded(text, limit=600)


def test_large_body_goes_through_disk_and_leaves_nothing(start_server, solvay_path, media_host, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("spooling")
    server = start_server(data_dir=data_dir, spool_bytes=64 * 1024)
    picture = solvay_path.read_bytes()
    plain = requests.post(server + "/detect_faces", json={"img": base64.b64encode(picture).decode()}, timeout=60)
    padded = picture + bytes(6 * 1024 * 1024)  # a JPEG's decoder stops at its end marker: same picture, 6 MB more
    encoded = base64.encodebytes(padded).decode()  # with line breaks, as MIME tools write it
    large = requests.post(server + "/detect_faces", json={"img": "data:image/jpeg;base64," + encoded}, timeout=60)
    assert large.status_code == 200 and large.json()["faces_obj"] == plain.json()["faces_obj"]
    fetched = requests.post(server + "/detect_faces", json={"url": media_host + "/solvay.jpg"}, timeout=60)
    assert fetched.json()["faces_obj"] == plain.json()["faces_obj"]  # a download is streamed to disk too
    assert list((data_dir / "incoming").iterdir()) == []  # decoded and downloaded media deleted after each request
