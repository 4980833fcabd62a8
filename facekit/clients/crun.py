"""CRUN face detection (seeds 002/003): create a task from a public URL, poll it, read the crops."""

from __future__ import annotations

from typing import Any, ClassVar

from ..errors import InvalidInputError
from ..media.sources import SourceLike
from ..result import Result
from .base import HostedClient, MediaType, crop_result, media_of_url, public_url
from .errors import (
    FeatureDisabledError,
    GenerationFailedError,
    MalformedResponseError,
    PublicUrlRequiredError,
    ServiceUnavailableError,
)
from .http import ErrorCodes, reading

__all__ = ["Crun"]

_CREATE = {"image": "/api/v1/client/job/detect-face-image", "video": "/api/v1/client/job/detect-face-video"}
_RESULT = "/api/v1/client/job/detect-face-result"
_DONE = ("succeeded", "failed")  # the terminal task statuses; "starting" and "processing" are not


class Crun(HostedClient):
    """CRUN's detect-face API, or any server with its contract (``facekit serve``).

    CRUN downloads the media itself, so ``source`` must be a public http(s) URL; local media is
    refused with :class:`PublicUrlRequiredError`. The envelope ``code`` carries CRUN's own
    meanings (seed 002/003): 455 maintenance, 501 generation failed, 505 feature disabled. The
    answer is a list of face crops, so the Result has one row per face with ``crop_url`` only.
    """

    service = "CRUN"
    default_base_url = "https://api.crun.ai"
    api_key_env = "CRUN_API_KEY"
    codes: ClassVar[ErrorCodes] = {455: ServiceUnavailableError, 501: GenerationFailedError, 505: FeatureDisabledError}

    def detect(self, source: SourceLike, *, media: MediaType | None = None) -> Result:
        """Faces in the image or video at a public URL; ``media`` picks the endpoint (default: guessed
        from the URL's suffix, since CRUN has one create call per kind)."""
        url = public_url(source)
        if url is None:
            raise PublicUrlRequiredError(
                f"{self.service} downloads the media itself and needs a public http(s) URL; "
                "upload the file somewhere public first, or use fk.clients.Akool or fk.clients.MagicHour, "
                "which accept local files",
                service=self.service,
            )
        kind = media or media_of_url(url)
        if kind not in _CREATE:
            raise InvalidInputError(f"media must be 'image' or 'video', got {kind!r}")
        deadline = self.deadline()
        body = {"video_url" if kind == "video" else "image_url": url}
        created = self._http.request("POST", _CREATE[kind], deadline, json=body, check=self._check)
        with reading(self.service, created):
            task_id = str(created["data"]["detect_task_id"])
        answer = self._http.poll(
            lambda: self._http.request("GET", _RESULT, deadline, params={"detect_task_id": task_id}, check=self._check),
            lambda answer: answer["data"].get("status") in _DONE,
            deadline,
            self.poll_interval,
            f"face detection task {task_id}",
        )
        data = answer["data"]
        if data["status"] != "succeeded":
            raise GenerationFailedError(
                f"{self.service}: face detection task {task_id} failed: {data.get('error') or 'no reason given'}",
                service=self.service,
                body=answer,
            )
        with reading(self.service, answer):
            result = data["result"]
            urls = [str(face["link"]) for face in sorted(result["faces"], key=lambda face: face.get("id", 0))]
        meta = {
            "service": self.service,
            "base_url": self.base_url,
            "model": "crun",
            "task_id": task_id,
            "detect_id": result.get("id"),
        }
        return crop_result(urls, source=url, media=kind, meta=meta)

    def _check(self, answer: Any) -> None:
        """CRUN answers HTTP 200 with its status in the envelope: anything but code 200 is an error."""
        with reading(self.service, answer):
            code = int(answer["code"])
            data = answer.get("data")
        if code != 200:
            raise self._http.fail(code, str(answer.get("message") or "error"), body=answer)
        if not isinstance(data, dict):
            raise MalformedResponseError(
                f"{self.service}: the answer has no data object: {str(answer)[:200]}", service=self.service, body=answer
            )
