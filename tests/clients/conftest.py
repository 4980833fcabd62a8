"""Fixtures of the client tests: a scripted server per test, and a small real picture."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image
from scripted import ScriptedServer


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


@pytest.fixture(scope="session")
def png_bytes() -> bytes:
    """A small real PNG (no faces needed: the scripted server never looks at it)."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def png_file(tmp_path, png_bytes):
    path = tmp_path / "picture.png"
    path.write_bytes(png_bytes)
    return path
