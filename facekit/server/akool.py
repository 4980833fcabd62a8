"""Akool's synchronous ``detect_faces`` (seed 004), answered by the local detector."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ..errors import DownloadError, InvalidInputError, LimitExceededError
from .detection import file_url
from .fetch import check_url
from .models import AkoolRequest, AkoolResponse
from .services import AKOOL_PATHS, ApiError, Services, base_url, error_responses, services

MISSING_INPUT = "Either 'url' or 'img' parameter must be provided"
BAD_URL = "Invalid URL format"
DOWNLOAD_FAILED = "Failed to download media from URL"

router = APIRouter(tags=["Akool"])


def detect_faces(body: AkoolRequest, request: Request, svc: Services = Depends(services)) -> JSONResponse:
    """Detect faces in an image or video given by ``url`` or base64 ``img`` (``url`` wins)."""
    # a plain def: FastAPI runs it in its thread pool, so the event loop stays free
    if not body.url and not body.img:
        raise ApiError(400, MISSING_INPUT)
    answer = _detect(body, svc, base_url(request))
    return JSONResponse(answer)


def _detect(body: AkoolRequest, svc: Services, base: str) -> dict[str, Any]:
    """The Akool answer for a validated request; errors as :class:`ApiError` with Akool's messages."""
    try:
        if body.url:
            check_url(body.url)
            media = svc.detection.load(url=body.url)
        else:
            media = svc.detection.load(data=body.img)
        detected = svc.detection.run(
            media, num_frames=body.num_frames, single_face=body.single_face, crops=body.return_face_url
        )
    except LimitExceededError as exc:
        raise ApiError(413, str(exc)) from exc
    except InvalidInputError as exc:
        raise ApiError(400, BAD_URL if str(exc) == BAD_URL else str(exc)) from exc
    except DownloadError as exc:
        raise ApiError(400, DOWNLOAD_FAILED) from exc
    answer = detected.result.to_akool()
    if body.return_face_url:
        for frame in answer["faces_obj"].values():
            frame["face_urls"] = [
                None if url is None else file_url(base, svc.detection.asset_of(url)) for url in frame["face_urls"] or []
            ]
    return answer


for _path in AKOOL_PATHS:
    router.add_api_route(
        _path,
        detect_faces,
        methods=["POST"],
        response_model=AkoolResponse,
        summary="Detect faces (Akool)",
        responses=error_responses(AkoolResponse, 400, 401, 413, 429, 500),
        operation_id="detectFaces" if _path == "/detect_faces" else "detectFacesInterface",
    )
