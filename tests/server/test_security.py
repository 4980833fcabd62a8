"""API keys, rate limits, body limits, safe URL fetching and path traversal, in each contract's error shape."""

from __future__ import annotations

import base64
import logging

import pytest
import requests

from facekit.errors import InvalidInputError
from facekit.server import Settings, check_bind
from facekit.server import fetch as fetch_module
from facekit.server.security import RateLimiter, key_matches, request_key

KEY = "test-key-0123456789"
AKOOL = "/interface/detect-api/detect_faces"
MH = "/v1/face-detection"
CRUN = "/api/v1/client/job/detect-face-image"


@pytest.fixture(scope="module")
def keyed(start_server) -> str:
    return start_server(api_keys=(KEY, "second-key"), rate_per_second=1000.0, rate_burst=1000)


@pytest.mark.parametrize(
    ("path", "shape"),
    [(AKOOL, {"error_code", "error_msg", "faces_obj"}), (MH, {"message"}), (CRUN, {"code", "message", "data"})],
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-api-key": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer wrong", "x-api-key": KEY},
    ],
)
def test_401_in_each_contract_shape(keyed, path, shape, headers):
    response = requests.post(keyed + path, json={}, headers=headers, timeout=10)
    assert response.status_code == 401 and response.headers["content-type"] == "application/json"
    assert set(response.json()) == shape


@pytest.mark.parametrize(
    "headers",
    [
        {"x-api-key": KEY},
        {"Authorization": f"Bearer {KEY}"},
        {"Authorization": "Bearer second-key", "x-api-key": "wrong"},
    ],
)
def test_valid_keys_pass(keyed, newton_path, headers):
    body = {"img": base64.b64encode(newton_path.read_bytes()).decode()}
    response = requests.post(keyed + AKOOL, json=body, headers=headers, timeout=30)
    assert response.status_code == 200 and response.json()["error_code"] == 0


def test_key_helpers():
    assert request_key({"authorization": "Bearer a", "x-api-key": "b"}) == "a"
    assert request_key({"x-api-key": "b"}) == "b" and request_key({}) is None
    assert key_matches("a", ("x", "a")) and not key_matches("a", ()) and not key_matches("ab", ("a",))


def test_keys_never_logged(start_server, caplog):
    with caplog.at_level(logging.DEBUG):
        server = start_server(api_keys=("sekrit-key-value",))
        requests.post(server + AKOOL, json={}, headers={"x-api-key": "sekrit-key-value"}, timeout=10)
        requests.post(server + AKOOL, json={}, headers={"x-api-key": "wrong-key-value"}, timeout=10)
    assert "sekrit-key-value" not in caplog.text and "wrong-key-value" not in caplog.text


def test_unauthenticated_only_on_loopback(tmp_path, caplog):
    with pytest.raises(InvalidInputError, match="without API keys"):
        check_bind(Settings(data_dir=tmp_path, host="0.0.0.0"))
    check_bind(Settings(data_dir=tmp_path, host="0.0.0.0", api_keys=("k",)))
    check_bind(Settings(data_dir=tmp_path, host="127.0.0.1"))


def test_429_with_retry_after(start_server):
    server = start_server(rate_per_second=0.5, rate_burst=3)
    answers = [requests.post(server + MH, json={}, timeout=10) for _ in range(5)]
    assert [a.status_code for a in answers[:3]] == [422, 422, 422]
    limited = answers[-1]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json() == {"message": "rate limit exceeded"}
    crun = requests.post(server + CRUN, json={}, timeout=10)
    assert crun.status_code == 429 and crun.json()["code"] == 429


def test_rate_limiter_refills():
    limiter = RateLimiter(rate=1000.0, burst=1)
    assert limiter.take("a") == 0.0 and limiter.take("b") == 0.0
    assert 0 < limiter.take("a") <= 0.001 + 1e-6


def test_oversized_body_413(start_server):
    from facekit.limits import Limits

    server = start_server(limits=Limits(max_bytes=10_000))
    big = {"img": "A" * 200_000}
    akool = requests.post(server + AKOOL, json=big, timeout=10)
    assert akool.status_code == 413 and akool.json()["error_code"] == 1
    mh = requests.post(server + MH, json={"assets": {"target_file_path": "x" * 200_000}}, timeout=10)
    assert mh.status_code == 413 and set(mh.json()) == {"message"}
    chunked = requests.post(
        server + AKOOL,
        data=iter([b'{"img": "', b"A" * 200_000, b'"}']),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert chunked.status_code == 413


def test_decoded_media_over_limit_413(start_server, solvay_path):
    from facekit.limits import Limits

    server = start_server(limits=Limits(max_bytes=4_000_000, max_pixels=1_000_000))
    body = {"img": base64.b64encode(solvay_path.read_bytes()).decode()}
    response = requests.post(server + AKOOL, json=body, timeout=30)
    assert response.status_code == 413 and response.json()["error_code"] == 1


def test_private_addresses_refused(start_server, media_host):
    strict = start_server(allow_private_urls=False)
    for url in (
        media_host + "/newton.jpg",
        "http://localhost:9/x.jpg",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/x.jpg",
    ):
        response = requests.post(strict + AKOOL, json={"url": url}, timeout=10)
        assert response.status_code == 400
        assert response.json()["error_msg"] == "Failed to download media from URL"
    ipv6 = requests.post(strict + AKOOL, json={"url": "http://[::1]:9/x.jpg"}, timeout=10)  # no IPv6 literals at all
    assert ipv6.status_code == 400 and ipv6.json()["error_msg"] == "Invalid URL format"


def test_redirect_to_metadata_refused_even_when_private_allowed(server, media_host):
    url = f"{media_host}/redirect?to=http://169.254.169.254/latest/meta-data/"
    response = requests.post(server + AKOOL, json={"url": url}, timeout=10)
    assert response.status_code == 400 and response.json()["error_msg"] == "Failed to download media from URL"


def test_every_redirect_hop_checked(media_host, monkeypatch):
    from facekit.limits import Limits

    limits = Limits()
    allowed = {"127.0.0.1"}
    monkeypatch.setattr(fetch_module, "allowed_address", lambda address, private: address in allowed)
    assert fetch_module.fetch(f"{media_host}/redirect?to={media_host}/newton.jpg", limits)[:4] == b"\x89PNG"
    with pytest.raises(fetch_module.BlockedAddressError):
        fetch_module.fetch(
            f"{media_host}/redirect?to=http://127.0.0.2:{media_host.rsplit(':', 1)[1]}/newton.jpg", limits
        )
    with pytest.raises(fetch_module.DownloadError, match="redirects"):
        fetch_module.fetch(
            f"{media_host}/redirect?to={media_host}/redirect?to={media_host}/newton.jpg", limits, max_redirects=1
        )


def test_address_policy():
    assert not fetch_module.allowed_address("127.0.0.1", False)
    assert not fetch_module.allowed_address("192.168.1.1", False)
    assert not fetch_module.allowed_address("fe80::1", False)
    assert not fetch_module.allowed_address("169.254.169.254", True)
    assert fetch_module.allowed_address("127.0.0.1", True) and fetch_module.allowed_address("8.8.8.8", False)


@pytest.mark.parametrize(
    "path",
    [
        "/files/api-assets/..%2F..%2Ftasks.sqlite3",
        "/files/..%2Fsecret",
        "/files/api-assets/x/..%2F..%2F..%2Fsecret",
        "/files/%2Fetc%2Fpasswd",
        "/files/api-assets/.hidden/x.jpg",
    ],
)
def test_file_traversal_refused(server, path):
    response = requests.get(server + path, timeout=10)
    assert response.status_code in (400, 404)
    assert b"SQLite" not in response.content and b"root:" not in response.content


def test_unknown_file_404(server):
    assert requests.get(server + "/files/api-assets/abc/abc.jpg", timeout=10).status_code == 404


def test_polls_and_upload_urls_do_not_spend_the_write_bucket(start_server):
    server = start_server(rate_per_second=0.1, rate_burst=2, read_rate_per_second=0.1, read_burst=30)
    assert [requests.post(server + MH, json={}, timeout=10).status_code for _ in range(3)] == [422, 422, 429]
    polls = [requests.get(f"{server}{MH}/no-such-task", timeout=10).status_code for _ in range(20)]
    assert polls == [404] * 20  # the Magic Hour SDK polls every 0.5 s: reads have their own bucket
    upload = requests.post(
        f"{server}/v1/files/upload-urls", json={"items": [{"extension": "jpg", "type": "image"}]}, timeout=10
    )
    assert upload.status_code == 200
    more = [requests.get(f"{server}{MH}/no-such-task", timeout=10).status_code for _ in range(12)]
    assert more[-1] == 429 and more.count(404) == 9  # 30 reads, then the read limit applies too
