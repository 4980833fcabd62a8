"""fk.clients.MagicHour against a scripted server: the upload-URL flow, polling, crop-only Results."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scripted import Reply

from facekit.clients import (
    ClientTimeoutError,
    GenerationFailedError,
    InsufficientCreditsError,
    MagicHour,
    MalformedResponseError,
    ValidationError,
)

CREATE, UPLOADS = "/v1/face-detection", "/v1/files/upload-urls"
TASK = "/v1/face-detection/task-1"
FACES = [
    {"path": "api-assets/id/0-0.png", "url": "https://videos.magichour.ai/api-assets/id/0-0.png"},
    {"path": "api-assets/id/0-1.png", "url": "https://videos.magichour.ai/api-assets/id/0-1.png"},
]


def _task(status: str, faces: list | None = None) -> dict:
    return {"id": "task-1", "status": status, "credits_charged": 0, "faces": faces or []}


def _client(server, **settings) -> MagicHour:
    return MagicHour(api_key="mh-key", base_url=server.url, poll_interval=0.01, **settings)


def test_local_file_is_uploaded_then_detected_and_polled(scripted, png_file, png_bytes):
    scripted.script(
        "POST",
        UPLOADS,
        {
            "items": [
                {
                    "upload_url": f"{scripted.url}/storage/abc.png?sig=1",
                    "file_path": "api-assets/id/abc.png",
                    "expires_at": "later",
                }
            ]
        },
    )
    scripted.script("PUT", "/storage/abc.png", Reply(""))
    scripted.script("POST", CREATE, {"id": "task-1", "credits_charged": 0})
    scripted.script("GET", TASK, _task("queued"), _task("rendering"), _task("complete", FACES))

    result = _client(scripted).detect(png_file, confidence_score=0.7)

    asked = scripted.requests("POST", UPLOADS)[0]
    assert asked.json() == {"items": [{"extension": "png", "type": "image"}]}
    assert asked.headers["authorization"] == "Bearer mh-key"
    put = scripted.requests("PUT", "/storage/abc.png")[0]
    assert put.body == png_bytes and put.query == {"sig": ["1"]}
    assert "authorization" not in put.headers  # the key never goes to third-party storage
    assert scripted.requests("POST", CREATE)[0].json() == {
        "assets": {"target_file_path": "api-assets/id/abc.png"},
        "confidence_score": 0.7,
    }
    assert len(scripted.requests("GET", TASK)) == 3

    faces = result.to_frame()
    assert faces["crop_url"].tolist() == [face["url"] for face in FACES]
    assert faces[["x", "y", "w", "h", "score", "nose_x"]].isna().all().all()
    assert result.meta["task_id"] == "task-1" and result.meta["service"] == "Magic Hour"


def test_url_and_uploaded_paths_skip_the_upload(scripted):
    scripted.script("POST", CREATE, {"id": "task-1", "credits_charged": 0})
    scripted.script("GET", TASK, _task("complete", FACES))
    _client(scripted).detect("https://example.com/v.mp4")
    _client(scripted).detect("api-assets/id/abc.png")
    sent = [r.json()["assets"]["target_file_path"] for r in scripted.requests("POST", CREATE)]
    assert sent == ["https://example.com/v.mp4", "api-assets/id/abc.png"]
    assert not scripted.requests("POST", UPLOADS)


def test_array_is_uploaded_as_png(scripted):
    scripted.script(
        "POST",
        UPLOADS,
        {"items": [{"upload_url": "/storage/a.png", "file_path": "api-assets/a.png", "expires_at": "later"}]},
    )
    scripted.script("PUT", "/storage/a.png", Reply(""))
    scripted.script("POST", CREATE, {"id": "task-1", "credits_charged": 0})
    scripted.script("GET", TASK, _task("complete"))
    result = _client(scripted).detect(np.zeros((6, 6, 3), np.uint8))
    assert scripted.requests("PUT", "/storage/a.png")[0].body.startswith(b"\x89PNG")  # relative upload URL works
    assert len(result) == 0


def test_failed_task_raises_generation_failed(scripted):
    scripted.script("POST", CREATE, {"id": "task-1", "credits_charged": 0})
    scripted.script("GET", TASK, _task("queued"), _task("error"))
    with pytest.raises(GenerationFailedError, match="task-1.*'error'"):
        _client(scripted).detect("https://example.com/p.jpg")


def test_task_that_never_finishes_times_out_quickly(scripted):
    scripted.script("POST", CREATE, {"id": "task-1", "credits_charged": 0})
    scripted.script("GET", TASK, _task("rendering"))
    started = time.monotonic()
    with pytest.raises(ClientTimeoutError, match="max_wait=0.5"):
        _client(scripted, max_wait=0.5).detect("https://example.com/p.jpg")
    assert time.monotonic() - started < 2
    assert len(scripted.requests("GET", TASK)) > 2  # it did poll, with growing waits


@pytest.mark.parametrize(
    ("status", "error"), [(402, InsufficientCreditsError), (422, ValidationError), (400, ValidationError)]
)
def test_create_errors_are_typed(scripted, status, error):
    scripted.script("POST", CREATE, Reply({"message": "nope"}, status))
    with pytest.raises(error, match="nope"):
        _client(scripted).detect("https://example.com/p.jpg")


@pytest.mark.parametrize("reply", [Reply("{not json"), Reply({"credits_charged": 0})])
def test_malformed_answers(scripted, reply):
    scripted.script("POST", CREATE, reply)
    with pytest.raises(MalformedResponseError):
        _client(scripted).detect("https://example.com/p.jpg")
