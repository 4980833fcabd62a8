"""``facekit serve``: Akool, Magic Hour and CRUN face detection over HTTP, answered by the local detector.

>>> from facekit.server import Settings, serve_in_thread
>>> base_url, stop = serve_in_thread(Settings(data_dir=tmp_path, port=0))   # tests, notebooks
>>> stop()
"""

from __future__ import annotations

from .app import create_app
from .run import check_bind, serve, serve_in_thread
from .settings import Settings

__all__ = ["Settings", "check_bind", "create_app", "serve", "serve_in_thread"]
