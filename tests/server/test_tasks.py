"""Tasks survive restarts (even SIGKILL) and expire: SQLite store, worker pool, sweeper."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import requests

from facekit.server.storage import Storage
from facekit.server.tasks import FAILED, MAX_ATTEMPTS, SUCCEEDED, TaskRunner, TaskStore

from .conftest import free_port, start_serve

JOB = "/api/v1/client/job"


def test_interrupted_tasks_rerun_or_fail(tmp_path):
    store = TaskStore(tmp_path / "tasks.sqlite3", ttl=60)
    queued = store.create("crun", {"url": "http://example.com/a.jpg"}, {})
    once = store.create("crun", {"url": "http://example.com/b.jpg"}, {})
    store.start(once.id)  # running when the server died, first attempt
    poison = store.create("crun", {"url": "http://example.com/c.jpg"}, {})
    for _ in range(MAX_ATTEMPTS):
        store.start(poison.id)
        store.requeue(poison.id)
    store.start(poison.id)
    store.close()

    store = TaskStore(tmp_path / "tasks.sqlite3", ttl=60)
    runner = TaskRunner(store, Storage(tmp_path, 60), lambda task: {"faces": [], "folder": None}, workers=2)
    runner.start()
    deadline = time.monotonic() + 10
    while any(store.get(t.id).status not in (SUCCEEDED, FAILED) for t in (queued, once, poison)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    runner.close()
    assert store.get(queued.id).status == SUCCEEDED and store.get(once.id).status == SUCCEEDED
    assert store.get(poison.id).status == FAILED and "restart" in store.get(poison.id).error


def test_results_and_crops_expire(start_server, media_host, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("expiring")
    server = start_server(data_dir=data_dir, result_ttl=1.0)
    task_id = requests.post(
        f"{server}{JOB}/detect-face-image", json={"image_url": media_host + "/newton.jpg"}, timeout=10
    ).json()["data"]["detect_task_id"]
    deadline = time.monotonic() + 30
    while (
        data := requests.get(
            f"{server}{JOB}/detect-face-result", params={"detect_task_id": task_id}, timeout=10
        ).json()["data"]
    )["status"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    link = data["result"]["faces"][0]["link"]
    assert requests.get(link, timeout=10).status_code == 200
    time.sleep(2.0)
    expired = requests.get(f"{server}{JOB}/detect-face-result", params={"detect_task_id": task_id}, timeout=10)
    assert expired.status_code == 404
    assert requests.get(link, timeout=10).status_code == 404
    assert not (data_dir / "files" / "api-assets" / task_id).exists()


def test_sigkill_mid_task_then_restart(tmp_path, media_host, model_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_serve(tmp_path, port)
    try:
        ids = [
            requests.post(
                f"{base}{JOB}/detect-face-video", json={"video_url": media_host + "/pan.mp4"}, timeout=10
            ).json()["data"]["detect_task_id"]
            for _ in range(6)
        ]
        deadline = time.monotonic() + 30
        while (
            requests.get(f"{base}{JOB}/detect-face-result", params={"detect_task_id": ids[0]}, timeout=10).json()[
                "data"
            ]["status"]
            == "starting"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    statuses = _statuses_on_disk(tmp_path, ids)
    assert any(status in ("queued", "running") for status in statuses.values())  # killed mid-way

    process = start_serve(tmp_path, port)
    try:
        deadline = time.monotonic() + 90
        while True:
            answers = [
                requests.get(f"{base}{JOB}/detect-face-result", params={"detect_task_id": i}, timeout=10) for i in ids
            ]
            states = [a.json()["data"]["status"] for a in answers]
            if all(s in ("succeeded", "failed") for s in states):
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.2)
        assert states.count("succeeded") >= len(ids) - 1  # at most the interrupted one may fail
    finally:
        process.terminate()
        process.wait(timeout=20)


def _statuses_on_disk(data_dir: Path, ids: list[str]) -> dict[str, str]:
    store = TaskStore(data_dir / "tasks.sqlite3", ttl=3600)
    try:
        return {i: store.get(i).status for i in ids}
    finally:
        store.close()
