"""Tenancy (issue 15, item 5): tasks and uploads belong to the key that created them, task ids to their
contract, and an upload URL works once."""

from __future__ import annotations

import time

import pytest
import requests

JOB = "/api/v1/client/job"
A = {"x-api-key": "tenant-a-key"}
B = {"Authorization": "Bearer tenant-b-key"}


@pytest.fixture(scope="module")
def shared(start_server) -> str:
    return start_server(api_keys=("tenant-a-key", "tenant-b-key"))


def _upload(server: str, headers: dict, data: bytes) -> dict:
    item = requests.post(
        f"{server}/v1/files/upload-urls",
        json={"items": [{"extension": "jpg", "type": "image"}]},
        headers=headers,
        timeout=10,
    ).json()["items"][0]
    assert requests.put(item["upload_url"], data=data, timeout=10).status_code == 200
    return item


def _magic_hour_done(server: str, task_id: str, headers: dict) -> dict:
    deadline = time.monotonic() + 60
    while (body := requests.get(f"{server}/v1/face-detection/{task_id}", headers=headers, timeout=10).json())[
        "status"
    ] not in ("complete", "error"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return body


def test_tasks_are_visible_to_their_owner_only(shared, media_host):
    crun_id = requests.post(
        f"{shared}{JOB}/detect-face-image", json={"image_url": media_host + "/newton.jpg"}, headers=A, timeout=10
    ).json()["data"]["detect_task_id"]
    mh_id = requests.post(
        f"{shared}/v1/face-detection",
        json={"assets": {"target_file_path": media_host + "/newton.jpg"}},
        headers=A,
        timeout=10,
    ).json()["id"]
    assert _magic_hour_done(shared, mh_id, A)["status"] == "complete"
    mine = requests.get(f"{shared}{JOB}/detect-face-result", params={"detect_task_id": crun_id}, headers=A, timeout=10)
    assert mine.status_code == 200
    theirs = requests.get(
        f"{shared}{JOB}/detect-face-result", params={"detect_task_id": crun_id}, headers=B, timeout=10
    )
    assert theirs.status_code == 404 and theirs.json() == {
        "code": 404,
        "message": "detect task not found",
        "data": None,
    }
    other = requests.get(f"{shared}/v1/face-detection/{mh_id}", headers=B, timeout=10)
    assert other.status_code == 404 and set(other.json()) == {"message"}


def test_ids_are_scoped_to_their_contract(shared, media_host):
    mh_id = requests.post(
        f"{shared}/v1/face-detection",
        json={"assets": {"target_file_path": media_host + "/newton.jpg"}},
        headers=A,
        timeout=10,
    ).json()["id"]
    crun_id = requests.post(
        f"{shared}{JOB}/detect-face-image", json={"image_url": media_host + "/newton.jpg"}, headers=A, timeout=10
    ).json()["data"]["detect_task_id"]
    assert requests.get(f"{shared}/v1/face-detection/{mh_id}", headers=A, timeout=10).status_code == 200
    crossed = requests.get(f"{shared}{JOB}/detect-face-result", params={"detect_task_id": mh_id}, headers=A, timeout=10)
    assert crossed.status_code == 404 and crossed.json()["code"] == 404
    assert requests.get(f"{shared}/v1/face-detection/{crun_id}", headers=A, timeout=10).status_code == 404


def test_upload_url_works_once_and_for_its_owner(shared, newton_path):
    item = _upload(shared, A, newton_path.read_bytes())
    replay = requests.put(item["upload_url"], data=b"overwritten", timeout=10)
    assert replay.status_code == 403 and "used" in replay.json()["detail"]
    body = {"assets": {"target_file_path": item["file_path"]}}
    stolen = requests.post(f"{shared}/v1/face-detection", json=body, headers=B, timeout=10)
    assert stolen.status_code == 404 and set(stolen.json()) == {"message"}
    created = requests.post(f"{shared}/v1/face-detection", json=body, headers=A, timeout=10)
    done = _magic_hour_done(shared, created.json()["id"], A)
    assert done["status"] == "complete" and len(done["faces"]) == 1  # the upload was not overwritten


def test_task_store_scopes_lookups(tmp_path):
    from facekit.server.tasks import TaskStore

    store = TaskStore(tmp_path / "tasks.sqlite3", ttl=60)
    task = store.create("crun", {"url": "http://example.com/a.jpg"}, {}, owner="alice")
    assert store.get(task.id, "crun", "alice") == task and store.get(task.id) == task
    assert store.get(task.id, "crun", "bob") is None and store.get(task.id, "magichour", "alice") is None
    store.close()
