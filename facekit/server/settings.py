"""Everything ``facekit serve`` can be told: where it keeps data, who may call it, how much it accepts."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..limits import Limits
from ..settings import setting, setting_bool, setting_number

__all__ = ["SERVER_MAX_DECODED_FRAMES", "Settings", "is_loopback", "load_api_keys", "server_limits"]


def _read_keys(text: str) -> tuple[str, ...]:
    """Keys from a comma- or newline-separated text, blanks dropped."""
    return tuple(key.strip() for key in text.replace("\n", ",").split(",") if key.strip())


def load_api_keys() -> tuple[str, ...]:
    """API keys from ``FACEKIT_API_KEYS`` (comma separated) and the file ``FACEKIT_API_KEYS_FILE``."""
    keys = _read_keys(setting("API_KEYS") or "")
    path = setting("API_KEYS_FILE")
    if path:
        keys += _read_keys(Path(path).read_text(encoding="utf-8"))
    return keys


def is_loopback(host: str) -> bool:
    """True when binding ``host`` exposes the server to this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SERVER_MAX_DECODED_FRAMES = 3_000
"""The server's default ``Limits.max_decoded_frames`` (the library's is an hour at 60 fps): a detection slot is held
for at most about 10 s of decoding at 1080p on two cores (about 1 s at 320 x 180), which still lets 5 samples reach
keyframes 20 s apart at 30 fps, or 100 samples cover a 100 s clip; a video needing more is answered 413 before
any frame is decoded, so it cannot hold a slot the pictures wait for."""


def server_limits() -> Limits:
    """The ``FACEKIT_*`` limits, with the server's smaller decode budget unless ``FACEKIT_MAX_DECODED_FRAMES`` is set."""
    limits = Limits.from_env()
    if setting_number("MAX_DECODED_FRAMES") is None:
        limits = limits.replace(max_decoded_frames=SERVER_MAX_DECODED_FRAMES)
    return limits


@dataclass(frozen=True)
class Settings:
    """Server settings; :meth:`from_env` fills the ones a deployment sets by environment variables."""

    data_dir: Path = Path("facekit-data")
    """SQLite task store, uploads and face crops live here, and survive restarts."""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    """Threads running Magic Hour / CRUN tasks, and the most detections running at once."""
    api_keys: tuple[str, ...] = ()
    """Accepted keys; none means unauthenticated, which is only allowed on a loopback host."""
    allow_private_urls: bool = False
    """Let ``url`` inputs reach private, loopback and link-local addresses (tests, closed networks)."""
    result_ttl: float = 3600.0
    """Seconds after which task results, uploads and crops are deleted (CRUN keeps results an hour)."""
    rate_per_second: float = 10.0
    """Sustained requests per second per key (per client IP when unauthenticated) that start a detection."""
    rate_burst: int = 40
    """Requests a key may make at once before the rate limit applies."""
    read_rate_per_second: float = 100.0
    """Sustained other requests (task polls, upload URLs) per second per key: a separate, larger bucket."""
    read_burst: int = 200
    """Reads a key may make at once before the read limit applies."""
    spool_bytes: int = 1024 * 1024
    """Request bodies larger than this are spooled to a temporary file instead of memory."""
    shutdown_timeout: float = 5.0
    """On SIGTERM: seconds to let requests finish, then seconds to let running tasks finish (the rest are
    queued again without spending their retry budget); requests still running get a 503 in their contract's shape."""
    max_redirects: int = 5
    public_url: str | None = None
    """Base of the links to crops and uploads; default: the base URL of each request."""
    model: str | None = None
    """Detector model path (default: facekit's verified default model)."""
    limits: Limits = field(default_factory=server_limits)
    """What a request may ask: ``FACEKIT_*`` limits, the decode budget smaller by default (:func:`server_limits`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")

    @property
    def max_body_bytes(self) -> int:
        """Largest request body: a base64 payload of ``limits.max_bytes`` plus room for the JSON around it."""
        return self.limits.max_bytes * 4 // 3 + 64 * 1024

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then ``FACEKIT_API_KEYS`` / ``FACEKIT_API_KEYS_FILE``, ``FACEKIT_ALLOW_PRIVATE_URLS``,
        ``FACEKIT_RESULT_TTL``, ``FACEKIT_RATE_PER_SECOND``, ``FACEKIT_RATE_BURST``,
        ``FACEKIT_READ_RATE_PER_SECOND``, ``FACEKIT_READ_BURST``, ``FACEKIT_SHUTDOWN_TIMEOUT``,
        ``FACEKIT_PUBLIC_URL``, then ``overrides``."""

        def number(name: str, kind: type[int] | type[float], default: float) -> float:
            value = setting_number(name, kind)
            return default if value is None else value

        values: dict[str, object] = {
            "api_keys": load_api_keys(),
            "allow_private_urls": bool(setting_bool("ALLOW_PRIVATE_URLS")),
            "result_ttl": number("RESULT_TTL", float, cls.result_ttl),
            "rate_per_second": number("RATE_PER_SECOND", float, cls.rate_per_second),
            "rate_burst": number("RATE_BURST", int, cls.rate_burst),
            "read_rate_per_second": number("READ_RATE_PER_SECOND", float, cls.read_rate_per_second),
            "read_burst": number("READ_BURST", int, cls.read_burst),
            "shutdown_timeout": number("SHUTDOWN_TIMEOUT", float, cls.shutdown_timeout),
            "public_url": setting("PUBLIC_URL"),
        }
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> Settings:
        """A copy with some settings changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
