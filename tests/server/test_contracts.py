"""Every input answered in its contract (issue 15, items 1, 4 and 8): SVG, strict types, media kind per route,
CRUN's ``hair_id``, 405 ``Allow``, and an OpenAPI document that says what the server does."""

from __future__ import annotations

import base64
import time

import pytest
import requests

from facekit.schema import validate_akool

from .conftest import SVG

AKOOL = "/detect_faces"
JOB = "/api/v1/client/job"
SVG64 = base64.b64encode(SVG).decode()


def _crun_outcome(server: str, route: str, body: dict) -> requests.Response:
    task_id = requests.post(f"{server}{JOB}/{route}", json=body, timeout=10).json()["data"]["detect_task_id"]
    deadline = time.monotonic() + 60
    while True:
        response = requests.get(f"{server}{JOB}/detect-face-result", params={"detect_task_id": task_id}, timeout=10)
        if response.json()["data"]["status"] in ("succeeded", "failed"):
            return response
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("img", [SVG64, "data:image/svg+xml;base64," + SVG64, "DATA:image/svg+xml;base64," + SVG64])
def test_svg_is_400_on_akool(server, img):
    response = requests.post(server + AKOOL, json={"img": img}, timeout=10)
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    validate_akool(response.json())
    assert "unsupported media" in response.json()["error_msg"]


def test_svg_url_is_400_on_akool_and_failed_on_crun(server, media_host):
    response = requests.post(server + AKOOL, json={"url": media_host + "/drawing.svg"}, timeout=10)
    assert response.status_code == 400 and response.json()["error_msg"] == "Failed to download media from URL"
    failed = _crun_outcome(server, "detect-face-image", {"image_url": media_host + "/drawing.svg"})
    assert failed.status_code == 501 and failed.json()["data"]["status"] == "failed"


def test_svg_upload_is_400_on_magic_hour(server):
    item = requests.post(
        f"{server}/v1/files/upload-urls", json={"items": [{"extension": "svg", "type": "image"}]}, timeout=10
    ).json()["items"][0]
    assert requests.put(item["upload_url"], data=SVG, timeout=10).status_code == 200
    response = requests.post(
        f"{server}/v1/face-detection", json={"assets": {"target_file_path": item["file_path"]}}, timeout=10
    )
    assert response.status_code == 400 and set(response.json()) == {"message"}
    assert "unsupported media" in response.json()["message"]


def test_data_prefix_is_case_insensitive(server, newton_path):
    encoded = base64.b64encode(newton_path.read_bytes()).decode()
    for prefix in ("data:image/png;base64,", "DATA:image/png;base64,", "Data:image/png;base64,"):
        answer = requests.post(server + AKOOL, json={"img": prefix + encoded}, timeout=30).json()
        assert answer["error_code"] == 0 and len(answer["faces_obj"]["0"]["region"]) == 1


@pytest.mark.parametrize(
    "extra",
    [
        {"num_frames": True},
        {"num_frames": 2.5},
        {"num_frames": "3"},
        {"return_face_url": "yes"},
        {"return_face_url": 1},
        {"single_face": "true"},
    ],
)
def test_akool_types_are_strict(server, newton_path, extra):
    body = {"img": base64.b64encode(newton_path.read_bytes()).decode(), **extra}
    response = requests.post(server + AKOOL, json=body, timeout=10)
    assert response.status_code == 400
    validate_akool(response.json())
    assert next(iter(extra)) in response.json()["error_msg"]


@pytest.mark.parametrize("score", [True, "0.5"])
def test_magic_hour_confidence_is_strict(server, score):
    body = {"assets": {"target_file_path": "https://example.com/a.jpg"}, "confidence_score": score}
    response = requests.post(f"{server}/v1/face-detection", json=body, timeout=10)
    assert response.status_code == 422 and "confidence_score" in response.json()["message"]


def test_crun_kind_per_route_and_hair_id(server, media_host):
    video_as_image = _crun_outcome(server, "detect-face-image", {"image_url": media_host + "/pan.mp4"})
    assert video_as_image.status_code == 501 and "video" in video_as_image.json()["data"]["error"]
    image_as_video = _crun_outcome(server, "detect-face-video", {"video_url": media_host + "/newton.jpg"})
    assert image_as_video.status_code == 501 and "image" in image_as_video.json()["data"]["error"]
    gif_as_image = _crun_outcome(server, "detect-face-image", {"image_url": media_host + "/animated.gif"})
    assert gif_as_image.status_code == 501 and "animated" in gif_as_image.json()["data"]["error"]
    gif = _crun_outcome(server, "detect-face-video", {"video_url": media_host + "/animated.gif"}).json()["data"]
    assert gif["status"] == "succeeded" and len(gif["result"]["faces"]) >= 1  # the "Video & GIF" route
    done = _crun_outcome(server, "detect-face-image", {"image_url": media_host + "/newton.jpg"}).json()["data"]
    assert done["status"] == "succeeded" and "hair_id" in done["result"] and done["result"]["hair_id"] is None


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", AKOOL, "POST"),
        ("GET", "/v1/face-detection", "POST"),
        ("PATCH", f"{JOB}/detect-face-result", "GET"),
        ("OPTIONS", "/files/api-assets/abc/abc.jpg", "GET, PUT"),
    ],  # two routes on one path: both named
)
def test_405_names_allowed_methods(server, method, path, allowed):
    response = requests.request(method, server + path, timeout=10)
    assert response.status_code == 405 and response.headers["allow"] == allowed
    assert response.headers["content-type"] == "application/json"


def test_openapi_says_what_the_server_does(start_server, server):
    keyed = requests.get(start_server(api_keys=("k1",)) + "/openapi.json", timeout=10).json()
    assert set(keyed["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert keyed["paths"]["/detect_faces"]["post"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "security" not in keyed["paths"]["/healthz"]["get"]
    open_doc = requests.get(server + "/openapi.json", timeout=10).json()
    assert "securitySchemes" not in open_doc.get("components", {})  # no keys: nothing is required
    for path in ("/detect_faces", "/interface/detect-api/detect_faces"):
        assert "422" not in open_doc["paths"][path]["post"]["responses"]  # Akool answers 400
    assert "400" in open_doc["paths"]["/v1/face-detection"]["post"]["responses"]
    assert "503" in open_doc["paths"][f"{JOB}/detect-face-result"]["get"]["responses"]
