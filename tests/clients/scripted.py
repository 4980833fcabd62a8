"""A scripted HTTP server on 127.0.0.1: each test says what every route answers, in order, and
reads back what the client sent and when (for the codes real services rarely produce)."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Reply:
    """One scripted answer: a JSON body (dict/list), raw text or bytes, a status and headers."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    """Routes (method, path) to queues of replies; the last reply of a queue repeats forever."""

    def __init__(self) -> None:
        self._script: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def script(self, method: str, path: str, *replies: Reply | dict | list) -> None:
        self._script[(method, path)].extend(r if isinstance(r, Reply) else Reply(r) for r in replies)

    def requests(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def _next(self, method: str, path: str) -> Reply:
        with self._lock:
            queue = self._script.get((method, path))
            if not queue:
                return Reply({"message": f"nothing scripted for {method} {path}"}, status=404)
            return queue.popleft() if len(queue) > 1 else queue[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.seen.append(
                    Seen(
                        self.command,
                        parsed.path,
                        parse_qs(parsed.query),
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        time.monotonic(),
                    )
                )
                reply = server._next(self.command, parsed.path)
                if isinstance(reply.body, (dict, list)):
                    payload, kind = json.dumps(reply.body).encode(), "application/json"
                elif isinstance(reply.body, bytes):
                    payload, kind = reply.body, "application/octet-stream"
                else:
                    payload, kind = str(reply.body or "").encode(), "text/plain"
                self.send_response(reply.status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

        return Handler

    def __enter__(self) -> ScriptedServer:
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
