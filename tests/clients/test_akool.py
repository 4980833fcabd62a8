"""fk.clients.Akool against a scripted server: what it sends, what it makes of each answer."""

from __future__ import annotations

import base64
import time

import numpy as np
import pytest
from scripted import Reply

import facekit as fk
from facekit.clients import (
    Akool,
    AuthenticationError,
    InsufficientCreditsError,
    MalformedResponseError,
    RateLimitedError,
    ServiceUnavailableError,
    ValidationError,
)

ROUTE = "/detect_faces"
ANSWER = {  # seed 004, "Example 1"
    "error_code": 0,
    "error_msg": "SUCCESS",
    "faces_obj": {
        "0": {
            "landmarks": [[[320, 240], [420, 240], [370, 300], [370, 350], [340, 350], [400, 350]]],
            "landmarks_str": ["320,240:420,240:370,300:370,350"],
            "region": [[300, 200, 150, 180]],
            "removed": [],
            "frame_time": None,
        }
    },
}


def test_local_file_goes_as_base64_img_and_the_answer_becomes_a_result(scripted, png_file, png_bytes):
    scripted.script("POST", ROUTE, ANSWER)
    result = Akool(base_url=scripted.url, api_key="k").detect(png_file, num_frames=3, single_face=True)
    sent = scripted.requests("POST", ROUTE)[0]
    assert base64.b64decode(sent.json()["img"]) == png_bytes
    assert sent.json()["num_frames"] == 3 and sent.json()["single_face"] is True
    assert "url" not in sent.json() and "return_face_url" not in sent.json()
    assert sent.headers["x-api-key"] == "k"
    faces = result.to_frame()
    assert faces[["x", "y", "w", "h"]].values.tolist() == [[300, 200, 150, 180]]
    assert np.isnan(faces["score"]).all()  # hosted answers carry no scores
    assert result.meta["service"] == "Akool" and result.meta["source"] == str(png_file)


def test_url_goes_as_url_and_key_comes_from_the_environment(scripted, monkeypatch):
    monkeypatch.setenv("AKOOL_API_KEY", "from-env")
    scripted.script("POST", ROUTE, ANSWER)
    Akool(base_url=scripted.url).detect("https://example.com/photo.jpg")
    sent = scripted.requests("POST", ROUTE)[0]
    assert sent.json() == {"url": "https://example.com/photo.jpg"}
    assert sent.headers["x-api-key"] == "from-env"


def test_array_is_sent_as_png(scripted, monkeypatch):
    monkeypatch.delenv("AKOOL_API_KEY", raising=False)
    scripted.script("POST", ROUTE, ANSWER)
    Akool(base_url=scripted.url).detect(np.zeros((4, 5, 3), np.uint8))
    sent = scripted.requests("POST", ROUTE)[0]
    assert base64.b64decode(sent.json()["img"]).startswith(b"\x89PNG")
    assert "x-api-key" not in sent.headers and "authorization" not in sent.headers


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply({"error_code": 1, "error_msg": "Invalid URL format", "faces_obj": {}}, status=400), ValidationError),
        (Reply({"error_code": 1, "error_msg": "Failed to download media from URL", "faces_obj": {}}), ValidationError),
        (Reply({"message": "bad key"}, status=401), AuthenticationError),
        (Reply({"message": "no credits"}, status=402), InsufficientCreditsError),
        (Reply("<html>oops", status=200), MalformedResponseError),
        (Reply({"unexpected": True}), MalformedResponseError),
    ],
)
def test_documented_errors_are_typed(scripted, reply, error):
    scripted.script("POST", ROUTE, reply)
    with pytest.raises(error) as caught:
        Akool(base_url=scripted.url).detect("https://example.com/photo.jpg")
    assert caught.value.service == "Akool"
    assert isinstance(caught.value, fk.FacekitError)
    assert len(scripted.requests("POST", ROUTE)) == 1  # none of these is retried


def test_validation_error_carries_the_service_message(scripted):
    scripted.script("POST", ROUTE, Reply({"error_code": 1, "error_msg": "Invalid URL format", "faces_obj": {}}, 400))
    with pytest.raises(ValidationError, match="Invalid URL format"):
        Akool(base_url=scripted.url).detect("https://example.com/x.jpg")


def test_429_waits_for_retry_after_then_retries(scripted):
    scripted.script("POST", ROUTE, Reply({"message": "slow down"}, 429, {"Retry-After": "1"}), ANSWER)
    result = Akool(base_url=scripted.url).detect("https://example.com/photo.jpg")
    first, second = scripted.requests("POST", ROUTE)
    assert second.at - first.at >= 1.0
    assert len(result) == 1


def test_429_longer_than_max_wait_raises_at_once_with_retry_after(scripted):
    scripted.script("POST", ROUTE, Reply({"message": "slow down"}, 429, {"Retry-After": "120"}))
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as caught:
        Akool(base_url=scripted.url, max_wait=5).detect("https://example.com/photo.jpg")
    assert caught.value.retry_after == 120 and caught.value.status == 429
    assert time.monotonic() - started < 2


def test_503_then_success(scripted):
    scripted.script("POST", ROUTE, Reply({"message": "busy"}, 503), ANSWER)
    result = Akool(base_url=scripted.url).detect("https://example.com/photo.jpg")
    assert len(scripted.requests("POST", ROUTE)) == 2 and len(result) == 1


def test_503_every_time_gives_up_after_the_retries(scripted):
    scripted.script("POST", ROUTE, Reply({"message": "busy"}, 503, {"Retry-After": "0"}))
    with pytest.raises(ServiceUnavailableError, match="busy"):
        Akool(base_url=scripted.url, retries=2).detect("https://example.com/photo.jpg")
    assert len(scripted.requests("POST", ROUTE)) == 3


def test_unreachable_server_is_unavailable():
    with pytest.raises(ServiceUnavailableError, match="cannot reach"):
        Akool(base_url="http://127.0.0.1:9", retries=0).detect("https://example.com/photo.jpg")


def test_bad_settings_and_sources_are_refused():
    with pytest.raises(fk.InvalidInputError, match="max_wait"):
        Akool(max_wait=0)
    with pytest.raises(fk.InvalidInputError, match="no such file"):
        Akool(base_url="http://127.0.0.1:9").detect("/no/such/photo.jpg")
    assert "secret" not in repr(Akool(api_key="secret"))
