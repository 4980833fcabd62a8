"""Batch sources -> an ordered list of distinct source strings (paths and URLs).

Folders are walked recursively and globs expanded, keeping the files whose first bytes say they
are a picture or a video, and the files named like one (``photo.jpg``) whatever their bytes, so a
broken picture is reported rather than silently dropped; files named one by one are always kept.
"""

from __future__ import annotations

import glob
import mimetypes
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from ..errors import InvalidInputError
from ..media import SNIFF_BYTES, MediaKind, sniff

__all__ = ["SourcesLike", "expand"]

SourcesLike = str | os.PathLike | Iterable[str | os.PathLike] | pd.Series


def expand(sources: SourcesLike) -> list[str]:
    """Every source to process, in the order given, each once."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    elif isinstance(sources, pd.Series):
        sources = sources.tolist()
    elif not isinstance(sources, Iterable) or isinstance(sources, (bytes, bytearray, memoryview)):
        raise InvalidInputError(
            f"sources must be paths, globs, folders, URLs or a pandas Series of them, got {type(sources).__name__}"
        )
    seen: dict[str, None] = {}
    for source in sources:
        for item in _expand_one(source):
            seen.setdefault(item, None)
    return list(seen)


def _expand_one(source: object) -> Iterator[str]:
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str) or not source.strip():
        raise InvalidInputError(f"each batch source must be a path, glob, folder or http(s) URL, got {source!r:.80}")
    text = source.strip()
    if text[:8].lower().startswith(("http://", "https://")):
        yield text
        return
    path = Path(text).expanduser()
    if path.is_dir():
        yield from _media_in(path)
    elif glob.has_magic(text) and not path.exists():
        matches = sorted(glob.glob(str(path), recursive=True))
        if not matches:
            raise InvalidInputError(f"no files match {text!r}")
        for match in matches:
            found = Path(match)
            yield from _media_in(found) if found.is_dir() else ([match] if _is_media(found) else [])
    else:
        yield text  # a file named on its own, kept even when missing or bad so that it is reported


def _media_in(folder: Path) -> Iterator[str]:
    """Media files under ``folder``, recursively, in sorted order; hidden folders are skipped."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            if _is_media(path):
                yield str(path)


def _is_media(path: Path) -> bool:
    """Whether the file starts like a picture or a video or is named like one; unreadable files are
    kept, to be reported."""
    if (mimetypes.guess_type(path.name)[0] or "").startswith(("image/", "video/")):
        return True
    try:
        with open(path, "rb") as stream:
            head = stream.read(SNIFF_BYTES)
    except OSError:
        return True
    return sniff(head) is not MediaKind.UNKNOWN
