"""A loopback webhook receiver: records every JSON POST; can be slow or answer 429/5xx."""
from __future__ import annotations

from typing import Any

from fakes.http_server import LoopbackServer, QuietHandler, answer, read_body


class _Handler(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        fake: FakeWebhook = self.server.fake  # type: ignore[attr-defined]
        body = read_body(self)
        fake.misbehave.wait()
        with fake.lock:
            fake.attempts += 1
            fake.lock.notify_all()
        with fake.lock:
            status = fake.misbehave.failure()
        if status is not None:
            headers = {"Retry-After": str(fake.misbehave.retry_after)} if fake.misbehave.retry_after else {}
            answer(self, status, {"error": "fake failure"}, headers)
            return
        with fake.lock:
            fake.received.append({"path": self.path, "body": body})
            fake.lock.notify_all()
        answer(self, 200, {"ok": True})


class FakeWebhook(LoopbackServer):
    """``received``: the bodies of the POSTs answered 200; ``attempts``: every POST."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self.received: list[dict[str, Any]] = []
        self.attempts = 0

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hooks/T000/secret-path"

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r["body"] for r in self.received]
