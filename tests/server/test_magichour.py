"""Magic Hour face detection: the unmodified magic-hour SDK, and the raw upload-and-poll flow."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

magic_hour = pytest.importorskip("magic_hour")


@pytest.fixture()
def client(server):
    return magic_hour.Client(token="any-token", base_url=server)


def _wait(server: str, task_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{server}/v1/face-detection/{task_id}", timeout=10)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        body = response.json()
        if body["status"] in ("complete", "error") or time.monotonic() > deadline:
            return body
        assert body["status"] in ("queued", "rendering") and body["faces"] == []
        time.sleep(0.1)


def test_sdk_generate_uploads_polls_and_downloads(client, solvay_path, tmp_path, monkeypatch):
    monkeypatch.setenv("MAGIC_HOUR_POLL_INTERVAL", "0.1")
    result = client.v1.face_detection.generate(
        assets={"target_file_path": str(solvay_path)}, confidence_score=0.5, download_directory=str(tmp_path)
    )
    assert result.status == "complete" and result.credits_charged == 0
    assert len(result.faces) > 20
    names = [Path(face.path).name for face in result.faces]
    assert len(set(names)) == len(names)
    assert len(result.downloaded_paths) == len(result.faces)
    assert all(Path(p).read_bytes()[:3] == b"\xff\xd8\xff" for p in result.downloaded_paths)


def test_sdk_create_and_get_with_url(client, server, media_host):
    created = client.v1.face_detection.create(
        assets={"target_file_path": media_host + "/newton.jpg"}, confidence_score=0.5
    )
    assert created.credits_charged == 0
    _wait(server, created.id)
    details = client.v1.face_detection.get(id=created.id)
    assert details.status == "complete" and len(details.faces) == 1
    face = details.faces[0]
    assert face.path.startswith("api-assets/") and face.url == f"{server}/files/{face.path}"
    assert requests.get(face.url, timeout=10).status_code == 200


def test_raw_upload_flow_and_video(server, clip_path):
    response = requests.post(
        f"{server}/v1/files/upload-urls", json={"items": [{"extension": "mp4", "type": "video"}]}, timeout=10
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    item = response.json()["items"][0]
    assert set(item) == {"upload_url", "file_path", "expires_at"}
    assert requests.put(item["upload_url"], data=clip_path.read_bytes(), timeout=10).status_code == 200
    created = requests.post(
        f"{server}/v1/face-detection", json={"assets": {"target_file_path": item["file_path"]}}, timeout=10
    ).json()
    body = _wait(server, created["id"])
    assert body["status"] == "complete" and body["error"] is None and body["credits_charged"] == 0
    assert len(body["faces"]) >= 5  # one crop per person tracked through the clip
    assert len({Path(face["path"]).name for face in body["faces"]}) == len(body["faces"])


def test_failed_task_is_error(server, media_host):
    created = requests.post(
        f"{server}/v1/face-detection", json={"assets": {"target_file_path": media_host + "/page.html"}}, timeout=10
    ).json()
    body = _wait(server, created["id"])
    assert body["status"] == "error" and body["faces"] == [] and body["error"]["message"]


@pytest.mark.parametrize(
    "target",
    [
        "api-assets/../../secret",
        "../tasks.sqlite3",
        "/etc/passwd",
        "api-assets/x/../../../etc/passwd",
        "ftp://example.com/a.png",
    ],
)
def test_bad_target_refused(server, target):
    response = requests.post(f"{server}/v1/face-detection", json={"assets": {"target_file_path": target}}, timeout=10)
    assert response.status_code == 422 and set(response.json()) == {"message"}


def test_missing_upload_and_unknown_task(server):
    missing = requests.post(
        f"{server}/v1/face-detection", json={"assets": {"target_file_path": "api-assets/abc/abc.png"}}, timeout=10
    )
    assert missing.status_code == 404 and "message" in missing.json()
    unknown = requests.get(f"{server}/v1/face-detection/no-such-task", timeout=10)
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/json"
    assert set(unknown.json()) == {"message"}


def test_upload_signature_checked(server):
    item = requests.post(
        f"{server}/v1/files/upload-urls", json={"items": [{"extension": "png", "type": "image"}]}, timeout=10
    ).json()["items"][0]
    forged = item["upload_url"].replace("signature=", "signature=0")
    assert requests.put(forged, data=b"x", timeout=10).status_code == 403
    other = item["upload_url"].replace(item["file_path"], "api-assets/other/other.png")
    assert requests.put(other, data=b"x", timeout=10).status_code == 403


def test_validation_errors(server):
    for body in ({}, {"assets": {}}, {"assets": {"target_file_path": "x"}, "confidence_score": 2}):
        response = requests.post(f"{server}/v1/face-detection", json=body, timeout=10)
        assert response.status_code == 422 and set(response.json()) == {"message"}


@pytest.mark.slow
@pytest.mark.parametrize("score", [0.0, 0.01, 0.04])
def test_low_confidence_scores_complete(server, media_host, score):
    # the SDK documents lower thresholds as "more faces": 0.0-0.04 must work, not end in an internal error
    created = requests.post(
        f"{server}/v1/face-detection",
        timeout=10,
        json={"assets": {"target_file_path": media_host + "/newton.jpg"}, "confidence_score": score},
    ).json()
    body = _wait(server, created["id"], timeout=120)
    assert body["status"] == "complete" and body["error"] is None and len(body["faces"]) >= 1
    crop = requests.get(body["faces"][-1]["url"], timeout=10)
    assert crop.status_code == 200 and crop.content[:3] == b"\xff\xd8\xff"
