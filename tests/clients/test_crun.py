"""fk.clients.Crun against a scripted server: public URLs only, the envelope codes, polling."""

from __future__ import annotations

import pytest
from scripted import Reply

import facekit as fk
from facekit.clients import (
    AuthenticationError,
    ClientError,
    Crun,
    FeatureDisabledError,
    GenerationFailedError,
    InsufficientCreditsError,
    MalformedResponseError,
    NotFoundError,
    PublicUrlRequiredError,
    RateLimitedError,
    ServiceUnavailableError,
    ValidationError,
)

IMAGE, VIDEO = "/api/v1/client/job/detect-face-image", "/api/v1/client/job/detect-face-video"
RESULT = "/api/v1/client/job/detect-face-result"
CREATED = {"code": 200, "message": "success", "data": {"detect_task_id": "dt-1"}}


def _polled(status: str, faces: list | None = None, error: str | None = None) -> dict:
    result = (
        None
        if status != "succeeded"
        else {"id": "detect-9", "status": "succeed", "type": "face_detect", "faces": faces or [], "error": None}
    )
    return {
        "code": 200,
        "message": "success",
        "data": {"detect_task_id": "dt-1", "status": status, "error": error, "result": result},
    }


def _client(server, **settings) -> Crun:
    return Crun(api_key="c-key", base_url=server.url, poll_interval=0.01, **settings)


@pytest.mark.parametrize("source", ["picture.png", b"\x89PNG....", "data:image/png;base64,iVBORw0KGgo="])
def test_local_media_needs_a_public_url(scripted, source):
    with pytest.raises(PublicUrlRequiredError, match="public http\\(s\\) URL") as caught:
        _client(scripted).detect(source)
    assert isinstance(caught.value, fk.InvalidInputError)
    assert not scripted.seen


def test_image_task_is_created_polled_and_read(scripted):
    scripted.script("POST", IMAGE, CREATED)
    faces = [{"id": 1, "link": "https://cdn/1.jpg"}, {"id": 0, "link": "https://cdn/0.jpg"}]
    scripted.script("GET", RESULT, _polled("starting"), _polled("processing"), _polled("succeeded", faces))
    result = _client(scripted).detect("https://example.com/group.png")
    created = scripted.requests("POST", IMAGE)[0]
    assert created.json() == {"image_url": "https://example.com/group.png"}
    assert created.headers["x-api-key"] == "c-key"
    polls = scripted.requests("GET", RESULT)
    assert len(polls) == 3 and polls[0].query == {"detect_task_id": ["dt-1"]}
    assert result.to_frame()["crop_url"].tolist() == ["https://cdn/0.jpg", "https://cdn/1.jpg"]
    assert result.meta["detect_id"] == "detect-9"


def test_video_urls_use_the_video_endpoint(scripted):
    scripted.script("POST", VIDEO, CREATED)
    scripted.script("GET", RESULT, _polled("succeeded"))
    result = _client(scripted).detect("https://example.com/clip.mp4")
    assert scripted.requests("POST", VIDEO)[0].json() == {"video_url": "https://example.com/clip.mp4"}
    assert result.meta["media"] == "video"


# Seeds 002/003: 401, 402, 404, 422, 429, 455, 500, 501, 505; CRUN sends them in the envelope.
DOCUMENTED = [
    (401, AuthenticationError),
    (402, InsufficientCreditsError),
    (404, NotFoundError),
    (422, ValidationError),
    (429, RateLimitedError),
    (455, ServiceUnavailableError),
    (500, ServiceUnavailableError),
    (501, GenerationFailedError),
    (505, FeatureDisabledError),
]


@pytest.mark.parametrize(("code", "error"), DOCUMENTED)
@pytest.mark.parametrize("where", ["envelope", "http status"])
def test_every_documented_code_is_typed(scripted, code, error, where):
    body = {"code": code, "message": f"code {code} here", "data": None}
    scripted.script(
        "POST", IMAGE, Reply(body, status=200 if where == "envelope" else code, headers={"Retry-After": "0"})
    )
    with pytest.raises(error, match=f"code {code} here") as caught:
        _client(scripted, retries=1).detect("https://example.com/p.png")
    assert type(caught.value) is error and caught.value.status == code
    retried = error in (RateLimitedError, ServiceUnavailableError)
    assert len(scripted.requests("POST", IMAGE)) == (2 if retried else 1)


def test_maintenance_455_then_success_is_retried(scripted):
    scripted.script("POST", IMAGE, {"code": 455, "message": "maintenance", "data": None}, CREATED)
    scripted.script("GET", RESULT, _polled("succeeded"))
    assert len(_client(scripted).detect("https://example.com/p.png")) == 0
    assert len(scripted.requests("POST", IMAGE)) == 2


def test_failed_task_raises_generation_failed_with_the_reason(scripted):
    scripted.script("POST", IMAGE, CREATED)
    scripted.script("GET", RESULT, _polled("processing"), _polled("failed", error="no face found"))
    with pytest.raises(GenerationFailedError, match="no face found"):
        _client(scripted).detect("https://example.com/p.png")


@pytest.mark.parametrize("reply", [Reply("]]"), Reply({"code": 200, "data": {}}), Reply({"data": {}})])
def test_malformed_answers(scripted, reply):
    scripted.script("POST", IMAGE, reply)
    with pytest.raises(MalformedResponseError):
        _client(scripted).detect("https://example.com/p.png")


def test_unknown_codes_are_still_client_errors(scripted):
    scripted.script("POST", IMAGE, {"code": 418, "message": "teapot", "data": None})
    with pytest.raises(ClientError, match="teapot"):
        _client(scripted).detect("https://example.com/p.png")
