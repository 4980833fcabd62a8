"""Request bodies in bounded memory: a body spooled to disk past a threshold, base64 decoded in chunks to a file.

A JSON body is parsed once from its spooled copy (the text and the parsed ``img`` string are the only
full-size copies in memory, and only for as long as it takes to decode ``img`` to disk); Starlette's
cached body, the data-URI and padding copies of a naive decode never exist.
"""

from __future__ import annotations

import binascii
import json
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO, Any

from starlette.requests import Request

from ..errors import InvalidInputError, LimitExceededError

__all__ = ["CHUNK", "decode_base64", "parse_json", "spooled"]

CHUNK = 4 * 1024 * 1024
"""Base64 characters decoded at a time (a multiple of 4)."""
_HEADER = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(;[^;,]*)*),", re.IGNORECASE)
_ALPHABET = str.maketrans("-_", "+/", " \t\r\n\f\v")  # URL-safe letters to standard ones, whitespace dropped
_MEDIA_TYPES = ("image/", "video/")
_OPAQUE_TYPES = ("", "application/octet-stream")


@asynccontextmanager
async def spooled(request: Request, threshold: int) -> AsyncIterator[IO[bytes]]:
    """The request's body in a temporary file that stays in memory up to ``threshold`` bytes, positioned at 0."""
    with tempfile.SpooledTemporaryFile(max_size=threshold) as body:
        async for chunk in request.stream():
            body.write(chunk)
        body.seek(0)
        yield body


def parse_json(body: IO[bytes]) -> Any:
    """The JSON document in ``body``; InvalidInputError when it is not JSON."""
    try:
        return json.loads(body.read())
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise InvalidInputError(f"the body is not valid JSON: {exc}") from None


def decode_base64(text: str, target: IO[bytes], limit: int) -> int:
    """Decode base64 text (plain or a ``data:`` URI; standard or URL-safe letters; whitespace and missing
    padding tolerated) into ``target``, a chunk at a time; the number of bytes written.

    InvalidInputError for anything that is not base64 (or an empty payload), LimitExceededError past ``limit``."""
    carry, written = "", 0
    for offset in range(_payload_start(text), len(text), CHUNK):
        piece = carry + text[offset : offset + CHUNK].translate(_ALPHABET)
        usable = len(piece) - len(piece) % 4
        written += _decode(piece[:usable], target)
        carry = piece[usable:]
        if written > limit:
            raise LimitExceededError(f"the base64 payload is over the limit of {limit} bytes")
    if carry:
        written += _decode(carry + "=" * (-len(carry) % 4), target)
    if not written:
        raise InvalidInputError("the base64 payload is empty")
    if written > limit:
        raise LimitExceededError(f"the base64 payload is over the limit of {limit} bytes")
    return written


def _payload_start(text: str) -> int:
    """Where the base64 starts: after a ``data:`` URI's header (any case), else at the first character."""
    if text[:5].lower() != "data:":
        return 0
    header = _HEADER.match(text[:1024])
    if header is None:
        raise InvalidInputError("malformed data: URI (expected data:<type>;base64,<data>)")
    media_type = header["type"].strip().lower()
    if not media_type.startswith(_MEDIA_TYPES) and media_type not in _OPAQUE_TYPES:
        raise InvalidInputError(f"data: URI has media type {media_type!r}; expected image/* or video/*")
    if ";base64" not in header["params"].lower():
        raise InvalidInputError("data: URI is not base64-encoded (missing ';base64')")
    return header.end()


def _decode(chars: str, target: IO[bytes]) -> int:
    try:
        data = binascii.a2b_base64(chars, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError(f"invalid base64: {exc}") from None
    target.write(data)
    return len(data)
