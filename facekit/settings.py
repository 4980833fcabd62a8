"""The one reader of facekit's ``FACEKIT_*`` environment variables.

Every setting a deployment may set by environment (the model, the cache, limits, precision,
threads, the server's keys) is read here, so a reader of the code finds them all in one place
and each is parsed and refused the same way.
"""

from __future__ import annotations

import os

from .errors import InvalidInputError

__all__ = ["PREFIX", "setting", "setting_bool", "setting_number"]

PREFIX = "FACEKIT_"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def setting(name: str) -> str | None:
    """The value of ``FACEKIT_<name>``, stripped; None when unset or empty."""
    value = os.environ.get(PREFIX + name, "").strip()
    return value or None


def setting_bool(name: str) -> bool | None:
    """``FACEKIT_<name>`` as a boolean (1/true/yes/on or 0/false/no/off); None when unset."""
    value = setting(name)
    if value is None:
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidInputError(f"{PREFIX}{name} must be one of {'/'.join(_TRUE + _FALSE)}, got {value!r}")


def setting_number(name: str, kind: type[int] | type[float] = int) -> int | float | None:
    """``FACEKIT_<name>`` as an int or a float; None when unset."""
    value = setting(name)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidInputError(f"{PREFIX}{name} must be a number, got {value!r}") from None
