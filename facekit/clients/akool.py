"""Akool ``detect_faces`` (seed 004): one synchronous call, media by URL or as base64."""

from __future__ import annotations

import base64
from typing import Any

from ..media.sources import SourceLike
from ..result import Result
from .base import HostedClient, public_url
from .errors import MalformedResponseError, ValidationError
from .http import reading

__all__ = ["Akool"]


class Akool(HostedClient):
    """Akool's face detection API, or any server with its contract (``facekit serve``).

    URLs are sent as ``url`` for the service to fetch; anything local (path, bytes, base64,
    array, PIL image) is sent inline as base64 ``img``. The answer has boxes and landmarks but
    no scores, so every face of the Result has a NaN score.
    """

    service = "Akool"
    default_base_url = "https://openapi.akool.com/interface/detect-api"
    api_key_env = "AKOOL_API_KEY"

    def detect(
        self,
        source: SourceLike,
        *,
        num_frames: int | None = None,
        return_face_url: bool | None = None,
        single_face: bool | None = None,
    ) -> Result:
        """Faces in an image or video; options left as None take the service's defaults
        (5 frames, no crops, every face)."""
        url = public_url(source)
        if url is not None:
            body: dict[str, Any] = {"url": url}
            description = url
        else:
            upload = self.read_upload(source)
            body = {"img": base64.b64encode(upload.data).decode("ascii")}
            description = upload.description
        options = {"num_frames": num_frames, "return_face_url": return_face_url, "single_face": single_face}
        body.update({name: value for name, value in options.items() if value is not None})
        answer = self._http.request("POST", "/detect_faces", self.deadline(), json=body, check=self._check)
        with reading(self.service, answer):
            result = Result.from_akool(answer)
        return result.with_meta(source=description, service=self.service, base_url=self.base_url)

    def _check(self, answer: Any) -> None:
        """Akool answers errors in the body: ``error_code`` 1 is always a bad input (seed 004)."""
        if not isinstance(answer, dict) or "faces_obj" not in answer:
            raise MalformedResponseError(
                f"{self.service}: not an Akool answer: {str(answer)[:200]}", service=self.service, body=answer
            )
        if answer.get("error_code", 0) != 0:
            raise ValidationError(
                f"{self.service}: {answer.get('error_msg') or 'error'} (error_code {answer.get('error_code')})",
                service=self.service,
                status=200,
                body=answer,
            )
