"""Who may call the server and how often: API keys, per-caller token buckets, and a body-size cap.

:class:`Guard` is plain ASGI middleware so that oversized bodies are refused before they are read
and refusals cost no route work; each refusal is shaped by the contract the path belongs to. It
also names the caller's tenant (``request.state.owner``) and answers a request cut short by a
shutdown with a 503 in its contract's shape.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ASGIApp", "ErrorBody", "Guard", "RateLimiter", "key_matches", "log", "owner_of", "request_key"]

ErrorBody = Callable[[str, int, str], dict[str, Any]]  # (path, status, message) -> JSON body
ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]

log = logging.getLogger("facekit.server")


def request_key(headers: dict[str, str]) -> str | None:
    """The API key a request carries: ``Authorization: Bearer`` first, then ``x-api-key``."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None


def owner_of(key: str | None) -> str:
    """The tenant a key stands for (a digest, so the key itself is never stored); "" without keys."""
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else ""


def key_matches(given: str, keys: tuple[str, ...]) -> bool:
    """Constant-time comparison against every configured key (no early exit on a match)."""
    found = False
    for key in keys:
        found |= hmac.compare_digest(given.encode(), key.encode())
    return found


@dataclass
class RateLimiter:
    """Token buckets by caller: ``burst`` requests at once, refilled at ``rate`` per second."""

    rate: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # caller -> (tokens, time)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, caller: str) -> float:
        """0 when the request may proceed, else the seconds to wait before the next one will."""
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[caller] = (tokens - 1.0, now)
                return 0.0
            self._buckets[caller] = (tokens, now)
            return (1.0 - tokens) / self.rate if self.rate > 0 else math.inf


class Guard:
    """ASGI middleware: 413 for bodies over ``max_body``, 401 without a valid key and 429 with
    ``Retry-After`` over the rate, on the paths ``protected`` selects. Requests that start work (``creates``:
    method, path) spend one bucket; the rest (polls, upload URLs) a separate, larger one."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: tuple[str, ...],
        limiter: RateLimiter,
        read_limiter: RateLimiter,
        max_body: int,
        protected: Callable[[str], bool],
        creates: Callable[[str, str], bool],
        error_body: ErrorBody,
    ) -> None:
        self.app, self.keys, self.max_body = app, keys, max_body
        self.limiters = {"read": read_limiter, "write": limiter}
        self.protected, self.creates, self.error_body = protected, creates, error_body

    async def __call__(
        self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await self._refuse(send, path, 413, f"request body over the limit of {self.max_body} bytes")
            return
        if self.protected(path):
            key = request_key(headers)
            if self.keys and (key is None or not key_matches(key, self.keys)):
                await self._refuse(send, path, 401, "missing or invalid API key")
                return
            owner = owner_of(key if self.keys else None)
            scope.setdefault("state", {})["owner"] = owner
            client = scope.get("client")
            caller = f"key:{owner}" if self.keys else f"ip:{client[0] if client else 'unknown'}"
            wait = self.limiters["write" if self.creates(scope["method"], path) else "read"].take(caller)
            if wait > 0:
                retry = str(max(1, math.ceil(wait)))
                await self._refuse(send, path, 429, "rate limit exceeded", [(b"retry-after", retry.encode())])
                return
        await self._forward_capped(scope, receive, send, path)

    async def _forward_capped(self, scope: dict, receive, send, path: str) -> None:
        """Run the app, answering 413 ourselves once a streamed body (no Content-Length) passes the cap;
        the app then sees a disconnect and whatever it sends afterwards is dropped."""
        seen, refused, started = 0, False, False

        async def capped_receive() -> dict:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    refused = True
                    await self._refuse(send, path, 413, f"request body over the limit of {self.max_body} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict) -> None:
            nonlocal started
            if not refused:
                started = True
                await send(message)

        try:
            await self.app(scope, capped_receive, guarded_send)
        except asyncio.CancelledError:  # the server is stopping and its grace period is over
            log.warning("%s %s cut short by the shutdown", scope["method"], path)
            if not started and not refused:
                await self._refuse(send, path, 503, "the server is restarting; retry shortly", [(b"retry-after", b"5")])

    async def _refuse(self, send, path: str, status: int, message: str, extra: list | None = None) -> None:
        body = json.dumps(self.error_body(path, status, message)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
        await send({"type": "http.response.body", "body": body})
