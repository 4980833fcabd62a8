"""The three clients against facekit's own server (in-process, real detector): the contracts
round-trip, and the hosted answers agree with a local ``fk.detect``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from scripted import Reply, ScriptedServer

import facekit as fk
from facekit.clients import Akool, AuthenticationError, Crun, MagicHour
from facekit.comparison import compare

server = pytest.importorskip("facekit.server")
pytestmark = pytest.mark.slow
KEY = "client-test-key"


@pytest.fixture(scope="module")
def facekit_url(tmp_path_factory, model_path) -> Iterator[str]:
    settings = server.Settings(
        data_dir=tmp_path_factory.mktemp("server"), port=0, api_keys=(KEY,), allow_private_urls=True
    )
    base_url, stop = server.serve_in_thread(settings)
    yield base_url
    stop()


@pytest.fixture(scope="module")
def local(solvay_path) -> fk.Result:
    return fk.detect(solvay_path)


@pytest.fixture(scope="module")
def solvay_url(solvay_path) -> Iterator[str]:
    """The Solvay picture on a plain local HTTP host, for CRUN, which only takes URLs."""
    with ScriptedServer() as host:
        host.script("GET", "/solvay.jpg", Reply(solvay_path.read_bytes()))
        yield f"{host.url}/solvay.jpg"


def test_akool_answers_agree_with_local_detection(facekit_url, solvay_path, local):
    hosted = Akool(KEY, facekit_url).detect(solvay_path)
    report = compare(local, hosted)
    assert report.agreement == 1.0, report.summary()
    assert report.matches["iou"].min() > 0.95  # integer pixels in Akool's answer
    assert hosted.meta["service"] == "Akool"


def test_akool_by_url_with_crops(facekit_url, solvay_url, local):
    hosted = Akool(KEY, facekit_url).detect(solvay_url, return_face_url=True)
    faces = hosted.to_frame()
    assert len(faces) == len(local) and faces["crop_url"].notna().all()
    assert compare(local, hosted).agreement == 1.0


def test_magic_hour_uploads_the_file_and_gets_one_crop_per_face(facekit_url, solvay_path, local):
    hosted = MagicHour(KEY, facekit_url, poll_interval=0.1).detect(solvay_path, confidence_score=0.5)
    faces = hosted.to_frame()
    assert len(faces) == len(local)
    assert faces[["x", "y", "w", "h"]].isna().all().all()
    crop = requests.get(faces["crop_url"].iloc[0], timeout=10)
    assert crop.status_code == 200 and crop.content[:3] == b"\xff\xd8\xff"


def test_crun_gets_one_crop_per_face_from_a_url(facekit_url, solvay_url, local):
    hosted = Crun(KEY, facekit_url, poll_interval=0.1).detect(solvay_url)
    assert len(hosted) == len(local) and hosted.meta["detect_id"]


@pytest.mark.parametrize("client", [Akool, MagicHour, Crun])
def test_a_wrong_key_is_an_authentication_error(facekit_url, solvay_url, client):
    with pytest.raises(AuthenticationError):
        client("wrong", facekit_url).detect(solvay_url)
