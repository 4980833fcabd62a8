"""Magic Hour's face detection (seeds 000/001, the magic-hour SDK): signed uploads and polled tasks."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request

from ..errors import InvalidInputError, LimitExceededError
from ..limits import Limits
from .detection import check_budget, file_url
from .fetch import check_url
from .schemas import (
    FaceDetectionCreate,
    FaceDetectionCreated,
    FaceDetectionDetails,
    MagicHourError,
    MagicHourFace,
    MagicHourTaskError,
    UploadUrl,
    UploadUrlsRequest,
    UploadUrlsResponse,
)
from .services import ApiError, Services, base_url, error_responses, owner, services
from .tasks import FAILED, QUEUED, RUNNING, SUCCEEDED, Task

__all__ = ["ERRORS", "STATUS", "UPLOAD_URL_SECONDS", "create", "details", "get", "router", "upload_urls"]

UPLOAD_URL_SECONDS = 3600
STATUS: dict[str, Literal["queued", "rendering", "complete", "error"]] = {
    QUEUED: "queued",
    RUNNING: "rendering",
    SUCCEEDED: "complete",
    FAILED: "error",
}
ERRORS = error_responses(MagicHourError, 400, 401, 404, 413, 422, 429, 500)

router = APIRouter(prefix="/v1", tags=["Magic Hour"])


@router.post("/files/upload-urls", response_model=UploadUrlsResponse, responses=ERRORS)
def upload_urls(body: UploadUrlsRequest, request: Request, svc: Services = Depends(services)) -> UploadUrlsResponse:
    """Signed, single-use URLs to ``PUT`` files to, and the ``file_path`` each will have once uploaded
    (usable in ``POST /v1/face-detection`` by the same key only)."""
    expires = int(time.time()) + UPLOAD_URL_SECONDS
    expires_at = datetime.fromtimestamp(expires, timezone.utc).isoformat().replace("+00:00", "Z")
    base = base_url(request)
    items = []
    for item in body.items:
        path = svc.storage.new_upload_path(item.extension, owner(request))
        query = urlencode({"expires": expires, "signature": svc.storage.sign(path, expires)})
        items.append(UploadUrl(upload_url=f"{file_url(base, path)}?{query}", file_path=path, expires_at=expires_at))
    return UploadUrlsResponse(items=items)


@router.post("/face-detection", response_model=FaceDetectionCreated, responses=ERRORS)
def create(body: FaceDetectionCreate, request: Request, svc: Services = Depends(services)) -> FaceDetectionCreated:
    """Queue a face detection of an uploaded file (``api-assets/...``, uploaded with the same key) or an
    http(s) URL; 400 when the uploaded file is not an image or a video (an SVG, a text file...), 413 when it is a
    video whose 5 samples need more decoded frames than the server's budget (``FACEKIT_MAX_DECODED_FRAMES``)."""
    target = body.assets.target_file_path.strip()
    caller, path = owner(request), None
    try:
        if target[:8].lower().startswith(("http://", "https://")):
            check_url(target)
            source = {"url": target}
        else:
            path = svc.storage.existing(target)
            if path is None or not svc.storage.owned_by(target, caller):
                raise ApiError(404, f"no uploaded file at {target[:200]!r}")
            source = {"asset": target}
    except InvalidInputError as exc:
        raise ApiError(422, str(exc)) from exc
    if path is not None:
        _check_upload(path, svc.settings.limits)
    confidence = 0.5 if body.confidence_score is None else body.confidence_score
    task = svc.runner.create("magichour", source, {"confidence": confidence}, caller)
    return FaceDetectionCreated(id=task.id, credits_charged=0)


@router.get("/face-detection/{id}", response_model=FaceDetectionDetails, responses=ERRORS)
def get(id: str, request: Request, svc: Services = Depends(services)) -> FaceDetectionDetails:
    """The task's status and, once complete, one face crop per person found (to the key that created it)."""
    task = svc.store.get(id, "magichour", owner(request))
    if task is None:
        raise ApiError(404, f"face detection {id[:64]!r} not found")
    return details(task, base_url(request))


def _check_upload(path: Path, limits: Limits) -> None:
    """400 unless the uploaded file is an image or a video; 413 for a video over the decode budget."""
    try:
        check_budget(path, limits)
    except LimitExceededError as exc:
        raise ApiError(413, str(exc)) from exc
    except InvalidInputError as exc:
        raise ApiError(400, str(exc)) from exc


def details(task: Task, base: str) -> FaceDetectionDetails:
    """A task as Magic Hour's ``V1FaceDetectionGetResponse`` (plus ``error``)."""
    paths = (task.result or {}).get("faces", []) if task.status == SUCCEEDED else []
    error = (
        MagicHourTaskError(code="detection_failed", message=task.error or "failed") if task.status == FAILED else None
    )
    return FaceDetectionDetails(
        id=task.id,
        status=STATUS[task.status],
        credits_charged=0,
        error=error,
        faces=[MagicHourFace(path=path, url=file_url(base, path)) for path in paths],
    )
