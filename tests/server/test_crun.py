"""CRUN face detection: create image / video tasks, poll their results, in CRUN's envelope."""

from __future__ import annotations

import re
import time

import pytest
import requests

JOB = "/api/v1/client/job"
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def _create(server: str, route: str, body: dict) -> str:
    response = requests.post(f"{server}{JOB}/{route}", json=body, timeout=10)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    envelope = response.json()
    assert envelope["code"] == 200 and envelope["message"] == "success"
    return envelope["data"]["detect_task_id"]


def _poll(server: str, task_id: str, timeout: float = 60) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{server}{JOB}/detect-face-result", params={"detect_task_id": task_id}, timeout=10)
        data = response.json()["data"]
        if data["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return response
        assert data["status"] in ("starting", "processing") and data["result"] is None
        time.sleep(0.1)


def test_image_task(server, media_host):
    task_id = _create(server, "detect-face-image", {"image_url": media_host + "/solvay.jpg"})
    response = _poll(server, task_id)
    envelope = response.json()
    assert response.status_code == 200 and envelope["code"] == 200
    data = envelope["data"]
    assert data["detect_task_id"] == task_id and data["status"] == "succeeded" and data["error"] is None
    result = data["result"]
    assert result["status"] == "succeed" and result["type"] == "face_detect" and result["error"] is None
    assert result["id"] and result["id"] != task_id
    assert STAMP.match(result["started_at"]) and STAMP.match(result["finished_at"])
    assert [face["id"] for face in result["faces"]] == list(range(len(result["faces"]))) and len(result["faces"]) > 20
    link = result["faces"][0]["link"]
    assert requests.get(link, timeout=10).headers["content-type"] == "image/jpeg"


def test_video_task(server, media_host):
    task_id = _create(server, "detect-face-video", {"video_url": media_host + "/pan.mp4"})
    data = _poll(server, task_id).json()["data"]
    assert data["status"] == "succeeded" and len(data["result"]["faces"]) >= 5


def test_failed_task_answers_501(server, media_host):
    task_id = _create(server, "detect-face-image", {"image_url": media_host + "/missing.jpg"})
    response = _poll(server, task_id)
    envelope = response.json()
    assert response.status_code == 501 and envelope["code"] == 501
    assert envelope["data"]["status"] == "failed" and envelope["data"]["error"] and envelope["data"]["result"] is None


def test_unknown_task_404(server):
    response = requests.get(f"{server}{JOB}/detect-face-result", params={"detect_task_id": "nope"}, timeout=10)
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "detect task not found", "data": None}


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("detect-face-image", {}),
        ("detect-face-image", {"image_url": "nope"}),
        ("detect-face-video", {"image_url": "http://example.com/a.mp4"}),
    ],
)
def test_validation_422(server, route, body):
    response = requests.post(f"{server}{JOB}/{route}", json=body, timeout=10)
    assert response.status_code == 422
    envelope = response.json()
    assert envelope["code"] == 422 and envelope["data"] is None and envelope["message"]


def test_missing_query_422(server):
    response = requests.get(f"{server}{JOB}/detect-face-result", timeout=10)
    assert response.status_code == 422 and response.json()["code"] == 422
