"""Akool's synchronous ``detect_faces`` (seed 004), answered by the local detector.

The body is spooled to disk past ``settings.spool_bytes`` and parsed by one request at a time (about
two copies of one body in memory, for the fraction of a second it takes), its ``img`` decoded in
chunks to a file: memory stays bounded however many large bodies arrive together.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ..errors import DownloadError, InvalidInputError, LimitExceededError
from .bodies import decode_base64, parse_json, spooled
from .detection import file_url
from .fetch import check_url
from .schemas import AkoolRequest, AkoolResponse
from .services import AKOOL_PATHS, ApiError, Services, base_url, error_responses, services

__all__ = ["BAD_URL", "BODY", "DOWNLOAD_FAILED", "MISSING_INPUT", "detect_faces", "router"]

MISSING_INPUT = "Either 'url' or 'img' parameter must be provided"
BAD_URL = "Invalid URL format"
DOWNLOAD_FAILED = "Failed to download media from URL"
BODY = {"required": True, "content": {"application/json": {"schema": AkoolRequest.model_json_schema()}}}

router = APIRouter(tags=["Akool"])


async def detect_faces(request: Request, svc: Services = Depends(services)) -> JSONResponse:
    """Detect faces in an image or video given by ``url`` or base64 ``img`` (``url`` wins)."""
    async with spooled(request, svc.settings.spool_bytes) as body:
        answer = await run_in_threadpool(_answer, body, svc, base_url(request))  # the event loop stays free
    return JSONResponse(answer)


def _answer(body: IO[bytes], svc: Services, base: str) -> dict[str, Any]:
    """The Akool answer for a spooled body; errors as :class:`ApiError` with Akool's messages."""
    with svc.storage.scratch() as scratch:
        try:
            with svc.detection.parsing:
                options = _options(body, scratch, svc)
            media = svc.detection.load(scratch, url=options.url) if options.url else Path(scratch.name)
            detected = svc.detection.run(
                media, num_frames=options.num_frames, single_face=options.single_face, crops=options.return_face_url
            )
        except LimitExceededError as exc:
            raise ApiError(413, str(exc)) from exc
        except InvalidInputError as exc:
            raise ApiError(400, BAD_URL if str(exc) == BAD_URL else str(exc)) from exc
        except DownloadError as exc:
            raise ApiError(400, DOWNLOAD_FAILED) from exc
    answer = detected.result.to_akool()
    if options.return_face_url:
        for frame in answer["faces_obj"].values():
            frame["face_urls"] = [
                None if url is None else file_url(base, svc.detection.asset_of(url)) for url in frame["face_urls"] or []
            ]
    return answer


def _options(body: IO[bytes], decoded: IO[bytes], svc: Services) -> AkoolRequest:
    """The validated request; a base64 ``img`` (unless ``url`` wins) decoded into ``decoded`` and dropped."""
    try:
        options = AkoolRequest.model_validate(parse_json(body))
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None  # Akool's 400, like any invalid field
    if options.url:
        check_url(options.url)
    elif options.img:
        decode_base64(options.img, decoded, svc.settings.limits.max_bytes)
        decoded.flush()
        options.img = None  # the only full copy of the text goes now, before the detection
    else:
        raise ApiError(400, MISSING_INPUT)
    return options


for _path in AKOOL_PATHS:
    router.add_api_route(
        _path,
        detect_faces,
        methods=["POST"],
        response_model=AkoolResponse,
        summary="Detect faces (Akool)",
        responses=error_responses(AkoolResponse, 400, 401, 413, 429, 500),
        operation_id="detectFaces" if _path == "/detect_faces" else "detectFacesInterface",
        openapi_extra={"requestBody": BODY},
    )
