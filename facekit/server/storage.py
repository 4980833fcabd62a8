"""Files the server keeps: uploads and face crops under ``<data-dir>/files/api-assets/<id>/``.

Every file is named by a path relative to that root (``api-assets/<id>/<name>``, as Magic Hour
names its assets); :meth:`Storage.resolve` refuses any path that would leave it. Upload URLs are
signed (HMAC with a per-data-dir secret) so a ``PUT`` needs no API key, like a presigned URL.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import shutil
import tempfile
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import IO

from ..errors import InvalidInputError

__all__ = ["ASSETS", "ASSET_REGEX", "NAME_REGEX", "Storage"]

ASSETS = "api-assets"
_OWNER = ".owner"  # in an upload's folder: the tenant that asked for its URL (dot names are never served)
NAME_REGEX = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
"""The folder and the file name of an asset path (``api-assets/<id>/<name>``) as :meth:`Storage.resolve` accepts them."""
_NAME = re.compile(f"^{NAME_REGEX}$")
ASSET_REGEX = f"{ASSETS}/{NAME_REGEX}/{NAME_REGEX}"
_EXTENSION = re.compile(r"^[A-Za-z0-9]{1,8}$")


class Storage:
    """Uploads and crops on disk, their public paths, signed upload tokens and expiry."""

    def __init__(self, data_dir: Path, ttl: float) -> None:
        self.root = (data_dir / "files").resolve()
        (self.root / ASSETS).mkdir(parents=True, exist_ok=True)
        self.incoming_dir = data_dir / "incoming"
        """Decoded request payloads while they are detected (deleted after each request)."""
        self.incoming_dir.mkdir(exist_ok=True)
        self.ttl = ttl
        secret_file = data_dir / "secret"
        if not secret_file.exists():
            secret_file.write_bytes(secrets.token_bytes(32))
            secret_file.chmod(0o600)
        self._secret = secret_file.read_bytes()

    def scratch(self) -> IO[bytes]:
        """A named temporary file for one request's media (decoded or downloaded), deleted on close."""
        return tempfile.NamedTemporaryFile(dir=self.incoming_dir, prefix="media-")

    def new_folder(self, name: str | None = None) -> tuple[str, Path]:
        """A fresh ``api-assets/<id>`` folder (id: ``name`` or a random hex), as (relative path, directory)."""
        relative = f"{ASSETS}/{name or uuid.uuid4().hex}"
        directory = self.root / relative
        directory.mkdir(parents=True, exist_ok=True)
        return relative, directory

    def new_upload_path(self, extension: str, owner: str = "") -> str:
        """A new, unguessable asset path for an upload with this file extension, reserved for ``owner``."""
        if not _EXTENSION.match(extension):
            raise InvalidInputError(f"invalid file extension {extension[:20]!r}")
        token = uuid.uuid4().hex
        relative, directory = self.new_folder(token)
        (directory / _OWNER).write_text(owner, encoding="utf-8")
        return f"{relative}/{token}.{extension.lower()}"

    def owned_by(self, relative: str, owner: str) -> bool:
        """Whether the upload at ``relative`` was reserved by ``owner`` (crops and files of no owner: anyone)."""
        marker = self.resolve(relative).parent / _OWNER
        try:
            return hmac.compare_digest(marker.read_text(encoding="utf-8").encode(), owner.encode())
        except FileNotFoundError:
            return True

    def incoming(self, relative: str) -> IO[bytes]:
        """A hidden temporary file beside the upload ``relative``, deleted on close; :meth:`publish` it when whole."""
        target = self.resolve(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.NamedTemporaryFile(dir=target.parent, prefix=".upload-")

    def publish(self, relative: str, incoming: IO[bytes]) -> bool:
        """Make the written ``incoming`` file the upload ``relative`` unless that exists already (an upload
        URL works once): False then. The upload appears whole or not at all."""
        incoming.flush()
        try:
            os.link(incoming.name, self.resolve(relative))  # atomic, and refuses an existing target
        except FileExistsError:
            return False
        return True

    def resolve(self, relative: str) -> Path:
        """The file behind an asset path; InvalidInputError for anything outside ``api-assets``."""
        parts = PurePosixPath(relative).parts
        if len(parts) != 3 or parts[0] != ASSETS or not all(_NAME.match(p) for p in parts[1:]):
            raise InvalidInputError(f"invalid file path {relative[:200]!r}")
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root / ASSETS):
            raise InvalidInputError(f"invalid file path {relative[:200]!r}")
        return path

    def relative(self, path: Path) -> str:
        """The asset path of a file inside the store."""
        return path.resolve().relative_to(self.root).as_posix()

    def existing(self, relative: str) -> Path | None:
        """The file behind an asset path if it exists and has not expired."""
        path = self.resolve(relative)
        if not path.is_file() or time.time() - path.stat().st_mtime > self.ttl:
            return None
        return path

    def sign(self, relative: str, expires: int) -> str:
        """The signature that lets ``PUT`` write ``relative`` until ``expires`` (Unix time)."""
        return hmac.new(self._secret, f"{relative}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def signature_ok(self, relative: str, expires: int, signature: str) -> bool:
        return expires >= time.time() and hmac.compare_digest(self.sign(relative, expires).encode(), signature.encode())

    def sweep(self) -> int:
        """Delete asset folders older than the TTL; returns how many went."""
        cutoff = time.time() - self.ttl
        removed = 0
        for folder in (self.root / ASSETS).iterdir():
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def remove(self, relative_folder: str) -> None:
        """Delete one asset folder (an expired task's crops)."""
        parts = PurePosixPath(relative_folder).parts
        if len(parts) == 2 and parts[0] == ASSETS and _NAME.match(parts[1]):
            shutil.rmtree(self.root / relative_folder, ignore_errors=True)
