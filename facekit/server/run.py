"""Running the app on uvicorn: in the foreground (``facekit serve``) or in a thread (tests, notebooks)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import uvicorn

from ..errors import InvalidInputError
from .app import create_app
from .settings import Settings, is_loopback

__all__ = ["check_bind", "log", "serve", "serve_in_thread"]

log = logging.getLogger("facekit.server")


def check_bind(settings: Settings) -> None:
    """Refuse to expose an unauthenticated server beyond this machine."""
    if not settings.api_keys and not is_loopback(settings.host):
        raise InvalidInputError(
            f"refusing to listen on {settings.host} without API keys: set FACEKIT_API_KEYS or "
            "FACEKIT_API_KEYS_FILE, or listen on 127.0.0.1"
        )


def _server(settings: Settings, log_level: str) -> uvicorn.Server:
    check_bind(settings)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_timeout),
    )
    return uvicorn.Server(config)


def serve(settings: Settings, log_level: str = "info") -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM)."""
    _server(settings, log_level).run()


def serve_in_thread(settings: Settings, log_level: str = "warning") -> tuple[str, Callable[[], None]]:
    """Start the server in a daemon thread; returns its base URL and a ``stop()`` that waits for it to end.

    ``settings.port`` 0 picks a free port, and the returned URL names the one chosen.
    """
    server = _server(settings, log_level)
    thread = threading.Thread(target=server.run, name="facekit-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the facekit server did not start")
        time.sleep(0.02)
    host, port = server.servers[0].sockets[0].getsockname()[:2]

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=15)

    return f"http://{host}:{port}", stop
