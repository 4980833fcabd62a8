"""What every router shares: the server's services, the caller's base URL, and contract-shaped errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from .detection import Detection
from .settings import Settings
from .storage import Storage
from .tasks import TaskRunner, TaskStore

__all__ = [
    "AKOOL_PATHS",
    "ApiError",
    "Services",
    "base_url",
    "contract_of",
    "error_body",
    "error_responses",
    "owner",
    "services",
]

AKOOL_PATHS = ("/interface/detect-api/detect_faces", "/detect_faces")


@dataclass
class Services:
    settings: Settings
    storage: Storage
    detection: Detection
    store: TaskStore
    runner: TaskRunner


class ApiError(Exception):
    """An answer other than success: an HTTP status and a message, shaped by the path's contract."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def services(request: Request) -> Services:
    return request.app.state.services


def owner(request: Request) -> str:
    """The caller's tenant, named by the guard: tasks and uploads are visible to their owner only."""
    return getattr(request.state, "owner", "")


def base_url(request: Request) -> str:
    """Where links in answers point: the configured public URL, else the request's own base URL."""
    configured = services(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def contract_of(path: str) -> str:
    """Which contract a path belongs to: akool, magichour, crun, or facekit (files, health, docs)."""
    if path in AKOOL_PATHS:
        return "akool"
    if path.startswith("/v1/"):
        return "magichour"
    if path.startswith("/api/v1/client/"):
        return "crun"
    return "facekit"


def error_body(path: str, status: int, message: str) -> dict[str, Any]:
    """The error JSON of the contract ``path`` belongs to."""
    contract = contract_of(path)
    if contract == "akool":
        return {"error_code": 1, "error_msg": message, "faces_obj": {}}
    if contract == "magichour":
        return {"message": message}
    if contract == "crun":
        return {"code": status, "message": message, "data": None}
    return {"detail": message}


def error_responses(model: type, *statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries declaring ``model`` as the body of each error status."""
    return {status: {"model": model, "description": "error"} for status in statuses}
