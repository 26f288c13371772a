"""A threaded loopback HTTP server with a JSON body reader, the base of the HTTP fakes."""
from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class Misbehaviour:
    """What a fake does instead of answering well: a delay, and/or an error status."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.status: int | None = None  # e.g. 429 or 500 ...
        self.times: int | None = None  # ... for this many requests (None: every one)
        self.retry_after: int | None = None

    def failure(self) -> int | None:
        """The error status to answer this request with, if any (counts ``times`` down)."""
        if self.status is None or self.times == 0:
            return None
        if self.times is not None:
            self.times -= 1
        return self.status

    def wait(self) -> None:
        if self.delay:
            time.sleep(self.delay)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that hung up (a long poll cancelled at shutdown) is not the fake's error
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Serves ``handler_class`` on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, handler_class: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = _Server(("127.0.0.1", 0), handler_class)
        self.httpd.fake = self  # type: ignore[attr-defined]  # handlers reach their fake here
        self.port = self.httpd.server_address[1]
        self.misbehave = Misbehaviour()
        self.lock = threading.Condition()
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-{type(self).__name__}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            self.lock.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def wait_for(self, predicate, timeout: float = 30.0) -> bool:
        """Wait (bounded) until ``predicate()`` holds; re-checked whenever the fake records."""
        return wait_on(self.lock, predicate, timeout)


def wait_on(lock: threading.Condition, predicate, timeout: float) -> bool:
    """Wait at most ``timeout`` seconds on ``lock`` (notified when a fake records something)
    until ``predicate()`` holds; False when it never did."""
    deadline = time.monotonic() + timeout
    with lock:
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            lock.wait(min(left, 0.2))
    return True


def read_body(handler: BaseHTTPRequestHandler) -> dict[str, Any]:
    """A request body as a dict: JSON, or a form (values that look like JSON decoded)."""
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    kind = handler.headers.get("Content-Type", "")
    if "json" in kind:
        return json.loads(raw or b"{}")
    fields = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
    for key, value in fields.items():
        try:
            fields[key] = json.loads(value)
        except ValueError:
            pass
    return fields


def answer(handler: BaseHTTPRequestHandler, status: int, body: Any,
           headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
        pass
