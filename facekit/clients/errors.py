"""Typed errors of the hosted-API clients, one per thing a caller can act on.

Each carries the ``service`` it came from, the HTTP ``status`` (or the vendor's envelope code)
and, where the service said how long to wait, ``retry_after`` in seconds.
"""

from __future__ import annotations

from typing import Any

from ..errors import FacekitError, InvalidInputError

__all__ = [
    "AuthenticationError",
    "ClientError",
    "ClientTimeoutError",
    "FeatureDisabledError",
    "GenerationFailedError",
    "InsufficientCreditsError",
    "MalformedResponseError",
    "NotFoundError",
    "PublicUrlRequiredError",
    "RateLimitedError",
    "ServiceUnavailableError",
    "ValidationError",
]


class ClientError(FacekitError):
    """A hosted face-detection service refused, failed or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        service: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.retry_after = retry_after
        self.body = body


class AuthenticationError(ClientError):
    """The API key is missing, wrong or not allowed to call this endpoint (401, 403)."""


class InsufficientCreditsError(ClientError):
    """The account has no credits left for this call (402)."""


class ValidationError(ClientError, InvalidInputError):
    """The service rejected the request's parameters or media (400, 422, Akool error_code 1)."""


class NotFoundError(ClientError):
    """The endpoint or the task id does not exist (404)."""


class RateLimitedError(ClientError):
    """Too many requests (429); ``retry_after`` says how long the service asked to wait."""


class ServiceUnavailableError(ClientError):
    """The service is down, overloaded or in maintenance (5xx, CRUN 455), or unreachable."""


class GenerationFailedError(ClientError):
    """The detection task itself failed (task status error/failed, CRUN 501)."""


class FeatureDisabledError(ClientError):
    """The service has switched this feature off (CRUN 505)."""


class ClientTimeoutError(ClientError, TimeoutError):
    """No final answer within ``max_wait`` seconds (slow requests, retries or a task that never ends)."""


class MalformedResponseError(ClientError):
    """The service answered something that is not the documented JSON."""


class PublicUrlRequiredError(ClientError, InvalidInputError):
    """The service fetches media itself and takes only a public http(s) URL, not local data."""
