"""The FastAPI application: the three contracts' routers, the guard, error shapes and the task lifecycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from .. import __version__
from . import akool, crun, files, magichour
from .detection import Detection
from .openapi import document
from .security import Guard, RateLimiter
from .services import ApiError, Services, contract_of, error_body
from .settings import Settings
from .storage import Storage
from .tasks import TaskRunner, TaskStore

__all__ = ["METHODS", "create_app", "creates_work", "log"]

log = logging.getLogger("facekit.server")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def create_app(settings: Settings) -> FastAPI:
    """The server for ``settings``: its data dir is created, the model loaded, tasks recovered on startup."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    storage = Storage(settings.data_dir, settings.result_ttl)
    detection = Detection(settings, storage)
    store = TaskStore(settings.data_dir / "tasks.sqlite3", settings.result_ttl)
    runner = TaskRunner(store, storage, detection.run_task, settings.workers, drain=settings.shutdown_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner.start()
        try:
            yield
        finally:
            runner.close()
            store.close()

    app = FastAPI(
        title="facekit server",
        version=__version__,
        lifespan=lifespan,
        description="Akool, Magic Hour and CRUN face-detection contracts, answered by the local detector.",
    )
    app.state.services = Services(settings, storage, detection, store, runner)
    for router in (akool.router, magichour.router, crun.router, files.router):
        app.include_router(router)
    _add_error_handlers(app)
    app.openapi = lambda: document(app, secured=bool(settings.api_keys))  # type: ignore[method-assign]
    if not settings.api_keys:
        log.warning("facekit serve: no API keys configured (FACEKIT_API_KEYS): the server is UNAUTHENTICATED")
    app.add_middleware(
        Guard,
        keys=settings.api_keys,
        max_body=settings.max_body_bytes,
        error_body=error_body,
        limiter=RateLimiter(settings.rate_per_second, settings.rate_burst),
        read_limiter=RateLimiter(settings.read_rate_per_second, settings.read_burst),
        protected=lambda path: contract_of(path) != "facekit",
        creates=creates_work,
    )
    return app


def creates_work(method: str, path: str) -> bool:
    """Whether a request starts a detection (rate-limited as a write): Akool's call and the task creates.
    Polls and upload URLs are cheap reads, so an SDK polling every 0.5 s never runs out of writes."""
    return method == "POST" and path != "/v1/files/upload-urls"


def _answer(request: Request, status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(request.url.path, status, message), status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    """Every refusal in the shape of the contract its path belongs to."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _answer(request, exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        akool_path = contract_of(request.url.path) == "akool"
        return _answer(request, 400 if akool_path else 422, _describe(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not just those of the first route matching it
            headers["Allow"] = _allowed(request)
        return _answer(request, exc.status_code, str(exc.detail), headers)

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # nobody is left to read an answer: one line in the log, no traceback
        log.info("%s %s: the client disconnected before sending its whole body", request.method, request.url.path)
        return _answer(request, 400, "the client disconnected")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s", request.url.path, exc_info=exc)
        return _answer(
            request,
            500,
            "Failed to process media" if contract_of(request.url.path) == "akool" else "internal server error",
        )


def _allowed(request: Request) -> str:
    """The methods some route of the app answers on this request's path (asked of the router itself)."""
    routes = request.app.router.routes
    allowed = [method for method in METHODS
               if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)]  # fmt: skip
    return ", ".join(allowed)


def _describe(exc: RequestValidationError) -> str:
    """Validation errors as one line: ``field: problem; ...``."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"
