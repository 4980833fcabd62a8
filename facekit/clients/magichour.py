"""Magic Hour face detection (seeds 000/001): upload, create a task, poll it, read the face crops."""

from __future__ import annotations

from typing import Any

from ..media.sources import SourceLike
from ..result import Result
from .base import HostedClient, crop_result, media_of_url, public_url
from .errors import GenerationFailedError
from .http import Deadline, reading

__all__ = ["MagicHour"]

_DONE = ("complete", "error")  # the terminal task statuses; "queued" and "rendering" are not


class MagicHour(HostedClient):
    """Magic Hour's ``/v1/face-detection`` API, or any server with its contract (``facekit serve``).

    A URL (or an ``api-assets/...`` path already uploaded) is passed as it is; local media goes
    through the upload-URL flow (``POST /v1/files/upload-urls``, then ``PUT`` of the raw bytes).
    The answer is a list of face crops, so the Result has one row per face with ``crop_url`` and
    no box, landmarks or score.
    """

    service = "Magic Hour"
    default_base_url = "https://api.magichour.ai"
    api_key_env = "MAGIC_HOUR_API_KEY"

    @staticmethod
    def auth_headers(api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def detect(self, source: SourceLike, *, confidence_score: float | None = None) -> Result:
        """Faces in an image or video; ``confidence_score`` is the service's threshold (its default when None)."""
        deadline = self.deadline()
        target, media, description = self._target(source, deadline)
        body: dict[str, Any] = {"assets": {"target_file_path": target}}
        if confidence_score is not None:
            body["confidence_score"] = confidence_score
        created = self._http.request("POST", "/v1/face-detection", deadline, json=body)
        with reading(self.service, created):
            task_id = str(created["id"])
        task = self._http.poll(
            lambda: self._http.request("GET", f"/v1/face-detection/{task_id}", deadline),
            lambda answer: isinstance(answer, dict) and answer.get("status") in _DONE,
            deadline,
            self.poll_interval,
            f"face detection task {task_id}",
        )
        if task["status"] != "complete":
            raise GenerationFailedError(
                f"{self.service}: face detection task {task_id} ended with status {task['status']!r}",
                service=self.service,
                body=task,
            )
        with reading(self.service, task):
            urls = [str(face["url"]) for face in task["faces"]]
        meta = {
            "service": self.service,
            "base_url": self.base_url,
            "model": "magic hour",
            "task_id": task_id,
            "credits_charged": task.get("credits_charged", created.get("credits_charged")),
        }
        return crop_result(urls, source=description, media=media, meta=meta)

    def _target(self, source: SourceLike, deadline: Deadline) -> tuple[str, str, str]:
        """``assets.target_file_path`` for ``source`` (uploading local media), its media kind and description."""
        url = public_url(source)
        if url is not None:
            return url, media_of_url(url), url
        if isinstance(source, str) and source.startswith("api-assets/"):
            return source, media_of_url(source), source
        upload = self.read_upload(source)
        answer = self._http.request(
            "POST",
            "/v1/files/upload-urls",
            deadline,
            json={"items": [{"extension": upload.extension, "type": upload.media}]},
        )
        with reading(self.service, answer):
            item = answer["items"][0]
            upload_url, file_path = str(item["upload_url"]), str(item["file_path"])
        self._http.request(
            "PUT",
            upload_url,
            deadline,
            data=upload.data,
            expect_json=False,
            authenticated=False,
            headers={"Content-Type": "application/octet-stream"},
        )
        return file_path, upload.media, upload.description
