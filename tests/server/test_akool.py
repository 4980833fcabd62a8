"""Akool ``detect_faces`` over real HTTP with the real model: every answer validates against seed 004."""

from __future__ import annotations

import base64

import pytest
import requests

from facekit.schema import validate_akool

ROUTES = ["/interface/detect-api/detect_faces", "/detect_faces"]


def _post(server: str, body: dict, route: str = "/detect_faces") -> requests.Response:
    response = requests.post(server + route, json=body, timeout=60)
    assert response.headers["content-type"] == "application/json"
    validate_akool(response.json())
    return response


@pytest.mark.parametrize("route", ROUTES)
def test_base64_image(server, newton_path, route):
    encoded = base64.b64encode(newton_path.read_bytes()).decode()
    answer = _post(server, {"img": encoded}, route).json()
    assert answer["error_code"] == 0 and answer["error_msg"] == "SUCCESS"
    frame = answer["faces_obj"]["0"]
    assert len(frame["region"]) == 1 and frame["frame_time"] is None and frame["face_urls"] is None


def test_data_uri_and_single_face(server, solvay_path):
    uri = "data:image/jpeg;base64," + base64.b64encode(solvay_path.read_bytes()).decode()
    many = _post(server, {"img": uri}).json()["faces_obj"]["0"]["region"]
    one = _post(server, {"img": uri, "single_face": True}).json()["faces_obj"]["0"]["region"]
    assert len(many) > 20 and len(one) == 1
    assert one[0] in many  # the largest by unrounded area


def test_url_wins_over_img_and_crops_are_served(server, media_host):
    answer = _post(server, {"url": media_host + "/solvay.jpg", "img": "not base64 at all!", "return_face_url": True})
    frame = answer.json()["faces_obj"]["0"]
    assert len(frame["face_urls"]) == len(frame["region"]) > 20
    assert len(set(frame["face_urls"])) == len(frame["face_urls"])
    assert all(url.startswith(server + "/files/api-assets/") for url in frame["face_urls"])
    crop = requests.get(frame["face_urls"][0], timeout=10)
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"
    assert crop.content[:3] == b"\xff\xd8\xff"


def test_video_url(server, media_host):
    answer = _post(server, {"url": media_host + "/pan.mp4", "num_frames": 3}).json()
    assert answer["error_code"] == 0
    assert len(answer["faces_obj"]) == 3
    times = [frame["frame_time"] for frame in answer["faces_obj"].values()]
    assert times == sorted(times) and all(t is not None for t in times)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Either 'url' or 'img' parameter must be provided"),
        ({"url": "", "img": ""}, "Either 'url' or 'img' parameter must be provided"),
        ({"url": "ftp://example.com/a.jpg"}, "Invalid URL format"),
        ({"url": "not a url"}, "Invalid URL format"),
    ],
)
def test_input_errors(server, body, message):
    response = _post(server, body)
    assert response.status_code == 400
    assert response.json() == {"error_code": 1, "error_msg": message, "faces_obj": {}}


def test_download_failures(server, media_host):
    for url in (media_host + "/missing.jpg", media_host + "/page.html", "http://127.0.0.1:9/x.jpg"):
        response = _post(server, {"url": url})
        assert response.status_code == 400
        assert response.json()["error_msg"] == "Failed to download media from URL"


@pytest.mark.parametrize("img", ["!!!! not base64 !!!!", base64.b64encode(b"plain text, no picture" * 4).decode()])
def test_bad_base64_or_not_a_picture(server, img):
    response = _post(server, {"img": img})
    assert response.status_code == 400 and response.json()["error_code"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"img": "x" * 40, "num_frames": 0},
        {"img": "x" * 40, "num_frames": 101},
        {"img": "x" * 40, "single_face": "maybe"},
    ],
)
def test_invalid_options(server, body):
    response = _post(server, body)
    assert response.status_code == 400 and response.json()["error_code"] == 1


def test_body_not_json(server):
    response = requests.post(
        server + "/detect_faces", data=b"\x00garbage", timeout=10, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    validate_akool(response.json())
