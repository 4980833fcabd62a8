"""``/openapi.json`` as the server behaves: its security schemes, and only the statuses it really sends."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .services import contract_of

__all__ = ["SCHEMES", "SHUTDOWN", "document"]

SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key> (Magic Hour, Akool)"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "x-api-key (CRUN, Akool)"},
}
SHUTDOWN = {"description": "The server is restarting; retry after Retry-After seconds"}


def document(app: FastAPI, *, secured: bool) -> dict[str, Any]:
    """The OpenAPI document of ``app`` (built once): every contract route declares the 503 a shutdown may
    answer and, with API keys configured, both security schemes."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for path, operations in schema.get("paths", {}).items():
        contract = contract_of(path)
        if contract == "facekit":
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault("503", {**SHUTDOWN, **_body_of(responses)})
            if secured:
                operation["security"] = [{"bearer": []}, {"apiKey": []}]
    if secured:
        schema.setdefault("components", {})["securitySchemes"] = SCHEMES
    app.openapi_schema = schema
    return schema


def _body_of(responses: dict[str, Any]) -> dict[str, Any]:
    """The ``content`` of the operation's 401 (its contract's error shape), to reuse for the 503."""
    refusal = responses.get("401", {})
    return {"content": refusal["content"]} if "content" in refusal else {}
