"""Graceful shutdown (issue 15, items 3 and 7): SIGTERM re-queues running tasks without spending their
retry budget, a request cut short answers 503 in its contract's shape, and a client that hangs up
mid-upload costs one log line, never a traceback."""

from __future__ import annotations

import base64
import logging
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

import facekit as fk
from facekit.server.tasks import MAX_ATTEMPTS, TaskStore

from .conftest import free_port, start_serve

JOB = "/api/v1/client/job"


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """A 20 s, 10 fps real H.264 clip: 100 sampled frames keep a detection busy for seconds."""
    target = tmp_path_factory.mktemp("long-clip") / "long.mp4"
    fk.data.pan_video(target, seconds=20.0, fps=10.0)
    return target


def _stop(process) -> str:
    """SIGTERM, wait, and the server's log."""
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    return process.log_path.read_text()  # type: ignore[attr-defined]


def _serve(data_dir: Path, port: int, log: Path, timeout: str):
    handle = log.open("a")
    process = start_serve(data_dir, port, env={"FACEKIT_SHUTDOWN_TIMEOUT": timeout}, stderr=handle)
    process.log_path = log  # type: ignore[attr-defined]
    return process


@pytest.mark.slow
def test_sigterm_requeues_without_spending_retries(tmp_path, media_host):
    port, log = free_port(), tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    process = _serve(tmp_path, port, log, "0")  # no drain: whatever runs at SIGTERM is handed back
    ids = [_create_video(base, media_host + "/pan.mp4") for _ in range(2)]
    for _ in range(MAX_ATTEMPTS):  # as many graceful restarts as the crash budget allows
        deadline = time.monotonic() + 30
        while not _any_processing(base, ids):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        _stop(process)
        store = TaskStore(tmp_path / "tasks.sqlite3", ttl=3600)
        tasks = [store.get(i) for i in ids]
        store.close()
        assert not any(t.status == "running" for t in tasks)  # nothing left looking like a crash
        assert all(t.attempts == 0 for t in tasks if t.status == "queued")
        process = _serve(tmp_path, port, log, "0")
    try:
        deadline = time.monotonic() + 90
        while (states := [_status(base, i) for i in ids]).count("succeeded") < len(ids):
            assert "failed" not in states and time.monotonic() < deadline, states
            time.sleep(0.2)
    finally:
        text = _stop(process)
    assert "queued again: the server stopped" in text and "Traceback" not in text


def _create_video(base: str, url: str) -> str:
    answer = requests.post(f"{base}{JOB}/detect-face-video", json={"video_url": url}, timeout=10)
    return answer.json()["data"]["detect_task_id"]


def _status(base: str, task_id: str) -> str:
    answer = requests.get(f"{base}{JOB}/detect-face-result", params={"detect_task_id": task_id}, timeout=10)
    return answer.json()["data"]["status"]


def _any_processing(base: str, ids: list[str]) -> bool:
    return any(_status(base, i) == "processing" for i in ids)


@pytest.mark.slow
def test_request_cut_short_by_shutdown_answers_in_contract(tmp_path, long_clip):
    port, log = free_port(), tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    process = _serve(tmp_path, port, log, "1")
    body = {"img": base64.b64encode(long_clip.read_bytes()).decode(), "num_frames": 100}
    answers: list[requests.Response] = []
    caller = threading.Thread(
        target=lambda: answers.append(requests.post(base + "/detect_faces", json=body, timeout=120))
    )
    caller.start()
    time.sleep(1.0)  # the detection is under way
    text = _stop(process)
    caller.join(timeout=60)
    answer = answers[0]
    assert answer.status_code == 503 and answer.headers["content-type"] == "application/json"
    assert answer.json() == {"error_code": 1, "error_msg": "the server is restarting; retry shortly", "faces_obj": {}}
    assert int(answer.headers["retry-after"]) > 0
    assert "Traceback" not in text and "cut short by the shutdown" in text


def test_client_disconnect_on_put_is_one_clean_line(server, caplog):
    item = requests.post(
        f"{server}/v1/files/upload-urls", json={"items": [{"extension": "jpg", "type": "image"}]}, timeout=10
    ).json()["items"][0]
    url = item["upload_url"].removeprefix(server)
    host, port = server.removeprefix("http://").split(":")
    with caplog.at_level(logging.INFO):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"PUT {url} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100000\r\n\r\n".encode() + b"x" * 1000)
            time.sleep(0.3)
        deadline = time.monotonic() + 10
        while "disconnected" not in caplog.text:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert [r.levelno for r in caplog.records if "disconnected" in r.getMessage()] == [logging.INFO]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert requests.get(f"{server}/files/{item['file_path']}", timeout=10).status_code == 404  # nothing half-written
    retry = requests.put(item["upload_url"], data=b"\xff\xd8\xff" + b"0" * 100, timeout=10)
    assert retry.status_code == 200  # the URL was not spent by the broken upload
