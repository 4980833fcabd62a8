"""Live servers for the HTTP tests: facekit on uvicorn on a free loopback port, and a media host.

The media host serves real pictures and a real H.264 clip over HTTP, plus redirects and non-media
bodies, so URL inputs are fetched for real.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PIL import Image

import facekit as fk
from facekit.server import Settings, serve_in_thread

StartServer = Callable[..., str]
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="20"/></svg>'


class _MediaHandler(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self.files.get(parts.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def clip_path(tmp_path_factory, model_path) -> Path:
    """A 2 s real H.264 clip panning over the Solvay picture."""
    target = tmp_path_factory.mktemp("clip") / "pan.mp4"
    fk.data.pan_video(target, seconds=2.0, fps=5.0)
    return target


def _animated_gif(picture: Path) -> bytes:
    """Three frames of ``picture`` shifted a little: an animated GIF (analysed as a video)."""
    with Image.open(picture) as image:
        still = image.convert("RGB").resize((image.width // 2, image.height // 2))
    frames = [still.rotate(angle) for angle in (0, 3, 6)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    return out.getvalue()


@pytest.fixture(scope="session")
def media_host(newton_path, solvay_path, clip_path) -> Iterator[str]:
    """Base URL of a local HTTP host with /newton.jpg, /solvay.jpg, /pan.mp4, /page.html, /drawing.svg,
    /animated.gif and /redirect?to=URL."""
    _MediaHandler.files = {
        "/newton.jpg": newton_path.read_bytes(),
        "/solvay.jpg": solvay_path.read_bytes(),
        "/pan.mp4": clip_path.read_bytes(),
        "/page.html": b"<!doctype html><html><body>not a picture</body></html>",
        "/drawing.svg": SVG,
        "/animated.gif": _animated_gif(newton_path),
    }
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _MediaHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_serve(
    data_dir: Path,
    port: int,
    *,
    env: dict[str, str] | None = None,
    stderr: IO | int = subprocess.DEVNULL,
    workers: int = 1,
) -> subprocess.Popen:
    """``facekit serve`` as a subprocess (one worker, private URLs allowed, rate limits out of the way), once healthy."""
    command = [
        sys.executable,
        "-c",
        "import sys; from facekit.cli import main; sys.exit(main())",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--workers",
        str(workers),
        "--allow-private-urls",
    ]
    variables = {**os.environ, "FACEKIT_RATE_PER_SECOND": "1000", "FACEKIT_RATE_BURST": "1000", **(env or {})}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=variables)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except requests.ConnectionError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "facekit serve did not start"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def start_server(tmp_path_factory, model_path) -> Iterator[StartServer]:
    """``start_server(**settings) -> base_url``: a facekit server on a free loopback port, stopped after the module.

    Defaults for tests: private URLs allowed (the media host is on 127.0.0.1), no API keys, a
    generous rate limit."""
    stops = []

    def start(**changes: object) -> str:
        values: dict[str, object] = {
            "data_dir": tmp_path_factory.mktemp("facekit-data"),
            "port": 0,
            "allow_private_urls": True,
            "rate_per_second": 1000.0,
            "rate_burst": 1000,
        }
        values.update(changes)
        base_url, stop = serve_in_thread(Settings(**values))  # type: ignore[arg-type]
        stops.append(stop)
        return base_url

    yield start
    for stop in stops:
        stop()


@pytest.fixture(scope="module")
def server(start_server) -> str:
    """Base URL of a default test server, shared by a module's tests."""
    return start_server()
