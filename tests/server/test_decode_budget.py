"""The server's decode budget: a video whose samples need too many decoded frames is refused in each contract's
shape, before decoding, while a picture sent alongside it is answered."""

from __future__ import annotations

import base64
import threading

import pytest
import requests

import facekit as fk
from facekit.server.settings import SERVER_MAX_DECODED_FRAMES, Settings

from .conftest import _MediaHandler
from .test_crun import _poll
from .test_magichour import _wait

AKOOL = "/interface/detect-api/detect_faces"
FRAMES = 3_600
"""Frames of the single-keyframe video: 5 samples decode all of them, more than the server's default budget."""


@pytest.fixture(scope="module")
def long_video(tmp_path_factory, media_host) -> bytes:
    """120 s at 30 fps of 64 x 36 frames with one keyframe (300 KB), also served at ``media_host``/long.mp4."""
    target = tmp_path_factory.mktemp("long") / "long.mp4"
    data = fk.data.pan_video(
        target, seconds=120.0, fps=30.0, size=(64, 36), keyframe_interval=100_000
    ).path.read_bytes()
    _MediaHandler.files["/long.mp4"] = data
    return data


def test_server_default_budget_and_its_variable(monkeypatch):
    assert FRAMES > SERVER_MAX_DECODED_FRAMES < fk.Limits().max_decoded_frames
    monkeypatch.delenv("FACEKIT_MAX_DECODED_FRAMES", raising=False)
    assert Settings().limits.max_decoded_frames == SERVER_MAX_DECODED_FRAMES
    monkeypatch.setenv("FACEKIT_MAX_DECODED_FRAMES", "50000")
    assert Settings().limits.max_decoded_frames == 50_000


def test_akool_413_for_the_video_while_a_picture_is_answered(server, long_video, newton_path):
    answers: dict[str, requests.Response] = {}

    def post(name: str, body: dict) -> None:
        answers[name] = requests.post(server + AKOOL, json=body, timeout=60)

    video = threading.Thread(target=post, args=("video", {"img": base64.b64encode(long_video).decode()}))
    video.start()
    post("picture", {"img": base64.b64encode(newton_path.read_bytes()).decode()})
    video.join()
    refused = answers["video"]
    assert refused.status_code == 413 and set(refused.json()) == {"error_code", "error_msg", "faces_obj"}
    assert refused.json()["error_code"] == 1
    message = refused.json()["error_msg"]
    assert f"needs {FRAMES} frames decoded" in message and f"limit of {SERVER_MAX_DECODED_FRAMES}" in message
    assert "Limits.max_decoded_frames" in message
    picture = answers["picture"]
    assert picture.status_code == 200 and picture.json()["error_code"] == 0
    assert len(picture.json()["faces_obj"]["0"]["region"]) == 1


def test_magic_hour_upload_over_the_budget_413_when_created(server, long_video):
    urls = requests.post(
        f"{server}/v1/files/upload-urls", json={"items": [{"extension": "mp4", "type": "video"}]}, timeout=10
    )
    item = urls.json()["items"][0]
    assert requests.put(item["upload_url"], data=long_video, timeout=10).status_code == 200
    target = {"assets": {"target_file_path": item["file_path"]}}
    created = requests.post(f"{server}/v1/face-detection", json=target, timeout=10)
    assert created.status_code == 413 and set(created.json()) == {"message"}
    assert f"needs {FRAMES} frames decoded" in created.json()["message"]


def test_task_contracts_fail_the_video_naming_the_limit(server, long_video, media_host):
    url = media_host + "/long.mp4"
    created = requests.post(server + "/v1/face-detection", json={"assets": {"target_file_path": url}}, timeout=10)
    assert created.status_code == 200
    magic_hour = _wait(server, created.json()["id"])
    assert magic_hour["status"] == "error" and "Limits.max_decoded_frames" in magic_hour["error"]["message"]
    crun = requests.post(server + "/api/v1/client/job/detect-face-video", json={"video_url": url}, timeout=10)
    result = _poll(server, crun.json()["data"]["detect_task_id"])
    envelope = result.json()
    assert result.status_code == 501 and envelope["code"] == 501 and envelope["data"]["status"] == "failed"
    assert (
        f"needs {FRAMES} frames decoded" in envelope["message"] and "Limits.max_decoded_frames" in envelope["message"]
    )
