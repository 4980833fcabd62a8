"""facekit's own routes: the asset files (GET; PUT to a signed upload URL) and ``/healthz``."""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse

from .. import __version__
from ..errors import InvalidInputError
from .schemas import FacekitError, Health
from .services import ApiError, Services, error_responses, services
from .storage import ASSETS, NAME_REGEX

__all__ = ["ROUTE", "Name", "get_file", "healthz", "put_file", "router"]

router = APIRouter(tags=["facekit"])


@router.get("/healthz", response_model=Health)
def healthz(svc: Services = Depends(services)) -> Health:
    """Liveness: the version and the detector model in use."""
    return Health(status="ok", version=__version__, model=svc.detection.model.name)


ROUTE = f"/files/{ASSETS}/{{folder}}/{{name}}"  # an asset path, api-assets/<id>/<name>, after /files/
# the names' rule stated in the schema and checked by Storage.resolve (400, as for any traversal)
Name = Annotated[str, Path(json_schema_extra={"pattern": f"^{NAME_REGEX}$"})]


@router.get(ROUTE, response_class=FileResponse, responses=error_responses(FacekitError, 400, 404))
def get_file(folder: Name, name: Name, svc: Services = Depends(services)) -> FileResponse:
    """A face crop or uploaded file, until it expires."""
    found = _existing(f"{ASSETS}/{folder}/{name}", svc)
    if found is None:
        raise ApiError(404, "file not found or expired")
    return FileResponse(found, media_type=mimetypes.guess_type(found.name)[0] or "application/octet-stream")


@router.put(
    ROUTE,
    status_code=200,
    response_class=Response,
    responses=error_responses(FacekitError, 400, 403, 404, 413, 422),
)
async def put_file(
    folder: Name,
    name: Name,
    request: Request,
    expires: int = Query(...),
    signature: str = Query(..., max_length=128),
    svc: Services = Depends(services),
) -> Response:
    """Upload the raw bytes of a file to a URL from ``POST /v1/files/upload-urls`` (signed, no API key).

    The body streams to disk (never held in memory); the URL works once: a replayed PUT gets 403."""
    path = f"{ASSETS}/{folder}/{name}"
    try:
        svc.storage.resolve(path)
    except InvalidInputError as exc:
        raise ApiError(400, str(exc)) from exc
    if not svc.storage.signature_ok(path, expires, signature):
        raise ApiError(403, "invalid or expired upload signature")
    if svc.storage.existing(path) is not None:
        raise ApiError(403, "this upload URL has been used already")
    limit = svc.settings.limits.max_bytes
    with svc.storage.incoming(path) as incoming:
        size = 0
        async for chunk in request.stream():  # a disconnect raises ClientDisconnect: one log line (app.py)
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"upload over the limit of {limit} bytes")
            incoming.write(chunk)
        if not svc.storage.publish(path, incoming):
            raise ApiError(403, "this upload URL has been used already")
    return Response(status_code=200)


def _existing(path: str, svc: Services):
    try:
        return svc.storage.existing(path)
    except InvalidInputError as exc:
        raise ApiError(400, str(exc)) from exc
