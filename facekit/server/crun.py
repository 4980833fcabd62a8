"""CRUN's face detection (seeds 002/003): create an image or video task, poll its result."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from ..errors import InvalidInputError
from .detection import file_url
from .fetch import check_url
from .schemas import (
    CrunCreated,
    CrunCreateEnvelope,
    CrunDetectResult,
    CrunError,
    CrunFace,
    CrunImageRequest,
    CrunResultEnvelope,
    CrunTask,
    CrunVideoRequest,
)
from .services import ApiError, Services, base_url, error_responses, owner, services
from .tasks import FAILED, QUEUED, RUNNING, SUCCEEDED, Task

__all__ = ["ERRORS", "STATUS", "detect_image", "detect_video", "result", "router", "task_data"]

STATUS: dict[str, Literal["starting", "processing", "succeeded", "failed"]] = {
    QUEUED: "starting",
    RUNNING: "processing",
    SUCCEEDED: "succeeded",
    FAILED: "failed",
}
ERRORS = error_responses(CrunError, 400, 401, 404, 413, 422, 429, 500)

router = APIRouter(prefix="/api/v1/client/job", tags=["CRUN"])


@router.post("/detect-face-image", response_model=CrunCreateEnvelope, responses=ERRORS)
def detect_image(body: CrunImageRequest, request: Request, svc: Services = Depends(services)) -> CrunCreateEnvelope:
    """Create an image face-detection task; poll ``detect-face-result`` with its ``detect_task_id``.

    A video at ``image_url`` fails the task (status ``failed``), as does anything but an image."""
    return _create(body.image_url, "image", request, svc)


@router.post("/detect-face-video", response_model=CrunCreateEnvelope, responses=ERRORS)
def detect_video(body: CrunVideoRequest, request: Request, svc: Services = Depends(services)) -> CrunCreateEnvelope:
    """Create a video or GIF face-detection task (same envelope as the image task); a still picture fails it."""
    return _create(body.video_url, "video", request, svc)


def _create(url: str, expect: str, request: Request, svc: Services) -> CrunCreateEnvelope:
    try:
        check_url(url)
    except InvalidInputError as exc:
        raise ApiError(422, str(exc)) from exc
    task = svc.runner.create("crun", {"url": url}, {"confidence": 0.5, "expect": expect}, owner(request))
    return CrunCreateEnvelope(code=200, message="success", data=CrunCreated(detect_task_id=task.id))


@router.get(
    "/detect-face-result",
    response_model=CrunResultEnvelope,
    responses={**ERRORS, **error_responses(CrunResultEnvelope, 501)},
)
def result(
    request: Request,
    response: Response,
    detect_task_id: str = Query(..., max_length=64),
    svc: Services = Depends(services),
) -> CrunResultEnvelope:
    """The task's status; once succeeded, ``result.id`` (the detect id) and one face link per person.

    A failed task answers 501 (CRUN's "Generation Failed") with the same envelope and its error.
    Only the key that created the task sees it; other keys, and Magic Hour ids, get 404."""
    task = svc.store.get(detect_task_id, "crun", owner(request))
    if task is None:
        raise ApiError(404, "detect task not found")
    envelope = CrunResultEnvelope(code=200, message="success", data=task_data(task, base_url(request)))
    if task.status == FAILED:
        envelope.code, envelope.message = 501, task.error or "face detection failed"
        response.status_code = 501
    return envelope


def task_data(task: Task, base: str) -> CrunTask:
    """A task as CRUN's ``data`` object."""
    detected = None
    if task.status == SUCCEEDED and task.result is not None:
        faces = [CrunFace(id=i, link=file_url(base, path)) for i, path in enumerate(task.result["faces"])]
        detected = CrunDetectResult(
            id=task.result["detect_id"],
            status="succeed",
            type="face_detect",
            faces=faces,
            started_at=_time(task.started_at),
            finished_at=_time(task.finished_at),
            error=None,
        )
    return CrunTask(detect_task_id=task.id, status=STATUS[task.status], error=task.error, result=detected)


def _time(stamp: float | None) -> str | None:
    """CRUN's ``YYYY-MM-DD hh:mm:ss`` (UTC)."""
    return None if stamp is None else datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
