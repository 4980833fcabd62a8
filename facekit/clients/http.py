"""HTTP plumbing shared by the hosted-API clients: one deadline per call, retries on 429/5xx
(Retry-After first, capped exponential backoff otherwise), polling, and typed errors."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urljoin

import requests

from ..errors import FacekitError
from .errors import (
    AuthenticationError,
    ClientError,
    ClientTimeoutError,
    InsufficientCreditsError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    ValidationError,
)

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "HTTP_ERRORS",
    "POLL_GROWTH",
    "RETRYABLE",
    "Deadline",
    "ErrorCodes",
    "Http",
    "T",
    "backoff",
    "error_class",
    "reading",
    "retry_after",
]

T = TypeVar("T")
ErrorCodes = Mapping[int, type[ClientError]]

# The meaning of the common HTTP statuses; a service adds or overrides its own (CRUN's 455, 501, 505).
HTTP_ERRORS: ErrorCodes = {
    400: ValidationError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: AuthenticationError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitedError,
}
RETRYABLE = (RateLimitedError, ServiceUnavailableError)
BACKOFF_BASE = 0.5
"""Seconds before the first retry when the service gave no Retry-After; doubled each time."""
BACKOFF_CAP = 30.0
"""Longest wait between two retries, and between two polls."""
POLL_GROWTH = 1.5
"""Each wait between polls is this much longer than the previous one."""


class Deadline:
    """The time left for one whole client call (every request, retry and poll in it)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self._end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())


def error_class(status: int, codes: ErrorCodes) -> type[ClientError]:
    """The exception for an HTTP status or vendor code: the service's own meaning first."""
    if status in codes:
        return codes[status]
    if status in HTTP_ERRORS:
        return HTTP_ERRORS[status]
    return ServiceUnavailableError if status >= 500 else ClientError


def backoff(attempt: int) -> float:
    """Capped exponential backoff with jitter: about BACKOFF_BASE * 2**attempt, at most BACKOFF_CAP."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class Http:
    """A service's base URL, auth headers and error codes, and the retry loop around each request."""

    service: str
    base_url: str
    headers: dict[str, str]
    timeout: float
    retries: int
    session: requests.Session
    codes: ErrorCodes = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        deadline: Deadline,
        *,
        check: Callable[[Any], None] | None = None,
        expect_json: bool = True,
        authenticated: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Send, retrying 429/5xx answers up to ``retries`` times within ``deadline``; the parsed JSON.

        ``path`` is joined to the base URL unless absolute. ``check`` inspects the JSON body of a
        successful answer and raises for a vendor's in-body error code (those are retried too when
        they mean "rate limited" or "unavailable"). ``authenticated=False`` leaves the API key out,
        for pre-signed upload URLs on third-party storage.
        """
        attempt = 0
        while True:
            try:
                return self._send(method, path, deadline, check, expect_json, authenticated, dict(kwargs))
            except RETRYABLE as exc:
                wait = exc.retry_after if exc.retry_after is not None else backoff(attempt)
                if attempt >= self.retries or wait >= deadline.remaining():
                    raise
                time.sleep(wait)
                attempt += 1

    def fail(self, status: int, message: str, *, retry_after: float | None = None, body: Any = None) -> ClientError:
        """The typed error for a status or vendor code, naming the service."""
        cls = error_class(status, self.codes)
        return cls(
            f"{self.service}: {message} (code {status})",
            service=self.service,
            status=status,
            retry_after=retry_after,
            body=body,
        )

    def _send(
        self,
        method: str,
        path: str,
        deadline: Deadline,
        check: Callable[[Any], None] | None,
        expect_json: bool,
        authenticated: bool,
        kwargs: dict[str, Any],
    ) -> Any:
        url = urljoin(self.base_url + "/", path.lstrip("/")) if "://" not in path else path
        remaining = deadline.remaining()
        if remaining <= 0:
            raise ClientTimeoutError(
                f"{self.service}: no answer within max_wait={deadline.seconds:g} s", service=self.service
            )
        headers = {**(self.headers if authenticated else {}), **kwargs.pop("headers", {})}
        try:
            response = self.session.request(
                method, url, headers=headers, timeout=min(self.timeout, remaining), **kwargs
            )
        except requests.Timeout as exc:
            raise ClientTimeoutError(f"{self.service}: {method} {url} timed out", service=self.service) from exc
        except requests.ConnectionError as exc:
            raise ServiceUnavailableError(
                f"{self.service}: cannot reach {url}: {type(exc).__name__}", service=self.service
            ) from exc
        body = _json_or_none(response)
        if response.status_code >= 400:
            raise self.fail(
                response.status_code,
                _message(body, response),
                retry_after=retry_after(response.headers.get("Retry-After")),
                body=body,
            )
        if not expect_json:
            return None
        if body is None:
            raise MalformedResponseError(
                f"{self.service}: {method} {url} answered HTTP {response.status_code} with non-JSON "
                f"content: {response.text[:200]!r}",
                service=self.service,
                status=response.status_code,
            )
        if check is not None:
            check(body)
        return body

    def poll(
        self,
        fetch: Callable[[], T],
        finished: Callable[[T], bool],
        deadline: Deadline,
        interval: float,
        what: str,
    ) -> T:
        """Call ``fetch`` until ``finished`` says so, waiting ``interval`` seconds and then longer
        (by POLL_GROWTH, at most BACKOFF_CAP); a typed timeout when ``deadline`` runs out."""
        wait = interval
        while True:
            value = fetch()
            if finished(value):
                return value
            if deadline.remaining() <= 0:
                raise ClientTimeoutError(
                    f"{self.service}: {what} still not finished after max_wait={deadline.seconds:g} s",
                    service=self.service,
                )
            time.sleep(min(wait, deadline.remaining()))
            wait = min(wait * POLL_GROWTH, max(interval, BACKOFF_CAP))


@contextmanager
def reading(service: str, body: Any) -> Iterator[None]:
    """Turn a lookup that fails on an undocumented answer shape into a MalformedResponseError."""
    try:
        yield
    except FacekitError:
        raise
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise MalformedResponseError(
            f"{service}: unexpected answer ({type(exc).__name__}: {exc}): {str(body)[:200]}", service=service, body=body
        ) from exc


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # requests' JSONDecodeError is a ValueError
        return None


def _message(body: Any, response: requests.Response) -> str:
    """The service's own words for an error, from the usual JSON keys or the raw text."""
    if isinstance(body, dict):
        for key in ("message", "error_msg", "detail", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    text = response.text.strip()
    return text[:200] if text else f"HTTP {response.status_code} {response.reason or ''}".strip()
